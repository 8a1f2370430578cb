#include "tillit/audit/audit_log.h"

#include <iterator>
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/kdf.h"

namespace tillit::audit {
namespace {

constexpr size_t kMaxListLimit = 1000;

// The first schema, exactly as tillit wrote it before schema versions.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS entries (
  idx        INTEGER PRIMARY KEY,   -- 0-based position in the tree
  entry      TEXT    NOT NULL,      -- canonical bytes (hashed as the leaf)
  leaf       BLOB    NOT NULL,      -- SHA-256(0x00 || entry)
  citizen_id TEXT    NOT NULL,
  actor_id   TEXT    NOT NULL,
  time       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_citizen ON entries (citizen_id, idx);
CREATE INDEX IF NOT EXISTS entries_by_actor ON entries (actor_id, idx);
CREATE TABLE IF NOT EXISTS checkpoints (
  size INTEGER PRIMARY KEY,
  note TEXT    NOT NULL
);
)sql";

// The log's schema history: step i takes version i to i + 1. A new step is
// added here with a test on a directory made by
// scripts/make_format_fixture.sh (docs/OPERATIONS.md).
constexpr storage::SchemaStep kSteps[] = {
    // 0 to 1: the first schema. IF NOT EXISTS: a log an older tillit made
    // already has it, and is only stamped.
    [](storage::Database& db) { return db.Exec(kSchemaV1); },
};
static_assert(std::size(kSteps) == AuditLog::kSchemaVersion);
const storage::SchemaHistory kHistory{"audit log", kSteps};

Status MigrateLog(storage::Database& db) { return db.Migrate(kHistory); }

Hash ToHash(std::span<const uint8_t> blob) {
  Hash h{};
  if (blob.size() == h.size()) std::copy(blob.begin(), blob.end(), h.begin());
  return h;
}

// The stored leaf hashes [begin, end), for the tree to read back a tile.
Status ReadLeaves(storage::Database& db, uint64_t begin, uint64_t end,
                  std::vector<Hash>* out) {
  out->clear();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db.Prepare("SELECT idx, leaf FROM entries WHERE idx >= ?1 AND idx < ?2 "
                 "ORDER BY idx"));
  st.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (static_cast<uint64_t>(st.ColumnInt64(0)) != begin + out->size()) {
      return Status::DataLoss("audit log has a gap at index " +
                              std::to_string(begin + out->size()) +
                              "; run `tillit audit verify`");
    }
    out->push_back(ToHash(st.ColumnBlob(1)));
  }
  return Status::Ok();
}

