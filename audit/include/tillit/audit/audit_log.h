// AuditLog: the tamper-evident, append-only log of every access (SPEC §6).
//
// The log keeps its entries and checkpoints in a LogStorage (log_storage.h):
// by default its own SQLCipher database in the data directory (DIR/audit.db,
// keyed with a sub-key of the vault's master secret, a row per group
// commit, with a listing index beside it in DIR/audit-index.db), or
// PostgreSQL when many nodes share one vault. The Merkle tree (RFC 6962) is
// kept in memory, tiled, for roots and proofs. Checkpoints are C2SP signed
// notes (Ed25519, key derived from the master secret), stored so that
// verification can check every one of them and the consistency between
// successive ones.
//
// Durability and fail-closed: Append returns only once the entry is
// durable in the store. Concurrent appends are group-committed: the first
// caller becomes the leader, writes every entry queued by then in one
// transaction (one fsync), and wakes the others; nobody is acknowledged
// before their entry is durable. AuditSink is the interface the API and
// research layers call before releasing data (see Guarded below).
//
// Several processes or nodes may append to one log: each append reads,
// under the store's write lock, whatever entries others added since,
// numbers its own after them and adds theirs to its tree. Checkpoints,
// and proofs or roots for sizes beyond what this process has seen, first
// bring the tree up to the end of the stored log; so every node signs the
// same tree.
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
#include "tillit/audit/log_storage.h"
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

  // Opens (or creates) the log in its SQLCipher file and loads its tree.
  static StatusOr<std::unique_ptr<AuditLog>> Open(Options options);
  // Opens the log kept in `storage` and loads its tree; checkpoints are
  // signed with the Ed25519 key of `signing_seed` (32 bytes).
  static StatusOr<std::unique_ptr<AuditLog>> OpenOn(
      std::unique_ptr<LogStorage> storage, crypto::SecretBytes signing_seed,
      std::string origin = "tillit.health/audit",
      std::string key_name = "tillit-audit");
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

  // Entries in this process's tree (a prefix of the stored log).
  uint64_t size() const;
  // Brings the tree up to the end of the stored log: entries other
  // processes or nodes appended.
  Status Refresh() EXCLUDES(write_mu_, mu_);
  // Brings the tree up to the end of the stored log, signs its head,
  // stores the note (once per size: a note another node stored for that
  // size is returned as it is) and returns it.
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
  const std::string& origin() const { return origin_; }
  const std::string& key_name() const { return key_name_; }
  std::string verifier_key() const;

  // Test hook: the Nth durable write from now (1 = the next) fails as if the
  // disk had refused it.
  void FailWriteForTesting(int nth);

 private:
  AuditLog(std::unique_ptr<LogStorage> storage, std::string origin,
           std::string key_name);
  // Loads the tree from the store.
  Status Load() EXCLUDES(write_mu_, mu_);
  // Reads the leaves past the tree's end into it.
  Status RefreshLocked() REQUIRES(write_mu_) EXCLUDES(mu_);
  // Refreshes when `size` is beyond the tree, for a proof or root.
  Status RefreshFor(uint64_t size) const EXCLUDES(write_mu_, mu_);
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
  // Writes `batch` after the entries of the tree and adds it to the tree
  // with whatever others appended before it (numbered ahead of it),
  // setting each entry's index.
  Status WriteBatch(const std::vector<Pending*>& batch)
      EXCLUDES(mu_, write_mu_);

  const std::string origin_;
  const std::string key_name_;
  std::optional<crypto::SigningKey> signer_;
  // The store, used under write_mu_ but for its thread-safe calls (List,
  // Scan, AfterAppend). Taken before mu_ when both are held.
  mutable Mutex write_mu_ ACQUIRED_BEFORE(mu_);
  const std::unique_ptr<LogStorage> storage_;

  mutable Mutex mu_;  // queue, tree, leader flag
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
  std::deque<Waker> wakers_ GUARDED_BY(mu_);  // stable addresses
  std::vector<Waker*> free_wakers_ GUARDED_BY(mu_);
  bool leader_active_ GUARDED_BY(mu_) = false;
  MerkleTree tree_ GUARDED_BY(mu_);
  int fail_nth_ GUARDED_BY(mu_) = 0;
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
// indexes are contiguous, every stored checkpoint's signature (key name
// `key_name`, key `public_key`), that each checkpoint's root equals the
// recomputed root at its size, and the consistency proof between
// successive checkpoints. With `external` (a previously saved signed
// note), also checks the log against it.
StatusOr<VerifyReport> VerifyLog(LogStorage& storage,
                                 const crypto::Ed25519PublicKey& public_key,
                                 const std::string& external_note = "",
                                 const std::string& key_name = "tillit-audit");
// VerifyLog on the data directory's audit.db.
StatusOr<VerifyReport> VerifyStoredLog(const std::string& data_dir,
                                       const crypto::KeyDeriver& keys,
                                       const std::string& external_note = "");

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_AUDIT_LOG_H_
