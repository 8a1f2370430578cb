// Tests of citizens' stores: listing, rollback and damage, erasure.
#include <gtest/gtest.h>

#include <filesystem>

#include "tillit/testing/temp_dir.h"
#include "tillit/vault/vault.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

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

// What PolicyCache relies on: a store's version stays put while nothing is
// committed, moves with a commit through another handle, and two handles
// never share one.
TEST_F(VaultTest, AStoreVersionMovesWithEveryCommitFromAnyHandle) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("aaaaaaaa-7777", 1).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  auto other = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  auto before = store->ContentVersion();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(store->Count().ok());
  EXPECT_EQ(*store->ContentVersion(), *before);  // a read commits nothing
  EXPECT_NE(*other->ContentVersion(), *before);
  const DocumentWrite write{"settings", "language", std::string("nb")};
  ASSERT_TRUE(other->WriteDocuments({&write, 1}, nullptr, 1).ok());
  auto after = store->ContentVersion();
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, *before);
  EXPECT_EQ(*store->ContentVersion(), *after);
}

// EHDS Art 6: a replaced version stays in the record's history.
TEST_F(VaultTest, ReplacingARecordKeepsTheOldVersionInItsHistory) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("dddddddd-6666", 1).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  const std::string id = "dddddddd-obs-0";
  auto before = store->Get("Observation", id);
  ASSERT_TRUE(before.ok());
  auto history = store->History("Observation", id);
  ASSERT_TRUE(history.ok());
  EXPECT_TRUE(history->empty());
  EXPECT_EQ(store->History("Observation", "nope").status().code(),
            StatusCode::kNotFound);

  // A provider's correction, with the request that asked for it updated in
  // the same transaction.
  nlohmann::json fixed = nlohmann::json::parse(before->resource);
  fixed["valueQuantity"]["value"] = 61;
  auto parsed = fhir::ParseFhirResource(fixed.dump());
  ASSERT_TRUE(parsed.ok());
  const int64_t generation = store->generation();
  clock_.Advance(60);
  std::vector<DocumentWrite> docs = {{"rectification", "rr_1", "accepted"}};
  ASSERT_TRUE(store
                  ->Correct(*parsed, "p_fixer", "rectification rr_1", docs,
                            nullptr, clock_.NowSeconds())
                  .ok());
  EXPECT_EQ(store->generation(), generation + 1);
  EXPECT_EQ(store->Get("Observation", id)->resource, parsed->json);
  EXPECT_EQ(store->Get("Observation", id)->source, "p_fixer");
  EXPECT_EQ(*store->GetDocument("rectification", "rr_1"),
            std::optional<std::string>("accepted"));
  EXPECT_EQ(store->Count().value(), 2);  // Patient + Observation

  // Another version from the provider (a re-push) keeps the correction
  // too.
  fixed["valueQuantity"]["value"] = 62;
  auto again = fhir::ParseFhirResource(fixed.dump());
  ASSERT_TRUE(again.ok());
  ASSERT_TRUE(store
                  ->Put(std::span<const fhir::ParsedResource>(&*again, 1),
                        "p_fixer", clock_.NowSeconds() + 1)
                  .ok());
  history = store->History("Observation", id);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].version, 2);  // newest first
  EXPECT_EQ((*history)[0].source, "p_fixer");
  EXPECT_EQ((*history)[0].superseded_by, "p_fixer");
  EXPECT_EQ((*history)[0].note, "");
  EXPECT_EQ((*history)[0].resource, parsed->json);
  EXPECT_EQ((*history)[1].version, 1);
  EXPECT_EQ((*history)[1].source, "import");
  EXPECT_EQ((*history)[1].superseded_by, "p_fixer");
  EXPECT_EQ((*history)[1].note, "rectification rr_1");
  EXPECT_EQ((*history)[1].superseded_at, kNow + 60);
  EXPECT_EQ((*history)[1].resource, before->resource);
}

// A re-import must not undo what a provider or a correction wrote.
TEST_F(VaultTest, AnImportKeepsRecordsAnotherSourceWrote) {
  auto vault = InitVault();
  const std::string bundle = Bundle("ffffffff-8888", 1).dump();
  auto imp = vault->Import(bundle, ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  const std::string id = "ffffffff-obs-0";
  std::string corrected;
  {
    auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
    nlohmann::json fixed =
        nlohmann::json::parse(store->Get("Observation", id)->resource);
    fixed["valueQuantity"]["value"] = 99;
    auto parsed = fhir::ParseFhirResource(fixed.dump());
    ASSERT_TRUE(parsed.ok());
    ASSERT_TRUE(store
                    ->Correct(*parsed, "p_fixer", "rectification rr_1", {},
                              nullptr, kNow)
                    .ok());
    corrected = parsed->json;
  }
  auto again = vault->Import(bundle, ImportFormat::kJson);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->citizen_id, imp->citizen_id);
  auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  EXPECT_EQ(store->Get("Observation", id)->resource, corrected);
  EXPECT_EQ(store->Get("Observation", id)->source, "p_fixer");
  EXPECT_EQ(store->History("Observation", id)->size(), 1u);
}

TEST_F(VaultTest, ACorrectionThatChangesNothingOrHasNoRecordWritesNothing) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("eeeeeeee-7777", 1).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  auto store = std::move(vault->OpenCitizen(imp->citizen_id)).value();
  auto current = store->Get("Observation", "eeeeeeee-obs-0");
  ASSERT_TRUE(current.ok());
  auto same = fhir::ParseFhirResource(current->resource);
  ASSERT_TRUE(same.ok());
  const int64_t generation = store->generation();
  std::vector<DocumentWrite> docs = {{"rectification", "rr_1", "accepted"}};
  EXPECT_EQ(store->Correct(*same, "p_x", "", docs, nullptr, kNow).code(),
            StatusCode::kFailedPrecondition);
  same->id = "other";
  EXPECT_EQ(store->Correct(*same, "p_x", "", docs, nullptr, kNow).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store->generation(), generation);
  EXPECT_FALSE(store->GetDocument("rectification", "rr_1")->has_value());
  EXPECT_TRUE(store->History("Observation", "eeeeeeee-obs-0")->empty());
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

}  // namespace
}  // namespace tillit::vault
