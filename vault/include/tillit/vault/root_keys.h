// RootKeys: the numbered root keys of a data directory and where they live.
//
// The root keys wrap everything else (the master secret from which the
// registry key and other sub-keys are derived, and every citizen's data
// key). They live either in a key file (mode 0600, created by `tillit init`)
// or in a file sealed under a passphrase with Argon2id; either way the text
// is handled in secure memory only.
//
// Key-file text (secure memory only):
//   tillit-root-keys 1
//   current <version>
//   key <version> <base64 32 bytes>     (one line per version)
// Sealed file:
//   tillit-sealed-root-keys 1
//   kdf argon2id13$ops=…$mem=…$salt=…
//   sealed <base64 envelope of the key-file text>
//
// Rotation adds a version and makes it current; the old version is dropped
// only after everything it wrapped has been rewrapped, so a crash at any
// point leaves a directory that opens.
//
// Thread-safety: a RootKeys value is immutable after construction except
// through AddVersion/DropAllBut, which the owner serialises.
#ifndef TILLIT_VAULT_ROOT_KEYS_H_
#define TILLIT_VAULT_ROOT_KEYS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/keyring.h"
#include "tillit/crypto/passphrase.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"

namespace tillit::vault {

class RootKeys {
 public:
  // Where and how the root keys are stored.
  struct Location {
    std::string path;  // the key file or the sealed file
    // Present for a sealed file: the passphrase that unseals it.
    const crypto::SecretBytes* passphrase = nullptr;
    // Argon2id cost for a newly sealed file (nullopt: moderate defaults).
    std::optional<crypto::Argon2Params> argon2;
    // What writes the file.
    Env* env = Env::Default();
  };

  // A fresh keyring with version 1. Does not touch the disk.
  static RootKeys Generate(crypto::Random& rng);
  // Loads and parses; a wrong passphrase or damaged file is Unauthenticated
  // / DataLoss without saying which byte was wrong.
  static StatusOr<RootKeys> Load(const Location& where);
  // Writes atomically (mode 0600).
  Status Save(const Location& where, crypto::Random& rng) const;

  RootKeys(RootKeys&&) = default;
  RootKeys& operator=(RootKeys&&) = default;

  uint32_t current_version() const { return current_; }
  size_t version_count() const { return keys_.size(); }

  // Adds a new random version and makes it current.
  uint32_t AddVersion(crypto::Random& rng);
  // Forgets every version but the current one.
  void DropAllButCurrent();

  // An AEAD keyring over these keys.
  StatusOr<crypto::Keyring> MakeKeyring() const;

 private:
  RootKeys() = default;
  static StatusOr<RootKeys> Parse(const crypto::SecretBytes& text);
  crypto::SecretBytes Serialize() const;

  uint32_t current_ = 0;
  std::map<uint32_t, crypto::SecretBytes> keys_;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_ROOT_KEYS_H_
