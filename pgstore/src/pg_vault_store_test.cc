// A vault on PostgreSQL (VaultOptions::shared_store = PgVaultStore): two
// nodes, each with its own directory and a copy of the root key file, open
// one vault and see the same citizens, records, tokens and patient links;
// what a shared vault refuses to do is refused with a clear error.
#include "tillit/pgstore/pg_vault_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tillit/crypto/random.h"
#include "tillit/pgstore/connection.h"
#include "tillit/testing/pg_cluster.h"
#include "tillit/testing/temp_dir.h"
#include "tillit/vault/vault.h"

namespace tillit::pgstore {
namespace {

namespace fs = std::filesystem;
using vault::Vault;
using vault::VaultOptions;

std::string FirstFixture() {
  std::vector<fs::path> bundles;
  for (const auto& e : fs::directory_iterator(TILLIT_FIXTURES_DIR)) {
    if (e.path().extension() == ".json") bundles.push_back(e.path());
  }
  std::sort(bundles.begin(), bundles.end());
  if (bundles.empty()) return "";
  return testing::ReadAll(bundles.front().string());
}

fhir::ParsedResource Observation(const std::string& id,
                                 const std::string& value = "13.2") {
  const std::string json =
      R"({"resourceType":"Observation","id":")" + id +
      R"(","status":"final","code":{"coding":[{"system":"http://loinc.org",)"
      R"("code":"718-7"}]},"valueQuantity":{"value":)" +
      value + R"(,"unit":"g/dL"}})";
  auto parsed = fhir::ParseFhirResource(json);
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return std::move(parsed).value();
}

class PgVaultTest : public ::testing::Test {
 protected:
  PgVaultTest() : conninfo_(testing::SharedPgCluster::NewDatabase()) {}

  // A node: its own directory, and the vault's store opened anew.
  StatusOr<VaultOptions> Node(const testing::TempDir& dir) {
    VaultOptions o;
    o.data_dir = dir.path() + "/node";
    o.key_path = key_path_;
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<PgVaultStore> store,
                            PgVaultStore::Open(conninfo_));
    o.shared_store = std::move(store);
    return o;
  }

  StatusOr<Vault::Created> InitFirst() {
    TILLIT_ASSIGN_OR_RETURN(VaultOptions o, Node(first_));
    return Vault::Init(o);
  }
  StatusOr<std::unique_ptr<Vault>> OpenOn(const testing::TempDir& dir) {
    TILLIT_ASSIGN_OR_RETURN(VaultOptions o, Node(dir));
    return Vault::Open(o);
  }

  const std::string conninfo_;
  testing::TempDir first_;
  testing::TempDir second_;
  testing::TempDir keys_;
  const std::string key_path_ = keys_ / "root.key";
};

TEST_F(PgVaultTest, TwoNodesOpenOneVault) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Vault& a = *created->vault;
  EXPECT_NE(a.shared_store(), nullptr);
  // The node's directory holds no registry and no citizens' files.
  EXPECT_FALSE(fs::exists(first_ / "node/registry.db"));
  EXPECT_FALSE(fs::exists(first_ / "node/vault.json"));
  EXPECT_FALSE(fs::exists(first_ / "node/citizens"));

  const std::string bundle = FirstFixture();
  ASSERT_FALSE(bundle.empty());
  auto imported = a.Import(bundle, vault::ImportFormat::kJson);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  ASSERT_TRUE(imported->created);
  ASSERT_GT(imported->written, 10u);

