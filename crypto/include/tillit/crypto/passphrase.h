// Argon2id: a key from a passphrase, for unsealing the root key.
//
// Argon2Params (cost and salt) are not secret; store them next to what the
// derived key protects, in the text form of SerializeArgon2Params:
//   argon2id13$ops=<decimal>$mem=<decimal bytes>$salt=<padded base64>
// for example "argon2id13$ops=3$mem=268435456$salt=AAECAwQFBgcICQoLDA0ODw==".
//
// Thread-safety: all functions may be called from any thread. Each
// derivation allocates `memlimit` bytes while it runs.
#ifndef TILLIT_CRYPTO_PASSPHRASE_H_
#define TILLIT_CRYPTO_PASSPHRASE_H_

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

// Longest passphrase accepted, in bytes.
inline constexpr size_t kMaxPassphraseSize = 4096;

struct Argon2Params {
  uint64_t opslimit;
  size_t memlimit;               // bytes
  std::array<uint8_t, 16> salt;  // crypto_pwhash_SALTBYTES
};

// Parameters with a fresh random salt. Cost defaults to libsodium's
// MODERATE (3 passes, 256 MiB).
Argon2Params NewArgon2Params(
    Random& rng, uint64_t opslimit = crypto_pwhash_OPSLIMIT_MODERATE,
    size_t memlimit = crypto_pwhash_MEMLIMIT_MODERATE);
// The cheapest accepted cost (OPSLIMIT_MIN, MEMLIMIT_MIN), for tests only.
Argon2Params TestingArgon2Params(Random& rng);

// A `key_size`-byte key from `passphrase` with Argon2id v1.3.
// InvalidArgument when the passphrase is empty or longer than
// kMaxPassphraseSize, opslimit or memlimit is outside crypto_pwhash's
// bounds, or key_size is outside [crypto_pwhash_BYTES_MIN, 64];
// ResourceExhausted when `memlimit` bytes cannot be allocated.
StatusOr<SecretBytes> DeriveKeyFromPassphrase(const SecretBytes& passphrase,
                                              const Argon2Params& params,
                                              size_t key_size = 32);

// The text form described above.
std::string SerializeArgon2Params(const Argon2Params& params);
// The inverse of SerializeArgon2Params. InvalidArgument for any other text:
// a different algorithm tag, fields missing, reordered or repeated, numbers
// with signs, spaces or leading zeros, costs outside crypto_pwhash's bounds,
// or a salt that is not the canonical base64 of exactly 16 bytes.
StatusOr<Argon2Params> ParseArgon2Params(std::string_view text);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_PASSPHRASE_H_
