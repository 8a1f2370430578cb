// AuditLog: the tamper-evident, append-only log of every access (SPEC §6).
//
// Entries are stored in their own SQLCipher database (DIR/audit.db, keyed
// with a sub-key of the vault's master secret) with their leaf hashes, a
// row per group commit; the Merkle tree (RFC 6962) is kept in memory,
// tiled, for roots and proofs. Which entries name a citizen or an actor is
// kept apart, in DIR/audit-index.db: derived data, brought up to date in
// large sorted batches and before every filtered List, rebuilt from the
// log when missing or stale.
// Checkpoints are C2SP signed notes (Ed25519, key derived from the master
// secret), stored so that verification can check every one of them and
// the consistency between successive ones.
//
// Durability and fail-closed: Append returns only once the entry is
// committed with synchronous = FULL. Concurrent appends are group-committed:
// the first caller becomes the leader, writes every entry queued by then in
// one transaction (one fsync), and wakes the others; nobody is acknowledged
// before their entry is durable. AuditSink is the interface the API and
// research layers call before releasing data (see Guarded below).
//
// The WAL is copied back into audit.db every 4,096 entries by a thread of
// the log's own, on a connection of its own, so that no group commit pays
// for a large checkpoint (docs/BENCHMARKS.md, "A checkpointer").
//
// Several processes may append to one log (the command line while a server
// runs): each append reads, under the database's write lock, whatever
// entries others added since, numbers its own after them and adds theirs
// to its tree. Roots, proofs and checkpoints cover what this process has
// seen, which is always a prefix of the log.
//
// Thread-safety: all methods are safe to call concurrently.
#ifndef TILLIT_AUDIT_AUDIT_LOG_H_
#define TILLIT_AUDIT_AUDIT_LOG_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tillit/audit/checkpoint.h"
#include "tillit/audit/entry.h"
#include "tillit/audit/merkle.h"
#include "tillit/base/env.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"
#include "tillit/storage/database.h"

namespace tillit::audit {

// Where audit entries go before data is released.
class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Returns the entry's index once it is durable; any error means the
  // entry may not exist and the access must not happen.
  virtual StatusOr<uint64_t> Append(const AuditEntry& entry) = 0;
};

// Runs `release` only after `entry` is durable in `sink`. If the entry
// cannot be written, `release` never runs and the caller gets
// FailedPrecondition "audit log unavailable: access refused".
template <typename Release>
auto Guarded(AuditSink& sink, const AuditEntry& entry, Release&& release)
    -> decltype(release(uint64_t{})) {
  StatusOr<uint64_t> index = sink.Append(entry);
  if (!index.ok()) {
    return Status::FailedPrecondition("audit log unavailable: access refused");
  }
  return release(*index);
}

struct StoredEntry {
  uint64_t index = 0;
  std::string canonical;  // the bytes that were hashed
  AuditEntry entry;
};

struct ListQuery {
  // Entries with index > after, oldest first (-1: from the beginning);
  // without it, newest first.
  std::optional<int64_t> after;
  std::optional<uint64_t> before;  // entries with index < before (newest first)
  std::string citizen_id;          // filter, or empty
  std::string actor_id;            // filter, or empty
  size_t limit = 100;              // 1..1000
};

class AuditLog final : public AuditSink {
 public:
  struct Options {
    std::string path;                  // audit.db
    crypto::SecretBytes db_key;        // 32 bytes
    crypto::SecretBytes signing_seed;  // 32 bytes (Ed25519 seed)
    std::string origin = "tillit.health/audit";
    std::string key_name = "tillit-audit";
    Env* env = Env::Default();  // SQLite's file changes are announced to it
    // The listing index; empty: beside `path` (audit.db: audit-index.db).
    std::string index_path;
  };
  // The schema version of audit.db this program writes (PRAGMA
  // user_version). An older log is upgraded at open; a newer one is
  // refused with FailedPrecondition ("audit log at audit.db: format N is
  // newer than this tillit supports (M); upgrade tillit").
  // 1: a row per entry with two secondary indexes; 2: a row per group
  // commit, the listing index in its own file.
  static constexpr int64_t kSchemaVersion = 2;

  // Opens (or creates) the log and loads its tree.
  static StatusOr<std::unique_ptr<AuditLog>> Open(Options options);
  // The log of a vault: DATA_DIR/audit.db with keys derived by `keys` (the
  // vault's master secret).
  static StatusOr<std::unique_ptr<AuditLog>> OpenInDirectory(
      const std::string& data_dir, const crypto::KeyDeriver& keys,
      Env* env = Env::Default());
  // Copies DATA_DIR/audit.db as one consistent snapshot (SQLite's online
  // backup; writers go on) into the new file `dest`, encrypted as it is,
  // through `env` (see storage::Database::CopyTo).
  static Status CopyDatabase(const std::string& data_dir,
                             const crypto::KeyDeriver& keys,
                             const std::string& dest, Env* env);
  ~AuditLog() override;

  StatusOr<uint64_t> Append(const AuditEntry& entry) override;
  // Appends several entries in one transaction; returns their indexes.
  StatusOr<std::vector<uint64_t>> AppendBatch(
      std::span<const AuditEntry> entries);

