#include "tillit/research/dp.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <span>
#include <utility>
#include <vector>

// Statistical tests of the noise samplers. Every stream is a fixed function
// of its seed, so each test is deterministic; the bounds (5 standard
// deviations, the 0.999 quantile of chi-square) are wide enough that a
// correct sampler passes for almost every seed and narrow enough that a
// wrong scale, a biased coin or a doubled zero fails (see WrongScaleFails).

namespace tillit::research::dp {
namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();

// DeterministicRandom derives a fresh ChaCha20 key on every Fill and the
// samplers ask for 8 bytes at a time; reading it in 4 KiB blocks keeps a
// million draws well inside the file's time budget. The stream stays a
// fixed function of the seed.
class BufferedRandom final : public crypto::Random {
 public:
  explicit BufferedRandom(uint64_t seed) : inner_(seed) {}

  void Fill(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      if (pos_ == block_.size()) {
        inner_.Fill(block_);
        pos_ = 0;
      }
      const size_t n = std::min(out.size() - done, block_.size() - pos_);
      std::memcpy(out.data() + done, block_.data() + pos_, n);
      pos_ += n;
      done += n;
    }
  }

 private:
  crypto::DeterministicRandom inner_;
  std::array<uint8_t, 4096> block_{};
  size_t pos_ = block_.size();
};

// A Random that must not be asked: the documented no-draw paths.
class NoDrawRandom final : public crypto::Random {
 public:
  void Fill(std::span<uint8_t>) override { ADD_FAILURE() << "drew bytes"; }
};

// The 0.999 quantile of chi-square with `df` degrees of freedom, by
// Wilson–Hilferty: df (1 - h + z sqrt(h))^3 with h = 2 / (9 df) and z the
// standard normal 0.999 quantile. It is slightly above the table value for
// every df these tests use (see ChiSquareQuantileTest), so a little lenient.
double ChiSquare999(int df) {
  constexpr double kZ999 = 3.090232306167813;
  const double h = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - h + kZ999 * std::sqrt(h), 3);
}

// Pearson's statistic of observed against expected counts (same bins).
double ChiSquare(const std::vector<double>& observed,
                 const std::vector<double>& expected) {
  double stat = 0;
  for (size_t i = 0; i < observed.size(); ++i) {
    const double d = observed[i] - expected[i];
    stat += d * d / expected[i];
  }
  return stat;
}

// |frequency - p| for `hits` out of `n` Bernoulli(p) trials, in standard
// deviations of the binomial.
double Sigmas(int64_t hits, int64_t n, double p) {
  const double sd = std::sqrt(p * (1 - p) / static_cast<double>(n));
  return std::fabs(static_cast<double>(hits) / n - p) / sd;
}

// The discrete Laplace law written out independently of dp.cc:
// P(x) = (1-p)/(1+p) p^|x| and P(x > m) = p^(m+1) / (1+p), p = exp(-1/t).
double ReferencePmf(double scale, int64_t x) {
  const double p = std::exp(-1.0 / scale);
  return (1 - p) / (1 + p) * std::pow(p, std::fabs(static_cast<double>(x)));
}
double ReferenceUpperTail(double scale, int64_t m) {
  const double p = std::exp(-1.0 / scale);
  return std::pow(p, m + 1.0) / (1 + p);
}

struct Fit {
  double statistic = 0;
  int df = 0;
};

// Chi-square goodness of fit of `draws` to discrete Laplace(scale): one bin
// per x in [-m, m] and one for each tail, m the largest value with an
// expected count >= 5 in bin m and in each tail bin.
Fit FitDiscreteLaplace(const std::vector<int64_t>& draws, double scale) {
  const double n = static_cast<double>(draws.size());
  int64_t m = 0;
  while (n * ReferencePmf(scale, m + 1) >= 5 &&
         n * ReferenceUpperTail(scale, m + 1) >= 5) {
    ++m;
  }
  std::map<int64_t, int64_t> counts;
  for (int64_t x : draws) counts[std::clamp<int64_t>(x, -m - 1, m + 1)]++;
  std::vector<double> observed;
  std::vector<double> expected;
  for (int64_t x = -m - 1; x <= m + 1; ++x) {
    observed.push_back(static_cast<double>(counts[x]));
    expected.push_back(x < -m || x > m ? n * ReferenceUpperTail(scale, m)
                                       : n * ReferencePmf(scale, x));
  }
  return {ChiSquare(observed, expected), static_cast<int>(2 * m + 2)};
}

