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

Status MetricsText(Api& api, Call& call) {
  call.ReplyText(
      api.metrics().Render(api.stores().open_stores(), api.stores().evictions(),
                           api.audit().log().size()),
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
