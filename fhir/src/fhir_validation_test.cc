// Single resources: sensitivity, the shapes of the fields the vault relies
// on, identity (resourceType and id), and the JSON that is stored.
#include <gtest/gtest.h>

#include <string>

#include "fhir_test_util.h"
#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

using testing::Concept;
using testing::ErrorOf;
using testing::kLoinc;
using testing::kSnomed;
using testing::Parse;
using testing::Resource;

constexpr char kIcd10[] = "http://hl7.org/fhir/sid/icd-10";
constexpr char kIcd10Cm[] = "http://hl7.org/fhir/sid/icd-10-cm";
constexpr char kConfidentiality[] =
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

// ---------------------------------------------------------------------------
// Sensitivity.

std::string Label(const std::string& code, const char* system) {
  std::string coding = R"({"code":")" + code + R"("})";
  if (system != nullptr) {
    coding = R"({"system":")" + std::string(system) + R"(","code":")" + code +
             R"("})";
  }
  return R"("meta":{"security":[)" + coding + "]}";
}

TEST(SensitiveTest, SecurityLabelR) {
  EXPECT_TRUE(
      Parse(Resource("Observation", Label("R", kConfidentiality))).sensitive);
  EXPECT_TRUE(Parse(Resource("Observation", Label("R", nullptr))).sensitive);
  EXPECT_TRUE(
      Parse(Resource("Observation",
                     Label("R", "http://hl7.org/fhir/v3/Confidentiality")))
          .sensitive);
}

TEST(SensitiveTest, SecurityLabelV) {
  EXPECT_TRUE(
      Parse(Resource("Condition", Label("V", kConfidentiality))).sensitive);
  EXPECT_TRUE(Parse(Resource("Condition", Label("V", nullptr))).sensitive);
}

TEST(SensitiveTest, OtherLabelsAreNotSensitive) {
  EXPECT_FALSE(
      Parse(Resource("Observation", Label("N", kConfidentiality))).sensitive);
  EXPECT_FALSE(
      Parse(Resource("Observation", Label("M", kConfidentiality))).sensitive);
  // R in another code system means something else.
  EXPECT_FALSE(
      Parse(Resource("Observation", Label("R", "http://example.org/other")))
          .sensitive);
  EXPECT_FALSE(
      Parse(Resource("Observation", R"("meta":{"security":[]})")).sensitive);
}

TEST(SensitiveTest, EachAreaByCode) {
  struct Case {
    const char* system;
    const char* code;
  };
  const std::vector<Case> cases = {
      {kSnomed, "35489007"},   // depressive disorder
      {kSnomed, "370143000"},  // major depressive disorder
      {kSnomed, "58214004"},   // schizophrenia
      {kSnomed, "86406008"},   // HIV infection
      {kSnomed, "165816005"},  // HIV positive
      {kSnomed, "7200002"},    // alcoholism
      {kSnomed, "6525002"},    // drug dependence
      {kSnomed, "72892002"},   // normal pregnancy
      {kSnomed, "386639001"},  // termination of pregnancy
      {kSnomed, "41040004"},   // trisomy 21 (genetics)
      {kIcd10, "F32.9"},       // mental health
      {kIcd10, "F10.2"},       // substance use
      {kIcd10, "B20"},         // HIV
      {kIcd10, "B24"},        {kIcd10, "Z21"},
      {kIcd10, "O80"},                               // pregnancy
      {kIcd10, "Z30.0"},                             // contraception
      {kIcd10, "Z39.2"},      {kIcd10, "A54.0"},     // gonorrhoea
      {kIcd10, "Q90.9"},                             // Down syndrome (genetics)
      {kIcd10Cm, "F32.A"},    {kIcd10Cm, "Z15.01"},  // genetic susceptibility
      {kLoinc, "7917-8"},                            // HIV 1 Ab
      {kLoinc, "20447-9"},                           // HIV viral load
      {kLoinc, "51969-4"},                           // genetic analysis report
      {kLoinc, "44261-6"},                           // PHQ-9 score
  };
  for (const Case& c : cases) {
    EXPECT_TRUE(
        Parse(Resource("Condition", R"("code":)" + Concept(c.system, c.code)))
            .sensitive)
        << c.system << "|" << c.code;
  }
}

