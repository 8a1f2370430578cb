// What every fuzz target shares: the one way to report a broken invariant.
//
// A target returns normally for input the library refuses (a non-OK
// Status is the expected answer to hostile bytes) and stops the process
// only when an invariant the library promises does not hold: then libFuzzer
// records the input as a crash, like a sanitizer report.
#ifndef TILLIT_TESTS_FUZZ_FUZZ_CHECK_H_
#define TILLIT_TESTS_FUZZ_FUZZ_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

// Stops the process when `condition` is false: a bug, never bad input.
#define TILLIT_FUZZ_CHECK(condition)    \
  do {                                  \
    if (!(condition)) __builtin_trap(); \
  } while (false)

namespace tillit::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace tillit::fuzz

#endif  // TILLIT_TESTS_FUZZ_FUZZ_CHECK_H_
