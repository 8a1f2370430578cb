// FixedKeys: a crypto::KeyDeriver for tests that derives every key from
// one fixed 32-byte master key, as the vault derives them from its master
// secret, without a vault.
#ifndef TILLIT_TESTING_FIXED_KEYS_H_
#define TILLIT_TESTING_FIXED_KEYS_H_

#include <cstdint>

#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/secret.h"

namespace tillit::testing {

class FixedKeys final : public crypto::KeyDeriver {
 public:
  StatusOr<crypto::SecretBytes> DeriveKey(crypto::KdfContext context,
                                          uint64_t id) const override {
    return crypto::DeriveSubkey(master_, id, context);
  }

 private:
  const crypto::SecretBytes master_ =
      crypto::SecretBytes::CopyFrom("0123456789abcdef0123456789abcdef");
};

}  // namespace tillit::testing

#endif  // TILLIT_TESTING_FIXED_KEYS_H_
