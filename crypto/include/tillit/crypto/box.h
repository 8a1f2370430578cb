// X25519 key pairs and sealed boxes: anyone holding a public key can
// encrypt to it; only the holder of the secret key can open the result.
// Used for data sent to a recipient (for example a release for a
// researcher's public key).
//
// Sealed boxes are anonymous (crypto_box_seal): the sender's ephemeral key
// comes from libsodium's own CSPRNG, not from an injected Random, so a
// sealed box is never reproducible. A sealed box is plaintext size +
// kSealedBoxOverhead bytes.
//
// Thread-safety: the functions are pure apart from the system CSPRNG; a
// BoxKeyPair may be read from several threads at once.
#ifndef TILLIT_CRYPTO_BOX_H_
#define TILLIT_CRYPTO_BOX_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/base/status.h"

namespace tillit::crypto {

using X25519PublicKey = std::array<uint8_t, 32>;
inline constexpr size_t kBoxSecretKeySize = 32;
inline constexpr size_t kSealedBoxOverhead = 48;  // crypto_box_SEALBYTES

// Move-only (it holds a SecretBytes).
struct BoxKeyPair {
  std::array<uint8_t, 32> public_key;
  SecretBytes secret_key;  // kBoxSecretKeySize bytes

  // A key pair from a 32-byte seed drawn from `rng`
  // (crypto_box_seed_keypair): the same DeterministicRandom stream gives the
  // same pair.
  static BoxKeyPair Generate(Random& rng);
};

// Encrypts `plaintext` to `recipient_pk`. Returns an empty vector (which
// never opens) if `recipient_pk` is a low-order point, which no key pair
// from BoxKeyPair::Generate is; validate keys from outside when they arrive.
std::vector<uint8_t> SealedBoxSeal(std::span<const uint8_t> plaintext,
                                   const std::array<uint8_t, 32>& recipient_pk);

// Opens a sealed box made for `key_pair.public_key`, into secure memory.
// DataLoss "decryption failed" for a box that is too short, altered or made
// for another key; InvalidArgument if key_pair.secret_key is not
// kBoxSecretKeySize bytes.
StatusOr<SecretBytes> SealedBoxOpen(std::span<const uint8_t> sealed,
                                    const BoxKeyPair& key_pair);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_BOX_H_
