// Route, the route table and path matching. Every handler file contributes
// its part of the table (XRoutes()); RouteTable() puts them in one order,
// and MatchRoute finds the route of a request.
//
// Thread-safety: the table is built on first use and immutable after;
// MatchRoute may be called from any thread.
#ifndef TILLIT_API_SRC_ROUTE_H_
#define TILLIT_API_SRC_ROUTE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/api/routes.h"
#include "tillit/base/status.h"

namespace tillit::api::internal {

class Api;
class Call;
// A route's work. Errors become error responses (see ToHttpError).
using Handler = Status (*)(Api&, Call&);

struct Route {
  RouteInfo info;
  Handler handler = nullptr;
  // Enrollment: failed attempts (4xx answers) per client address, 429
  // beyond the burst; a success does not count.
  bool limit_by_address = false;
  std::vector<std::string> segments;  // of info.path; "{x}" is a parameter
  // A route of the FHIR interface (/fhir): its handler reads the query
  // itself (unknown parameters are refused or ignored per the Prefer
  // field), and its errors are OperationOutcome resources.
  bool fhir = false;
};

// The whole table (every handler file contributes its routes).
const std::vector<Route>& RouteTable();
std::vector<Route> PublicRoutes();
std::vector<Route> AdminRoutes();
std::vector<Route> CitizenRoutes();
std::vector<Route> ProviderRoutes();
std::vector<Route> ResearchRoutes();
std::vector<Route> AuditRoutes();
std::vector<Route> RectificationRoutes();
std::vector<Route> ProxyAuthorisationRoutes();
std::vector<Route> NotificationRoutes();
std::vector<Route> FhirRoutes();
std::vector<Route> SmartRoutes();
std::vector<Route> BulkRoutes();

// Metrics and the access log count a request under its route's index in
// RouteTable(), or under one of these two past its end.
inline size_t UnmatchedRouteIndex() { return RouteTable().size(); }
inline size_t AppRouteIndex() { return RouteTable().size() + 1; }  // /app/

struct RouteMatch {
  const Route* route = nullptr;
  size_t index = 0;  // in RouteTable()
  std::vector<std::pair<std::string, std::string>> params;
  // No route for this method, but the path exists: 405 with Allow.
  std::string allow;
};
// nullopt: no route has this path.
std::optional<RouteMatch> MatchRoute(std::string_view method,
                                     std::string_view path);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_ROUTE_H_
