// CliTest: runs `tillit` in-process (RunCli) in a fresh temporary
// directory, for the command line's tests.
//
// Thread-safety: a test runs one command at a time.
#ifndef TILLIT_CLI_SRC_CLI_FIXTURE_H_
#define TILLIT_CLI_SRC_CLI_FIXTURE_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tillit/cli/cli.h"
#include "tillit/vault/vault.h"

namespace tillit::cli {

struct Result {
  int code;
  std::string out;
  std::string err;
};

// Runs `tillit ARGS...` with `stdin_text` on standard input.
inline Result Tillit(std::vector<std::string> args,
                     const std::string& stdin_text = "") {
  args.insert(args.begin(), "tillit");
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  int code = RunCli(static_cast<int>(argv.size()), argv.data(), out, err, in);
  return {code, out.str(), err.str()};
}

inline std::string ReadWhole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// dir_: a new temporary directory, removed afterwards; data_: DIR/data,
// not created. TILLIT_DATA and TILLIT_KEY_FILE are unset.
class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tillit-cli-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    data_ = dir_ + "/data";
    unsetenv("TILLIT_DATA");
    unsetenv("TILLIT_KEY_FILE");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<vault::Vault> OpenVault(const std::string& dir = "") {
    vault::VaultOptions o;
    o.data_dir = dir.empty() ? data_ : dir;
    auto v = vault::Vault::Open(o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : nullptr;
  }
  std::string dir_, data_;
};

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_CLI_FIXTURE_H_
