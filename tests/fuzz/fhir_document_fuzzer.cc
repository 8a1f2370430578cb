// Fuzz target: the FHIR import (fhir/include/tillit/fhir/fhir.h).
//
// Feeds the bytes to ParseFhirDocument (a Bundle or one resource) and to
// ParseFhirNdjson, as `tillit import` and POST /v1/me/import do. For what
// they accept it checks the header's promises: valid types and ids, one
// Patient at most, codes bounded and distinct, each resource's JSON within
// max_resource_bytes, and that every resource's JSON, read again with
// ParseFhirResource (as a stored record is), gives the same facts and the
// same text. A parse under tight ImportLimits that succeeds must agree
// with the parse under the defaults.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_check.h"
#include "tillit/fhir/fhir.h"

namespace tillit::fuzz {
namespace {

using fhir::ImportLimits;
using fhir::ParsedDocument;
using fhir::ParsedResource;

bool IsFhirId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.';
  });
}

bool IsResourceType(std::string_view type) {
  if (type.size() < 2 || type.size() > 64) return false;
  if (type[0] < 'A' || type[0] > 'Z') return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

bool SameFacts(const ParsedResource& a, const ParsedResource& b) {
  return a.type == b.type && a.id == b.id && a.category == b.category &&
         a.effective == b.effective && a.sensitive == b.sensitive &&
         a.codes == b.codes;
}

void CheckResource(const ParsedResource& r, const ImportLimits& limits) {
  TILLIT_FUZZ_CHECK(IsResourceType(r.type));
  TILLIT_FUZZ_CHECK(r.type != "Bundle");
  TILLIT_FUZZ_CHECK(IsFhirId(r.id));
  TILLIT_FUZZ_CHECK(fhir::ParseCategory(fhir::CategoryName(r.category)) ==
                    r.category);
  TILLIT_FUZZ_CHECK(r.codes.size() <= 64);
  std::set<std::string> distinct(r.codes.begin(), r.codes.end());
  TILLIT_FUZZ_CHECK(distinct.size() == r.codes.size());
  for (const std::string& code : r.codes) {
    TILLIT_FUZZ_CHECK(code.find('|') != std::string::npos);
  }
  TILLIT_FUZZ_CHECK(!r.json.empty() && r.json.front() == '{' &&
                    r.json.back() == '}');
  TILLIT_FUZZ_CHECK(r.json.size() <= limits.max_resource_bytes);

  // A stored record is read again on its own: same facts, same text.
  StatusOr<ParsedResource> again = fhir::ParseFhirResource(r.json);
  TILLIT_FUZZ_CHECK(again.ok());
  TILLIT_FUZZ_CHECK(SameFacts(r, *again));
  TILLIT_FUZZ_CHECK(again->json == r.json);
}

void CheckDocument(const ParsedDocument& doc, const ImportLimits& limits) {
  size_t patients = 0;
  std::set<std::pair<std::string, std::string>> keys;
  for (const ParsedResource& r : doc.resources) {
    CheckResource(r, limits);
    if (r.type == "Patient") ++patients;
    TILLIT_FUZZ_CHECK(keys.emplace(r.type, r.id).second);  // no duplicate
  }
  TILLIT_FUZZ_CHECK(doc.resources.size() <= limits.max_entries ||
                    doc.resources.size() == 1);
  if (doc.patient_index) {
    TILLIT_FUZZ_CHECK(*doc.patient_index < doc.resources.size());
    TILLIT_FUZZ_CHECK(doc.resources[*doc.patient_index].type == "Patient");
    TILLIT_FUZZ_CHECK(patients == 1);
  } else {
    TILLIT_FUZZ_CHECK(patients == 0);
  }
}

bool SameDocument(const ParsedDocument& a, const ParsedDocument& b) {
  if (a.resources.size() != b.resources.size()) return false;
  if (a.patient_index != b.patient_index) return false;
  for (size_t i = 0; i < a.resources.size(); ++i) {
    if (!SameFacts(a.resources[i], b.resources[i])) return false;
    if (a.resources[i].json != b.resources[i].json) return false;
  }
  return true;
}

}  // namespace
}  // namespace tillit::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  const std::string_view bytes = AsText(data, size);

  const fhir::ImportLimits defaults;
  StatusOr<fhir::ParsedDocument> doc = fhir::ParseFhirDocument(bytes);
  if (doc.ok()) CheckDocument(*doc, defaults);

  // Tight limits only ever refuse more; what they accept is the same.
  fhir::ImportLimits tight;
  tight.max_document_bytes = 1u << 16;
  tight.max_resource_bytes = 2048;
  tight.max_depth = 8;
  tight.max_entries = 8;
  StatusOr<fhir::ParsedDocument> small = fhir::ParseFhirDocument(bytes, tight);
  if (small.ok()) {
    TILLIT_FUZZ_CHECK(doc.ok());
    CheckDocument(*small, tight);
    TILLIT_FUZZ_CHECK(SameDocument(*doc, *small));
  }

  StatusOr<fhir::ParsedDocument> lines = fhir::ParseFhirNdjson(bytes);
  if (lines.ok()) {
    CheckDocument(*lines, defaults);
    // One line holding one resource reads the same either way.
    if (doc.ok() && bytes.find('\n') == std::string_view::npos &&
        lines->resources.size() == 1 && doc->resources.size() == 1) {
      TILLIT_FUZZ_CHECK(SameDocument(*doc, *lines));
    }
  }

  if (size <= 64) (void)fhir::ParseFhirDateTime(bytes);
  return 0;
}
