// Documents: Bundles (references, validation, all-or-nothing, limits),
// single-resource documents and NDJSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

using nlohmann::json;

constexpr char kPatientUrl[] = "urn:uuid:4f830f8a-7051-4bf4-9882-40f5c60e4159";
constexpr char kEncounterUrl[] =
    "urn:uuid:0a8e34a9-1b5e-4a6f-9a1e-2d3c4b5a6f70";
constexpr char kMissingUrl[] = "urn:uuid:99999999-9999-4999-8999-999999999999";

json Entry(const std::string& full_url, json resource) {
  json entry = {{"resource", std::move(resource)},
                {"request", {{"method", "POST"}, {"url", "x"}}}};
  if (!full_url.empty()) entry["fullUrl"] = full_url;
  return entry;
}

std::string Bundle(const std::vector<json>& entries,
                   const std::string& type = "transaction") {
  json bundle = {{"resourceType", "Bundle"}, {"type", type}};
  bundle["entry"] = entries;
  return bundle.dump(2);  // pretty, as Synthea writes it
}

json Patient(const std::string& id = "p1") {
  return {{"resourceType", "Patient"},
          {"id", id},
          {"name", {{{"family", "Andersson"}, {"given", {"Anna"}}}}}};
}

json Observation(const std::string& id, const std::string& subject) {
  return {{"resourceType", "Observation"},
          {"id", id},
          {"status", "final"},
          {"subject", {{"reference", subject}}},
          {"effectiveDateTime", "2015-03-04T05:06:07Z"}};
}

ParsedDocument ParseOk(const std::string& bytes,
                       const ImportLimits& limits = {}) {
  StatusOr<ParsedDocument> doc = ParseFhirDocument(bytes, limits);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *std::move(doc) : ParsedDocument{};
}

Status ErrorOf(const std::string& bytes, const ImportLimits& limits = {}) {
  StatusOr<ParsedDocument> doc = ParseFhirDocument(bytes, limits);
  EXPECT_FALSE(doc.ok()) << "accepted";
  return doc.status();
}

void ExpectInvalid(const std::string& bytes, const std::string& message) {
  const Status s = ErrorOf(bytes);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), message);
}

void ExpectMessageContains(const Status& s, StatusCode code,
                           const std::string& fragment) {
  EXPECT_EQ(s.code(), code) << s.ToString();
  EXPECT_NE(s.message().find(fragment), std::string::npos)
      << "message: " << s.message() << "\nexpected: " << fragment;
}

// ---------------------------------------------------------------------------
// References.

TEST(BundleTest, ParsesEntriesInDocumentOrder) {
  const ParsedDocument doc =
      ParseOk(Bundle({Entry(kPatientUrl, Patient()),
                      Entry("urn:uuid:11111111-1111-4111-8111-111111111111",
                            Observation("o1", kPatientUrl)),
                      Entry("urn:uuid:22222222-2222-4222-8222-222222222222",
                            Observation("o2", kPatientUrl))}));
  ASSERT_EQ(doc.resources.size(), 3u);
  EXPECT_EQ(doc.resources[0].type, "Patient");
  EXPECT_EQ(doc.resources[1].id, "o1");
  EXPECT_EQ(doc.resources[2].id, "o2");
  EXPECT_EQ(doc.resources[1].category, Category::kVitalSigns);
  EXPECT_EQ(doc.resources[1].effective, 1425445567);
  ASSERT_TRUE(doc.patient_index.has_value());
  EXPECT_EQ(*doc.patient_index, 0u);
}

