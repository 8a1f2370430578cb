// Tests of the data directory's formats: vault.json's version and the
// schema versions of the registry and of citizen stores. A file an older
// tillit made (no stamp) opens and is stamped; a newer one is refused with
// FailedPrecondition and left as it was.
#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "tillit/crypto/kdf.h"
#include "tillit/crypto/random.h"
#include "tillit/storage/database.h"
#include "tillit/testing/temp_dir.h"
#include "tillit/vault/sqlcipher_citizen_store.h"
#include "tillit/vault/vault.h"
#include "vault_internals.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

using storage::Database;

// Writes `version` into a database's header directly, as another program
// would.
void Stamp(const std::string& path, const crypto::SecretBytes& key,
           int64_t version) {
  auto db = Database::Open(path, &key, {}, [version](Database& d) {
    std::string sql = "PRAGMA user_version = ";
    sql += std::to_string(version);
    return d.Exec(sql.c_str());
  });
  ASSERT_TRUE(db.ok()) << db.status().ToString();
}

// The schema version, read without running any migration.
int64_t VersionOf(const std::string& path, const crypto::SecretBytes& key) {
  auto db = Database::Open(path, &key, {});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return -1;
  auto v = (*db)->SchemaVersion();
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : -1;
}

// The result of `count_query` ("SELECT count(*) FROM ...").
int64_t Count(const std::string& path, const crypto::SecretBytes& key,
              const char* count_query) {
  auto db = Database::Open(path, &key, {});
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return -1;
  auto st = (*db)->Prepare(count_query);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return -1;
  auto row = st->Step();
  return row.ok() && *row ? st->ColumnInt64(0) : -1;
}

std::string Newer(std::string_view what, int64_t found, int64_t supported) {
  std::string msg(what);
  msg += ": format ";
  msg += std::to_string(found);
  msg += " is newer than this tillit supports (";
  msg += std::to_string(supported);
  msg += "); upgrade tillit";
  return msg;
}

class FormatsTest : public VaultTest {
 protected:
  std::string Registry() { return dir_ / "data/registry.db"; }
  // A data directory with one citizen; keeps the registry's key.
  void MakeDirectory() {
    auto vault = InitVault();
    ASSERT_TRUE(vault);
    ASSERT_TRUE(
        vault->Import(Bundle("aaaaaaaa-1111", 2).dump(), ImportFormat::kJson)
            .ok());
    auto key = vault->DeriveKey(crypto::kContextRegistry, 1);
    ASSERT_TRUE(key.ok());
    registry_key_ = std::move(key).value();
  }
  crypto::SecretBytes registry_key_;
};

TEST_F(FormatsTest, InitStampsTheRegistry) {
  MakeDirectory();
  EXPECT_EQ(VersionOf(Registry(), registry_key_),
            Vault::kRegistrySchemaVersion);
}

TEST_F(FormatsTest, UnstampedRegistryFromAnOlderTillitOpensAndIsStamped) {
  MakeDirectory();
  // Before schema versions, tillit wrote this same schema and no stamp.
  Stamp(Registry(), registry_key_, 0);
  {
    auto vault = Vault::Open(Options());
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    auto ids = (*vault)->ListCitizenIds();
    ASSERT_TRUE(ids.ok());
    EXPECT_EQ(ids->size(), 1u);
  }
  EXPECT_EQ(VersionOf(Registry(), registry_key_),
            Vault::kRegistrySchemaVersion);
}

TEST_F(FormatsTest, NewerRegistryIsRefusedAndLeftAsItWas) {
  MakeDirectory();
  const int64_t future = Vault::kRegistrySchemaVersion + 1;
  Stamp(Registry(), registry_key_, future);
  auto vault = Vault::Open(Options());
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(vault.status().message(), Newer("registry at registry.db", future,
                                            Vault::kRegistrySchemaVersion));
  EXPECT_EQ(VersionOf(Registry(), registry_key_), future);
  EXPECT_EQ(Count(Registry(), registry_key_, "SELECT count(*) FROM citizens"),
            1);
}

