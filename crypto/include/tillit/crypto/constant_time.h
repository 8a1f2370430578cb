// Comparison of byte strings whose running time does not depend on where
// they differ (sodium_memcmp). Use it for MACs, token hashes and any other
// value an attacker could learn byte by byte from timing.
//
// Thread-safety: pure; callable from any thread.
#ifndef TILLIT_CRYPTO_CONSTANT_TIME_H_
#define TILLIT_CRYPTO_CONSTANT_TIME_H_

#include <cstdint>
#include <span>

namespace tillit::crypto {

// True when `a` and `b` hold the same bytes. Lengths are treated as public:
// different lengths return false at once. Two empty spans are equal.
bool ConstantTimeEquals(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_CONSTANT_TIME_H_
