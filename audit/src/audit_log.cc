#include "tillit/audit/audit_log.h"

#include <algorithm>
#include <future>
#include <utility>

#include "sqlite_log_storage.h"
#include "tillit/audit/stored_log.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/kdf.h"

namespace tillit::audit {
namespace {

constexpr size_t kMaxListLimit = 1000;
// Leaves read at a time when a log loads or catches up with others.
constexpr uint64_t kLoadChunk = 65536;

StatusOr<crypto::SecretBytes> AuditDbKey(const crypto::KeyDeriver& keys) {
  return keys.DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
}

}  // namespace

// ------------------------------------------------------------ for stores

void AppendFramed(std::string_view entry, std::string* out) {
  const uint32_t n = static_cast<uint32_t>(entry.size());
  for (int shift = 0; shift < 32; shift += 8)
    *out += static_cast<char>((n >> shift) & 0xff);
  *out += entry;
}

Status SplitFramed(size_t count, LogRow* row) {
  row->items.clear();
  std::string_view rest = row->bytes;
  for (size_t i = 0; i < count; ++i) {
    if (rest.size() < 4) return MalformedRow(row->first);
    uint32_t n = 0;
    for (int b = 0; b < 4; ++b)
      n |= static_cast<uint32_t>(static_cast<uint8_t>(rest[b])) << (8 * b);
    rest.remove_prefix(4);
    if (rest.size() < n) return MalformedRow(row->first);
    row->items.push_back(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  if (!rest.empty()) return MalformedRow(row->first);
  return Status::Ok();
}

std::string_view CanonicalField(std::string_view entry,
                                std::string_view field) {
  const std::string quoted = "\"" + std::string(field) + "\":\"";
  const size_t at = entry.find(quoted);
  if (at == std::string_view::npos) return {};
  entry.remove_prefix(at + quoted.size());
  return entry.substr(0, entry.find('"'));
}

Status AddListed(uint64_t index, std::string_view canonical, const ListQuery& q,
                 std::vector<StoredEntry>* out) {
  StoredEntry e;
  e.index = index;
  e.canonical = std::string(canonical);
  TILLIT_ASSIGN_OR_RETURN(e.entry, ParseCanonicalEntry(e.canonical));
  if (!q.citizen_id.empty() && e.entry.citizen_id != q.citizen_id)
    return Status::Ok();
  if (!q.actor_id.empty() && e.entry.actor_id != q.actor_id)
    return Status::Ok();
  out->push_back(std::move(e));
  return Status::Ok();
}

Status MalformedRow(uint64_t first) {
  return Status::DataLoss("audit log row at index " + std::to_string(first) +
                          " is malformed; run `tillit audit verify`");
}

Status GapAt(uint64_t index) {
  return Status::DataLoss("audit log has a gap at index " +
                          std::to_string(index) +
                          "; run `tillit audit verify`");
}

// ---------------------------------------------------------------- the log

AuditLog::AuditLog(std::unique_ptr<LogStorage> storage, std::string origin,
                   std::string key_name)
    : origin_(std::move(origin)),
      key_name_(std::move(key_name)),
      storage_(std::move(storage)) {}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options) {
  if (options.db_key.size() != 32 || options.signing_seed.size() != 32) {
    return Status::InvalidArgument("audit keys must be 32 bytes");
  }
  internal::SqliteLogStorage::Options o;
  o.path = std::move(options.path);
  o.db_key = std::move(options.db_key);
  o.env = options.env;
  o.index_path = std::move(options.index_path);
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteLogStorage> storage,
                          internal::SqliteLogStorage::Open(std::move(o)));
  return OpenOn(std::move(storage), std::move(options.signing_seed),
                std::move(options.origin), std::move(options.key_name));
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenOn(
    std::unique_ptr<LogStorage> storage, crypto::SecretBytes signing_seed,
    std::string origin, std::string key_name) {
  if (storage == nullptr) return Status::InvalidArgument("no audit store");
  if (signing_seed.size() != 32) {
    return Status::InvalidArgument("audit keys must be 32 bytes");
  }
  std::unique_ptr<AuditLog> log(
      new AuditLog(std::move(storage), std::move(origin), std::move(key_name)));
  TILLIT_ASSIGN_OR_RETURN(auto signer,
                          crypto::SigningKey::FromSeed(signing_seed));
  log->signer_.emplace(std::move(signer));
  TILLIT_RETURN_IF_ERROR(log->Load());
  return log;
}

Status AuditLog::Load() {
  MutexLock write_lock(&write_mu_);
  {
    MutexLock lock(&mu_);
    // The tree keeps whole tiles' hashes and reads a tile's leaves back
    // for a proof (under write_mu_, which every caller that may read
    // holds): memory stays ~0.25 bytes per entry, not 64.
    tree_ = MerkleTree(
        [this](uint64_t begin, uint64_t end, std::vector<Hash>* out) {
          write_mu_.AssertHeld();
          return storage_->ReadLeaves(begin, end, out);
        });
  }
  // A gap means the log was damaged: refuse to append to it.
  return RefreshLocked();
}

Status AuditLog::RefreshLocked() {
  std::vector<Hash> leaves;
  for (;;) {
    uint64_t from;
    {
      MutexLock lock(&mu_);
      from = tree_.size();
    }
    TILLIT_RETURN_IF_ERROR(
        storage_->ReadLeaves(from, from + kLoadChunk, &leaves));
    MutexLock lock(&mu_);
    // The tree changes only under write_mu_, which is held: it is still
    // at `from`.
    for (const Hash& leaf : leaves) tree_.Append(leaf);
    if (leaves.size() < kLoadChunk) return Status::Ok();
  }
}

Status AuditLog::Refresh() {
  MutexLock write_lock(&write_mu_);
  return RefreshLocked();
}

Status AuditLog::RefreshFor(uint64_t size) const {
  {
    MutexLock lock(&mu_);
    if (size <= tree_.size()) return Status::Ok();
  }
  return const_cast<AuditLog*>(this)->Refresh();
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

Status AuditLog::WriteBatch(const std::vector<Pending*>& batch) {
  // The tree changes only under write_mu_ (here and in RefreshLocked), so
  // what it holds is exactly what the store had when this write began.
  MutexLock lock(&write_mu_);
  uint64_t known;
  {
    MutexLock state(&mu_);
    if (fail_nth_ > 0 && --fail_nth_ == 0) {
      return Status::IoError("audit write failed (injected)");
    }
    known = tree_.size();
  }
  std::vector<std::string_view> entries;
  std::vector<Hash> leaves;
  entries.reserve(batch.size());
  leaves.reserve(batch.size());
  for (const Pending* p : batch) {
    entries.push_back(p->canonical);
    leaves.push_back(p->leaf);
  }
  std::vector<Hash> foreign;
  TILLIT_RETURN_IF_ERROR(storage_->Append(entries, leaves, known, &foreign));
  MutexLock state(&mu_);
  for (const Hash& h : foreign) tree_.Append(h);
  const uint64_t first = known + foreign.size();
  for (size_t i = 0; i < batch.size(); ++i) {
    tree_.Append(batch[i]->leaf);
    batch[i]->index = first + i;
  }
  return Status::Ok();
}

StatusOr<uint64_t> AuditLog::Append(const AuditEntry& entry) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint64_t> indexes,
                          AppendBatch(std::span<const AuditEntry>(&entry, 1)));
  return indexes.front();
}

StatusOr<std::vector<uint64_t>> AuditLog::AppendBatch(
    std::span<const AuditEntry> entries) {
  if (entries.empty()) return std::vector<uint64_t>{};
  // Each caller sleeps on its own slot, and a leader wakes only the
  // callers it wrote for and the one that leads next, after releasing mu_:
  // waking every waiter after each commit, or waking them under mu_, had
  // dozens of threads contend for one mutex only to go back to sleep.
  std::vector<Pending> mine(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    mine[i].entry = &entries[i];
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
  Waker* wake;
  if (free_wakers_.empty()) {
    wake = &wakers_.emplace_back();
  } else {
    wake = free_wakers_.back();
    free_wakers_.pop_back();
  }
  for (Pending& p : mine) {
    p.wake = wake;
    queue_.push_back(&p);
  }
  std::vector<Waker*> to_wake;
  while (!all_done()) {
    if (leader_active_) {
      const uint32_t seen = wake->seq.load(std::memory_order_acquire);
      mu_.Unlock();
      wake->seq.wait(seen, std::memory_order_acquire);
      mu_.Lock();
      continue;
    }
    // Lead one group commit: everything queued so far, one transaction.
    leader_active_ = true;
    std::vector<Pending*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    mu_.Unlock();
    Status written = WriteBatch(batch);
    mu_.Lock();
    to_wake.clear();
    for (Pending* p : batch) {
      p->status = written;
      p->done = true;
      if (p->wake != wake && (to_wake.empty() || to_wake.back() != p->wake))
        to_wake.push_back(p->wake);
    }
    leader_active_ = false;
    // Whoever queued first while we wrote leads the next commit, woken
    // last: the callers woken before it queue again meanwhile, and their
    // entries share its commit.
    if (!queue_.empty() && queue_.front()->wake != wake)
      to_wake.push_back(queue_.front()->wake);
    for (Waker* w : to_wake) w->seq.fetch_add(1, std::memory_order_release);
    mu_.Unlock();
    for (Waker* w : to_wake) w->seq.notify_one();
    mu_.Lock();
  }
  free_wakers_.push_back(wake);
  const uint64_t reached = tree_.size();
  mu_.Unlock();
  storage_->AfterAppend(reached);
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
  MutexLock write_lock(&write_mu_);
  TILLIT_RETURN_IF_ERROR(RefreshLocked());
  Checkpoint cp;
  {
    MutexLock lock(&mu_);
    cp.origin = origin_;
    cp.size = tree_.size();
    cp.root = tree_.size() == 0 ? EmptyRoot() : tree_.Root();
  }
  TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                          storage_->CheckpointAt(cp.size));
  if (stored) return *std::move(stored);
  return storage_->StoreCheckpoint(cp.size,
                                   SignCheckpoint(cp, key_name_, *signer_));
}

StatusOr<std::vector<Hash>> AuditLog::InclusionProof(uint64_t index,
                                                     uint64_t size) const {
  TILLIT_RETURN_IF_ERROR(RefreshFor(size));
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  return tree_.InclusionProof(index, size);
}

StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(uint64_t from,
                                                       uint64_t to) const {
  TILLIT_RETURN_IF_ERROR(RefreshFor(to));
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  return tree_.ConsistencyProof(from, to);
}

StatusOr<Hash> AuditLog::RootAt(uint64_t size) const {
  TILLIT_RETURN_IF_ERROR(RefreshFor(size));
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  if (size == 0) return EmptyRoot();
  return tree_.RootAt(size);
}

const crypto::Ed25519PublicKey& AuditLog::public_key() const {
  return signer_->public_key();
}

std::string AuditLog::verifier_key() const {
  return VerifierKey(key_name_, signer_->public_key());
}

StatusOr<std::vector<StoredEntry>> AuditLog::List(const ListQuery& q) {
  if (q.limit == 0 || q.limit > kMaxListLimit) {
    return Status::InvalidArgument("limit must be between 1 and 1000");
  }
  return storage_->List(q);
}

// ---------------------------------------------------------------- verification

StatusOr<VerifyReport> VerifyLog(LogStorage& storage,
                                 const crypto::Ed25519PublicKey& pk,
                                 const std::string& external_note,
                                 const std::string& key_name) {
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

  // 1. Every entry: contiguous, its stored leaf hash recomputed. (Entries
  //    are parsed strictly when listed; the signed tree is what proves they
  //    are unaltered.) The tree reads tiles back from the (checked) stored
  //    leaves for the checkpoints' roots and proofs.
  MerkleTree tree(
      [&storage](uint64_t begin, uint64_t end, std::vector<Hash>* out) {
        return storage.ReadLeaves(begin, end, out);
      });
  //    Reading (decryption) and hashing take about as long as each other:
  //    a chunk of entries is hashed on a second thread while the next is
  //    read.
  {
    using Chunk = std::vector<std::unique_ptr<LogRow>>;
    struct Hashed {
      std::vector<Hash> leaves;  // up to the first that does not match
      std::optional<uint64_t> bad;
    };
    auto hash = [](Chunk chunk) {
      Hashed out;
      for (const auto& row : chunk) {
        for (size_t i = 0; i < row->items.size(); ++i) {
          const Hash leaf = LeafHash(crypto::AsBytes(row->items[i]));
          if (leaf != row->leaves[i]) {
            out.bad = row->first + i;
            return out;
          }
          out.leaves.push_back(leaf);
        }
      }
      return out;
    };
    std::future<Hashed> hashing;
    bool bad_leaf = false;
    // Adds the chunk being hashed to the tree; false at a leaf mismatch.
    auto settle = [&]() -> bool {
      if (!hashing.valid()) return true;
      Hashed h = hashing.get();
      for (const Hash& leaf : h.leaves) tree.Append(leaf);
      if (!h.bad) return true;
      mark(*h.bad,
           "entry " + std::to_string(*h.bad) + " does not match its leaf hash");
      bad_leaf = true;
      return false;
    };
    // A chunk: 16,384 entries (64 full rows), however the rows are cut.
    constexpr size_t kChunkEntries = 16384;
    uint64_t expected = 0;  // the index the next row must start at
    Chunk chunk;
    size_t entries = 0;
    std::optional<std::string> problem;
    // Hands the chunk read so far to the hashing thread (on its own
    // thread, or in settle() if no thread can be started).
    auto launch = [&]() -> bool {
      if (!settle()) return false;
      if (!chunk.empty())
        hashing = std::async(std::launch::async | std::launch::deferred, hash,
                             std::move(chunk));
      chunk = Chunk();
      entries = 0;
      return true;
    };
    const Status stop = Status::Internal("verification stopped");
    Status scanned = storage.Scan([&](LogRow& row) -> Status {
      if (row.first != expected) {
        problem = "entry " + std::to_string(expected) + " is missing";
        return stop;
      }
      expected = row.end();
      entries += row.items.size();
      chunk.push_back(std::make_unique<LogRow>(std::move(row)));
      if (entries >= kChunkEntries && !launch()) return stop;
      return Status::Ok();
    });
    if (!scanned.ok() && !problem && !bad_leaf) {
      if (scanned.code() != StatusCode::kDataLoss) return scanned;
      problem = "the row of entries from index " + std::to_string(expected) +
                " is malformed";
    }
    if (bad_leaf) return report;
    if (!launch() || !settle()) return report;
    if (problem) return fail(expected, *problem);
  }
  report.entries = tree.size();

  // 2. Every checkpoint: signature, root at its size, consistency with the
  //    previous one.
  std::optional<Checkpoint> previous;
  auto check_note = [&](const std::string& note,
                        std::string_view what) -> StatusOr<bool> {
    auto cp = OpenCheckpoint(note, key_name, pk);
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
    Hash root = EmptyRoot();
    if (cp->size > 0) {
      StatusOr<Hash> at = tree.RootAt(cp->size);
      if (!at.ok()) return at.status();
      root = *at;
    }
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
    // A bad checkpoint stops the scan with the report marked.
    bool bad = false;
    Status scanned = storage.ScanCheckpoints(
        [&](uint64_t size, const std::string& note) -> Status {
          TILLIT_ASSIGN_OR_RETURN(
              bool good,
              check_note(note, "checkpoint of size " + std::to_string(size)));
          if (!good) {
            bad = true;
            return Status::Internal("verification stopped");
          }
          ++report.checkpoints;
          return Status::Ok();
        });
    if (bad) return report;
    TILLIT_RETURN_IF_ERROR(scanned);
  }
  if (!external_note.empty()) {
    auto cp = OpenCheckpoint(external_note, key_name, pk);
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

StatusOr<std::unique_ptr<LogStorage>> OpenStoredLogStorage(
    const std::string& data_dir, const crypto::KeyDeriver& keys) {
  internal::SqliteLogStorage::Options o;
  o.path = data_dir + "/audit.db";
  o.create = false;
  TILLIT_ASSIGN_OR_RETURN(o.db_key, AuditDbKey(keys));
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteLogStorage> storage,
                          internal::SqliteLogStorage::Open(std::move(o)));
  return std::unique_ptr<LogStorage>(std::move(storage));
}

StatusOr<std::optional<std::string>> LatestCheckpoint(LogStorage& storage) {
  std::optional<std::string> latest;
  TILLIT_RETURN_IF_ERROR(
      storage.ScanCheckpoints([&](uint64_t, const std::string& note) -> Status {
        latest = note;  // by size: the last one is the largest
        return Status::Ok();
      }));
  return latest;
}

StatusOr<uint64_t> CopyLogRows(LogStorage& from, LogStorage& to,
                               const std::function<void(uint64_t)>& progress) {
  // At most this many entries an Append: what one stored row may hold.
  constexpr size_t kChunk = 256;
  uint64_t copied = 0;
  std::vector<Hash> foreign;
  TILLIT_RETURN_IF_ERROR(from.Scan([&](LogRow& row) -> Status {
    if (row.first != copied) {
      return Status::DataLoss("the audit log has a gap before entry " +
                              std::to_string(row.first));
    }
    for (size_t at = 0; at < row.items.size(); at += kChunk) {
      const size_t n = std::min(kChunk, row.items.size() - at);
      foreign.clear();
      TILLIT_RETURN_IF_ERROR(to.Append(
          std::span<const std::string_view>(row.items).subspan(at, n),
          std::span<const Hash>(row.leaves).subspan(at, n), copied, &foreign));
      if (!foreign.empty()) {
        return Status::FailedPrecondition(
            "the destination's audit log already holds entries");
      }
      copied += n;
    }
    if (progress) progress(copied);
    return Status::Ok();
  }));
  TILLIT_RETURN_IF_ERROR(from.ScanCheckpoints(
      [&](uint64_t size, const std::string& note) -> Status {
        TILLIT_ASSIGN_OR_RETURN(std::string kept,
                                to.StoreCheckpoint(size, note));
        if (kept != note) {
          return Status::FailedPrecondition(
              "the destination holds another checkpoint for size " +
              std::to_string(size));
        }
        return Status::Ok();
      }));
  return copied;
}

StatusOr<VerifyReport> VerifyStoredLog(const std::string& data_dir,
                                       const crypto::KeyDeriver& keys,
                                       const std::string& external_note) {
  internal::SqliteLogStorage::Options o;
  o.path = data_dir + "/audit.db";
  o.create = false;
  TILLIT_ASSIGN_OR_RETURN(o.db_key, AuditDbKey(keys));
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  TILLIT_ASSIGN_OR_RETURN(auto signer, crypto::SigningKey::FromSeed(seed));
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<internal::SqliteLogStorage> storage,
                          internal::SqliteLogStorage::Open(std::move(o)));
  return VerifyLog(*storage, signer.public_key(), external_note);
}

}  // namespace tillit::audit