TEST_F(FormatsTest, NewerDataDirectoryIsRefused) {
  MakeDirectory();
  const std::string path = dir_ / "data/vault.json";
  nlohmann::json j = nlohmann::json::parse(testing::ReadAll(path));
  const int64_t future = Vault::kDataDirFormatVersion + 1;
  j["version"] = future;
  testing::WriteAll(path, j.dump());
  auto vault = Vault::Open(Options());
  ASSERT_FALSE(vault.ok());
  EXPECT_EQ(vault.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(vault.status().message(),
            Newer("data directory at vault.json", future,
                  Vault::kDataDirFormatVersion));
  EXPECT_EQ(testing::ReadAll(path), j.dump());
}

// Citizen stores are opened with SqlCipherCitizenStore::Setup, as
// Vault::OpenCitizen does, over a key of the test's own.
class CitizenStoreFormatTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{5};
  tillit::testing::TempDir dir_;
  crypto::SecretBytes key_ = rng_.Secret(32);
  const std::string path_ = dir_ / "c_0123456789abcdef0123456789abcdef.db";

  StatusOr<std::unique_ptr<Database>> Open(bool create = false) {
    Database::Options o;
    o.create = create;
    return Database::Open(path_, &key_, o, SqlCipherCitizenStore::Setup);
  }
  // A store with one record at generation 1.
  void MakeStore() {
    Database::Options o;
    o.create = true;
    auto db = Database::Open(path_, &key_, o);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto store = SqlCipherCitizenStore::CreateNew(
        "c_0123456789abcdef0123456789abcdef", std::move(db).value());
    fhir::ParsedResource r;
    r.type = "Observation";
    r.id = "o1";
    r.category = fhir::Category::kVitalSigns;
    r.json = R"({"resourceType":"Observation","id":"o1"})";
    auto put =
        store->Put(std::span<const fhir::ParsedResource>(&r, 1), "test", kNow);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->written, 1u);
  }
};

TEST_F(CitizenStoreFormatTest, SetupStampsANewFile) {
  { ASSERT_TRUE(Open(/*create=*/true).ok()); }
  EXPECT_EQ(VersionOf(path_, key_), SqlCipherCitizenStore::kSchemaVersion);
}

TEST_F(CitizenStoreFormatTest, FirstWriteOfANewStoreStampsIt) {
  MakeStore();
  EXPECT_EQ(VersionOf(path_, key_), SqlCipherCitizenStore::kSchemaVersion);
  EXPECT_EQ(Count(path_, key_, "SELECT count(*) FROM records"), 1);
}

TEST_F(CitizenStoreFormatTest, UnstampedStoreOpensAndIsStamped) {
  // Before schema versions, tillit wrote this same schema and no stamp.
  MakeStore();
  Stamp(path_, key_, 0);
  {
    auto db = Open();
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto generation = SqlCipherCitizenStore::ReadGeneration(**db);
    ASSERT_TRUE(generation.ok());
    EXPECT_EQ(*generation, 1);
  }
  EXPECT_EQ(VersionOf(path_, key_), SqlCipherCitizenStore::kSchemaVersion);
  EXPECT_EQ(Count(path_, key_, "SELECT count(*) FROM records"), 1);
}

TEST_F(CitizenStoreFormatTest, NewerStoreIsRefusedAndLeftAsItWas) {
  MakeStore();
  const int64_t future = SqlCipherCitizenStore::kSchemaVersion + 1;
  Stamp(path_, key_, future);
  auto db = Open();
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(db.status().message(),
            Newer("citizen store at c_0123456789abcdef0123456789abcdef.db",
                  future, SqlCipherCitizenStore::kSchemaVersion));
  EXPECT_EQ(VersionOf(path_, key_), future);
  EXPECT_EQ(Count(path_, key_, "SELECT count(*) FROM records"), 1);
}

// Version 1 had no record history: a store of that version upgrades to 2,
// keeps its records, and from then on keeps what a correction replaced.
TEST_F(CitizenStoreFormatTest, VersionOneStoreUpgradesToRecordHistory) {
  const std::string id = "c_0123456789abcdef0123456789abcdef";
  {
    Database::Options o;
    o.create = true;
    auto db = Database::Open(path_, &key_, o, [](Database& d) {
      return d.Migrate(storage::SchemaHistory{"citizen store",
                                              CitizenStoreSteps().first(1)});
    });
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    SqlCipherCitizenStore store(id, std::move(db).value(), 0, nullptr);
    fhir::ParsedResource r;
    r.type = "Observation";
    r.id = "o1";
    r.json = R"({"resourceType":"Observation","id":"o1"})";
    ASSERT_TRUE(
        store.Put(std::span<const fhir::ParsedResource>(&r, 1), "import", kNow)
            .ok());
  }
  ASSERT_EQ(VersionOf(path_, key_), 1);
  auto db = Open();
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(VersionOf(path_, key_), SqlCipherCitizenStore::kSchemaVersion);
  SqlCipherCitizenStore store(id, std::move(db).value(), 1, nullptr);
  auto history = store.History("Observation", "o1");
  ASSERT_TRUE(history.ok()) << history.status().ToString();
  EXPECT_TRUE(history->empty());
  fhir::ParsedResource fixed;
  fixed.type = "Observation";
  fixed.id = "o1";
  fixed.json = R"({"resourceType":"Observation","id":"o1","status":"final"})";
  ASSERT_TRUE(
      store.Correct(fixed, "p_fixer", "rectification rr_1", {}, nullptr, kNow)
          .ok());
  history = store.History("Observation", "o1");
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].source, "import");
  EXPECT_EQ((*history)[0].superseded_by, "p_fixer");
  EXPECT_EQ((*history)[0].resource,
            R"({"resourceType":"Observation","id":"o1"})");
}

}  // namespace
}  // namespace tillit::vault
