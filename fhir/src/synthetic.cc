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
#include <vector>

#include "synthetic_resources.h"

namespace tillit::fhir {
namespace {

using synthetic_internal::BundleBuilder;
using synthetic_internal::Citizen;
using synthetic_internal::CitizenWriter;
using synthetic_internal::Code;
using synthetic_internal::EpochSeconds;
using synthetic_internal::FormatDate;
using synthetic_internal::JsonWriter;
using synthetic_internal::SyntheticRng;
using synthetic_internal::Visit;

// ---------------------------------------------------------------------------
// Tables.

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
    street += ' ';  // two appends: see QuoteDateForMessage on g++ 12
    street += std::to_string(rng.Between(1, 120));
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
