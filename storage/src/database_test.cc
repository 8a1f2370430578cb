#include "tillit/storage/database.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tillit/crypto/random.h"
#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::storage {
namespace {

using crypto::SecretBytes;
using testing::TempDir;

Status Schema(Database& db) {
  return db.Exec(
      "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)");
}

Status Insert(Database& db, int64_t k, std::string_view v) {
  TILLIT_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("INSERT INTO t (k, v) VALUES (?1, ?2)"));
  st.Bind(1, k).Bind(2, v);
  return st.Run();
}

StatusOr<std::string> Lookup(Database& db, int64_t k) {
  TILLIT_ASSIGN_OR_RETURN(Statement st,
                          db.Prepare("SELECT v FROM t WHERE k = ?1"));
  st.Bind(1, k);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no row");
  return std::string(st.ColumnText(0));
}

class DatabaseTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{7};
  TempDir dir_;
  SecretBytes key_ = rng_.Secret(32);
  std::string path_ = dir_ / "db";

  std::unique_ptr<Database> Create() {
    Database::Options o;
    o.create = true;
    auto db = Database::Open(path_, &key_, o, Schema);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return std::move(db).value();
  }
};

TEST_F(DatabaseTest, StoresAndReadsBackEncrypted) {
  {
    auto db = Create();
    ASSERT_TRUE(Insert(*db, 1, "hello").ok());
  }
  auto db = Database::Open(path_, &key_, {}, Schema);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto v = Lookup(**db, 1);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "hello");
  const std::string raw = testing::ReadAll(path_);
  EXPECT_EQ(raw.find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(raw.find("hello"), std::string::npos);
  EXPECT_EQ(raw.size() % 4096, 0u) << "cipher_page_size must be 4096";
}

TEST_F(DatabaseTest, PlainDatabaseIsOrdinarySqlite) {
  Database::Options o;
  o.create = true;
  {
    auto db = Database::Open(path_, nullptr, o, Schema);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(Insert(**db, 1, "visible").ok());
  }
  EXPECT_EQ(testing::ReadAll(path_).rfind("SQLite format 3", 0), 0u);
}

TEST_F(DatabaseTest, WrongKeyIsDataLoss) {
  { Create(); }
  SecretBytes other = rng_.Secret(32);
  auto db = Database::Open(path_, &other, {}, Schema);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kDataLoss);
}

TEST_F(DatabaseTest, MissingFileWithoutCreateIsNotFound) {
  auto db = Database::Open(path_, &key_, {}, Schema);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kNotFound);
}