  auto b = OpenOn(second_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto ids = (*b)->ListCitizenIds();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<std::string>{imported->citizen_id});
  auto summary = (*b)->Summarize(imported->citizen_id);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->records, static_cast<int64_t>(imported->imported));
  EXPECT_TRUE((*b)->VerifyCitizen(imported->citizen_id).ok());
  auto found = (*b)->FindCitizenByPatient(imported->source_patient);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(*found, imported->citizen_id);
  // The operator's token from `init` works on every node.
  auto token = (*b)->VerifyToken(created->admin_token.ExposeSecretText());
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->role, "admin");

  // A record written through one node is read through the other, and the
  // registry follows the store's generation.
  {
    auto store = a.OpenCitizen(imported->citizen_id);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const std::vector<fhir::ParsedResource> one = {Observation("hb-1")};
    ASSERT_TRUE((*store)->Put(one, "test", 1'700'000'000).ok());
  }
  auto store_b = (*b)->OpenCitizen(imported->citizen_id);
  ASSERT_TRUE(store_b.ok()) << store_b.status().ToString();
  EXPECT_TRUE((*store_b)->Get("Observation", "hb-1").ok());
  auto generation = (*b)->CitizenGeneration(imported->citizen_id);
  ASSERT_TRUE(generation.ok());
  EXPECT_EQ(*generation, (*store_b)->generation());
}

TEST_F(PgVaultTest, TwoNodesWritingOneCitizenLoseNothing) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto b = OpenOn(second_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto id = created->vault->CreateCitizen();
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  constexpr int kEach = 20;
  auto write = [&](Vault* v, const std::string& prefix) {
    for (int i = 0; i < kEach; ++i) {
      auto store = v->OpenCitizen(*id);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      const std::vector<fhir::ParsedResource> one = {
          Observation(prefix + std::to_string(i))};
      auto put = (*store)->Put(one, "test", 1'700'000'000 + i);
      ASSERT_TRUE(put.ok()) << put.status().ToString();
    }
  };
  std::thread on_a(write, created->vault.get(), "a-");
  std::thread on_b(write, b->get(), "b-");
  on_a.join();
  on_b.join();
  auto summary = created->vault->Summarize(*id);
  ASSERT_TRUE(summary.ok());
  EXPECT_EQ(summary->records, 2 * kEach);
}

TEST_F(PgVaultTest, ASecondInitIsRefusedAndLeavesNoKeyFile) {
  ASSERT_TRUE(InitFirst().ok());
  testing::TempDir other;
  auto o = Node(other);
  ASSERT_TRUE(o.ok());
  o->key_path = other / "root.key";
  auto again = Vault::Init(*o);
  ASSERT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("already exists in this store"),
            std::string::npos)
      << again.status().ToString();
  EXPECT_FALSE(fs::exists(other / "root.key"));
}

TEST_F(PgVaultTest, AnEmptyDatabaseOrAnotherKeyIsRefused) {
  auto none = OpenOn(second_);
  ASSERT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("tillit init --store"),
            std::string::npos)
      << none.status().ToString();

  ASSERT_TRUE(InitFirst().ok());
  testing::TempDir other;
  VaultOptions init_elsewhere;
  init_elsewhere.data_dir = other / "dir";
  ASSERT_TRUE(Vault::Init(init_elsewhere).ok());  // another vault's key
  auto o = Node(second_);
  ASSERT_TRUE(o.ok());
  o->key_path = other / "dir/root.key";
  auto wrong = Vault::Open(*o);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated)
      << wrong.status().ToString();
}

TEST_F(PgVaultTest, ErasureDropsTheRowsOnEveryNode) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Vault& a = *created->vault;
  auto imported = a.Import(FirstFixture(), vault::ImportFormat::kJson);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  const std::string id = imported->citizen_id;
  auto b = OpenOn(second_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE((*b)->OpenCitizen(id).ok());

  ASSERT_TRUE(a.EraseCitizen(id).ok());
  EXPECT_EQ((*b)->OpenCitizen(id).status().code(), StatusCode::kNotFound);
  auto rows = a.shared_store()->HasRows(id);
  ASSERT_TRUE(rows.ok());
  EXPECT_FALSE(*rows);
  EXPECT_EQ((*b)->EraseCitizen(id).code(), StatusCode::kNotFound);
  EXPECT_EQ(
      (*b)->FindCitizenByPatient(imported->source_patient).status().code(),
      StatusCode::kNotFound);
}

TEST_F(PgVaultTest, VerifyingACitizenOpensEveryRecord) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Vault& a = *created->vault;
  auto id = a.CreateCitizen();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  {
    std::vector<fhir::ParsedResource> many;
    for (int i = 0; i < 1050; ++i) {
      many.push_back(Observation("o-" + std::to_string(i)));
    }
    auto store = a.OpenCitizen(*id);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->Put(many, "test", 1'700'000'000).ok());
  }
  ASSERT_TRUE(a.VerifyCitizen(*id).ok());

  // The first record stored gets another record's sealed body: it is
  // listed last, beyond the first page of 1,000.
  auto conn = Connection::Open(conninfo_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)
                  ->ExecScript("UPDATE store_records SET body = (SELECT body "
                               "FROM store_records WHERE seq = (SELECT "
                               "max(seq) FROM store_records)) WHERE seq = "
                               "(SELECT min(seq) FROM store_records)")
                  .ok());
  auto store = a.OpenCitizen(*id);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  vault::RecordFilter first_page;
  first_page.limit = 1000;
  EXPECT_TRUE((*store)->List(first_page).ok());
  EXPECT_EQ(a.VerifyCitizen(*id).code(), StatusCode::kDataLoss);
}

