#include "src/args.h"

#include <gtest/gtest.h>

namespace tillit::cli {
namespace {

Status ParseVec(Args& a, std::vector<std::string> v) {
  std::vector<char*> argv;
  for (auto& s : v) argv.push_back(s.data());
  return a.Parse(static_cast<int>(argv.size()), argv.data(), 0);
}

TEST(ArgsTest, FlagsOptionsAndPositionals) {
  Args a;
  a.Flag("json").Option("data");
  ASSERT_TRUE(ParseVec(a, {"--json", "--data", "d1", "x", "y"}).ok());
  EXPECT_TRUE(a.Has("json"));
  EXPECT_EQ(a.Get("data"), "d1");
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"x", "y"}));
}

TEST(ArgsTest, EqualsFormAndDoubleDash) {
  Args a;
  a.Option("data");
  ASSERT_TRUE(ParseVec(a, {"--data=d2", "--", "--not-an-option"}).ok());
  EXPECT_EQ(a.Get("data"), "d2");
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"--not-an-option"}));
}

TEST(ArgsTest, UnknownOptionIsAnError) {
  Args a;
  Status s = ParseVec(a, {"--bogus"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--bogus"), std::string::npos);
  Args b;
  EXPECT_FALSE(ParseVec(b, {"-x"}).ok());
}

TEST(ArgsTest, MissingValueIsAnError) {
  Args a;
  a.Option("data");
  Status s = ParseVec(a, {"--data"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("needs a value"), std::string::npos);
}

TEST(ArgsTest, FlagWithValueIsAnError) {
  Args a;
  a.Flag("json");
  EXPECT_FALSE(ParseVec(a, {"--json=yes"}).ok());
}

TEST(ArgsTest, LoneDashIsPositional) {
  Args a;
  ASSERT_TRUE(ParseVec(a, {"-"}).ok());
  EXPECT_EQ(a.positional(), (std::vector<std::string>{"-"}));
}

ConfigFile Config(const std::string& text) {
  auto f = ParseConfigFile(text, "t.conf");
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? *f : ConfigFile{};
}

Args Serve() {
  Args a;
  a.Option("config").Option("data").Option("threads").Flag("quiet").Flag(
      "passphrase-stdin");
  return a;
}

TEST(ArgsConfigTest, TheFileGivesWhatTheCommandLineDoesNot) {
  Args a = Serve();
  ASSERT_TRUE(ParseVec(a, {"--threads", "8"}).ok());
  ASSERT_TRUE(a.ApplyConfig(Config("data = /srv/d\nthreads = 4\n"
                                   "quiet = true\npassphrase-stdin = false\n"),
                            {"config"})
                  .ok());
  EXPECT_EQ(a.Get("data"), "/srv/d");
  EXPECT_EQ(a.Get("threads"), "8");  // the command line wins
  EXPECT_TRUE(a.Has("quiet"));
  EXPECT_FALSE(a.Has("passphrase-stdin"));
  EXPECT_EQ(a.Origin("data"), "data (t.conf line 1)");
  EXPECT_EQ(a.Origin("threads"), "--threads");
  EXPECT_EQ(a.Origin("quiet"), "quiet (t.conf line 3)");
  EXPECT_EQ(a.Origin("config"), "--config");
}

TEST(ArgsConfigTest, AFlagOnTheCommandLineWinsOverFalse) {
  Args a = Serve();
  ASSERT_TRUE(ParseVec(a, {"--quiet"}).ok());
  ASSERT_TRUE(a.ApplyConfig(Config("quiet = false\n"), {}).ok());
  EXPECT_TRUE(a.Has("quiet"));
  EXPECT_EQ(a.Origin("quiet"), "--quiet");
}

TEST(ArgsConfigTest, AnUnknownKeyNamesItsLineAndTheKeys) {
  Args a = Serve();
  ASSERT_TRUE(ParseVec(a, {}).ok());
  Status s =
      a.ApplyConfig(Config("data = /srv/d\n\nlisten = a:1\n"), {"config"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("t.conf line 3: unknown key `listen`"),
            std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("the keys are: data, threads, passphrase-stdin, "
                             "quiet"),
            std::string::npos)
      << s.message();
  // Nothing was taken from a file that failed.
  EXPECT_FALSE(a.Get("data").has_value());
}

TEST(ArgsConfigTest, RefusedKeysAreUnknown) {
  Args a = Serve();
  ASSERT_TRUE(ParseVec(a, {}).ok());
  Status s = a.ApplyConfig(Config("config = other.conf\n"), {"config"});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("line 1: unknown key `config`"), std::string::npos)
      << s.message();
  EXPECT_EQ(s.message().find("config,"), std::string::npos) << s.message();
}

TEST(ArgsConfigTest, ASecretIsNoKeyAndItsValueIsNotRepeated) {
  for (const char* key :
       {"passphrase", "root-passphrase", "admin-token", "password", "secret"}) {
    Args a = Serve();
    ASSERT_TRUE(ParseVec(a, {}).ok());
    Status s = a.ApplyConfig(
        Config(std::string(key) + " = correct-horse-battery\n"), {});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(s.message().find("no secret belongs in a configuration file"),
              std::string::npos)
        << s.message();
    EXPECT_EQ(s.message().find("correct-horse"), std::string::npos)
        << s.message();
  }
}

TEST(ArgsConfigTest, AFlagIsTrueOrFalse) {
  for (const char* value : {"yes", "1", "True", "on"}) {
    Args a = Serve();
    ASSERT_TRUE(ParseVec(a, {}).ok());
    Status s = a.ApplyConfig(
        Config("data = /srv/d\nquiet = " + std::string(value) + "\n"), {});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << value;
    EXPECT_NE(s.message().find("t.conf line 2: `quiet` is true or false"),
              std::string::npos)
        << s.message();
    EXPECT_FALSE(a.Has("quiet"));
    EXPECT_FALSE(a.Get("data").has_value());
  }
}

}  // namespace
}  // namespace tillit::cli
