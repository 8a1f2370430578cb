// Differential privacy noise (SPEC §5 item 5): exact integer samplers and
// the discrete Laplace mechanism that the aggregate answers of a study use.
//
// The samplers follow Canonne, Kamath & Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020, arXiv:2004.00010), Algorithms 1 and
// 2: every probability is a ratio of integers and every draw is a uniform
// integer from a crypto::Random, so the output distribution is exactly the
// one stated, with no floating-point rounding that could leak the true
// value (Mironov 2012). Floating point appears only in the descriptions of
// a mechanism (Scale, Pmf, TailAbove, ErrorBound), never in a draw.
//
// Arguments outside a REQUIRES clause: where a wrong answer cannot release
// data (the coins and the uniform draw) the functions fall back to the
// limit stated at each one and draw nothing; where it could (a discrete
// Laplace draw, LaplaceMechanism::Apply) the process aborts rather than
// return a value without the promised noise, as it does when the system
// has no entropy. Callers validate user input before it gets here.
//
// Thread-safety: the functions keep no state; they may run concurrently
// as far as the given crypto::Random allows (Random::System() and
// DeterministicRandom may be shared). A LaplaceMechanism is a plain value:
// its const methods may be called from several threads at once.
#ifndef TILLIT_RESEARCH_DP_H_
#define TILLIT_RESEARCH_DP_H_

#include <cstdint>

#include "tillit/crypto/random.h"

namespace tillit::research::dp {

// Uniform integer in [0, n), no modulo bias (rejection on 64-bit draws).
// REQUIRES n > 0; n == 0 returns 0 without drawing, as Random::Uniform does.
uint64_t SampleUniform(crypto::Random& rng, uint64_t n);

// Exact Bernoulli(num/den). REQUIRES den > 0, num <= den; den == 0 returns
// false and num > den returns true (the probability clamped to 1).
bool SampleBernoulli(crypto::Random& rng, uint64_t num, uint64_t den);

// Exact Bernoulli(exp(-num/den)), CKS20 Algorithm 1, for any num >= 0
// (num/den > 1 is floor(num/den) Bernoulli(exp(-1)) trials and one for the
// fractional part, as in the paper). REQUIRES den > 0; den == 0 returns
// false (the limit of exp(-x) as x grows). The expected number of draws is
// a small constant whatever num/den is (later exp(-1) trials are reached
// only while earlier ones succeed).
bool SampleBernoulliExp(crypto::Random& rng, uint64_t num, uint64_t den);

// Exact discrete Laplace with scale t = num/den: P(x) proportional to
// exp(-|x| / t) over all integers, CKS20 Algorithm 2, integers only, no
// floating point. Expected draws are a small constant for every scale.
// The result's magnitude is at most INT64_MAX: the mass beyond (about
// exp(-2^63 / t), below 1e-55 for any scale up to 2^56) is placed on
// +-INT64_MAX.
// REQUIRES num > 0, den > 0; otherwise the process aborts (a zero scale is
// no noise at all, an infinite one is no distribution).
int64_t SampleDiscreteLaplace(crypto::Random& rng, uint64_t num, uint64_t den);

// The discrete Laplace mechanism for an integer query of L1 sensitivity
// `sensitivity` at privacy loss epsilon, given in millionths (micro-epsilon:
// 500000 is ε = 0.5). Its scale is sensitivity / ε = sensitivity *
// 1'000'000 / epsilon_micro (the fraction is reduced by its gcd before
// sampling). It gives pure ε-DP (δ = 0): for queries whose answers on
// neighbouring data differ by at most `sensitivity`, the probability of any
// output changes by at most a factor exp(ε).
//
// Valid when sensitivity >= 1 and epsilon_micro > 0. For an invalid one
// the descriptions return NaN (ErrorBound: INT64_MAX) and Apply aborts.
struct LaplaceMechanism {
  int64_t sensitivity = 1;    // >= 1
  int64_t epsilon_micro = 0;  // > 0

  // sensitivity / ε, for display only (sampling uses the exact fraction).
  double Scale() const;
  // P(noise = x) = (1-p)/(1+p) * p^|x|, p = exp(-1/scale).
  double Pmf(int64_t x) const;
  // P(|noise| > k) = 2 p^(k+1) / (1+p) for k >= 0; 1 for k < 0.
  double TailAbove(int64_t k) const;
  // The error bound at `confidence` (95 % by default): the smallest k >= 0
  // with P(|noise| > k) <= 1 - confidence. Confidence <= 0 gives 0;
  // confidence >= 1 (no finite bound) or NaN gives INT64_MAX, as does a
  // bound beyond the int64 range.
  int64_t ErrorBound(double confidence = 0.95) const;
  // value + one noise draw, saturating at the int64 limits (clamping the
  // noisy value is post-processing: the guarantee is unchanged).
  // Aborts on an invalid mechanism or one whose reduced scale numerator
  // exceeds 64 bits (possible only for a sensitivity above 1.8e13).
  int64_t Apply(int64_t value, crypto::Random& rng) const;
};

}  // namespace tillit::research::dp

#endif  // TILLIT_RESEARCH_DP_H_