  uint64_t size() const;
  // Signs the current tree head, stores it (once per size) and returns the
  // note.
  StatusOr<std::string> SignedCheckpoint();
  StatusOr<std::vector<Hash>> InclusionProof(uint64_t index,
                                             uint64_t size) const;
  StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t from,
                                               uint64_t to) const;
  StatusOr<Hash> RootAt(uint64_t size) const;

  // Entries in index order (see ListQuery). A filtered listing first
  // brings the listing index up to the end of the log.
  StatusOr<std::vector<StoredEntry>> List(const ListQuery& query);

  const crypto::Ed25519PublicKey& public_key() const;
  const std::string& origin() const { return options_.origin; }
  const std::string& key_name() const { return options_.key_name; }
  std::string verifier_key() const;

  // Test hook: the Nth durable write from now (1 = the next) fails as if the
  // disk had refused it.
  void FailWriteForTesting(int nth);

 private:
  class ListingIndex;
  explicit AuditLog(Options options);
  // Takes the opened database and loads the tree from it.
  Status Load(std::unique_ptr<storage::Database> db) EXCLUDES(write_mu_, mu_);
  // Where a waiting caller sleeps: a counter the leader bumps (holding
  // mu_) and notifies (std::atomic wait: a futex, after a few yields)
  // after it has let go of mu_, so the woken caller does not at once
  // block on mu_ again. Slots belong to the log, not to the caller, so a
  // notify that comes after its caller has left only makes the slot's
  // next user check again.
  struct Waker {
    std::atomic<uint32_t> seq{0};
  };
  struct Pending {
    const AuditEntry* entry;
    std::string canonical;
    Hash leaf;    // computed by the caller's thread, not the leader's
    Waker* wake;  // the waiting caller's
    bool done = false;
    Status status;
    uint64_t index = 0;
  };
  // Writes `batch` after the `known` entries this process has in its
  // tree; `foreign` receives the leaves of entries another process
  // appended after those (ours are numbered after them).
  Status WriteBatch(const std::vector<Pending*>& batch, uint64_t known,
                    std::vector<Hash>* foreign) EXCLUDES(mu_, write_mu_);
  // Asks the checkpointer (started on first use) to copy the WAL into
  // audit.db; false when it cannot (stopping, or no thread to be had).
  bool WantCheckpoint() EXCLUDES(checkpoint_mu_);
  void CheckpointLoop() EXCLUDES(checkpoint_mu_, write_mu_, mu_);

  Options options_;
  std::optional<crypto::SigningKey> signer_;
  // The leader's database access. Taken before mu_ when both are held.
  mutable Mutex write_mu_ ACQUIRED_BEFORE(mu_);
  std::unique_ptr<storage::Database> db_ PT_GUARDED_BY(write_mu_);

  mutable Mutex mu_;  // queue, tree, leader flag
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
  std::deque<Waker> wakers_ GUARDED_BY(mu_);  // stable addresses
  std::vector<Waker*> free_wakers_ GUARDED_BY(mu_);
  bool leader_active_ GUARDED_BY(mu_) = false;
  MerkleTree tree_ GUARDED_BY(mu_);
  int fail_nth_ GUARDED_BY(mu_) = 0;
  // The listing index (its own lock) and how far it was last known to
  // reach; one caller at a time brings it up to date.
  std::unique_ptr<ListingIndex> index_;
  uint64_t indexed_hint_ GUARDED_BY(mu_) = 0;
  bool indexing_ GUARDED_BY(mu_) = false;
  // Every few thousand entries a thread of the log's own copies the WAL
  // into audit.db from a connection of its own (a passive checkpoint), so
  // that the automatic checkpoint inside a group commit, which holds every
  // waiting caller, finds almost nothing left to copy.
  uint64_t checkpoint_hint_ GUARDED_BY(mu_) = 0;
  bool checkpointing_ GUARDED_BY(mu_) = false;
  Mutex checkpoint_mu_;
  CondVar checkpoint_cv_{&checkpoint_mu_};
  bool checkpoint_wanted_ GUARDED_BY(checkpoint_mu_) = false;
  bool stopping_ GUARDED_BY(checkpoint_mu_) = false;
  std::thread checkpointer_ GUARDED_BY(checkpoint_mu_);
};

// The outcome of checking a whole log offline.
struct VerifyReport {
  bool ok = false;
  uint64_t entries = 0;
  uint64_t checkpoints = 0;
  std::optional<uint64_t> first_bad_index;
  std::string problem;  // empty when ok
};

// Recomputes every leaf and the tree from the stored entries, checks that
// indexes are contiguous, every stored checkpoint's signature, that each
// checkpoint's root equals the recomputed root at its size, and the
// consistency proof between successive checkpoints. With `external`
// (a previously saved signed note), also checks the log against it.
StatusOr<VerifyReport> VerifyStoredLog(const std::string& data_dir,
                                       const crypto::KeyDeriver& keys,
                                       const std::string& external_note = "");

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_AUDIT_LOG_H_
