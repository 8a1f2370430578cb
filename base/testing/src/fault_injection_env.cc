#include "tillit/testing/fault_injection_env.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace tillit::testing {
namespace {

std::optional<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

unsigned ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0600;
  return st.st_mode & 07777;
}

Status WriteWhole(const std::string& path, const std::string& data,
                  unsigned mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) return Status::IoError("power cut: cannot restore a file");
  }
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  return Status::Ok();
}

}  // namespace

const char* FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kCreate:
      return "create";
    case FaultOp::kWrite:
      return "write";
    case FaultOp::kSync:
      return "fsync";
    case FaultOp::kRename:
      return "rename";
    case FaultOp::kRemove:
      return "remove";
    case FaultOp::kSyncDirectory:
      return "fsync directory";
  }
  return "operation";
}

// A tracked file: appends and syncs can fail on demand, and a successful
// Sync() records how much of the file is durable.
class FaultInjectionEnv::File final : public WritableFile {
 public:
  // `size`: the bytes the file already holds.
  File(FaultInjectionEnv* env, std::string path,
       std::unique_ptr<WritableFile> target, size_t size)
      : env_(env),
        path_(std::move(path)),
        target_(std::move(target)),
        size_(size) {}

  Status Append(std::span<const uint8_t> data) override {
    int error = 0;
    {
      MutexLock lock(&env_->mu_);
      if (env_->ShouldFail(FaultOp::kWrite, &error)) {
        return env_->Injected(FaultOp::kWrite, path_, error);
      }
    }
    Status s = target_->Append(data);
    if (s.ok()) size_ += data.size();
    return s;
  }

  Status Sync() override {
    int error = 0;
    {
      MutexLock lock(&env_->mu_);
      if (env_->ShouldFail(FaultOp::kSync, &error)) {
        return env_->Injected(FaultOp::kSync, path_, error);
      }
    }
    Status s = target_->Sync();
    if (s.ok()) env_->Synced(path_, size_);
    return s;
  }

  Status Close() override { return target_->Close(); }

 private:
  FaultInjectionEnv* const env_;
  const std::string path_;
  std::unique_ptr<WritableFile> target_;
  size_t size_;
};

FaultInjectionEnv::FaultInjectionEnv(Env* target) : EnvWrapper(target) {}
FaultInjectionEnv::~FaultInjectionEnv() = default;

void FaultInjectionEnv::FailNth(FaultOp op, int nth, int error) {
  MutexLock lock(&mu_);
  const int i = static_cast<int>(op);
  fail_nth_[i] = nth;
  fail_error_[i] = error;
}

void FaultInjectionEnv::FailAll(FaultOp op, int error) {
  MutexLock lock(&mu_);
  const int i = static_cast<int>(op);
  fail_all_[i] = true;
  fail_error_[i] = error;
}

void FaultInjectionEnv::ClearFaults() {
  MutexLock lock(&mu_);
  for (int i = 0; i < kFaultOpCount; ++i) {
    fail_nth_[i] = 0;
    fail_all_[i] = false;
  }
  crash_at_ = -1;
}

int FaultInjectionEnv::Count(FaultOp op) const {
  MutexLock lock(&mu_);
  return count_[static_cast<int>(op)];
}

void FaultInjectionEnv::CrashAfterSyncs(int n) {
  MutexLock lock(&mu_);
  crash_at_ = sync_points_ + n;
}

int FaultInjectionEnv::SyncPoints() const {
  MutexLock lock(&mu_);
  return sync_points_;
}

void FaultInjectionEnv::CountSyncPoint() { ++sync_points_; }

bool FaultInjectionEnv::ShouldFail(FaultOp op, int* error) {
  const int i = static_cast<int>(op);
  ++count_[i];
  if (crash_at_ >= 0 && sync_points_ >= crash_at_) {
    *error = EIO;
    return true;
  }
  *error = fail_error_[i];
  if (fail_all_[i]) return true;
  if (fail_nth_[i] > 0 && --fail_nth_[i] == 0) return true;
  return false;
}

Status FaultInjectionEnv::Injected(FaultOp op, const std::string& path,
                                   int error) {
  std::string m = FaultOpName(op);
  m += " ";
  m += std::filesystem::path(path).filename().string();
  m += ": ";
  m += std::strerror(error);
  m += " (injected)";
  return Status::IoError(m);
}

