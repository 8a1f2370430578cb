#include "tillit/audit/audit_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
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
  // What someone holding the keys could do to the stored entries: read
  // them all (index, canonical bytes, leaf), change the list, and write
  // it back as rows of consecutive entries (docs/AUDIT_FORMATS.md,
  // "Stored rows"), encoded here independently of the log's own code.
  struct RawEntry {
    int64_t idx;
    std::string entry;
    Hash leaf;
  };
  std::vector<RawEntry> ReadRaw() {
    auto db = RawDb();
    auto st = db->Prepare(
        "SELECT first, count, entries, leaves FROM batches ORDER BY first");
    EXPECT_TRUE(st.ok());
    std::vector<RawEntry> out;
    while (*st->Step()) {
      const auto entries = st->ColumnBlob(2);
      const auto leaves = st->ColumnBlob(3);
      size_t at = 0;
      for (int64_t i = 0; i < st->ColumnInt64(1); ++i) {
        const uint32_t n = entries[at] | entries[at + 1] << 8 |
                           entries[at + 2] << 16 | entries[at + 3] << 24;
        RawEntry e;
        e.idx = st->ColumnInt64(0) + i;
        e.entry.assign(reinterpret_cast<const char*>(&entries[at + 4]), n);
        std::copy_n(&leaves[i * 32], 32, e.leaf.begin());
        out.push_back(std::move(e));
        at += 4 + n;
      }
      EXPECT_EQ(at, entries.size());
    }
    return out;
  }
  void WriteRaw(const std::vector<RawEntry>& all) {
    auto db = RawDb();
    ASSERT_TRUE(db->Exec("DELETE FROM batches").ok());
    auto ins = db->Prepare(
        "INSERT INTO batches (first, count, entries, leaves) "
        "VALUES (?1, ?2, ?3, ?4)");
    ASSERT_TRUE(ins.ok());
    for (size_t i = 0; i < all.size();) {
      size_t j = i;
      std::string entries, leaves;
      while (j < all.size() && j - i < 256 &&
             all[j].idx == all[i].idx + int64_t(j - i)) {
        const uint32_t n = all[j].entry.size();
        for (int b = 0; b < 4; ++b) entries += char((n >> (8 * b)) & 0xff);
        entries += all[j].entry;
        leaves.append(reinterpret_cast<const char*>(all[j].leaf.data()), 32);
        ++j;
      }
      ins->Bind(1, all[i].idx)
          .Bind(2, int64_t(j - i))
          .BindBlob(3, crypto::AsBytes(entries))
          .BindBlob(4, crypto::AsBytes(leaves));
      ASSERT_TRUE(ins->Run().ok());
      i = j;
    }
  }
  template <typename Change>
  void Tamper(Change change) {
    std::vector<RawEntry> all = ReadRaw();
    change(all);
    WriteRaw(all);
  }
  VerifyReport Verify(const std::string& external = "") {
    auto r = VerifyStoredLog(vault_->data_dir(), *vault_, external);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return *r;
  }
  // Replaces the log with one as tillit wrote it in schema 1 (a row per
  // entry, two secondary indexes), stamped `version` (0: before schema
  // versions): the entries at `indexes`, every seventh naming citizen 7,
  // and a signed checkpoint of all `n` when none is missing. Returns the
  // canonical bytes of entries 0 to n - 1 and sets `root` to their tree's.
  std::vector<std::string> WriteSchemaOne(int n, int64_t version,
                                          std::vector<int64_t> indexes,
                                          Hash* root) {
    log_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      fs::remove(dir_ + "/data/audit.db" + suffix);
    auto key = vault_->DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
    auto seed = vault_->DeriveKey(crypto::kContextAuditSigning, 1);
    auto signer = crypto::SigningKey::FromSeed(*seed);
    EXPECT_TRUE(key.ok() && signer.ok());
    std::vector<std::string> canonical;
    MerkleTree tree;
    for (int i = 0; i < n; ++i) {
      canonical.push_back(*CanonicalEntry(
          Entry(i, i % 7 == 0 ? "c_00000000000000000000000000000007"
                              : "c_00000000000000000000000000000001")));
      tree.Append(LeafHash(crypto::AsBytes(canonical.back())));
    }
    *root = tree.Root();
    storage::Database::Options o;
    o.create = true;
    auto v1 = [version](storage::Database& d) {
      Status made = d.Exec(R"sql(
CREATE TABLE entries (
  idx INTEGER PRIMARY KEY, entry TEXT NOT NULL, leaf BLOB NOT NULL,
  citizen_id TEXT NOT NULL, actor_id TEXT NOT NULL, time INTEGER NOT NULL);
CREATE INDEX entries_by_citizen ON entries (citizen_id, idx);
CREATE INDEX entries_by_actor ON entries (actor_id, idx);
CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL);
)sql");
      if (!made.ok()) return made;
      const std::string stamp =
          "PRAGMA user_version = " + std::to_string(version);
      return d.Exec(stamp.c_str());
    };
    auto db = storage::Database::Open(dir_ + "/data/audit.db", &*key, o, v1);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    auto ins = (*db)->Prepare(
        "INSERT INTO entries (idx, entry, leaf, citizen_id, actor_id, time) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    EXPECT_TRUE(ins.ok());
    for (int64_t idx : indexes) {
      const std::string& c = canonical[idx < 0 ? 0 : idx];
      const AuditEntry e = *ParseCanonicalEntry(c);
      ins->Bind(1, idx)
          .Bind(2, c)
          .BindBlob(3, LeafHash(crypto::AsBytes(c)))
          .Bind(4, e.citizen_id)
          .Bind(5, e.actor_id)
          .Bind(6, e.time);
      EXPECT_TRUE(ins->Run().ok());
    }
    if (static_cast<int>(indexes.size()) == n) {
      const std::string note = SignCheckpoint(
          Checkpoint{"tillit.health/audit", static_cast<uint64_t>(n), *root},
          "tillit-audit", *signer);
      auto cp = (*db)->Prepare("INSERT INTO checkpoints VALUES (?1, ?2)");
      cp->Bind(1, int64_t{n}).Bind(2, note);
      EXPECT_TRUE(cp->Run().ok());
    }
    return canonical;
  }
  static std::vector<int64_t> Upto(int n) {
    std::vector<int64_t> out;
    for (int i = 0; i < n; ++i) out.push_back(i);
    return out;
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
  Tamper([](std::vector<RawEntry>& all) {
    all[10].leaf = LeafHash(crypto::AsBytes(std::string("forged")));
  });
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

TEST_F(AuditLogTest, TheWalIsCopiedIntoTheLogWhileItIsOpen) {
  // 32,768 entries in commits of 512: the log's own checkpointer copies
  // the WAL into audit.db every 4,096 entries and the WAL starts again,
  // so it stays a fraction of what was written (left to SQLite's
  // automatic checkpoint, all of it would still be in the WAL and
  // audit.db would hold a few pages).
  const std::string db = vault_->data_dir() + "/audit.db";
  auto size_of = [](const std::string& path) -> uint64_t {
    std::error_code ec;
    const uint64_t n = fs::file_size(path, ec);
    return ec ? 0 : n;
  };
  std::vector<AuditEntry> batch;
  int i = 0;
  for (int round = 0; round < 64; ++round) {
    batch.clear();
    for (int k = 0; k < 512; ++k) batch.push_back(Entry(i++));
    ASSERT_TRUE(log_->AppendBatch(batch).ok());
  }
  // The last request may still be running: wait for audit.db to hold
  // most of what was written.
  for (int tries = 0; tries < 600 && size_of(db) < 4'000'000; ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const uint64_t file = size_of(db);
  const uint64_t wal = size_of(db + "-wal");
  EXPECT_GT(file, 4'000'000u);
  EXPECT_LT(wal, file);
  log_.reset();  // stops the checkpointer
  auto report = VerifyStoredLog(vault_->data_dir(), *vault_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->entries, 32768u);
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
  Tamper([](std::vector<RawEntry>& all) {
    const size_t at = all[7].entry.find("records.read");
    ASSERT_NE(at, std::string::npos);
    all[7].entry.replace(at, 12, "records.list");
  });
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
  Tamper([&](std::vector<RawEntry>& all) { all[7] = {7, c, leaf}; });
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u)
      << r.problem;  // after the last good checkpoint
}

TEST_F(AuditLogTest, RemovedEntryIsFound) {
  Standard();
  Tamper([](std::vector<RawEntry>& all) { all.erase(all.begin() + 3); });
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
  Tamper([](std::vector<RawEntry>& all) { all.resize(8); });
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 8u) << r.problem;
  EXPECT_NE(r.problem.find("truncated"), std::string::npos);
}

