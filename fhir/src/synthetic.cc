// The synthetic citizen generator. Everything that shapes the output comes
// from SyntheticRng and the tables below, never from the clock, the locale or
// std:: distributions, so bundles are byte-identical everywhere.
#include "tillit/fhir/synthetic.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tillit::fhir {
namespace {

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

constexpr int kDaysBeforeMonth[12] = {0,   31,  59,  90,  120, 151,
                                      181, 212, 243, 273, 304, 334};

// Days since 0001-01-01.
constexpr int64_t DayNumber(int64_t year, int month, int day) {
  const int64_t y = year - 1;
  int64_t days = y * 365 + y / 4 - y / 100 + y / 400 +
                 kDaysBeforeMonth[month - 1] + day - 1;
  if (month > 2 && IsLeap(year)) ++days;
  return days;
}

constexpr int64_t kEpochDayNumber = DayNumber(1970, 1, 1);

constexpr int64_t EpochSeconds(int64_t year, int month, int day) {
  return (DayNumber(year, month, day) - kEpochDayNumber) * 86400;
}

struct Civil {
  int64_t year;
  int month, day, hour, minute, second;
};

Civil ToCivil(int64_t epoch_seconds) {
  int64_t days = epoch_seconds / 86400;
  int64_t rest = epoch_seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  int64_t n = days + kEpochDayNumber;  // days since 0001-01-01
  const int64_t n400 = n / 146097;
  n %= 146097;
  const int64_t n100 = std::min<int64_t>(n / 36524, 3);
  n -= n100 * 36524;
  const int64_t n4 = n / 1461;
  n %= 1461;
  const int64_t n1 = std::min<int64_t>(n / 365, 3);
  n -= n1 * 365;  // day of year, 0-based
  Civil c{};
  c.year = n400 * 400 + n100 * 100 + n4 * 4 + n1 + 1;
  int month = 12;
  while (month > 1 &&
         n < kDaysBeforeMonth[month - 1] + (month > 2 && IsLeap(c.year))) {
    --month;
  }
  c.month = month;
  c.day = static_cast<int>(n - kDaysBeforeMonth[month - 1] -
                           (month > 2 && IsLeap(c.year))) +
          1;
  c.hour = static_cast<int>(rest / 3600);
  c.minute = static_cast<int>(rest / 60 % 60);
  c.second = static_cast<int>(rest % 60);
  return c;
}

std::string FormatDate(int64_t epoch_seconds) {
  const Civil c = ToCivil(epoch_seconds);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(c.year),
                c.month, c.day);
  return buf;
}

// Local wall-clock time with a fixed offset ("+01:00").
std::string FormatDateTime(int64_t utc_seconds, int offset_hours) {
  const Civil c = ToCivil(utc_seconds + int64_t{offset_hours} * 3600);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d+%02d:00",
                static_cast<int>(c.year), c.month, c.day, c.hour, c.minute,
                c.second, offset_hours);
  return buf;
}

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

struct Country {
  std::string_view code;
  int utc_offset_hours;
  std::array<std::string_view, 5> cities;
  std::array<std::string_view, 5> postal_prefixes;
  std::array<std::string_view, 3> streets;
  std::array<std::string_view, 6> male;
  std::array<std::string_view, 6> female;
  std::array<std::string_view, 7> family;
};

const std::array<Country, 4> kCountries = {{
    {"SE",
     1,
     {"Stockholm", "Göteborg", "Malmö", "Uppsala", "Umeå"},
     {"11", "41", "21", "75", "90"},
     {"Storgatan", "Kungsgatan", "Drottninggatan"},
     {"Erik", "Lars", "Karl", "Anders", "Johan", "Nils"},
     {"Anna", "Maria", "Karin", "Ingrid", "Elsa", "Astrid"},
     {"Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
      "Lindqvist"}},
    {"NO",
     1,
     {"Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø"},
     {"01", "50", "70", "40", "90"},
     {"Kirkeveien", "Storgata", "Strandgata"},
     {"Ole", "Magnus", "Henrik", "Sindre", "Jonas", "Håkon"},
     {"Kari", "Sofie", "Nora", "Ida", "Marte", "Solveig"},
     {"Hansen", "Johansen", "Olsen", "Larsen", "Haugen", "Berg", "Bakke"}},
    {"FI",
     2,
     {"Helsinki", "Espoo", "Tampere", "Turku", "Oulu"},
     {"00", "02", "33", "20", "90"},
     {"Kauppakatu", "Mannerheimintie", "Hämeenkatu"},
     {"Juha", "Mikko", "Timo", "Jukka", "Antti", "Matti"},
     {"Aino", "Sanna", "Laura", "Johanna", "Helmi", "Päivi"},
     {"Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen",
      "Laine"}},
    {"DK",
     1,
     {"København", "Aarhus", "Odense", "Aalborg", "Esbjerg"},
     {"1", "8", "5", "9", "6"},
     {"Vestergade", "Nørregade", "Algade"},
     {"Mads", "Søren", "Rasmus", "Frederik", "Mikkel", "Jens"},
     {"Mette", "Freja", "Camilla", "Signe", "Louise", "Karen"},
     {"Jensen", "Nielsen", "Pedersen", "Andersen", "Christensen", "Sørensen",
      "Rasmussen"}},
}};

