// The route table of the HTTP API, as data: what the server dispatches on
// and what /openapi.json must describe (a test keeps the two equal).
//
// Thread-safety: immutable after first use.
#ifndef TILLIT_API_ROUTES_H_
#define TILLIT_API_ROUTES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tillit::api {

// Who may call a route (a bit set).
enum Role : uint32_t {
  kAnyone = 1u << 0,  // no token needed
  kAdmin = 1u << 1,   // the operator's token
  kCitizen = 1u << 2,
  kProvider = 1u << 3,
  kResearcher = 1u << 4,
  kAuditor = 1u << 5,
  // A SMART app's access token: the citizen's records on /fhir only, as
  // far as its scopes and the citizen's choices reach.
  kApp = 1u << 6,
};
std::string_view RoleName(Role r);  // "admin", "citizen", ...

struct RouteInfo {
  std::string method;              // GET, POST, PUT, DELETE
  std::string path;                // OpenAPI form: /v1/studies/{id}
  uint32_t roles = 0;              // Role bits
  std::vector<std::string> query;  // accepted query parameters
  bool large_body = false;         // up to max_body_bytes (else JSON limit)
};

// Every route the server answers, in table order.
std::vector<RouteInfo> ListRoutes();

// The OpenAPI 3.1 description served at /openapi.json.
std::string_view OpenApiDocument();

}  // namespace tillit::api

#endif  // TILLIT_API_ROUTES_H_
