#include "tillit/audit/audit_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/kdf.h"
#include "tillit/vault/vault.h"

namespace tillit::audit {
namespace {

namespace fs = std::filesystem;

AuditEntry Entry(
    int i, const std::string& citizen = "c_00000000000000000000000000000001") {
  AuditEntry e;
  e.time = 1767225600 + i;
  e.actor_kind = "provider";
  e.actor_id = i % 2 == 0 ? "p_00000000000000000000000000000001"
                          : "p_00000000000000000000000000000002";
  e.action = "records.read";
  e.citizen_id = citizen;
  e.categories = {"lab-results"};
  e.purpose = "DUO:0000043";
  e.decision = "permit";
  e.request_id = "req-" + std::to_string(i);
  return e;
}

ListQuery Query(size_t limit, std::optional<uint64_t> after = std::nullopt,
                std::optional<uint64_t> before = std::nullopt,
                std::string citizen = "", std::string actor = "") {
  ListQuery q;
  q.limit = limit;
  q.after = after;
  q.before = before;
  q.citizen_id = std::move(citizen);
  q.actor_id = std::move(actor);
  return q;
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-audit-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    auto created = vault::Vault::Init(o);
    ASSERT_TRUE(created.ok());
    vault_ = std::move(created->vault);
    Reopen();
  }
  void TearDown() override {
    log_.reset();
    vault_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    log_.reset();
    auto log = AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
  }
  void AppendN(int n, int from = 0) {
    for (int i = from; i < from + n; ++i)
      ASSERT_TRUE(log_->Append(Entry(i)).ok());
  }
  // Direct access to the stored rows, as someone holding the keys could.
  std::unique_ptr<storage::Database> RawDb() {
    auto key = vault_->DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
    auto db = storage::Database::Open(dir_ + "/data/audit.db", &*key, {});
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return std::move(db).value();
  }
  VerifyReport Verify(const std::string& external = "") {
    auto r = VerifyStoredLog(vault_->data_dir(), *vault_, external);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  // A log of 12 entries with checkpoints at sizes 5 and 10.
  void Standard() {
    AppendN(5);
    ASSERT_TRUE(log_->SignedCheckpoint().ok());
    AppendN(5, 5);
    ASSERT_TRUE(log_->SignedCheckpoint().ok());
    AppendN(2, 10);
    log_.reset();
  }

  std::string dir_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<AuditLog> log_;
};

TEST_F(AuditLogTest, AppendsAreIndexedDurableAndProvable) {
  for (int i = 0; i < 7; ++i) {
    auto idx = log_->Append(Entry(i));
    ASSERT_TRUE(idx.ok());
    EXPECT_EQ(*idx, static_cast<uint64_t>(i));
  }
  auto note = log_->SignedCheckpoint();
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*log_->SignedCheckpoint(), *note);  // one note per size
  auto cp = OpenCheckpoint(*note, log_->key_name(), log_->public_key());
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->size, 7u);
  Reopen();
  EXPECT_EQ(log_->size(), 7u);
  EXPECT_EQ(*log_->RootAt(7), cp->root);
  auto entries = log_->List(Query(100, 2));
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 4u);
  const StoredEntry& e3 = (*entries)[0];
  EXPECT_EQ(e3.index, 3u);
  auto proof = log_->InclusionProof(3, 7);
  ASSERT_TRUE(proof.ok());
  const auto bytes = crypto::AsBytes(e3.canonical);
  EXPECT_TRUE(VerifyInclusion(LeafHash(bytes), 3, 7, *proof, cp->root));
}

