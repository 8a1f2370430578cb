// Being told of accesses (EHDS Art 9, SPEC §13): the citizen's choice of
// notifications and the browsers they subscribed for Web Push. Delivery is
// notify::Notifier's, fed by the audit trail; here are the bodies, the
// replies and the audit entries, each durable before anything is stored.
// Only the citizen chooses: a proxy has no /v1/citizens/… path here.
//
// From the Api: notifier(), audit().
#include <string>

#include "api.h"
#include "call.h"
#include "handlers_citizen.h"
#include "route.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/web_push.h"
#include "tillit/notify/settings.h"

namespace tillit::api::internal {
namespace {

json SubscriptionJson(const notify::PushSubscription& s) {
  std::optional<notify::Origin> origin = notify::ParseUrl(s.endpoint);
  json j = {{"id", s.id},
            {"push_service", origin ? origin->ToString() : std::string()},
            {"created", s.created}};
  if (!s.device.empty()) j["device"] = s.device;
  return j;
}

// The settings as GET and PUT answer them.
StatusOr<json> SettingsJson(Api& api, const std::string& citizen,
                            const notify::Settings& settings) {
  TILLIT_ASSIGN_OR_RETURN(auto subs, api.notifier().Subscriptions(citizen));
  json list = json::array();
  for (const notify::PushSubscription& s : subs) {
    list.push_back(SubscriptionJson(s));
  }
  return json{
      {"mode", notify::ModeName(settings.mode)},
      {"modes",
       {"off", "every-access", "break-glass-and-proxy", "daily-digest"}},
      {"push_subscriptions", std::move(list)},
      {"vapid_public_key",
       crypto::Base64UrlEncode(api.notifier().vapid_public_key())},
      {"webhook", api.notifier().has_webhook()}};
}

// GET /v1/me/notifications
Status Get(Api& api, Call& call) {
  const std::string& citizen = call.who().id;
  TILLIT_ASSIGN_OR_RETURN(notify::Settings s, api.notifier().Get(citizen));
  TILLIT_ASSIGN_OR_RETURN(json body, SettingsJson(api, citizen, s));
  TILLIT_RETURN_IF_ERROR(
      api.audit()
          .Append(call, citizen::Entry("notifications.read", call))
          .status());
  call.Reply(body);
  return Status::Ok();
}

// PUT /v1/me/notifications {"mode": "…"}
Status Put(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object()) {
    return Status::InvalidArgument("body: a JSON object with \"mode\"");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "mode") return Status::InvalidArgument(key + ": unknown field");
  }
  auto mode_field = j.find("mode");
  std::optional<notify::Mode> mode;
  if (mode_field != j.end() && mode_field->is_string()) {
    mode = notify::ParseMode(mode_field->get<std::string>());
  }
  if (!mode) {
    return Status::InvalidArgument(
        "mode: off, every-access, break-glass-and-proxy or daily-digest");
  }
  const std::string& citizen = call.who().id;
  TILLIT_RETURN_IF_ERROR(
      api.audit()
          .Append(call, citizen::Entry("notifications.update", call))
          .status());
  TILLIT_ASSIGN_OR_RETURN(
      notify::Settings s,
      api.notifier().SetMode(citizen, *mode, api.audit().log().size()));
  TILLIT_ASSIGN_OR_RETURN(json body, SettingsJson(api, citizen, s));
  call.Reply(body);
  return Status::Ok();
}

// POST /v1/me/push-subscriptions: a browser's PushSubscription.toJSON().
Status Subscribe(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(notify::PushSubscription s,
                          notify::ParsePushSubscription(
                              text, api.options().notifications.push_hosts));
  // Revoking the device that subscribed removes it (RevokeDevice).
  s.device = call.who().device_id;
  const std::string& citizen = call.who().id;
  TILLIT_RETURN_IF_ERROR(
      api.audit()
          .Append(call, citizen::Entry("push-subscription.add", call))
          .status());
  TILLIT_ASSIGN_OR_RETURN(s, api.notifier().Subscribe(citizen, std::move(s)));
  call.res.set_header("Location", "/v1/me/push-subscriptions/" + s.id);
  call.Reply(SubscriptionJson(s), 201);
  return Status::Ok();
}

// DELETE /v1/me/push-subscriptions/{id}
Status Unsubscribe(Api& api, Call& call) {
  const std::string& citizen = call.who().id;
  const std::string id = call.Param("id");
  TILLIT_ASSIGN_OR_RETURN(auto subs, api.notifier().Subscriptions(citizen));
  bool found = false;
  for (const notify::PushSubscription& s : subs) found |= s.id == id;
  if (!found) return Status::NotFound("no such push subscription");
  TILLIT_RETURN_IF_ERROR(
      api.audit()
          .Append(call, citizen::Entry("push-subscription.remove", call))
          .status());
  TILLIT_RETURN_IF_ERROR(api.notifier().Unsubscribe(citizen, id));
  call.Reply({{"id", id}, {"removed", true}});
  return Status::Ok();
}

}  // namespace

std::vector<Route> NotificationRoutes() {
  return {
      {{"GET", "/v1/me/notifications", kCitizen, {}, false}, Get, false, {}},
      {{"PUT", "/v1/me/notifications", kCitizen, {}, false}, Put, false, {}},
      {{"POST", "/v1/me/push-subscriptions", kCitizen, {}, false},
       Subscribe,
       false,
       {}},
      {{"DELETE", "/v1/me/push-subscriptions/{id}", kCitizen, {}, false},
       Unsubscribe,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