TEST_F(AuditLogTest, ReorderedEntriesAreFound) {
  Standard();
  Tamper([](std::vector<RawEntry>& all) {
    std::swap(all[6].entry, all[7].entry);
    std::swap(all[6].leaf, all[7].leaf);
  });
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u) << r.problem;
}

TEST_F(AuditLogTest, InsertedEntryIsFound) {
  Standard();
  const std::string c = *CanonicalEntry(Entry(99));
  const Hash leaf = LeafHash(crypto::AsBytes(c));
  Tamper([&](std::vector<RawEntry>& all) {
    all.insert(all.begin() + 2, RawEntry{2, c, leaf});
    for (size_t i = 3; i < all.size(); ++i) all[i].idx = int64_t(i);
  });
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 0u) << r.problem;
}

// Verification hashes chunks of 16,384 entries on a second thread while
// it reads the next: the first problem in index order is the one
// reported, whichever chunk it is in.
TEST_F(AuditLogTest, VerificationReportsTheFirstProblemAcrossChunks) {
  std::vector<AuditEntry> batch;
  for (int i = 0; i < 40000; ++i) batch.push_back(Entry(i));
  ASSERT_TRUE(log_->AppendBatch(batch).ok());
  ASSERT_TRUE(log_->SignedCheckpoint().ok());
  log_.reset();
  EXPECT_TRUE(Verify().ok);
  Tamper([](std::vector<RawEntry>& all) { all.erase(all.begin() + 35000); });
  VerifyReport gap = Verify();
  EXPECT_FALSE(gap.ok);
  EXPECT_EQ(gap.first_bad_index, 35000u) << gap.problem;
  EXPECT_NE(gap.problem.find("missing"), std::string::npos) << gap.problem;
  Tamper([](std::vector<RawEntry>& all) {
    all[100].leaf = LeafHash(crypto::AsBytes(std::string("forged")));
  });
  VerifyReport both = Verify();
  EXPECT_FALSE(both.ok);
  EXPECT_EQ(both.first_bad_index, 100u) << both.problem;
  EXPECT_NE(both.problem.find("leaf hash"), std::string::npos) << both.problem;
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

// ------------------------------------------------------------ listing index

TEST_F(AuditLogTest, ListingsCrossRowsInBothDirections) {
  // Rows of 256 and of single group commits, mixed.
  std::vector<AuditEntry> batch;
  for (int i = 0; i < 600; ++i)
    batch.push_back(Entry(i, i % 3 == 0
                                 ? "c_00000000000000000000000000000003"
                                 : "c_00000000000000000000000000000001"));
  ASSERT_TRUE(log_->AppendBatch(batch).ok());
  AppendN(5, 600);
  auto newest = log_->List(Query(300));
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 300u);
  for (size_t i = 0; i < 300; ++i) EXPECT_EQ((*newest)[i].index, 604 - i);
  auto forward = log_->List(Query(300, 250));
  ASSERT_TRUE(forward.ok());
  ASSERT_EQ(forward->size(), 300u);
  for (size_t i = 0; i < 300; ++i) EXPECT_EQ((*forward)[i].index, 251 + i);
  EXPECT_EQ((*forward)[0].canonical, *CanonicalEntry(batch[251]));
  auto before = log_->List(Query(2, std::nullopt, 257));
  ASSERT_EQ(before->size(), 2u);
  EXPECT_EQ((*before)[0].index, 256u);
  EXPECT_EQ((*before)[1].index, 255u);
  // Citizen and actor at once: every third entry, the even ones of them.
  auto both = log_->List(Query(1000, -1, std::nullopt,
                               "c_00000000000000000000000000000003",
                               "p_00000000000000000000000000000001"));
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 100u);  // 0, 6, 12, ... 594
  for (size_t i = 0; i < both->size(); ++i) {
    EXPECT_EQ((*both)[i].index, 6 * i);
    EXPECT_EQ((*both)[i].entry.citizen_id,
              "c_00000000000000000000000000000003");
  }
}

