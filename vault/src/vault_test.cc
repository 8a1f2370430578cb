#include "tillit/vault/vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tillit/testing/temp_dir.h"

namespace tillit::vault {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::TempDir;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

// 2020-01-15, 2020-02-15, ... (month i+1 of 2020, then later years).
std::string EffectiveDate(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-15T10:00:00Z", 2020 + i / 12,
                1 + i % 12);
  return buf;
}

// A small Synthea-shaped transaction bundle for patient `pid`.
json Bundle(const std::string& pid, int observations = 3) {
  json entries = json::array();
  entries.push_back({{"fullUrl", "urn:uuid:" + pid},
                     {"resource",
                      {{"resourceType", "Patient"},
                       {"id", pid},
                       {"name", {{{"family", "Testdottir"}}}},
                       {"birthDate", "1980-05-01"}}},
                     {"request", {{"method", "POST"}, {"url", "Patient"}}}});
  for (int i = 0; i < observations; ++i) {
    const std::string oid = pid.substr(0, 8) + "-obs-" + std::to_string(i);
    entries.push_back(
        {{"fullUrl", "urn:uuid:" + oid},
         {"resource",
          {{"resourceType", "Observation"},
           {"id", oid},
           {"status", "final"},
           {"category",
            {{{"coding",
               {{{"system",
                  "http://terminology.hl7.org/CodeSystem/observation-category"},
                 {"code", i % 2 == 0 ? "vital-signs" : "laboratory"}}}}}}},
           {"code",
            {{"coding",
              {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
           {"subject", {{"reference", "urn:uuid:" + pid}}},
           {"effectiveDateTime", EffectiveDate(i)},
           {"valueQuantity", {{"value", 60 + i}, {"unit", "/min"}}}}},
         {"request", {{"method", "POST"}, {"url", "Observation"}}}});
  }
  return {
      {"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", entries}};
}

class VaultTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{42};
  FakeClock clock_{kNow};
  TempDir dir_;

  VaultOptions Options() {
    VaultOptions o;
    o.data_dir = dir_ / "data";
    o.clock = &clock_;
    o.rng = &rng_;
    return o;
  }
  std::unique_ptr<Vault> InitVault() {
    auto created = Vault::Init(Options());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return std::move(created->vault);
  }
  std::string CitizenFile(const std::string& id) {
    return dir_ / ("data/citizens/" + id + ".db");
  }
};

TEST_F(VaultTest, InitCreatesAPrivateLayoutAndAnAdminToken) {
  auto created = Vault::Init(Options());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->admin_token.token.rfind("tlk_", 0), 0u);
  EXPECT_EQ(created->admin_token.token.size(), 4u + 64u);
  for (const char* f : {"vault.json", "root.key", "registry.db"}) {
    EXPECT_TRUE(fs::exists(dir_ / ("data/" + std::string(f)))) << f;
  }
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "data/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // The token itself is never stored.
  created->vault.reset();
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "data")) {
    if (e.is_regular_file()) {
      EXPECT_EQ(
          testing::ReadAll(e.path()).find(created->admin_token.token.substr(4)),
          std::string::npos)
          << e.path();
    }
  }
}

