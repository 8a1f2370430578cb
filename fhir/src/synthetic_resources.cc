// The resource builders of the synthetic generator. Output depends only on
// the SyntheticRng draws and the tables here (see synthetic.cc).
#include "synthetic_resources.h"

#include <algorithm>

namespace tillit::fhir::synthetic_internal {
namespace {

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

constexpr std::string_view kSnomed = "http://snomed.info/sct";
constexpr std::string_view kLoinc = "http://loinc.org";
constexpr std::string_view kRxNorm =
    "http://www.nlm.nih.gov/research/umls/rxnorm";
constexpr std::string_view kCvx = "http://hl7.org/fhir/sid/cvx";
constexpr std::string_view kObservationCategory =
    "http://terminology.hl7.org/CodeSystem/observation-category";

constexpr Code kCheckUp = {"185349003", "Encounter for check up (procedure)"};
constexpr Code kSymptomVisit = {"185345009",
                                "Encounter for symptom (procedure)"};
constexpr Code kExamination = {"162673000",
                               "General examination of patient (procedure)"};

}  // namespace

std::string FormatDate(int64_t epoch_seconds) {
  const Civil c = ToCivil(epoch_seconds);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(c.year),
                c.month, c.day);
  return buf;
}

std::string FormatDateTime(int64_t utc_seconds, int offset_hours) {
  const Civil c = ToCivil(utc_seconds + int64_t{offset_hours} * 3600);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d+%02d:00",
                static_cast<int>(c.year), c.month, c.day, c.hour, c.minute,
                c.second, offset_hours);
  return buf;
}

void CitizenWriter::Observation(const std::string& encounter, int64_t t,
                                bool lab, const Code& code, int64_t tenths,
                                bool decimal, std::string_view unit) {
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

void CitizenWriter::BloodPressure(const std::string& encounter, int64_t t) {
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

void CitizenWriter::VitalSigns(const std::string& encounter, int64_t t,
                               bool full) {
  BloodPressure(encounter, t);
  Observation(encounter, t, false, {"8867-4", "Heart rate"},
              rng_->Between(55, 95) * 10, false, "/min");
  if (!full) return;
  c_->weight_tenths = std::clamp<int>(
      c_->weight_tenths + static_cast<int>(rng_->Between(-30, 35)), 400, 1800);
  const int64_t h = c_->height_cm;
  const int64_t bmi_tenths =
      (int64_t{c_->weight_tenths} * 10000 + h * h / 2) / (h * h);
  Observation(encounter, t, false, {"8302-2", "Body Height"}, h * 10, true,
              "cm");
  Observation(encounter, t, false, {"29463-7", "Body Weight"},
              c_->weight_tenths, true, "kg");
  Observation(encounter, t, false, {"39156-5", "Body mass index (BMI) [Ratio]"},
              bmi_tenths, true, "kg/m2");
}

void CitizenWriter::Labs(const std::string& encounter, int64_t t) {
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
        (c_->diabetic ? rng_->Between(120, 210) : rng_->Between(70, 105)) * 10,
        false, "mg/dL");
  }
}

std::string CitizenWriter::Condition(const std::string& encounter, int64_t t,
                                     const Code& code,
                                     std::optional<int64_t> abated) {
  std::string id = b_->NewUuid();
  JsonWriter& w = b_->BeginResource("Condition", id);
  w.Key("clinicalStatus").Open('{').Key("coding").Open('[');
  b_->Coding("http://terminology.hl7.org/CodeSystem/condition-clinical",
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

void CitizenWriter::Prescription(const std::string& encounter, int64_t t,
                                 const Code& drug, const std::string& condition,
                                 bool active) {
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

void CitizenWriter::Immunization(const std::string& encounter, int64_t t,
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

void CitizenWriter::Encounter(const std::string& id, int64_t t, Visit visit,
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

}  // namespace tillit::fhir::synthetic_internal
