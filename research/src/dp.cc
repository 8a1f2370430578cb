#include "tillit/research/dp.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace tillit::research::dp {
namespace {

// 128-bit intermediates (GCC and Clang) keep the products of 64-bit
// numerators exact; every value is range-checked before it narrows.
using Int128 = __int128;
using Uint128 = unsigned __int128;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMicro = 1'000'000;  // epsilon_micro per unit of ε
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Ends the process: going on would release a value without the noise the
// caller was promised. The message names no data.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "tillit::research::dp: %s\n", what);
  std::abort();
}

bool IsValid(const LaplaceMechanism& m) {
  return m.sensitivity >= 1 && m.epsilon_micro > 0;
}

// a = 1 / scale = ε / sensitivity, so p = exp(-a). REQUIRES IsValid(m).
double InverseScale(const LaplaceMechanism& m) {
  return static_cast<double>(m.epsilon_micro) /
         (static_cast<double>(m.sensitivity) * static_cast<double>(kMicro));
}

Uint128 Gcd(Uint128 a, Uint128 b) {
  while (b != 0) {
    const Uint128 r = a % b;
    a = b;
    b = r;
  }
  return a;
}

}  // namespace

uint64_t SampleUniform(crypto::Random& rng, uint64_t n) {
  if (n <= 1) return 0;
  // Draws below 2^64 mod n are rejected: the accepted range [min, 2^64)
  // then holds each residue mod n equally often. Fewer than half of the
  // draws are rejected for any n.
  const uint64_t min = (0 - n) % n;  // (2^64 - n) mod n == 2^64 mod n
  uint64_t r;
  do {
    uint8_t bytes[sizeof(r)];
    rng.Fill(bytes);
    std::memcpy(&r, bytes, sizeof(r));
  } while (r < min);
  return r % n;
}

bool SampleBernoulli(crypto::Random& rng, uint64_t num, uint64_t den) {
  if (den == 0 || num == 0) return false;
  if (num >= den) return true;
  return SampleUniform(rng, den) < num;
}

bool SampleBernoulliExp(crypto::Random& rng, uint64_t num, uint64_t den) {
  if (den == 0) return false;
  if (num > den) {
    // γ = num/den > 1: exp(-γ) = exp(-1)^floor(γ) * exp(-(γ - floor(γ))),
    // a product of independent trials; the first failure decides.
    for (uint64_t i = num / den; i > 0; --i) {
      if (!SampleBernoulliExp(rng, 1, 1)) return false;
    }
    return SampleBernoulliExp(rng, num % den, den);
  }
  // γ in [0, 1]: K is the first k with A_k = 0, A_k ~ Bernoulli(γ/k). Then
  // P(K > k) = γ^k / k!, so P(K odd) = sum_j (-γ)^j / j! = exp(-γ).
  //
  // Bernoulli(γ/k) = Bernoulli(num / (den * k)) is drawn as
  // Bernoulli(num/den) AND Bernoulli(1/k): independent coins whose product
  // has exactly that probability, while den * k would overflow 64 bits for
  // a large den. (k itself stays tiny: P(K > k) <= 1/k!.)
  uint64_t k = 1;
  while (SampleBernoulli(rng, num, den) && SampleBernoulli(rng, 1, k)) ++k;
  return k % 2 == 1;
}