// The log keeps whole tiles of 256 entries as one hash each and reads an
// older tile's leaves back from the database for a proof; a stored leaf
// that no longer matches the tree is refused, never proven.
TEST_F(AuditLogTest, ProofsOfOldEntriesReadTheirTileBack) {
  std::vector<AuditEntry> batch;
  for (int i = 0; i < 600; ++i) batch.push_back(Entry(i));
  ASSERT_TRUE(log_->AppendBatch(std::span(batch).first(300)).ok());
  const Hash root300 = *log_->RootAt(300);
  ASSERT_TRUE(log_->AppendBatch(std::span(batch).subspan(300)).ok());
  for (int round = 0; round < 2; ++round) {
    const Hash root = *log_->RootAt(600);
    EXPECT_EQ(*log_->RootAt(300), root300);
    for (uint64_t i : {0u, 1u, 255u, 256u, 299u, 511u, 512u, 599u}) {
      auto proof = log_->InclusionProof(i, 600);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      const std::string c = *CanonicalEntry(batch[i]);
      EXPECT_TRUE(
          VerifyInclusion(LeafHash(crypto::AsBytes(c)), i, 600, *proof, root))
          << i;
    }
    auto consistency = log_->ConsistencyProof(300, 600);
    ASSERT_TRUE(consistency.ok());
    EXPECT_TRUE(VerifyConsistency(300, 600, *consistency, root300, root));
    Reopen();  // and the same from a log loaded from disk
  }
  {
    auto db = RawDb();
    auto st = db->Prepare("UPDATE entries SET leaf = ?1 WHERE idx = 10");
    ASSERT_TRUE(st.ok());
    st->BindBlob(1, LeafHash(crypto::AsBytes(std::string("forged"))));
    ASSERT_TRUE(st->Run().ok());
  }
  auto refused = log_->InclusionProof(11, 600);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  // Whole tiles' hashes are held: the head and newer tiles still prove.
  EXPECT_TRUE(log_->InclusionProof(300, 600).ok());
  EXPECT_TRUE(log_->SignedCheckpoint().ok());
}

TEST_F(AuditLogTest, ListsByCitizenAndActorNewestFirstWithPaging) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        log_->Append(Entry(i, i < 4 ? "c_00000000000000000000000000000009"
                                    : "c_00000000000000000000000000000001"))
            .ok());
  }
  auto mine = log_->List(Query(10, std::nullopt, std::nullopt,
                               "c_00000000000000000000000000000009"));
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 4u);
  EXPECT_EQ((*mine)[0].index, 3u);  // newest first
  auto page = log_->List(
      Query(2, std::nullopt, 3, "c_00000000000000000000000000000009"));
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].index, 2u);
  auto actor = log_->List(Query(100, std::nullopt, std::nullopt, "",
                                "p_00000000000000000000000000000002"));
  EXPECT_EQ(actor->size(), 5u);
  EXPECT_EQ(log_->List(Query(0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->List(Query(1001)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(AuditLogTest, ConcurrentAppendsShareCommitsAndGetDistinctIndexes) {
  constexpr int kThreads = 16, kEach = 40;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<uint64_t> seen;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto idx = log_->Append(Entry(t * 1000 + i));
        ASSERT_TRUE(idx.ok());
        std::lock_guard<std::mutex> lock(mu);
        EXPECT_TRUE(seen.insert(*idx).second);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*seen.rbegin(), static_cast<uint64_t>(kThreads * kEach - 1));
  ASSERT_TRUE(log_->SignedCheckpoint().ok());
  log_.reset();
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, TwoWritersOnOneLogNumberEntriesWithoutGaps) {
  // The command line appends while a server holds the log open.
  auto other = AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_TRUE(other.ok());
  auto a = log_->Append(Entry(0));
  auto b = (*other)->Append(Entry(1));
  auto c = (*other)->Append(Entry(2));
  auto d = log_->Append(Entry(3));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok()) << d.status().ToString();
  EXPECT_EQ(*a, 0u);
  EXPECT_EQ(*b, 1u);
  EXPECT_EQ(*c, 2u);
  EXPECT_EQ(*d, 3u);  // after the other writer's two
  EXPECT_EQ(log_->size(), 4u);
  // Both see the same tree once they have caught up.
  ASSERT_TRUE((*other)->Append(Entry(4)).ok());
  auto root = log_->RootAt(4);
  auto other_root = (*other)->RootAt(4);
  ASSERT_TRUE(root.ok() && other_root.ok());
  EXPECT_EQ(*root, *other_root);
  ASSERT_TRUE(log_->SignedCheckpoint().ok());
  ASSERT_TRUE((*other)->SignedCheckpoint().ok());
  other->reset();
  log_.reset();
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_EQ(report.entries, 5u);
}

TEST_F(AuditLogTest, FailClosedWhenTheEntryCannotBeWritten) {
  int released = 0;
  auto read = [&](uint64_t) -> StatusOr<std::string> {
    ++released;
    return std::string("health data");
  };
  auto first = Guarded(*log_, Entry(0), read);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(released, 1);
  log_->FailWriteForTesting(1);
  auto second = Guarded(*log_, Entry(1), read);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(released, 1) << "data was released without a durable audit entry";
  EXPECT_EQ(log_->size(), 1u);
  // The log carries on without a gap.
  auto third = log_->Append(Entry(2));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 1u);
  // An invalid entry is refused before anything is written.
  AuditEntry bad = Entry(3);
  bad.action = "free text";
  EXPECT_EQ(Guarded(*log_, bad, read).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(released, 1);
}

TEST_F(AuditLogTest, CleanLogVerifies) {
  Standard();
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 12u);
  EXPECT_EQ(r.checkpoints, 2u);
}

TEST_F(AuditLogTest, AlteredEntryIsFound) {
  Standard();
  auto db = RawDb();
  ASSERT_TRUE(
      db->Exec("UPDATE entries SET entry = replace(entry, 'records.read', "
               "'records.list') WHERE idx = 7")
          .ok());
  db.reset();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 7u) << r.problem;
}

