// The sensitive code list of SPEC section 3: codes whose presence in a
// record's code, reasonCode, valueCodeableConcept, vaccineCode or
// medicationCodeableConcept makes the record sensitive (released only when a
// grant says include_sensitive: true).
//
// The list and its rationale are documented in docs/SENSITIVE_CODES.md; a
// test keeps the two identical.
//
// Thread-safety: the table is immutable; every function may be called from
// several threads.
#ifndef TILLIT_FHIR_SRC_SENSITIVE_CODES_H_
#define TILLIT_FHIR_SRC_SENSITIVE_CODES_H_

#include <span>
#include <string_view>

namespace tillit::fhir {

enum class SensitiveArea {
  kMentalHealth,
  kSexualReproductiveHealth,
  kHiv,
  kSubstanceUse,
  kGenetics,
};

enum class CodeMatch {
  kExact,   // the coding's code equals `code`
  kPrefix,  // the coding's code starts with `code`, ignoring '.' and case
};

struct SensitiveCode {
  std::string_view system;  // FHIR code system URI
  std::string_view code;    // a code, or a code prefix (CodeMatch::kPrefix)
  CodeMatch match;
  SensitiveArea area;
  std::string_view meaning;  // for people reading the table; not matched
};

inline constexpr std::string_view kSnomedSystem = "http://snomed.info/sct";
inline constexpr std::string_view kLoincSystem = "http://loinc.org";
inline constexpr std::string_view kIcd10System =
    "http://hl7.org/fhir/sid/icd-10";
inline constexpr std::string_view kIcd10CmSystem =
    "http://hl7.org/fhir/sid/icd-10-cm";

// "mental-health", "sexual-reproductive-health", "hiv", "substance-use",
// "genetics".
std::string_view SensitiveAreaName(SensitiveArea area);

// The whole list, in the order of docs/SENSITIVE_CODES.md.
std::span<const SensitiveCode> SensitiveCodeTable();

// The first table row that matches the coding (system, code), or nullptr.
// System URIs are compared exactly.
const SensitiveCode* FindSensitiveCode(std::string_view system,
                                       std::string_view code);

}  // namespace tillit::fhir

#endif  // TILLIT_FHIR_SRC_SENSITIVE_CODES_H_
