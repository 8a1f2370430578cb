// The 32 Synthea bundles of the shared fixtures, checked against what
// nlohmann_json computes independently from the same files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

using nlohmann::json;

std::vector<std::filesystem::path> FixtureFiles() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry :
       std::filesystem::directory_iterator(TILLIT_FIXTURES_DIR)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Replaces every "reference" value that is a key of `map` (recursively).
void RewriteReferences(json& node,
                       const std::map<std::string, std::string>& map) {
  if (node.is_object()) {
    for (auto& [key, value] : node.items()) {
      if (key == "reference" && value.is_string()) {
        const auto it = map.find(value.get<std::string>());
        if (it != map.end()) value = it->second;
      } else {
        RewriteReferences(value, map);
      }
    }
  } else if (node.is_array()) {
    for (json& item : node) RewriteReferences(item, map);
  }
}

void CollectReferences(const json& node, std::vector<std::string>* out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "reference" && value.is_string()) {
        out->push_back(value.get<std::string>());
      } else {
        CollectReferences(value, out);
      }
    }
  } else if (node.is_array()) {
    for (const json& item : node) CollectReferences(item, out);
  }
}

bool HasCategoryCode(const json& resource, const std::string& code) {
  if (!resource.contains("category")) return false;
  for (const json& category : resource["category"]) {
    for (const json& coding : category.value("coding", json::array())) {
      if (coding.value("code", "") == code) return true;
    }
  }
  return false;
}

class FixtureTest : public testing::TestWithParam<std::filesystem::path> {};

TEST(FixtureSetTest, All32BundlesArePresent) {
  EXPECT_EQ(FixtureFiles().size(), 32u) << TILLIT_FIXTURES_DIR;
}