TEST_F(DatabaseTest, KeyMustBe32Bytes) {
  SecretBytes shorter = rng_.Secret(16);
  Database::Options o;
  o.create = true;
  auto db = Database::Open(path_, &shorter, o, Schema);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(DatabaseTest, NewFilesAreReadableByTheOwnerOnly) {
  auto db = Create();
  ASSERT_TRUE(Insert(*db, 1, "x").ok());  // the -wal file exists now
  for (const std::string& file : {path_, path_ + "-wal", path_ + "-shm"}) {
    struct stat st {};
    ASSERT_EQ(stat(file.c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << file;
  }
}

TEST_F(DatabaseTest, WalAutocheckpointDecidesWhenTheFileCatchesUp) {
  // 64 commits of ~3 KB: with a checkpoint every page the file holds
  // them; with a large threshold they wait in the -wal file.
  auto file_size = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
  };
  for (int pages : {1, 100000}) {
    const std::string path = dir_ / ("wal-" + std::to_string(pages));
    Database::Options o;
    o.create = true;
    o.wal_autocheckpoint_pages = pages;
    auto db = Database::Open(path, &key_, o, Schema);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    for (int i = 0; i < 64; ++i)
      ASSERT_TRUE(Insert(**db, i, std::string(3000, 'x')).ok());
    if (pages == 1) {
      EXPECT_GT(file_size(path), 64 * 3000);
    } else {
      EXPECT_LT(file_size(path), 64 * 3000);
      EXPECT_GT(file_size(path + "-wal"), 64 * 3000);
    }
  }
}

TEST_F(DatabaseTest, PassiveCheckpointOnASecondConnectionCopiesTheWal) {
  // A writer that never checkpoints itself, and a second connection that
  // copies its WAL into the file while the writer holds it open; the
  // writer's next commit starts the WAL again from its beginning.
  auto file_size = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
  };
  Database::Options o;
  o.create = true;
  o.wal_autocheckpoint_pages = 100000;
  auto writer = Database::Open(path_, &key_, o, Schema);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (int i = 0; i < 64; ++i)
    ASSERT_TRUE(Insert(**writer, i, std::string(3000, 'x')).ok());
  EXPECT_LT(file_size(path_), 64 * 3000);
  auto copier = Database::Open(path_, &key_, Database::Options{});
  ASSERT_TRUE(copier.ok()) << copier.status().ToString();
  StatusOr<int> frames = (*copier)->CheckpointPassive();
  ASSERT_TRUE(frames.ok()) << frames.status().ToString();
  EXPECT_GT(*frames, 64);  // each row spans a page
  EXPECT_GT(file_size(path_), 64 * 3000);
  const int64_t wal = file_size(path_ + "-wal");
  ASSERT_TRUE(Insert(**writer, 64, "y").ok());
  EXPECT_EQ(file_size(path_ + "-wal"), wal);  // written over, not grown
  frames = (*copier)->CheckpointPassive();
  ASSERT_TRUE(frames.ok());
  EXPECT_LT(*frames, 8);  // the WAL started again
  for (int i = 0; i <= 64; ++i) EXPECT_TRUE(Lookup(**copier, i).ok());
}

TEST_F(DatabaseTest, CacheKibBoundsThePageCacheOfALargeFile) {
  // ~4 MB of rows read back in full: SQLite's default cache keeps about
  // 2 MB of it; a 256 KiB limit keeps the connection under that.
  {
    auto db = Create();
    ASSERT_TRUE(db->Exec("BEGIN").ok());
    for (int i = 0; i < 1000; ++i)
      ASSERT_TRUE(Insert(*db, i, std::string(4000, 'x')).ok());
    ASSERT_TRUE(db->Exec("COMMIT").ok());
  }
  auto read_all = [&](int cache_kib) -> int64_t {
    Database::Options o;
    o.cache_kib = cache_kib;
    auto db = Database::Open(path_, &key_, o);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return -1;
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(Lookup(**db, i).ok());
    return (*db)->PageCacheBytes();
  };
  const int64_t bounded = read_all(256);
  const int64_t standard = read_all(0);
  EXPECT_GT(bounded, 0);
  // The limit counts page content; SQLite adds a little per page.
  EXPECT_LE(bounded, 256 * 1024 * 5 / 4);
  EXPECT_GT(standard, 1500 * 1024);
}

TEST_F(DatabaseTest, NegativeCacheKibIsRefused) {
  Database::Options o;
  o.create = true;
  o.cache_kib = -1;
  auto db = Database::Open(path_, &key_, o, Schema);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(path_));  // refused before any file
}

TEST_F(DatabaseTest, ContentVersionMovesWithEveryCommitFromAnyConnection) {
  auto db = Create();
  auto before = db->ContentVersion();
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(*db->ContentVersion(), *before);  // nothing committed
  ASSERT_TRUE(Insert(*db, 1, "own").ok());
  auto own = db->ContentVersion();
  ASSERT_TRUE(own.ok());
  EXPECT_NE(*own, *before);
  auto other = Database::Open(path_, &key_, {}, Schema);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_NE(*(*other)->ContentVersion(), *own);  // another connection
  ASSERT_TRUE(Insert(**other, 2, "theirs").ok());
  auto theirs = db->ContentVersion();
  ASSERT_TRUE(theirs.ok());
  EXPECT_NE(*theirs, *own);
  // Setting data_version is still refused.
  EXPECT_EQ(db->Exec("PRAGMA data_version = 1").code(),
            StatusCode::kPermissionDenied);
}

