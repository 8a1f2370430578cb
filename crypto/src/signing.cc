#include "tillit/crypto/signing.h"

#include <sodium.h>

#include <algorithm>

#include "sodium_runtime.h"

namespace tillit::crypto {

static_assert(sizeof(Ed25519PublicKey) == crypto_sign_PUBLICKEYBYTES);
static_assert(sizeof(Ed25519Signature) == crypto_sign_BYTES);
static_assert(kEd25519SeedSize == crypto_sign_SEEDBYTES);

SigningKey SigningKey::Generate(Random& rng) {
  const SecretBytes seed = rng.Secret(kEd25519SeedSize);
  return std::move(FromSeed(seed)).value();  // the seed size is right
}

StatusOr<SigningKey> SigningKey::FromSeed(const SecretBytes& seed) {
  if (seed.size() != kEd25519SeedSize) {
    return Status::InvalidArgument("Ed25519 seed must be 32 bytes");
  }
  internal::EnsureSodium();
  SecretBytes secret_key = SecretBytes::Allocate(crypto_sign_SECRETKEYBYTES);
  Ed25519PublicKey derived_public_key;
  crypto_sign_seed_keypair(derived_public_key.data(), secret_key.ExposeSecret(),
                           seed.ExposeSecret());
  return SigningKey(std::move(secret_key), derived_public_key);
}

Ed25519Signature SigningKey::Sign(std::span<const uint8_t> message) const {
  Ed25519Signature signature;
  crypto_sign_detached(signature.data(), nullptr, message.data(),
                       message.size(), secret_key_.ExposeSecret());
  return signature;
}

StatusOr<Ed25519PublicKey> Ed25519PublicKeyFromBytes(
    std::span<const uint8_t> bytes) {
  if (bytes.size() != crypto_sign_PUBLICKEYBYTES) {
    return Status::InvalidArgument("Ed25519 public key must be 32 bytes");
  }
  internal::EnsureSodium();
  if (crypto_core_ed25519_is_valid_point(bytes.data()) != 1) {
    return Status::InvalidArgument("not a usable Ed25519 public key");
  }
  Ed25519PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

bool VerifyEd25519(const Ed25519PublicKey& public_key,
                   std::span<const uint8_t> message,
                   std::span<const uint8_t> signature) {
  if (signature.size() != crypto_sign_BYTES) return false;
  internal::EnsureSodium();
  return crypto_sign_verify_detached(signature.data(), message.data(),
                                     message.size(), public_key.data()) == 0;
}

}  // namespace tillit::crypto
