#include "tillit/crypto/constant_time.h"

#include <sodium.h>

#include "sodium_runtime.h"

namespace tillit::crypto {

bool ConstantTimeEquals(std::span<const uint8_t> a,
                        std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  internal::EnsureSodium();
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tillit::crypto
