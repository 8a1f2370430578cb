#include "tillit/crypto/hash.h"

#include "sodium_runtime.h"

namespace tillit::crypto {

static_assert(sizeof(Digest) == crypto_hash_sha256_BYTES);
static_assert(kKeyedHashMinKeySize == crypto_generichash_KEYBYTES_MIN);
static_assert(kKeyedHashMaxKeySize == crypto_generichash_KEYBYTES_MAX);

Digest Sha256(std::span<const uint8_t> data) {
  internal::EnsureSodium();
  Digest out;
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

Sha256Hasher::Sha256Hasher() {
  internal::EnsureSodium();
  crypto_hash_sha256_init(&state_);
}

Sha256Hasher::~Sha256Hasher() { sodium_memzero(&state_, sizeof(state_)); }

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  if (data.empty()) return;
  crypto_hash_sha256_update(&state_, data.data(), data.size());
}

Digest Sha256Hasher::Finish() {
  Digest out;
  crypto_hash_sha256_final(&state_, out.data());
  crypto_hash_sha256_init(&state_);
  return out;
}

StatusOr<Digest> KeyedHash(const SecretBytes& key,
                           std::span<const uint8_t> message) {
  if (key.size() < kKeyedHashMinKeySize || key.size() > kKeyedHashMaxKeySize) {
    return Status::InvalidArgument("keyed hash key must be 16 to 64 bytes");
  }
  internal::EnsureSodium();
  Digest out;
  if (crypto_generichash(out.data(), out.size(), message.data(), message.size(),
                         key.ExposeSecret(), key.size()) != 0) {
    return Status::Internal("keyed hash failed");
  }
  return out;
}

}  // namespace tillit::crypto
