// `tillit serve --config FILE` through RunCli: every problem with the file
// is a usage error before anything opens, and the file's values reach the
// server (config_file_test.cc tests the file format itself).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "src/cli_fixture.h"

namespace tillit::cli {
namespace {

// Writes a configuration file that only its owner may write.
std::string WriteConfig(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
  EXPECT_EQ(::chmod(path.c_str(), 0600), 0);
  return path;
}

TEST_F(CliTest, ServeConfigFileProblemsAreUsageErrors) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  const std::string conf = dir_ + "/tillit.conf";
  // FILE stands for the file's path in the expected message.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"listen = 127.0.0.1:0\nlisne = x\n", "FILE line 2: unknown key `lisne`"},
      {"threads = 8\n\nthreads = 9\n",
       "FILE line 3: `threads` is set again (first on line 1)"},
      {"# c\nthreads = 0\n", "threads (FILE line 2): 1 to 4096"},
      {"listen = 127.0.0.1:99999\n", "listen (FILE line 1) takes HOST:PORT"},
      {"log-format = yaml\n", "log-format (FILE line 1): text or json"},
      {"opt-out-break-glass = no\n",
       "opt-out-break-glass (FILE line 1): allow or deny"},
      {"rectification-provider = p_1\n",
       "rectification-provider (FILE line 1): a provider id"},
      {"guardian-hidden-categories = sexual-health\n",
       "guardian-hidden-categories (FILE line 1): record category names"},
      {"max-body = 10\n", "max-body (FILE line 1): 1024 to 2^40 bytes"},
      {"cache = 0\n", "cache (FILE line 1): 1 to 100000"},
      {"rate = fast\n", "rate (FILE line 1): requests per second"},
      {"tls-cert = /c.pem\n", "tls-cert (FILE line 1) needs --tls-key"},
      {"quiet = yes\n", "FILE line 1: `quiet` is true or false"},
      {"listen 127.0.0.1:0\n", "FILE line 1: expected `key = value`"},
      {"data = \"/var/lib/tillit\"\n", "FILE line 1: write the value"},
      {"threads = 8 # more\n", "a comment must be on a line of its own"},
      {"passphrase = hunter22\n", "no secret belongs in a configuration"},
      {"config = other.conf\n", "FILE line 1: unknown key `config`"},
      {"help = true\n", "FILE line 1: unknown key `help`"},
      {"--listen = 127.0.0.1:0\n", "write the key without dashes"},
  };
  for (const auto& [text, expected] : cases) {
    WriteConfig(conf, text);
    Result r = Tillit({"serve", "--config", conf});
    std::string want = expected;
    if (size_t at = want.find("FILE"); at != std::string::npos)
      want.replace(at, 4, conf);
    EXPECT_EQ(r.code, 2) << text << r.err;
    EXPECT_EQ(r.err.rfind("tillit serve: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(want), std::string::npos) << text << "\n" << r.err;
    EXPECT_EQ(r.out, "") << text;
    EXPECT_EQ(r.err.find("hunter22"), std::string::npos) << r.err;
  }
  // The file must be valid on its own, also where a flag overrides it.
  WriteConfig(conf, "threads = 0\n");
  Result overridden = Tillit({"serve", "--config", conf, "--threads", "4"});
  EXPECT_EQ(overridden.code, 2);
  EXPECT_NE(overridden.err.find("threads (" + conf + " line 1)"),
            std::string::npos)
      << overridden.err;

  Result missing = Tillit({"serve", "--config", dir_ + "/none.conf"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("cannot use the configuration file " + dir_ +
                             "/none.conf"),
            std::string::npos)
      << missing.err;
  Result directory = Tillit({"serve", "--config", dir_});
  EXPECT_EQ(directory.code, 2);
  EXPECT_NE(directory.err.find("not a regular file"), std::string::npos)
      << directory.err;
  EXPECT_EQ(Tillit({"serve", "--config"}).code, 2);

  WriteConfig(conf, "listen = 127.0.0.1:0\n");
  for (mode_t mode : {0664, 0646}) {
    ASSERT_EQ(::chmod(conf.c_str(), mode), 0);
    Result open = Tillit({"serve", "--config", conf});
    EXPECT_EQ(open.code, 2) << mode;
    EXPECT_NE(open.err.find("group or others may write it"), std::string::npos)
        << open.err;
    EXPECT_EQ(open.out, "");
  }
}

// The file names the data directory and the key (the server cannot open
// this one, so the test ends before anything listens); the command line
// still wins, and the file wins over the environment.
TEST_F(CliTest, ServeTakesTheDataAndKeyFromTheConfigFile) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  const std::string conf =
      WriteConfig(dir_ + "/tillit.conf", "# the service\ndata = " + data_ +
                                             "\nkey-file = " + dir_ +
                                             "/no.key\nlisten = 127.0.0.1:0\n");
  setenv("TILLIT_DATA", (dir_ + "/elsewhere").c_str(), 1);
  Result r = Tillit({"serve", "--config", conf});
  unsetenv("TILLIT_DATA");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_EQ(r.err.rfind("tillit serve: root keys", 0), 0u) << r.err;
  EXPECT_EQ(r.out, "");

  Result flag =
      Tillit({"serve", "--config", conf, "--data", dir_ + "/elsewhere"});
  EXPECT_EQ(flag.code, 1);
  EXPECT_NE(flag.err.find("no vault in this data directory"), std::string::npos)
      << flag.err;

  // A flag from the file: the passphrase is read from standard input.
  WriteConfig(conf, "data = " + data_ + "\npassphrase-stdin = true\n");
  Result sealed = Tillit({"serve", "--config", conf}, "");
  EXPECT_EQ(sealed.code, 1);
  EXPECT_NE(sealed.err.find("empty passphrase on standard input"),
            std::string::npos)
      << sealed.err;
}

}  // namespace
}  // namespace tillit::cli
