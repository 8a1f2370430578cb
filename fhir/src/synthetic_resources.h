// Internal to the synthetic generator: its pseudo-random source, calendar,
// JSON writer and the builders that write one FHIR resource each into a
// transaction Bundle. synthetic.cc draws a citizen and calls them.
//
// Thread-safety: none of these types is thread-safe; GenerateSyntheticBundle
// makes its own instances per call.
#ifndef TILLIT_FHIR_SRC_SYNTHETIC_RESOURCES_H_
#define TILLIT_FHIR_SRC_SYNTHETIC_RESOURCES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tillit::fhir::synthetic_internal {

// splitmix64: tiny, fast, and its output sequence is fixed by its definition.
class SyntheticRng {
 public:
  SyntheticRng(uint64_t seed, uint64_t index)
      : state_(Mix(seed ^ Mix(index ^ 0x6A09E667F3BCC909ULL))) {}

  uint64_t Next() {
    state_ += 0x9E3779B97F4A7C15ULL;
    return Mix(state_);
  }
  // Uniform enough in [0, n) for synthetic data. REQUIRES: n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // In [lo, hi]. REQUIRES: lo <= hi.
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }
  bool Percent(int percent) {
    return Below(100) < static_cast<uint64_t>(percent);
  }
  template <typename T, size_t N>
  const T& Pick(const std::array<T, N>& items) {
    return items[Below(N)];
  }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

// ---------------------------------------------------------------------------
// Calendar (proleptic Gregorian, UTC seconds).

constexpr bool IsLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

inline constexpr int kDaysBeforeMonth[12] = {0,   31,  59,  90,  120, 151,
                                             181, 212, 243, 273, 304, 334};

// Days since 0001-01-01.
constexpr int64_t DayNumber(int64_t year, int month, int day) {
  const int64_t y = year - 1;
  int64_t days = y * 365 + y / 4 - y / 100 + y / 400 +
                 kDaysBeforeMonth[month - 1] + day - 1;
  if (month > 2 && IsLeap(year)) ++days;
  return days;
}

inline constexpr int64_t kEpochDayNumber = DayNumber(1970, 1, 1);

constexpr int64_t EpochSeconds(int64_t year, int month, int day) {
  return (DayNumber(year, month, day) - kEpochDayNumber) * 86400;
}

// "YYYY-MM-DD" of the UTC day of `epoch_seconds`.
std::string FormatDate(int64_t epoch_seconds);

// Local wall-clock time with a fixed offset ("+01:00").
std::string FormatDateTime(int64_t utc_seconds, int offset_hours);

// ---------------------------------------------------------------------------
// Minified JSON output.

