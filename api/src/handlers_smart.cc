// SMART App Launch 2, standalone patient launch (docs/FHIR.md):
//
//   GET  /fhir/.well-known/smart-configuration   what the server supports
//   GET  /fhir/authorize                         an app asks; the browser is
//                                                sent to the web app's
//                                                consent page
//   GET  /v1/me/app-requests/{id}                the page reads the request
//   POST /v1/me/app-requests/{id}                the citizen answers
//   POST /fhir/token                             the app exchanges its code
//                                                (PKCE S256) or refreshes
//   GET  /v1/me/apps, DELETE /v1/me/apps/{id}    the citizen's app grants
//
// The app's token then opens the citizen's records on /fhir, narrowed by
// its scopes and the citizen's choices (handlers_fhir.cc).
//
// From the Api: apps(), launches(), vault() (tokens), stores() (the
// citizen's Patient), audit(), options().
#include <algorithm>
#include <nlohmann/json.hpp>

#include "api.h"
#include "call.h"
#include "handlers_citizen.h"
#include "handlers_fhir.h"
#include "route.h"
#include "smart.h"

namespace tillit::api::internal {
namespace {

using nlohmann::json;

constexpr int64_t kAccessSeconds = 3600;
constexpr int64_t kRefreshSeconds = 90LL * 24 * 3600;
constexpr size_t kMaxStateBytes = 1000;

// --- discovery

// GET /fhir/.well-known/smart-configuration
Status SmartConfiguration(Api& api, Call& call) {
  const std::string base = FhirBaseUrl(api, call);
  call.Reply({
      {"authorization_endpoint", base + "/authorize"},
      {"token_endpoint", base + "/token"},
      {"token_endpoint_auth_methods_supported", {"none"}},
      {"grant_types_supported", {"authorization_code", "refresh_token"}},
      {"response_types_supported", {"code"}},
      {"code_challenge_methods_supported", {"S256"}},
      {"scopes_supported",
       {"launch/patient", "openid", "fhirUser", "offline_access",
        "online_access", "patient/*.rs", "patient/*.read"}},
      {"capabilities",
       {"launch-standalone", "client-public", "context-standalone-patient",
        "permission-patient", "permission-offline", "permission-online",
        "permission-v1", "permission-v2"}},
  });
  call.res.set_header("Cache-Control", "no-store");
  return Status::Ok();
}

// --- the app asks

// The one value of a query parameter; InvalidArgument when repeated.
StatusOr<std::optional<std::string>> Single(const Call& call,
                                            const char* name) {
  const size_t n = call.req.get_param_value_count(name);
  if (n > 1) return Status::InvalidArgument(std::string(name) + ": repeated");
  if (n == 0) return std::optional<std::string>();
  return std::optional<std::string>(call.req.get_param_value(name));
}

bool IsBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string WithQuery(const std::string& uri, const std::string& query) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + query;
}

// GET /fhir/authorize
Status Authorize(Api& api, Call& call) {
  // Until the client and its redirect URI are known, errors are answered
  // here (an OperationOutcome); after, they go back to the app.
  TILLIT_ASSIGN_OR_RETURN(auto client_id, Single(call, "client_id"));
  TILLIT_ASSIGN_OR_RETURN(auto redirect_uri, Single(call, "redirect_uri"));
  if (!client_id) return Status::InvalidArgument("client_id: required");
  if (!redirect_uri) return Status::InvalidArgument("redirect_uri: required");
  StatusOr<App> app = api.apps().FindApp(*client_id);
  if (!app.ok()) {
    if (app.status().code() == StatusCode::kNotFound)
      return Status::InvalidArgument("client_id: no app is registered so");
    return app.status();
  }
  if (std::find(app->redirect_uris.begin(), app->redirect_uris.end(),
                *redirect_uri) == app->redirect_uris.end()) {
    return Status::InvalidArgument(
        "redirect_uri: not one the app registered (it must match exactly)");
  }
  auto state = Single(call, "state");
  const std::string state_part =
      state.ok() && *state && (*state)->size() <= kMaxStateBytes
          ? "&state=" + FhirPercentEncode(**state)
          : "";
  auto back = [&](std::string_view error, std::string_view description) {
    call.res.status = 302;
    call.res.set_header(
        "Location",
        WithQuery(*redirect_uri,
                  "error=" + std::string(error) + "&error_description=" +
                      FhirPercentEncode(description) + state_part));
    call.res.set_header("Cache-Control", "no-store");
    return Status::Ok();
  };
  if (!state.ok()) return back("invalid_request", state.status().message());
  if (*state && (*state)->size() > kMaxStateBytes)
    return back("invalid_request", "state: at most 1000 bytes");
  TILLIT_ASSIGN_OR_RETURN(auto response_type, Single(call, "response_type"));
  if (response_type != "code")
    return back("unsupported_response_type", "response_type: must be code");
  if (call.req.has_param("launch"))
    return back("invalid_request",
                "launch: only the standalone launch is supported");
  auto method = Single(call, "code_challenge_method");
  if (!method.ok() || *method != "S256")
    return back("invalid_request",
                "code_challenge_method: S256 is required (plain is refused)");
  auto challenge = Single(call, "code_challenge");
  if (!challenge.ok() || !*challenge || (*challenge)->size() != 43 ||
      !IsBase64Url(**challenge))
    return back("invalid_request",
                "code_challenge: the base64url SHA-256 of the verifier (43 "
                "characters)");
  const std::string base = FhirBaseUrl(api, call);
  auto aud = Single(call, "aud");
  if (!aud.ok() || !*aud || (**aud != base && **aud != base + "/"))
    return back("invalid_request",
                "aud: must be this server's FHIR base, " + base);
  auto scope = Single(call, "scope");
  if (!scope.ok() || !*scope) return back("invalid_scope", "scope: required");
  StatusOr<Scopes> scopes = ParseScopes(**scope);
  if (!scopes.ok()) return back("invalid_scope", scopes.status().message());
  if (scopes->resources.empty())
    return back("invalid_scope",
                "scope: no patient/ scope the vault grants (such as "
                "patient/*.rs or patient/Observation.read)");
  LaunchRequest request;
  request.app = *app;
  request.redirect_uri = *redirect_uri;
  request.state = *state ? **state : "";
  request.code_challenge = **challenge;
  request.scopes = std::move(scopes).value();
  auto id = api.launches().AddRequest(std::move(request), api.Now());
  if (!id.ok()) return back("temporarily_unavailable", id.status().message());
  call.res.status = 302;
  call.res.set_header("Location", "/app/#/authorize/" + *id);
  call.res.set_header("Cache-Control", "no-store");
  return Status::Ok();
}

// --- the citizen answers

json ScopeJson(const ResourceScope& r) {
  json j = {{"scope", r.text},
            {"resource_type", r.type},
            {"read", r.read},
            {"search", r.search}};
  if (r.category) j["category"] = r.category->code.value_or("");
  return j;
}

json RequestJson(const LaunchRequest& r) {
  json scopes = json::array();
  for (const ResourceScope& s : r.scopes.resources)
    scopes.push_back(ScopeJson(s));
  return {{"id", r.id},
          {"app",
           {{"client_id", r.app.client_id},
            {"name", r.app.name},
            {"redirect_uri", r.redirect_uri}}},
          {"scopes", std::move(scopes)},
          {"offline_access", r.scopes.offline},
          {"categories", citizen::CategoryNames(consent::kAllCategories)},
          {"expires", r.expires}};
}

Status NoSuchRequest() {
  return Status::NotFound(
      "no such request: it expired (after 10 minutes) or was answered");
}

// GET /v1/me/app-requests/{id}
Status GetAppRequest(Api& api, Call& call) {
  auto r = api.launches().FindRequest(call.Param("id"), api.Now());
  if (!r) return NoSuchRequest();
  call.Reply(RequestJson(*r));
  return Status::Ok();
}

struct Answer {
  bool approve = false;
  consent::CategorySet categories = 0;
  bool include_sensitive = false;
};

StatusOr<Answer> ParseAnswer(const json& j) {
  if (!j.is_object())
    return Status::InvalidArgument("the body must be a JSON object");
  for (const auto& [key, value] : j.items()) {
    if (key != "approve" && key != "categories" && key != "include_sensitive")
      return Status::InvalidArgument(key + ": unknown field");
  }
  Answer a;
  if (!j.contains("approve") || !j["approve"].is_boolean())
    return Status::InvalidArgument("approve: required, true or false");
  a.approve = j["approve"].get<bool>();
  if (!a.approve) {
    if (j.size() != 1)
      return Status::InvalidArgument("a refusal has only \"approve\": false");
    return a;
  }
  if (!j.contains("categories") || !j["categories"].is_array() ||
      j["categories"].empty())
    return Status::InvalidArgument(
        "categories: the kinds of records the app may see, at least one");
  if (j["categories"].size() > fhir::kCategoryCount)
    return Status::InvalidArgument("categories: at most 10");
  for (const json& c : j["categories"]) {
    auto category = c.is_string() ? fhir::ParseCategory(c.get<std::string>())
                                  : std::nullopt;
    if (!category)
      return Status::InvalidArgument("categories: unknown category " +
                                     c.dump());
    a.categories |= consent::CategoryBit(*category);
  }
  if (j.contains("include_sensitive")) {
    if (!j["include_sensitive"].is_boolean())
      return Status::InvalidArgument("include_sensitive: true or false");
    a.include_sensitive = j["include_sensitive"].get<bool>();
  }
  return a;
}

// POST /v1/me/app-requests/{id}
Status AnswerAppRequest(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
  TILLIT_ASSIGN_OR_RETURN(Answer answer, ParseAnswer(body));
  const std::string id = call.Param("id");
  const int64_t now = api.Now();
  if (!api.launches().FindRequest(id, now)) return NoSuchRequest();
  std::string patient;
  if (answer.approve) {
    // The launch context: without the citizen's Patient no app can open.
    Status s = api.stores().With(call.citizen(), [&](vault::CitizenStore& st) {
      TILLIT_ASSIGN_OR_RETURN(patient, LinkedPatient(api.vault(), st));
      return Status::Ok();
    });
    if (s.code() == StatusCode::kNotFound)
      return Status::FailedPrecondition(
          "your vault holds no Patient record yet, and an app opens on it");
    TILLIT_RETURN_IF_ERROR(s);
  }
  std::optional<LaunchRequest> request = api.launches().TakeRequest(id, now);
  if (!request) return NoSuchRequest();
  const std::string state = request->state.empty()
                                ? ""
                                : "&state=" + FhirPercentEncode(request->state);
  if (!answer.approve) {
    call.Reply({{"redirect", WithQuery(request->redirect_uri,
                                       "error=access_denied" + state)}});
    return Status::Ok();
  }
  TILLIT_ASSIGN_OR_RETURN(
      AppAuthorization granted,
      api.apps().Authorize(call.citizen(), request->app, patient,
                           request->scopes, answer.categories,
                           answer.include_sensitive, now));
  audit::AuditEntry e = citizen::Entry("app.authorize", call);
  e.grant_ids = {granted.id};
  e.categories = citizen::CategoryNames(answer.categories);
  if (Status s = api.audit().Append(call, std::move(e)).status(); !s.ok()) {
    // Not recorded, not usable.
    (void)api.apps().Revoke(call.citizen(), granted.id, now);
    return s;
  }
  IssuedCode code;
  code.authorization_id = granted.id;
  code.client_id = request->app.client_id;
  code.redirect_uri = request->redirect_uri;
  code.code_challenge = request->code_challenge;
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          api.launches().AddCode(std::move(code), now));
  call.Reply(
      {{"redirect", WithQuery(request->redirect_uri, "code=" + text + state)}});
  return Status::Ok();
}