// The listing index is derived data: lost, damaged or belonging to
// another log, it is made again from the log, and listings stay right.
TEST_F(AuditLogTest, AMissingDamagedOrStaleListingIndexIsRebuilt) {
  const std::string mine = "c_00000000000000000000000000000009";
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(
        log_->Append(
                Entry(i, i % 2 ? mine : "c_00000000000000000000000000000001"))
            .ok());
  auto listed = [&] {
    auto page = log_->List(Query(100, std::nullopt, std::nullopt, mine));
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    std::vector<uint64_t> out;
    for (const StoredEntry& e : *page) out.push_back(e.index);
    return out;
  };
  // Appending alone (the command line, a backup's copy) makes no index,
  // however many entries.
  std::vector<AuditEntry> many;
  for (int i = 0; i < 1100; ++i) many.push_back(Entry(1000 + i));
  ASSERT_TRUE(log_->AppendBatch(many).ok());
  const std::string index = dir_ + "/data/audit-index.db";
  EXPECT_FALSE(fs::exists(index));
  const std::vector<uint64_t> expected = listed();
  ASSERT_EQ(expected.size(), 15u);
  EXPECT_EQ(expected.front(), 29u);
  ASSERT_TRUE(fs::exists(index));

  // Lost.
  log_.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(index + suffix);
  Reopen();
  EXPECT_EQ(listed(), expected);

  // Damaged.
  log_.reset();
  for (const char* suffix : {"-wal", "-shm"}) fs::remove(index + suffix);
  {
    std::FILE* f = std::fopen(index.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    const std::string junk(8192, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  Reopen();
  EXPECT_EQ(listed(), expected);

  // Stale: the index of this log kept while the log is replaced by
  // another (a restore from an older backup): the entry it listed last
  // is no longer the same.
  log_.reset();
  fs::copy_file(index, dir_ + "/kept-index.db");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(dir_ + "/data/audit.db" + suffix);
    fs::remove(index + suffix);
  }
  Reopen();
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(
        log_->Append(Entry(100 + i,
                           i < 3 ? mine : "c_00000000000000000000000000000002"))
            .ok());
  log_.reset();
  fs::remove(index);
  fs::copy_file(dir_ + "/kept-index.db", index);
  Reopen();
  EXPECT_EQ(listed(), (std::vector<uint64_t>{2, 1, 0}));
}

// An index kept from a longer log, beside a log that is now empty (a
// restore of an older backup), is emptied too: no entry is listed and
// nothing is reported damaged.
TEST_F(AuditLogTest, AStaleIndexBesideAnEmptyLogListsNothing) {
  AppendN(10);
  ASSERT_EQ(log_->List(Query(100, std::nullopt, std::nullopt,
                             "c_00000000000000000000000000000001"))
                ->size(),
            10u);
  log_.reset();
  const std::string index = dir_ + "/data/audit-index.db";
  fs::copy_file(index, dir_ + "/kept-index.db");
  for (const char* suffix : {"", "-wal", "-shm"}) {
    fs::remove(dir_ + "/data/audit.db" + suffix);
    fs::remove(index + suffix);
  }
  fs::copy_file(dir_ + "/kept-index.db", index);
  Reopen();
  for (int round = 0; round < 2; ++round) {
    auto listed = log_->List(Query(100, std::nullopt, std::nullopt,
                                   "c_00000000000000000000000000000001"));
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    EXPECT_TRUE(listed->empty());
  }
  AppendN(1, 50);
  auto one = log_->List(Query(100, std::nullopt, std::nullopt,
                              "c_00000000000000000000000000000001"));
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].entry.request_id, "req-50");
}

