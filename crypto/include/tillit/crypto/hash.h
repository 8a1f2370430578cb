// SHA-256 (one-shot and incremental) and keyed BLAKE2b-256.
//
// Sha256 is for content addressing and public fingerprints. KeyedHash is the
// one to use wherever an identifier must not be reversible or guessable by
// someone without the key (token hashes, pseudonyms, log identifiers).
//
// Thread-safety: the free functions may be called from any thread. A
// Sha256Hasher is not synchronised: one thread at a time per object.
#ifndef TILLIT_CRYPTO_HASH_H_
#define TILLIT_CRYPTO_HASH_H_

#include <sodium.h>

#include <array>
#include <cstdint>
#include <span>

#include "tillit/crypto/secret.h"
#include "tillit/base/status.h"

namespace tillit::crypto {

using Digest = std::array<uint8_t, 32>;

// SHA-256 of `data`.
Digest Sha256(std::span<const uint8_t> data);

// SHA-256 over data given in pieces. Finish() returns the digest of
// everything passed to Update() since construction or the previous Finish(),
// and resets the hasher so it can be used again. Copying a hasher copies its
// progress (useful for a shared prefix). The state is wiped on destruction.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = default;
  Sha256Hasher& operator=(const Sha256Hasher&) = default;

  void Update(std::span<const uint8_t> data);
  Digest Finish();

 private:
  crypto_hash_sha256_state state_;
};

// Smallest and largest accepted KeyedHash key, in bytes.
inline constexpr size_t kKeyedHashMinKeySize = 16;
inline constexpr size_t kKeyedHashMaxKeySize = 64;

// BLAKE2b with a 32-byte output keyed by `key` (crypto_generichash).
// InvalidArgument unless kKeyedHashMinKeySize <= key.size() <=
// kKeyedHashMaxKeySize.
StatusOr<Digest> KeyedHash(const SecretBytes& key,
                           std::span<const uint8_t> message);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_HASH_H_