constexpr std::string_view kSnomed = "http://snomed.info/sct";
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kRxNorm =
    "http://www.nlm.nih.gov/research/umls/rxnorm";
constexpr std::string_view kCvx = "http://hl7.org/fhir/sid/cvx";
constexpr std::string_view kUcum = "http://unitsofmeasure.org";
constexpr std::string_view kObservationCategory =
    "http://terminology.hl7.org/CodeSystem/observation-category";

constexpr Code kCheckUp = {"185349003", "Encounter for check up (procedure)"};
constexpr Code kSymptomVisit = {"185345009",
                                "Encounter for symptom (procedure)"};
constexpr Code kExamination = {"162673000",
                               "General examination of patient (procedure)"};

constexpr Code kDiabetes = {"44054006", "Diabetes mellitus type 2 (disorder)"};
constexpr Code kHypertension = {
    "38341003", "Hypertensive disorder, systemic arterial (disorder)"};
constexpr Code kDepression = {"35489007", "Depressive disorder (disorder)"};
constexpr std::array<Code, 3> kAcute = {{
    {"195662009", "Acute viral pharyngitis (disorder)"},
    {"10509002", "Acute bronchitis (disorder)"},
    {"233604007", "Pneumonia (disorder)"},
}};

constexpr Code kMetformin = {
    "860975",
    "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet"};
constexpr Code kLisinopril = {"314076", "lisinopril 10 MG Oral Tablet"};
constexpr Code kAmlodipine = {"308136", "amlodipine 2.5 MG Oral Tablet"};
constexpr Code kAmoxicillin = {"308182", "Amoxicillin 250 MG Oral Capsule"};

constexpr Code kInfluenzaVaccine = {
    "140", "Influenza, seasonal, injectable, preservative free"};
constexpr Code kCovidVaccine = {
    "208",
    "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, "
    "preservative free, 30 mcg/0.3mL dose"};
constexpr Code kPneumococcalVaccine = {"133", "Pneumococcal conjugate PCV 13"};

// The synthetic population lives until the end of 2024, so output never
// depends on the clock.
constexpr int64_t kEnd = EpochSeconds(2025, 1, 1);
constexpr int64_t kCovidVaccinesFrom = EpochSeconds(2021, 1, 1);
constexpr int64_t kDay = 86400;
constexpr int64_t kYear = 365 * kDay + kDay / 4;

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

class CitizenWriter {
 public:
  CitizenWriter(SyntheticRng* rng, BundleBuilder* b, Citizen* c)
      : rng_(rng), b_(b), c_(c) {}

  void Observation(const std::string& encounter, int64_t t, bool lab,
                   const Code& code, int64_t tenths, bool decimal,
                   std::string_view unit) {
    JsonWriter& w = b_->BeginResource("Observation", b_->NewUuid());
    w.Field("status", "final").Key("category").Open('[').Open('{');
    w.Key("coding").Open('[');
    b_->Coding(kObservationCategory, lab ? Code{"laboratory", "Laboratory"}
                                         : Code{"vital-signs", "Vital signs"});
    w.Close(']').Close('}').Close(']');
    b_->Concept("code", kLoinc, code);
    b_->Reference("subject", c_->patient);
    b_->Reference("encounter", encounter);
    w.Field("effectiveDateTime", b_->DateTime(t))
        .Field("issued", b_->DateTime(t + 600));
    b_->Quantity("valueQuantity", tenths, decimal, unit);
    b_->EndResource();
  }

