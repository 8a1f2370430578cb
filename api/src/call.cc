// Call (one request) and Api (shared state).
#include <unistd.h>

#include "internal.h"

namespace tillit::api::internal {

std::string Call::Param(std::string_view name) const {
  for (const auto& [k, v] : match_.params) {
    if (k == name) return v;
  }
  return {};
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
  return std::string_view(req.body);
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

std::string_view ActorKind(Role role) {
  switch (role) {
    case kAdmin:
      return "operator";
    case kCitizen:
      return "citizen";
    case kProvider:
      return "provider";
    case kResearcher:
      return "researcher";
    case kAuditor:
      return "auditor";
    case kAnyone:
      return "system";
  }
  return "system";
}

Api::Api(vault::Vault* v, const ServerOptions& o,
         std::unique_ptr<audit::AuditLog> audit_log)
    : vault(*v),
      options(o),
      cache(v, o.store_cache_size),
      log(std::move(audit_log)),
      consent(v, o.clock, o.rng, &cache),
      policies(o.store_cache_size),
      metrics(RouteTable().size()),
      principal_limiter(o.rate_per_second, o.rate_burst),
      address_limiter(o.enroll_per_minute / 60.0, o.enroll_burst),
      devices(v, o.rng),
      nonces(o.max_signature_nonces) {}

StatusOr<uint64_t> Api::Audit(Call& call, audit::AuditEntry entry) {
  entry.time = Now();
  if (entry.actor_kind.empty()) {
    entry.actor_kind = std::string(ActorKind(call.who().role));
    entry.actor_id = call.who().id.empty() ? "system" : call.who().id;
  }
  entry.request_id = call.request_id();
  if (entry.decision.empty()) entry.decision = "none";
  TILLIT_ASSIGN_OR_RETURN(
      std::vector<uint64_t> indexes,
      AuditBatch(call, std::span<const audit::AuditEntry>(&entry, 1)));
  return indexes.front();
}

StatusOr<std::vector<uint64_t>> Api::AuditBatch(
    Call& call, std::span<const audit::AuditEntry> entries) {
  StatusOr<std::vector<uint64_t>> indexes = log->AppendBatch(entries);
  if (!indexes.ok()) {
    metrics.AuditFailed();
    call.audit_failed = true;
    LogLine("request_id=" + call.request_id() +
            " audit append failed: " + indexes.status().ToString());
    return Status::FailedPrecondition("audit log unavailable: access refused");
  }
  for (size_t i = 0; i < entries.size(); ++i) metrics.AuditAppended();
  return indexes;
}

void Api::LogLine(const std::string& line) {
  if (options.log == nullptr) return;
  // One write per line keeps concurrent lines whole.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  *options.log << line << '\n';
  options.log->flush();
}

}  // namespace tillit::api::internal
