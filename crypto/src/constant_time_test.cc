#include "tillit/crypto/constant_time.h"

#include <gtest/gtest.h>

#include <vector>

namespace tillit::crypto {
namespace {

TEST(ConstantTimeEqualsTest, EqualBytes) {
  const std::vector<uint8_t> a = {1, 2, 3, 4};
  const std::vector<uint8_t> b = {1, 2, 3, 4};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
}

TEST(ConstantTimeEqualsTest, DifferenceAnywhereIsFound) {
  const std::vector<uint8_t> a(64, 0x5a);
  for (size_t i = 0; i < a.size(); ++i) {
    std::vector<uint8_t> b = a;
    b[i] ^= 0x01;
    EXPECT_FALSE(ConstantTimeEquals(a, b)) << i;
  }
}

TEST(ConstantTimeEqualsTest, DifferentLengthsAreUnequal) {
  const std::vector<uint8_t> a = {1, 2, 3};
  const std::vector<uint8_t> prefix = {1, 2};
  EXPECT_FALSE(ConstantTimeEquals(a, prefix));
  EXPECT_FALSE(ConstantTimeEquals(prefix, a));
  EXPECT_FALSE(ConstantTimeEquals(a, {}));
}

TEST(ConstantTimeEqualsTest, EmptySpansAreEqual) {
  EXPECT_TRUE(ConstantTimeEquals({}, {}));
}

}  // namespace
}  // namespace tillit::crypto
