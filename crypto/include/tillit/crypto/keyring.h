// Keyring: several AeadKeys by version, one of them current.
//
// New envelopes are sealed with the current key; Open picks the key named by
// the envelope's key version, so after a rotation old envelopes still open
// and nothing has to be rewritten. An envelope naming a version the keyring
// does not hold fails with the same DataLoss "decryption failed" as any
// other bad envelope.
//
// Thread-safety: const methods may be called from several threads at once.
// Add() and SetCurrent() need external synchronisation against every other
// call.
#ifndef TILLIT_CRYPTO_KEYRING_H_
#define TILLIT_CRYPTO_KEYRING_H_

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/aead.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

class Keyring {
 public:
  // InvalidArgument when two keys share a version or no key has
  // `current_version` (including when `keys` is empty).
  static StatusOr<Keyring> Create(std::vector<AeadKey> keys,
                                  uint32_t current_version);

  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;
  Keyring(Keyring&&) = default;
  Keyring& operator=(Keyring&&) = default;
  ~Keyring() = default;

  uint32_t current_version() const { return current_version_; }
  // All versions held, ascending.
  std::vector<uint32_t> versions() const;
  bool Has(uint32_t version) const;
  // The key new envelopes are sealed with. The reference is valid until the
  // Keyring is moved from, destroyed or changed.
  const AeadKey& current() const;

  // AeadKey::Seal / SealSecret with the current key.
  std::vector<uint8_t> Seal(std::span<const uint8_t> plaintext,
                            std::span<const uint8_t> associated_data,
                            Random& rng) const;
  std::vector<uint8_t> SealSecret(const SecretBytes& plaintext,
                                  std::span<const uint8_t> associated_data,
                                  Random& rng) const;

  // AeadKey::Open / OpenSecret with the key the envelope names.
  StatusOr<std::vector<uint8_t>> Open(
      std::span<const uint8_t> envelope,
      std::span<const uint8_t> associated_data) const;
  StatusOr<SecretBytes> OpenSecret(
      std::span<const uint8_t> envelope,
      std::span<const uint8_t> associated_data) const;

  // Adds a key (for rotation: Add the new key, then SetCurrent to it).
  // AlreadyExists if a key with that version is held; the keyring is then
  // unchanged.
  Status Add(AeadKey key);
  // Makes `version` current; NotFound if no such key is held.
  Status SetCurrent(uint32_t version);

 private:
  Keyring(std::map<uint32_t, AeadKey> keys, uint32_t current_version)
      : keys_(std::move(keys)), current_version_(current_version) {}

  // The key for `version`, or nullptr.
  const AeadKey* Find(uint32_t version) const;

  std::map<uint32_t, AeadKey> keys_;
  uint32_t current_version_;
};

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_KEYRING_H_
