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
// A public key that arrives from outside (a researcher's registration, a
// key file) is checked with X25519PublicKeyFromBytes before it is stored
// or sealed to: a point of small order would make every box sealed to it
// readable by anyone, or by no one.
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

#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

inline constexpr size_t kX25519PublicKeySize = 32;
using X25519PublicKey = std::array<uint8_t, kX25519PublicKeySize>;
inline constexpr size_t kBoxSecretKeySize = 32;
inline constexpr size_t kSealedBoxOverhead = 48;  // crypto_box_SEALBYTES

// Move-only (it holds a SecretBytes).
struct BoxKeyPair {
  X25519PublicKey public_key;
  SecretBytes secret_key;  // kBoxSecretKeySize bytes

  // A key pair from a 32-byte seed drawn from `rng`
  // (crypto_box_seed_keypair): the same DeterministicRandom stream gives the
  // same pair.
  static BoxKeyPair Generate(Random& rng);

  // The key pair of `secret_key`, its public half derived from it
  // (crypto_scalarmult_base; RFC 7748 X25519). Takes ownership of the key.
  // InvalidArgument unless secret_key.size() == kBoxSecretKeySize, or if
  // the key gives no usable public key.
  static StatusOr<BoxKeyPair> FromSecretKey(SecretBytes secret_key);
};

// `bytes` as a public key that sealed boxes can be made for.
// InvalidArgument for a size other than kX25519PublicKeySize, and for a
// point of small order (the all-zero key among them) in any encoding.
StatusOr<X25519PublicKey> X25519PublicKeyFromBytes(
    std::span<const uint8_t> bytes);

// Encrypts `plaintext` to `recipient_pk` (plaintext.size() +
// kSealedBoxOverhead bytes). InvalidArgument for a key that
// X25519PublicKeyFromBytes refuses; no key pair from BoxKeyPair is one.
StatusOr<std::vector<uint8_t>> SealedBoxSeal(
    std::span<const uint8_t> plaintext, const X25519PublicKey& recipient_pk);

// Opens a sealed box made for `key_pair.public_key`, into secure memory.
// DataLoss "decryption failed" for a box that is too short, altered or made
// for another key; InvalidArgument if key_pair.secret_key is not
// kBoxSecretKeySize bytes.
StatusOr<SecretBytes> SealedBoxOpen(std::span<const uint8_t> sealed,
                                    const BoxKeyPair& key_pair);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_BOX_H_