StatusOr<crypto::SecretBytes> AuditDbKey(const crypto::KeyDeriver& keys) {
  return keys.DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
}

}  // namespace

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options) {
  if (options.db_key.size() != 32 || options.signing_seed.size() != 32) {
    return Status::InvalidArgument("audit keys must be 32 bytes");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  TILLIT_ASSIGN_OR_RETURN(
      auto signer, crypto::SigningKey::FromSeed(log->options_.signing_seed));
  log->signer_.emplace(std::move(signer));
  storage::Database::Options db_options;
  db_options.create = true;
  db_options.env = log->options_.env;
  // Every group commit rewrites the log's last pages; checkpointing every
  // 4 MB copied them back into the file several times a second under load.
  db_options.wal_autocheckpoint_pages = 16384;  // 64 MB of 4 KiB pages
  auto db = storage::Database::Open(log->options_.path, &log->options_.db_key,
                                    db_options, MigrateLog);
  if (!db.ok()) return storage::WithOpenContext(db.status(), "audit log");
  TILLIT_RETURN_IF_ERROR(log->Load(std::move(db).value()));
  return log;
}

Status AuditLog::Load(std::unique_ptr<storage::Database> db) {
  MutexLock write_lock(&write_mu_);
  MutexLock lock(&mu_);
  db_ = std::move(db);
  // The tree keeps whole tiles' hashes and reads a tile's leaves back for
  // a proof (under write_mu_, which every caller that may read holds):
  // memory stays ~0.25 bytes per entry, not 64.
  tree_ =
      MerkleTree([this](uint64_t begin, uint64_t end, std::vector<Hash>* out) {
        write_mu_.AssertHeld();
        return ReadLeaves(*db_, begin, end, out);
      });
  // Load the tree. A gap means the log was damaged: refuse to append to it.
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT idx, leaf FROM entries ORDER BY idx"));
  for (uint64_t expected = 0;; ++expected) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (static_cast<uint64_t>(st.ColumnInt64(0)) != expected) {
      return Status::DataLoss("audit log has a gap at index " +
                              std::to_string(expected) +
                              "; run `tillit audit verify`");
    }
    tree_.Append(ToHash(st.ColumnBlob(1)));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenInDirectory(
    const std::string& data_dir, const crypto::KeyDeriver& keys, Env* env) {
  Options o;
  o.path = data_dir + "/audit.db";
  o.env = env;
  TILLIT_ASSIGN_OR_RETURN(o.db_key, AuditDbKey(keys));
  TILLIT_ASSIGN_OR_RETURN(o.signing_seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  return Open(std::move(o));
}

Status AuditLog::CopyDatabase(const std::string& data_dir,
                              const crypto::KeyDeriver& keys,
                              const std::string& dest, Env* env) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key, AuditDbKey(keys));
  storage::Database::Options o;
  o.env = env;
  auto source = storage::Database::Open(data_dir + "/audit.db", &key, o);
  if (!source.ok())
    return storage::WithOpenContext(source.status(), "audit log");
  return (*source)->CopyTo(dest, &key, o).status();
}

AuditLog::~AuditLog() = default;

void AuditLog::FailWriteForTesting(int nth) {
  MutexLock lock(&mu_);
  fail_nth_ = nth;
}

Status AuditLog::WriteBatch(const std::vector<Pending*>& batch, uint64_t known,
                            std::vector<Hash>* foreign) {
  MutexLock lock(&write_mu_);
  {
    MutexLock state(&mu_);
    if (fail_nth_ > 0 && --fail_nth_ == 0) {
      return Status::IoError("audit write failed (injected)");
    }
  }
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  // Another process (the command line while a server runs) may have
  // appended since this log was loaded: the write transaction holds the
  // database's write lock, so read its entries now and number ours after
  // them.
  foreign->clear();
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT idx, leaf FROM entries WHERE idx >= ?1 "
                     "ORDER BY idx"));
    st.Bind(1, static_cast<int64_t>(known));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (static_cast<uint64_t>(st.ColumnInt64(0)) != known + foreign->size())
        return Status::DataLoss(
            "audit log has a gap; run `tillit audit verify`");
      foreign->push_back(ToHash(st.ColumnBlob(1)));
    }
  }
  const uint64_t first = known + foreign->size();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement insert,
      db_->Prepare(
          "INSERT INTO entries (idx, entry, leaf, citizen_id, actor_id, time) "
          "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  for (size_t i = 0; i < batch.size(); ++i) {
    const Pending& p = *batch[i];
    insert.Bind(1, static_cast<int64_t>(first + i))
        .Bind(2, p.canonical)
        .BindBlob(3, p.leaf)
        .Bind(4, p.entry->citizen_id)
        .Bind(5, p.entry->actor_id)
        .Bind(6, p.entry->time);
    TILLIT_RETURN_IF_ERROR(insert.Run());
  }
  return txn.Commit();
}

StatusOr<uint64_t> AuditLog::Append(const AuditEntry& entry) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint64_t> indexes,
                          AppendBatch(std::span<const AuditEntry>(&entry, 1)));
  return indexes.front();
}

StatusOr<std::vector<uint64_t>> AuditLog::AppendBatch(
    std::span<const AuditEntry> entries) {
  if (entries.empty()) return std::vector<uint64_t>{};
  // Each caller sleeps on its own condition variable, and a leader wakes
  // only the callers it wrote for and the one that leads next: waking
  // every waiter after each commit had dozens of threads contend for
  // one mutex only to go back to sleep.
  CondVar wake(&mu_);
  std::vector<Pending> mine(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    mine[i].entry = &entries[i];
    mine[i].wake = &wake;
    TILLIT_ASSIGN_OR_RETURN(mine[i].canonical, CanonicalEntry(entries[i]));
    mine[i].leaf = LeafHash(crypto::AsBytes(mine[i].canonical));
  }
  // Pending::done and ::status are written by the leader under mu_.
  auto all_done = [&mine] {
    for (const Pending& p : mine) {
      if (!p.done) return false;
    }
    return true;
  };
  mu_.Lock();
  for (Pending& p : mine) queue_.push_back(&p);
  while (!all_done()) {
    if (leader_active_) {
      wake.Wait();
      continue;
    }
    // Lead one group commit: everything queued so far, one transaction.
    leader_active_ = true;
    std::vector<Pending*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    const uint64_t known = tree_.size();
    std::vector<Hash> foreign;
    mu_.Unlock();
    Status written = WriteBatch(batch, known, &foreign);
    mu_.Lock();
    if (written.ok()) {
      for (const Hash& h : foreign) tree_.Append(h);
    }
    const uint64_t first = known + foreign.size();
    for (size_t i = 0; i < batch.size(); ++i) {
      Pending* p = batch[i];
      if (written.ok()) {
        tree_.Append(p->leaf);
        p->index = first + i;
      }
      p->status = written;
      p->done = true;
    }
    leader_active_ = false;
    for (Pending* p : batch) {
      if (p->wake != &wake) p->wake->Signal();
    }
    // Whoever queued first while we wrote leads the next commit.
    if (!queue_.empty() && queue_.front()->wake != &wake)
      queue_.front()->wake->Signal();
  }
  mu_.Unlock();
  std::vector<uint64_t> indexes;
  indexes.reserve(mine.size());
  for (const Pending& p : mine) {
    if (!p.status.ok()) return p.status.WithContext("audit append");
    indexes.push_back(p.index);
  }
  return indexes;
}