  void BloodPressure(const std::string& encounter, int64_t t) {
    const int base = c_->hypertensive ? 135 : 112;
    const int64_t systolic = base + rng_->Between(-8, 18);
    const int64_t diastolic = systolic - rng_->Between(35, 55);
    JsonWriter& w = b_->BeginResource("Observation", b_->NewUuid());
    w.Field("status", "final").Key("category").Open('[').Open('{');
    w.Key("coding").Open('[');
    b_->Coding(kObservationCategory, {"vital-signs", "Vital signs"});
    w.Close(']').Close('}').Close(']');
    b_->Concept("code", kLoinc,
                {"85354-9", "Blood pressure panel with all children optional"});
    b_->Reference("subject", c_->patient);
    b_->Reference("encounter", encounter);
    w.Field("effectiveDateTime", b_->DateTime(t))
        .Field("issued", b_->DateTime(t + 600));
    w.Key("component").Open('[');
    for (const auto& [code, value] :
         {std::pair<Code, int64_t>{{"8480-6", "Systolic blood pressure"},
                                   systolic},
          std::pair<Code, int64_t>{{"8462-4", "Diastolic blood pressure"},
                                   diastolic}}) {
      w.Open('{');
      b_->Concept("code", kLoinc, code);
      b_->Quantity("valueQuantity", value * 10, false, "mm[Hg]");
      w.Close('}');
    }
    w.Close(']');
    b_->EndResource();
  }

  void VitalSigns(const std::string& encounter, int64_t t, bool full) {
    BloodPressure(encounter, t);
    Observation(encounter, t, false, {"8867-4", "Heart rate"},
                rng_->Between(55, 95) * 10, false, "/min");
    if (!full) return;
    c_->weight_tenths = std::clamp<int>(
        c_->weight_tenths + static_cast<int>(rng_->Between(-30, 35)), 400,
        1800);
    const int64_t h = c_->height_cm;
    const int64_t bmi_tenths =
        (int64_t{c_->weight_tenths} * 10000 + h * h / 2) / (h * h);
    Observation(encounter, t, false, {"8302-2", "Body Height"}, h * 10, true,
                "cm");
    Observation(encounter, t, false, {"29463-7", "Body Weight"},
                c_->weight_tenths, true, "kg");
    Observation(encounter, t, false,
                {"39156-5", "Body mass index (BMI) [Ratio]"}, bmi_tenths, true,
                "kg/m2");
  }

  void Labs(const std::string& encounter, int64_t t) {
    if (c_->diabetic || rng_->Percent(30)) {
      Observation(encounter, t, true,
                  {"4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood"},
                  c_->diabetic ? rng_->Between(62, 90) : rng_->Between(48, 59),
                  true, "%");
    }
    if (rng_->Percent(50)) {
      Observation(encounter, t, true,
                  {"2093-3", "Cholesterol [Mass/volume] in Serum or Plasma"},
                  rng_->Between(150, 260) * 10, false, "mg/dL");
    }
    if (c_->diabetic || rng_->Percent(40)) {
      Observation(
          encounter, t, true, {"2339-0", "Glucose [Mass/volume] in Blood"},
          (c_->diabetic ? rng_->Between(120, 210) : rng_->Between(70, 105)) *
              10,
          false, "mg/dL");
    }
  }

  std::string Condition(const std::string& encounter, int64_t t,
                        const Code& code, std::optional<int64_t> abated) {
    std::string id = b_->NewUuid();
    JsonWriter& w = b_->BeginResource("Condition", id);
    w.Key("clinicalStatus").Open('{').Key("coding").Open('[');
    b_->Coding(
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        abated ? Code{"resolved", "Resolved"} : Code{"active", "Active"});
    w.Close(']').Close('}');
    w.Key("verificationStatus").Open('{').Key("coding").Open('[');
    b_->Coding("http://terminology.hl7.org/CodeSystem/condition-ver-status",
               {"confirmed", "Confirmed"});
    w.Close(']').Close('}');
    w.Key("category").Open('[').Open('{').Key("coding").Open('[');
    b_->Coding("http://terminology.hl7.org/CodeSystem/condition-category",
               {"encounter-diagnosis", "Encounter Diagnosis"});
    w.Close(']').Close('}').Close(']');
    b_->Concept("code", kSnomed, code);
    b_->Reference("subject", c_->patient);
    b_->Reference("encounter", encounter);
    w.Field("onsetDateTime", b_->DateTime(t));
    if (abated) w.Field("abatementDateTime", b_->DateTime(*abated));
    w.Field("recordedDate", b_->DateTime(t));
    b_->EndResource();
    return id;
  }

