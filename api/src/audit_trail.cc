#include "audit_trail.h"

#include <string>
#include <string_view>
#include <utility>

#include "call.h"
#include "metrics.h"
#include "server_log.h"
#include "smart.h"

namespace tillit::api::internal {
namespace {

// The actor kind an entry names for a principal of `role`.
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
    case kApp:
      return "app";
    case kAnyone:
      return "system";
  }
  return "system";
}

}  // namespace

AuditTrail::AuditTrail(std::unique_ptr<audit::AuditLog> log, Clock* clock,
                       Metrics* metrics, ServerLog* server_log)
    : log_(std::move(log)),
      clock_(*clock),
      metrics_(*metrics),
      server_log_(*server_log) {}

StatusOr<uint64_t> AuditTrail::Append(Call& call, audit::AuditEntry entry) {
  entry.time = clock_.NowSeconds();
  if (entry.actor_kind.empty()) {
    entry.actor_kind = std::string(ActorKind(call.who().role));
    entry.actor_id = call.who().id.empty() ? "system" : call.who().id;
  }
  // An app's entry names the app and the authorisation it used.
  if (const AppAuthorization* app = call.who().app.get();
      app != nullptr && entry.actor_kind == "app") {
    entry.actor_id = app->client_id;
    entry.grant_ids.push_back(app->id);
  }
  entry.request_id = call.request_id();
  if (entry.via.empty()) entry.via = call.who().device_id;
  if (entry.decision.empty()) entry.decision = "none";
  // A proxy's entry about the citizen it acts for names the authorisation
  // and the purpose it stated (the access log shows "on behalf of").
  if (const Acting* acting = call.acting();
      acting != nullptr && entry.citizen_id == acting->citizen_id) {
    entry.grant_ids.push_back(acting->decision.authorisation_id);
    // An entry with a purpose of its own (a grant's DUO purpose) keeps it.
    if (entry.purpose.empty()) entry.purpose = acting->purpose;
  }
  TILLIT_ASSIGN_OR_RETURN(
      std::vector<uint64_t> indexes,
      AppendBatch(call, std::span<const audit::AuditEntry>(&entry, 1)));
  return indexes.front();
}

StatusOr<std::vector<uint64_t>> AuditTrail::AppendBatch(
    Call& call, std::span<const audit::AuditEntry> entries) {
  StatusOr<std::vector<uint64_t>> indexes =
      AppendBatch(call.request_id(), entries);
  if (!indexes.ok()) call.audit_failed = true;
  return indexes;
}

StatusOr<std::vector<uint64_t>> AuditTrail::AppendBatch(
    std::string_view request_id, std::span<const audit::AuditEntry> entries) {
  StatusOr<std::vector<uint64_t>> indexes = log_->AppendBatch(entries);
  if (!indexes.ok()) {
    metrics_.AuditFailed();
    server_log_.LogError(request_id,
                         "audit append failed: " + indexes.status().ToString());
    return Status::FailedPrecondition("audit log unavailable: access refused");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    metrics_.AuditAppended();
    // In memory only: a notification never holds up the access.
    if (notifier_ != nullptr) notifier_->Offer(entries[i], (*indexes)[i]);
  }
  return indexes;
}

}  // namespace tillit::api::internal