class JsonWriter {
 public:
  JsonWriter& Open(char bracket) {
    Separate();
    out_.push_back(bracket);
    first_.push_back(true);
    return *this;
  }
  JsonWriter& Close(char bracket) {
    out_.push_back(bracket);
    first_.pop_back();
    return *this;
  }
  JsonWriter& Key(std::string_view key) {
    Separate();
    AppendString(key);
    out_.push_back(':');
    after_key_ = true;
    return *this;
  }
  JsonWriter& String(std::string_view value) {
    Separate();
    AppendString(value);
    return *this;
  }
  JsonWriter& Int(int64_t value) {
    Separate();
    out_ += std::to_string(value);
    return *this;
  }
  // value / 10 with one decimal: 1234 -> 123.4
  JsonWriter& Tenths(int64_t value) {
    Separate();
    if (value < 0) {
      out_.push_back('-');
      value = -value;
    }
    out_ += std::to_string(value / 10);
    out_.push_back('.');
    out_.push_back(static_cast<char>('0' + value % 10));
    return *this;
  }
  JsonWriter& Bool(bool value) {
    Separate();
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonWriter& Field(std::string_view key, std::string_view value) {
    return Key(key).String(value);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
  }
  void AppendString(std::string_view s) {
    out_.push_back('"');
    for (char c : s) {
      if (c == '"' || c == '\\') {
        out_.push_back('\\');
        out_.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out_ += buf;
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

// ---------------------------------------------------------------------------
// Tables.

struct Code {
  std::string_view code;
  std::string_view display;
};

inline constexpr std::string_view kUcum = "http://unitsofmeasure.org";

// ---------------------------------------------------------------------------
// Bundle assembly.

class BundleBuilder {
 public:
  BundleBuilder(SyntheticRng* rng, int utc_offset_hours)
      : rng_(rng), offset_(utc_offset_hours) {
    w_.Open('{')
        .Field("resourceType", "Bundle")
        .Field("type", "transaction")
        .Key("entry")
        .Open('[');
  }

  std::string NewUuid() {
    const uint64_t hi = rng_->Next();
    const uint64_t lo = rng_->Next();
    // Version 4, variant 10xx.
    const uint64_t a = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
    const uint64_t b = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx",
                  static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xFFFF),
                  static_cast<unsigned>(a & 0xFFFF),
                  static_cast<unsigned>(b >> 48),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
    return buf;
  }

  // Opens entry + resource; the caller writes members, then EndResource().
  JsonWriter& BeginResource(std::string_view type, const std::string& uuid) {
    type_ = type;
    w_.Open('{').Field("fullUrl", "urn:uuid:" + uuid).Key("resource");
    w_.Open('{').Field("resourceType", type).Field("id", uuid);
    return w_;
  }
  void EndResource() {
    w_.Close('}');
    w_.Key("request")
        .Open('{')
        .Field("method", "POST")
        .Field("url", type_)
        .Close('}');
    w_.Close('}');
  }

  std::string Finish() {
    w_.Close(']').Close('}');
    return w_.Take();
  }

  std::string DateTime(int64_t t) const { return FormatDateTime(t, offset_); }

  // "key":{"reference":"urn:uuid:<uuid>"}
  void Reference(std::string_view key, const std::string& uuid) {
    w_.Key(key).Open('{').Field("reference", "urn:uuid:" + uuid).Close('}');
  }
  void Concept(std::string_view key, std::string_view system,
               const Code& code) {
    w_.Key(key).Open('{').Key("coding").Open('[');
    Coding(system, code);
    w_.Close(']').Field("text", code.display).Close('}');
  }
  void Coding(std::string_view system, const Code& code) {
    w_.Open('{')
        .Field("system", system)
        .Field("code", code.code)
        .Field("display", code.display)
        .Close('}');
  }
  void Quantity(std::string_view key, int64_t tenths, bool decimal,
                std::string_view unit) {
    w_.Key(key).Open('{').Key("value");
    if (decimal) {
      w_.Tenths(tenths);
    } else {
      w_.Int(tenths / 10);
    }
    w_.Field("unit", unit).Field("system", kUcum).Field("code", unit);
    w_.Close('}');
  }

  JsonWriter& writer() { return w_; }

 private:
  SyntheticRng* rng_;
  int offset_;
  JsonWriter w_;
  std::string_view type_;
};

enum class Visit { kCheckUp, kSymptom, kExamination };

struct Citizen {
  std::string patient;
  bool male = false;
  int64_t birth = 0;
  int height_cm = 0;
  int weight_tenths = 0;
  bool diabetic = false;
  bool hypertensive = false;
  bool depressed = false;
  bool pneumococcal_given = false;
};

// Writes the resources of one citizen (*c) into *b, drawing from *rng.
// REQUIRES: rng, b and c outlive the writer.
class CitizenWriter {
 public:
  CitizenWriter(SyntheticRng* rng, BundleBuilder* b, Citizen* c)
      : rng_(rng), b_(b), c_(c) {}

  void Observation(const std::string& encounter, int64_t t, bool lab,
                   const Code& code, int64_t tenths, bool decimal,
                   std::string_view unit);

  void BloodPressure(const std::string& encounter, int64_t t);

  void VitalSigns(const std::string& encounter, int64_t t, bool full);

  void Labs(const std::string& encounter, int64_t t);

  std::string Condition(const std::string& encounter, int64_t t,
                        const Code& code, std::optional<int64_t> abated);

  void Prescription(const std::string& encounter, int64_t t, const Code& drug,
                    const std::string& condition, bool active);

  void Immunization(const std::string& encounter, int64_t t,
                    const Code& vaccine);

  void Encounter(const std::string& id, int64_t t, Visit visit,
                 const Code* reason);

 private:
  SyntheticRng* rng_;
  BundleBuilder* b_;
  Citizen* c_;
};

}  // namespace tillit::fhir::synthetic_internal

#endif  // TILLIT_FHIR_SRC_SYNTHETIC_RESOURCES_H_
