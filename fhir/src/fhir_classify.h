// Internal to the FHIR import: validation and classification of one resource
// (category, effective date, sensitivity) from its simdjson DOM.
//
// Thread-safety: stateless functions.
#ifndef TILLIT_FHIR_SRC_FHIR_CLASSIFY_H_
#define TILLIT_FHIR_SRC_FHIR_CLASSIFY_H_

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/fhir/fhir.h"

namespace tillit::fhir::fhir_internal {

// [A-Za-z0-9\-\.]{1,64}
bool IsValidFhirId(std::string_view id);
// [A-Z][A-Za-z]{1,63}
bool IsValidResourceType(std::string_view type);
// True when `full_url` is "urn:uuid:" followed by a UUID
// (8-4-4-4-12 hexadecimal digits); sets *uuid to the UUID.
bool ParseUrnUuid(std::string_view full_url, std::string_view* uuid);

// `"2015-13-01"` when `text` looks like a date (digits and date punctuation
// only), else a neutral placeholder: messages never carry free text.
std::string QuoteDateForMessage(std::string_view text);

// Member `key` of `obj`, nullopt when absent. A key present twice is
// InvalidArgument ("<where>.<key> occurs twice"): other readers of the JSON
// might take the other value.
Status FindUniqueMember(simdjson::dom::object obj, std::string_view where,
                        std::string_view key,
                        std::optional<simdjson::dom::element>* out);

// Validates what the vault relies on in `resource` and fills out->type,
// out->id, out->category, out->effective and out->sensitive (not out->json).
// When the resource has no id and `fallback_id` is not empty, the id is
// `fallback_id` and *id_from_fallback is set.
// A Bundle is refused: records are single resources.
// Errors are InvalidArgument and carry no location prefix.
Status ClassifyResource(simdjson::dom::object resource,
                        std::string_view fallback_id, ParsedResource* out,
                        bool* id_from_fallback);

}  // namespace tillit::fhir::fhir_internal

#endif  // TILLIT_FHIR_SRC_FHIR_CLASSIFY_H_