// --- the citizen's app grants

json AuthorizationJson(const AppAuthorization& a) {
  json j = {{"id", a.id},
            {"client_id", a.client_id},
            {"name", a.app_name},
            {"scope", a.scope},
            {"categories", citizen::CategoryNames(a.categories)},
            {"include_sensitive", a.include_sensitive},
            {"offline_access", a.scopes.offline},
            {"created", a.created}};
  if (a.revoked) j["revoked"] = *a.revoked;
  return j;
}

// GET /v1/me/apps
Status ListApps(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<AppAuthorization> all,
                          api.apps().List(call.citizen()));
  json list = json::array();
  for (const AppAuthorization& a : all) list.push_back(AuthorizationJson(a));
  call.Reply({{"apps", std::move(list)}});
  return Status::Ok();
}

// DELETE /v1/me/apps/{id}
Status RevokeApp(Api& api, Call& call) {
  const std::string id = call.Param("id");
  TILLIT_ASSIGN_OR_RETURN(AppAuthorization a, api.apps().Find(id));
  if (a.citizen_id != call.citizen())
    return Status::NotFound("no such app authorisation");
  if (a.revoked)
    return Status::FailedPrecondition("the app's access is already revoked");
  audit::AuditEntry e = citizen::Entry("app.revoke", call);
  e.grant_ids = {id};
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(e)).status());
  TILLIT_ASSIGN_OR_RETURN(a, api.apps().Revoke(call.citizen(), id, api.Now()));
  call.Reply(AuthorizationJson(a));
  return Status::Ok();
}

