// Routes anyone may call: liveness, metrics, the API description and the
// audit log's public key.
//
// From the Api: audit() (its log's size and key), metrics(), stores() (how
// many are open). /healthz and /metrics also name the build
// (tillit/base/build_info.h).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "api.h"
#include "call.h"
#include "route.h"
#include "tillit/base/build_info.h"

namespace tillit::api::internal {
namespace {

Status Healthz(Api& api, Call& call) {
  call.Reply({{"status", "ok"},
              {"version", std::string(BuildVersion())},
              {"commit", std::string(BuildCommit())},
              {"audit_entries", api.audit().log().size()}});
  return Status::Ok();
}

// One counter family in the Prometheus text format: HELP, TYPE, and a
// line per `result` label (or one unlabelled line for an empty label).
std::string Counter(
    std::string_view name, std::string_view help,
    std::initializer_list<std::pair<std::string_view, uint64_t>> series) {
  std::string out = "# HELP " + std::string(name) + " " + std::string(help) +
                    "\n# TYPE " + std::string(name) + " counter\n";
  for (const auto& [result, value] : series) {
    out += name;
    if (!result.empty()) out += "{result=\"" + std::string(result) + "\"}";
    out += " " + std::to_string(value) + "\n";
  }
  return out;
}

// The notifier's counters (docs/NOTIFICATIONS.md): no citizen in them.
std::string NotificationMetrics(const notify::NotifierStats& s) {
  return Counter("tillit_notification_events_total",
                 "Accesses offered to the notifier for citizens who asked to "
                 "be told: queued, or dropped because the queue was full.",
                 {{"queued", s.queued}, {"dropped", s.dropped}}) +
         Counter("tillit_notification_messages_total",
                 "Messages to push services and the webhook, by outcome: "
                 "delivered, failed (given up), gone (the push service "
                 "forgot the subscription).",
                 {{"delivered", s.delivered},
                  {"failed", s.failed},
                  {"gone", s.gone}}) +
         Counter("tillit_notification_retries_total",
                 "Delivery attempts after a failed one.", {{"", s.retried}});
}

Status MetricsText(Api& api, Call& call) {
  call.ReplyText(
      api.metrics().Render(api.stores().open_stores(), api.stores().evictions(),
                           api.audit().log().size()) +
          NotificationMetrics(api.notifier().stats()),
      "text/plain; version=0.0.4");
  return Status::Ok();
}

Status OpenApi(Api&, Call& call) {
  call.ReplyText(std::string(OpenApiDocument()), "application/json");
  return Status::Ok();
}

Status PublicKey(Api& api, Call& call) {
  call.ReplyText(api.audit().log().verifier_key() + "\n", "text/plain");
  return Status::Ok();
}

}  // namespace

std::vector<Route> PublicRoutes() {
  return {
      {{"GET", "/healthz", kAnyone, {}, false}, Healthz, false, {}},
      {{"GET", "/metrics", kAnyone, {}, false}, MetricsText, false, {}},
      {{"GET", "/openapi.json", kAnyone, {}, false}, OpenApi, false, {}},
      {{"GET", "/v1/audit/public-key", kAnyone, {}, false},
       PublicKey,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