TEST_F(VaultTest, InitTwiceIsRefused) {
  InitVault();
  auto again = Vault::Init(Options());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(VaultTest, InitRefusesToOverwriteAnExistingKeyFile) {
  fs::create_directories(dir_ / "data");
  testing::WriteAll(dir_ / "data/root.key", "precious");
  auto created = Vault::Init(Options());
  EXPECT_EQ(created.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(testing::ReadAll(dir_ / "data/root.key"), "precious");
}

TEST_F(VaultTest, OpenWithoutVaultIsNotFound) {
  EXPECT_EQ(Vault::Open(Options()).status().code(), StatusCode::kNotFound);
}

TEST_F(VaultTest, DamagedVaultJsonIsDataLoss) {
  InitVault();
  for (const char* text : {"{\"format\": 3}", "[]", "not json",
                           "{\"format\": \"tillit-data-dir\", \"version\": 1, "
                           "\"root_keys\": \"file\", \"master\": \"@@@\"}",
                           "{\"format\": \"tillit-data-dir\", \"version\": 1, "
                           "\"root_keys\": \"usb\", \"master\": \"AAAA\"}"}) {
    testing::WriteAll(dir_ / "data/vault.json", text);
    EXPECT_EQ(Vault::Open(Options()).status().code(), StatusCode::kDataLoss)
        << text;
  }
}

TEST_F(VaultTest, ImportCreatesOneCitizenPerPatientAndDeduplicates) {
  auto vault = InitVault();
  const std::string bundle = Bundle("11111111-aaaa").dump();
  auto first = vault->Import(bundle, ImportFormat::kJson);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(IsValidId(first->citizen_id, "c_"));
  EXPECT_EQ(first->source_patient, "11111111-aaaa");
  EXPECT_EQ(first->imported, 4u);
  EXPECT_EQ(first->written, 4u);
  EXPECT_EQ(first->by_type.at("Observation"), 3u);

  auto again = vault->Import(bundle, ImportFormat::kJson);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->citizen_id, first->citizen_id);
  EXPECT_EQ(again->written, 0u);

  auto summary = vault->Summarize(first->citizen_id);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->records, 4);
  EXPECT_EQ(summary->by_type.at("Observation"), 3);
  EXPECT_EQ(summary->by_category.at("vital-signs"), 2);
  EXPECT_EQ(summary->by_category.at("lab-results"), 1);
  EXPECT_EQ(summary->by_category.at("patient-summary"), 1);

  // A second patient is a second citizen.
  auto other =
      vault->Import(Bundle("22222222-bbbb").dump(), ImportFormat::kJson);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->citizen_id, first->citizen_id);
  auto ids = vault->ListCitizenIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 2u);
}

TEST_F(VaultTest, ConcurrentImportsOfOneNewPatientMakeOneCitizen) {
  auto vault = InitVault();
  const std::string bundle = Bundle("abababab-0101", 5).dump();
  std::vector<std::thread> threads;
  std::vector<StatusOr<ImportOutcome>> results(4, Status::Internal("not run"));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back(
        [&, i] { results[i] = vault->Import(bundle, ImportFormat::kJson); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->citizen_id, results[0]->citizen_id);
  }
  EXPECT_EQ(vault->ListCitizenIds()->size(), 1u);
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "data/citizens")) {
    files += e.path().extension() == ".db";
  }
  EXPECT_EQ(files, 1u);
  EXPECT_EQ(*(*vault->OpenCitizen(results[0]->citizen_id))->Count(), 6);
}

TEST_F(VaultTest, ImportAsksBeforeWriteFirstAndChangesNothingOnRefusal) {
  auto vault = InitVault();
  const std::string bundle = Bundle("15151515-cccc", 1).dump();
  std::vector<std::string> seen;
  auto refuse = [&](const std::string& id) {
    seen.push_back(id);
    return Status::IoError("audit log unavailable");
  };
  auto accept = [&](const std::string& id) {
    seen.push_back(id);
    return Status::Ok();
  };

  // A new Patient: asked with the id the citizen would get; refused, so
  // there is no citizen and no file.
  auto refused = vault->Import(bundle, ImportFormat::kJson, std::nullopt,
                               "import", refuse);
  EXPECT_EQ(refused.status().code(), StatusCode::kIoError);
  EXPECT_EQ(refused.status().message(), "audit log unavailable");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_TRUE(IsValidId(seen[0], "c_"));
  EXPECT_TRUE(vault->ListCitizenIds()->empty());
  EXPECT_TRUE(fs::is_empty(dir_ / "data/citizens"));

  seen.clear();
  auto first = vault->Import(bundle, ImportFormat::kJson, std::nullopt,
                             "import", accept);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(seen, std::vector<std::string>{first->citizen_id});

  // A known Patient, and a named citizen: refused, the record is unchanged.
  json changed = Bundle("15151515-cccc", 1);
  changed["entry"][1]["resource"]["valueQuantity"]["value"] = 99;
  seen.clear();
  EXPECT_FALSE(vault
                   ->Import(changed.dump(), ImportFormat::kJson, std::nullopt,
                            "import", refuse)
                   .ok());
  EXPECT_FALSE(vault
                   ->Import(changed.dump(), ImportFormat::kJson,
                            first->citizen_id, "import", refuse)
                   .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{first->citizen_id,
                                            first->citizen_id}));
  auto rec =
      (*vault->OpenCitizen(first->citizen_id))->Get("Observation",
                                                    "15151515-obs-0");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->resource.find("99"), std::string::npos);

  // A document that does not parse never gets that far.
  seen.clear();
  EXPECT_FALSE(vault
                   ->Import("{", ImportFormat::kJson, std::nullopt, "import",
                            accept)
                   .ok());
  EXPECT_TRUE(seen.empty());
}

