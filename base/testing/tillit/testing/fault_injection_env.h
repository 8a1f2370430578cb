// FaultInjectionEnv: an Env for tests that fails chosen file operations
// and simulates a power cut, as leveldb's FaultInjectionTestEnv.
//
//   testing::FaultInjectionEnv env;
//   env.FailNth(testing::FaultOp::kRename, 1, ENOSPC);  // next rename fails
//   ... code under test, given &env ...
//   env.PowerCut();  // lose what was never made durable
//
// What a power cut loses, for files and directories changed through this
// Env: data appended to a file after its last Sync(); and every creation,
// rename and removal in a directory after that directory's last
// SyncDirectory() (undone newest first: a renamed-over or removed file
// comes back with the content it had). Files a library changes in place
// and announces to the Env (SQLite, through storage's VFS) lose every
// write and truncation after their last sync, and a file created that way
// is lost unless its directory was synced (by the library with its sync,
// or through SyncDirectory). Changes made around the Env (other processes)
// are not tracked.
//
// A crash at a chosen point: CrashAfterSyncs(n) lets the first n sync
// points (file syncs, directory syncs, in-place syncs) succeed and fails
// every later change with EIO, as if the machine stopped right after the
// nth; a test then closes what it has open and calls PowerCut(). Counting
// the sync points of a whole run first gives every point to cut at.
//
// Thread-safety: safe from any thread.
#ifndef TILLIT_TESTING_FAULT_INJECTION_ENV_H_
#define TILLIT_TESTING_FAULT_INJECTION_ENV_H_

#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tillit/base/env.h"
#include "tillit/base/mutex.h"

namespace tillit::testing {

enum class FaultOp {
  kCreate,         // NewWritableFile, NewAppendableFile
  kWrite,          // WritableFile::Append
  kSync,           // WritableFile::Sync
  kRename,         // RenameFile, RenameNoReplace
  kRemove,         // RemoveFile
  kSyncDirectory,  // SyncDirectory
};
inline constexpr int kFaultOpCount = 6;

// The operation's name as error messages give it: "create", "write",
// "fsync", "rename", "remove", "fsync directory".
const char* FaultOpName(FaultOp op);

class FaultInjectionEnv final : public EnvWrapper {
 public:
  explicit FaultInjectionEnv(Env* target = Env::Default());
  ~FaultInjectionEnv() override;

  // The `nth` (1-based) next operation of kind `op` fails with `error`
  // (EIO, ENOSPC, ...) and changes nothing; the others succeed.
  void FailNth(FaultOp op, int nth, int error = EIO);
  // Every operation of kind `op` fails with `error` until ClearFaults().
  void FailAll(FaultOp op, int error = EIO);
  void ClearFaults();
  // Operations of kind `op` attempted so far (failed ones included).
  int Count(FaultOp op) const;

  // After `n` more successful sync points, every change fails with EIO
  // until ClearFaults(). n == 0: from now on.
  void CrashAfterSyncs(int n);
  // Successful sync points so far.
  int SyncPoints() const;

  // Loses everything not yet durable (see the file comment). Files still
  // open keep their handles, but later writes to them are not tracked.
  Status PowerCut();

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, unsigned mode, bool exclusive) override;
  // A file this Env has not written before counts as durable as it is.
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status RenameNoReplace(const std::string& from,
                         const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status SyncDirectory(const std::string& dir) override;
  int WillChangeInPlace(const InPlaceChange& change) override;
  void SyncedInPlace(const std::string& path, bool with_directory) override;

 private:
  class File;
  struct FileState {
    size_t synced_size = 0;
  };
  // A directory change not yet made durable, and how to undo it.
  struct PendingChange {
    enum Kind { kCreated, kRenamed, kRemoved } kind;
    std::string path;                   // created/removed path, or target
    std::string from;                   // kRenamed: the source
    std::optional<std::string> before;  // content `path` had, if any
    std::optional<FileState> before_state;
    unsigned mode = 0600;
  };

  // A file changed in place: its size at its last sync, and the content
  // of the durable part that later writes overwrote, oldest first.
  struct InPlaceFile {
    uint64_t synced_size = 0;
    std::vector<std::pair<uint64_t, std::string>> overwritten;
  };

  // Whether this operation fails; counts it. REQUIRES: mu_ held.
  bool ShouldFail(FaultOp op, int* error) REQUIRES(mu_);
  void CountSyncPoint() REQUIRES(mu_);
  // The tracking of `path`, begun with its current size as durable.
  InPlaceFile& TrackInPlace(const std::string& path) REQUIRES(mu_);
  void Synced(const std::string& path, size_t size) EXCLUDES(mu_);
  // RenameFile (`replace`) or RenameNoReplace, recorded for PowerCut.
  Status Rename(const std::string& from, const std::string& to, bool replace)
      EXCLUDES(mu_);
  Status Injected(FaultOp op, const std::string& path, int error);

  mutable Mutex mu_;
  int count_[kFaultOpCount] GUARDED_BY(mu_) = {};
  int fail_nth_[kFaultOpCount] GUARDED_BY(mu_) = {};
  int fail_error_[kFaultOpCount] GUARDED_BY(mu_) = {};
  bool fail_all_[kFaultOpCount] GUARDED_BY(mu_) = {};
  std::map<std::string, FileState> files_ GUARDED_BY(mu_);
  std::map<std::string, std::vector<PendingChange>> pending_ GUARDED_BY(mu_);
  std::map<std::string, InPlaceFile> in_place_ GUARDED_BY(mu_);
  int sync_points_ GUARDED_BY(mu_) = 0;
  int crash_at_ GUARDED_BY(mu_) = -1;  // sync points after which all fails
};

}  // namespace tillit::testing

#endif  // TILLIT_TESTING_FAULT_INJECTION_ENV_H_
