// Env: the operating system behind one interface (files, clock,
// randomness), as leveldb's Env. Libraries take an Env* (default
// Env::Default(), the real one) for every file they write, so tests can
// substitute one that fails the Nth write, fsync or rename, or drops what
// was never fsynced (tillit/testing/fault_injection_env.h). Clock::System()
// and crypto::Random::System() read the default Env's clock and randomness.
//
// Errors: NotFound when a path does not exist, IoError otherwise (the
// message names the file by its last component and the errno text, never
// its content).
//
// Thread-safety: an Env is safe to use from many threads. A WritableFile
// is not: one thread at a time.
#ifndef TILLIT_BASE_ENV_H_
#define TILLIT_BASE_ENV_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit {

// A file being written. Data reaches the disk durably only after Sync().
// Closing (or destroying) without Sync() keeps whatever the OS flushed.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(std::span<const uint8_t> data) = 0;
  // fsync: everything appended so far survives a power cut.
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The real operating system. Never deleted; safe from any thread.
  static Env* Default();

  // --- files
  // Creates `path` with permission `mode` (the umask does not apply) and
  // opens it for writing. `exclusive`: AlreadyExists when it exists;
  // otherwise an existing file is truncated.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, unsigned mode, bool exclusive) = 0;
  // Opens the existing file `path` for writing at its end (O_APPEND).
  // NotFound when it does not exist. Sync() then makes the whole file
  // durable, what was written before it was opened included.
  virtual StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) = 0;
  // Atomically replaces `to` with `from` (rename(2)). Durable only after
  // SyncDirectory of their directory.
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Atomically renames `from` (a file or a directory) to `to` unless `to`
  // exists: AlreadyExists then, and nothing changes (renameat2
  // RENAME_NOREPLACE; where the file system lacks it, a file is linked
  // and unlinked, and a directory gives IoError). Durable only after
  // SyncDirectory of their directory.
  virtual Status RenameNoReplace(const std::string& from,
                                 const std::string& to) = 0;
  // NotFound when `path` does not exist.
  virtual Status RemoveFile(const std::string& path) = 0;
  // fsync of a directory: makes creations, renames and removals in it
  // durable.
  virtual Status SyncDirectory(const std::string& dir) = 0;
  // Creates `path` and its parents with mode 0700 where missing; OK when it
  // exists as a directory.
  virtual Status CreateDirectories(const std::string& path) = 0;
  virtual bool FileExists(const std::string& path) = 0;

  // --- files a library changes in place by itself (SQLite's database, WAL
  // and journal files, through storage's VFS). The library announces each
  // change before making it; a non-zero errno from the Env (EIO, ENOSPC)
  // makes that change fail with nothing changed, which lets a test Env
  // fail it, or remember what a power cut would undo. The real Env accepts
  // everything, and storage does not interpose on it at all.
  struct InPlaceChange {
    enum Kind {
      kCreate,    // a new file is about to be created at `path`
      kWrite,     // `length` bytes are about to be written at `offset`
      kTruncate,  // the file is about to be cut (or grown) to `offset`
      kSync,      // the file is about to be fsynced
    };
    Kind kind;
    const std::string& path;
    uint64_t offset = 0;
    uint64_t length = 0;
  };
  virtual int WillChangeInPlace(const InPlaceChange& change) {
    (void)change;
    return 0;
  }
  // A kSync announced before has succeeded: what was written to `path` is
  // durable. `with_directory`: the library fsynced its directory entry too.
  virtual void SyncedInPlace(const std::string& path, bool with_directory) {
    (void)path;
    (void)with_directory;
  }

  // --- clock
  // Wall-clock seconds since the Unix epoch, UTC.
  virtual int64_t NowSeconds() = 0;

  // --- randomness
  // Fills `out` from a cryptographically secure source. Never fails: with
  // no entropy to be had the process aborts rather than go on with less.
  virtual void FillRandom(std::span<uint8_t> out) = 0;
};

// Forwards every call to another Env; subclasses override what they change.
class EnvWrapper : public Env {
 public:
  // REQUIRES: `target` outlives this wrapper.
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, unsigned mode, bool exclusive) override {
    return target_->NewWritableFile(path, mode, exclusive);
  }
  StatusOr<std::unique_ptr<WritableFile>> NewAppendableFile(
      const std::string& path) override {
    return target_->NewAppendableFile(path);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  Status RenameNoReplace(const std::string& from,
                         const std::string& to) override {
    return target_->RenameNoReplace(from, to);
  }
  Status RemoveFile(const std::string& path) override {
    return target_->RemoveFile(path);
  }
  Status SyncDirectory(const std::string& dir) override {
    return target_->SyncDirectory(dir);
  }
  Status CreateDirectories(const std::string& path) override {
    return target_->CreateDirectories(path);
  }
  bool FileExists(const std::string& path) override {
    return target_->FileExists(path);
  }
  int WillChangeInPlace(const InPlaceChange& change) override {
    return target_->WillChangeInPlace(change);
  }
  void SyncedInPlace(const std::string& path, bool with_directory) override {
    target_->SyncedInPlace(path, with_directory);
  }
  int64_t NowSeconds() override { return target_->NowSeconds(); }
  void FillRandom(std::span<uint8_t> out) override { target_->FillRandom(out); }

 private:
  Env* const target_;
};

// The directory part of `path` ("." for a bare file name).
std::string DirectoryOf(const std::string& path);

}  // namespace tillit

#endif  // TILLIT_BASE_ENV_H_
