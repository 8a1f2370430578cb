// Privacy loss ε as exact fixed point: an int64_t count of millionths
// ("micro-ε"; 500000 is ε 0.5). Budgets are added and compared in these
// integers, so composition never drifts the way sums of doubles do.
//
// Thread-safety: pure functions on values.
#ifndef TILLIT_CONSENT_EPSILON_H_
#define TILLIT_CONSENT_EPSILON_H_

#include <cstdint>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::consent {

inline constexpr int64_t kMicroPerEpsilon = 1'000'000;
// The largest ε a grant, a study or a query may name.
inline constexpr int64_t kMaxEpsilonMicro = 100 * kMicroPerEpsilon;

// Parses a plain decimal: digits, optionally '.' and 1..6 digits ("0.5",
// "2", "0.000001", "3.25"), at most kMaxEpsilonMicro. No sign, exponent,
// spaces or more than 6 decimals: InvalidArgument "ε must be a decimal
// number from 0 to 100 with at most 6 decimals, such as 0.5".
StatusOr<int64_t> ParseEpsilon(std::string_view text);

// A JSON number as a JSON parser holds it: the double nearest to the
// written decimal. Accepted when it is the double nearest to a whole number
// of micro-ε from 0 to kMaxEpsilonMicro (so every decimal with at most 6
// decimals is read exactly, however the writer printed it, e.g. "1e-05");
// refused, with ParseEpsilon's message, when negative (-0 included), not
// finite, above 100 or between two micro-ε ("1e-07", "0.1234567").
StatusOr<int64_t> EpsilonFromDouble(double value);

// The double nearest to micro / 10^6 (IEEE division is correctly rounded),
// for writing ε as a JSON number: EpsilonFromDouble reads it back exactly,
// and a shortest-round-trip printer prints it as the exact decimal.
// REQUIRES: 0 <= micro <= kMaxEpsilonMicro.
double EpsilonToDouble(int64_t micro);

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_EPSILON_H_
