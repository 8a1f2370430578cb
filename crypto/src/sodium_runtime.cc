#include "sodium_runtime.h"

#include <sodium.h>

#include <cstdlib>

namespace tillit::crypto::internal {

void EnsureSodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) std::abort();
}

}  // namespace tillit::crypto::internal