TEST(SensitiveTest, IcdPrefixIgnoresDotsAndCase) {
  for (const char* code : {"F329", "f32.9", "F32.9", "z30.0", "B20.1"}) {
    EXPECT_TRUE(
        Parse(Resource("Condition", R"("code":)" + Concept(kIcd10, code)))
            .sensitive)
        << code;
  }
}

TEST(SensitiveTest, EachCodedField) {
  const std::string hiv = Concept(kSnomed, "86406008");
  EXPECT_TRUE(Parse(Resource("Condition", R"("code":)" + hiv)).sensitive);
  EXPECT_TRUE(
      Parse(Resource("Encounter", R"("reasonCode":[{"text":"x"},)" + hiv + "]"))
          .sensitive);
  EXPECT_TRUE(Parse(Resource("Observation", R"("valueCodeableConcept":)" + hiv))
                  .sensitive);
  EXPECT_TRUE(
      Parse(Resource("Immunization", R"("vaccineCode":)" + hiv)).sensitive);
  EXPECT_TRUE(Parse(Resource("MedicationRequest",
                             R"("medicationCodeableConcept":)" + hiv))
                  .sensitive);
  // Any coding of the concept counts, not only the first.
  EXPECT_TRUE(
      Parse(
          Resource(
              "Condition",
              R"("code":{"coding":[{"system":"http://snomed.info/sct","code":"38341003"},{"system":"http://snomed.info/sct","code":"35489007"}]})"))
          .sensitive);
}

TEST(SensitiveTest, OrdinaryCodesAreNotSensitive) {
  for (const std::string& code :
       {Concept(kSnomed, "44054006"),  // diabetes type 2
        Concept(kSnomed, "38341003"),  // hypertension
        Concept(kLoinc, "35489007"),   // a sensitive SNOMED code, wrong system
        Concept("", "35489007"),       // empty system
        Concept(kIcd10, "E11.9"),      // diabetes
        Concept(kIcd10, "Z40.0"),      // Z3 must not match Z40
        Concept(kIcd10, "B25.0"),      // B20-B24 only
        Concept(kIcd10, "A01"), Concept(kLoinc, "4548-4")}) {  // HbA1c
    EXPECT_FALSE(Parse(Resource("Condition", R"("code":)" + code)).sensitive)
        << code;
  }
  EXPECT_FALSE(Parse(Resource("Patient")).sensitive);
  // Codes in fields that are not examined do not count.
  EXPECT_FALSE(Parse(Resource("Observation",
                              R"("bodySite":)" + Concept(kSnomed, "35489007")))
                   .sensitive);
}

// ---------------------------------------------------------------------------
// Shapes of the fields the vault relies on.

void ExpectShapeError(const std::string& json, const std::string& fragment) {
  const Status s = ErrorOf(json);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << json;
  EXPECT_NE(s.message().find(fragment), std::string::npos)
      << "message: " << s.message() << "\nexpected: " << fragment;
}

TEST(ShapeTest, MetaAndSecurity) {
  ExpectShapeError(Resource("Observation", R"("meta":[])"),
                   "Observation.meta is not a JSON object");
  ExpectShapeError(Resource("Observation", R"("meta":{"security":{}})"),
                   "Observation.meta.security is not an array");
  ExpectShapeError(Resource("Observation", R"("meta":{"security":["R"]})"),
                   "Observation.meta.security[0] is not a JSON object");
  ExpectShapeError(
      Resource("Observation", R"("meta":{"security":[{"code":1}]})"),
      "Observation.meta.security[0].code is not a string");
  ExpectShapeError(
      Resource("Observation", R"("meta":{"security":[{"system":true}]})"),
      "Observation.meta.security[0].system is not a string");
  ExpectShapeError(Resource("Observation", R"("meta":{"lastUpdated":5})"),
                   "Observation.meta.lastUpdated is not a string");
}

TEST(ShapeTest, Category) {
  ExpectShapeError(Resource("Observation", R"("category":{"coding":[]})"),
                   "Observation.category is not an array");
  ExpectShapeError(Resource("Observation", R"("category":["laboratory"])"),
                   "Observation.category[0] is not a JSON object");
  ExpectShapeError(
      Resource("DiagnosticReport", R"("category":[{"coding":{"code":"LAB"}}])"),
      "DiagnosticReport.category[0].coding is not an array");
  ExpectShapeError(Resource("Condition", R"("category":"problem-list-item")"),
                   "Condition.category is not an array");
  // Procedure.category is a single CodeableConcept in FHIR R4.
  ExpectShapeError(Resource("Procedure", R"("category":[])"),
                   "Procedure.category is not a JSON object");
  // AllergyIntolerance.category is a list of codes.
  ExpectShapeError(Resource("AllergyIntolerance", R"("category":[{}])"),
                   "AllergyIntolerance.category[0] is not a string");
  EXPECT_TRUE(ParseFhirResource(
                  Resource("AllergyIntolerance", R"("category":["food"])"))
                  .ok());
  EXPECT_TRUE(
      ParseFhirResource(Resource("Procedure", R"("category":{"text":"x"})"))
          .ok());
}

TEST(ShapeTest, CodeAndOtherConcepts) {
  ExpectShapeError(Resource("Observation", R"("code":"8867-4")"),
                   "Observation.code is not a JSON object");
  ExpectShapeError(Resource("Condition", R"("code":{"coding":"x"})"),
                   "Condition.code.coding is not an array");
  ExpectShapeError(Resource("Condition", R"("code":{"coding":[[]]})"),
                   "Condition.code.coding[0] is not a JSON object");
  ExpectShapeError(
      Resource("Condition", R"("code":{"coding":[{},{"code":7}]})"),
      "Condition.code.coding[1].code is not a string");
  ExpectShapeError(Resource("Encounter", R"("reasonCode":{})"),
                   "Encounter.reasonCode is not an array");
  ExpectShapeError(Resource("Encounter", R"("reasonCode":["x"])"),
                   "Encounter.reasonCode[0] is not a JSON object");
  ExpectShapeError(Resource("Observation", R"("valueCodeableConcept":"x")"),
                   "Observation.valueCodeableConcept is not a JSON object");
  ExpectShapeError(Resource("Immunization", R"("vaccineCode":[])"),
                   "Immunization.vaccineCode is not a JSON object");
  ExpectShapeError(
      Resource("MedicationRequest", R"("medicationCodeableConcept":1)"),
      "MedicationRequest.medicationCodeableConcept is not a JSON object");
  ExpectShapeError(Resource("Composition", R"("type":[])"),
                   "Composition.type is not a JSON object");
}

TEST(ShapeTest, CodeOfTypesWhereItIsNotAConceptIsNotRead) {
  // Questionnaire.code is a list of Codings in FHIR R4.
  EXPECT_TRUE(
      ParseFhirResource(
          Resource(
              "Questionnaire",
              R"("code":[{"system":"http://snomed.info/sct","code":"35489007"}])"))
          .ok());
  EXPECT_TRUE(
      ParseFhirResource(Resource("SearchParameter", R"("code":"name")")).ok());
}

TEST(ShapeTest, RepeatedMembersAreRefused) {
  ExpectShapeError(
      R"({"resourceType":"Condition","id":"x","code":{},"code":{}})",
      "code occurs twice");
  ExpectShapeError(
      R"({"resourceType":"Condition","resourceType":"Observation","id":"x"})",
      "resourceType occurs twice");
  ExpectShapeError(
      R"({"resourceType":"Condition","id":"x","meta":{"security":[],"security":[]}})",
      "Condition.meta.security occurs twice");
}

// ---------------------------------------------------------------------------
// Resource type and id.

TEST(IdentityTest, ResourceTypeAndId) {
  const ParsedResource r =
      Parse(R"({"resourceType":"Observation","id":"a-B.9"})");
  EXPECT_EQ(r.type, "Observation");
  EXPECT_EQ(r.id, "a-B.9");
  EXPECT_TRUE(ParseFhirResource(R"({"resourceType":"Patient","id":")" +
                                std::string(64, 'a') + R"("})")
                  .ok());
}

TEST(IdentityTest, MissingResourceType) {
  EXPECT_EQ(ErrorOf(R"({"id":"x"})").message(),
            "resource: missing resourceType");
  EXPECT_EQ(ErrorOf(R"({"resourceType":7,"id":"x"})").message(),
            "resource: resourceType is not a string");
}

TEST(IdentityTest, BadResourceType) {
  for (const char* type : {"observation", "Obs3rvation", "A", "",
                           "Obs ervation", "Observation/1"}) {
    const Status s =
        ErrorOf(R"({"resourceType":")" + std::string(type) + R"(","id":"x"})");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << type;
    EXPECT_NE(s.message().find("resourceType"), std::string::npos);
  }
}

TEST(IdentityTest, MissingId) {
  const Status s = ErrorOf(R"({"resourceType":"Observation"})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("resource: missing Observation.id"),
            std::string::npos)
      << s.message();
}

TEST(IdentityTest, BadIds) {
  for (const std::string& id :
       {std::string("a b"), std::string("a_b"), std::string(""),
        std::string(65, 'a'), std::string("a/b"), std::string("é")}) {
    const Status s =
        ErrorOf(R"({"resourceType":"Observation","id":")" + id + R"("})");
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << id;
    EXPECT_NE(s.message().find("Observation.id is not a valid FHIR id"),
              std::string::npos)
        << s.message();
    if (!id.empty()) {
      EXPECT_EQ(s.message().find(id), std::string::npos) << s.message();
    }
  }
  EXPECT_NE(ErrorOf(R"({"resourceType":"Observation","id":5})")
                .message()
                .find("Observation.id is not a string"),
            std::string::npos);
}

// ---------------------------------------------------------------------------
// ParseFhirResource: stored JSON, limits, refusals.

TEST(ParseFhirResourceTest, StoresMinifiedJsonWithOriginalSpelling) {
  const std::string pretty = R"({
    "resourceType" : "Observation",
    "id" : "o1",
    "valueQuantity" : { "value" : 1.50, "unit" : "mg" },
    "note" : [ { "text" : "caf\u00e9 \"quoted\"  two  spaces" } ],
    "extension" : [ { "url" : "x", "valueDecimal" : 1e2 } ],
    "subject" : { "reference" : "Patient/p1" }
  })";
  EXPECT_EQ(
      Parse(pretty).json,
      R"({"resourceType":"Observation","id":"o1","valueQuantity":{"value":1.50,"unit":"mg"},"note":[{"text":"caf\u00e9 \"quoted\"  two  spaces"}],"extension":[{"url":"x","valueDecimal":1e2}],"subject":{"reference":"Patient/p1"}})");
}

