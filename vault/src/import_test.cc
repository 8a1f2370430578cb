// Tests of importing FHIR documents.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tillit/vault/vault.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

TEST_F(VaultTest, ACitizenIsFoundByTheIdOfTheirPatient) {
  auto vault = InitVault();
  auto first =
      vault->Import(Bundle("11111111-aaaa").dump(), ImportFormat::kJson);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto other =
      vault->Import(Bundle("22222222-bbbb").dump(), ImportFormat::kJson);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(*vault->FindCitizenByPatient("11111111-aaaa"), first->citizen_id);
  EXPECT_EQ(*vault->FindCitizenByPatient("22222222-bbbb"), other->citizen_id);
  // A citizen made without a document has no Patient to be found by.
  auto bare = vault->CreateCitizen();
  ASSERT_TRUE(bare.ok());
  for (const std::string& unknown :
       {std::string("33333333-cccc"), *bare, std::string("")}) {
    auto found = vault->FindCitizenByPatient(unknown);
    ASSERT_FALSE(found.ok()) << unknown;
    EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  }
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
  EXPECT_EQ(seen,
            (std::vector<std::string>{first->citizen_id, first->citizen_id}));
  auto rec = (*vault->OpenCitizen(first->citizen_id))
                 ->Get("Observation", "15151515-obs-0");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->resource.find("99"), std::string::npos);

  // A document that does not parse never gets that far.
  seen.clear();
  EXPECT_FALSE(
      vault->Import("{", ImportFormat::kJson, std::nullopt, "import", accept)
          .ok());
  EXPECT_TRUE(seen.empty());
}

// EHDS Art 5: what the citizen brings in is marked as theirs, so it cannot
// be taken for (or pass itself off as) what a provider recorded, and it
// replaces nothing that another source wrote.
TEST_F(VaultTest, TheCitizensImportIsMarkedAsTheirsAndReplacesNoOneElses) {
  auto vault = InitVault();
  auto first =
      vault->Import(Bundle("12121212-cccc", 1).dump(), ImportFormat::kJson);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  const std::string citizen = first->citizen_id;
  const json regions = json::parse(std::move(vault->OpenCitizen(citizen))
                                       .value()
                                       ->Get("Observation", "12121212-obs-0")
                                       ->resource);

  // The citizen's document: the same record changed, and a new one that
  // claims to be a hospital's.
  json bundle = Bundle("12121212-cccc", 2);
  bundle["entry"][1]["resource"]["valueQuantity"]["value"] = 99;
  bundle["entry"][2]["resource"]["meta"] = {
      {"tag",
       {{{"system", "https://tillit.health/source"},
         {"code", "provider"},
         {"display", "Region Hospital"}}}}};
  auto theirs =
      vault->Import(bundle.dump(), ImportFormat::kJson, citizen, "citizen");
  ASSERT_TRUE(theirs.ok()) << theirs.status().ToString();
  EXPECT_EQ(theirs->written, 1u);  // the new record only

  auto store = std::move(vault->OpenCitizen(citizen)).value();
  auto kept = store->Get("Observation", "12121212-obs-0");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->source, "import");
  EXPECT_EQ(json::parse(kept->resource), regions);
  auto added = store->Get("Observation", "12121212-obs-1");
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->source, "citizen");
  EXPECT_EQ(json::parse(added->resource)["meta"]["tag"],
            json::array({{{"system", "https://tillit.health/source"},
                          {"code", "citizen"},
                          {"display", "Entered by the citizen"}}}));

  // Their own record, brought in again changed, is theirs to replace.
  bundle["entry"][2]["resource"]["valueQuantity"]["value"] = 77;
  auto again =
      vault->Import(bundle.dump(), ImportFormat::kJson, citizen, "citizen");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->written, 1u);
  EXPECT_EQ(json::parse(store->Get("Observation", "12121212-obs-1")
                            ->resource)["valueQuantity"]["value"],
            77);
  EXPECT_EQ(store->History("Observation", "12121212-obs-1")->size(), 1u);

  // The region's own record of that id, imported by the operator later,
  // replaces the citizen's copy; theirs stays in the history.
  auto regions_later =
      vault->Import(Bundle("12121212-cccc", 2).dump(), ImportFormat::kJson);
  ASSERT_TRUE(regions_later.ok()) << regions_later.status().ToString();
  EXPECT_EQ(regions_later->written, 1u);
  EXPECT_EQ(store->Get("Observation", "12121212-obs-1")->source, "import");
  EXPECT_EQ(store->History("Observation", "12121212-obs-1")->size(), 2u);
}

TEST_F(VaultTest, ACitizensImportWithAMalformedTagStoresNothing) {
  auto vault = InitVault();
  auto first =
      vault->Import(Bundle("34343434-dddd", 1).dump(), ImportFormat::kJson);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  json bundle = Bundle("34343434-dddd", 3);
  bundle["entry"][3]["resource"]["meta"] = {{"tag", "not a list"}};
  auto refused = vault->Import(bundle.dump(), ImportFormat::kJson,
                               first->citizen_id, "citizen");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            "Observation/34343434-obs-2: meta.tag: must be an array");
  EXPECT_EQ(vault->Summarize(first->citizen_id)->records, 2);
}

}  // namespace
}  // namespace tillit::vault