TEST_F(DatabaseTest, AuthorizerRefusesPragmaAttachAndVirtualTables) {
  auto db = Create();
  Status pragma = db->Exec("PRAGMA user_version = 3");
  EXPECT_EQ(pragma.code(), StatusCode::kPermissionDenied) << pragma.ToString();
  Status key = db->Exec("PRAGMA rekey = 'x'");
  EXPECT_EQ(key.code(), StatusCode::kPermissionDenied);
  Status attach = db->Exec("ATTACH DATABASE ':memory:' AS other");
  EXPECT_EQ(attach.code(), StatusCode::kPermissionDenied);
  Status vtab = db->Exec("CREATE VIRTUAL TABLE v USING fts4(x)");
  EXPECT_FALSE(vtab.ok());
  Status ext = db->Exec("SELECT load_extension('x')");
  EXPECT_FALSE(ext.ok());
  // Ordinary statements still work.
  EXPECT_TRUE(Insert(*db, 2, "ok").ok());
}

TEST_F(DatabaseTest, TransactionRollsBackUnlessCommitted) {
  auto db = Create();
  {
    auto txn = db->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(Insert(*db, 5, "lost").ok());
  }
  EXPECT_EQ(Lookup(*db, 5).status().code(), StatusCode::kNotFound);
  {
    auto txn = db->Begin();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(Insert(*db, 6, "kept").ok());
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_TRUE(Lookup(*db, 6).ok());
}

TEST_F(DatabaseTest, ConstraintViolationIsAlreadyExists) {
  auto db = Create();
  ASSERT_TRUE(Insert(*db, 1, "a").ok());
  EXPECT_EQ(Insert(*db, 1, "b").code(), StatusCode::kAlreadyExists);
  // The cached statement is usable again after the failure.
  EXPECT_TRUE(Insert(*db, 2, "c").ok());
}

TEST_F(DatabaseTest, PrepareOfBadSqlIsAnErrorWithoutSqlText) {
  auto db = Create();
  auto st = db->Prepare("SELECT nope FROM missing_table");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message().find("missing_table"), std::string::npos);
}

TEST_F(DatabaseTest, RekeyReplacesTheKey) {
  {
    auto db = Create();
    ASSERT_TRUE(Insert(*db, 1, "x").ok());
    SecretBytes next = rng_.Secret(32);
    ASSERT_TRUE(db->Rekey(next).ok());
    // Still usable, and the authorizer is back on.
    EXPECT_TRUE(Insert(*db, 2, "y").ok());
    EXPECT_EQ(db->Exec("PRAGMA user_version = 1").code(),
              StatusCode::kPermissionDenied);
    key_ = std::move(next);
  }
  auto db = Database::Open(path_, &key_, {}, Schema);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(Lookup(**db, 2).ok());
}

TEST_F(DatabaseTest, RekeyRejectsWrongSize) {
  auto db = Create();
  SecretBytes bad = rng_.Secret(8);
  EXPECT_EQ(db->Rekey(bad).code(), StatusCode::kInvalidArgument);
}

TEST_F(DatabaseTest, VerifyFileFindsAnAlteredPage) {
  {
    auto db = Create();
    auto txn = db->Begin();
    ASSERT_TRUE(txn.ok());
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(Insert(*db, i, std::string(100, 'a' + (i % 26))).ok());
    }
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_TRUE(Database::VerifyFile(path_, &key_).ok());
  // A byte in the middle of the third page (not the first page, which the
  // open-time probe already covers).
  testing::FlipByte(path_, 2 * 4096 + 1000);
  Status s = Database::VerifyFile(path_, &key_);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
}

