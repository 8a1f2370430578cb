#include "tillit/crypto/secret.h"

#include <gtest/gtest.h>

#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace tillit::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);
static_assert(std::is_nothrow_move_assignable_v<SecretBytes>);

std::string_view View(const SecretBytes& s) {
  return {reinterpret_cast<const char*>(s.ExposeSecret()), s.size()};
}

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.size(), 0u);
  EXPECT_TRUE(s.ExposeSecretSpan().empty());
}

TEST(SecretBytesTest, AllocateIsZeroFilled) {
  SecretBytes s = SecretBytes::Allocate(32);
  ASSERT_EQ(s.size(), 32u);
  for (uint8_t b : s.ExposeSecretSpan()) EXPECT_EQ(b, 0);
  EXPECT_TRUE(SecretBytes::Allocate(0).empty());
}

TEST(SecretBytesTest, CopyFromKeepsBytes) {
  SecretBytes s = SecretBytes::CopyFrom(std::string_view("hunter2"));
  EXPECT_EQ(View(s), "hunter2");
  const uint8_t raw[] = {1, 2, 3};
  SecretBytes t = SecretBytes::CopyFrom(std::span<const uint8_t>(raw));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t.ExposeSecret()[2], 3);
  EXPECT_TRUE(SecretBytes::CopyFrom(std::string_view()).empty());
}

TEST(SecretBytesTest, MoveConstructionEmptiesTheSource) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("key"));
  const uint8_t* where = a.ExposeSecret();
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract
  EXPECT_EQ(a.ExposeSecret(), nullptr);
  EXPECT_EQ(b.ExposeSecret(), where);
  EXPECT_EQ(View(b), "key");
}

TEST(SecretBytesTest, MoveAssignmentReplacesAndEmptiesTheSource) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("new"));
  SecretBytes b = SecretBytes::CopyFrom(std::string_view("old value"));
  b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(View(b), "new");
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsTheValue) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("same"));
  SecretBytes& alias = a;
  a = std::move(alias);
  EXPECT_EQ(View(a), "same");
}

TEST(SecretBytesTest, CloneIsIndependent) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abcd"));
  SecretBytes b = a.Clone();
  EXPECT_TRUE(a.Equals(b));
  EXPECT_NE(a.ExposeSecret(), b.ExposeSecret());
  b.ExposeSecret()[0] = 'z';
  EXPECT_EQ(View(a), "abcd");
  EXPECT_FALSE(a.Equals(b));
  EXPECT_TRUE(SecretBytes().Clone().empty());
}

TEST(SecretBytesTest, Equals) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abcd"));
  EXPECT_TRUE(a.Equals(SecretBytes::CopyFrom(std::string_view("abcd"))));
  EXPECT_FALSE(a.Equals(SecretBytes::CopyFrom(std::string_view("abce"))));
  EXPECT_FALSE(a.Equals(SecretBytes::CopyFrom(std::string_view("abc"))));
  EXPECT_FALSE(a.Equals(SecretBytes()));
  EXPECT_TRUE(SecretBytes().Equals(SecretBytes()));
}

TEST(SecretBytesTest, IsAllZero) {
  EXPECT_TRUE(SecretBytes().IsAllZero());
  EXPECT_TRUE(SecretBytes::Allocate(32).IsAllZero());
  for (size_t at : {0u, 17u, 31u}) {
    SecretBytes s = SecretBytes::Allocate(32);
    s.ExposeSecret()[at] = 0x80;
    EXPECT_FALSE(s.IsAllZero()) << at;
  }
  EXPECT_FALSE(SecretBytes::CopyFrom(std::string_view("k")).IsAllZero());
}

TEST(WipeTest, ZeroesEveryByte) {
  std::vector<uint8_t> bytes = {1, 2, 3, 0xff};
  Wipe(bytes);
  EXPECT_EQ(bytes, std::vector<uint8_t>(4, 0));
  std::vector<uint8_t> empty;
  Wipe(empty);
  EXPECT_TRUE(empty.empty());
}

}  // namespace
}  // namespace tillit::crypto
