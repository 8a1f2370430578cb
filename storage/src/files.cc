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

Status WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(std::string("write: ") + std::strerror(errno));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
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

Status FsyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open directory of", path);
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("fsync directory of", path);
  return Status::Ok();
}

}  // namespace

Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes,
                       unsigned mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  static_cast<mode_t>(mode));
  if (fd < 0) return Errno("create", tmp);
  Status s = WriteAll(fd, bytes.data(), bytes.size());
  if (s.ok() && ::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    s = Errno("chmod", tmp);
  }
  if (s.ok() && ::fsync(fd) != 0) s = Errno("fsync", tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Errno("rename", tmp);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return FsyncDirectoryOf(path);
}

Status WriteFileAtomic(const std::string& path, std::string_view bytes,
                       unsigned mode) {
  return WriteFileAtomic(
      path,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()),
                               bytes.size()),
      mode);
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

Status EnsurePrivateDirectory(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IoError("cannot create directory: " + ec.message());
  if (::chmod(path.c_str(), 0700) != 0) return Errno("chmod", path);
  return Status::Ok();
}

Status RemoveFileIfExists(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Errno("remove", path);
  }
  return Status::Ok();
}

}  // namespace tillit::storage
