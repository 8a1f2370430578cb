// Fuzz target: the JSON and text arguments a citizen's app hands the mobile
// bridge (mobile-bridge/src/json_input.h, internal to libtillit_bridge,
// whose exported C functions need a paired client and a server first).
//
// The bytes, as the NUL-terminated string an app passes, go to every check
// the bridge runs before it sends or stores anything: ParseJsonObject,
// CitizenResourceText (tillit_add_record, tillit_queue_record),
// RecordsQuery (tillit_list_records), ParseAccessLogQuery
// (tillit_access_log), and the id and name checks. Every refusal must be an
// invalid_argument bridge error; what is accepted must be what the
// function promises, and JSON text must read back to the same value.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "src/error.h"
#include "src/json_input.h"

namespace tillit::fuzz {
namespace {

using nlohmann::json;

void CheckRefusal(const Status& status) {
  TILLIT_FUZZ_CHECK(!status.ok());
  TILLIT_FUZZ_CHECK(bridge::CodeOf(status) ==
                    bridge::ErrorCode::kInvalidArgument);
}

bool IsUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // PercentEncode writes upper-case hex only
}

// The inverse of PercentEncode into *out; false for text PercentEncode
// cannot have written.
bool PercentDecode(std::string_view text, std::string* out) {
  out->clear();
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsUnreserved(c)) {
      out->push_back(c);
      continue;
    }
    if (c != '%' || i + 2 >= text.size()) return false;
    const int hi = HexValue(text[i + 1]);
    const int lo = HexValue(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char decoded = static_cast<char>(hi * 16 + lo);
    if (IsUnreserved(decoded)) return false;  // would have been left as is
    out->push_back(decoded);
    i += 2;
  }
  return true;
}

void CheckJsonObject(const char* text) {
  StatusOr<json> value = bridge::ParseJsonObject(text, "argument");
  if (!value.ok()) return CheckRefusal(value.status());
  TILLIT_FUZZ_CHECK(value->is_object());
  StatusOr<std::string> written = bridge::JsonText(*value, "argument");
  TILLIT_FUZZ_CHECK(written.ok());
  StatusOr<json> again = bridge::ParseJsonObject(written->c_str(), "again");
  TILLIT_FUZZ_CHECK(again.ok());
  TILLIT_FUZZ_CHECK(*again == *value);
  StatusOr<std::string> rewritten = bridge::JsonText(*again, "again");
  TILLIT_FUZZ_CHECK(rewritten.ok() && *rewritten == *written);
}

void CheckCitizenResource(const char* text) {
  StatusOr<std::string> resource = bridge::CitizenResourceText(text);
  if (!resource.ok()) return CheckRefusal(resource.status());
  StatusOr<json> value = bridge::ParseJsonObject(resource->c_str(), "again");
  TILLIT_FUZZ_CHECK(value.ok());
  const auto type = value->find("resourceType");
  TILLIT_FUZZ_CHECK(type != value->end() && type->is_string());
  const std::string& name = type->get_ref<const std::string&>();
  TILLIT_FUZZ_CHECK(bridge::IsResourceType(name));
  TILLIT_FUZZ_CHECK(name != "Bundle" && name != "Patient");
  TILLIT_FUZZ_CHECK(!value->contains("id"));
}

void CheckRecordsQuery(const char* text) {
  StatusOr<std::string> query = bridge::RecordsQuery(text);
  if (!query.ok()) return CheckRefusal(query.status());
  if (query->empty()) return;
  TILLIT_FUZZ_CHECK((*query)[0] == '?');
  // "?key=value&key=value": known keys, in the server's order, values
  // percent-encoded and not empty.
  constexpr std::string_view kKeys[] = {"category", "type",  "since",
                                        "until",    "limit", "cursor"};
  size_t next_key = 0;
  std::string_view rest = std::string_view(*query).substr(1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view()
                                         : rest.substr(amp + 1);
    const size_t eq = pair.find('=');
    TILLIT_FUZZ_CHECK(eq != std::string_view::npos);
    const std::string_view key = pair.substr(0, eq);
    while (next_key < std::size(kKeys) && kKeys[next_key] != key) ++next_key;
    TILLIT_FUZZ_CHECK(next_key < std::size(kKeys));
    ++next_key;
    std::string value;
    TILLIT_FUZZ_CHECK(PercentDecode(pair.substr(eq + 1), &value));
    TILLIT_FUZZ_CHECK(!value.empty());
  }
}

void CheckAccessLogQuery(const char* text) {
  StatusOr<bridge::AccessLogQuery> query = bridge::ParseAccessLogQuery(text);
  if (!query.ok()) return CheckRefusal(query.status());
  if (query->limit) {
    TILLIT_FUZZ_CHECK(*query->limit >= 1 && *query->limit <= 1000);
  }
  if (query->before) TILLIT_FUZZ_CHECK(*query->before >= 0);
  const std::string target = bridge::AccessLogTarget(*query);
  TILLIT_FUZZ_CHECK(std::string_view(target).starts_with("/v1/me/access-log"));
}

}  // namespace
}  // namespace tillit::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  // What an app passes: a C string (it ends at the first NUL).
  const std::string arg(AsText(data, size));
  const char* text = arg.c_str();

  CheckJsonObject(text);
  CheckCitizenResource(text);
  CheckRecordsQuery(text);
  CheckAccessLogQuery(text);

  const std::string_view view(text);
  std::string decoded;
  TILLIT_FUZZ_CHECK(PercentDecode(bridge::PercentEncode(view), &decoded));
  TILLIT_FUZZ_CHECK(decoded == view);
  (void)bridge::IsDeviceName(view);
  (void)bridge::IsPathId(view);
  (void)bridge::IsServerId(view, "d_");
  return 0;
}
