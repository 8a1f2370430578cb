// Classification of single resources: category names, category and
// effective date. Sensitivity, validation and the stored JSON are in
// fhir_validation_test.cc.
#include "tillit/fhir/fhir.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fhir_test_util.h"

namespace tillit::fhir {
namespace {

using testing::Concept;
using testing::ErrorOf;
using testing::kLoinc;
using testing::kSnomed;
using testing::Parse;
using testing::Resource;

Category CategoryOf(const std::string& json) { return Parse(json).category; }

std::string CategoryArray(const std::string& system,
                          const std::vector<std::string>& codes) {
  std::string out = R"("category":[)";
  for (size_t i = 0; i < codes.size(); ++i) {
    if (i > 0) out += ",";
    out += Concept(system, codes[i]);
  }
  return out + "]";
}

constexpr char kObsCat[] =
    "http://terminology.hl7.org/CodeSystem/observation-category";
constexpr char kV2[] = "http://terminology.hl7.org/CodeSystem/v2-0074";

// ---------------------------------------------------------------------------
// Category names.

TEST(CategoryNameTest, ContractNames) {
  EXPECT_EQ(CategoryName(Category::kPatientSummary), "patient-summary");
  EXPECT_EQ(CategoryName(Category::kPrescriptions), "prescriptions");
  EXPECT_EQ(CategoryName(Category::kDispensations), "dispensations");
  EXPECT_EQ(CategoryName(Category::kLabResults), "lab-results");
  EXPECT_EQ(CategoryName(Category::kVitalSigns), "vital-signs");
  EXPECT_EQ(CategoryName(Category::kImaging), "imaging");
  EXPECT_EQ(CategoryName(Category::kDischargeReports), "discharge-reports");
  EXPECT_EQ(CategoryName(Category::kEncounters), "encounters");
  EXPECT_EQ(CategoryName(Category::kFinancial), "financial");
  EXPECT_EQ(CategoryName(Category::kOther), "other");
}

TEST(CategoryNameTest, ParseIsTheInverse) {
  ASSERT_EQ(AllCategories().size(), static_cast<size_t>(kCategoryCount));
  for (Category c : AllCategories()) {
    ASSERT_TRUE(ParseCategory(CategoryName(c)).has_value());
    EXPECT_EQ(*ParseCategory(CategoryName(c)), c);
  }
  EXPECT_FALSE(ParseCategory("labs").has_value());
  EXPECT_FALSE(ParseCategory("").has_value());
  EXPECT_FALSE(ParseCategory("Lab-Results").has_value());
}

TEST(CategoryNameTest, AllCategoriesInEnumOrderWithoutRepeats) {
  for (int i = 0; i < kCategoryCount; ++i) {
    EXPECT_EQ(static_cast<int>(AllCategories()[static_cast<size_t>(i)]), i);
  }
}

// ---------------------------------------------------------------------------
// Category rules, one per row of SPEC section 3.

TEST(CategoryTest, PatientSummaryTypes) {
  for (const char* type :
       {"Patient", "AllergyIntolerance", "Condition", "MedicationStatement",
        "Immunization", "Procedure", "Device"}) {
    EXPECT_EQ(CategoryOf(Resource(type)), Category::kPatientSummary) << type;
  }
}

TEST(CategoryTest, Prescriptions) {
  EXPECT_EQ(CategoryOf(Resource("MedicationRequest")),
            Category::kPrescriptions);
}

TEST(CategoryTest, Dispensations) {
  EXPECT_EQ(CategoryOf(Resource("MedicationDispense")),
            Category::kDispensations);
}

TEST(CategoryTest, ObservationLaboratoryIsLabResults) {
  EXPECT_EQ(CategoryOf(Resource("Observation",
                                CategoryArray(kObsCat, {"laboratory"}))),
            Category::kLabResults);
}

TEST(CategoryTest, ObservationVitalSigns) {
  EXPECT_EQ(CategoryOf(Resource("Observation",
                                CategoryArray(kObsCat, {"vital-signs"}))),
            Category::kVitalSigns);
  EXPECT_EQ(CategoryOf(Resource("Observation",
                                CategoryArray(kObsCat, {"vital-sign"}))),
            Category::kVitalSigns);
}

TEST(CategoryTest, ObservationWithoutBetterCategoryIsVitalSigns) {
  EXPECT_EQ(CategoryOf(Resource("Observation")), Category::kVitalSigns);
  EXPECT_EQ(
      CategoryOf(Resource("Observation", CategoryArray(kObsCat, {"survey"}))),
      Category::kVitalSigns);
  EXPECT_EQ(CategoryOf(Resource("Observation", R"("category":[])")),
            Category::kVitalSigns);
  EXPECT_EQ(CategoryOf(Resource("Observation", R"("category":[{"text":"x"}])")),
            Category::kVitalSigns);
}

TEST(CategoryTest, ObservationImaging) {
  EXPECT_EQ(
      CategoryOf(Resource("Observation", CategoryArray(kObsCat, {"imaging"}))),
      Category::kImaging);
}

TEST(CategoryTest, ObservationPrecedenceLabOverImagingOverVitalSigns) {
  EXPECT_EQ(CategoryOf(Resource(
                "Observation", CategoryArray(kObsCat, {"vital-signs", "imaging",
                                                       "laboratory"}))),
            Category::kLabResults);
  EXPECT_EQ(
      CategoryOf(Resource("Observation",
                          CategoryArray(kObsCat, {"vital-signs", "imaging"}))),
      Category::kImaging);
  EXPECT_EQ(
      CategoryOf(Resource(
          "Observation",
          R"("category":[{"coding":[{"code":"survey"},{"code":"laboratory"}]}])")),
      Category::kLabResults);
}

TEST(CategoryTest, DiagnosticReportOfALab) {
  EXPECT_EQ(
      CategoryOf(Resource("DiagnosticReport", CategoryArray(kV2, {"LAB"}))),
      Category::kLabResults);
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport",
                                R"("category":[{"coding":[{"code":"LAB"}]}])")),
            Category::kLabResults);
  EXPECT_EQ(CategoryOf(Resource(
                "DiagnosticReport",
                CategoryArray("http://hl7.org/fhir/v2/0074", {"LAB"}))),
            Category::kLabResults);
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport",
                                CategoryArray(kObsCat, {"laboratory"}))),
            Category::kLabResults);
  for (const char* section : {"HM", "CH", "MB"}) {
    EXPECT_EQ(
        CategoryOf(Resource("DiagnosticReport", CategoryArray(kV2, {section}))),
        Category::kLabResults)
        << section;
  }
}