TEST_F(VaultTest, ChangedResourceReplacesTheStoredOne) {
  auto vault = InitVault();
  json b = Bundle("33333333-cccc", 1);
  auto first = vault->Import(b.dump(), ImportFormat::kJson);
  ASSERT_TRUE(first.ok());
  b["entry"][1]["resource"]["valueQuantity"]["value"] = 99;
  auto second = vault->Import(b.dump(), ImportFormat::kJson);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->written, 1u);
  auto store = vault->OpenCitizen(first->citizen_id);
  ASSERT_TRUE(store.ok());
  auto rec = (*store)->Get("Observation", "33333333-obs-0");
  ASSERT_TRUE(rec.ok());
  EXPECT_NE(rec->resource.find("99"), std::string::npos);
  EXPECT_EQ(*(*store)->Count(), 2);
}

TEST_F(VaultTest, BrokenBundleStoresNothing) {
  auto vault = InitVault();
  json b = Bundle("44444444-dddd");
  b["entry"][2]["resource"]["effectiveDateTime"] = "2020-13-45";
  auto r = vault->Import(b.dump(), ImportFormat::kJson);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("entry 2"), std::string::npos)
      << r.status().message();
  EXPECT_TRUE(vault->ListCitizenIds()->empty());
  EXPECT_TRUE(fs::is_empty(dir_ / "data/citizens"));
}

TEST_F(VaultTest, DocumentWithoutPatientNeedsACitizen) {
  auto vault = InitVault();
  json obs = Bundle("55555555-eeee", 1)["entry"][1]["resource"];
  obs.erase("subject");
  auto r = vault->Import(obs.dump(), ImportFormat::kJson);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  auto id = vault->CreateCitizen();
  ASSERT_TRUE(id.ok());
  auto into = vault->Import(obs.dump(), ImportFormat::kJson, *id, "citizen");
  ASSERT_TRUE(into.ok()) << into.status().ToString();
  auto rec = (*vault->OpenCitizen(*id))->Get("Observation", "55555555-obs-0");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->source, "citizen");

  auto unknown = vault->Import(obs.dump(), ImportFormat::kJson,
                               std::string("c_") + std::string(32, '0'));
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  auto malformed =
      vault->Import(obs.dump(), ImportFormat::kJson, std::string("bob"));
  EXPECT_EQ(malformed.status().code(), StatusCode::kNotFound);
}

TEST_F(VaultTest, PatientOfAnotherCitizenIsRefused) {
  auto vault = InitVault();
  auto a = vault->Import(Bundle("66666666-ffff").dump(), ImportFormat::kJson);
  ASSERT_TRUE(a.ok());
  auto b = vault->CreateCitizen();
  ASSERT_TRUE(b.ok());
  auto r =
      vault->Import(Bundle("66666666-ffff").dump(), ImportFormat::kJson, *b);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // A citizen linked to one Patient refuses a bundle of another.
  auto r2 = vault->Import(Bundle("77777777-0000").dump(), ImportFormat::kJson,
                          a->citizen_id);
  EXPECT_EQ(r2.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(VaultTest, NdjsonImportIsAtomic) {
  auto vault = InitVault();
  json b = Bundle("88888888-1111", 2);
  std::string nd;
  for (auto e : b["entry"]) {
    // NDJSON carries ordinary references, not a bundle's urn:uuid ones.
    if (e["resource"].contains("subject")) {
      e["resource"]["subject"]["reference"] = "Patient/88888888-1111";
    }
    nd += e["resource"].dump() + "\n";
  }
  auto ok = vault->Import(nd, ImportFormat::kNdjson);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->imported, 3u);
  auto bad =
      vault->Import(Bundle("99999999-2222", 1)["entry"][0]["resource"].dump() +
                        "\n{not json}\n",
                    ImportFormat::kNdjson);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos)
      << bad.status().message();
  EXPECT_EQ(vault->ListCitizenIds()->size(), 1u);
}