TEST(BundleTest, RewritesUrnUuidReferencesToTypeAndId) {
  json encounter = {
      {"resourceType", "Encounter"},
      {"id", "e1"},
      {"subject", {{"reference", kPatientUrl}, {"display", "Anna"}}},
      {"participant", {{{"individual", {{"reference", kPatientUrl}}}}}}};
  json observation = Observation("o1", kPatientUrl);
  observation["encounter"] = {{"reference", kEncounterUrl}};
  const ParsedDocument doc = ParseOk(Bundle(
      {Entry(kPatientUrl, Patient()), Entry(kEncounterUrl, encounter),
       Entry("urn:uuid:11111111-1111-4111-8111-111111111111", observation)}));
  ASSERT_EQ(doc.resources.size(), 3u);
  EXPECT_EQ(
      doc.resources[1].json,
      R"({"id":"e1","participant":[{"individual":{"reference":"Patient/p1"}}],"resourceType":"Encounter","subject":{"display":"Anna","reference":"Patient/p1"}})");
  EXPECT_EQ(
      doc.resources[2].json,
      R"({"effectiveDateTime":"2015-03-04T05:06:07Z","encounter":{"reference":"Encounter/e1"},"id":"o1","resourceType":"Observation","status":"final","subject":{"reference":"Patient/p1"}})");
}

TEST(BundleTest, ForwardReferencesResolve) {
  const ParsedDocument doc =
      ParseOk(Bundle({Entry("urn:uuid:11111111-1111-4111-8111-111111111111",
                            Observation("o1", kPatientUrl)),
                      Entry(kPatientUrl, Patient("later"))}));
  EXPECT_EQ(json::parse(doc.resources[0].json)["subject"]["reference"],
            "Patient/later");
}

TEST(BundleTest, OtherKeysAndOtherReferencesAreUntouched) {
  json observation = Observation("o1", "Patient/p1");
  observation["identifier"] = {
      {{"system", "urn:ietf:rfc:3986"}, {"value", kPatientUrl}}};
  observation["derivedFrom"] = {
      {{"reference", "#contained"}},
      {{"reference", "https://x.org/fhir/Patient/p1"}},
      {{"reference", {{"nested", kPatientUrl}}}}};
  observation["note"] = {
      {{"text", std::string("\"reference\":\"") + kPatientUrl + "\""}}};
  const ParsedDocument doc = ParseOk(Bundle(
      {Entry(kPatientUrl, Patient()),
       Entry("urn:uuid:11111111-1111-4111-8111-111111111111", observation)}));
  EXPECT_EQ(json::parse(doc.resources[1].json), observation);
}

TEST(BundleTest, EscapedReferenceKeyAndValueAreStillRewritten) {
  const std::string bundle =
      std::string(R"({"resourceType":"Bundle","type":"collection","entry":[)") +
      R"({"fullUrl":")" + kPatientUrl +
      R"(","resource":{"resourceType":"Patient","id":"p1"}},)" +
      R"({"fullUrl":"urn:uuid:11111111-1111-4111-8111-111111111111","resource":)" +
      R"({"resourceType":"Observation","id":"o1","subject":{"refer\u0065nce":"urn:uuid:4f830f8a-7051-4bf4-9882-40f5c60e415\u0039"}}}]})";
  const ParsedDocument doc = ParseOk(bundle);
  ASSERT_EQ(doc.resources.size(), 2u);
  EXPECT_EQ(
      doc.resources[1].json,
      R"({"resourceType":"Observation","id":"o1","subject":{"refer\u0065nce":"Patient/p1"}})");
}

TEST(BundleTest, UnresolvedUrnUuidIsAnError) {
  ExpectInvalid(Bundle({Entry(kPatientUrl, Patient()),
                        Entry("urn:uuid:11111111-1111-4111-8111-111111111111",
                              Observation("o1", kMissingUrl))}),
                std::string("entry 1: reference ") + kMissingUrl +
                    " does not resolve inside the bundle");
}

TEST(BundleTest, UnresolvedReferenceWithFreeTextIsNotQuoted) {
  const Status s = ErrorOf(Bundle(
      {Entry(kPatientUrl, Patient()),
       Entry("", Observation("o1", "urn:uuid:Anna Andersson, Uppsala"))}));
  ExpectMessageContains(s, StatusCode::kInvalidArgument, "entry 1: reference");
  EXPECT_EQ(s.message().find("Anna"), std::string::npos) << s.message();
}

