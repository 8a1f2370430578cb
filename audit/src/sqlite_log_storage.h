// The data directory's audit log store: entries in their own SQLCipher
// database (audit.db), a row per group commit, with the listing index in
// a second file beside it (audit-index.db) and a thread of its own that
// copies the WAL back into audit.db. Private to the audit library:
// AuditLog::Open, CopyDatabase and VerifyStoredLog use it.
#ifndef TILLIT_AUDIT_SRC_SQLITE_LOG_STORAGE_H_
#define TILLIT_AUDIT_SRC_SQLITE_LOG_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tillit/audit/log_storage.h"
#include "tillit/base/env.h"
#include "tillit/base/mutex.h"
#include "tillit/crypto/secret.h"
#include "tillit/storage/database.h"

namespace tillit::audit::internal {

class SqliteLogStorage final : public LogStorage {
 public:
  struct Options {
    std::string path;            // audit.db
    crypto::SecretBytes db_key;  // 32 bytes
    Env* env = Env::Default();
    std::string index_path;  // empty: beside `path`
    bool create = true;      // false: the log must exist (verification)
  };
  // Opens (creating when asked) and upgrades the log's database.
  static StatusOr<std::unique_ptr<SqliteLogStorage>> Open(Options options);
  ~SqliteLogStorage() override;

  Status ReadLeaves(uint64_t begin, uint64_t end,
                    std::vector<Hash>* out) override EXCLUDES(db_mu_);
  Status Append(std::span<const std::string_view> entries,
                std::span<const Hash> leaves, uint64_t known,
                std::vector<Hash>* foreign) override EXCLUDES(db_mu_);
  StatusOr<std::optional<std::string>> CheckpointAt(uint64_t size) override
      EXCLUDES(db_mu_);
  StatusOr<std::string> StoreCheckpoint(uint64_t size,
                                        const std::string& note) override
      EXCLUDES(db_mu_);
  StatusOr<std::vector<StoredEntry>> List(const ListQuery& q) override
      EXCLUDES(state_mu_);
  Status Scan(const std::function<Status(LogRow&)>& fn) override
      EXCLUDES(db_mu_);
  Status ScanCheckpoints(
      const std::function<Status(uint64_t, const std::string&)>& fn) override
      EXCLUDES(db_mu_);
  void AfterAppend(uint64_t size) override EXCLUDES(state_mu_, checkpoint_mu_);

 private:
  class ListingIndex;
  explicit SqliteLogStorage(Options options);
  // Asks the checkpointer (started on first use) to copy the WAL into
  // audit.db; false when it cannot (stopping, or no thread to be had).
  bool WantCheckpoint() EXCLUDES(checkpoint_mu_);
  void CheckpointLoop() EXCLUDES(checkpoint_mu_, db_mu_, state_mu_);

  Options options_;
  Mutex db_mu_;  // the writer's connection
  std::unique_ptr<storage::Database> db_ PT_GUARDED_BY(db_mu_);
  // The listing index (its own lock) and how far it was last known to
  // reach; one caller at a time brings it up to date.
  std::unique_ptr<ListingIndex> index_;
  Mutex state_mu_;
  uint64_t indexed_hint_ GUARDED_BY(state_mu_) = 0;
  bool indexing_ GUARDED_BY(state_mu_) = false;
  // Every few thousand entries a thread of the store's own copies the WAL
  // into audit.db from a connection of its own (a passive checkpoint), so
  // that the automatic checkpoint inside a group commit, which holds every
  // waiting caller, finds almost nothing left to copy.
  bool checkpoint_hint_set_ GUARDED_BY(state_mu_) = false;
  uint64_t checkpoint_hint_ GUARDED_BY(state_mu_) = 0;
  bool checkpointing_ GUARDED_BY(state_mu_) = false;
  uint64_t checkpoint_target_ GUARDED_BY(state_mu_) = 0;
  Mutex checkpoint_mu_;
  CondVar checkpoint_cv_{&checkpoint_mu_};
  bool checkpoint_wanted_ GUARDED_BY(checkpoint_mu_) = false;
  bool stopping_ GUARDED_BY(checkpoint_mu_) = false;
  std::thread checkpointer_ GUARDED_BY(checkpoint_mu_);
};

}  // namespace tillit::audit::internal

#endif  // TILLIT_AUDIT_SRC_SQLITE_LOG_STORAGE_H_
