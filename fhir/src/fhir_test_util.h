// Test helpers shared by the single-resource tests (fhir_test.cc,
// fhir_validation_test.cc): parse-or-fail wrappers and small JSON builders.
// Test-only.
#ifndef TILLIT_FHIR_SRC_FHIR_TEST_UTIL_H_
#define TILLIT_FHIR_SRC_FHIR_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <string>

#include "tillit/fhir/fhir.h"

namespace tillit::fhir::testing {

inline ParsedResource Parse(const std::string& json) {
  StatusOr<ParsedResource> parsed = ParseFhirResource(json);
  EXPECT_TRUE(parsed.ok()) << json << "\n" << parsed.status().ToString();
  return parsed.ok() ? *parsed : ParsedResource{};
}

inline Status ErrorOf(const std::string& json,
                      const ImportLimits& limits = {}) {
  StatusOr<ParsedResource> parsed = ParseFhirResource(json, limits);
  EXPECT_FALSE(parsed.ok()) << "accepted: " << json;
  return parsed.status();
}

// {"resourceType":<type>,"id":"x"<extra>}
inline std::string Resource(const std::string& type,
                            const std::string& extra = "") {
  return R"({"resourceType":")" + type + R"(","id":"x")" +
         (extra.empty() ? "" : "," + extra) + "}";
}

inline std::string Concept(const std::string& system, const std::string& code) {
  return R"({"coding":[{"system":")" + system + R"(","code":")" + code +
         R"("}]})";
}

inline constexpr char kLoinc[] = "http://loinc.org";
inline constexpr char kSnomed[] = "http://snomed.info/sct";

}  // namespace tillit::fhir::testing

#endif  // TILLIT_FHIR_SRC_FHIR_TEST_UTIL_H_
