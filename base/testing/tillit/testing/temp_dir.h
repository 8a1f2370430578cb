// Helpers shared by unit tests (not part of any library).
#ifndef TILLIT_TESTING_TEMP_DIR_H_
#define TILLIT_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace tillit::testing {

// A fresh private directory, removed with its content on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tillit-test-XXXXXX")
            .string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// Flips one bit of the byte at `offset`.
inline void FlipByte(const std::string& path, size_t offset) {
  std::string data = ReadAll(path);
  data[offset] = static_cast<char>(data[offset] ^ 0x01);
  WriteAll(path, data);
}

}  // namespace tillit::testing

#endif  // TILLIT_TESTING_TEMP_DIR_H_
