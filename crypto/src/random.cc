#include "tillit/crypto/random.h"

#include <sodium.h>

#include <cstring>

namespace tillit::crypto {

void EnvRandom::Fill(std::span<uint8_t> out) {
  if (!out.empty()) env_->FillRandom(out);
}

Random& Random::System() {
  static EnvRandom* instance = [] {
    // DeterministicRandom and the primitives need libsodium initialised.
    if (sodium_init() < 0) std::abort();
    return new EnvRandom(Env::Default());
  }();
  return *instance;
}

SecretBytes Random::Secret(size_t size) {
  SecretBytes s = SecretBytes::Allocate(size);
  Fill({s.ExposeSecret(), s.size()});
  return s;
}

uint32_t Random::Uniform(uint32_t upper_bound) {
  // Rejection sampling, as randombytes_uniform does.
  if (upper_bound < 2) return 0;
  const uint32_t min = (1U + ~upper_bound) % upper_bound;
  uint32_t r;
  do {
    uint8_t b[4];
    Fill(b);
    std::memcpy(&r, b, 4);
  } while (r < min);
  return r % upper_bound;
}

std::string Random::Hex(size_t bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  Fill({reinterpret_cast<uint8_t*>(raw.data()), raw.size()});
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  sodium_memzero(raw.data(), raw.size());
  return out;
}

DeterministicRandom::DeterministicRandom(uint64_t seed) {
  if (sodium_init() < 0) std::abort();
  std::memcpy(seed_, &seed, sizeof(seed));
}

void DeterministicRandom::Fill(std::span<uint8_t> out) {
  MutexLock lock(&mu_);
  uint8_t block_seed[randombytes_SEEDBYTES];
  // Each call gets its own stream: seed' = BLAKE2b(seed || counter).
  uint8_t input[sizeof(seed_) + sizeof(counter_)];
  std::memcpy(input, seed_, sizeof(seed_));
  std::memcpy(input + sizeof(seed_), &counter_, sizeof(counter_));
  ++counter_;
  crypto_generichash(block_seed, sizeof(block_seed), input, sizeof(input),
                     nullptr, 0);
  if (!out.empty()) {
    randombytes_buf_deterministic(out.data(), out.size(), block_seed);
  }
  sodium_memzero(block_seed, sizeof(block_seed));
}

}  // namespace tillit::crypto
