#include "src/config_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

namespace tillit::cli {
namespace {

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

bool IsKey(std::string_view key) {
  return !key.empty() && key.front() != '-' &&
         key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") ==
             std::string_view::npos;
}

// Closes a descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string ConfigFile::Where(int line) const {
  return path + " line " + std::to_string(line);
}

StatusOr<ConfigFile> ParseConfigFile(std::string_view text,
                                     const std::string& path) {
  ConfigFile file;
  file.path = path;
  std::map<std::string, int> seen;  // key -> line
  int number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto bad = [&](const std::string& problem) {
      return Status::InvalidArgument(file.Where(number) + ": " + problem);
    };
    for (const char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f)
        return bad("a control character; is this a text file?");
    }
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) return bad("expected `key = value`");
    const std::string_view key = Trim(line.substr(0, eq));
    const std::string_view value = Trim(line.substr(eq + 1));
    if (key.empty()) return bad("expected `key = value`");
    if (key.front() == '-') {
      const size_t dashes = key.find_first_not_of('-');
      if (dashes != std::string_view::npos && IsKey(key.substr(dashes))) {
        return bad("write the key without dashes: `" +
                   std::string(key.substr(dashes)) + " = ...`");
      }
      return bad("a key is lower-case letters, digits and dashes");
    }
    if (!IsKey(key))
      return bad("a key is lower-case letters, digits and dashes");
    const std::string k(key);
    if (value.empty()) return bad("`" + k + "` has no value");
    if (value.front() == '"' || value.front() == '\'')
      return bad("write the value of `" + k + "` without quotes");
    if (value.find('#') != std::string_view::npos) {
      return bad("`#` in the value of `" + k +
                 "`: a comment must be on a line of its own");
    }
    if (auto [it, fresh] = seen.emplace(k, number); !fresh) {
      return bad("`" + k + "` is set again (first on line " +
                 std::to_string(it->second) + ")");
    }
    file.lines.push_back(ConfigLine{k, std::string(value), number});
  }
  return file;
}

StatusOr<ConfigFile> LoadConfigFile(const std::string& path) {
  auto cannot = [&](const std::string& why) {
    return Status::InvalidArgument("cannot use the configuration file " + path +
                                   ": " + why);
  };
  if (path.empty()) return cannot("no file named");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (fd.get() < 0) return cannot(std::strerror(errno));
  // Checked on the open file, so that what is read is what was checked.
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return cannot(std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return cannot("not a regular file");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o",
                  static_cast<unsigned>(st.st_mode & 07777));
    return cannot(std::string("its group or others may write it (mode ") +
                  mode +
                  "), and it decides which data directory and key are "
                  "used; run `chmod go-w` on it");
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes)
    return cannot("larger than 64 KiB");
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return cannot(std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) return cannot("larger than 64 KiB");
  }
  return ParseConfigFile(text, path);
}

}  // namespace tillit::cli