TEST_F(AuditLogTest, AlteredEntryWithRecomputedLeafIsCaughtByTheCheckpoint) {
  Standard();
  // Rewrite entry 7 and its leaf hash consistently.
  AuditEntry forged = Entry(7);
  forged.action = "records.list";
  const std::string c = *CanonicalEntry(forged);
  const Hash leaf = LeafHash(crypto::AsBytes(c));
  {
    auto db = RawDb();
    auto st =
        db->Prepare("UPDATE entries SET entry = ?1, leaf = ?2 WHERE idx = 7");
    ASSERT_TRUE(st.ok());
    st->Bind(1, c).BindBlob(2, leaf);
    ASSERT_TRUE(st->Run().ok());
  }
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u)
      << r.problem;  // after the last good checkpoint
}

TEST_F(AuditLogTest, RemovedEntryIsFound) {
  Standard();
  auto db = RawDb();
  ASSERT_TRUE(db->Exec("DELETE FROM entries WHERE idx = 3").ok());
  db.reset();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 3u) << r.problem;
  // The log refuses to be appended to while damaged.
  EXPECT_EQ(
      AuditLog::OpenInDirectory(vault_->data_dir(), *vault_).status().code(),
      StatusCode::kDataLoss);
}

TEST_F(AuditLogTest, TruncatedLogIsFound) {
  Standard();
  auto db = RawDb();
  ASSERT_TRUE(db->Exec("DELETE FROM entries WHERE idx >= 8").ok());
  db.reset();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 8u) << r.problem;
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

TEST_F(AuditLogTest, ReorderedEntriesAreFound) {
  Standard();
  auto db = RawDb();
  ASSERT_TRUE(db->Exec("UPDATE entries SET idx = -1 WHERE idx = 6").ok());
  ASSERT_TRUE(db->Exec("UPDATE entries SET idx = 6 WHERE idx = 7").ok());
  ASSERT_TRUE(db->Exec("UPDATE entries SET idx = 7 WHERE idx = -1").ok());
  db.reset();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u) << r.problem;
}

