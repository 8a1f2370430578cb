// Call: one request being served, as a handler sees it: who is calling,
// the path and query parameters, the body within its limits, and the
// reply. Principal: who is calling.
//
// Thread-safety: a Call belongs to the worker thread serving its request.
#ifndef TILLIT_API_SRC_CALL_H_
#define TILLIT_API_SRC_CALL_H_

#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "route.h"
#include "tillit/api/routes.h"
#include "tillit/api/server.h"
#include "tillit/base/status.h"
#include "tillit/consent/policy.h"
#include "tillit/consent/proxy.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::api::internal {

using nlohmann::json;

// ε (micro-ε) as a JSON number with its exact decimal digits ("0.5", "3").
inline json EpsilonJson(int64_t micro) {
  return json::parse(research::FormatEpsilon(micro));
}

struct AppAuthorization;  // smart.h

struct Principal {
  Role role = kAnyone;
  std::string id;  // c_…, p_…, r_…, a_… or "operator"; empty for anyone
  // The paired device whose signature authenticated the request (the
  // principal is then its citizen); empty for a bearer token.
  std::string device_id;
  // A SMART app's token: the citizen's authorisation of the app (the
  // principal is then its citizen); null otherwise.
  std::shared_ptr<const AppAuthorization> app;
};

// A proxy or guardian acting for a citizen through
// /v1/citizens/{citizen_id}/… (proxy_gate.h admitted them).
struct Acting {
  std::string citizen_id;  // the represented citizen
  consent::ProxyDecision decision;
  // The citizen's policy as the decision saw it (its restrictions decide
  // which records the proxy sees).
  std::shared_ptr<const consent::CitizenPolicy> policy;
  std::string purpose;  // what the proxy stated (Tillit-Purpose), or empty
};

// Holds references to the request, the response and the server's state of
// the request: all must outlive the Call.
class Call {
 public:
  Call(const httplib::Request& req, httplib::Response& res,
       const RouteMatch& match, const Principal& who,
       const std::string& request_id, const ServerOptions& options,
       const Acting* acting = nullptr)
      : req(req),
        res(res),
        match_(match),
        who_(who),
        request_id_(request_id),
        options_(options),
        acting_(acting) {}

  const httplib::Request& req;
  httplib::Response& res;

  const Principal& who() const { return who_; }
  // The citizen whose vault the call is about: the principal on /v1/me/…,
  // the represented citizen when a proxy acts (acting()).
  const std::string& citizen() const {
    return acting_ != nullptr ? acting_->citizen_id : who_.id;
  }
  // Set when a proxy or guardian acts for citizen(); nullptr otherwise.
  const Acting* acting() const { return acting_; }
  // Whether a record may be shown to the caller: always to the citizen;
  // to a proxy, per consent::ProxyReleases.
  bool Shows(const consent::RecordFacts& record) const;
  // Whether the caller may read or write records of `category`:
  // PermissionDenied naming it for a proxy whose authorisation does not
  // cover it.
  Status Covers(fhir::Category category) const;
  const std::string& request_id() const { return request_id_; }
  // A path parameter ("{id}" in the route), already URL-decoded.
  std::string Param(std::string_view name) const;
  // A query parameter, if present.
  std::optional<std::string> Query(std::string_view name) const;
  // The body as JSON within the size and depth limits; InvalidArgument
  // naming the problem otherwise.
  StatusOr<json> Json() const;
  // The body's bytes within the JSON depth limit (the route's size limit
  // was enforced while reading).
  StatusOr<std::string_view> JsonText() const;

  void Reply(const json& body, int status = 200);
  void ReplyText(std::string body, const char* content_type, int status = 200);

  // Set by AuditTrail when an entry could not be written: the reply is
  // then 503 audit_unavailable, whatever the handler returns.
  bool audit_failed = false;

 private:
  const RouteMatch& match_;
  const Principal& who_;
  const std::string& request_id_;
  const ServerOptions& options_;
  const Acting* acting_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_CALL_H_