void FaultInjectionEnv::Synced(const std::string& path, size_t size) {
  MutexLock lock(&mu_);
  files_[path].synced_size = size;
  CountSyncPoint();
}

namespace {

uint64_t SizeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// The bytes [begin, end) of `path` (fewer where the file is shorter).
std::string ReadRange(const std::string& path, uint64_t begin, uint64_t end) {
  std::string out;
  std::ifstream in(path, std::ios::binary);
  if (!in || end <= begin) return out;
  in.seekg(static_cast<std::streamoff>(begin));
  out.resize(end - begin);
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

}  // namespace

FaultInjectionEnv::InPlaceFile& FaultInjectionEnv::TrackInPlace(
    const std::string& path) {
  auto [it, inserted] = in_place_.try_emplace(path);
  if (inserted) it->second.synced_size = SizeOf(path);
  return it->second;
}

int FaultInjectionEnv::WillChangeInPlace(const InPlaceChange& change) {
  MutexLock lock(&mu_);
  int error = 0;
  switch (change.kind) {
    case InPlaceChange::kCreate:
      if (ShouldFail(FaultOp::kCreate, &error)) return error;
      in_place_[change.path] = InPlaceFile{};
      pending_[DirectoryOf(change.path)].push_back(
          PendingChange{PendingChange::kCreated, change.path, "", std::nullopt,
                        std::nullopt, 0600});
      return 0;
    case InPlaceChange::kWrite:
    case InPlaceChange::kTruncate: {
      if (ShouldFail(FaultOp::kWrite, &error)) return error;
      InPlaceFile& f = TrackInPlace(change.path);
      // Only the durable part needs its old content kept: anything past
      // synced_size is cut off by a power cut anyway.
      const uint64_t begin = change.offset;
      const uint64_t end = change.kind == InPlaceChange::kWrite
                               ? std::min(f.synced_size, begin + change.length)
                               : f.synced_size;
      if (begin < end) {
        f.overwritten.emplace_back(begin, ReadRange(change.path, begin, end));
      }
      return 0;
    }
    case InPlaceChange::kSync:
      if (ShouldFail(FaultOp::kSync, &error)) return error;
      return 0;
  }
  return 0;
}

void FaultInjectionEnv::SyncedInPlace(const std::string& path,
                                      bool with_directory) {
  MutexLock lock(&mu_);
  InPlaceFile& f = in_place_[path];
  f.synced_size = SizeOf(path);
  f.overwritten.clear();
  if (with_directory) {
    auto it = pending_.find(DirectoryOf(path));
    if (it != pending_.end()) {
      std::erase_if(it->second, [&](const PendingChange& c) {
        return c.kind == PendingChange::kCreated && c.path == path;
      });
    }
  }
  CountSyncPoint();
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path, unsigned mode, bool exclusive) {
  std::optional<std::string> before;
  std::optional<FileState> before_state;
  {
    MutexLock lock(&mu_);
    int error = 0;
    if (ShouldFail(FaultOp::kCreate, &error)) {
      return Injected(FaultOp::kCreate, path, error);
    }
    auto it = files_.find(path);
    if (it != files_.end()) before_state = it->second;
  }
  before = ReadWhole(path);
  const unsigned before_mode = ModeOf(path);
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                          target()->NewWritableFile(path, mode, exclusive));
  MutexLock lock(&mu_);
  files_[path] = FileState{};
  PendingChange change{
      PendingChange::kCreated, path, "", before, before_state, before_mode};
  if (before && before_state) before->resize(before_state->synced_size);
  pending_[DirectoryOf(path)].push_back(std::move(change));
  return std::unique_ptr<WritableFile>(
      new File(this, path, std::move(file), 0));
}

StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewAppendableFile(
    const std::string& path) {
  {
    MutexLock lock(&mu_);
    int error = 0;
    if (ShouldFail(FaultOp::kCreate, &error)) {
      return Injected(FaultOp::kCreate, path, error);
    }
  }
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                          target()->NewAppendableFile(path));
  struct stat st;
  const size_t size =
      ::stat(path.c_str(), &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  MutexLock lock(&mu_);
  files_.try_emplace(path, FileState{size});
  return std::unique_ptr<WritableFile>(
      new File(this, path, std::move(file), size));
}

Status FaultInjectionEnv::RenameFile(const std::string& from,
                                     const std::string& to) {
  return Rename(from, to, /*replace=*/true);
}

Status FaultInjectionEnv::RenameNoReplace(const std::string& from,
                                          const std::string& to) {
  return Rename(from, to, /*replace=*/false);
}

