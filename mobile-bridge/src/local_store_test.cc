// Tests of bridge.db's schema version: a state directory an older bridge
// made (no stamp) opens and is stamped; a newer one is a storage error and
// is left as it was.
#include "local_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "error.h"
#include "tillit/crypto/random.h"
#include "tillit/storage/database.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::bridge {
namespace {

using storage::Database;

class LocalStoreFormatTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{3};
  tillit::testing::TempDir dir_;
  crypto::SecretBytes key_ = rng_.Secret(32);
  const std::string state_ = dir_ / "state";
  const std::string path_ = state_ + "/bridge.db";

  // A state directory with one queued record.
  void MakeState() {
    auto store = LocalStore::Open(state_, key_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    PairedDevice device;
    device.citizen_id = "c_00000000000000000000000000000001";
    device.device_id = "d_00000000000000000000000000000001";
    device.sealed_seed = {1, 2, 3};
    device.audit_key = "test-log+00000000+AAAA";
    ASSERT_TRUE((*store)->SavePairing(device).ok());
    ASSERT_TRUE(
        (*store)
            ->Enqueue("k1", R"({"resourceType":"Observation"})", 1767225600)
            .ok());
  }
  // Writes `version` into bridge.db's header directly.
  void Stamp(int64_t version) {
    auto db = Database::Open(path_, &key_, {}, [version](Database& d) {
      std::string sql = "PRAGMA user_version = ";
      sql += std::to_string(version);
      return d.Exec(sql.c_str());
    });
    ASSERT_TRUE(db.ok()) << db.status().ToString();
  }
  int64_t Version() {
    auto db = Database::Open(path_, &key_, {});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return -1;
    auto v = (*db)->SchemaVersion();
    return v.ok() ? *v : -1;
  }
  int64_t Queued() {
    auto db = Database::Open(path_, &key_, {});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return -1;
    auto st = (*db)->Prepare("SELECT count(*) FROM queue");
    EXPECT_TRUE(st.ok());
    if (!st.ok()) return -1;
    auto row = st->Step();
    return row.ok() && *row ? st->ColumnInt64(0) : -1;
  }
};

TEST_F(LocalStoreFormatTest, NewStateIsStampedWithTheCurrentVersion) {
  MakeState();
  EXPECT_EQ(Version(), LocalStore::kSchemaVersion);
}

TEST_F(LocalStoreFormatTest, UnstampedStateOpensAndIsStamped) {
  MakeState();
  // Before schema versions, the bridge wrote this same schema and no stamp.
  Stamp(0);
  {
    auto store = LocalStore::Open(state_, key_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto device = (*store)->LoadDevice();
    ASSERT_TRUE(device.ok());
    ASSERT_TRUE(device->has_value());
    EXPECT_EQ((*device)->device_id, "d_00000000000000000000000000000001");
  }
  EXPECT_EQ(Version(), LocalStore::kSchemaVersion);
  EXPECT_EQ(Queued(), 1);
}

TEST_F(LocalStoreFormatTest, NewerStateIsAStorageErrorAndLeftAsItWas) {
  MakeState();
  const int64_t future = LocalStore::kSchemaVersion + 1;
  Stamp(future);
  auto store = LocalStore::Open(state_, key_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(CodeOf(store.status()), ErrorCode::kStorage);
  std::string expected = "bridge state at bridge.db: format ";
  expected += std::to_string(future);
  expected += " is newer than this tillit supports (";
  expected += std::to_string(LocalStore::kSchemaVersion);
  expected += "); upgrade tillit";
  EXPECT_NE(store.status().message().find(expected), std::string::npos)
      << store.status().message();
  EXPECT_EQ(Version(), future);
  EXPECT_EQ(Queued(), 1);
}

}  // namespace
}  // namespace tillit::bridge