std::vector<int64_t> LaplaceDraws(uint64_t seed, uint64_t num, uint64_t den,
                                  int count) {
  BufferedRandom rng(seed);
  std::vector<int64_t> draws(count);
  for (int64_t& x : draws) x = SampleDiscreteLaplace(rng, num, den);
  return draws;
}

TEST(ChiSquareQuantileTest, WithinTwoPercentAboveTheTable) {
  // Table values of the 0.999 quantile (inverse regularized gamma).
  for (auto [df, table] : std::vector<std::pair<int, double>>{{6, 22.458},
                                                              {10, 29.588},
                                                              {18, 42.312},
                                                              {42, 76.084},
                                                              {99, 148.230},
                                                              {250, 324.832}}) {
    EXPECT_GE(ChiSquare999(df), table) << df;
    EXPECT_LE(ChiSquare999(df), table * 1.02) << df;
  }
}

TEST(SampleUniformTest, SevenValuesFitUniform) {
  BufferedRandom rng(1);
  constexpr int kDraws = 140'000;
  std::vector<double> observed(7, 0);
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t x = SampleUniform(rng, 7);
    ASSERT_LT(x, 7u);
    observed[x] += 1;
  }
  const std::vector<double> expected(7, kDraws / 7.0);
  EXPECT_LT(ChiSquare(observed, expected), ChiSquare999(6));
}

TEST(SampleUniformTest, LargePrimeFitsUniformInHundredBuckets) {
  BufferedRandom rng(2);
  constexpr uint64_t kN = 1'000'003;
  constexpr int kBuckets = 100;
  constexpr int kDraws = 100'000;
  std::vector<double> observed(kBuckets, 0);
  for (int i = 0; i < kDraws; ++i) {
    const uint64_t x = SampleUniform(rng, kN);
    ASSERT_LT(x, kN);
    observed[x * kBuckets / kN] += 1;
  }
  // Bucket b holds the x with x * 100 / n == b: from ceil(b n / 100).
  std::vector<double> expected(kBuckets);
  for (uint64_t b = 0; b < kBuckets; ++b) {
    const uint64_t lo = (b * kN + kBuckets - 1) / kBuckets;
    const uint64_t hi = ((b + 1) * kN + kBuckets - 1) / kBuckets;
    expected[b] = kDraws * static_cast<double>(hi - lo) / kN;
  }
  EXPECT_LT(ChiSquare(observed, expected), ChiSquare999(kBuckets - 1));
}

// For n = 2^63 + 1 almost half of all 64-bit draws must be rejected: a
// plain draw % n would put nearly every value in the lower half.
TEST(SampleUniformTest, NoModuloBiasNearTwoToTheSixtyFour) {
  BufferedRandom rng(3);
  constexpr int kDraws = 20'000;
  for (uint64_t n : {(uint64_t{1} << 63) + 1, kUint64Max}) {
    int64_t lower_half = 0;
    for (int i = 0; i < kDraws; ++i) {
      const uint64_t x = SampleUniform(rng, n);
      ASSERT_LT(x, n);
      if (x < n / 2) ++lower_half;
    }
    EXPECT_LT(Sigmas(lower_half, kDraws, 0.5), 5) << n;
  }
}

TEST(SampleUniformTest, OneAndZeroGiveZeroWithoutDrawing) {
  NoDrawRandom rng;
  EXPECT_EQ(SampleUniform(rng, 1), 0u);
  EXPECT_EQ(SampleUniform(rng, 0), 0u);
}

TEST(SampleBernoulliTest, CertainOutcomes) {
  BufferedRandom rng(4);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_FALSE(SampleBernoulli(rng, 0, 5));
    ASSERT_TRUE(SampleBernoulli(rng, 5, 5));
    ASSERT_FALSE(SampleBernoulli(rng, 0, kUint64Max));
    ASSERT_TRUE(SampleBernoulli(rng, kUint64Max, kUint64Max));
  }
}

