// The two keys a table of sealed rows needs, derived from one secret (a
// citizen's data key, the registry's index key): a sealing key
// (XChaCha20-Poly1305) and a tag key (keyed BLAKE2b) for the columns
// queries filter on. Each is the keyed BLAKE2b of the secret over a fixed
// label (a PRF), so the two are independent of each other and of every
// other use of the secret. Never change a label: stored rows are sealed and
// tagged under it.
#ifndef TILLIT_PGSTORE_SRC_SEALING_H_
#define TILLIT_PGSTORE_SRC_SEALING_H_

#include <cstddef>
#include <string_view>
#include <utility>

#include "tillit/base/status.h"
#include "tillit/crypto/aead.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/secret.h"

namespace tillit::pgstore::internal {

struct SealingKeys {
  crypto::AeadKey seal;
  crypto::KeyedHasher tags;
};

// InvalidArgument unless `secret` is 32 bytes.
inline StatusOr<SealingKeys> DeriveSealingKeys(
    const crypto::SecretBytes& secret, std::string_view seal_label,
    std::string_view tag_label, size_t tag_size) {
  if (secret.size() != crypto::kAeadKeySize) {
    return Status::InvalidArgument("a sealing secret must be 32 bytes");
  }
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes seal_key,
      crypto::KeyedHashSecret(secret, crypto::AsBytes(seal_label)));
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes tag_key,
      crypto::KeyedHashSecret(secret, crypto::AsBytes(tag_label)));
  TILLIT_ASSIGN_OR_RETURN(crypto::AeadKey seal,
                          crypto::AeadKey::Create(std::move(seal_key), 1));
  TILLIT_ASSIGN_OR_RETURN(
      crypto::KeyedHasher tags,
      crypto::KeyedHasher::Create(std::move(tag_key), tag_size));
  return SealingKeys{std::move(seal), std::move(tags)};
}

}  // namespace tillit::pgstore::internal

#endif  // TILLIT_PGSTORE_SRC_SEALING_H_
