// SHA-256 (one-shot and incremental) and keyed BLAKE2b.
//
// SHA-256 is OpenSSL's, which uses the CPU's SHA extensions where it has
// them (3-4 times libsodium's portable code: the audit log hashes two
// nodes per entry and every entry); BLAKE2b is libsodium's.
//
// Sha256 is for content addressing and public fingerprints. KeyedHash is the
// one to use wherever an identifier must not be reversible or guessable by
// someone without the key (token hashes, log identifiers); KeyedHasher
// does the same for identifiers made of several inputs (pseudonyms).
//
// Thread-safety: the free functions may be called from any thread. A
// Sha256Hasher is not synchronised: one thread at a time per object. A
// KeyedHasher is immutable: its const methods may be called from several
// threads at once.
#ifndef TILLIT_CRYPTO_HASH_H_
#define TILLIT_CRYPTO_HASH_H_

#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

struct evp_md_ctx_st;

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
  // A copy continues from the same state, independently.
  Sha256Hasher(const Sha256Hasher& other);
  Sha256Hasher& operator=(const Sha256Hasher& other);

  void Update(std::span<const uint8_t> data);
  Digest Finish();

 private:
  evp_md_ctx_st* ctx_;  // OpenSSL's EVP_MD_CTX, owned
};

// Smallest and largest accepted KeyedHash key, in bytes.
inline constexpr size_t kKeyedHashMinKeySize = 16;
inline constexpr size_t kKeyedHashMaxKeySize = 64;

// BLAKE2b with a 32-byte output keyed by `key` (crypto_generichash).
// InvalidArgument unless kKeyedHashMinKeySize <= key.size() <=
// kKeyedHashMaxKeySize.
StatusOr<Digest> KeyedHash(const SecretBytes& key,
                           std::span<const uint8_t> message);

// As KeyedHash, the digest written straight into secure memory: for a
// digest that is itself a key. Same errors.
StatusOr<SecretBytes> KeyedHashSecret(const SecretBytes& key,
                                      std::span<const uint8_t> message);

// Smallest and largest KeyedHasher digest, in bytes.
inline constexpr size_t kKeyedHashMinDigestSize = 16;
inline constexpr size_t kKeyedHashMaxDigestSize = 64;

// Keyed BLAKE2b (crypto_generichash) over a list of fields, with the key
// checked once and held in secure memory. The fields are encoded so that
// no two lists collide: each is absorbed as its length (8 bytes,
// little-endian) followed by its bytes, so ("ab", "c") and ("a", "bc")
// hash differently. Copies share the one key: a KeyedHasher is never
// left without it, moved from or not.
class KeyedHasher {
 public:
  // Takes ownership of `key`. InvalidArgument unless kKeyedHashMinKeySize
  // <= key.size() <= kKeyedHashMaxKeySize and kKeyedHashMinDigestSize <=
  // digest_size <= kKeyedHashMaxDigestSize.
  static StatusOr<KeyedHasher> Create(SecretBytes key,
                                      size_t digest_size = sizeof(Digest));

  // Declared so that there is no move constructor: a move copies, and the
  // source keeps its key.
  KeyedHasher(const KeyedHasher&) = default;
  KeyedHasher& operator=(const KeyedHasher&) = default;

  size_t digest_size() const { return digest_size_; }

  // The digest_size()-byte digest of `fields`, in order.
  std::vector<uint8_t> HashFields(
      std::initializer_list<std::string_view> fields) const;

 private:
  KeyedHasher(std::shared_ptr<const SecretBytes> key, size_t digest_size)
      : key_(std::move(key)), digest_size_(digest_size) {}

  std::shared_ptr<const SecretBytes> key_;  // never null
  size_t digest_size_;
};

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_HASH_H_