TEST_F(PgVaultTest, ADataDirectoryMovesIntoTheStoreUnderItsKeys) {
  testing::TempDir dir;
  VaultOptions o;
  o.data_dir = dir / "data";
  auto created = Vault::Init(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Vault& v = *created->vault;
  auto imported = v.Import(FirstFixture(), vault::ImportFormat::kJson);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  const std::string id = imported->citizen_id;
  {
    auto store = v.OpenCitizen(id);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const std::vector<fhir::ParsedResource> one = {Observation("hb-1")};
    ASSERT_TRUE((*store)->Put(one, "test", 1'700'000'000).ok());
    Status corrected =
        (*store)->Correct(Observation("hb-1", "12.9"), "p_x", "rectification",
                          {}, nullptr, 1'700'000'100);
    ASSERT_TRUE(corrected.ok()) << corrected.ToString();
  }
  auto empty = v.CreateCitizen();  // never written
  ASSERT_TRUE(empty.ok());
  auto gone = v.CreateCitizen();
  ASSERT_TRUE(gone.ok());
  ASSERT_TRUE(v.EraseCitizen(*gone).ok());  // rotates the root keys
  ASSERT_TRUE(
      v.PutDirectoryEntry("study", "s_0123456789abcdef0123456789abcdef", "{}")
          .ok());
  auto token = v.IssueToken("citizen", id, 3600);
  ASSERT_TRUE(token.ok());

  auto store = PgVaultStore::Open(conninfo_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  std::vector<std::string> stages;
  auto progress = [&](const Vault::CopyProgress& p) {
    if (stages.empty() || stages.back() != p.stage) {
      stages.emplace_back(p.stage);
    }
  };
  Status copied = v.CopyIntoShared(**store, progress);
  ASSERT_TRUE(copied.ok()) << copied.ToString();
  EXPECT_EQ(stages, (std::vector<std::string>{"registry", "citizens"}));
  Status verified = v.VerifySharedCopy(**store, nullptr);
  ASSERT_TRUE(verified.ok()) << verified.ToString();
  // Not a vault until the header is written, and not copied into twice.
  EXPECT_EQ((*store)->ReadHeader().status().code(), StatusCode::kNotFound);
  EXPECT_EQ(v.CopyIntoShared(**store, nullptr).code(),
            StatusCode::kFailedPrecondition);
  auto header = v.DataDirHeader();
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  // An init's header is refused over those rows; the migration's is not.
  EXPECT_EQ((*store)->CreateHeader(*header).code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*store)->CreateMigratedHeader(*header).ok());

  // A node with the data directory's key file serves the same vault.
  VaultOptions node;
  node.data_dir = second_ / "node";
  node.key_path = dir / "data/root.key";
  auto node_store = PgVaultStore::Open(conninfo_);
  ASSERT_TRUE(node_store.ok());
  node.shared_store = std::move(node_store).value();
  auto shared = Vault::Open(node);
  ASSERT_TRUE(shared.ok()) << shared.status().ToString();
  EXPECT_EQ(*(*shared)->ListCitizenIds(), *v.ListCitizenIds());
  EXPECT_EQ((*shared)->Summarize(id)->records, v.Summarize(id)->records);
  EXPECT_TRUE((*shared)->VerifyCitizen(id).ok());
  EXPECT_TRUE((*shared)->OpenCitizen(*empty).ok());
  EXPECT_EQ((*shared)->OpenCitizen(*gone).status().code(),
            StatusCode::kNotFound);
  auto history =
      (*shared)->OpenCitizen(id).value()->History("Observation", "hb-1");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  EXPECT_EQ(history->size(), 1u);
  EXPECT_EQ(*(*shared)->FindCitizenByPatient(imported->source_patient), id);
  EXPECT_TRUE((*shared)->VerifyToken(token->ExposeSecretText()).ok());
  EXPECT_TRUE(
      (*shared)
          ->GetDirectoryEntry("study", "s_0123456789abcdef0123456789abcdef")
          .ok());
}

TEST_F(PgVaultTest, ACopyThatDiffersFailsVerification) {
  testing::TempDir dir;
  VaultOptions o;
  o.data_dir = dir / "data";
  auto created = Vault::Init(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Vault& v = *created->vault;
  auto imported = v.Import(FirstFixture(), vault::ImportFormat::kJson);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  auto store = PgVaultStore::Open(conninfo_);
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE(v.CopyIntoShared(**store, nullptr).ok());
  ASSERT_TRUE(v.VerifySharedCopy(**store, nullptr).ok());

  // A write to the data directory after the copy.
  {
    auto citizen = v.OpenCitizen(imported->citizen_id);
    ASSERT_TRUE(citizen.ok());
    const std::vector<fhir::ParsedResource> one = {Observation("late")};
    ASSERT_TRUE((*citizen)->Put(one, "test", 1'700'000'000).ok());
  }
  Status late = v.VerifySharedCopy(**store, nullptr);
  EXPECT_EQ(late.code(), StatusCode::kDataLoss) << late.ToString();
  EXPECT_NE(late.message().find(imported->citizen_id), std::string::npos)
      << late.ToString();

  // And a row of the copy changed in the database.
  auto conn = Connection::Open(conninfo_);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->ExecScript("DELETE FROM directory").ok());
  ASSERT_TRUE(
      v.PutDirectoryEntry("study", "s_0123456789abcdef0123456789abcdef", "{}")
          .ok());
  Status directory = v.VerifySharedCopy(**store, nullptr);
  EXPECT_EQ(directory.code(), StatusCode::kDataLoss);
  EXPECT_NE(directory.message().find("directory"), std::string::npos)
      << directory.ToString();
}

TEST_F(PgVaultTest, WhatOnlyADataDirectoryDoesIsRefused) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  Vault& a = *created->vault;
  auto id = a.CreateCitizen();
  ASSERT_TRUE(id.ok());
  const Status rotate = a.RotateRootKeys();
  EXPECT_EQ(rotate.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rotate.message().find("every node's key file"), std::string::npos)
      << rotate.ToString();
  EXPECT_EQ(a.root_key_version(), 1u);
  EXPECT_EQ(a.RekeyCitizen(*id).code(), StatusCode::kFailedPrecondition);
  testing::TempDir copy;
  const Status backup = a.CopyRegistry(copy.path(), Env::Default()).status();
  EXPECT_EQ(backup.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(backup.message().find("database's own means"), std::string::npos)
      << backup.ToString();
  EXPECT_EQ(
      a.CopyCitizen(*id, 1, copy / "c.db", Env::Default()).status().code(),
      StatusCode::kFailedPrecondition);
  // The citizen is still there, readable from a fresh node.
  auto b = OpenOn(second_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE((*b)->OpenCitizen(*id).ok());
}

TEST_F(PgVaultTest, EveryNodeWritesOneAuditLogLedgerAndNonceCache) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto b = OpenOn(second_);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto* store_a = dynamic_cast<PgVaultStore*>(created->vault->shared_store());
  auto* store_b = dynamic_cast<PgVaultStore*>((*b)->shared_store());
  ASSERT_NE(store_a, nullptr);
  ASSERT_NE(store_b, nullptr);

  auto log_a = store_a->OpenAuditLog(*created->vault);
  auto log_b = store_b->OpenAuditLog(**b);
  ASSERT_TRUE(log_a.ok()) << log_a.status().ToString();
  ASSERT_TRUE(log_b.ok()) << log_b.status().ToString();
  audit::AuditEntry e;
  e.time = 1'700'000'000;
  e.actor_kind = "operator";
  e.actor_id = "operator";
  e.action = "citizen.create";
  e.citizen_id = "c_" + std::string(32, 'a');
  e.decision = "none";
  e.request_id = "cli-0123456789abcdef";
  ASSERT_TRUE((*log_a)->Append(e).ok());
  ASSERT_TRUE((*log_b)->Append(e).ok());
  auto note_a = (*log_a)->SignedCheckpoint();
  auto note_b = (*log_b)->SignedCheckpoint();
  ASSERT_TRUE(note_a.ok()) << note_a.status().ToString();
  ASSERT_TRUE(note_b.ok()) << note_b.status().ToString();
  // One tree, signed with one key: the same note from either node.
  EXPECT_EQ(*note_a, *note_b);
  EXPECT_EQ((*log_a)->size(), 2u);

  auto ledger_a = store_a->OpenPrivacyLedger(*created->vault);
  auto ledger_b = store_b->OpenPrivacyLedger(**b);
  ASSERT_TRUE(ledger_a.ok()) << ledger_a.status().ToString();
  ASSERT_TRUE(ledger_b.ok()) << ledger_b.status().ToString();

  auto nonces_a = store_a->OpenReplayCache();
  auto nonces_b = store_b->OpenReplayCache();
  ASSERT_TRUE(nonces_a.ok()) << nonces_a.status().ToString();
  ASSERT_TRUE(nonces_b.ok()) << nonces_b.status().ToString();
  auto first = (*nonces_a)->Remember("dev-1", "nonce-1", 2000, 1000);
  auto replayed = (*nonces_b)->Remember("dev-1", "nonce-1", 2000, 1001);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(replayed.ok());
  EXPECT_EQ(*first, http_signature::ReplayCache::Result::kFresh);
  EXPECT_EQ(*replayed, http_signature::ReplayCache::Result::kReplayed);
}

TEST_F(PgVaultTest, AnUnreachableServerIsAnIoError) {
  auto created = InitFirst();
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  // A connection string that reaches nothing.
  auto unreachable =
      PgVaultStore::Open("host=127.0.0.1 port=1 dbname=none connect_timeout=2");
  EXPECT_EQ(unreachable.status().code(), StatusCode::kIoError)
      << unreachable.status().ToString();
}

}  // namespace
}  // namespace tillit::pgstore