TEST(CategoryTest, DiagnosticReportSectionCodeNeedsTheV2System) {
  EXPECT_EQ(
      CategoryOf(Resource("DiagnosticReport",
                          CategoryArray("http://example.org/local", {"LAB"}))),
      Category::kOther);
  EXPECT_EQ(
      CategoryOf(Resource("DiagnosticReport",
                          CategoryArray("http://example.org/local", {"RAD"}))),
      Category::kOther);
}

TEST(CategoryTest, DiagnosticReportOfImaging) {
  for (const char* section : {"RAD", "CT", "MR", "US", "NMR", "RX", "VUS"}) {
    EXPECT_EQ(
        CategoryOf(Resource("DiagnosticReport", CategoryArray(kV2, {section}))),
        Category::kImaging)
        << section;
  }
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport",
                                CategoryArray(kObsCat, {"imaging"}))),
            Category::kImaging);
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport",
                                CategoryArray(kLoinc, {"LP29684-5"}))),
            Category::kImaging);
}

TEST(CategoryTest, DiagnosticReportLabWinsOverImaging) {
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport",
                                CategoryArray(kV2, {"RAD", "LAB"}))),
            Category::kLabResults);
}

TEST(CategoryTest, DiagnosticReportOfNeitherIsOther) {
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport")), Category::kOther);
  EXPECT_EQ(CategoryOf(Resource("DiagnosticReport",
                                CategoryArray(kV2, {"EC"}))),  // ECG
            Category::kOther);
}