TEST_F(AuditLogTest, ListingsAtTheEndsOfTheIndexRangeAreEmpty) {
  AppendN(3);
  for (const std::string citizen : {"", "c_00000000000000000000000000000001"}) {
    auto after = log_->List(Query(10, INT64_MAX, std::nullopt, citizen));
    ASSERT_TRUE(after.ok());
    EXPECT_TRUE(after->empty());
    auto before = log_->List(Query(10, std::nullopt, 0, citizen));
    ASSERT_TRUE(before.ok());
    EXPECT_TRUE(before->empty());
  }
}

// Entries another process appended are listed too, and the index catches
// up on its own after many entries without a listing in between.
TEST_F(AuditLogTest, ListingsSeeOtherWritersAndLongRunsWithoutAListing) {
  auto other = AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(log_->Append(Entry(0)).ok());
  ASSERT_TRUE(
      (*other)->Append(Entry(1, "c_00000000000000000000000000000007")).ok());
  auto seen = log_->List(Query(10, std::nullopt, std::nullopt,
                               "c_00000000000000000000000000000007"));
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ((*seen)[0].index, 1u);
  other->reset();

  std::vector<AuditEntry> batch;
  for (int i = 0; i < 1000; ++i) batch.push_back(Entry(i));
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE(log_->AppendBatch(batch).ok());
  }
  // The appends themselves listed nearly all of the 20,002 entries
  // (every 1,024): the index file holds them before anyone asks.
  log_.reset();
  {
    auto key = vault_->DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
    auto db = storage::Database::Open(dir_ + "/data/audit-index.db", &*key, {});
    ASSERT_TRUE(db.ok());
    auto st = (*db)->Prepare("SELECT indexed_to FROM state");
    ASSERT_TRUE(st.ok());
    ASSERT_TRUE(*st->Step());
    EXPECT_GE(st->ColumnInt64(0), 20002 - 1024);
  }
  Reopen();
  auto actor = log_->List(Query(1000, 19000, std::nullopt, "",
                                "p_00000000000000000000000000000002"));
  ASSERT_TRUE(actor.ok());
  ASSERT_EQ(actor->size(), 501u);  // the odd indexes 19,001 to 20,001
  EXPECT_EQ(actor->back().index, 20001u);
}