  void Prescription(const std::string& encounter, int64_t t, const Code& drug,
                    const std::string& condition, bool active) {
    JsonWriter& w = b_->BeginResource("MedicationRequest", b_->NewUuid());
    w.Field("status", active ? "active" : "completed").Field("intent", "order");
    b_->Concept("medicationCodeableConcept", kRxNorm, drug);
    b_->Reference("subject", c_->patient);
    b_->Reference("encounter", encounter);
    w.Field("authoredOn", b_->DateTime(t));
    w.Key("reasonReference").Open('[').Open('{');
    w.Field("reference", "urn:uuid:" + condition).Close('}').Close(']');
    b_->EndResource();
  }

  void Immunization(const std::string& encounter, int64_t t,
                    const Code& vaccine) {
    JsonWriter& w = b_->BeginResource("Immunization", b_->NewUuid());
    w.Field("status", "completed");
    b_->Concept("vaccineCode", kCvx, vaccine);
    b_->Reference("patient", c_->patient);
    b_->Reference("encounter", encounter);
    w.Field("occurrenceDateTime", b_->DateTime(t))
        .Key("primarySource")
        .Bool(true);
    b_->EndResource();
  }

  void Encounter(const std::string& id, int64_t t, Visit visit,
                 const Code* reason) {
    JsonWriter& w = b_->BeginResource("Encounter", id);
    w.Field("status", "finished");
    w.Key("class")
        .Open('{')
        .Field("system", "http://terminology.hl7.org/CodeSystem/v3-ActCode")
        .Field("code", "AMB")
        .Close('}');
    w.Key("type").Open('[').Open('{').Key("coding").Open('[');
    const Code& type = visit == Visit::kCheckUp   ? kCheckUp
                       : visit == Visit::kSymptom ? kSymptomVisit
                                                  : kExamination;
    b_->Coding(kSnomed, type);
    w.Close(']').Field("text", type.display).Close('}').Close(']');
    b_->Reference("subject", c_->patient);
    w.Key("period")
        .Open('{')
        .Field("start", b_->DateTime(t))
        .Field("end", b_->DateTime(t + 1800 + rng_->Between(0, 3600)))
        .Close('}');
    if (reason != nullptr) {
      w.Key("reasonCode").Open('[').Open('{').Key("coding").Open('[');
      b_->Coding(kSnomed, *reason);
      w.Close(']').Close('}').Close(']');
    }
    b_->EndResource();
  }

 private:
  SyntheticRng* rng_;
  BundleBuilder* b_;
  Citizen* c_;
};

}  // namespace