// --- the app exchanges its code

// application/x-www-form-urlencoded; InvalidArgument for a repeated or
// malformed field.
StatusOr<std::map<std::string, std::string>> ParseForm(std::string_view body) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto decode = [&](std::string_view s) -> std::optional<std::string> {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out += ' ';
      } else if (s[i] == '%') {
        if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0)
          return std::nullopt;
        out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  };
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    const size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? "" : body.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto name = decode(pair.substr(0, eq));
    auto value =
        decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (!name || !value)
      return Status::InvalidArgument("the form has a malformed escape");
    if (!out.emplace(*name, *value).second)
      return Status::InvalidArgument(*name + ": repeated");
  }
  return out;
}

void OAuthError(Call& call, int status, std::string_view error,
                std::string_view description) {
  call.Reply({{"error", error}, {"error_description", description}}, status);
  call.res.set_header("Cache-Control", "no-store");
  call.res.set_header("Pragma", "no-cache");
}

// POST /fhir/token
Status Token(Api& api, Call& call) {
  const std::string type = call.req.get_header_value("Content-Type");
  if (type.substr(0, type.find(';')) != "application/x-www-form-urlencoded") {
    OAuthError(call, 400, "invalid_request",
               "the body must be application/x-www-form-urlencoded");
    return Status::Ok();
  }
  auto form = ParseForm(call.req.body);
  if (!form.ok()) {
    OAuthError(call, 400, "invalid_request", form.status().message());
    return Status::Ok();
  }
  auto field = [&](const char* name) -> std::string {
    auto it = form->find(name);
    return it == form->end() ? "" : it->second;
  };
  const std::string grant_type = field("grant_type");
  const std::string client_id = field("client_id");
  const int64_t now = api.Now();
  std::string authorization_id;
  if (grant_type == "authorization_code") {
    for (const char* name :
         {"code", "redirect_uri", "client_id", "code_verifier"}) {
      if (field(name).empty()) {
        OAuthError(call, 400, "invalid_request",
                   std::string(name) + ": required");
        return Status::Ok();
      }
    }
    // Used up now, whatever follows: a code is tried once.
    std::optional<IssuedCode> code =
        api.launches().TakeCode(field("code"), now);
    if (!code || code->client_id != client_id ||
        code->redirect_uri != field("redirect_uri")) {
      OAuthError(call, 400, "invalid_grant",
                 "the code is unknown, used, expired, or not this app's");
      return Status::Ok();
    }
    if (!PkceMatches(field("code_verifier"), code->code_challenge)) {
      OAuthError(call, 400, "invalid_grant",
                 "code_verifier: does not match the code_challenge");
      return Status::Ok();
    }
    authorization_id = code->authorization_id;
  } else if (grant_type == "refresh_token") {
    if (field("refresh_token").empty()) {
      OAuthError(call, 400, "invalid_request", "refresh_token: required");
      return Status::Ok();
    }
    auto redeemed =
        api.vault().RedeemToken(field("refresh_token"), "app-refresh");
    if (!redeemed.ok()) {
      if (redeemed.status().code() != StatusCode::kUnauthenticated)
        return redeemed.status();
      OAuthError(call, 400, "invalid_grant",
                 "the refresh token is unknown, used, expired or revoked");
      return Status::Ok();
    }
    authorization_id = redeemed->principal;
  } else {
    OAuthError(call, 400, "unsupported_grant_type",
               "grant_type: authorization_code or refresh_token");
    return Status::Ok();
  }
  StatusOr<AppAuthorization> granted = api.apps().Find(authorization_id);
  if (!granted.ok() && granted.status().code() != StatusCode::kNotFound)
    return granted.status();
  // A refresh may leave client_id out (RFC 6749 §6): the token names the
  // app.
  const bool other_client =
      granted.ok() && granted->client_id != client_id &&
      (grant_type == "authorization_code" || form->count("client_id"));
  if (!granted.ok() || granted->revoked || other_client) {
    OAuthError(call, 400, "invalid_grant",
               "the app's access was revoked, or this is another app's");
    return Status::Ok();
  }
  if (grant_type == "refresh_token" && form->count("scope")) {
    auto asked = ParseScopes(field("scope"));
    if (!asked.ok() || ScopeString(*asked) != granted->scope) {
      OAuthError(call, 400, "invalid_scope",
                 "scope: a refresh keeps the scope granted (leave it out)");
      return Status::Ok();
    }
  }
  TILLIT_ASSIGN_OR_RETURN(
      vault::IssuedToken access,
      api.vault().IssueToken("app", granted->id, kAccessSeconds));
  json out = {{"access_token", access.ExposeSecretText()},
              {"token_type", "Bearer"},
              {"expires_in", kAccessSeconds},
              {"scope", granted->scope},
              {"patient", granted->patient_id}};
  std::optional<vault::IssuedToken> refresh;
  if (granted->scopes.offline) {
    TILLIT_ASSIGN_OR_RETURN(
        refresh,
        api.vault().IssueToken("app-refresh", granted->id, kRefreshSeconds));
    out["refresh_token"] = refresh->ExposeSecretText();
  }
  call.Reply(out);
  call.res.set_header("Cache-Control", "no-store");
  call.res.set_header("Pragma", "no-cache");
  return Status::Ok();
}

