// Random: the injected source of randomness.
//
// Production code takes a Random& and gets Random::System() (libsodium's
// randombytes). Tests pass a DeterministicRandom to make keys, nonces and
// ids reproducible.
//
// Thread-safety: System() is safe from any thread. A DeterministicRandom is
// internally synchronised.
#ifndef TILLIT_CRYPTO_RANDOM_H_
#define TILLIT_CRYPTO_RANDOM_H_

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

#include "tillit/crypto/secret.h"

namespace tillit::crypto {

class Random {
 public:
  virtual ~Random() = default;
  virtual void Fill(std::span<uint8_t> out) = 0;

  // libsodium's CSPRNG.
  static Random& System();

  // A secret of `size` random bytes.
  SecretBytes Secret(size_t size);
  // A uniformly random integer in [0, upper_bound); REQUIRES upper_bound > 0.
  uint32_t Uniform(uint32_t upper_bound);
  // `bytes` random bytes as lowercase hex (2*bytes characters).
  std::string Hex(size_t bytes);
};

// A reproducible stream: ChaCha20 keyed by `seed`
// (randombytes_buf_deterministic over a counter). Never for production keys.
class DeterministicRandom final : public Random {
 public:
  explicit DeterministicRandom(uint64_t seed);
  void Fill(std::span<uint8_t> out) override;

 private:
  std::mutex mu_;
  uint8_t seed_[32] = {};
  uint64_t counter_ = 0;
};

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_RANDOM_H_