TEST(SampleBernoulliTest, OutOfContractFallsBackWithoutDrawing) {
  NoDrawRandom rng;
  EXPECT_FALSE(SampleBernoulli(rng, 0, 0));
  EXPECT_FALSE(SampleBernoulli(rng, 1, 0));  // den == 0: false
  EXPECT_TRUE(SampleBernoulli(rng, 7, 3));   // num > den: clamped to 1
}

TEST(SampleBernoulliTest, FrequenciesMatch) {
  BufferedRandom rng(5);
  constexpr int kDraws = 100'000;
  struct Case {
    uint64_t num, den;
  };
  for (Case c : {Case{1, 3}, Case{uint64_t{1} << 62, kUint64Max}}) {
    int64_t hits = 0;
    for (int i = 0; i < kDraws; ++i) hits += SampleBernoulli(rng, c.num, c.den);
    const double p = static_cast<double>(c.num) / static_cast<double>(c.den);
    EXPECT_LT(Sigmas(hits, kDraws, p), 5) << c.num << "/" << c.den;
  }
}

TEST(SampleBernoulliExpTest, ZeroIsAlwaysTrueWithoutDrawing) {
  NoDrawRandom rng;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(SampleBernoulliExp(rng, 0, 7));
}

TEST(SampleBernoulliExpTest, ZeroDenominatorIsFalseWithoutDrawing) {
  NoDrawRandom rng;
  EXPECT_FALSE(SampleBernoulliExp(rng, 0, 0));
  EXPECT_FALSE(SampleBernoulliExp(rng, 3, 0));
}

TEST(SampleBernoulliExpTest, FrequenciesMatchExp) {
  BufferedRandom rng(6);
  constexpr int kDraws = 100'000;
  struct Case {
    uint64_t num, den;
  };
  // 3*2^61 / 2^63 = 0.75 with a den whose multiples overflow 64 bits.
  for (Case c : {Case{1, 2}, Case{1, 1}, Case{5, 2}, Case{7, 7},
                 Case{3 * (uint64_t{1} << 61), uint64_t{1} << 63}}) {
    int64_t hits = 0;
    for (int i = 0; i < kDraws; ++i) {
      hits += SampleBernoulliExp(rng, c.num, c.den);
    }
    const double p =
        std::exp(-static_cast<double>(c.num) / static_cast<double>(c.den));
    EXPECT_LT(Sigmas(hits, kDraws, p), 5) << c.num << "/" << c.den;
  }
}

TEST(SampleBernoulliExpTest, LargeExponentsAreFalseAndFinish) {
  BufferedRandom rng(7);
  for (int i = 0; i < 10'000; ++i) {
    ASSERT_FALSE(SampleBernoulliExp(rng, 40, 1));  // exp(-40) ~ 4e-18
    ASSERT_FALSE(SampleBernoulliExp(rng, kUint64Max, 1));
  }
}

struct Scale {
  uint64_t num, den;
};

class DiscreteLaplaceTest : public ::testing::TestWithParam<Scale> {};

// Scales 1, 2.5, 20, and 2.5 as an unreduced fraction (as a caller that
// does not reduce would pass it).
INSTANTIATE_TEST_SUITE_P(Scales, DiscreteLaplaceTest,
                         ::testing::Values(Scale{1, 1}, Scale{5, 2},
                                           Scale{20, 1},
                                           Scale{3'000'000, 1'200'000}));