uint64_t AuditLog::size() const {
  MutexLock lock(&mu_);
  return tree_.size();
}

StatusOr<std::string> AuditLog::SignedCheckpoint() {
  Checkpoint cp;
  {
    MutexLock lock(&mu_);
    cp.origin = options_.origin;
    cp.size = tree_.size();
    cp.root = tree_.size() == 0 ? EmptyRoot() : tree_.Root();
  }
  MutexLock lock(&write_mu_);
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT note FROM checkpoints WHERE size = ?1"));
    st.Bind(1, static_cast<int64_t>(cp.size));
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) return std::string(st.ColumnText(0));
  }
  std::string note = SignCheckpoint(cp, options_.key_name, *signer_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement insert,
      db_->Prepare("INSERT INTO checkpoints (size, note) VALUES (?1, ?2)"));
  insert.Bind(1, static_cast<int64_t>(cp.size)).Bind(2, note);
  TILLIT_RETURN_IF_ERROR(insert.Run());
  return note;
}

StatusOr<std::vector<Hash>> AuditLog::InclusionProof(uint64_t index,
                                                     uint64_t size) const {
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  return tree_.InclusionProof(index, size);
}

StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(uint64_t from,
                                                       uint64_t to) const {
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  return tree_.ConsistencyProof(from, to);
}

StatusOr<Hash> AuditLog::RootAt(uint64_t size) const {
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  if (size == 0) return EmptyRoot();
  return tree_.RootAt(size);
}

const crypto::Ed25519PublicKey& AuditLog::public_key() const {
  return signer_->public_key();
}

std::string AuditLog::verifier_key() const {
  return VerifierKey(options_.key_name, signer_->public_key());
}

StatusOr<std::vector<StoredEntry>> AuditLog::List(const ListQuery& q) {
  if (q.limit == 0 || q.limit > kMaxListLimit) {
    return Status::InvalidArgument("limit must be between 1 and 1000");
  }
  MutexLock lock(&write_mu_);
  // Oldest first after a position, or newest first (before a position).
  const bool forward = q.after.has_value();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(forward ? "SELECT idx, entry FROM entries WHERE idx > ?1 "
                             "AND (?2 = '' OR citizen_id = ?2) AND (?3 = '' OR "
                             "actor_id = ?3) "
                             "ORDER BY idx ASC LIMIT ?4"
                           : "SELECT idx, entry FROM entries WHERE idx < ?1 "
                             "AND (?2 = '' OR citizen_id = ?2) AND (?3 = '' OR "
                             "actor_id = ?3) "
                             "ORDER BY idx DESC LIMIT ?4"));
  const int64_t bound =
      forward ? *q.after
              : (q.before ? static_cast<int64_t>(*q.before) : INT64_MAX);
  st.Bind(1, bound)
      .Bind(2, q.citizen_id)
      .Bind(3, q.actor_id)
      .Bind(4, static_cast<int64_t>(q.limit));
  std::vector<StoredEntry> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    StoredEntry e;
    e.index = static_cast<uint64_t>(st.ColumnInt64(0));
    e.canonical = std::string(st.ColumnText(1));
    TILLIT_ASSIGN_OR_RETURN(e.entry, ParseCanonicalEntry(e.canonical));
    out.push_back(std::move(e));
  }
  return out;
}

// ---------------------------------------------------------------- verification

