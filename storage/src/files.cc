#include "tillit/storage/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace tillit::storage {
namespace {

Status Errno(std::string_view what, const std::string& path) {
  std::string m(what);
  m += " ";
  m += std::filesystem::path(path).filename().string();
  m += ": ";
  m += std::strerror(errno);
  if (errno == ENOENT) return Status::NotFound(m);
  return Status::IoError(m);
}

// Reads exactly `n` bytes; false on error or early end of file.
bool ReadFully(int fd, uint8_t* p, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes,
                       unsigned mode, Env* env) {
  const std::string tmp = path + ".tmp";
  // A temporary file left by an earlier crash is stale.
  Status removed = env->RemoveFile(tmp);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
  Status s;
  {
    auto file = env->NewWritableFile(tmp, mode, /*exclusive=*/true);
    if (!file.ok()) return file.status();
    s = (*file)->Append(bytes);
    if (s.ok()) s = (*file)->Sync();
    Status closed = (*file)->Close();
    if (s.ok()) s = closed;
  }
  if (s.ok()) s = env->RenameFile(tmp, path);
  if (!s.ok()) {
    (void)env->RemoveFile(tmp);
    return s;
  }
  return env->SyncDirectory(DirectoryOf(path));
}

Status WriteFileAtomic(const std::string& path, std::string_view bytes,
                       unsigned mode, Env* env) {
  return WriteFileAtomic(
      path,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                               bytes.size()),
      mode, env);
}

StatusOr<std::string> ReadFileLimited(const std::string& path,
                                      size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("stat", path);
    ::close(fd);
    return s;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::ResourceExhausted("file is larger than the limit of " +
                                     std::to_string(max_bytes) + " bytes");
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  const bool complete =
      ReadFully(fd, reinterpret_cast<uint8_t*>(out.data()), out.size());
  ::close(fd);
  if (!complete) return Status::IoError("short read");
  return out;
}

StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path,
                                             size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Errno("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("key file is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Status::FailedPrecondition(
        "key file is accessible by group or others; it must be mode 0600");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Status::ResourceExhausted("key file is too large");
  }
  crypto::SecretBytes out =
      crypto::SecretBytes::Allocate(static_cast<size_t>(st.st_size));
  const bool complete = ReadFully(fd, out.ExposeSecret(), out.size());
  ::close(fd);
  if (!complete) return Status::IoError("short read of key file");
  return out;
}

Status EnsurePrivateDirectory(const std::string& path, Env* env) {
  TILLIT_RETURN_IF_ERROR(env->CreateDirectories(path));
  if (::chmod(path.c_str(), 0700) != 0) return Errno("chmod", path);
  return Status::Ok();
}

Status RemoveFileIfExists(const std::string& path, Env* env) {
  Status s = env->RemoveFile(path);
  if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  return Status::Ok();
}

}  // namespace tillit::storage
