#include "tillit/fhir/synthetic.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

using nlohmann::json;

ParsedDocument ParseOk(const std::string& bundle) {
  StatusOr<ParsedDocument> doc = ParseFhirDocument(bundle);
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return doc.ok() ? *std::move(doc) : ParsedDocument{};
}

std::set<std::string> Codes(const json& resource, const char* field) {
  std::set<std::string> codes;
  if (!resource.contains(field)) return codes;
  for (const json& coding : resource[field].value("coding", json::array())) {
    codes.insert(coding.value("code", ""));
  }
  return codes;
}

TEST(SyntheticTest, SameInputsGiveIdenticalBytes) {
  for (uint64_t index : {0u, 1u, 77u}) {
    EXPECT_EQ(GenerateSyntheticBundle(42, index),
              GenerateSyntheticBundle(42, index));
  }
  SyntheticOptions options;
  options.min_encounters = 20;
  options.max_encounters = 20;
  options.include_sensitive = false;
  EXPECT_EQ(GenerateSyntheticBundle(7, 3, options),
            GenerateSyntheticBundle(7, 3, options));
}

TEST(SyntheticTest, DifferentCitizensDiffer) {
  std::set<std::string> bundles;
  std::set<std::string> patient_ids;
  for (uint64_t seed : {1u, 2u}) {
    for (uint64_t index = 0; index < 20; ++index) {
      const std::string bundle = GenerateSyntheticBundle(seed, index);
      EXPECT_TRUE(bundles.insert(bundle).second) << seed << "/" << index;
      const ParsedDocument doc = ParseOk(bundle);
      ASSERT_TRUE(doc.patient_index.has_value());
      patient_ids.insert(doc.resources[*doc.patient_index].id);
    }
  }
  EXPECT_EQ(patient_ids.size(), 40u);
}

TEST(SyntheticTest, EveryBundleParsesAndHasOnePatient) {
  for (uint64_t index = 0; index < 100; ++index) {
    const std::string bundle = GenerateSyntheticBundle(2024, index);
    const ParsedDocument doc = ParseOk(bundle);
    ASSERT_TRUE(doc.patient_index.has_value()) << index;
    EXPECT_EQ(*doc.patient_index, 0u);
    const json parsed = json::parse(bundle);
    EXPECT_EQ(parsed["resourceType"], "Bundle");
    EXPECT_EQ(parsed["type"], "transaction");
    for (const json& entry : parsed["entry"]) {
      EXPECT_TRUE(entry["fullUrl"].get<std::string>().starts_with("urn:uuid:"));
      EXPECT_EQ(entry["request"]["method"], "POST");
      EXPECT_EQ(entry["request"]["url"], entry["resource"]["resourceType"]);
    }
  }
}

TEST(SyntheticTest, PopulationHasThePromisedContent) {
  std::map<std::string, int> types;
  std::set<std::string> countries, loinc, snomed, rxnorm, cvx;
  std::map<Category, int> categories;
  int sensitive = 0;
  for (uint64_t index = 0; index < 200; ++index) {
    const std::string bundle = GenerateSyntheticBundle(99, index);
    const ParsedDocument doc = ParseOk(bundle);
    for (const ParsedResource& r : doc.resources) {
      ++types[r.type];
      ++categories[r.category];
      if (r.sensitive) ++sensitive;
      EXPECT_EQ(r.json.find("urn:uuid:"), std::string::npos);
      if (r.type != "Patient") {
        EXPECT_TRUE(r.effective.has_value()) << r.type;
      }
    }
    const json parsed = json::parse(bundle);
    for (const json& entry : parsed["entry"]) {
      const json& r = entry["resource"];
      const std::string type = r["resourceType"];
      if (type == "Patient") {
        countries.insert(r["address"][0]["country"].get<std::string>());
        EXPECT_FALSE(r["name"][0]["family"].get<std::string>().empty());
        EXPECT_FALSE(r["name"][0]["given"][0].get<std::string>().empty());
        EXPECT_TRUE(r["gender"] == "male" || r["gender"] == "female");
        EXPECT_TRUE(ParseFhirDateTime(r["birthDate"].get<std::string>()).ok());
        EXPECT_FALSE(r["address"][0]["city"].get<std::string>().empty());
        EXPECT_FALSE(r["identifier"].empty());
      }
      if (type == "Observation") {
        for (const std::string& c : Codes(r, "code")) loinc.insert(c);
        for (const json& component : r.value("component", json::array())) {
          for (const std::string& c : Codes(component, "code")) loinc.insert(c);
        }
        EXPECT_EQ(
            r["subject"]["reference"].get<std::string>().rfind("urn:uuid:", 0),
            0u);
        EXPECT_TRUE(r.contains("encounter"));
      }
      if (type == "Condition") {
        for (const std::string& c : Codes(r, "code")) snomed.insert(c);
      }
      if (type == "MedicationRequest") {
        for (const std::string& c : Codes(r, "medicationCodeableConcept")) {
          rxnorm.insert(c);
        }
      }
      if (type == "Immunization") {
        for (const std::string& c : Codes(r, "vaccineCode")) cvx.insert(c);
      }
    }
  }
  for (const char* type : {"Patient", "Encounter", "Observation", "Condition",
                           "MedicationRequest", "Immunization"}) {
    EXPECT_GT(types[type], 0) << type;
  }
  EXPECT_EQ(types["Patient"], 200);
  EXPECT_EQ(countries, (std::set<std::string>{"DK", "FI", "NO", "SE"}));
  for (const char* code : {"8480-6", "8462-4", "8867-4", "29463-7", "8302-2",
                           "39156-5", "4548-4", "2093-3", "2339-0"}) {
    EXPECT_TRUE(loinc.count(code)) << code;
  }
  for (const char* code : {"44054006", "38341003", "195662009", "10509002",
                           "233604007", "35489007"}) {
    EXPECT_TRUE(snomed.count(code)) << code;
  }
  for (const char* code : {"860975", "314076", "308136"}) {
    EXPECT_TRUE(rxnorm.count(code)) << code;
  }
  for (const char* code : {"140", "208", "133"}) {
    EXPECT_TRUE(cvx.count(code)) << code;
  }
  EXPECT_GT(categories[Category::kVitalSigns], 0);
  EXPECT_GT(categories[Category::kLabResults], 0);
  EXPECT_GT(categories[Category::kPatientSummary], 0);
  EXPECT_GT(categories[Category::kPrescriptions], 0);
  EXPECT_GT(categories[Category::kEncounters], 0);
  EXPECT_GT(sensitive, 0);
}