TEST(CategoryTest, ImagingTypes) {
  EXPECT_EQ(CategoryOf(Resource("ImagingStudy")), Category::kImaging);
  EXPECT_EQ(CategoryOf(Resource("Media")), Category::kImaging);
}

TEST(CategoryTest, DischargeSummaries) {
  for (const char* type : {"Composition", "DocumentReference"}) {
    for (const char* code : {"18842-5", "11490-0", "28655-9", "59258-4"}) {
      EXPECT_EQ(
          CategoryOf(Resource(type, R"("type":)" + Concept(kLoinc, code))),
          Category::kDischargeReports)
          << type << " " << code;
    }
  }
}

TEST(CategoryTest, OtherDocumentsAreOther) {
  // A LOINC document type that is not a discharge summary.
  EXPECT_EQ(CategoryOf(Resource("DocumentReference",
                                R"("type":)" + Concept(kLoinc, "34117-2"))),
            Category::kOther);
  // The right code in another system.
  EXPECT_EQ(CategoryOf(Resource("Composition",
                                R"("type":)" + Concept(kSnomed, "18842-5"))),
            Category::kOther);
  EXPECT_EQ(CategoryOf(Resource("Composition")), Category::kOther);
  EXPECT_EQ(CategoryOf(Resource("DocumentReference")), Category::kOther);
}

TEST(CategoryTest, EncounterTypes) {
  for (const char* type : {"Encounter", "CarePlan", "CareTeam", "Goal"}) {
    EXPECT_EQ(CategoryOf(Resource(type)), Category::kEncounters) << type;
  }
}

TEST(CategoryTest, FinancialTypes) {
  for (const char* type : {"Claim", "ExplanationOfBenefit", "Coverage"}) {
    EXPECT_EQ(CategoryOf(Resource(type)), Category::kFinancial) << type;
  }
}

TEST(CategoryTest, AnythingElseIsOther) {
  for (const char* type : {"Organization", "Practitioner", "Location",
                           "Questionnaire", "Provenance", "SomeFutureType"}) {
    EXPECT_EQ(CategoryOf(Resource(type)), Category::kOther) << type;
  }
}

// ---------------------------------------------------------------------------
// Effective dates.

struct DateCase {
  const char* type;
  const char* members;  // JSON members after "id"
  std::optional<int64_t> expected;
};

constexpr int64_t k2015 = 1420070400;  // 2015-01-01T00:00:00Z
constexpr int64_t k2016 = 1451606400;  // 2016-01-01T00:00:00Z
constexpr int64_t k2017 = 1483228800;  // 2017-01-01T00:00:00Z
constexpr int64_t k2018 = 1514764800;  // 2018-01-01T00:00:00Z