StatusOr<VerifyReport> VerifyStoredLog(const std::string& data_dir,
                                       const crypto::KeyDeriver& keys,
                                       const std::string& external_note) {
  VerifyReport report;
  auto mark = [&](uint64_t index, std::string problem) {
    report.ok = false;
    report.first_bad_index = index;
    report.problem = std::move(problem);
  };
  auto fail = [&](uint64_t index,
                  std::string problem) -> StatusOr<VerifyReport> {
    mark(index, std::move(problem));
    return report;
  };
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key, AuditDbKey(keys));
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  TILLIT_ASSIGN_OR_RETURN(auto signer, crypto::SigningKey::FromSeed(seed));
  const crypto::Ed25519PublicKey pk = signer.public_key();
  const std::string path = data_dir + "/audit.db";
  auto db = storage::Database::Open(path, &key, {}, MigrateLog);
  if (!db.ok()) return storage::WithOpenContext(db.status(), "audit log");

  // 1. Every entry: contiguous, its stored leaf hash recomputed. (Entries
  //    are parsed strictly when listed; the signed tree is what proves they
  //    are unaltered.) The tree reads tiles back from the (checked) stored
  //    leaves for the checkpoints' roots and proofs.
  storage::Database& stored = **db;
  MerkleTree tree(
      [&stored](uint64_t begin, uint64_t end, std::vector<Hash>* out) {
        return ReadLeaves(stored, begin, end, out);
      });
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        (*db)->Prepare("SELECT idx, entry, leaf FROM entries ORDER BY idx"));
    for (uint64_t expected = 0;; ++expected) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const uint64_t idx = static_cast<uint64_t>(st.ColumnInt64(0));
      if (idx != expected)
        return fail(expected,
                    "entry " + std::to_string(expected) + " is missing");
      const std::string_view entry = st.ColumnText(1);
      const Hash leaf = LeafHash(crypto::AsBytes(entry));
      if (leaf != ToHash(st.ColumnBlob(2))) {
        return fail(idx, "entry " + std::to_string(idx) +
                             " does not match its leaf hash");
      }
      tree.Append(leaf);
    }
  }
  report.entries = tree.size();

  // 2. Every checkpoint: signature, root at its size, consistency with the
  //    previous one.
  std::optional<Checkpoint> previous;
  auto check_note = [&](const std::string& note,
                        std::string_view what) -> StatusOr<bool> {
    auto cp = OpenCheckpoint(note, "tillit-audit", pk);
    const uint64_t good = previous ? previous->size : 0;
    if (!cp.ok()) {
      mark(good, std::string(what) + ": signature or format does not verify");
      return false;
    }
    if (cp->size > tree.size()) {
      mark(tree.size(), std::string(what) + " covers " +
                            std::to_string(cp->size) +
                            " entries but the log holds " +
                            std::to_string(tree.size()) + " (truncated)");
      return false;
    }
    const Hash root = cp->size == 0 ? EmptyRoot() : *tree.RootAt(cp->size);
    if (root != cp->root) {
      mark(good, "entries from index " + std::to_string(good) + " to " +
                     std::to_string(cp->size - 1) + " do not match " +
                     std::string(what) +
                     " (altered, removed, inserted or reordered)");
      return false;
    }
    if (previous && previous->size > 0 && cp->size >= previous->size) {
      auto proof = tree.ConsistencyProof(previous->size, cp->size);
      if (!proof.ok() || !VerifyConsistency(previous->size, cp->size, *proof,
                                            previous->root, cp->root)) {
        mark(good, std::string(what) +
                       " is not consistent with the previous checkpoint");
        return false;
      }
    }
    previous = *cp;
    return true;
  };
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        (*db)->Prepare("SELECT size, note FROM checkpoints ORDER BY size"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const std::string note(st.ColumnText(1));
      TILLIT_ASSIGN_OR_RETURN(
          bool good, check_note(note, "checkpoint of size " +
                                          std::to_string(st.ColumnInt64(0))));
      if (!good) return report;
      ++report.checkpoints;
    }
  }
  if (!external_note.empty()) {
    auto cp = OpenCheckpoint(external_note, "tillit-audit", pk);
    if (!cp.ok())
      return fail(0,
                  "the given checkpoint does not verify with this log's key");
    previous.reset();
    TILLIT_ASSIGN_OR_RETURN(bool good,
                            check_note(external_note, "the given checkpoint"));
    if (!good) return report;
  }
  report.ok = true;
  return report;
}

}  // namespace tillit::audit
