// Tests of schema versions: Database::Migrate, MigrateInTransaction and
// SchemaVersion.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tillit/crypto/random.h"
#include "tillit/storage/database.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::storage {
namespace {

using crypto::SecretBytes;
using testing::TempDir;

Status CreateTable(Database& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)");
}

Status AddColumn(Database& db) {
  return db.Exec("ALTER TABLE t ADD COLUMN w TEXT NOT NULL DEFAULT 'new'");
}

// Writes something, then fails: the step's transaction must take the
// write back.
Status FailsHalfway(Database& db) {
  TILLIT_RETURN_IF_ERROR(db.Exec("CREATE TABLE half (x INTEGER)"));
  return Status::Internal("the step failed");
}

Status MustNotRun(Database&) {
  return Status::Internal("a step ran on a file that is already current");
}

constexpr SchemaStep kTwoSteps[] = {CreateTable, AddColumn};
const SchemaHistory kHistory{"test database", kTwoSteps};

constexpr SchemaStep kFailingSecondStep[] = {CreateTable, FailsHalfway};
const SchemaHistory kFailing{"test database", kFailingSecondStep};

constexpr SchemaStep kNeverRun[] = {MustNotRun, MustNotRun};
const SchemaHistory kCurrentOnly{"test database", kNeverRun};

class SchemaVersionTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{11};
  TempDir dir_;
  SecretBytes key_ = rng_.Secret(32);
  std::string path_ = dir_ / "db";

  StatusOr<std::unique_ptr<Database>> Open(const SchemaHistory& history,
                                           bool create = false) {
    Database::Options o;
    o.create = create;
    return Database::Open(path_, &key_, o, [&history](Database& d) {
      return d.Migrate(history);
    });
  }
  // The file as an older tillit left it: the first schema and a row, with
  // no version stamped.
  void MakeUnstamped() {
    Database::Options o;
    o.create = true;
    auto db = Database::Open(path_, &key_, o, CreateTable);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    ASSERT_TRUE((*db)->Exec("INSERT INTO t (k, v) VALUES (1, 'kept')").ok());
  }
  // Writes the header's version directly, as a newer program would.
  void Stamp(int64_t version) {
    auto db = Database::Open(path_, &key_, {}, [version](Database& d) {
      std::string sql = "PRAGMA user_version = ";
      sql += std::to_string(version);
      return d.Exec(sql.c_str());
    });
    ASSERT_TRUE(db.ok()) << db.status().ToString();
  }
  // The version and row 1's value, read without any migration.
  std::pair<int64_t, std::string> Peek() {
    auto db = Database::Open(path_, &key_, {});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return {-1, ""};
    auto version = (*db)->SchemaVersion();
    EXPECT_TRUE(version.ok()) << version.status().ToString();
    auto st = (*db)->Prepare("SELECT v FROM t WHERE k = 1");
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (!version.ok() || !st.ok()) return {-1, ""};
    auto row = st->Step();
    return {*version, row.ok() && *row ? std::string(st->ColumnText(0)) : ""};
  }
};

TEST_F(SchemaVersionTest, NewFileRunsEveryStepAndIsStampedCurrent) {
  auto db = Open(kHistory, /*create=*/true);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_EQ(*(*db)->SchemaVersion(), 2);
  // The second step's column exists.
  EXPECT_TRUE((*db)->Exec("INSERT INTO t (k, v, w) VALUES (1, 'a', 'b')").ok());
}

TEST_F(SchemaVersionTest, UnstampedFileIsUpgradedStepByStepAndKeepsItsData) {
  MakeUnstamped();
  {
    auto db = Open(kHistory);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto st = (*db)->Prepare("SELECT v, w FROM t WHERE k = 1");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    ASSERT_TRUE(*st->Step());
    EXPECT_EQ(st->ColumnText(0), "kept");
    EXPECT_EQ(st->ColumnText(1), "new");
  }
  EXPECT_EQ(Peek(), std::make_pair(int64_t{2}, std::string("kept")));
}

