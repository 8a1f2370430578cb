// The route table and path matching.
#include <cctype>

#include "proxy_gate.h"
#include "route.h"

namespace tillit::api {

std::string_view RoleName(Role r) {
  switch (r) {
    case kAnyone:
      return "anyone";
    case kAdmin:
      return "admin";
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
  }
  return "unknown";
}

namespace internal {
namespace {

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.emplace_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsParam(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::vector<Route> BuildTable() {
  std::vector<Route> table;
  for (auto part : {PublicRoutes, AdminRoutes, CitizenRoutes, ProviderRoutes,
                    ResearchRoutes, AuditRoutes, RectificationRoutes,
                    ProxyAuthorisationRoutes, NotificationRoutes,
                    // Before FhirRoutes: /fhir/{type} would match theirs.
                    SmartRoutes, BulkRoutes, FhirRoutes}) {
    for (Route& r : part()) {
      r.segments = Split(r.info.path);
      table.push_back(std::move(r));
    }
  }
  // The routes a proxy or guardian uses to act for a citizen.
  for (Route& r : OnBehalfRoutes(table)) {
    r.segments = Split(r.info.path);
    table.push_back(std::move(r));
  }
  return table;
}

// Decodes %XX; nullopt for a malformed escape or a decoded '/' or NUL
// (path parameters are ids and FHIR types, never paths).
std::optional<std::string> DecodeSegment(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size() || !isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return std::nullopt;
    }
    const char c = static_cast<char>(
        std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
    if (c == '/' || c == '\0') return std::nullopt;
    out += c;
    i += 2;
  }
  return out;
}

}  // namespace

const std::vector<Route>& RouteTable() {
  static const std::vector<Route> table = BuildTable();
  return table;
}

std::optional<RouteMatch> MatchRoute(std::string_view method,
                                     std::string_view path) {
  const std::vector<std::string> parts = Split(path);
  const std::vector<Route>& table = RouteTable();
  std::optional<RouteMatch> found;
  std::string allow;
  for (size_t i = 0; i < table.size(); ++i) {
    const Route& r = table[i];
    if (r.segments.size() != parts.size()) continue;
    RouteMatch m;
    bool ok = true;
    for (size_t k = 0; k < parts.size() && ok; ++k) {
      if (IsParam(r.segments[k])) {
        auto value = DecodeSegment(parts[k]);
        if (!value || value->empty()) {
          ok = false;
        } else {
          m.params.emplace_back(
              r.segments[k].substr(1, r.segments[k].size() - 2),
              std::move(*value));
        }
      } else {
        ok = r.segments[k] == parts[k];
      }
    }
    if (!ok) continue;
    // A literal route wins over a parameterised one of the same length
    // (e.g. /v1/me/consents/preview over /v1/me/consents/{id}): literal
    // routes come first in the table for this reason.
    if (r.info.method == method) {
      m.route = &r;
      m.index = i;
      return m;
    }
    if (allow.find(r.info.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += r.info.method;
    }
  }
  if (allow.empty()) return std::nullopt;
  RouteMatch m;
  m.allow = allow;
  return m;
}

}  // namespace internal

std::vector<RouteInfo> ListRoutes() {
  std::vector<RouteInfo> out;
  for (const internal::Route& r : internal::RouteTable()) out.push_back(r.info);
  return out;
}

}  // namespace tillit::api
