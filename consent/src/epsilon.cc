// ε -> micro-ε, exactly. Text is read digit by digit as integers, never
// through a double; a JSON number (already a double) is accepted only when
// it is exactly the double that stands for a whole number of micro-ε.
#include "tillit/consent/epsilon.h"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tillit::consent {
namespace {

Status NotEpsilon() {
  return Status::InvalidArgument(
      "ε must be a decimal number from 0 to 100 with at most 6 decimals, "
      "such as 0.5");
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The longest run of digits at the start of `*text`, removed from it.
std::string_view TakeDigits(std::string_view* text) {
  size_t n = 0;
  while (n < text->size() && IsDigit((*text)[n])) ++n;
  const std::string_view digits = text->substr(0, n);
  text->remove_prefix(n);
  return digits;
}

// int_digits.frac_digits in micro-ε, when at most kMaxEpsilonMicro.
// REQUIRES: both are digits only; frac_digits has at most 6.
StatusOr<int64_t> ToMicro(std::string_view int_digits,
                          std::string_view frac_digits) {
  int64_t whole = 0;
  for (char c : int_digits) {
    whole = whole * 10 + (c - '0');
    // Stops before the digits of a long input could overflow.
    if (whole > kMaxEpsilonMicro / kMicroPerEpsilon) return NotEpsilon();
  }
  int64_t fraction = 0;
  for (size_t i = 0; i < 6; ++i) {
    const int digit = i < frac_digits.size() ? frac_digits[i] - '0' : 0;
    fraction = fraction * 10 + digit;
  }
  const int64_t micro = whole * kMicroPerEpsilon + fraction;
  if (micro > kMaxEpsilonMicro) return NotEpsilon();
  return micro;
}

}  // namespace

StatusOr<int64_t> ParseEpsilon(std::string_view text) {
  const std::string_view int_digits = TakeDigits(&text);
  if (int_digits.empty()) return NotEpsilon();
  std::string_view frac_digits;
  if (!text.empty() && text.front() == '.') {
    text.remove_prefix(1);
    frac_digits = TakeDigits(&text);
    if (frac_digits.empty() || frac_digits.size() > 6) return NotEpsilon();
  }
  if (!text.empty()) return NotEpsilon();
  return ToMicro(int_digits, frac_digits);
}

StatusOr<int64_t> EpsilonFromDouble(double value) {
  if (!std::isfinite(value) || std::signbit(value) ||
      value > static_cast<double>(kMaxEpsilonMicro / kMicroPerEpsilon)) {
    return NotEpsilon();
  }
  // value * 10^6 is within a few units in the last place of the micro-ε it
  // stands for; the comparison below is what decides.
  const int64_t micro =
      std::llround(value * static_cast<double>(kMicroPerEpsilon));
  if (micro > kMaxEpsilonMicro || EpsilonToDouble(micro) != value) {
    return NotEpsilon();
  }
  return micro;
}

double EpsilonToDouble(int64_t micro) {
  return static_cast<double>(micro) / static_cast<double>(kMicroPerEpsilon);
}

}  // namespace tillit::consent
