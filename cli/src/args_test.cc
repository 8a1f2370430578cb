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

}  // namespace
}  // namespace tillit::cli