TEST_F(AuditLogTest, AMalformedRowIsDataLossNeverAPartialLog) {
  Standard();
  {
    auto db = RawDb();
    ASSERT_TRUE(
        db->Exec("UPDATE batches SET count = count + 1 WHERE first = 5").ok());
  }
  auto opened = AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(opened.status().message().find("malformed"), std::string::npos);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 5u) << r.problem;
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
  // Before schema versions, tillit wrote schema 1 and no stamp.
  Hash root;
  const auto canonical = WriteSchemaOne(12, 0, Upto(12), &root);
  Reopen();
  EXPECT_EQ(log_->size(), 12u);
  EXPECT_EQ(*log_->RootAt(12), root);
  log_.reset();
  EXPECT_EQ(*RawDb()->SchemaVersion(), AuditLog::kSchemaVersion);
  ASSERT_EQ(ReadRaw().size(), 12u);
  EXPECT_EQ(ReadRaw()[11].entry, canonical[11]);
  EXPECT_TRUE(Verify().ok);
}

// A damaged schema 1 log is moved as it is: verification still finds its
// gap at the same index, and the log still refuses appends.
TEST_F(AuditLogTest, AGapInASchemaOneLogIsFoundWhereItWas) {
  std::vector<int64_t> indexes = Upto(400);
  indexes.erase(indexes.begin() + 300);
  Hash root;
  WriteSchemaOne(400, 1, indexes, &root);
  EXPECT_EQ(
      AuditLog::OpenInDirectory(vault_->data_dir(), *vault_).status().code(),
      StatusCode::kDataLoss);
  EXPECT_EQ(ReadRaw().size(), 399u);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 300u) << r.problem;
}

// Schema 1 refused an entry at a negative index; moving the others would
// drop it with the old table, so the upgrade refuses and writes nothing.
TEST_F(AuditLogTest, ASchemaOneLogWithANegativeIndexIsNotUpgraded) {
  std::vector<int64_t> indexes = Upto(5);
  indexes.push_back(-1);
  Hash root;
  WriteSchemaOne(5, 1, indexes, &root);
  auto opened = AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kDataLoss)
      << opened.status().ToString();
  auto db = RawDb();
  EXPECT_EQ(*db->SchemaVersion(), 1);
  auto count = db->Prepare("SELECT count(*) FROM entries");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt64(0), 6);
}

// A log written by tillit before schema 2 (a row per entry, two secondary
// indexes) opens with every entry, checkpoint and proof as it was.
TEST_F(AuditLogTest, ALogOfSchemaOneIsMovedIntoRowsAndVerifies) {
  Hash root;
  const auto canonical = WriteSchemaOne(700, 1, Upto(700), &root);
  MerkleTree tree;
  for (const std::string& c : canonical)
    tree.Append(LeafHash(crypto::AsBytes(c)));
  ASSERT_EQ(tree.Root(), root);
  Reopen();
  EXPECT_EQ(log_->size(), 700u);
  EXPECT_EQ(*log_->RootAt(700), tree.Root());
  auto proof = log_->InclusionProof(300, 700);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(VerifyInclusion(LeafHash(crypto::AsBytes(canonical[300])), 300,
                              700, *proof, tree.Root()));
  auto sevens = log_->List(Query(1000, std::nullopt, std::nullopt,
                                 "c_00000000000000000000000000000007"));
  ASSERT_TRUE(sevens.ok());
  ASSERT_EQ(sevens->size(), 100u);
  EXPECT_EQ(sevens->front().index, 693u);
  EXPECT_EQ(sevens->front().canonical, canonical[693]);
  ASSERT_TRUE(log_->Append(Entry(700)).ok());
  ASSERT_TRUE(log_->SignedCheckpoint().ok());
  log_.reset();
  EXPECT_EQ(*RawDb()->SchemaVersion(), AuditLog::kSchemaVersion);
  EXPECT_EQ(ReadRaw().size(), 701u);
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_EQ(r.entries, 701u);
  EXPECT_EQ(r.checkpoints, 2u);
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
  auto count = db->Prepare("SELECT sum(count) FROM batches");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt64(0), 12);
}

}  // namespace
}  // namespace tillit::audit
