#include "tillit/crypto/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

namespace tillit::crypto {
namespace {

std::vector<uint8_t> Draw(Random& rng, size_t n) {
  std::vector<uint8_t> out(n);
  rng.Fill(out);
  return out;
}

TEST(DeterministicRandomTest, SameSeedSameStream) {
  DeterministicRandom a(7);
  DeterministicRandom b(7);
  for (size_t n : {1u, 24u, 32u, 1000u}) EXPECT_EQ(Draw(a, n), Draw(b, n));
  EXPECT_TRUE(a.Secret(32).Equals(b.Secret(32)));
  EXPECT_EQ(a.Hex(16), b.Hex(16));
  EXPECT_EQ(a.Uniform(1000), b.Uniform(1000));
}

TEST(DeterministicRandomTest, DifferentSeedsDiffer) {
  DeterministicRandom a(1);
  DeterministicRandom b(2);
  EXPECT_NE(Draw(a, 32), Draw(b, 32));
}

TEST(DeterministicRandomTest, SuccessiveCallsDiffer) {
  DeterministicRandom a(3);
  EXPECT_NE(Draw(a, 32), Draw(a, 32));
}

TEST(DeterministicRandomTest, EmptyFillIsAllowed) {
  DeterministicRandom a(4);
  std::vector<uint8_t> none;
  a.Fill(none);
  SUCCEED();
}

TEST(SystemRandomTest, ProducesDistinctOutput) {
  Random& rng = Random::System();
  EXPECT_EQ(&rng, &Random::System());
  EXPECT_NE(Draw(rng, 32), Draw(rng, 32));
}

TEST(RandomTest, SecretHasRequestedSize) {
  DeterministicRandom rng(5);
  EXPECT_EQ(rng.Secret(32).size(), 32u);
  EXPECT_TRUE(rng.Secret(0).empty());
}

TEST(RandomTest, HexIsLowercaseOfRequestedLength) {
  DeterministicRandom rng(6);
  const std::string h = rng.Hex(20);
  ASSERT_EQ(h.size(), 40u);
  for (char c : h) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << c;
  }
  EXPECT_EQ(rng.Hex(0), "");
}

TEST(RandomTest, UniformStaysInRangeAndCoversIt) {
  DeterministicRandom rng(8);
  std::set<uint32_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const uint32_t v = rng.Uniform(10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 10u);
  EXPECT_EQ(rng.Uniform(1), 0u);
}

// Keys come from the Env the caller injects, not from a hidden global.
class CountingEnv final : public EnvWrapper {
 public:
  CountingEnv() : EnvWrapper(Env::Default()) {}
  void FillRandom(std::span<uint8_t> out) override {
    for (uint8_t& b : out) b = static_cast<uint8_t>(next_++);
  }

 private:
  int next_ = 0;
};

TEST(EnvRandomTest, DrawsFromTheInjectedEnv) {
  CountingEnv env;
  EnvRandom rng(&env);
  EXPECT_EQ(rng.Hex(4), "00010203");
  SecretBytes s = rng.Secret(2);
  EXPECT_EQ(s.ExposeSecret()[0], 4);
  EXPECT_EQ(s.ExposeSecret()[1], 5);
}

TEST(EnvRandomTest, SystemRandomIsTheDefaultEnvs) {
  EXPECT_NE(Random::System().Hex(16), Random::System().Hex(16));
}

}  // namespace
}  // namespace tillit::crypto