TEST_F(AuditLogTest, InsertedEntryIsFound) {
  Standard();
  const std::string c = *CanonicalEntry(Entry(99));
  const Hash leaf = LeafHash(crypto::AsBytes(c));
  {
    auto db = RawDb();
    for (int idx = 11; idx >= 2; --idx) {
      auto st = db->Prepare("UPDATE entries SET idx = ?1 WHERE idx = ?2");
      st->Bind(1, int64_t{idx + 1}).Bind(2, int64_t{idx});
      ASSERT_TRUE(st->Run().ok());
    }
    auto ins = db->Prepare(
        "INSERT INTO entries (idx, entry, leaf, citizen_id, actor_id, time) "
        "VALUES (2, ?1, ?2, '', 'p_x', 0)");
    ins->Bind(1, c).BindBlob(2, leaf);
    ASSERT_TRUE(ins->Run().ok());
  }
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
}

TEST_F(AuditLogTest, ForgedCheckpointSignatureIsFound) {
  Standard();
  auto db = RawDb();
  ASSERT_TRUE(
      db->Exec("UPDATE checkpoints SET note = replace(note, '10\n', '11\n') "
               "WHERE size = 10")
          .ok());
  db.reset();
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u) << r.problem;
}

TEST_F(AuditLogTest, ForkedCheckpointIsFound) {
  Standard();
  // The same key signs a different tree of the same size: a fork.
  auto seed = vault_->DeriveKey(crypto::kContextAuditSigning, 1);
  auto signer = crypto::SigningKey::FromSeed(*seed);
  ASSERT_TRUE(signer.ok());
  Checkpoint forked{"tillit.health/audit", 10, LeafHash({})};
  const std::string note = SignCheckpoint(forked, "tillit-audit", *signer);
  VerifyReport r = Verify(note);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.problem.find("given checkpoint"), std::string::npos) << r.problem;
  // A genuine earlier checkpoint passes.
  Reopen();
  auto genuine = log_->SignedCheckpoint();  // size 12
  log_.reset();
  EXPECT_TRUE(Verify(*genuine).ok);
}

// ------------------------------------------------------------ schema version

// Writes `version` into audit.db's header directly, as another program
// would.
void StampLog(const vault::Vault& vault, int64_t version) {
  auto key = vault.DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
  ASSERT_TRUE(key.ok());
  const auto stamp = [version](storage::Database& d) {
    std::string sql = "PRAGMA user_version = ";
    sql += std::to_string(version);
    return d.Exec(sql.c_str());
  };
  auto db =
      storage::Database::Open(vault.data_dir() + "/audit.db", &*key, {}, stamp);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
}

TEST_F(AuditLogTest, NewLogIsStampedWithTheCurrentVersion) {
  log_.reset();
  EXPECT_EQ(*RawDb()->SchemaVersion(), AuditLog::kSchemaVersion);
}

TEST_F(AuditLogTest, UnstampedLogFromAnOlderTillitOpensAndIsStamped) {
  Standard();
  // Before schema versions, tillit wrote this same schema and no stamp.
  StampLog(*vault_, 0);
  Reopen();
  EXPECT_EQ(log_->size(), 12u);
  log_.reset();
  EXPECT_EQ(*RawDb()->SchemaVersion(), AuditLog::kSchemaVersion);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(AuditLogTest, NewerLogIsRefusedAndLeftAsItWas) {
  Standard();
  const int64_t future = AuditLog::kSchemaVersion + 1;
  StampLog(*vault_, future);
  std::string expected = "audit log at audit.db: format ";
  expected += std::to_string(future);
  expected += " is newer than this tillit supports (";
  expected += std::to_string(AuditLog::kSchemaVersion);
  expected += "); upgrade tillit";
  auto log = AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(log.status().message(), expected);
  auto report = VerifyStoredLog(vault_->data_dir(), *vault_);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(report.status().message(), expected);
  // Untouched: the stamp and all 12 entries.
  auto db = RawDb();
  EXPECT_EQ(*db->SchemaVersion(), future);
  auto count = db->Prepare("SELECT count(*) FROM entries");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt64(0), 12);
}

}  // namespace
}  // namespace tillit::audit
