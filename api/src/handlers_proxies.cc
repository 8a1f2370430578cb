// Proxies and guardians (EHDS Art 4(2)-(3), SPEC §13): a citizen
// authorises, changes and revokes the people who act for them and sees
// whom they act for; the operator records and ends guardianships. The work
// is consent::Proxies'; here are the bodies, the roles and the audit
// entries, each written under the represented citizen's lock before
// anything is stored. Acting itself goes through /v1/citizens/{citizen_id}/…
// (proxy_gate.h).
//
// From the Api: proxies(), audit(), Now().
#include <string>

#include "api.h"
#include "call.h"
#include "handlers_citizen.h"
#include "route.h"
#include "tillit/consent/proxy.h"

namespace tillit::api::internal {
namespace {

using consent::ProxyAuthorisation;

json ApiJson(Api& api, const ProxyAuthorisation& a,
             const std::string& citizen_id) {
  return json::parse(consent::ProxyToApiJson(a, citizen_id, api.Now()));
}

// The admit function: the entry `action` about `citizen_id`, naming the
// authorisation.
consent::Proxies::AdmitFn Admit(Api& api, Call& call, std::string action,
                                std::string citizen_id) {
  return [&api, &call, action = std::move(action),
          citizen_id = std::move(citizen_id)](const ProxyAuthorisation& a) {
    audit::AuditEntry e;
    e.action = action;
    e.citizen_id = citizen_id;
    e.grant_ids = {a.id};
    return api.audit().Append(call, e).status();
  };
}

// GET /v1/me/proxies: every authorisation, newest first.
Status List(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(auto all, api.proxies().List(call.who().id));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, citizen::Entry("proxy.list", call)).status());
  json out = json::array();
  for (const ProxyAuthorisation& a : all) {
    out.push_back(ApiJson(api, a, call.who().id));
  }
  call.Reply({{"proxies", std::move(out)}});
  return Status::Ok();
}

// POST /v1/me/proxies
Status Authorise(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(ProxyAuthorisation scope,
                          consent::ParseProxy(text, api.Now()));
  TILLIT_ASSIGN_OR_RETURN(
      ProxyAuthorisation a,
      api.proxies().Authorise(
          call.who().id, std::move(scope),
          Admit(api, call, "proxy.authorise", call.who().id)));
  call.res.set_header("Location", "/v1/me/proxies/" + a.id);
  call.Reply(ApiJson(api, a, call.who().id), 201);
  return Status::Ok();
}

// PUT /v1/me/proxies/{id}: a new scope for a live authorisation.
Status Change(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(
      ProxyAuthorisation scope,
      consent::ParseProxy(text, api.Now(), /*for_change=*/true));
  TILLIT_ASSIGN_OR_RETURN(
      ProxyAuthorisation a,
      api.proxies().Change(call.who().id, call.Param("id"), scope,
                           Admit(api, call, "proxy.change", call.who().id)));
  call.Reply(ApiJson(api, a, call.who().id));
  return Status::Ok();
}

// DELETE /v1/me/proxies/{id}
Status Revoke(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(
      ProxyAuthorisation a,
      api.proxies().Revoke(call.who().id, call.Param("id"),
                           Admit(api, call, "proxy.revoke", call.who().id)));
  call.Reply(ApiJson(api, a, call.who().id));
  return Status::Ok();
}

// GET /v1/me/represented: the citizens I may act for now.
Status Represented(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(auto list,
                          api.proxies().RepresentedBy(call.who().id));
  TILLIT_RETURN_IF_ERROR(
      api.audit()
          .Append(call, citizen::Entry("proxy.represented", call))
          .status());
  json out = json::array();
  for (const auto& r : list) {
    json j = ApiJson(api, r.authorisation, r.citizen_id);
    j.erase("citizen");
    j.erase("proxy");
    j["citizen_id"] = r.citizen_id;
    out.push_back(std::move(j));
  }
  call.Reply({{"represented", std::move(out)}});
  return Status::Ok();
}

// POST /v1/admin/guardianships: the operator records a legal
// representative, on the word of the national registry.
Status RecordGuardianship(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(consent::Guardianship g,
                          consent::ParseGuardianship(text, api.Now()));
  TILLIT_ASSIGN_OR_RETURN(
      ProxyAuthorisation a,
      api.proxies().RecordGuardianship(
          g, Admit(api, call, "guardianship.record", g.citizen_id)));
  call.Reply(ApiJson(api, a, g.citizen_id), 201);
  return Status::Ok();
}

// DELETE /v1/admin/guardianships/{id}: ended early (a court's decision).
Status EndGuardianship(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(
      consent::Proxies::Represented ended,
      api.proxies().EndGuardianship(
          call.Param("id"),
          [&](const std::string& citizen_id, const ProxyAuthorisation& a) {
            return Admit(api, call, "guardianship.end", citizen_id)(a);
          }));
  call.Reply(ApiJson(api, ended.authorisation, ended.citizen_id));
  return Status::Ok();
}

}  // namespace

std::vector<Route> ProxyAuthorisationRoutes() {
  return {
      {{"GET", "/v1/me/proxies", kCitizen, {}, false}, List, false, {}},
      {{"POST", "/v1/me/proxies", kCitizen, {}, false}, Authorise, false, {}},
      {{"PUT", "/v1/me/proxies/{id}", kCitizen, {}, false}, Change, false, {}},
      {{"DELETE", "/v1/me/proxies/{id}", kCitizen, {}, false},
       Revoke,
       false,
       {}},
      {{"GET", "/v1/me/represented", kCitizen, {}, false},
       Represented,
       false,
       {}},
      {{"POST", "/v1/admin/guardianships", kAdmin, {}, false},
       RecordGuardianship,
       false,
       {}},
      {{"DELETE", "/v1/admin/guardianships/{id}", kAdmin, {}, false},
       EndGuardianship,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
