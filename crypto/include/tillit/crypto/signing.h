// Ed25519 signatures (audit-log checkpoints, release manifests).
//
// A SigningKey holds its 64-byte secret key in SecretBytes; only the public
// key and signatures ever leave it. Verification needs no key object.
//
// Thread-safety: a SigningKey is immutable after creation; its const methods
// may be called from several threads at once. VerifyEd25519 is pure.
#ifndef TILLIT_CRYPTO_SIGNING_H_
#define TILLIT_CRYPTO_SIGNING_H_

#include <array>
#include <cstdint>
#include <span>
#include <utility>

#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

using Ed25519PublicKey = std::array<uint8_t, 32>;
using Ed25519Signature = std::array<uint8_t, 64>;
inline constexpr size_t kEd25519SeedSize = 32;

class SigningKey {
 public:
  // A new key pair from a 32-byte seed drawn from `rng`.
  static SigningKey Generate(Random& rng);
  // The key pair for a 32-byte seed (for example a DeriveSubkey result);
  // InvalidArgument for any other size.
  static StatusOr<SigningKey> FromSeed(const SecretBytes& seed);

  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  SigningKey(SigningKey&&) noexcept = default;
  SigningKey& operator=(SigningKey&&) noexcept = default;
  ~SigningKey() = default;

  const Ed25519PublicKey& public_key() const { return public_key_; }
  // A detached signature of `message`.
  Ed25519Signature Sign(std::span<const uint8_t> message) const;

 private:
  SigningKey(SecretBytes secret_key, const Ed25519PublicKey& public_key)
      : secret_key_(std::move(secret_key)), public_key_(public_key) {}

  SecretBytes secret_key_;  // crypto_sign_SECRETKEYBYTES (seed || public)
  Ed25519PublicKey public_key_;
};

// `bytes` as a public key that may stand for someone (a device, a
// signer). InvalidArgument for a size other than 32 bytes, and for an
// encoding that is not a canonical point of the main subgroup
// (crypto_core_ed25519_is_valid_point): small-order points are refused,
// since a signature under such a key proves nothing.
StatusOr<Ed25519PublicKey> Ed25519PublicKeyFromBytes(
    std::span<const uint8_t> bytes);

// True when `signature` is a valid Ed25519 signature of `message` by
// `public_key`. False for a signature of any length other than 64 bytes.
bool VerifyEd25519(const Ed25519PublicKey& public_key,
                   std::span<const uint8_t> message,
                   std::span<const uint8_t> signature);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_SIGNING_H_