TEST_F(SchemaVersionTest, CurrentFileRunsNoStep) {
  { ASSERT_TRUE(Open(kHistory, /*create=*/true).ok()); }
  auto db = Open(kCurrentOnly);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
}

TEST_F(SchemaVersionTest, NewerFileIsRefusedAndLeftAsItWas) {
  MakeUnstamped();
  Stamp(3);
  auto db = Open(kHistory);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(db.status().message(),
            "test database at db: format 3 is newer than this tillit "
            "supports (2); upgrade tillit");
  // No step ran (it would have added a column) and the stamp is intact.
  EXPECT_EQ(Peek(), std::make_pair(int64_t{3}, std::string("kept")));
  auto raw = Database::Open(path_, &key_, {});
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE((*raw)->Prepare("SELECT w FROM t").ok());
}

TEST_F(SchemaVersionTest, NegativeVersionIsDataLoss) {
  MakeUnstamped();
  Stamp(-1);
  auto db = Open(kHistory);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(db.status().message(),
            "test database at db: format -1 is not a tillit format");
}

TEST_F(SchemaVersionTest, FailingStepIsRolledBackAndEarlierStepsStay) {
  auto db = Open(kFailing, /*create=*/true);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInternal);
  EXPECT_NE(db.status().message().find(
                "test database at db: upgrading format 1 to 2"),
            std::string::npos)
      << db.status().message();
  EXPECT_NE(db.status().message().find("the step failed"), std::string::npos);
  auto raw = Database::Open(path_, &key_, {});
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*(*raw)->SchemaVersion(), 1);
  EXPECT_TRUE((*raw)->Prepare("SELECT k FROM t").ok());
  EXPECT_FALSE((*raw)->Prepare("SELECT x FROM half").ok());
}

TEST_F(SchemaVersionTest, MigrateInTransactionWritesWithTheCallersData) {
  Database::Options o;
  o.create = true;
  auto db = Database::Open(path_, &key_, o);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // Outside a transaction it refuses.
  EXPECT_EQ((*db)->MigrateInTransaction(kHistory).code(),
            StatusCode::kInternal);
  {
    // Rolled back with the caller's transaction: nothing is left.
    auto txn = (*db)->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*db)->MigrateInTransaction(kHistory).ok());
    EXPECT_EQ(*(*db)->SchemaVersion(), 2);
  }
  EXPECT_EQ(*(*db)->SchemaVersion(), 0);
  {
    auto txn = (*db)->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*db)->MigrateInTransaction(kHistory).ok());
    ASSERT_TRUE(
        (*db)->Exec("INSERT INTO t (k, v, w) VALUES (1, 'kept', 'x')").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  db->reset();
  EXPECT_EQ(Peek(), std::make_pair(int64_t{2}, std::string("kept")));
}

TEST_F(SchemaVersionTest, MigrateInTransactionRefusesANewerFile) {
  MakeUnstamped();
  Stamp(5);
  auto db = Database::Open(path_, &key_, {});
  ASSERT_TRUE(db.ok());
  auto txn = (*db)->Begin();
  ASSERT_TRUE(txn.ok());
  Status s = (*db)->MigrateInTransaction(kHistory);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

TEST_F(SchemaVersionTest, VersionIsReadableButNotWritableAfterOpen) {
  auto db = Open(kHistory, /*create=*/true);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->SchemaVersion(), 2);
  EXPECT_EQ((*db)->Exec("PRAGMA user_version = 7").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(*(*db)->SchemaVersion(), 2);
}

TEST(WithOpenContextTest, NamesTheDatabaseUnlessTheRefusalAlreadyDoes) {
  EXPECT_EQ(WithOpenContext(Status::DataLoss("damaged"), "registry").message(),
            "registry: damaged");
  const Status newer = Status::FailedPrecondition(
      "registry at registry.db: format 2 is newer than this tillit supports "
      "(1); upgrade tillit");
  const Status kept = WithOpenContext(newer, "registry");
  EXPECT_EQ(kept.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(kept.message(), newer.message());
}

}  // namespace
}  // namespace tillit::storage
