// ParseFhirDateTime: FHIR date / dateTime / instant to Unix seconds.
#include <cstdint>
#include <string>
#include <string_view>

#include "fhir_classify.h"
#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

bool IsLeapYear(int64_t year) {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int DaysInMonth(int64_t year, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(year) ? 29 : kDays[month - 1];
}

// Days from 0001-01-01 to `year`-01-01 in the proleptic Gregorian calendar.
int64_t DaysBeforeYear(int64_t year) {
  const int64_t y = year - 1;
  return y * 365 + y / 4 - y / 100 + y / 400;
}

// Days from 1970-01-01 to the given date (negative before 1970).
// REQUIRES: 1 <= year, 1 <= month <= 12, 1 <= day <= DaysInMonth.
int64_t DaysSinceEpoch(int64_t year, int month, int day) {
  static constexpr int kDaysBeforeMonth[12] = {0,   31,  59,  90,  120, 151,
                                               181, 212, 243, 273, 304, 334};
  int64_t days = DaysBeforeYear(year) + kDaysBeforeMonth[month - 1] + day - 1;
  if (month > 2 && IsLeapYear(year)) ++days;
  return days - DaysBeforeYear(1970);
}

// Reads exactly `n` decimal digits at `pos`.
bool ReadDigits(std::string_view s, size_t pos, size_t n, int* value) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

// A date-like text is safe to quote in a message: it cannot carry a name or
// free text. Anything else is described without its value.
bool SafeToQuote(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || c == '-' || c == ':' ||
                    c == '+' || c == '.' || c == 'T' || c == 'Z';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

namespace fhir_internal {

// Built by appending, never by prepending to a temporary: g++ 12 at -O3
// reports a false -Wrestrict for `"\"" + std::string(text)` (GCC PR 105329).
std::string QuoteDateForMessage(std::string_view text) {
  if (!SafeToQuote(text)) return "(value not shown)";
  std::string quoted;
  quoted.reserve(text.size() + 2);
  quoted.push_back('"');
  quoted.append(text);
  quoted.push_back('"');
  return quoted;
}

}  // namespace fhir_internal

StatusOr<int64_t> ParseFhirDateTime(std::string_view s) {
  const auto bad = [&s]() {
    return Status::InvalidArgument(
        fhir_internal::QuoteDateForMessage(s) +
        " is not a valid FHIR date, dateTime or instant");
  };
  int year = 0;
  if (!ReadDigits(s, 0, 4, &year) || year == 0) return bad();
  int month = 1, day = 1, hour = 0, minute = 0, second = 0;
  size_t pos = 4;
  if (pos == s.size()) return DaysSinceEpoch(year, 1, 1) * 86400;

  if (s[pos] != '-' || !ReadDigits(s, pos + 1, 2, &month) || month < 1 ||
      month > 12) {
    return bad();
  }
  pos += 3;
  if (pos == s.size()) return DaysSinceEpoch(year, month, 1) * 86400;

  if (s[pos] != '-' || !ReadDigits(s, pos + 1, 2, &day) || day < 1 ||
      day > DaysInMonth(year, month)) {
    return bad();
  }
  pos += 3;
  const int64_t days = DaysSinceEpoch(year, month, day);
  if (pos == s.size()) return days * 86400;

  // Time: Thh:mm:ss[.fraction], all parts required.
  if (s[pos] != 'T' || !ReadDigits(s, pos + 1, 2, &hour) || hour > 23 ||
      pos + 3 >= s.size() || s[pos + 3] != ':' ||
      !ReadDigits(s, pos + 4, 2, &minute) || minute > 59 ||
      pos + 6 >= s.size() || s[pos + 6] != ':' ||
      !ReadDigits(s, pos + 7, 2, &second) || second > 60) {  // 60: leap
    return bad();
  }
  pos += 9;
  if (pos < s.size() && s[pos] == '.') {
    const size_t first = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == first) return bad();  // "." needs at least one digit
  }

  // Offset: none (UTC), "Z", or +hh:mm / -hh:mm within -14:00..+14:00.
  int64_t offset_seconds = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int off_hour = 0, off_minute = 0;
      if (!ReadDigits(s, pos + 1, 2, &off_hour) || pos + 3 >= s.size() ||
          s[pos + 3] != ':' || !ReadDigits(s, pos + 4, 2, &off_minute) ||
          off_minute > 59 || off_hour > 14 ||
          (off_hour == 14 && off_minute != 0)) {
        return bad();
      }
      offset_seconds = (int64_t{off_hour} * 3600 + int64_t{off_minute} * 60) *
                       (s[pos] == '-' ? -1 : 1);
      pos += 6;
    } else {
      return bad();
    }
  }
  if (pos != s.size()) return bad();
  return days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second -
         offset_seconds;
}

}  // namespace tillit::fhir
