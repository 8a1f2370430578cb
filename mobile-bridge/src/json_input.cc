#include "json_input.h"

#include <algorithm>
#include <cstring>

#include "error.h"

namespace tillit::bridge {
namespace {

using nlohmann::json;

Status Invalid(std::string_view what, std::string_view why) {
  std::string text(what);
  text += ": ";
  text += why;
  return BridgeError(ErrorCode::kInvalidArgument, text);
}

bool IsLetter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A query value given as a string, or (when `integer_ok`) a non-negative
// integer.
StatusOr<std::string> QueryValue(const json& value, std::string_view key,
                                 bool integer_ok) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s.empty()) return Invalid(key, "must not be empty");
    return s;
  }
  if (integer_ok && value.is_number_unsigned()) {
    return std::to_string(value.get<uint64_t>());
  }
  return Invalid(key, integer_ok ? "must be a string or a positive integer"
                                 : "must be a string");
}

}  // namespace

StatusOr<json> ParseJsonObject(const char* text, std::string_view what) {
  if (text == nullptr) return Invalid(what, "required");
  const size_t size = std::strlen(text);
  if (size > kMaxJsonArgumentBytes) return Invalid(what, "larger than 1 MiB");
  json parsed = json::parse(text, text + size, nullptr,
                            /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Invalid(what, "not valid JSON");
  if (!parsed.is_object()) return Invalid(what, "must be a JSON object");
  // Strings must be valid UTF-8: dumping checks every one of them.
  TILLIT_RETURN_IF_ERROR(JsonText(parsed, what).status());
  return parsed;
}

StatusOr<std::string> JsonText(const json& value, std::string_view what) {
  try {
    return value.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception&) {
    return Invalid(what, "a string is not valid UTF-8");
  }
}

StatusOr<std::string> CitizenResourceText(const char* resource_json) {
  TILLIT_ASSIGN_OR_RETURN(json resource,
                          ParseJsonObject(resource_json, "resource"));
  auto type = resource.find("resourceType");
  if (type == resource.end() || !type->is_string() ||
      !IsResourceType(type->get_ref<const std::string&>())) {
    return Invalid("resource.resourceType",
                   "required, a FHIR resource type name");
  }
  const std::string& name = type->get_ref<const std::string&>();
  if (name == "Bundle" || name == "Patient") {
    return Invalid("resource.resourceType",
                   "a Bundle or Patient is not a citizen-entered resource");
  }
  if (resource.contains("id")) {
    return Invalid("resource.id", "assigned by the vault; leave it out");
  }
  if (resource.contains("meta") && !resource["meta"].is_object()) {
    return Invalid("resource.meta", "must be an object");
  }
  return JsonText(resource, "resource");
}

std::string PercentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (IsLetter(c) || IsDigit(c) || c == '-' || c == '.' || c == '_' ||
        c == '~') {
      out += c;
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0x0f];
    }
  }
  return out;
}

StatusOr<std::string> RecordsQuery(const char* query_json) {
  if (query_json == nullptr) return std::string();
  TILLIT_ASSIGN_OR_RETURN(json query, ParseJsonObject(query_json, "query"));
  // The server's order, so equal queries give equal targets.
  static constexpr const char* kKeys[] = {"category", "type",  "since",
                                          "until",    "limit", "cursor"};
  for (const auto& item : query.items()) {
    const std::string& key = item.key();
    if (std::none_of(std::begin(kKeys), std::end(kKeys),
                     [&key](const char* k) { return key == k; })) {
      return Invalid("query",
                     "unknown key (allowed: category, type, since, "
                     "until, limit, cursor)");
    }
  }
  std::string target;
  for (const char* key : kKeys) {
    auto it = query.find(key);
    if (it == query.end() || it->is_null()) continue;
    TILLIT_ASSIGN_OR_RETURN(std::string value,
                            QueryValue(*it, std::string("query.") + key,
                                       std::strcmp(key, "limit") == 0));
    target += target.empty() ? '?' : '&';
    target += key;
    target += '=';
    target += PercentEncode(value);
  }
  return target;
}

StatusOr<AccessLogQuery> ParseAccessLogQuery(const char* query_json) {
  AccessLogQuery out;
  if (query_json == nullptr) return out;
  TILLIT_ASSIGN_OR_RETURN(json query, ParseJsonObject(query_json, "query"));
  for (const auto& [key, value] : query.items()) {
    if (key == "limit") {
      if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
          value.get<uint64_t>() > 1000) {
        return Invalid("query.limit", "must be an integer from 1 to 1000");
      }
      out.limit = value.get<int64_t>();
    } else if (key == "before") {
      if (!value.is_number_unsigned() ||
          value.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
        return Invalid("query.before", "must be an entry index");
      }
      out.before = value.get<int64_t>();
    } else if (key == "verify") {
      if (!value.is_boolean()) return Invalid("query.verify", "must be a bool");
      out.verify = value.get<bool>();
    } else {
      return Invalid("query", "unknown key (allowed: limit, before, verify)");
    }
  }
  return out;
}

std::string AccessLogTarget(const AccessLogQuery& query) {
  std::string target = "/v1/me/access-log";
  char sep = '?';
  if (query.limit) {
    target += sep + std::string("limit=") + std::to_string(*query.limit);
    sep = '&';
  }
  if (query.before) {
    target += sep + std::string("before=") + std::to_string(*query.before);
    sep = '&';
  }
  if (query.verify) target += sep + std::string("proofs=true");
  return target;
}

bool IsDeviceName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  const bool printable = std::all_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u != 0x7f;
  });
  if (!printable) return false;
  // Valid UTF-8: nlohmann's strict serialisation refuses anything else.
  try {
    (void)nlohmann::json(std::string(name)).dump();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return true;
}

bool IsPathId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) {
                       return IsLetter(c) || IsDigit(c) || c == '_' ||
                              c == '-' || c == '.';
                     }) &&
         id != "." && id != "..";
}

bool IsResourceType(std::string_view type) {
  if (type.empty() || type.size() > 64 || type[0] < 'A' || type[0] > 'Z')
    return false;
  return std::all_of(type.begin(), type.end(), IsLetter);
}

bool IsServerId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 32 || id.substr(0, prefix.size()) != prefix)
    return false;
  return std::all_of(
      id.begin() + static_cast<std::ptrdiff_t>(prefix.size()), id.end(),
      [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); });
}

}  // namespace tillit::bridge
