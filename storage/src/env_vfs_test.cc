// SQLite's own file changes seen by an Env: injected I/O errors and power
// cuts on the database, its WAL and its journal.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "tillit/crypto/random.h"
#include "tillit/storage/database.h"
#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::storage {
namespace {

using crypto::SecretBytes;
using testing::FaultInjectionEnv;
using testing::FaultOp;
using testing::TempDir;

Status Schema(Database& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)");
}

Status Insert(Database& db, int64_t k) {
  TILLIT_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)"));
  st.Bind(1, k).Bind(2, std::string(3000, 'x'));  // most of a page
  return st.Run();
}

StatusOr<std::set<int64_t>> Keys(Database& db) {
  TILLIT_ASSIGN_OR_RETURN(Statement st, db.Prepare("SELECT k FROM t"));
  std::set<int64_t> keys;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    keys.insert(st.ColumnInt64(0));
  }
  return keys;
}

class EnvVfsTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{11};
  TempDir dir_;
  SecretBytes key_ = rng_.Secret(32);
  std::string path_ = dir_ / "db";

  StatusOr<std::unique_ptr<Database>> Open(Env* env) {
    Database::Options o;
    o.create = true;
    o.env = env;
    return Database::Open(path_, &key_, o, Schema);
  }

  // The keys a fresh connection on the real OS finds, after an integrity
  // check of every page.
  std::set<int64_t> Reopened() {
    EXPECT_TRUE(Database::VerifyFile(path_, &key_).ok());
    auto db = Open(Env::Default());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return {};
    auto keys = Keys(**db);
    EXPECT_TRUE(keys.ok());
    return keys.ok() ? *keys : std::set<int64_t>{};
  }
};

TEST_F(EnvVfsTest, AWriteErrorFailsTheCommitAndChangesNothing) {
  FaultInjectionEnv env;
  auto db = Open(&env);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  ASSERT_TRUE(Insert(**db, 1).ok());
  env.FailNth(FaultOp::kWrite, 1, EIO);
  Status s = Insert(**db, 2);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString();
  // Once the fault clears, the same write succeeds.
  ASSERT_TRUE(Insert(**db, 2).ok());
  db->reset();
  EXPECT_EQ(Reopened(), (std::set<int64_t>{1, 2}));
}

TEST_F(EnvVfsTest, AFullDiskIsAnIoErrorNamingIt) {
  FaultInjectionEnv env;
  auto db = Open(&env);
  ASSERT_TRUE(db.ok());
  env.FailAll(FaultOp::kWrite, ENOSPC);
  Status s = Insert(**db, 1);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("full"), std::string::npos) << s.ToString();
  env.ClearFaults();
  ASSERT_TRUE(Insert(**db, 1).ok());
  db->reset();
  EXPECT_EQ(Reopened(), (std::set<int64_t>{1}));
}

TEST_F(EnvVfsTest, AFailedFsyncIsNotAcknowledged) {
  FaultInjectionEnv env;
  auto db = Open(&env);
  ASSERT_TRUE(db.ok());
  env.FailNth(FaultOp::kSync, 1, EIO);
  EXPECT_EQ(Insert(**db, 1).code(), StatusCode::kIoError);
}

TEST_F(EnvVfsTest, CreatingTheFileCanFail) {
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kCreate, 1, EIO);
  auto db = Open(&env);
  EXPECT_FALSE(db.ok());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(EnvVfsTest, APowerCutKeepsWhatWasCommittedAndLosesTheRest) {
  FaultInjectionEnv env;
  {
    auto db = Open(&env);
    ASSERT_TRUE(db.ok());
    // The new file's directory entry is made durable, as the vault does.
    ASSERT_TRUE(env.SyncDirectory(dir_.path()).ok());
    ASSERT_TRUE(Insert(**db, 1).ok());
    env.CrashAfterSyncs(0);
    EXPECT_FALSE(Insert(**db, 2).ok());
  }
  ASSERT_TRUE(env.PowerCut().ok());
  env.ClearFaults();
  EXPECT_EQ(Reopened(), (std::set<int64_t>{1}));
}

TEST_F(EnvVfsTest, ANewFileIsInItsDirectoryDurablyOnceOpenReturns) {
  FaultInjectionEnv env;
  {
    auto db = Open(&env);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Insert(**db, 1).ok());
  }
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(Reopened(), (std::set<int64_t>{1}));
}

TEST_F(EnvVfsTest, OpenFailsWhenTheNewFilesDirectoryCannotBeSynced) {
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kSyncDirectory, 1, EIO);
  auto db = Open(&env);
  EXPECT_EQ(db.status().code(), StatusCode::kIoError);
}

// Cuts the power right after every sync point of a run of commits (and
// before the first): whatever was acknowledged survives, the file is never
// damaged, and nothing unacknowledged but later is half there.
TEST_F(EnvVfsTest, EverySyncPointOfARunOfCommitsIsSafeToCutAt) {
  constexpr int kRows = 12;
  auto run = [&](FaultInjectionEnv& env, std::set<int64_t>* acked) {
    auto db = Open(&env);
    if (!db.ok()) return;
    (void)env.SyncDirectory(dir_.path());
    for (int k = 1; k <= kRows; ++k) {
      if (Insert(**db, k).ok()) acked->insert(k);
      if (k % 4 == 0) (void)(*db)->Checkpoint();
    }
  };
  int points = 0;
  {
    FaultInjectionEnv env;
    std::set<int64_t> acked;
    run(env, &acked);
    ASSERT_EQ(acked.size(), static_cast<size_t>(kRows));
    points = env.SyncPoints();
  }
  ASSERT_GT(points, kRows);
  for (int cut = 0; cut <= points; ++cut) {
    SCOPED_TRACE("cut after sync point " + std::to_string(cut));
    std::filesystem::remove_all(dir_.path());
    std::filesystem::create_directories(dir_.path());
    FaultInjectionEnv env;
    env.CrashAfterSyncs(cut);
    std::set<int64_t> acked;
    run(env, &acked);
    ASSERT_TRUE(env.PowerCut().ok());
    env.ClearFaults();
    if (!std::filesystem::exists(path_)) {
      EXPECT_TRUE(acked.empty());
      continue;
    }
    const std::set<int64_t> found = Reopened();
    for (int64_t k : acked) EXPECT_TRUE(found.count(k)) << "lost row " << k;
    // Rows are committed in order: what survives is a prefix.
    int64_t expect = 1;
    for (int64_t k : found) EXPECT_EQ(k, expect++);
  }
}

}  // namespace
}  // namespace tillit::storage
