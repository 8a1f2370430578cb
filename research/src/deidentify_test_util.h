// Test helpers shared by the Deidentify tests: study keys and their
// pseudonymisers. Test-only; nothing here is used by the library.
#ifndef TILLIT_RESEARCH_SRC_DEIDENTIFY_TEST_UTIL_H_
#define TILLIT_RESEARCH_SRC_DEIDENTIFY_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "tillit/research/pseudonymiser.h"

namespace tillit::research::testing {

inline crypto::SecretBytes Key(char fill) {
  return crypto::SecretBytes::CopyFrom(std::string(32, fill));
}

// The pseudonyms of a study whose key is 32 bytes of `fill`.
inline Pseudonymiser Pseudonyms(char fill) {
  StatusOr<Pseudonymiser> p = Pseudonymiser::Create(Key(fill));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

}  // namespace tillit::research::testing

#endif  // TILLIT_RESEARCH_SRC_DEIDENTIFY_TEST_UTIL_H_