std::string GenerateSyntheticBundle(uint64_t seed, uint64_t index,
                                    const SyntheticOptions& options) {
  SyntheticRng rng(seed, index);
  const int min_encounters = std::max(0, options.min_encounters);
  const int max_encounters = std::max(min_encounters, options.max_encounters);

  const Country& country = rng.Pick(kCountries);
  BundleBuilder b(&rng, country.utc_offset_hours);
  Citizen c;
  c.patient = b.NewUuid();
  c.male = rng.Percent(50);
  const int64_t age = rng.Between(20, 90);
  // One draw per statement: the order of argument evaluation is unspecified.
  const int birth_month = static_cast<int>(rng.Between(1, 12));
  const int birth_day = static_cast<int>(rng.Between(1, 28));
  c.birth = EpochSeconds(2024 - age, birth_month, birth_day);
  c.height_cm =
      static_cast<int>(c.male ? rng.Between(168, 194) : rng.Between(155, 180));
  const int64_t bmi_tenths = rng.Between(195, 330);
  c.weight_tenths =
      static_cast<int>(bmi_tenths * c.height_cm * c.height_cm / 10000);
  c.diabetic = age >= 35 && rng.Percent(15);
  c.hypertensive = age >= 30 && rng.Percent(25);
  c.depressed = options.include_sensitive && rng.Percent(15);

  // Patient.
  {
    const std::string_view given =
        c.male ? rng.Pick(country.male) : rng.Pick(country.female);
    const std::string_view family = rng.Pick(country.family);
    const size_t city = rng.Below(country.cities.size());
    JsonWriter& w = b.BeginResource("Patient", c.patient);
    w.Key("identifier").Open('[').Open('{');
    w.Field("system", "https://tillit.health/synthetic-citizen");
    char value[64];
    std::snprintf(value, sizeof value, "SYN-%016llx-%llu",
                  static_cast<unsigned long long>(seed),
                  static_cast<unsigned long long>(index));
    w.Field("value", value).Close('}').Close(']');
    w.Key("name").Open('[').Open('{').Field("use", "official");
    w.Field("family", family).Key("given").Open('[').String(given);
    w.Close(']').Close('}').Close(']');
    w.Field("gender", c.male ? "male" : "female");
    w.Field("birthDate", FormatDate(c.birth));
    w.Key("address").Open('[').Open('{').Key("line").Open('[');
    std::string street(rng.Pick(country.streets));
    street += " " + std::to_string(rng.Between(1, 120));
    w.String(street);
    w.Close(']').Field("city", country.cities[city]);
    char postal[8];
    std::snprintf(postal, sizeof postal, "%03d",
                  static_cast<int>(rng.Between(0, 999)));
    w.Field("postalCode", std::string(country.postal_prefixes[city]) + postal);
    w.Field("country", country.code).Close('}').Close(']');
    b.EndResource();
  }

  // Encounter times: adulthood (from 2000 on), sorted.
  const int encounters =
      static_cast<int>(rng.Between(min_encounters, max_encounters));
  const int64_t first =
      std::max(c.birth + 18 * kYear, EpochSeconds(2000, 1, 1));
  std::vector<int64_t> times;
  for (int i = 0; i < encounters; ++i) {
    const int64_t day =
        first + static_cast<int64_t>(
                    rng.Below(static_cast<uint64_t>((kEnd - first) / kDay))) *
                    kDay;
    times.push_back(day + rng.Between(int64_t{7} * 3600,
                                      int64_t{16} * 3600));  // office hours
  }
  std::sort(times.begin(), times.end());

  // Chronic conditions are diagnosed at one encounter each.
  const auto diagnosis_at = [&](bool has) {
    return has && encounters > 0 ? static_cast<int>(rng.Below(encounters)) : -1;
  };
  const int diabetes_at = diagnosis_at(c.diabetic);
  const int hypertension_at = diagnosis_at(c.hypertensive);
  const int depression_at = diagnosis_at(c.depressed);
  std::string diabetes_id, hypertension_id;
  const Code& blood_pressure_drug = rng.Percent(50) ? kLisinopril : kAmlodipine;

  CitizenWriter cw(&rng, &b, &c);
  for (int i = 0; i < encounters; ++i) {
    const int64_t t = times[static_cast<size_t>(i)];
    const bool acute = rng.Percent(30);
    const Code* acute_code = acute ? &rng.Pick(kAcute) : nullptr;
    const Visit visit = acute                ? Visit::kSymptom
                        : i == depression_at ? Visit::kExamination
                                             : Visit::kCheckUp;
    const Code* reason = acute_code != nullptr ? acute_code
                         : i == depression_at  ? &kDepression
                                               : nullptr;
    const std::string encounter = b.NewUuid();
    cw.Encounter(encounter, t, visit, reason);

    if (acute_code != nullptr) {
      const int64_t abated = t + rng.Between(7, 21) * kDay;
      const std::string condition =
          cw.Condition(encounter, t, *acute_code,
                       abated < kEnd ? std::optional(abated) : std::nullopt);
      if (acute_code->code == "233604007") {
        cw.Prescription(encounter, t, kAmoxicillin, condition, false);
      }
    }
    if (i == diabetes_at)
      diabetes_id = cw.Condition(encounter, t, kDiabetes, {});
    if (i == hypertension_at) {
      hypertension_id = cw.Condition(encounter, t, kHypertension, {});
    }
    if (i == depression_at) cw.Condition(encounter, t, kDepression, {});

    cw.VitalSigns(encounter, t + 300, visit == Visit::kCheckUp);
    if (visit == Visit::kCheckUp && (c.diabetic || rng.Percent(50))) {
      cw.Labs(encounter, t + 900);
    }
    // Chronic medication: prescribed at diagnosis, renewed at check-ups.
    if (diabetes_at >= 0 && i >= diabetes_at &&
        (i == diabetes_at || visit == Visit::kCheckUp)) {
      cw.Prescription(encounter, t, kMetformin, diabetes_id, true);
    }
    if (hypertension_at >= 0 && i >= hypertension_at &&
        (i == hypertension_at || visit == Visit::kCheckUp)) {
      cw.Prescription(encounter, t, blood_pressure_drug, hypertension_id, true);
    }
    if (visit == Visit::kCheckUp) {
      if (rng.Percent(45))
        cw.Immunization(encounter, t + 1200, kInfluenzaVaccine);
      if (t >= kCovidVaccinesFrom && rng.Percent(40)) {
        cw.Immunization(encounter, t + 1200, kCovidVaccine);
      }
      if (!c.pneumococcal_given && t - c.birth >= 65 * kYear) {
        c.pneumococcal_given = true;
        cw.Immunization(encounter, t + 1200, kPneumococcalVaccine);
      }
    }
  }
  return b.Finish();
}

}  // namespace tillit::fhir
