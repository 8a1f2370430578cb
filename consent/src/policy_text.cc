// Text forms shared by the grant JSON and FHIR Consent readers and writers:
// instants, dates, vault ids, and exception-free JSON parsing.
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "policy_internal.h"
#include "tillit/fhir/fhir.h"

namespace tillit::consent::policy_internal {
namespace {

using nlohmann::json;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// True when `text` has a digit wherever `shape` has 'd' and the same
// character elsewhere.
bool HasShape(std::string_view text, std::string_view shape) {
  if (text.size() != shape.size()) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (shape[i] == 'd' ? !IsDigit(text[i]) : text[i] != shape[i]) {
      return false;
    }
  }
  return true;
}

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

bool IsLeapYear(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// Days from 0001-01-01 to `year`-01-01 (proleptic Gregorian).
int64_t DaysBeforeYear(int64_t year) {
  const int64_t y = year - 1;
  return y * 365 + y / 4 - y / 100 + y / 400;
}

struct CivilTime {
  int64_t year;
  int month, day, hour, minute, second;
};

CivilTime ToCivil(int64_t t) {
  const int64_t days = FloorDiv(t, kSecondsPerDay);
  int64_t rest = t - days * kSecondsPerDay;
  CivilTime c{};
  c.hour = static_cast<int>(rest / 3600);
  rest %= 3600;
  c.minute = static_cast<int>(rest / 60);
  c.second = static_cast<int>(rest % 60);

  const int64_t d = days + DaysBeforeYear(1970);  // days since 0001-01-01
  int64_t year = d * 400 / 146097 + 1;            // within one of the truth
  while (year > 1 && DaysBeforeYear(year) > d) --year;
  while (DaysBeforeYear(year + 1) <= d) ++year;
  int day_of_year = static_cast<int>(d - DaysBeforeYear(year));
  static constexpr int kDaysInMonth[12] = {31, 28, 31, 30, 31, 30,
                                           31, 31, 30, 31, 30, 31};
  int month = 0;
  for (; month < 12; ++month) {
    const int len = kDaysInMonth[month] + (month == 1 && IsLeapYear(year));
    if (day_of_year < len) break;
    day_of_year -= len;
  }
  c.year = year;
  c.month = month + 1;
  c.day = day_of_year + 1;
  return c;
}

}  // namespace

std::string FormatInstant(int64_t t) {
  const CivilTime c = ToCivil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                static_cast<int>(c.year), c.month, c.day, c.hour, c.minute,
                c.second);
  return buf;
}

std::string FormatDate(int64_t t) {
  const CivilTime c = ToCivil(t);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(c.year),
                c.month, c.day);
  return buf;
}

bool IsDayStart(int64_t t) { return t % kSecondsPerDay == 0; }

std::optional<int64_t> ParseInstant(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then an optional fraction, then Z or +hh:mm/-hh:mm.
  if (text.size() < 20 ||
      !HasShape(text.substr(0, 19), "dddd-dd-ddTdd:dd:dd")) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (text[pos] == '.') {
    const size_t first = ++pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == first) return std::nullopt;
  }
  const std::string_view zone = text.substr(pos);
  if (zone != "Z" && !HasShape(zone, "+dd:dd") && !HasShape(zone, "-dd:dd")) {
    return std::nullopt;
  }
  StatusOr<int64_t> t = fhir::ParseFhirDateTime(text);
  if (!t.ok() || *t < kMinTime || *t > kMaxTime) return std::nullopt;
  return *t;
}

std::optional<int64_t> ParseDate(std::string_view text) {
  if (!HasShape(text, "dddd-dd-dd")) return std::nullopt;
  StatusOr<int64_t> t = fhir::ParseFhirDateTime(text);
  if (!t.ok()) return std::nullopt;
  return *t;
}

bool IsVaultId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 32 ||
      id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : id.substr(prefix.size())) {
    if (!IsDigit(c) && !(c >= 'a' && c <= 'f')) return false;
  }
  return true;
}

std::string QuoteField(std::string_view name) {
  bool plain = !name.empty() && name.size() <= 32;
  for (char c : name) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      IsDigit(c) || c == '_' || c == '-');
  }
  return plain ? std::string(name) : std::string("(field name not shown)");
}

StatusOr<json> ParseJsonText(std::string_view text, std::string_view what) {
  if (text.size() > kMaxDocumentBytes) {
    return Status::InvalidArgument(std::string(what) + ": larger than " +
                                   std::to_string(kMaxDocumentBytes) +
                                   " bytes");
  }
  // The callback sees every key; it cannot stop the parser, so it records
  // what it saw and the result is refused afterwards.
  std::vector<std::unordered_set<std::string>> keys;
  bool duplicate = false;
  bool too_deep = false;
  const json::parser_callback_t callback = [&](int depth,
                                               json::parse_event_t event,
                                               json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        if (depth >= kMaxJsonDepth) too_deep = true;
        break;
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth) too_deep = true;
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get_ref<const std::string&>()).second) {
          duplicate = true;
        }
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), callback,
                           /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    return Status::InvalidArgument(std::string(what) + ": not valid JSON");
  }
  if (too_deep) {
    return Status::InvalidArgument(std::string(what) +
                                   ": JSON nested deeper than " +
                                   std::to_string(kMaxJsonDepth) + " levels");
  }
  if (duplicate) {
    return Status::InvalidArgument(std::string(what) +
                                   ": an object has the same key twice");
  }
  return value;
}

std::string DumpJson(const nlohmann::ordered_json& value) {
  return value.dump(-1, ' ', false,
                    nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace tillit::consent::policy_internal

namespace tillit::consent {

std::string FormatIsoDate(int64_t t) { return policy_internal::FormatDate(t); }

}  // namespace tillit::consent