TEST(EffectiveDateTest, EveryFieldOfEveryType) {
  const std::vector<DateCase> cases = {
      {"Observation", R"("effectiveDateTime":"2015")", k2015},
      {"Observation", R"("effectivePeriod":{"start":"2015"})", k2015},
      {"Observation", R"("effectiveInstant":"2015-01-01T00:00:00Z")", k2015},
      {"Observation", R"("issued":"2015-01-01T00:00:00.000Z")", k2015},
      {"Condition", R"("onsetDateTime":"2015")", k2015},
      {"Condition", R"("onsetPeriod":{"start":"2015"})", k2015},
      {"Condition", R"("recordedDate":"2015")", k2015},
      {"Encounter", R"("period":{"start":"2015","end":"2016"})", k2015},
      {"Procedure", R"("performedDateTime":"2015")", k2015},
      {"Procedure", R"("performedPeriod":{"start":"2015"})", k2015},
      {"MedicationRequest", R"("authoredOn":"2015")", k2015},
      {"MedicationDispense", R"("whenHandedOver":"2015")", k2015},
      {"MedicationDispense", R"("whenPrepared":"2015")", k2015},
      {"MedicationStatement", R"("effectiveDateTime":"2015")", k2015},
      {"MedicationStatement", R"("effectivePeriod":{"start":"2015"})", k2015},
      {"MedicationStatement", R"("dateAsserted":"2015")", k2015},
      {"Immunization", R"("occurrenceDateTime":"2015")", k2015},
      {"Immunization", R"("recorded":"2015")", k2015},
      {"DiagnosticReport", R"("effectiveDateTime":"2015")", k2015},
      {"DiagnosticReport", R"("effectivePeriod":{"start":"2015"})", k2015},
      {"DiagnosticReport", R"("issued":"2015-01-01T00:00:00Z")", k2015},
      {"ImagingStudy", R"("started":"2015")", k2015},
      {"AllergyIntolerance", R"("onsetDateTime":"2015")", k2015},
      {"AllergyIntolerance", R"("recordedDate":"2015")", k2015},
      {"CarePlan", R"("period":{"start":"2015"})", k2015},
      {"CareTeam", R"("period":{"start":"2015"})", k2015},
      {"Goal", R"("startDate":"2015-01-01")", k2015},
      {"Claim", R"("billablePeriod":{"start":"2015"})", k2015},
      {"Claim", R"("created":"2015")", k2015},
      {"ExplanationOfBenefit", R"("billablePeriod":{"start":"2015"})", k2015},
      {"ExplanationOfBenefit", R"("created":"2015")", k2015},
      {"Coverage", R"("period":{"start":"2015"})", k2015},
      {"Composition", R"("date":"2015")", k2015},
      {"DocumentReference", R"("date":"2015-01-01T00:00:00Z")", k2015},
      {"Media", R"("createdDateTime":"2015")", k2015},
      {"Organization", R"("meta":{"lastUpdated":"2015-01-01T00:00:00Z"})",
       k2015},
  };
  for (const DateCase& c : cases) {
    const ParsedResource r = Parse(Resource(c.type, c.members));
    EXPECT_EQ(r.effective, c.expected) << c.type << " " << c.members;
  }
}

TEST(EffectiveDateTest, FirstPresentFieldWins) {
  const std::vector<DateCase> cases = {
      {"Observation",
       R"("issued":"2018","effectiveInstant":"2017","effectivePeriod":{"start":"2016"},"effectiveDateTime":"2015")",
       k2015},
      {"Observation",
       R"("issued":"2018","effectiveInstant":"2017","effectivePeriod":{"start":"2016"})",
       k2016},
      {"Observation", R"("issued":"2018","effectiveInstant":"2017")", k2017},
      // A period without start gives way to the next field.
      {"Observation", R"("effectivePeriod":{"end":"2016"},"issued":"2018")",
       k2018},
      {"Condition", R"("recordedDate":"2016","onsetDateTime":"2015")", k2015},
      {"Condition", R"("recordedDate":"2016","onsetPeriod":{"start":"2015"})",
       k2015},
      {"Procedure",
       R"("performedPeriod":{"start":"2016"},"performedDateTime":"2015")",
       k2015},
      {"MedicationDispense", R"("whenPrepared":"2016","whenHandedOver":"2015")",
       k2015},
      {"MedicationStatement",
       R"("dateAsserted":"2017","effectivePeriod":{"start":"2016"})", k2016},
      {"Immunization", R"("recorded":"2016","occurrenceDateTime":"2015")",
       k2015},
      {"DiagnosticReport", R"("issued":"2016","effectiveDateTime":"2015")",
       k2015},
      {"AllergyIntolerance", R"("recordedDate":"2016","onsetDateTime":"2015")",
       k2015},
      {"Claim", R"("created":"2016","billablePeriod":{"start":"2015"})", k2015},
      {"ExplanationOfBenefit",
       R"("created":"2016","billablePeriod":{"end":"2015"})", k2016},
      // Only the listed fields count: meta.lastUpdated is for other types.
      {"Encounter", R"("meta":{"lastUpdated":"2015-01-01T00:00:00Z"})",
       std::nullopt},
  };
  for (const DateCase& c : cases) {
    const ParsedResource r = Parse(Resource(c.type, c.members));
    EXPECT_EQ(r.effective, c.expected) << c.type << " " << c.members;
  }
}