TEST_F(VaultTest, OversizedDocumentIsResourceExhausted) {
  VaultOptions o = Options();
  ASSERT_TRUE(Vault::Init(o).ok());
  o.limits.max_document_bytes = 256;
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok());
  auto r =
      (*vault)->Import(Bundle("aaaaaaaa-3333").dump(), ImportFormat::kJson);
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST_F(VaultTest, ListsNewestFirstWithFiltersAndPaging) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("bbbbbbbb-4444", 5).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  RecordFilter f;
  f.type = "Observation";
  f.limit = 2;
  auto page1 = store->List(f);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  EXPECT_EQ((*page1)[0].id, "bbbbbbbb-obs-4");  // 2020-05 is the newest
  EXPECT_EQ((*page1)[1].id, "bbbbbbbb-obs-3");
  f.after = RecordFilter::Position{*(*page1)[1].effective, (*page1)[1].seq};
  auto page2 = store->List(f);
  ASSERT_TRUE(page2.ok());
  ASSERT_EQ(page2->size(), 2u);
  EXPECT_EQ((*page2)[0].id, "bbbbbbbb-obs-2");

  RecordFilter labs;
  labs.category = fhir::Category::kLabResults;
  EXPECT_EQ(store->List(labs)->size(), 2u);  // obs 1 and 3

  RecordFilter window;
  window.since = *fhir::ParseFhirDateTime("2020-02-01");
  window.until = *fhir::ParseFhirDateTime("2020-04-01");
  auto w = store->List(window);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 2u);  // February and March

  RecordFilter bad;
  bad.limit = 0;
  EXPECT_EQ(store->List(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Get("Observation", "nope").status().code(),
            StatusCode::kNotFound);
}

TEST_F(VaultTest, WrongRootKeyIsRefused) {
  InitVault();
  // Another vault's key file in place of ours.
  TempDir other;
  VaultOptions o2 = Options();
  o2.data_dir = other / "data";
  ASSERT_TRUE(Vault::Init(o2).ok());
  fs::copy_file(other / "data/root.key", dir_ / "data/root.key",
                fs::copy_options::overwrite_existing);
  auto opened = Vault::Open(Options());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, RolledBackCitizenFileIsRefused) {
  std::string id;
  {
    auto vault = InitVault();
    auto imp =
        vault->Import(Bundle("cccccccc-5555", 1).dump(), ImportFormat::kJson);
    ASSERT_TRUE(imp.ok());
    id = imp->citizen_id;
  }
  const std::string old_copy = testing::ReadAll(CitizenFile(id));
  {
    auto vault = std::move(Vault::Open(Options())).value();
    ASSERT_TRUE(
        vault->Import(Bundle("cccccccc-5555", 3).dump(), ImportFormat::kJson)
            .ok());
  }
  testing::WriteAll(CitizenFile(id), old_copy);
  auto vault = std::move(Vault::Open(Options())).value();
  auto store = vault->OpenCitizen(id);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("rolled back"), std::string::npos);
}

TEST_F(VaultTest, FlippedByteInACitizenFileIsDetected) {
  std::string id;
  {
    auto vault = InitVault();
    auto imp =
        vault->Import(Bundle("dddddddd-6666", 40).dump(), ImportFormat::kJson);
    ASSERT_TRUE(imp.ok());
    id = imp->citizen_id;
    ASSERT_TRUE(vault->VerifyCitizen(id).ok());
  }
  const auto size = fs::file_size(CitizenFile(id));
  ASSERT_GT(size, 3 * 4096u);
  testing::FlipByte(CitizenFile(id), size - 2000);
  auto vault = std::move(Vault::Open(Options())).value();
  Status s = vault->VerifyCitizen(id);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
}