Route Smart(std::string method, std::string path, uint32_t roles,
            Handler handler, std::vector<std::string> query,
            bool by_address = false) {
  Route r{{std::move(method), std::move(path), roles, std::move(query), false},
          handler,
          by_address,
          {}};
  r.fhir = true;  // reads its own query; errors as OperationOutcome
  return r;
}

}  // namespace

std::vector<Route> SmartRoutes() {
  return {
      Smart("GET", "/fhir/.well-known/smart-configuration", kAnyone,
            SmartConfiguration, {}),
      // The parameters it reads (others are ignored, as OAuth asks).
      Smart("GET", "/fhir/authorize", kAnyone, Authorize,
            {"response_type", "client_id", "redirect_uri", "scope", "state",
             "aud", "code_challenge", "code_challenge_method"}),
      // Failed exchanges are charged to the address, as enrollment is.
      Smart("POST", "/fhir/token", kAnyone, Token, {}, /*by_address=*/true),
      {{"GET", "/v1/me/app-requests/{id}", kCitizen, {}, false},
       GetAppRequest,
       false,
       {}},
      {{"POST", "/v1/me/app-requests/{id}", kCitizen, {}, false},
       AnswerAppRequest,
       false,
       {}},
      {{"GET", "/v1/me/apps", kCitizen, {}, false}, ListApps, false, {}},
      {{"DELETE", "/v1/me/apps/{id}", kCitizen, {}, false},
       RevokeApp,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