TEST(EffectiveDateTest, NoDate) {
  // birthDate is not an event date.
  EXPECT_EQ(Parse(Resource("Patient", R"("birthDate":"1970-01-01")")).effective,
            std::nullopt);
  EXPECT_EQ(Parse(Resource("Patient",
                           R"("meta":{"lastUpdated":"2015-01-01T00:00:00Z"})"))
                .effective,
            std::nullopt);
  EXPECT_EQ(Parse(Resource("Device",
                           R"("meta":{"lastUpdated":"2015-01-01T00:00:00Z"})"))
                .effective,
            std::nullopt);
  EXPECT_EQ(Parse(Resource("Organization")).effective, std::nullopt);
  EXPECT_EQ(Parse(Resource("Observation")).effective, std::nullopt);
}

TEST(EffectiveDateTest, OffsetAndPrecision) {
  EXPECT_EQ(
      Parse(Resource("Observation",
                     R"("effectiveDateTime":"2015-03-04T07:06:07.5+02:00")"))
          .effective,
      1425445567);
}

TEST(EffectiveDateTest, MalformedDateNamesFieldAndValue) {
  const Status s =
      ErrorOf(Resource("Observation", R"("effectiveDateTime":"2015-13-01")"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "resource: Observation.effectiveDateTime \"2015-13-01\" is not a "
            "valid FHIR dateTime");
}

TEST(EffectiveDateTest, MalformedDatesOfEachKind) {
  for (const char* members :
       {R"("effectiveDateTime":"2015-02-30")",
        R"("effectiveDateTime":"2015-01-32")",
        R"("effectiveDateTime":"2015-01-01T10:00:00+25:00")",
        R"("effectiveDateTime":"last tuesday")",
        R"("effectivePeriod":{"start":"2015-13"})",
        R"("effectiveInstant":"2015-01-01T99:00:00Z")",
        R"("issued":"not a date")"}) {
    const Status s = ErrorOf(Resource("Observation", members));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << members;
    EXPECT_NE(s.message().find("is not a valid FHIR"), std::string::npos)
        << s.message();
  }
  const Status period =
      ErrorOf(Resource("Encounter", R"("period":{"start":"2015-00"})"));
  EXPECT_NE(period.message().find("Encounter.period.start \"2015-00\""),
            std::string::npos)
      << period.message();
  const Status updated = ErrorOf(Resource(
      "Organization", R"("meta":{"lastUpdated":"2015-01-01T25:00:00Z"})"));
  EXPECT_NE(updated.message().find("Organization.meta.lastUpdated"),
            std::string::npos)
      << updated.message();
}

TEST(EffectiveDateTest, UsedDateMustParseEvenIfALaterOneWould) {
  const Status s = ErrorOf(Resource(
      "Observation", R"("effectiveDateTime":"2015-13-01","issued":"2015")"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(EffectiveDateTest, FreeTextInADateFieldIsNotQuoted) {
  const Status s = ErrorOf(
      Resource("Observation", R"("effectiveDateTime":"Anna Andersson")"));
  EXPECT_EQ(s.message().find("Anna"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Observation.effectiveDateTime"),
            std::string::npos);
}

TEST(EffectiveDateTest, WrongShapes) {
  EXPECT_NE(ErrorOf(Resource("Observation", R"("effectiveDateTime":2015)"))
                .message()
                .find("Observation.effectiveDateTime is not a string"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Resource("Encounter", R"("period":"2015")"))
                .message()
                .find("Encounter.period is not a JSON object"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Resource("Encounter", R"("period":{"start":[]})"))
                .message()
                .find("Encounter.period.start is not a string"),
            std::string::npos);
}

}  // namespace
}  // namespace tillit::fhir