Status FaultInjectionEnv::Rename(const std::string& from, const std::string& to,
                                 bool replace) {
  std::optional<FileState> before_state;
  {
    MutexLock lock(&mu_);
    int error = 0;
    if (ShouldFail(FaultOp::kRename, &error)) {
      return Injected(FaultOp::kRename, from, error);
    }
    auto it = files_.find(to);
    if (it != files_.end()) before_state = it->second;
  }
  std::optional<std::string> before = ReadWhole(to);
  const unsigned before_mode = ModeOf(to);
  TILLIT_RETURN_IF_ERROR(replace ? target()->RenameFile(from, to)
                                 : target()->RenameNoReplace(from, to));
  MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it != files_.end()) {
    files_[to] = it->second;
    files_.erase(from);
  } else {
    files_.erase(to);
  }
  if (before && before_state) before->resize(before_state->synced_size);
  pending_[DirectoryOf(to)].push_back(PendingChange{
      PendingChange::kRenamed, to, from, before, before_state, before_mode});
  return Status::Ok();
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  std::optional<FileState> before_state;
  {
    MutexLock lock(&mu_);
    int error = 0;
    if (ShouldFail(FaultOp::kRemove, &error)) {
      return Injected(FaultOp::kRemove, path, error);
    }
    auto it = files_.find(path);
    if (it != files_.end()) before_state = it->second;
  }
  std::optional<std::string> before = ReadWhole(path);
  const unsigned before_mode = ModeOf(path);
  TILLIT_RETURN_IF_ERROR(target()->RemoveFile(path));
  MutexLock lock(&mu_);
  files_.erase(path);
  if (before && before_state) before->resize(before_state->synced_size);
  pending_[DirectoryOf(path)].push_back(PendingChange{
      PendingChange::kRemoved, path, "", before, before_state, before_mode});
  return Status::Ok();
}

Status FaultInjectionEnv::SyncDirectory(const std::string& dir) {
  {
    MutexLock lock(&mu_);
    int error = 0;
    if (ShouldFail(FaultOp::kSyncDirectory, &error)) {
      return Injected(FaultOp::kSyncDirectory, dir, error);
    }
  }
  TILLIT_RETURN_IF_ERROR(target()->SyncDirectory(dir));
  MutexLock lock(&mu_);
  pending_.erase(dir);
  CountSyncPoint();
  return Status::Ok();
}

Status FaultInjectionEnv::PowerCut() {
  MutexLock lock(&mu_);
  // Data written after the last fsync of each file is lost.
  for (const auto& [path, state] : files_) {
    if (::truncate(path.c_str(), static_cast<off_t>(state.synced_size)) != 0 &&
        errno != ENOENT) {
      return Status::IoError("power cut: cannot truncate a file");
    }
  }
  // Files changed in place go back to what their last sync made durable.
  for (const auto& [path, f] : in_place_) {
    if (::truncate(path.c_str(), static_cast<off_t>(f.synced_size)) != 0) {
      if (errno == ENOENT) continue;
      return Status::IoError("power cut: cannot truncate a file");
    }
    if (f.overwritten.empty()) continue;
    std::fstream io(path, std::ios::binary | std::ios::in | std::ios::out);
    for (auto it = f.overwritten.rbegin(); it != f.overwritten.rend(); ++it) {
      io.seekp(static_cast<std::streamoff>(it->first));
      io.write(it->second.data(),
               static_cast<std::streamsize>(it->second.size()));
    }
    if (!io) return Status::IoError("power cut: cannot restore a file");
  }
  in_place_.clear();
  // Directory changes not made durable are undone, newest first.
  for (auto& [dir, changes] : pending_) {
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      const PendingChange& c = *it;
      if (c.kind == PendingChange::kRenamed) {
        ::rename(c.path.c_str(), c.from.c_str());
        auto moved = files_.find(c.path);
        if (moved != files_.end()) {
          files_[c.from] = moved->second;
          files_.erase(moved);
        }
      } else if (c.kind == PendingChange::kCreated) {
        ::unlink(c.path.c_str());
        files_.erase(c.path);
      }
      if (c.before) {
        TILLIT_RETURN_IF_ERROR(WriteWhole(c.path, *c.before, c.mode));
        if (c.before_state) files_[c.path] = *c.before_state;
      }
    }
  }
  pending_.clear();
  return Status::Ok();
}

}  // namespace tillit::testing