TEST(BundleTest, IdIsTakenFromUrnUuidFullUrlWhenMissing) {
  json patient = Patient();
  patient.erase("id");
  const ParsedDocument doc =
      ParseOk(Bundle({Entry(kPatientUrl, patient),
                      Entry("urn:uuid:11111111-1111-4111-8111-111111111111",
                            Observation("o1", kPatientUrl))}));
  ASSERT_EQ(doc.resources.size(), 2u);
  EXPECT_EQ(doc.resources[0].id, "4f830f8a-7051-4bf4-9882-40f5c60e4159");
  // The stored resource carries the id it is stored under.
  EXPECT_EQ(json::parse(doc.resources[0].json)["id"],
            "4f830f8a-7051-4bf4-9882-40f5c60e4159");
  EXPECT_EQ(doc.resources[0].json.rfind(R"({"id":"4f830f8a-)", 0), 0u);
  EXPECT_EQ(json::parse(doc.resources[1].json)["subject"]["reference"],
            "Patient/4f830f8a-7051-4bf4-9882-40f5c60e4159");
}

TEST(BundleTest, MissingIdWithoutUrnUuidFullUrl) {
  json observation = Observation("o1", "Patient/p1");
  observation.erase("id");
  ExpectInvalid(Bundle({Entry("", Patient()), Entry("", observation)}),
                "entry 1: missing Observation.id (and no urn:uuid fullUrl to "
                "take it from)");
  ExpectMessageContains(
      ErrorOf(
          Bundle({Entry("https://x.org/fhir/Observation/o1", observation)})),
      StatusCode::kInvalidArgument, "entry 0: missing Observation.id");
  ExpectMessageContains(
      ErrorOf(Bundle({Entry("urn:uuid:not-a-uuid", observation)})),
      StatusCode::kInvalidArgument, "entry 0: missing Observation.id");
}

// ---------------------------------------------------------------------------
// Entry validation.

TEST(BundleTest, MissingResourceType) {
  json observation = Observation("o1", "Patient/p1");
  observation.erase("resourceType");
  ExpectInvalid(Bundle({Entry("", observation)}),
                "entry 0: missing resourceType");
}

TEST(BundleTest, BadIdCharacters) {
  for (const char* id : {"o 1", "o_1", "o/1", ""}) {
    const Status s = ErrorOf(Bundle(
        {Entry("", Patient()), Entry("", Observation(id, "Patient/p1"))}));
    ExpectMessageContains(s, StatusCode::kInvalidArgument,
                          "entry 1: Observation.id is not a valid FHIR id");
  }
}

TEST(BundleTest, DuplicateResource) {
  ExpectInvalid(
      Bundle({Entry("", Patient()), Entry("", Observation("o1", "Patient/p1")),
              Entry("", Observation("o1", "Patient/p1"))}),
      "entry 2: duplicate Observation/o1 (same as entry 1)");
}

TEST(BundleTest, SameIdDifferentTypesIsFine) {
  json condition = {{"resourceType", "Condition"}, {"id", "o1"}};
  EXPECT_EQ(ParseOk(Bundle({Entry("", Observation("o1", "Patient/p1")),
                            Entry("", condition)}))
                .resources.size(),
            2u);
}

TEST(BundleTest, DuplicateFullUrl) {
  ExpectInvalid(Bundle({Entry(kPatientUrl, Patient()),
                        Entry(kPatientUrl, Observation("o1", "Patient/p1"))}),
                "entry 1: fullUrl is the same as an earlier entry's");
}

TEST(BundleTest, TwoPatients) {
  ExpectInvalid(Bundle({Entry("", Patient("a")),
                        Entry("", Observation("o1", "Patient/a")),
                        Entry("", Patient("b"))}),
                "entry 2: a bundle must describe one patient (second "
                "Patient; the first is entry 0)");
}

TEST(BundleTest, PatientIndex) {
  EXPECT_FALSE(ParseOk(Bundle({Entry("", Observation("o1", "Patient/p1"))}))
                   .patient_index.has_value());
  const ParsedDocument doc = ParseOk(Bundle(
      {Entry("", Observation("o1", "Patient/p1")),
       Entry("", Observation("o2", "Patient/p1")), Entry("", Patient())}));
  ASSERT_TRUE(doc.patient_index.has_value());
  EXPECT_EQ(*doc.patient_index, 2u);
}

TEST(BundleTest, NestedBundle) {
  json inner = {
      {"resourceType", "Bundle"}, {"id", "b"}, {"type", "collection"}};
  ExpectMessageContains(
      ErrorOf(Bundle({Entry("", Patient()), Entry("", inner)})),
      StatusCode::kInvalidArgument,
      "entry 1: a Bundle is not a record: nested Bundles are not accepted");
}

TEST(BundleTest, EntryShape) {
  const std::string head =
      R"({"resourceType":"Bundle","type":"batch","entry":)";
  ExpectInvalid(head + R"({}})", "Bundle.entry is not an array");
  ExpectInvalid(head + R"([[]]})", "entry 0: entry is not a JSON object");
  ExpectInvalid(head + R"([{"fullUrl":"x"}]})", "entry 0: missing resource");
  ExpectInvalid(head + R"([{"resource":[]}]})",
                "entry 0: resource is not a JSON object");
  ExpectInvalid(head + R"([{"fullUrl":5,"resource":{}}]})",
                "entry 0: fullUrl is not a string");
  ExpectInvalid(
      head +
          R"([{"resource":{"resourceType":"Patient","id":"a"},"resource":{"resourceType":"Patient","id":"b"}}]})",
      "entry 0: entry.resource occurs twice");
}

TEST(BundleTest, AcceptedAndRefusedBundleTypes) {
  for (const char* type : {"transaction", "batch", "collection"}) {
    EXPECT_TRUE(ParseFhirDocument(Bundle({Entry("", Patient())}, type)).ok())
        << type;
  }
  for (const char* type : {"searchset", "document", "history", "message",
                           "transaction-response", "batch-response"}) {
    ExpectMessageContains(
        ErrorOf(Bundle({Entry("", Patient())}, type)),
        StatusCode::kInvalidArgument,
        std::string("Bundle.type \"") + type + "\" is not accepted for import");
  }
  ExpectInvalid(R"({"resourceType":"Bundle","entry":[]})",
                "Bundle.type is missing");
  ExpectInvalid(R"({"resourceType":"Bundle","type":1,"entry":[]})",
                "Bundle.type is not a string");
}

TEST(BundleTest, EmptyBundles) {
  EXPECT_TRUE(ParseOk(R"({"resourceType":"Bundle","type":"collection"})")
                  .resources.empty());
  EXPECT_TRUE(
      ParseOk(R"({"resourceType":"Bundle","type":"collection","entry":[]})")
          .resources.empty());
}

TEST(BundleTest, OneBadEntryRejectsTheWholeBundle) {
  std::vector<json> entries = {Entry("", Patient())};
  for (int i = 0; i < 20; ++i) {
    entries.push_back(
        Entry("", Observation("o" + std::to_string(i), "Patient/p1")));
  }
  json bad = Observation("bad", "Patient/p1");
  bad["effectiveDateTime"] = "2015-13-01";
  entries.push_back(Entry("", bad));
  ExpectInvalid(Bundle(entries),
                "entry 21: Observation.effectiveDateTime \"2015-13-01\" is "
                "not a valid FHIR dateTime");
}

TEST(BundleTest, MessagesNameEntryAndNeverCarryHealthData) {
  json observation = Observation("o1", "Patient/p1");
  observation["code"] = "Diabetes";  // wrong shape, free text
  const Status s =
      ErrorOf(Bundle({Entry("", Patient()), Entry("", observation)}));
  ExpectMessageContains(s, StatusCode::kInvalidArgument,
                        "entry 1: Observation.code is not a JSON object");
  EXPECT_EQ(s.message().find("Diabetes"), std::string::npos);
  EXPECT_EQ(s.message().find("Andersson"), std::string::npos);
}

// ---------------------------------------------------------------------------
// Not JSON, not an object.

TEST(DocumentTest, NotJson) {
  for (const std::string& text :
       {std::string(""), std::string("{"), std::string("[1,2"),
        std::string("{\"resourceType\":\"Bundle\"} x"),
        std::string("{\"a\":\"\xc3\x28\"}"), std::string("{'a':1}"),
        std::string("{\"a\":1,}")}) {
    ExpectMessageContains(ErrorOf(text), StatusCode::kInvalidArgument,
                          "not valid JSON");
  }
}

TEST(DocumentTest, JsonButNotAnObject) {
  for (const char* text : {"[]", "[{\"resourceType\":\"Patient\"}]", "42",
                           "\"Bundle\"", "true", "null"}) {
    ExpectInvalid(text, "document is not a JSON object");
  }
}

TEST(DocumentTest, LeadingByteOrderMarkIsIgnored) {
  const std::string bom = "\xEF\xBB\xBF";
  ParsedDocument doc = ParseOk(bom + Bundle({Entry("", Patient())}));
  ASSERT_EQ(doc.resources.size(), 1u);
  EXPECT_EQ(doc.resources[0].json, Patient().dump());
  StatusOr<ParsedDocument> lines = ParseFhirNdjson(bom + Patient().dump());
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  EXPECT_EQ(lines->resources.size(), 1u);
  EXPECT_TRUE(ParseFhirResource(bom + Patient().dump()).ok());
  // Only at the start.
  ExpectMessageContains(ErrorOf(" " + bom + Patient().dump()),
                        StatusCode::kInvalidArgument, "not valid JSON");
}

TEST(DocumentTest, RepeatedResourceTypeAtTheTop) {
  ExpectInvalid(
      R"({"resourceType":"Bundle","type":"batch","resourceType":"Patient"})",
      "document.resourceType occurs twice");
  ExpectInvalid(
      R"({"resourceType":"Bundle","type":"batch","entry":[],"entry":[]})",
      "Bundle.entry occurs twice");
}

TEST(DocumentTest, SingleResourceDocument) {
  ParsedDocument doc = ParseOk(Patient().dump(4));
  ASSERT_EQ(doc.resources.size(), 1u);
  EXPECT_EQ(doc.resources[0].type, "Patient");
  EXPECT_EQ(doc.resources[0].json, Patient().dump());
  ASSERT_TRUE(doc.patient_index.has_value());
  EXPECT_EQ(*doc.patient_index, 0u);

  doc = ParseOk(Observation("o1", "Patient/p1").dump());
  ASSERT_EQ(doc.resources.size(), 1u);
  EXPECT_FALSE(doc.patient_index.has_value());
}

TEST(DocumentTest, SingleResourceErrorsSayResource) {
  json observation = Observation("o1", "Patient/p1");
  observation.erase("resourceType");
  ExpectInvalid(observation.dump(), "resource: missing resourceType");
  ExpectInvalid(Observation("o1", kPatientUrl).dump(),
                std::string("resource: reference ") + kPatientUrl +
                    " does not resolve inside the document");
}

// ---------------------------------------------------------------------------
// Limits.

// A resource whose JSON nests `depth` levels in all (the resource object is
// level 1): {"resourceType":..,"x":[[...[1]...]]}.
std::string Nested(int depth, bool empty_innermost = false) {
  std::string inner = empty_innermost ? "" : "1";
  for (int i = 0; i < depth - 1; ++i) inner = "[" + inner + "]";
  return R"({"resourceType":"Basic","id":"b","x":)" + inner + "}";
}

TEST(LimitsTest, DepthLimitIsExact) {
  ImportLimits limits;
  limits.max_depth = 10;
  EXPECT_TRUE(ParseFhirDocument(Nested(10), limits).ok());
  EXPECT_TRUE(ParseFhirDocument(Nested(10, true), limits).ok());
  for (bool empty : {false, true}) {
    ExpectMessageContains(
        ErrorOf(Nested(11, empty), limits), StatusCode::kResourceExhausted,
        "JSON nesting is deeper than the limit max_depth (10)");
  }
  ExpectMessageContains(ErrorOf(Nested(500)), StatusCode::kResourceExhausted,
                        "max_depth (64)");
}

TEST(LimitsTest, DepthLimitCountsTheBundleLevels) {
  // Bundle (1) > entry (2) > entry object (3) > resource (4) > x (5) > [..]
  json observation = Observation("o1", "Patient/p1");
  observation["x"] = json::array({json::array({1})});  // levels 5 and 6
  ImportLimits limits;
  limits.max_depth = 6;
  EXPECT_TRUE(ParseFhirDocument(Bundle({Entry("", observation)}), limits).ok());
  limits.max_depth = 5;
  ExpectMessageContains(ErrorOf(Bundle({Entry("", observation)}), limits),
                        StatusCode::kResourceExhausted, "max_depth (5)");
}

TEST(LimitsTest, DocumentSize) {
  const std::string bundle = Bundle({Entry("", Patient())});
  ImportLimits limits;
  limits.max_document_bytes = bundle.size();
  EXPECT_TRUE(ParseFhirDocument(bundle, limits).ok());
  limits.max_document_bytes = bundle.size() - 1;
  const Status s = ErrorOf(bundle, limits);
  ExpectMessageContains(s, StatusCode::kResourceExhausted,
                        "over the limit max_document_bytes");
}

TEST(LimitsTest, EntryCount) {
  const std::string bundle =
      Bundle({Entry("", Patient()), Entry("", Observation("o1", "Patient/p1")),
              Entry("", Observation("o2", "Patient/p1"))});
  ImportLimits limits;
  limits.max_entries = 3;
  EXPECT_TRUE(ParseFhirDocument(bundle, limits).ok());
  limits.max_entries = 2;
  ExpectMessageContains(ErrorOf(bundle, limits), StatusCode::kResourceExhausted,
                        "bundle has 3 entries, over the limit max_entries (2)");
}

TEST(LimitsTest, ResourceSizeAfterMinification) {
  json big = Observation("o2", "Patient/p1");
  big["note"] = {{{"text", std::string(500, 'x')}}};
  const std::string bundle = Bundle({Entry("", Patient()), Entry("", big)});
  ImportLimits limits;
  limits.max_resource_bytes = big.dump().size();
  EXPECT_TRUE(ParseFhirDocument(bundle, limits).ok());
  limits.max_resource_bytes = big.dump().size() - 1;
  ExpectMessageContains(ErrorOf(bundle, limits), StatusCode::kResourceExhausted,
                        "entry 1: resource is");
  ExpectMessageContains(ErrorOf(bundle, limits), StatusCode::kResourceExhausted,
                        "max_resource_bytes");
}

// ---------------------------------------------------------------------------
// NDJSON.

StatusOr<ParsedDocument> Ndjson(const std::string& text,
                                const ImportLimits& limits = {}) {
  return ParseFhirNdjson(text, limits);
}

TEST(NdjsonTest, OneResourcePerLineBlankLinesSkipped) {
  const std::string text = Patient().dump() + "\n\n   \n" +
                           Observation("o1", "Patient/p1").dump() + "\r\n" +
                           "\t\r\n" + Observation("o2", "Patient/p1").dump();
  StatusOr<ParsedDocument> doc = Ndjson(text);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  ASSERT_EQ(doc->resources.size(), 3u);
  EXPECT_EQ(doc->resources[0].type, "Patient");
  EXPECT_EQ(doc->resources[2].id, "o2");
  EXPECT_EQ(doc->resources[1].json, Observation("o1", "Patient/p1").dump());
  ASSERT_TRUE(doc->patient_index.has_value());
  EXPECT_EQ(*doc->patient_index, 0u);
}

TEST(NdjsonTest, EmptyInput) {
  StatusOr<ParsedDocument> doc = Ndjson("");
  ASSERT_TRUE(doc.ok());
  EXPECT_TRUE(doc->resources.empty());
  EXPECT_FALSE(doc->patient_index.has_value());
  ASSERT_TRUE(Ndjson("\n\n  \n").ok());
}

TEST(NdjsonTest, BadLineIsNamedByNumberCountingBlankLines) {
  const std::string text = Patient().dump() + "\n\n" +
                           Observation("o1", "Patient/p1").dump() +
                           "\n{\"resourceType\":\n";
  const Status s = Ndjson(text).status();
  ExpectMessageContains(s, StatusCode::kInvalidArgument,
                        "line 4: not valid JSON");
}

TEST(NdjsonTest, PrettyPrintedResourceIsNotNdjson) {
  ExpectMessageContains(Ndjson(Patient().dump(2)).status(),
                        StatusCode::kInvalidArgument, "line 1: not valid JSON");
}

TEST(NdjsonTest, LineErrors) {
  const std::string patient = Patient().dump() + "\n";
  ExpectMessageContains(Ndjson(patient + "[1]\n").status(),
                        StatusCode::kInvalidArgument,
                        "line 2: not a JSON object");
  ExpectMessageContains(
      Ndjson(patient + R"({"resourceType":"Bundle","type":"batch"})").status(),
      StatusCode::kInvalidArgument, "line 2: a Bundle is not a record");
  ExpectMessageContains(
      Ndjson(patient + R"({"resourceType":"Observation"})").status(),
      StatusCode::kInvalidArgument, "line 2: missing Observation.id");
  ExpectMessageContains(
      Ndjson(patient + Observation("o1", "Patient/p1").dump() + "\n" +
             Observation("o1", "Patient/p1").dump())
          .status(),
      StatusCode::kInvalidArgument,
      "line 3: duplicate Observation/o1 (same as line 2)");
  ExpectMessageContains(Ndjson(patient + Patient("other").dump()).status(),
                        StatusCode::kInvalidArgument,
                        "line 2: a file must describe one patient");
  ExpectMessageContains(
      Ndjson(patient + Observation("o1", kPatientUrl).dump()).status(),
      StatusCode::kInvalidArgument, "line 2: reference urn:uuid:");
}

TEST(NdjsonTest, Limits) {
  const std::string text = Patient().dump() + "\n\n" +
                           Observation("o1", "Patient/p1").dump() + "\n" +
                           Observation("o2", "Patient/p1").dump() + "\n";
  ImportLimits limits;
  limits.max_entries = 3;  // blank lines do not count
  EXPECT_TRUE(Ndjson(text, limits).ok());
  limits.max_entries = 2;
  ExpectMessageContains(Ndjson(text, limits).status(),
                        StatusCode::kResourceExhausted, "max_entries (2)");

  limits = {};
  limits.max_document_bytes = text.size() - 1;
  ExpectMessageContains(Ndjson(text, limits).status(),
                        StatusCode::kResourceExhausted, "max_document_bytes");

  limits = {};
  limits.max_resource_bytes = Patient().dump().size();
  ExpectMessageContains(Ndjson(text, limits).status(),
                        StatusCode::kResourceExhausted, "line 3: resource is");

  limits = {};
  limits.max_depth = 3;
  EXPECT_TRUE(Ndjson(Nested(4)).ok());
  // The first line nests 2 levels, the second 4.
  ExpectMessageContains(
      Ndjson(Observation("o1", "Patient/p1").dump() + "\n" + Nested(4), limits)
          .status(),
      StatusCode::kResourceExhausted,
      "line 2: JSON nesting is deeper than the limit "
      "max_depth (3)");
}

}  // namespace
}  // namespace tillit::fhir
