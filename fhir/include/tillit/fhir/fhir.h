// FHIR R4 import: parsing, validation and classification of records.
//
// ParseFhirDocument / ParseFhirNdjson turn the bytes a citizen or provider
// uploads into ParsedResources: minified JSON with the bundle's urn:uuid:
// references resolved to "Type/id", plus the facts the vault indexes (SPEC
// section 3): the record's category, its clinically relevant date and whether
// it is sensitive.
//
// Contract:
//   - All or nothing: any problem returns a non-OK Status and no resources.
//     InvalidArgument for bad input, ResourceExhausted when an ImportLimits
//     bound is exceeded. Messages name the entry index ("entry 12: ..."), the
//     NDJSON line ("line 4: ...") or "resource: ..." for a single resource,
//     and what is wrong. They may quote resource types, ids, field names and
//     dates, never other field values (those are health data).
//   - Deterministic: the same bytes always give the same result.
//
// Thread-safety: every function here may be called from several threads at
// once; none keeps state between calls that a caller can observe.
#ifndef TILLIT_FHIR_FHIR_H_
#define TILLIT_FHIR_FHIR_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::fhir {

// The record categories of SPEC section 3. Consent grants, restrictions and
// releases are expressed in these.
enum class Category {
  kPatientSummary,
  kPrescriptions,
  kDispensations,
  kLabResults,
  kVitalSigns,
  kImaging,
  kDischargeReports,
  kEncounters,
  kFinancial,
  kOther,
};
inline constexpr int kCategoryCount = 10;

// The contract name of a category: "patient-summary", "prescriptions",
// "dispensations", "lab-results", "vital-signs", "imaging",
// "discharge-reports", "encounters", "financial", "other".
std::string_view CategoryName(Category category);
// Inverse of CategoryName; an unknown name gives nullopt.
std::optional<Category> ParseCategory(std::string_view name);
// Every category, in enum order.
const std::array<Category, kCategoryCount>& AllCategories();

// Bounds on what one import may cost. Exceeding one gives ResourceExhausted.
struct ImportLimits {
  size_t max_document_bytes = 64u << 20;  // a bundle / NDJSON file
  size_t max_resource_bytes = 8u << 20;   // one resource after minification
  size_t max_depth = 64;                  // JSON nesting (up to 65536)
  size_t max_entries = 250000;  // entries in one bundle / lines in one NDJSON
};

struct ParsedResource {
  std::string type;  // resourceType
  std::string id;    // FHIR id (validated: [A-Za-z0-9\-\.]{1,64})
  Category category = Category::kOther;
  // Seconds since the Unix epoch (UTC) of the clinically relevant date, if
  // any.
  std::optional<int64_t> effective;
  bool sensitive = false;
  // Clinical codes as "system|code" (code, reasonCode, valueCodeableConcept,
  // vaccineCode, medicationCodeableConcept; at most 64, no duplicates).
  std::vector<std::string> codes;
  // The resource, minified, with urn:uuid references rewritten to "Type/id".
  // When the resource had no id and took it from its entry's
  // fullUrl "urn:uuid:<id>", `"id":"<id>"` is added as its first member.
  std::string json;
};

struct ParsedDocument {
  std::vector<ParsedResource> resources;  // in document order
  // Index into resources of the Patient, if the document has exactly one.
  std::optional<size_t> patient_index;
};

// Parses a FHIR Bundle (type transaction, batch or collection) or a single
// resource.
StatusOr<ParsedDocument> ParseFhirDocument(std::string_view bytes,
                                           const ImportLimits& limits = {});

// Parses NDJSON: one resource per non-empty line.
StatusOr<ParsedDocument> ParseFhirNdjson(std::string_view bytes,
                                         const ImportLimits& limits = {});

// Category / effective date / sensitivity of one already-parsed resource
// (minified JSON text). For tests and for records added later by citizens and
// providers. A Bundle is refused, and so is any urn:uuid: reference (there is
// no bundle to resolve it in).
StatusOr<ParsedResource> ParseFhirResource(std::string_view json,
                                           const ImportLimits& limits = {});

// FHIR date / dateTime / instant -> seconds since the Unix epoch. Partial
// dates ("2015", "2015-03") give the start of the period; a timezone offset
// is applied; no offset means UTC; fractions of a second are dropped.
// Malformed -> InvalidArgument.
StatusOr<int64_t> ParseFhirDateTime(std::string_view text);

}  // namespace tillit::fhir

#endif  // TILLIT_FHIR_FHIR_H_
