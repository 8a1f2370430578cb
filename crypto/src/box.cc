#include "tillit/crypto/box.h"

#include <sodium.h>

#include <algorithm>
#include <utility>

#include "sodium_runtime.h"
#include "tillit/crypto/aead.h"

namespace tillit::crypto {
namespace {

static_assert(kBoxSecretKeySize == crypto_box_SECRETKEYBYTES);
static_assert(kX25519PublicKeySize == crypto_box_PUBLICKEYBYTES);
static_assert(kX25519PublicKeySize == crypto_scalarmult_BYTES);
static_assert(kSealedBoxOverhead == crypto_box_SEALBYTES);

// True unless `key` is a point of small order. X25519 clamps every scalar
// to a multiple of the cofactor 8, so multiplying such a point by any
// scalar gives the all-zero result, which crypto_scalarmult refuses; the
// scalar here is public, and so is the product.
bool HasLargeOrder(const X25519PublicKey& key) {
  internal::EnsureSodium();
  static constexpr uint8_t kProbe[crypto_scalarmult_SCALARBYTES] = {1};
  uint8_t product[crypto_scalarmult_BYTES];
  return crypto_scalarmult(product, kProbe, key.data()) == 0;
}

}  // namespace

BoxKeyPair BoxKeyPair::Generate(Random& rng) {
  internal::EnsureSodium();
  const SecretBytes seed = rng.Secret(crypto_box_SEEDBYTES);
  BoxKeyPair pair{{}, SecretBytes::Allocate(kBoxSecretKeySize)};
  crypto_box_seed_keypair(pair.public_key.data(),
                          pair.secret_key.ExposeSecret(), seed.ExposeSecret());
  return pair;
}

StatusOr<BoxKeyPair> BoxKeyPair::FromSecretKey(SecretBytes secret_key) {
  if (secret_key.size() != kBoxSecretKeySize) {
    return Status::InvalidArgument("X25519 secret key must be 32 bytes");
  }
  internal::EnsureSodium();
  BoxKeyPair pair{{}, std::move(secret_key)};
  if (crypto_scalarmult_base(pair.public_key.data(),
                             pair.secret_key.ExposeSecret()) != 0) {
    return Status::InvalidArgument("X25519 secret key gives no public key");
  }
  return pair;
}

StatusOr<X25519PublicKey> X25519PublicKeyFromBytes(
    std::span<const uint8_t> bytes) {
  if (bytes.size() != kX25519PublicKeySize) {
    return Status::InvalidArgument("X25519 public key must be 32 bytes");
  }
  X25519PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  if (!HasLargeOrder(key)) {
    return Status::InvalidArgument("not a usable X25519 public key");
  }
  return key;
}

StatusOr<std::vector<uint8_t>> SealedBoxSeal(
    std::span<const uint8_t> plaintext, const X25519PublicKey& recipient_pk) {
  internal::EnsureSodium();
  static constexpr uint8_t kNoPlaintext[1] = {0};
  std::vector<uint8_t> sealed(plaintext.size() + kSealedBoxOverhead);
  if (crypto_box_seal(sealed.data(),
                      plaintext.empty() ? kNoPlaintext : plaintext.data(),
                      plaintext.size(), recipient_pk.data()) != 0) {
    return Status::InvalidArgument("not a usable X25519 public key");
  }
  return sealed;
}

StatusOr<SecretBytes> SealedBoxOpen(std::span<const uint8_t> sealed,
                                    const BoxKeyPair& key_pair) {
  if (key_pair.secret_key.size() != kBoxSecretKeySize) {
    return Status::InvalidArgument("X25519 secret key must be 32 bytes");
  }
  if (sealed.size() < kSealedBoxOverhead) return DecryptionFailed();
  internal::EnsureSodium();
  SecretBytes plaintext =
      SecretBytes::Allocate(sealed.size() - kSealedBoxOverhead);
  uint8_t scratch[1];
  uint8_t* out = plaintext.empty() ? scratch : plaintext.ExposeSecret();
  if (crypto_box_seal_open(out, sealed.data(), sealed.size(),
                           key_pair.public_key.data(),
                           key_pair.secret_key.ExposeSecret()) != 0) {
    return DecryptionFailed();
  }
  return plaintext;
}

}  // namespace tillit::crypto
