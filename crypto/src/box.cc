#include "tillit/crypto/box.h"

#include <sodium.h>

#include "sodium_runtime.h"
#include "tillit/crypto/aead.h"

namespace tillit::crypto {

static_assert(kBoxSecretKeySize == crypto_box_SECRETKEYBYTES);
static_assert(sizeof(X25519PublicKey) == crypto_box_PUBLICKEYBYTES);
static_assert(kSealedBoxOverhead == crypto_box_SEALBYTES);

BoxKeyPair BoxKeyPair::Generate(Random& rng) {
  internal::EnsureSodium();
  const SecretBytes seed = rng.Secret(crypto_box_SEEDBYTES);
  BoxKeyPair pair{{}, SecretBytes::Allocate(kBoxSecretKeySize)};
  crypto_box_seed_keypair(pair.public_key.data(),
                          pair.secret_key.ExposeSecret(), seed.ExposeSecret());
  return pair;
}

std::vector<uint8_t> SealedBoxSeal(
    std::span<const uint8_t> plaintext,
    const std::array<uint8_t, 32>& recipient_pk) {
  internal::EnsureSodium();
  static constexpr uint8_t kNoPlaintext[1] = {0};
  std::vector<uint8_t> sealed(plaintext.size() + kSealedBoxOverhead);
  if (crypto_box_seal(sealed.data(),
                      plaintext.empty() ? kNoPlaintext : plaintext.data(),
                      plaintext.size(), recipient_pk.data()) != 0) {
    return {};
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