int64_t SampleDiscreteLaplace(crypto::Random& rng, uint64_t num, uint64_t den) {
  if (num == 0 || den == 0) {
    Die("discrete Laplace needs a scale num/den with num > 0 and den > 0");
  }
  // CKS20 Algorithm 2 with t = num, s = den: the result has
  // P(x) proportional to exp(-|x| * s / t).
  const uint64_t t = num;
  const uint64_t s = den;
  while (true) {
    // U uniform in [0, t), kept with probability exp(-U/t) ...
    const uint64_t u = SampleUniform(rng, t);
    if (!SampleBernoulliExp(rng, u, t)) continue;
    // ... and V ~ Geometric(1 - exp(-1)) make X = U + t*V a
    // Geometric(1 - exp(-1/t)), so Y = floor(X / s) is a
    // Geometric(1 - exp(-s/t)).
    uint64_t v = 0;
    while (SampleBernoulliExp(rng, 1, 1)) ++v;
    // u, t < 2^64 and v < 2^63 (P(V >= v) = exp(-v)): X fits 128 bits.
    const Uint128 x = Uint128{u} + Uint128{t} * v;
    const Uint128 y = x / s;
    const bool negative = SampleBernoulli(rng, 1, 2);
    // A negative zero would give 0 twice the mass it should have.
    if (negative && y == 0) continue;
    const int64_t magnitude = y > static_cast<Uint128>(kInt64Max)
                                  ? kInt64Max
                                  : static_cast<int64_t>(y);
    return negative ? -magnitude : magnitude;
  }
}

double LaplaceMechanism::Scale() const {
  if (!IsValid(*this)) return kNaN;
  return static_cast<double>(sensitivity) * static_cast<double>(kMicro) /
         static_cast<double>(epsilon_micro);
}

double LaplaceMechanism::Pmf(int64_t x) const {
  if (!IsValid(*this)) return kNaN;
  const double a = InverseScale(*this);
  // (1-p)/(1+p) = tanh(a/2), accurate also when p is close to 1.
  return std::tanh(a / 2) * std::exp(-std::fabs(static_cast<double>(x)) * a);
}

double LaplaceMechanism::TailAbove(int64_t k) const {
  if (!IsValid(*this)) return kNaN;
  if (k < 0) return 1.0;
  // sum over |x| > k of (1-p)/(1+p) p^|x| = 2 p^(k+1) / (1+p).
  const double a = InverseScale(*this);
  return 2.0 * std::exp(-(static_cast<double>(k) + 1.0) * a) /
         (1.0 + std::exp(-a));
}

int64_t LaplaceMechanism::ErrorBound(double confidence) const {
  if (!IsValid(*this) || !(confidence < 1.0)) return kInt64Max;
  if (confidence <= 0.0) return 0;
  const double alpha = 1.0 - confidence;
  const double a = InverseScale(*this);
  // 2 p^(k+1) / (1+p) <= alpha  <=>  k + 1 >= -ln(alpha (1+p) / 2) / a.
  const double need = -std::log(alpha * (1.0 + std::exp(-a)) / 2.0) / a;
  if (!(need < 9.0e18)) return kInt64Max;
  int64_t k = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(need)) - 1);
  // Rounding can leave the closed form one off: step to the smallest k
  // that meets the definition as TailAbove computes it.
  for (int i = 0; i < 4 && TailAbove(k) > alpha; ++i) ++k;
  for (int i = 0; i < 4 && k > 0 && TailAbove(k - 1) <= alpha; ++i) --k;
  return k;
}

int64_t LaplaceMechanism::Apply(int64_t value, crypto::Random& rng) const {
  if (!IsValid(*this)) {
    Die("a Laplace mechanism needs sensitivity >= 1 and epsilon_micro > 0");
  }
  // scale = sensitivity * 10^6 / epsilon_micro, in lowest terms.
  Uint128 num = static_cast<Uint128>(sensitivity) * kMicro;
  Uint128 den = static_cast<Uint128>(epsilon_micro);
  const Uint128 g = Gcd(num, den);
  num /= g;
  den /= g;
  if (num > kUint64Max) Die("the noise scale's numerator exceeds 64 bits");
  const int64_t noise = SampleDiscreteLaplace(rng, static_cast<uint64_t>(num),
                                              static_cast<uint64_t>(den));
  const Int128 sum = Int128{value} + noise;
  if (sum > kInt64Max) return kInt64Max;
  if (sum < kInt64Min) return kInt64Min;
  return static_cast<int64_t>(sum);
}

}  // namespace tillit::research::dp
