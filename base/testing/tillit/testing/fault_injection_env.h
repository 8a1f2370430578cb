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
// comes back with the content it had). Changes made around the Env (SQLite,
// other processes) are not tracked.
//
// Thread-safety: safe from any thread.
#ifndef TILLIT_TESTING_FAULT_INJECTION_ENV_H_
#define TILLIT_TESTING_FAULT_INJECTION_ENV_H_

#include <cerrno>
#include <map>
#include <memory>
#include <optional>
#include <string>
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

  // Whether this operation fails; counts it. REQUIRES: mu_ held.
  bool ShouldFail(FaultOp op, int* error) REQUIRES(mu_);
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
};

}  // namespace tillit::testing

#endif  // TILLIT_TESTING_FAULT_INJECTION_ENV_H_
