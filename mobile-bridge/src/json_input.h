// Checks and encodings of what an app hands the bridge, before anything
// is sent or stored: JSON arguments, query objects, ids and names. Every
// refusal is an invalid_argument bridge error whose text names the field
// and never repeats the value (it may be health data).
//
// Thread-safety: pure functions.
#ifndef TILLIT_MOBILE_BRIDGE_JSON_INPUT_H_
#define TILLIT_MOBILE_BRIDGE_JSON_INPUT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::bridge {

// The largest JSON argument accepted (the server's own JSON body limit).
inline constexpr size_t kMaxJsonArgumentBytes = 1024 * 1024;

// `text` parsed as a JSON object. `what` names the argument in errors.
// Refuses NULL, more than kMaxJsonArgumentBytes, malformed JSON, invalid
// UTF-8 and anything but an object.
StatusOr<nlohmann::json> ParseJsonObject(const char* text,
                                         std::string_view what);
// The compact text of `value`; invalid_argument when a string in it is not
// valid UTF-8.
StatusOr<std::string> JsonText(const nlohmann::json& value,
                               std::string_view what);

// A citizen-entered FHIR resource as POST /v1/me/records takes it: an
// object with a resourceType (a FHIR type name other than Bundle and
// Patient) and no id (the vault assigns it). Returns its compact text.
StatusOr<std::string> CitizenResourceText(const char* resource_json);

// RFC 3986 percent-encoding of a query value or path segment: only the
// unreserved characters A-Z a-z 0-9 - . _ ~ are left as they are.
std::string PercentEncode(std::string_view value);

// The query string ("" or "?a=b&...") for GET /v1/me/records from NULL or
// {"category", "type", "since", "until", "limit", "cursor"}: strings (limit
// may also be a positive integer); any other key is refused.
StatusOr<std::string> RecordsQuery(const char* query_json);

// tillit_access_log's NULL or {"limit", "before", "verify"}.
struct AccessLogQuery {
  std::optional<int64_t> limit;   // 1 to 1000
  std::optional<int64_t> before;  // an entry index, >= 0
  bool verify = false;
};
StatusOr<AccessLogQuery> ParseAccessLogQuery(const char* query_json);
// "?limit=..&before=..&proofs=true" as the server takes it.
std::string AccessLogTarget(const AccessLogQuery& query);

// A device name: 1 to 64 bytes of UTF-8 without control characters (as
// the server accepts).
bool IsDeviceName(std::string_view name);
// An id the bridge puts in a path: 1 to 64 of A-Z a-z 0-9 _ - . (FHIR ids,
// grant ids, device ids).
bool IsPathId(std::string_view id);
// A FHIR resource type name: an upper-case letter, then letters (<= 64).
bool IsResourceType(std::string_view type);
// "<prefix>" followed by 32 lowercase hex digits (the server's ids).
bool IsServerId(std::string_view id, std::string_view prefix);

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_JSON_INPUT_H_