TEST_F(DatabaseTest, FlippedFirstPageIsRefusedAtOpen) {
  { Create(); }
  testing::FlipByte(path_, 100);
  auto db = Database::Open(path_, &key_, {}, Schema);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kDataLoss);
}

TEST_F(DatabaseTest, CopyToIsAnEncryptedSnapshotWhileOthersWrite) {
  auto db = Create();
  for (int k = 0; k < 200; ++k) ASSERT_TRUE(Insert(*db, k, "hello").ok());
  auto writer = Database::Open(path_, &key_, {}, Schema);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  // A write in progress on another connection is not in the copy.
  auto tx = (*writer)->Begin();
  ASSERT_TRUE(tx.ok());
  ASSERT_TRUE(Insert(**writer, 1000, "uncommitted").ok());
  auto copy = db->CopyTo(dir_ / "copy", &key_, {});
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  ASSERT_TRUE(tx->Commit().ok());
  EXPECT_TRUE(Lookup(**copy, 199).ok());
  EXPECT_EQ(Lookup(**copy, 1000).status().code(), StatusCode::kNotFound);
  copy->reset();
  // Encrypted under the same key: no plaintext on disk, a wrong key fails.
  std::ifstream f(dir_ / "copy", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)),
                          std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.size(), 4096u);
  EXPECT_EQ(bytes.find("hello"), std::string::npos);
  SecretBytes wrong = rng_.Secret(32);
  EXPECT_EQ(Database::Open(dir_ / "copy", &wrong, {}, Schema).status().code(),
            StatusCode::kDataLoss);
  auto reopened = Database::Open(dir_ / "copy", &key_, {}, Schema);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(*Lookup(**reopened, 5), "hello");
}

TEST_F(DatabaseTest, CopyToUnderAnotherKeyRekeysTheCopyOnly) {
  auto db = Create();
  ASSERT_TRUE(Insert(*db, 1, "hello").ok());
  SecretBytes next = rng_.Secret(32);
  auto copy = db->CopyTo(dir_ / "copy", &next, {});
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  copy->reset();
  EXPECT_EQ(Database::Open(dir_ / "copy", &key_, {}, Schema).status().code(),
            StatusCode::kDataLoss);
  auto opened = Database::Open(dir_ / "copy", &next, {}, Schema);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*Lookup(**opened, 1), "hello");
  EXPECT_EQ(*Lookup(*db, 1), "hello");  // the original keeps its key
}

TEST_F(DatabaseTest, CopyToRefusesAnExistingFileAndLeavesNothingOnError) {
  auto db = Create();
  ASSERT_TRUE(Insert(*db, 1, "hello").ok());
  std::ofstream(dir_ / "taken") << "mine";
  EXPECT_EQ(db->CopyTo(dir_ / "taken", &key_, {}).status().code(),
            StatusCode::kAlreadyExists);
  std::ifstream taken(dir_ / "taken");
  std::string kept;
  taken >> kept;
  EXPECT_EQ(kept, "mine");
  // A disk error at any write or sync of the copy: an IoError, and no
  // file left behind.
  testing::FaultInjectionEnv env;
  for (testing::FaultOp op :
       {testing::FaultOp::kWrite, testing::FaultOp::kSync}) {
    for (int nth = 1; nth <= 3; ++nth) {
      env.FailNth(op, nth, ENOSPC);
      Database::Options o;
      o.env = &env;
      auto copy = db->CopyTo(dir_ / "copy", &key_, o);
      env.ClearFaults();
      if (copy.ok()) {  // fewer than nth such operations
        copy->reset();
        std::filesystem::remove(dir_ / "copy");
        continue;
      }
      EXPECT_EQ(copy.status().code(), StatusCode::kIoError)
          << copy.status().ToString();
      EXPECT_FALSE(std::filesystem::exists(dir_ / "copy"));
    }
  }
}

}  // namespace
}  // namespace tillit::storage