TEST_P(DiscreteLaplaceTest, FitsTheExactPmf) {
  const Scale s = GetParam();
  const double scale = static_cast<double>(s.num) / s.den;
  const std::vector<int64_t> draws =
      LaplaceDraws(10 + s.num, s.num, s.den, 100'000);
  const Fit fit = FitDiscreteLaplace(draws, scale);
  EXPECT_LT(fit.statistic, ChiSquare999(fit.df)) << "df " << fit.df;

  // Mean 0 within 5 standard errors (variance 2p / (1-p)^2).
  const double n = static_cast<double>(draws.size());
  double sum = 0;
  int64_t positive = 0;
  int64_t negative = 0;
  for (int64_t x : draws) {
    sum += static_cast<double>(x);
    positive += x > 0;
    negative += x < 0;
  }
  const double p = std::exp(-1.0 / scale);
  const double sd = std::sqrt(2 * p) / (1 - p);
  EXPECT_LT(std::fabs(sum / n), 5 * sd / std::sqrt(n));
  // Symmetry: the sign of a non-zero draw is a fair coin.
  EXPECT_LT(Sigmas(positive, positive + negative, 0.5), 5);
  // Zero has its own mass, not twice it (the rejected negative zero).
  const int64_t zeros =
      static_cast<int64_t>(draws.size()) - positive - negative;
  EXPECT_LT(Sigmas(zeros, positive + negative + zeros, ReferencePmf(scale, 0)),
            5);
}

// The goodness-of-fit test can fail: draws of scale 2 are rejected as
// scale 2.5, while the same draws pass as scale 2.
TEST(DiscreteLaplaceFitTest, WrongScaleFails) {
  const std::vector<int64_t> draws = LaplaceDraws(20, 2, 1, 100'000);
  const Fit wrong = FitDiscreteLaplace(draws, 2.5);
  EXPECT_GT(wrong.statistic, ChiSquare999(wrong.df));
  const Fit right = FitDiscreteLaplace(draws, 2.0);
  EXPECT_LT(right.statistic, ChiSquare999(right.df));
}

TEST(DiscreteLaplaceFitTest, SameSeedSameDraws) {
  EXPECT_EQ(LaplaceDraws(21, 5, 2, 1000), LaplaceDraws(21, 5, 2, 1000));
  EXPECT_NE(LaplaceDraws(21, 5, 2, 1000), LaplaceDraws(22, 5, 2, 1000));
}

// At a scale near 2^64 a draw is often beyond int64: its magnitude is
// clamped to INT64_MAX, and -INT64_MAX is the lowest value returned.
TEST(DiscreteLaplaceFitTest, HugeScaleClampsMagnitude) {
  const std::vector<int64_t> draws = LaplaceDraws(23, kUint64Max, 1, 200);
  int64_t clamped = 0;
  for (int64_t x : draws) {
    ASSERT_NE(x, kInt64Min);
    clamped += x == kInt64Max || x == -kInt64Max;
  }
  EXPECT_GT(clamped, 0);
}

TEST(DiscreteLaplaceDeathTest, ZeroScaleAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BufferedRandom rng(24);
  EXPECT_DEATH(SampleDiscreteLaplace(rng, 0, 1), "discrete Laplace needs");
  EXPECT_DEATH(SampleDiscreteLaplace(rng, 1, 0), "discrete Laplace needs");
}

LaplaceMechanism Mechanism(int64_t sensitivity, int64_t epsilon_micro) {
  LaplaceMechanism m;
  m.sensitivity = sensitivity;
  m.epsilon_micro = epsilon_micro;
  return m;
}

TEST(LaplaceMechanismTest, ScaleIsSensitivityOverEpsilon) {
  EXPECT_DOUBLE_EQ(Mechanism(1, 1'000'000).Scale(), 1.0);
  EXPECT_DOUBLE_EQ(Mechanism(3, 500'000).Scale(), 6.0);
  EXPECT_DOUBLE_EQ(Mechanism(5, 2'000'000).Scale(), 2.5);
  EXPECT_DOUBLE_EQ(Mechanism(1, 100'000).Scale(), 10.0);
}

TEST(LaplaceMechanismTest, PmfIsTheDiscreteLaplaceAndSumsToOne) {
  for (LaplaceMechanism m : {Mechanism(1, 1'000'000), Mechanism(5, 2'000'000),
                             Mechanism(1'000, 1'000'000)}) {
    const double scale = m.Scale();
    const int64_t range = static_cast<int64_t>(60 * scale) + 10;
    double total = 0;
    for (int64_t x = -range; x <= range; ++x) {
      ASSERT_NEAR(m.Pmf(x), ReferencePmf(scale, x), 1e-12) << x;
      ASSERT_EQ(m.Pmf(x), m.Pmf(-x));
      total += m.Pmf(x);
    }
    EXPECT_NEAR(total, 1.0, 1e-9) << scale;
    EXPECT_EQ(m.Pmf(kInt64Min), 0.0);
  }
}

TEST(LaplaceMechanismTest, TailAboveIsOneMinusTheCentre) {
  const LaplaceMechanism m = Mechanism(5, 2'000'000);
  EXPECT_EQ(m.TailAbove(-1), 1.0);
  EXPECT_EQ(m.TailAbove(kInt64Min), 1.0);
  double centre = 0;
  for (int64_t k = 0; k <= 30; ++k) {
    centre += k == 0 ? m.Pmf(0) : 2 * m.Pmf(k);
    EXPECT_NEAR(m.TailAbove(k), 1 - centre, 1e-12) << k;
  }
}

// ε = 1, Δ = 1: scale 1, p = e^-1, P(|noise| > k) = 2 e^-(k+1) / (1 + e^-1).
//   k = 2: 2 e^-3 / 1.3679 = 0.0728 > 0.05
//   k = 3: 2 e^-4 / 1.3679 = 0.0268 <= 0.05
// so the 95 % bound is 3. At 99 %: k = 4 gives 0.0099 <= 0.01 and k = 3
// gives 0.0268, so 4.
TEST(LaplaceMechanismTest, ErrorBoundByHand) {
  const LaplaceMechanism m = Mechanism(1, 1'000'000);
  EXPECT_EQ(m.ErrorBound(), 3);
  EXPECT_EQ(m.ErrorBound(0.95), 3);
  EXPECT_EQ(m.ErrorBound(0.99), 4);
  // Scale 10 (ε = 0.1): k + 1 >= 10 ln(2 / (0.05 (1 + e^-0.1))) = 30.44.
  EXPECT_EQ(Mechanism(1, 100'000).ErrorBound(), 30);
  // Scale 0.5 (ε = 2): k + 1 >= 0.5 ln(2 / (0.05 (1 + e^-2))) = 1.78.
  EXPECT_EQ(Mechanism(1, 2'000'000).ErrorBound(), 1);
}

TEST(LaplaceMechanismTest, ErrorBoundIsTheSmallestThatHolds) {
  for (LaplaceMechanism m :
       {Mechanism(1, 1'000'000), Mechanism(5, 2'000'000), Mechanism(1, 100'000),
        Mechanism(100, 1'000'000), Mechanism(7, 3), Mechanism(1, 50'000'000)}) {
    for (double confidence : {0.5, 0.9, 0.95, 0.99, 0.999}) {
      const int64_t k = m.ErrorBound(confidence);
      ASSERT_GE(k, 0);
      EXPECT_LE(m.TailAbove(k), 1 - confidence) << m.Scale();
      if (k > 0) {
        EXPECT_GT(m.TailAbove(k - 1), 1 - confidence) << m.Scale();
      }
    }
  }
}

TEST(LaplaceMechanismTest, ErrorBoundEdges) {
  const LaplaceMechanism m = Mechanism(1, 1'000'000);
  EXPECT_EQ(m.ErrorBound(0.0), 0);
  EXPECT_EQ(m.ErrorBound(-1.0), 0);
  EXPECT_EQ(m.ErrorBound(1.0), kInt64Max);
  EXPECT_EQ(m.ErrorBound(1.5), kInt64Max);
  EXPECT_EQ(m.ErrorBound(std::nan("")), kInt64Max);
  // Scale 9.2e24: the bound is beyond int64.
  EXPECT_EQ(Mechanism(kInt64Max, 1).ErrorBound(), kInt64Max);
}

TEST(LaplaceMechanismTest, InvalidMechanismDescribesNothing) {
  for (LaplaceMechanism m :
       {Mechanism(0, 1'000'000), Mechanism(-1, 1'000'000), Mechanism(1, 0),
        Mechanism(1, -5), LaplaceMechanism{}}) {
    EXPECT_TRUE(std::isnan(m.Scale()));
    EXPECT_TRUE(std::isnan(m.Pmf(0)));
    EXPECT_TRUE(std::isnan(m.TailAbove(3)));
    EXPECT_EQ(m.ErrorBound(), kInt64Max);
  }
}

// Apply's noise is the mechanism's: ε = 2, Δ = 5 is scale 2.5 (sampled as
// 5/2 after reducing 5'000'000 / 2'000'000).
TEST(LaplaceMechanismTest, ApplyAddsNoiseOfTheMechanismsScale) {
  const LaplaceMechanism m = Mechanism(5, 2'000'000);
  BufferedRandom rng(30);
  std::vector<int64_t> noise(100'000);
  for (int64_t& x : noise) x = m.Apply(1'000, rng) - 1'000;
  const Fit fit = FitDiscreteLaplace(noise, 2.5);
  EXPECT_LT(fit.statistic, ChiSquare999(fit.df)) << "df " << fit.df;
}

// The empirical coverage of ErrorBound is its exact coverage
// 1 - TailAbove(k) >= 95 %: 97.3 % at scale 1 (the bound is an integer),
// 95.27 % at scale 10, each within 5 binomial standard deviations.
TEST(LaplaceMechanismTest, ErrorBoundCoverage) {
  BufferedRandom rng(31);
  constexpr int kDraws = 100'000;
  for (LaplaceMechanism m : {Mechanism(1, 1'000'000), Mechanism(1, 100'000)}) {
    const int64_t k = m.ErrorBound();
    int64_t inside = 0;
    for (int i = 0; i < kDraws; ++i) inside += std::abs(m.Apply(0, rng)) <= k;
    const double coverage = 1 - m.TailAbove(k);
    EXPECT_GE(coverage, 0.95);
    EXPECT_LT(Sigmas(inside, kDraws, coverage), 5) << m.Scale();
  }
  // At scale 10 the bound is tight: 95 % within a few tenths of a percent.
  const LaplaceMechanism fine = Mechanism(1, 100'000);
  EXPECT_NEAR(1 - fine.TailAbove(fine.ErrorBound()), 0.95, 0.003);
}

TEST(LaplaceMechanismTest, ApplySaturatesAtTheInt64Limits) {
  const LaplaceMechanism m = Mechanism(1, 1'000'000);
  BufferedRandom rng(32);
  int64_t at_max = 0;
  int64_t at_min = 0;
  for (int i = 0; i < 10'000; ++i) {
    const int64_t high = m.Apply(kInt64Max, rng);
    ASSERT_GT(high, kInt64Max - 100);  // never wrapped to a negative value
    at_max += high == kInt64Max;
    const int64_t low = m.Apply(kInt64Min, rng);
    ASSERT_LT(low, kInt64Min + 100);
    at_min += low == kInt64Min;
  }
  // P(noise >= 0) = Pmf(0) + TailAbove(0) / 2, about 73 % at scale 1.
  const double p = m.Pmf(0) + m.TailAbove(0) / 2;
  EXPECT_LT(Sigmas(at_max, 10'000, p), 5);
  EXPECT_LT(Sigmas(at_min, 10'000, p), 5);
}

TEST(LaplaceMechanismDeathTest, InvalidMechanismAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BufferedRandom rng(33);
  EXPECT_DEATH(Mechanism(1, 0).Apply(5, rng), "needs sensitivity >= 1");
  EXPECT_DEATH(Mechanism(1, -1).Apply(5, rng), "needs sensitivity >= 1");
  EXPECT_DEATH(Mechanism(0, 1'000'000).Apply(5, rng), "needs sensitivity >= 1");
  EXPECT_DEATH(LaplaceMechanism{}.Apply(5, rng), "needs sensitivity >= 1");
}

// INT64_MAX * 10^6 / 1 has no common factor to reduce and needs 83 bits.
TEST(LaplaceMechanismDeathTest, ScaleBeyondSixtyFourBitsAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BufferedRandom rng(34);
  EXPECT_DEATH(Mechanism(kInt64Max, 1).Apply(5, rng), "exceeds 64 bits");
}

// The largest sensitivity that still fits once reduced: INT64_MAX at
// ε = 1 is scale INT64_MAX (10^6 / 10^6 cancels).
TEST(LaplaceMechanismTest, HugeReducibleScaleStillSamples) {
  BufferedRandom rng(35);
  const LaplaceMechanism m = Mechanism(kInt64Max, 1'000'000);
  for (int i = 0; i < 100; ++i) {
    const int64_t x = m.Apply(0, rng);
    ASSERT_NE(x, kInt64Min);  // |noise| <= INT64_MAX
  }
}

}  // namespace
}  // namespace tillit::research::dp