TEST(SyntheticTest, WithoutSensitiveNothingIsSensitive) {
  SyntheticOptions options;
  options.include_sensitive = false;
  for (uint64_t index = 0; index < 200; ++index) {
    for (const ParsedResource& r :
         ParseOk(GenerateSyntheticBundle(99, index, options)).resources) {
      EXPECT_FALSE(r.sensitive) << index << " " << r.type << "/" << r.id;
    }
  }
}

TEST(SyntheticTest, EncounterCountWithinOptions) {
  SyntheticOptions options;
  options.min_encounters = 2;
  options.max_encounters = 4;
  std::set<int> seen;
  for (uint64_t index = 0; index < 60; ++index) {
    int encounters = 0;
    for (const ParsedResource& r :
         ParseOk(GenerateSyntheticBundle(5, index, options)).resources) {
      encounters += r.type == "Encounter";
    }
    EXPECT_GE(encounters, 2);
    EXPECT_LE(encounters, 4);
    seen.insert(encounters);
  }
  EXPECT_EQ(seen, (std::set<int>{2, 3, 4}));
}

TEST(SyntheticTest, NoEncountersGivesOnlyThePatient) {
  SyntheticOptions options;
  options.min_encounters = 0;
  options.max_encounters = 0;
  const ParsedDocument doc = ParseOk(GenerateSyntheticBundle(1, 1, options));
  ASSERT_EQ(doc.resources.size(), 1u);
  EXPECT_EQ(doc.resources[0].type, "Patient");
}

TEST(SyntheticTest, OutOfRangeOptionsAreClamped) {
  SyntheticOptions options;
  options.min_encounters = -5;
  options.max_encounters = -1;
  EXPECT_EQ(ParseOk(GenerateSyntheticBundle(1, 1, options)).resources.size(),
            1u);
  options.min_encounters = 3;
  options.max_encounters = 1;  // below min: exactly min
  int encounters = 0;
  for (const ParsedResource& r :
       ParseOk(GenerateSyntheticBundle(1, 1, options)).resources) {
    encounters += r.type == "Encounter";
  }
  EXPECT_EQ(encounters, 3);
}

TEST(SyntheticTest, ReferencesPointIntoTheBundle) {
  const std::string bundle = GenerateSyntheticBundle(3, 14);
  const json parsed = json::parse(bundle);
  std::set<std::string> full_urls;
  for (const json& entry : parsed["entry"]) full_urls.insert(entry["fullUrl"]);
  const std::string patient = parsed["entry"][0]["fullUrl"];
  for (const json& entry : parsed["entry"]) {
    const json& r = entry["resource"];
    if (r.contains("subject")) {
      EXPECT_EQ(r["subject"]["reference"], patient);
    }
    if (r.contains("patient")) {
      EXPECT_EQ(r["patient"]["reference"], patient);
    }
    if (r.contains("encounter")) {
      EXPECT_TRUE(full_urls.count(r["encounter"]["reference"]));
    }
  }
}

}  // namespace
}  // namespace tillit::fhir
