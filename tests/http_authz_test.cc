// The authorisation matrix: every route of the router, called by every
// kind of principal, and not one unauthorised success.
//
// Principals: the owner citizen, another citizen, a citizen the owner
// authorised to read their vital signs (a proxy), a provider without a
// grant, a researcher who does not own the study, an auditor, the
// operator, a SMART app the owner let read their vital-sign Observations,
// an expired token, a revoked token, and no token. Objects in
// paths (citizen, record, grant, study) belong to the owner citizen or to
// another researcher. For each route the test knows who may succeed; any
// 2xx outside that set fails the test, as does a 403 where data of another
// citizen was asked for (it must be 404; a proxy beyond its authorisation
// gets 403 for the owner it represents).
#include <unistd.h>

#include <map>
#include <set>

#include "http_fixture.h"
#include "tillit/api/principals.h"
#include "tillit/api/routes.h"
#include "tillit/crypto/web_push.h"

namespace tillit::testing {
namespace {

enum Who {
  kOwner,
  kOtherCitizen,
  kProxy,
  kProviderNoGrant,
  kResearcher,
  kAuditor,
  kAdmin,
  kApp,
  kExpired,
  kRevoked,
  kNoToken,
  kWhoCount
};
const char* kWhoNames[] = {
    "owner",      "other-citizen", "proxy",   "provider-no-grant",
    "researcher", "auditor",       "admin",   "app",
    "expired",    "revoked",       "no-token"};

using AuthzTest = HttpTest;

TEST_F(AuthzTest, NoUnauthorisedSuccessOnAnyRoute) {
  // --- the world
  Principal owner = NewCitizen();
  Principal other = NewCitizen();
  Principal proxy = NewCitizen();
  Principal provider = NewProvider();
  Principal researcher = NewResearcher();
  Principal study_owner = NewResearcher();
  Principal auditor = NewAuditor();
  // The region's records (the operator's import).
  ASSERT_TRUE(
      vault_->Import(SyntheticBundle(1), vault::ImportFormat::kJson, owner.id)
          .ok());
  ASSERT_TRUE(
      vault_->Import(SyntheticBundle(2), vault::ImportFormat::kJson, other.id)
          .ok());
  Reply page = Get("/v1/me/records?limit=1&category=vital-signs", owner.token);
  ASSERT_EQ(page.status, 200) << page.body;
  const json record = page.Json()["records"][0];
  const std::string record_ref = record["resourceType"].get<std::string>() +
                                 "/" + record["id"].get<std::string>();
  const std::string grant_body = R"({"grantee": {"kind": "any-researcher"},
      "purposes": ["DUO:0000006"], "categories": ["vital-signs"]})";
  Reply grant = Post("/v1/me/consents", grant_body, owner.token);
  ASSERT_EQ(grant.status, 201) << grant.body;
  const std::string grant_id = grant.Json()["id"];
  Reply authorised = Post("/v1/me/proxies",
                          json{{"proxy", proxy.id},
                               {"access", "read"},
                               {"categories", {"vital-signs"}}}
                              .dump(),
                          owner.token);
  ASSERT_EQ(authorised.status, 201) << authorised.body;
  const std::string proxy_id = authorised.Json()["id"];
  const std::string study_body = R"({"title": "BP", "purpose": "DUO:0000006",
      "categories": ["vital-signs"]})";
  Reply study = Post("/v1/studies", study_body, study_owner.token);
  ASSERT_EQ(study.status, 201) << study.body;
  const std::string study_id = study.Json()["id"];
  Reply release =
      Post("/v1/studies/" + study_id + "/releases", "", study_owner.token);
  ASSERT_EQ(release.status, 201) << release.body;
  const std::string release_id = release.Json()["id"];
  // A browser subscribed for the owner's notifications.
  const json push_subscription = {
      {"endpoint", "https://fcm.googleapis.com/fcm/send/authz"},
      {"keys",
       {{"p256dh",
         crypto::Base64UrlEncode(crypto::P256Key::Generate()->public_key())},
        {"auth", "BTBZMqHH6r4Tts7J_aSIgg"}}}};
  Reply subscribed =
      Post("/v1/me/push-subscriptions", push_subscription.dump(), owner.token);
  ASSERT_EQ(subscribed.status, 201) << subscribed.body;
  const std::string subscription_id = subscribed.Json()["id"];

  // The owner's Patient, as the FHIR interface names them.
  std::string patient_id;
  const json bundle = json::parse(SyntheticBundle(1));
  for (const json& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == "Patient")
      patient_id = e["resource"]["id"];
  }
  ASSERT_FALSE(patient_id.empty());

  // A SMART app the owner authorised: Observations, vital signs only.
  auto smart_app = api::RegisterApp(*vault_, crypto::Random::System(), "Diary",
                                    {"https://diary.example/cb"}, 0);
  ASSERT_TRUE(smart_app.ok());
  const std::string verifier(43, 'v');
  const std::string challenge = PkceChallenge(verifier);
  Reply asked = Get(
      "/fhir/authorize?response_type=code&client_id=" + smart_app->client_id +
      "&redirect_uri=https%3A%2F%2Fdiary.example%2Fcb"
      "&scope=patient%2FObservation.rs&aud=http%3A%2F%2F127.0.0.1%3A" +
      std::to_string(server_->port()) + "%2Ffhir&code_challenge=" + challenge +
      "&code_challenge_method=S256");
  ASSERT_EQ(asked.status, 302) << asked.body;
  const std::string at = asked.Header("Location");
  Reply approved =
      Post("/v1/me/app-requests/" + at.substr(at.rfind('/') + 1),
           R"({"approve":true,"categories":["vital-signs"]})", owner.token);
  ASSERT_EQ(approved.status, 200) << approved.body;
  const std::string redirect = approved.Json()["redirect"];
  Reply exchanged =
      Post("/fhir/token",
           "grant_type=authorization_code&code=" +
               redirect.substr(redirect.find("code=") + 5, 64) +
               "&redirect_uri=https%3A%2F%2Fdiary.example%2Fcb&client_id=" +
               smart_app->client_id + "&code_verifier=" + verifier,
           "", "application/x-www-form-urlencoded");
  ASSERT_EQ(exchanged.status, 200) << exchanged.body;
  const std::string app_token = exchanged.Json()["access_token"];
  const std::string app_authorization =
      Get("/v1/me/apps", owner.token).Json()["apps"][0]["id"];

  auto expired = vault_->IssueToken("citizen", owner.id, 1);
  auto revoked = vault_->IssueToken("citizen", owner.id, 3600);
  ASSERT_TRUE(expired.ok() && revoked.ok());
  ASSERT_TRUE(vault_->RevokeToken(revoked->ExposeSecretText()).ok());
  sleep(2);  // let the 1-second token expire

  const std::string expired_token(expired->ExposeSecretText());
  const std::string revoked_token(revoked->ExposeSecretText());
  const std::string tokens[kWhoCount] = {
      owner.token,      other.token,   proxy.token, provider.token,
      researcher.token, auditor.token, admin_,      app_token,
      expired_token,    revoked_token, ""};

  // --- what each route may do, and with which request
  struct Spec {
    std::set<Who> may;          // who may get a 2xx
    std::string body;           // request body, if any
    std::string query;          // appended to the path
    bool owner_object = false;  // the path names the owner's data
  };
  const std::set<Who> everyone = {
      kOwner, kOtherCitizen, kProxy,   kProviderNoGrant, kResearcher, kAuditor,
      kAdmin, kApp,          kExpired, kRevoked,         kNoToken};
  const std::set<Who> citizens = {kOwner, kOtherCitizen, kProxy};
  const std::string observation =
      R"({"resourceType": "Observation", "status": "final",
          "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
          "effectiveDateTime": "2026-01-01T00:00:00Z"})";
  std::map<std::string, Spec> specs = {
      {"GET /healthz", {everyone, "", "", false}},
      {"GET /metrics", {everyone, "", "", false}},
      {"GET /openapi.json", {everyone, "", "", false}},
      {"GET /v1/audit/public-key", {everyone, "", "", false}},
      {"POST /v1/admin/citizens", {{kAdmin}, "{}", "", false}},
      {"POST /v1/admin/citizens/{citizen_id}/enrollment-code",
       {{kAdmin}, "", "", true}},
      {"POST /v1/admin/researchers", {{kAdmin}, "{}", "", false}},
      {"POST /v1/admin/providers", {{kAdmin}, R"({"name": "X"})", "", false}},
      {"POST /v1/admin/auditors", {{kAdmin}, R"({"name": "Y"})", "", false}},
      // No principal holds a valid code.
      {"POST /v1/enroll",
       {{}, R"({"enrollment_code": "tlk_nope"})", "", false}},
      {"GET /v1/me", {citizens, "", "", false}},
      {"POST /v1/me/import", {citizens, SyntheticBundle(3), "", false}},
      {"GET /v1/me/records", {citizens, "", "?limit=2", false}},
      {"GET /v1/me/records/{type}/{id}", {{kOwner}, "", "", true}},
      // The record is imported: the owner corrects it only by a request,
      // and this server names nobody to answer those (409 for the owner).
      {"PUT /v1/me/records/{type}/{id}", {{}, observation, "", true}},
      {"GET /v1/me/records/{type}/{id}/history", {{kOwner}, "", "", true}},
      {"POST /v1/me/records/{type}/{id}/rectification-requests",
       {{}, R"({"reason": "not mine"})", "", true}},
      {"GET /v1/rectification-requests",
       {{kOwner, kOtherCitizen, kProxy, kProviderNoGrant}, "", "", false}},
      // An unknown request: nobody may decide it.
      {"POST /v1/rectification-requests/{id}/decision",
       {{}, R"({"decision": "decline", "reason": "no"})", "", false}},
      {"POST /v1/me/records", {citizens, observation, "", false}},
      {"GET /v1/me/export", {citizens, "", "", false}},
      {"GET /v1/me/consents", {citizens, "", "", false}},
      {"POST /v1/me/consents", {citizens, grant_body, "", false}},
      {"POST /v1/me/consents/preview", {citizens, grant_body, "", false}},
      {"DELETE /v1/me/consents/{id}", {{kOwner}, "", "", true}},
      {"GET /v1/me/restrictions", {citizens, "", "", false}},
      {"PUT /v1/me/restrictions",
       {citizens, R"({"categories": [], "records": []})", "", false}},
      {"GET /v1/me/research-opt-out", {citizens, "", "", false}},
      {"PUT /v1/me/research-opt-out",
       {citizens, R"({"opted_out": false})", "", false}},
      {"GET /v1/me/primary-use-opt-out", {citizens, "", "", false}},
      {"PUT /v1/me/primary-use-opt-out",
       {citizens, R"({"opted_out": false})", "", false}},
      {"GET /v1/me/access-log", {citizens, "", "?limit=5", false}},
      {"GET /v1/me/devices", {citizens, "", "", false}},
      {"POST /v1/me/devices/pairing-codes", {citizens, "", "", false}},
      // An unknown device: nobody may revoke it.
      {"DELETE /v1/me/devices/{id}", {{}, "", "", true}},
      // The owner's erasure is the last call of all (see below); the body
      // names the owner, so nobody else can erase anything.
      {"DELETE /v1/me", {{kOwner}, "", "", true}},
      {"GET /v1/patients/{citizen_id}/records", {{}, "", "", true}},
      {"GET /v1/patients/{citizen_id}/records/{type}/{id}", {{}, "", "", true}},
      {"POST /v1/patients/{citizen_id}/records", {{}, observation, "", true}},
      // Break-glass is open to every provider, by design (always logged).
      {"POST /v1/patients/{citizen_id}/break-glass",
       {{kProviderNoGrant},
        R"({"reason": "unconscious in the ER"})",
        "",
        true}},
      {"POST /v1/studies", {{kResearcher}, study_body, "", false}},
      {"GET /v1/studies", {{kResearcher}, "", "", false}},
      {"GET /v1/studies/{id}", {{}, "", "", true}},
      {"GET /v1/studies/{id}/feasibility", {{}, "", "", true}},
      // The study and its release are another researcher's.
      {"POST /v1/studies/{id}/releases", {{}, "", "", true}},
      {"GET /v1/studies/{id}/releases", {{}, "", "", true}},
      {"GET /v1/studies/{id}/releases/{rid}", {{}, "", "", true}},
      {"GET /v1/studies/{id}/releases/{rid}/status", {{}, "", "", true}},
      // The study is another researcher's; the operator may set its budget.
      {"POST /v1/studies/{id}/aggregates",
       {{}, R"({"query": "count", "epsilon": 0.1})", "", true}},
      {"PUT /v1/admin/studies/{id}/privacy-budget",
       {{kAdmin}, R"({"epsilon": 1})", "", false}},
      {"GET /v1/me/privacy-budget", {citizens, "", "", false}},
      {"GET /v1/audit/entries", {{kAuditor}, "", "?limit=5", false}},
      {"GET /v1/audit/checkpoint",
       {{kAuditor, kOwner, kOtherCitizen, kProxy}, "", "", false}},
      {"GET /v1/audit/proofs/inclusion",
       {{kAuditor, kOwner, kOtherCitizen, kProxy},
        "",
        "?index=0&size=1",
        false}},
      {"GET /v1/audit/proofs/consistency",
       {{kAuditor, kOwner, kOtherCitizen, kProxy}, "", "?from=1&to=2", false}},
      // Proxies: the owner authorised `proxy` already (409 for a second);
      // the other citizen authorises them; the proxy cannot authorise
      // itself.
      {"GET /v1/me/proxies", {citizens, "", "", false}},
      {"POST /v1/me/proxies",
       {{kOtherCitizen},
        json{{"proxy", proxy.id}, {"access", "read"}}.dump(),
        "",
        false}},
      {"PUT /v1/me/proxies/{id}",
       {{kOwner},
        R"({"access": "read", "categories": ["vital-signs"]})",
        "",
        true}},
      // Revoking the proxy runs late (see below).
      {"DELETE /v1/me/proxies/{id}", {{kOwner}, "", "", true}},
      {"GET /v1/me/represented", {citizens, "", "", false}},
      // Notifications: each citizen their own; no proxy path.
      {"GET /v1/me/notifications", {citizens, "", "", false}},
      {"PUT /v1/me/notifications",
       {citizens, R"({"mode": "daily-digest"})", "", false}},
      {"POST /v1/me/push-subscriptions",
       {citizens, push_subscription.dump(), "", false}},
      {"DELETE /v1/me/push-subscriptions/{id}", {{kOwner}, "", "", true}},
      {"POST /v1/admin/guardianships",
       {{kAdmin},
        json{{"guardian", proxy.id},
             {"citizen", other.id},
             {"start", "2020-01-01"}}
            .dump(),
        "",
        false}},
      // An unknown guardianship: nobody may end it.
      {"DELETE /v1/admin/guardianships/{id}", {{}, "", "", false}},
      // Acting for the owner: only the proxy, and only to read the vital
      // signs (the record of the matrix is one).
      {"GET /v1/citizens/{citizen_id}", {{kProxy}, "", "", true}},
      {"POST /v1/citizens/{citizen_id}/import",
       {{}, SyntheticBundle(4), "", true}},
      {"GET /v1/citizens/{citizen_id}/records",
       {{kProxy}, "", "?limit=2", true}},
      {"POST /v1/citizens/{citizen_id}/records", {{}, observation, "", true}},
      {"GET /v1/citizens/{citizen_id}/records/{type}/{id}",
       {{kProxy}, "", "", true}},
      {"PUT /v1/citizens/{citizen_id}/records/{type}/{id}",
       {{}, observation, "", true}},
      {"GET /v1/citizens/{citizen_id}/records/{type}/{id}/history",
       {{kProxy}, "", "", true}},
      {"POST /v1/citizens/{citizen_id}/records/{type}/{id}/"
       "rectification-requests",
       {{}, R"({"reason": "not mine"})", "", true}},
      {"GET /v1/citizens/{citizen_id}/export", {{kProxy}, "", "", true}},
      {"GET /v1/citizens/{citizen_id}/consents", {{}, "", "", true}},
      {"POST /v1/citizens/{citizen_id}/consents", {{}, grant_body, "", true}},
      {"POST /v1/citizens/{citizen_id}/consents/preview",
       {{}, grant_body, "", true}},
      {"DELETE /v1/citizens/{citizen_id}/consents/{id}", {{}, "", "", true}},
      {"GET /v1/citizens/{citizen_id}/restrictions", {{}, "", "", true}},
      {"PUT /v1/citizens/{citizen_id}/restrictions",
       {{}, R"({"categories": [], "records": []})", "", true}},
      {"GET /v1/citizens/{citizen_id}/research-opt-out", {{}, "", "", true}},
      {"PUT /v1/citizens/{citizen_id}/research-opt-out",
       {{}, R"({"opted_out": false})", "", true}},
      {"GET /v1/citizens/{citizen_id}/primary-use-opt-out", {{}, "", "", true}},
      {"PUT /v1/citizens/{citizen_id}/primary-use-opt-out",
       {{}, R"({"opted_out": false})", "", true}},
      {"GET /v1/citizens/{citizen_id}/privacy-budget", {{}, "", "", true}},
      {"GET /v1/citizens/{citizen_id}/access-log", {{}, "", "?limit=5", true}},
      // The FHIR interface: the owner's Patient and records are the
      // owner's alone (the provider has no grant).
      {"GET /fhir/metadata", {everyone, "", "", false}},
      // The app: Observations (searched, and within $everything and
      // $summary), never the Patient it has no scope for.
      {"GET /fhir/{type}",
       {{kOwner, kApp}, "", "?patient=" + patient_id, true}},
      {"GET /fhir/{type}/{id}", {{kOwner}, "", "", true}},
      {"GET /fhir/Patient/{id}/$everything", {{kOwner, kApp}, "", "", true}},
      {"GET /fhir/Patient/{id}/$summary", {{kOwner, kApp}, "", "", true}},
      // Bulk Data: the kick-off (without Prefer: respond-async, so nothing
      // starts) and jobs nobody here started.
      {"GET /fhir/Patient/{id}/$export", {{}, "", "", true}},
      {"GET /fhir/bulk-status/{id}", {{}, "", "", false}},
      {"DELETE /fhir/bulk-status/{id}", {{}, "", "", false}},
      {"GET /fhir/bulk-files/{id}/{file}", {{}, "", "", false}},
      // SMART App Launch: discovery is public; no principal holds a
      // request, a code or a form the endpoints accept; only the owner
      // may disconnect their app (late, see below).
      {"GET /fhir/.well-known/smart-configuration", {everyone, "", "", false}},
      {"GET /fhir/authorize", {{}, "", "", false}},
      {"POST /fhir/token", {{}, "grant_type=authorization_code", "", false}},
      {"GET /v1/me/app-requests/{id}", {{}, "", "", false}},
      {"POST /v1/me/app-requests/{id}",
       {{}, R"({"approve":false})", "", false}},
      {"GET /v1/me/apps", {citizens, "", "", false}},
      {"DELETE /v1/me/apps/{id}", {{kOwner}, "", "", true}},
  };
  specs["DELETE /v1/me"].body = json{{"confirm", owner.id}}.dump();

  auto Fill = [&](std::string path) {
    auto replace = [&](const std::string& from, const std::string& to) {
      const size_t at = path.find(from);
      if (at != std::string::npos) path.replace(at, from.size(), to);
    };
    replace("{citizen_id}", owner.id);
    if (path.rfind("/fhir/bulk-", 0) == 0) {
      replace("{id}", "bx_" + std::string(32, '0'));
      replace("{file}", "Observation.ndjson");
    }
    if (path.rfind("/fhir/", 0) == 0) {
      replace("{type}/{id}", "Patient/" + patient_id);
      replace("{type}", "Observation");
      replace("{id}", patient_id);
    }
    replace("{type}/{id}", record_ref);
    if (path.find("/consents/") != std::string::npos) replace("{id}", grant_id);
    if (path.find("/devices/") != std::string::npos)
      replace("{id}", "d_" + std::string(32, '0'));
    if (path.find("/studies/") != std::string::npos) replace("{id}", study_id);
    if (path.find("/rectification-requests/") != std::string::npos)
      replace("{id}", "rr_" + std::string(32, '0'));
    if (path.find("/proxies/") != std::string::npos) replace("{id}", proxy_id);
    if (path.find("/app-requests/") != std::string::npos)
      replace("{id}", "ar_" + std::string(32, '0'));
    if (path.find("/me/apps/") != std::string::npos)
      replace("{id}", app_authorization);
    if (path.find("/push-subscriptions/") != std::string::npos)
      replace("{id}", subscription_id);
    if (path.find("/guardianships/") != std::string::npos)
      replace("{id}", "gd_" + std::string(32, '0'));
    replace("{rid}", release_id);
    return path;
  };

  // Break-glass would give the provider access for the rest of the run,
  // and erasure removes the owner: those two run last.
  std::vector<api::RouteInfo> routes = api::ListRoutes();
  auto rank = [](const api::RouteInfo& r) {
    if (r.path == "/v1/me" && r.method == "DELETE") return 2;
    if (r.path.find("break-glass") != std::string::npos) return 1;
    if (r.path == "/v1/me/proxies/{id}" && r.method == "DELETE") return 1;
    if (r.path == "/v1/me/apps/{id}" && r.method == "DELETE") return 1;
    return 0;
  };
  std::stable_sort(
      routes.begin(), routes.end(),
      [&](const auto& a, const auto& b) { return rank(a) < rank(b); });

  int cells = 0;
  int unauthorised_successes = 0;
  for (const api::RouteInfo& route : routes) {
    const std::string key = route.method + " " + route.path;
    auto it = specs.find(key);
    ASSERT_NE(it, specs.end())
        << "the matrix does not know " << key << ": add it";
    const Spec& spec = it->second;
    const std::string path = Fill(route.path) + spec.query;
    for (int w = 0; w < kWhoCount; ++w) {
      const Who who = static_cast<Who>(w);
      // The owner erases last of all.
      if (key == "DELETE /v1/me" && who == kOwner) continue;
      Reply r;
      if (route.method == "GET") {
        r = Get(path, tokens[w]);
      } else if (route.method == "POST") {
        r = Post(path, spec.body, tokens[w]);
      } else if (route.method == "PUT") {
        r = Put(path, spec.body, tokens[w]);
      } else {
        r = Delete(path, tokens[w], spec.body);
      }
      ++cells;
      const bool success = r.status >= 200 && r.status < 300;
      const std::string cell = key + " as " + kWhoNames[w] + ": " +
                               std::to_string(r.status) + " " +
                               r.body.substr(0, 160);
      if (success && spec.may.count(who) == 0) {
        ++unauthorised_successes;
        ADD_FAILURE() << "unauthorised success: " << cell;
      }
      ASSERT_NE(r.status, 0) << cell;
      ASSERT_LT(r.status, 500) << cell;
      if (!success && r.status != 429) {
        // The FHIR interface's errors are OperationOutcomes, but for the
        // token endpoint's OAuth 2 errors.
        if (route.path == "/fhir/token" && r.status == 400) {
          EXPECT_FALSE(r.Json().value("error", "").empty()) << cell;
        } else if (route.path.rfind("/fhir/", 0) == 0) {
          EXPECT_EQ(r.Json().value("resourceType", ""), "OperationOutcome")
              << cell;
        } else {
          EXPECT_FALSE(r.ErrorCode().empty()) << cell;
        }
      }
      const bool public_route = (route.roles & api::kAnyone) != 0;
      if (!public_route &&
          (who == kExpired || who == kRevoked || who == kNoToken)) {
        EXPECT_EQ(r.status, 401) << cell;
      }
      // Another citizen's data, asked for by a citizen: 404, never 403.
      const bool on_behalf = route.path.rfind("/v1/citizens/", 0) == 0;
      if (spec.owner_object && (route.roles & api::kCitizen) &&
          (who == kOtherCitizen || (who == kProxy && !on_behalf))) {
        // Someone acting for a citizen they do not represent: 404 before
        // any body is looked at.
        if (on_behalf) {
          EXPECT_EQ(r.status, 404) << cell;
        } else {
          EXPECT_TRUE(r.status == 404 || r.status == 400) << cell;
        }
      }
      // The proxy beyond its authorisation, for the owner it represents:
      // 403 (the owner acting for themselves is not represented: 404).
      if (on_behalf && who == kProxy && !success) {
        EXPECT_EQ(r.status, 403) << cell;
      }
      if (on_behalf && who == kOwner) {
        EXPECT_EQ(r.status, 404) << cell;
      }
      // The owner (and the others it lists) really get through where they
      // may, for reads: the matrix exercises real paths, not typos.
      if (route.method == "GET" && spec.may.count(who) && who != kNoToken &&
          who != kExpired && who != kRevoked) {
        EXPECT_TRUE(success) << cell;
      }
    }
  }
  // Finally the owner erases their vault; afterwards their token is dead.
  Reply erase = Delete("/v1/me", owner.token, specs["DELETE /v1/me"].body);
  ++cells;
  EXPECT_EQ(erase.status, 200) << erase.body;
  EXPECT_EQ(Get("/v1/me", owner.token).status, 401);

  std::printf(
      "authorisation matrix: %zu routes x %d principals = %d cells, "
      "%d unauthorised successes\n",
      routes.size(), static_cast<int>(kWhoCount), cells,
      unauthorised_successes);
  RecordProperty("cells", cells);
  EXPECT_EQ(unauthorised_successes, 0);
}

}  // namespace
}  // namespace tillit::testing