TEST_F(VaultTest, ErasureLeavesNothingDecryptableEvenFromEarlierCopies) {
  std::string id, keep;
  auto vault = InitVault();
  auto imp = vault->Import(Bundle("eeeeeeee-7777").dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  id = imp->citizen_id;
  keep = vault->Import(Bundle("ffffffff-8888").dump(), ImportFormat::kJson)
             ->citizen_id;
  vault.reset();
  // An attacker's copy of the files taken before erasure.
  TempDir copy;
  fs::copy(dir_ / "data", copy / "data", fs::copy_options::recursive);

  vault = std::move(Vault::Open(Options())).value();
  ASSERT_TRUE(vault->EraseCitizen(id).ok());
  EXPECT_FALSE(fs::exists(CitizenFile(id)));
  EXPECT_EQ(vault->OpenCitizen(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(vault->EraseCitizen(id).code(), StatusCode::kNotFound);
  // Others are untouched.
  EXPECT_EQ(*(*vault->OpenCitizen(keep))->Count(), 4);
  vault.reset();

  // Old registry and old citizen file with today's root key: the master
  // secret's old envelope no longer opens...
  fs::copy_file(dir_ / "data/root.key", copy / "data/root.key",
                fs::copy_options::overwrite_existing);
  VaultOptions o = Options();
  o.data_dir = copy / "data";
  EXPECT_EQ(Vault::Open(o).status().code(), StatusCode::kUnauthenticated);
  // ...and with today's vault.json the old registry opens, but the erased
  // citizen's wrapped data key does not.
  fs::copy_file(dir_ / "data/vault.json", copy / "data/vault.json",
                fs::copy_options::overwrite_existing);
  auto old = Vault::Open(o);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  auto store = (*old)->OpenCitizen(id);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
}

TEST_F(VaultTest, RootKeyRotationRewrapsWithoutTouchingCitizenFiles) {
  auto vault = InitVault();
  auto imp = vault->Import(Bundle("12121212-9999").dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  const std::string before = testing::ReadAll(CitizenFile(imp->citizen_id));
  const std::string old_key = testing::ReadAll(dir_ / "data/root.key");
  ASSERT_TRUE(vault->RotateRootKeys().ok());
  EXPECT_EQ(vault->root_key_version(), 2u);
  EXPECT_EQ(testing::ReadAll(CitizenFile(imp->citizen_id)), before);
  EXPECT_EQ(*(*vault->OpenCitizen(imp->citizen_id))->Count(), 4);
  vault.reset();
  // The new key file opens the vault; the old one no longer does.
  ASSERT_TRUE(Vault::Open(Options()).ok());
  testing::WriteAll(dir_ / "data/root.key", old_key);
  EXPECT_EQ(Vault::Open(Options()).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, InterruptedRotationIsCompletedOnOpen) {
  std::string id;
  {
    auto vault = InitVault();
    id = vault->Import(Bundle("13131313-aaaa").dump(), ImportFormat::kJson)
             ->citizen_id;
  }
  // Simulate a crash right after the new version was written.
  RootKeys::Location loc;
  loc.path = dir_ / "data/root.key";
  auto keys = RootKeys::Load(loc);
  ASSERT_TRUE(keys.ok());
  keys->AddVersion(rng_);
  ASSERT_TRUE(keys->Save(loc, rng_).ok());

  auto vault = Vault::Open(Options());
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ((*vault)->root_key_version(), 2u);
  EXPECT_EQ(RootKeys::Load(loc)->version_count(), 1u);
  EXPECT_EQ(*(*(*vault)->OpenCitizen(id))->Count(), 4);
}

TEST_F(VaultTest, RekeyCitizenReencryptsTheFile) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("14141414-bbbb", 20).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  vault.reset();
  const std::string before = testing::ReadAll(CitizenFile(imp->citizen_id));
  vault = std::move(Vault::Open(Options())).value();
  ASSERT_TRUE(vault->RekeyCitizen(imp->citizen_id).ok());
  EXPECT_EQ(vault->RekeyCitizen("c_nope").code(), StatusCode::kNotFound);
  vault.reset();
  const std::string after = testing::ReadAll(CitizenFile(imp->citizen_id));
  ASSERT_GE(after.size(), 4096u);
  EXPECT_NE(before.substr(0, 4096), after.substr(0, 4096));
  vault = std::move(Vault::Open(Options())).value();
  EXPECT_EQ(*(*vault->OpenCitizen(imp->citizen_id))->Count(), 21);
  EXPECT_TRUE(vault->VerifyCitizen(imp->citizen_id).ok());
}

TEST_F(VaultTest, PassphraseSealedVault) {
  auto pass =
      crypto::SecretBytes::CopyFrom(std::string_view("a long passphrase"));
  VaultOptions o = Options();
  o.passphrase = &pass;
  o.argon2 = crypto::TestingArgon2Params(rng_);
  ASSERT_TRUE(Vault::Init(o).ok());
  EXPECT_TRUE(fs::exists(dir_ / "data/root.sealed"));
  EXPECT_FALSE(fs::exists(dir_ / "data/root.key"));

  VaultOptions none = Options();
  EXPECT_EQ(Vault::Open(none).status().code(), StatusCode::kFailedPrecondition);
  auto wrong = crypto::SecretBytes::CopyFrom(std::string_view("not it"));
  VaultOptions bad = o;
  bad.passphrase = &wrong;
  EXPECT_EQ(Vault::Open(bad).status().code(), StatusCode::kUnauthenticated);
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  ASSERT_TRUE((*vault)->RotateRootKeys().ok());
  vault->reset();
  EXPECT_TRUE(Vault::Open(o).ok());
}

TEST_F(VaultTest, KeyFileVaultRefusesAPassphrase) {
  InitVault();
  auto pass = crypto::SecretBytes::CopyFrom(std::string_view("pw"));
  VaultOptions o = Options();
  o.passphrase = &pass;
  EXPECT_EQ(Vault::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(VaultTest, TokensNeedAPositiveLifetime) {
  auto vault = InitVault();
  EXPECT_EQ(vault->IssueToken("admin", "x", 0).status().code(),
            StatusCode::kInvalidArgument);
  auto t = vault->IssueToken("admin", "x", 60);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->expires_at, kNow + 60);
}

TEST_F(VaultTest, TokensVerifyUntilTheyExpireOrAreRevoked) {
  auto vault = InitVault();
  auto t = vault->IssueToken("provider", "p_x", 60);
  ASSERT_TRUE(t.ok());
  auto info = vault->VerifyToken(t->token);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->role, "provider");
  EXPECT_EQ(info->principal, "p_x");
  EXPECT_EQ(info->expires_at, kNow + 60);

  // A token differing in one character, an empty one and a huge one are
  // all just "invalid".
  std::string other = t->token;
  other.back() = other.back() == '0' ? '1' : '0';
  EXPECT_EQ(vault->VerifyToken(other).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(vault->VerifyToken("").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(vault->VerifyToken(std::string(10000, 'a')).status().code(),
            StatusCode::kUnauthenticated);

  clock_.Advance(60);
  EXPECT_EQ(vault->VerifyToken(t->token).status().code(),
            StatusCode::kUnauthenticated);
  clock_.Advance(-60);
  ASSERT_TRUE(vault->VerifyToken(t->token).ok());

  ASSERT_TRUE(vault->RevokeToken(t->token).ok());
  EXPECT_EQ(vault->VerifyToken(t->token).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(vault->RevokeToken(t->token).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(vault->RevokeToken(other).code(), StatusCode::kNotFound);
}

TEST_F(VaultTest, RedeemedCodesWorkOnceAndOnlyForTheirRole) {
  auto vault = InitVault();
  auto code = vault->IssueToken("enroll", "c_a", 60);
  auto token = vault->IssueToken("citizen", "c_a", 60);
  ASSERT_TRUE(code.ok() && token.ok());
  EXPECT_EQ(vault->RedeemToken(token->token, "enroll").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_TRUE(vault->VerifyToken(token->token).ok());  // not consumed

  auto first = vault->RedeemToken(code->token, "enroll");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->principal, "c_a");
  EXPECT_EQ(vault->RedeemToken(code->token, "enroll").status().code(),
            StatusCode::kUnauthenticated);

  auto late = vault->IssueToken("enroll", "c_b", 60);
  ASSERT_TRUE(late.ok());
  clock_.Advance(61);
  EXPECT_EQ(vault->RedeemToken(late->token, "enroll").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, RevokingAPrincipalRevokesAllItsTokensAndSurvivesReopen) {
  auto vault = InitVault();
  auto a = vault->IssueToken("citizen", "c_a", 600);
  auto b = vault->IssueToken("citizen", "c_a", 600);
  auto other = vault->IssueToken("citizen", "c_b", 600);
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  auto n = vault->RevokePrincipalTokens("c_a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(*vault->RevokePrincipalTokens("c_a"), 0);
  vault.reset();
  auto reopened = Vault::Open(Options());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE((*reopened)->VerifyToken(a->token).ok());
  EXPECT_FALSE((*reopened)->VerifyToken(b->token).ok());
  EXPECT_TRUE((*reopened)->VerifyToken(other->token).ok());
}

TEST(IdTest, RecognisesVaultIds) {
  EXPECT_TRUE(IsValidId("c_0123456789abcdef0123456789abcdef", "c_"));
  EXPECT_FALSE(IsValidId("c_0123456789ABCDEF0123456789abcdef", "c_"));
  EXPECT_FALSE(IsValidId("p_0123456789abcdef0123456789abcdef", "c_"));
  EXPECT_FALSE(IsValidId("c_0123", "c_"));
  EXPECT_FALSE(IsValidId("c_../../etc/passwd00000000000000000", "c_"));
}

}  // namespace
}  // namespace tillit::vault

namespace tillit::vault {
namespace {

TEST_F(VaultTest, RecordsKeepTheirClinicalCodes) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("c0dec0de-0001", 1).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  auto rec = store->Get("Observation", "c0dec0de-obs-0");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->codes, std::vector<std::string>{"http://loinc.org|8867-4"});
  auto meta = store->ListRecordMeta();
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 2u);
  EXPECT_EQ((*meta)[1].codes, rec->codes);
  EXPECT_EQ((*meta)[1].category, fhir::Category::kVitalSigns);
}

TEST_F(VaultTest, DocumentsAndTheirIndexAreMirroredIntoTheRegistry) {
  auto vault = InitVault();
  const std::string id = *vault->CreateCitizen();
  {
    auto store = std::move(vault->OpenCitizen(id)).value();
    const int64_t before = store->generation();
    IndexUpdate index{"consent", {{"g_1", "meta-1"}, {"g_2", "meta-2"}}};
    std::vector<DocumentWrite> writes = {{"grant", "g_1", "{\"a\":1}"},
                                         {"grant", "g_2", "{\"b\":2}"}};
    ASSERT_TRUE(store->WriteDocuments(writes, &index, kNow).ok());
    EXPECT_EQ(store->generation(), before + 1);
    EXPECT_EQ(*store->GetDocument("grant", "g_1"),
              std::optional<std::string>("{\"a\":1}"));
    EXPECT_FALSE(store->GetDocument("grant", "g_9")->has_value());
    EXPECT_EQ(store->ListDocuments("grant")->size(), 2u);
    // Deleting a document and replacing the index.
    std::vector<DocumentWrite> del = {{"grant", "g_2", std::nullopt}};
    IndexUpdate smaller{"consent", {{"g_1", "meta-1b"}}};
    ASSERT_TRUE(store->WriteDocuments(del, &smaller, kNow).ok());
    EXPECT_EQ(store->ListDocuments("grant")->size(), 1u);
  }
  const int64_t version = *vault->IndexVersion();
  auto rows = vault->ReadIndex("consent");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].citizen_id, id);
  EXPECT_EQ((*rows)[0].key, "g_1");
  EXPECT_EQ((*rows)[0].value, "meta-1b");
  EXPECT_TRUE(vault->ReadIndex("other")->empty());
  // Erasure removes the citizen's rows.
  ASSERT_TRUE(vault->EraseCitizen(id).ok());
  EXPECT_TRUE(vault->ReadIndex("consent")->empty());
  EXPECT_GT(*vault->IndexVersion(), version);
}

TEST_F(VaultTest, IndexMissedByACrashIsMirroredOnTheNextOpen) {
  std::string id;
  {
    auto vault = InitVault();
    id = *vault->CreateCitizen();
  }
  // The registry as it was before the write...
  const std::string registry = testing::ReadAll(dir_ / "data/registry.db");
  {
    auto vault = std::move(Vault::Open(Options())).value();
    auto store = std::move(vault->OpenCitizen(id)).value();
    IndexUpdate index{"consent", {{"g_1", "meta"}}};
    std::vector<DocumentWrite> writes = {{"grant", "g_1", "{}"}};
    ASSERT_TRUE(store->WriteDocuments(writes, &index, kNow).ok());
  }
  // ...as if the process had died after the citizen's commit and before
  // the registry's.
  testing::WriteAll(dir_ / "data/registry.db", registry);
  auto vault = std::move(Vault::Open(Options())).value();
  EXPECT_TRUE(vault->ReadIndex("consent")->empty());
  ASSERT_TRUE(vault->OpenCitizen(id).ok());
  auto rows = vault->ReadIndex("consent");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value, "meta");
}

TEST_F(VaultTest, DirectoryEntries) {
  auto vault = InitVault();
  ASSERT_TRUE(vault->PutDirectoryEntry("study", "s_1", "{\"t\":1}").ok());
  EXPECT_EQ(vault->PutDirectoryEntry("study", "s_1", "{}").code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(vault->PutDirectoryEntry("study", "s_2", "{\"t\":2}").ok());
  EXPECT_EQ(*vault->GetDirectoryEntry("study", "s_1"), "{\"t\":1}");
  EXPECT_EQ(vault->GetDirectoryEntry("study", "s_3").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(vault->GetDirectoryEntry("researcher", "s_1").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(vault->ListDirectory("study")->size(), 2u);
}

}  // namespace
}  // namespace tillit::vault
