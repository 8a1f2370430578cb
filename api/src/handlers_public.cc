// Routes anyone may call: liveness, metrics, the API description and the
// audit log's public key.
#include "internal.h"

namespace tillit::api::internal {
namespace {

Status Healthz(Api& api, Call& call) {
  call.Reply({{"status", "ok"}, {"audit_entries", api.log->size()}});
  return Status::Ok();
}

Status MetricsText(Api& api, Call& call) {
  call.ReplyText(api.metrics.Render(api.cache.open_stores(),
                                    api.cache.evictions(), api.log->size()),
                 "text/plain; version=0.0.4");
  return Status::Ok();
}

Status OpenApi(Api&, Call& call) {
  call.ReplyText(std::string(OpenApiDocument()), "application/json");
  return Status::Ok();
}

Status PublicKey(Api& api, Call& call) {
  call.ReplyText(api.log->verifier_key() + "\n", "text/plain");
  return Status::Ok();
}

}  // namespace

std::vector<Route> PublicRoutes() {
  return {
      {{"GET", "/healthz", kAnyone, {}, false}, Healthz, false, {}},
      {{"GET", "/metrics", kAnyone, {}, false}, MetricsText, false, {}},
      {{"GET", "/openapi.json", kAnyone, {}, false}, OpenApi, false, {}},
      {{"GET", "/v1/audit/public-key", kAnyone, {}, false}, PublicKey, false, {}},
  };
}

}  // namespace tillit::api::internal
