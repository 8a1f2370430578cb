#include "call.h"

#include <utility>

#include "limits.h"

namespace tillit::api::internal {

std::string Call::Param(std::string_view name) const {
  for (const auto& [k, v] : match_.params) {
    if (k == name) return v;
  }
  return {};
}

bool Call::Shows(const consent::RecordFacts& record) const {
  if (acting_ == nullptr) return true;
  return consent::ProxyReleases(acting_->policy->restrictions,
                                acting_->decision, record);
}

Status Call::Covers(fhir::Category category) const {
  if (acting_ == nullptr || consent::ProxyCovers(acting_->decision, category))
    return Status::Ok();
  return Status::PermissionDenied("your authorisation does not cover " +
                                  std::string(fhir::CategoryName(category)) +
                                  " records");
}

std::optional<std::string> Call::Query(std::string_view name) const {
  const std::string key(name);
  if (!req.has_param(key.c_str())) return std::nullopt;
  return req.get_param_value(key.c_str());
}

StatusOr<std::string_view> Call::JsonText() const {
  const size_t limit = match_.route->info.large_body ? options_.max_body_bytes
                                                     : options_.max_json_bytes;
  if (req.body.empty())
    return Status::InvalidArgument("a JSON body is required");
  TILLIT_RETURN_IF_ERROR(
      CheckJsonShape(req.body, limit, options_.max_json_depth));
  std::string_view text(req.body);
  // A byte order mark: JSON parsers skip it, and so does whatever reads
  // this text as it is (the stored record is written without it).
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  return text;
}

StatusOr<json> Call::Json() const {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, JsonText());
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("malformed JSON body");
  return j;
}

void Call::Reply(const json& body, int status) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

void Call::ReplyText(std::string body, const char* content_type, int status) {
  res.status = status;
  res.set_content(std::move(body), content_type);
}

}  // namespace tillit::api::internal
