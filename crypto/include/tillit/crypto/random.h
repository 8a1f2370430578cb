// Random: the injected source of randomness.
//
// Production code takes a Random& and gets Random::System() (the default
// Env's randomness, getrandom(2)) or an EnvRandom over an injected Env. Tests
// pass a DeterministicRandom to make keys, nonces and ids reproducible.
//
// Thread-safety: System() is safe from any thread. A DeterministicRandom is
// internally synchronised.
#ifndef TILLIT_CRYPTO_RANDOM_H_
#define TILLIT_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "tillit/base/env.h"
#include "tillit/base/mutex.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;

  // The randomness of Env::Default().
  static Random& System();

  // A secret of `size` random bytes.
  SecretBytes Secret(size_t size);
  // A uniformly random integer in [0, upper_bound); REQUIRES upper_bound > 0.
  uint32_t Uniform(uint32_t upper_bound);
  // `bytes` random bytes as lowercase hex (2*bytes characters).
  std::string Hex(size_t bytes);
};

// The randomness of an Env. REQUIRES: `env` outlives it.
class EnvRandom final : public Random {
 public:
  explicit EnvRandom(Env* env) : env_(env) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  Env* const env_;
};

// A reproducible stream: ChaCha20 keyed by `seed`
// (randombytes_buf_deterministic over a counter). Never for production keys.
class DeterministicRandom final : public Random {
 public:
  explicit DeterministicRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  Mutex mu_;
  uint8_t seed_[32] = {};
  uint64_t counter_ GUARDED_BY(mu_) = 0;
};

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_RANDOM_H_
