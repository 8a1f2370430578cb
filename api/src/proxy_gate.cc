#include "proxy_gate.h"

#include <algorithm>
#include <utility>

#include "api.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {
namespace {

using consent::ProxyNeed;

constexpr std::string_view kMe = "/v1/me";

bool IsPurposeCode(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
                  c == '/' || c == '-';
         });
}

const ProxyRoute* Find(std::string_view method, std::string_view me_path) {
  for (const ProxyRoute& r : ProxyRoutes()) {
    if (r.method == method && r.path == me_path) return &r;
  }
  return nullptr;
}

}  // namespace

const std::vector<ProxyRoute>& ProxyRoutes() {
  static const std::vector<ProxyRoute> routes = {
      {"GET", "/v1/me", ProxyNeed::kRead},
      {"POST", "/v1/me/import", ProxyNeed::kManageWrite},
      {"GET", "/v1/me/records", ProxyNeed::kRead},
      {"POST", "/v1/me/records", ProxyNeed::kWrite},
      {"GET", "/v1/me/records/{type}/{id}", ProxyNeed::kRead},
      {"PUT", "/v1/me/records/{type}/{id}", ProxyNeed::kWrite},
      {"GET", "/v1/me/records/{type}/{id}/history", ProxyNeed::kRead},
      {"POST", "/v1/me/records/{type}/{id}/rectification-requests",
       ProxyNeed::kWrite},
      {"GET", "/v1/me/export", ProxyNeed::kRead},
      {"GET", "/v1/me/consents", ProxyNeed::kManage},
      {"POST", "/v1/me/consents", ProxyNeed::kManageWrite},
      {"POST", "/v1/me/consents/preview", ProxyNeed::kManage},
      {"DELETE", "/v1/me/consents/{id}", ProxyNeed::kManageWrite},
      {"GET", "/v1/me/restrictions", ProxyNeed::kManage},
      {"PUT", "/v1/me/restrictions", ProxyNeed::kManageWrite},
      {"GET", "/v1/me/research-opt-out", ProxyNeed::kManage},
      {"PUT", "/v1/me/research-opt-out", ProxyNeed::kManageWrite},
      {"GET", "/v1/me/primary-use-opt-out", ProxyNeed::kManage},
      {"PUT", "/v1/me/primary-use-opt-out", ProxyNeed::kManageWrite},
      {"GET", "/v1/me/privacy-budget", ProxyNeed::kManage},
      {"GET", "/v1/me/access-log", ProxyNeed::kManage},
  };
  return routes;
}

std::vector<Route> OnBehalfRoutes(const std::vector<Route>& table) {
  std::vector<Route> out;
  for (const Route& r : table) {
    if (Find(r.info.method, r.info.path) == nullptr) continue;
    Route copy = r;
    copy.info.path =
        std::string(kOnBehalfPrefix) + r.info.path.substr(kMe.size());
    copy.segments.clear();
    out.push_back(std::move(copy));
  }
  return out;
}

std::optional<consent::ProxyNeed> OnBehalfNeed(const Route& route) {
  const std::string& path = route.info.path;
  if (path.compare(0, kOnBehalfPrefix.size(), kOnBehalfPrefix) != 0)
    return std::nullopt;
  const std::string me = std::string(kMe) + path.substr(kOnBehalfPrefix.size());
  const ProxyRoute* r = Find(route.info.method, me);
  if (r == nullptr) return std::nullopt;
  return r->need;
}

StatusOr<Acting> AdmitActing(Api& api, Call& call, consent::ProxyNeed need) {
  const Status not_represented =
      Status::NotFound("you do not act for this citizen");
  Acting acting;
  acting.citizen_id = call.Param("citizen_id");
  const size_t stated =
      call.req.get_header_value_count(std::string(kPurposeHeader).c_str());
  if (stated > 0) {
    acting.purpose =
        call.req.get_header_value(std::string(kPurposeHeader).c_str());
  }
  if (call.who().role != kCitizen ||
      !vault::IsValidId(acting.citizen_id, "c_") ||
      acting.citizen_id == call.who().id) {
    return not_represented;
  }
  Status read = api.stores().With(
      acting.citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(acting.policy, api.policies().Get(store));
        return Status::Ok();
      });
  if (read.code() == StatusCode::kNotFound) return not_represented;
  TILLIT_RETURN_IF_ERROR(read);
  acting.decision = consent::DecideProxy(
      acting.policy->proxies,
      consent::ProxyRequest{call.who().id, need, acting.purpose}, api.Now(),
      api.options().guardian_hidden_categories);
  if (acting.decision.outcome ==
      consent::ProxyDecision::Outcome::kNotRepresented) {
    return not_represented;
  }
  // Checked once the caller is known to represent the citizen, so that
  // anyone else learns nothing but 404.
  if (stated > 1 || (stated == 1 && !IsPurposeCode(acting.purpose))) {
    return Status::InvalidArgument(
        "Tillit-Purpose: one code of 1 to 64 of A-Z a-z 0-9 _ . : / -");
  }
  if (acting.decision.outcome == consent::ProxyDecision::Outcome::kPermit) {
    return acting;
  }
  // Represented, but not for this: the citizen sees the attempt.
  TILLIT_RETURN_IF_ERROR(LogDenied(api, call, acting.citizen_id,
                                   acting.decision.authorisation_id,
                                   acting.purpose));
  return Status::PermissionDenied(acting.decision.why);
}

Status LogDenied(Api& api, Call& call, const std::string& citizen_id,
                 const std::string& authorisation_id,
                 const std::string& purpose) {
  audit::AuditEntry e;
  e.action = "proxy.denied";
  e.citizen_id = citizen_id;
  if (!authorisation_id.empty()) e.grant_ids = {authorisation_id};
  e.purpose = purpose;
  e.decision = "deny";
  return api.audit().Append(call, e).status();
}

}  // namespace tillit::api::internal