TEST(ParseFhirResourceTest, RelativeAndContainedReferencesAreKept) {
  const std::string json =
      R"({"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p1"},"performer":[{"reference":"#pr"},{"reference":"https://example.org/fhir/Practitioner/1"}]})";
  EXPECT_EQ(Parse(json).json, json);
}

TEST(ParseFhirResourceTest, UrnUuidReferenceCannotResolve) {
  const Status s = ErrorOf(
      R"({"resourceType":"Observation","id":"o1","subject":{"reference":"urn:uuid:4f830f8a-7051-4bf4-9882-40f5c60e4159"}})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "resource: reference urn:uuid:4f830f8a-7051-4bf4-9882-40f5c60e4159 "
            "does not resolve inside the document");
}

TEST(ParseFhirResourceTest, BundleIsRefused) {
  const Status s =
      ErrorOf(R"({"resourceType":"Bundle","id":"b","type":"collection"})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("Bundle"), std::string::npos);
}

TEST(ParseFhirResourceTest, NotJsonOrNotAnObject) {
  for (const char* text :
       {"", "{", "{\"resourceType\":}", "nul", "{} {}", "{\"a\":\"\xff\"}"}) {
    const Status s = ErrorOf(text);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(s.message().find("not valid JSON"), std::string::npos)
        << s.message();
  }
  for (const char* text : {"[]", "42", "\"Observation\"", "null"}) {
    const Status s = ErrorOf(text);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(s.message(), "resource: not a JSON object");
  }
}

TEST(ParseFhirResourceTest, Limits) {
  ImportLimits small;
  small.max_resource_bytes = 60;
  const std::string big = Resource(
      "Observation", R"("note":[{"text":")" + std::string(100, 'a') + R"("}])");
  Status s = ErrorOf(big, small);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("max_resource_bytes"), std::string::npos);

  ImportLimits tiny_document;
  tiny_document.max_document_bytes = 20;
  s = ErrorOf(big, tiny_document);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("max_document_bytes"), std::string::npos);

  ImportLimits shallow;
  shallow.max_depth = 3;
  s = ErrorOf(Resource("Observation", R"("a":[[[1]]])"), shallow);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("max_depth"), std::string::npos);
}

}  // namespace
}  // namespace tillit::fhir