TEST_P(FixtureTest, ParsesLikeAnIndependentReading) {
  const std::string bytes = ReadFile(GetParam());
  StatusOr<ParsedDocument> parsed = ParseFhirDocument(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const ParsedDocument& doc = *parsed;

  const json bundle = json::parse(bytes);
  const json& entries = bundle["entry"];
  ASSERT_EQ(doc.resources.size(), entries.size());

  // Resource counts by type.
  std::map<std::string, int> expected_counts, counts;
  std::map<std::string, std::string> full_urls;  // urn:uuid -> Type/id
  for (const json& entry : entries) {
    const json& r = entry["resource"];
    ++expected_counts[r["resourceType"].get<std::string>()];
    full_urls[entry["fullUrl"].get<std::string>()] =
        r["resourceType"].get<std::string>() + "/" + r["id"].get<std::string>();
  }
  for (const ParsedResource& r : doc.resources) ++counts[r.type];
  EXPECT_EQ(counts, expected_counts);

  // Exactly one Patient, and patient_index points at it.
  EXPECT_EQ(expected_counts["Patient"], 1);
  ASSERT_TRUE(doc.patient_index.has_value());
  const ParsedResource& patient = doc.resources[*doc.patient_index];
  EXPECT_EQ(patient.type, "Patient");
  EXPECT_EQ(entries[*doc.patient_index]["resource"]["resourceType"], "Patient");
  EXPECT_EQ(patient.id, entries[*doc.patient_index]["resource"]["id"]);
  EXPECT_EQ(patient.category, Category::kPatientSummary);

  for (size_t i = 0; i < doc.resources.size(); ++i) {
    const ParsedResource& r = doc.resources[i];
    const json& original = entries[i]["resource"];
    SCOPED_TRACE("entry " + std::to_string(i) + " " + r.type + "/" + r.id);
    EXPECT_EQ(r.type, original["resourceType"]);
    EXPECT_EQ(r.id, original["id"]);

    // The stored JSON is the original with references rewritten, nothing else.
    const json stored = json::parse(r.json);
    json expected = original;
    RewriteReferences(expected, full_urls);
    EXPECT_EQ(stored, expected);
    EXPECT_EQ(r.json.find('\n'), std::string::npos);

    std::vector<std::string> references;
    CollectReferences(stored, &references);
    for (const std::string& ref : references) {
      EXPECT_FALSE(ref.starts_with("urn:uuid:")) << ref;
    }

    // Category sanity.
    if (r.type == "Claim" || r.type == "ExplanationOfBenefit") {
      EXPECT_EQ(r.category, Category::kFinancial);
    }
    if (r.type == "Encounter" || r.type == "CarePlan" || r.type == "Goal") {
      EXPECT_EQ(r.category, Category::kEncounters);
    }
    if (r.type == "Observation") {
      if (HasCategoryCode(original, "laboratory")) {
        EXPECT_EQ(r.category, Category::kLabResults);
      } else if (HasCategoryCode(original, "imaging")) {
        EXPECT_EQ(r.category, Category::kImaging);
      } else {
        EXPECT_EQ(r.category, Category::kVitalSigns);
      }
      EXPECT_TRUE(r.effective.has_value());
    }
    if (r.type == "DiagnosticReport" && HasCategoryCode(original, "LAB")) {
      EXPECT_EQ(r.category, Category::kLabResults);
    }
    if (r.type == "ImagingStudy") {
      EXPECT_EQ(r.category, Category::kImaging);
    }
    if (r.type == "Condition" || r.type == "Immunization" ||
        r.type == "Procedure" || r.type == "AllergyIntolerance") {
      EXPECT_EQ(r.category, Category::kPatientSummary);
    }
    if (r.type == "MedicationRequest") {
      EXPECT_EQ(r.category, Category::kPrescriptions);
    }
    if (r.type == "Organization" || r.type == "Practitioner") {
      EXPECT_EQ(r.category, Category::kOther);
    }

    // Dates: every Synthea clinical resource but Goal (no startDate) has one.
    if (r.type == "Encounter") {
      const StatusOr<int64_t> start =
          ParseFhirDateTime(original["period"]["start"].get<std::string>());
      ASSERT_TRUE(start.ok());
      EXPECT_EQ(r.effective, *start);
    }
    if (r.type != "Patient" && r.type != "Organization" &&
        r.type != "Practitioner" && r.type != "Goal") {
      EXPECT_TRUE(r.effective.has_value());
    }

    // Sensitivity of the codes Synthea uses.
    if (r.type == "Condition") {
      const std::string code = original["code"]["coding"][0]["code"];
      if (code == "72892002" || code == "19169002" || code == "79586000") {
        EXPECT_TRUE(r.sensitive) << code;  // pregnancy, miscarriage
      }
      if (code == "44054006" || code == "38341003" || code == "10509002") {
        EXPECT_FALSE(r.sensitive) << code;
      }
    }
    if (r.type == "Claim" || r.type == "Organization" ||
        r.type == "ImagingStudy") {
      EXPECT_FALSE(r.sensitive);
    }
  }
}

TEST_P(FixtureTest, SameResultAsNdjsonOfTheSameResources) {
  // Re-serialise the rewritten resources as NDJSON: the facts must not change.
  StatusOr<ParsedDocument> bundle = ParseFhirDocument(ReadFile(GetParam()));
  ASSERT_TRUE(bundle.ok()) << bundle.status().ToString();
  std::string ndjson;
  for (const ParsedResource& r : bundle->resources) ndjson += r.json + "\n";
  StatusOr<ParsedDocument> lines = ParseFhirNdjson(ndjson);
  ASSERT_TRUE(lines.ok()) << lines.status().ToString();
  ASSERT_EQ(lines->resources.size(), bundle->resources.size());
  EXPECT_EQ(lines->patient_index, bundle->patient_index);
  for (size_t i = 0; i < lines->resources.size(); ++i) {
    const ParsedResource& a = bundle->resources[i];
    const ParsedResource& b = lines->resources[i];
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.category, b.category);
    EXPECT_EQ(a.effective, b.effective);
    EXPECT_EQ(a.sensitive, b.sensitive);
    EXPECT_EQ(a.json, b.json);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Synthea, FixtureTest, testing::ValuesIn(FixtureFiles()),
    [](const testing::TestParamInfo<std::filesystem::path>& info) {
      std::string name = info.param.stem().string();
      std::replace(name.begin(), name.end(), '-', '_');
      return "p" + name;
    });

}  // namespace
}  // namespace tillit::fhir
