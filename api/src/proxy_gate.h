// The proxy gate: which /v1/me routes a proxy or guardian may use as
// /v1/citizens/{citizen_id}/…, what each needs of their authorisation, and
// the decision that admits (or refuses) one request before its handler
// runs.
//
// A proxy acts with their own credentials (a citizen's token or paired
// device). The gate reads the represented citizen's policy (through the
// policy cache, so a revocation governs the next request) and asks the
// engine (consent::DecideProxy). Not represented (no active authorisation,
// no such citizen): 404, as for any other citizen's data. Represented but
// beyond the authorisation: 403 with the reason, and an audit entry
// "proxy.denied" in the citizen's log, so the citizen sees the attempt.
//
// Thread-safety: the functions may be called from any thread.
#ifndef TILLIT_API_SRC_PROXY_GATE_H_
#define TILLIT_API_SRC_PROXY_GATE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "call.h"
#include "route.h"
#include "tillit/base/status.h"
#include "tillit/consent/proxy.h"

namespace tillit::api::internal {

class Api;

// The path prefix of the routes a proxy uses: "/v1/citizens/{citizen_id}".
inline constexpr std::string_view kOnBehalfPrefix = "/v1/citizens/{citizen_id}";
// The request header in which a proxy states its purpose.
inline constexpr std::string_view kPurposeHeader = "Tillit-Purpose";

struct ProxyRoute {
  std::string_view method;
  std::string_view path;  // the /v1/me form
  consent::ProxyNeed need;
};
// Every /v1/me route a proxy may use (the others, such as erasure, paired
// devices and the proxies themselves, are the citizen's alone).
const std::vector<ProxyRoute>& ProxyRoutes();

// The /v1/citizens/{citizen_id}/… copies of the routes in `table` that
// ProxyRoutes() lists, with their handlers.
std::vector<Route> OnBehalfRoutes(const std::vector<Route>& table);

// What the route needs of an authorisation, when it is a route a proxy
// uses (its path starts with kOnBehalfPrefix); nullopt otherwise.
std::optional<consent::ProxyNeed> OnBehalfNeed(const Route& route);

// Admits the call (a citizen acting for call.Param("citizen_id")) or
// refuses it: NotFound when the caller does not represent the citizen;
// InvalidArgument for a malformed Tillit-Purpose; PermissionDenied beyond
// the authorisation (after LogDenied; when that cannot be written,
// call.audit_failed is set).
StatusOr<Acting> AdmitActing(Api& api, Call& call, consent::ProxyNeed need);

// The entry "proxy.denied" (decision deny) in the citizen's log: a
// represented citizen's request refused beyond the authorisation, by the
// gate or by the handler (a category not covered). Fails closed like any
// append (call.audit_failed).
Status LogDenied(Api& api, Call& call, const std::string& citizen_id,
                 const std::string& authorisation_id,
                 const std::string& purpose);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_PROXY_GATE_H_
