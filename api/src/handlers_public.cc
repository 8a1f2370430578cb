// Routes anyone may call: liveness, metrics, the API description and the
// audit log's public key.
//
// From the Api: audit() (its log's size and key), metrics(), stores() (how
// many are open). /healthz and /metrics also name the build
// (tillit/base/build_info.h).
#include <string>

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

// The notifier's counters (docs/NOTIFICATIONS.md): no citizen in them.
std::string NotificationMetrics(const notify::NotifierStats& s) {
  std::string out =
      "# HELP tillit_notification_events_total Accesses offered to the "
      "notifier for citizens who asked to be told: queued, or dropped "
      "because the queue was full.\n"
      "# TYPE tillit_notification_events_total counter\n";
  out += "tillit_notification_events_total{result=\"queued\"} " +
         std::to_string(s.queued) + "\n";
  out += "tillit_notification_events_total{result=\"dropped\"} " +
         std::to_string(s.dropped) + "\n";
  out +=
      "# HELP tillit_notification_messages_total Messages to push services "
      "and the webhook, by outcome: delivered, failed (given up), gone (the "
      "push service forgot the subscription).\n"
      "# TYPE tillit_notification_messages_total counter\n";
  out += "tillit_notification_messages_total{result=\"delivered\"} " +
         std::to_string(s.delivered) + "\n";
  out += "tillit_notification_messages_total{result=\"failed\"} " +
         std::to_string(s.failed) + "\n";
  out += "tillit_notification_messages_total{result=\"gone\"} " +
         std::to_string(s.gone) + "\n";
  out +=
      "# HELP tillit_notification_retries_total Delivery attempts after a "
      "failed one.\n"
      "# TYPE tillit_notification_retries_total counter\n"
      "tillit_notification_retries_total " +
      std::to_string(s.retried) + "\n";
  return out;
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
