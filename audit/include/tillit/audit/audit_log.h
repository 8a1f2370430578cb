// AuditLog: the tamper-evident, append-only log of every access (SPEC §6).
//
// Entries are stored in their own SQLCipher database (DIR/audit.db, keyed
// with a sub-key of the vault's master secret) with their leaf hashes; the
// whole Merkle tree (RFC 6962) is kept in memory for roots and proofs.
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
// Several processes may append to one log (the command line while a server
// runs): each append reads, under the database's write lock, whatever
// entries others added since, numbers its own after them and adds theirs
// to its tree. Roots, proofs and checkpoints cover what this process has
// seen, which is always a prefix of the log.
//
// Thread-safety: all methods are safe to call concurrently.
#ifndef TILLIT_AUDIT_AUDIT_LOG_H_
#define TILLIT_AUDIT_AUDIT_LOG_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
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
  };
  // The schema version of audit.db this program writes (PRAGMA
  // user_version). An older log is upgraded at open; a newer one is
  // refused with FailedPrecondition ("audit log at audit.db: format N is
  // newer than this tillit supports (M); upgrade tillit").
  static constexpr int64_t kSchemaVersion = 1;

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

  StatusOr<std::vector<StoredEntry>> List(const ListQuery& query);

  const crypto::Ed25519PublicKey& public_key() const;
  const std::string& origin() const { return options_.origin; }
  const std::string& key_name() const { return options_.key_name; }
  std::string verifier_key() const;

  // Test hook: the Nth durable write from now (1 = the next) fails as if the
  // disk had refused it.
  void FailWriteForTesting(int nth);

 private:
  explicit AuditLog(Options options) : options_(std::move(options)) {}
  // Takes the opened database and loads the tree from it.
  Status Load(std::unique_ptr<storage::Database> db) EXCLUDES(write_mu_, mu_);
  struct Pending {
    const AuditEntry* entry;
    std::string canonical;
    Hash leaf;      // computed by the caller's thread, not the leader's
    CondVar* wake;  // the waiting caller's (bound to mu_)
    bool done = false;
    Status status;
    uint64_t index = 0;
  };
  // Writes `batch` after the `known` entries this process has in its
  // tree; `foreign` receives the leaves of entries another process
  // appended after those (ours are numbered after them).
  Status WriteBatch(const std::vector<Pending*>& batch, uint64_t known,
                    std::vector<Hash>* foreign) EXCLUDES(mu_, write_mu_);

  Options options_;
  std::optional<crypto::SigningKey> signer_;
  // The leader's database access. Taken before mu_ when both are held.
  mutable Mutex write_mu_ ACQUIRED_BEFORE(mu_);
  std::unique_ptr<storage::Database> db_ PT_GUARDED_BY(write_mu_);

  mutable Mutex mu_;  // queue, tree, leader flag
  std::deque<Pending*> queue_ GUARDED_BY(mu_);
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
// indexes are contiguous, every stored checkpoint's signature, that each
// checkpoint's root equals the recomputed root at its size, and the
// consistency proof between successive checkpoints. With `external`
// (a previously saved signed note), also checks the log against it.
StatusOr<VerifyReport> VerifyStoredLog(const std::string& data_dir,
                                       const crypto::KeyDeriver& keys,
                                       const std::string& external_note = "");

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_AUDIT_LOG_H_
