// SMART App Launch over real HTTP: discovery, /fhir/authorize and its
// errors, the citizen's answer, the code exchange with PKCE, what an app's
// token opens (its scopes, the citizen's choices), refresh, revocation,
// erasure, and the audit trail of an app's reads. The same flow driven by
// a SMART client nobody here wrote is tests/fhir/smart.test.mjs.
#include <algorithm>
#include <map>
#include <set>

#include "http_fixture.h"
#include "tillit/api/principals.h"

namespace tillit::testing {
namespace {

constexpr char kRedirect[] = "https://diary.example/cb";
constexpr char kVerifier[] = "a-verifier-of-at-least-43-characters-0123456789";

std::string Encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Query(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    out += out.empty() ? "" : "&";
    out += Encode(k) + "=" + Encode(v);
  }
  return out;
}

// The value of `name` in a URL's query, or "" when absent.
std::string QueryValue(const std::string& url, const std::string& name) {
  const size_t q = url.find('?');
  if (q == std::string::npos) return "";
  std::string rest = url.substr(q + 1);
  size_t at = 0;
  while (at <= rest.size()) {
    size_t end = rest.find('&', at);
    if (end == std::string::npos) end = rest.size();
    const std::string pair = rest.substr(at, end - at);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string::npos ? "" : pair.substr(eq + 1);
    at = end + 1;
  }
  return "";
}

class SmartTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    auto app = api::RegisterApp(*vault_, crypto::Random::System(), "Diary",
                                {kRedirect, "http://127.0.0.1:9/cb"},
                                clock_.NowSeconds());
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    client_id_ = app->client_id;
  }
  void Configure(api::ServerOptions& o) override {
    o.clock = &clock_;
    // The error paths below fail many exchanges from one address.
    if (!limited_) o.enroll_burst = 1000;
  }

  std::string Base() const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + "/fhir";
  }

  // The parameters of a good /authorize request, to change one at a time.
  std::map<std::string, std::string> AuthorizeParams(
      const std::string& scope = "launch/patient patient/*.rs") const {
    return {{"response_type", "code"},
            {"client_id", client_id_},
            {"redirect_uri", kRedirect},
            {"scope", scope},
            {"state", "st4te"},
            {"aud", Base()},
            {"code_challenge", PkceChallenge(kVerifier)},
            {"code_challenge_method", "S256"}};
  }
  Reply Authorize(const std::map<std::string, std::string>& params) const {
    return Get("/fhir/authorize?" + Query(params));
  }
  // The request id the browser is sent to answer.
  std::string RequestId(const std::map<std::string, std::string>& params) {
    Reply r = Authorize(params);
    EXPECT_EQ(r.status, 302) << r.body;
    const std::string location = r.Header("Location");
    const std::string prefix = "/app/#/authorize/";
    EXPECT_EQ(location.substr(0, prefix.size()), prefix) << location;
    return location.size() > prefix.size() ? location.substr(prefix.size())
                                           : "";
  }
  // The citizen approves; the code in the redirect.
  std::string Approve(const Principal& citizen, const std::string& request,
                      const json& categories = json::array(
                          {"patient-summary", "lab-results", "vital-signs"}),
                      bool include_sensitive = false) {
    Reply r = Post("/v1/me/app-requests/" + request,
                   json{{"approve", true},
                        {"categories", categories},
                        {"include_sensitive", include_sensitive}}
                       .dump(),
                   citizen.token);
    EXPECT_EQ(r.status, 200) << r.body;
    const std::string redirect = r.Json().value("redirect", "");
    EXPECT_EQ(redirect.substr(0, std::string(kRedirect).size() + 1),
              std::string(kRedirect) + "?");
    EXPECT_EQ(QueryValue(redirect, "state"), "st4te");
    return QueryValue(redirect, "code");
  }
  Reply Exchange(std::map<std::string, std::string> form) const {
    return Post("/fhir/token", Query(form), "",
                "application/x-www-form-urlencoded");
  }
  std::map<std::string, std::string> CodeForm(const std::string& code) const {
    return {{"grant_type", "authorization_code"},
            {"code", code},
            {"redirect_uri", kRedirect},
            {"client_id", client_id_},
            {"code_verifier", kVerifier}};
  }
  // A whole launch: the token response.
  json Launch(const Principal& citizen,
              const std::string& scope = "launch/patient patient/*.rs",
              const json& categories = json::array(
                  {"patient-summary", "lab-results", "vital-signs"}),
              bool include_sensitive = false) {
    const std::string code = Approve(citizen, RequestId(AuthorizeParams(scope)),
                                     categories, include_sensitive);
    Reply r = Exchange(CodeForm(code));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  // A citizen whose Patient came with a synthetic bundle; their Patient.
  std::string Imported(const Principal& citizen, uint64_t index = 3) {
    const std::string bundle = SyntheticBundle(index);
    Reply r = Post("/v1/me/import", bundle, citizen.token);
    EXPECT_EQ(r.status, 200) << r.body;
    const json parsed = json::parse(bundle);
    for (const json& e : parsed["entry"]) {
      if (e["resource"]["resourceType"] == "Patient")
        return e["resource"]["id"];
    }
    return "";
  }
  Reply Fhir(const std::string& path, const std::string& token) const {
    return Get(path, token);
  }
  // The resources of every page of a search.
  std::vector<json> Search(std::string path, const std::string& token) const {
    std::vector<json> out;
    for (int n = 0; n < 100; ++n) {
      Reply r = Fhir(path, token);
      EXPECT_EQ(r.status, 200) << path << " " << r.body.substr(0, 300);
      if (r.status != 200) break;
      const json b = r.Json();
      for (const json& e : b.value("entry", json::array()))
        if (e["search"]["mode"] == "match") out.push_back(e["resource"]);
      std::string next;
      for (const json& l : b["link"])
        if (l["relation"] == "next") next = l["url"];
      if (next.empty()) break;
      path = next.substr(next.find("/fhir/"));
    }
    return out;
  }
  static std::string OAuthError(const Reply& r) {
    return r.Json().is_object() ? r.Json().value("error", "") : "";
  }

  FakeClock clock_{Clock::System().NowSeconds()};
  bool limited_ = false;
  std::string client_id_;
};

bool HasCategoryCode(const json& resource, const std::string& code) {
  for (const json& c : resource.value("category", json::array()))
    for (const json& coding : c.value("coding", json::array()))
      if (coding.value("code", "") == code) return true;
  return false;
}

TEST_F(SmartTest, DiscoveryNamesTheEndpointsAndOnlyS256) {
  Reply r = Get("/fhir/.well-known/smart-configuration");
  ASSERT_EQ(r.status, 200) << r.body;
  const json c = r.Json();
  EXPECT_EQ(c["authorization_endpoint"], Base() + "/authorize");
  EXPECT_EQ(c["token_endpoint"], Base() + "/token");
  EXPECT_EQ(c["code_challenge_methods_supported"], json::array({"S256"}));
  EXPECT_EQ(c["token_endpoint_auth_methods_supported"], json::array({"none"}));
  std::set<std::string> caps(c["capabilities"].begin(),
                             c["capabilities"].end());
  for (const char* cap : {"launch-standalone", "client-public",
                          "context-standalone-patient", "permission-v2"})
    EXPECT_TRUE(caps.count(cap)) << cap;
  // The CapabilityStatement says the same.
  const json m = Get("/fhir/metadata").Json();
  const json& security = m["rest"][0]["security"];
  EXPECT_EQ(security["service"][0]["coding"][0]["code"], "SMART-on-FHIR");
  std::map<std::string, std::string> uris;
  for (const json& e : security["extension"][0]["extension"])
    uris[e["url"]] = e["valueUri"];
  EXPECT_EQ(uris["authorize"], Base() + "/authorize");
  EXPECT_EQ(uris["token"], Base() + "/token");
}

TEST_F(SmartTest, AStandaloneLaunchOpensThePatientsRecordsToTheApp) {
  Principal citizen = NewCitizen();
  const std::string patient = Imported(citizen);
  const json token = Launch(citizen,
                            "launch/patient openid fhirUser "
                            "patient/*.read offline_access");
  EXPECT_EQ(token["token_type"], "Bearer");
  EXPECT_EQ(token["expires_in"], 3600);
  EXPECT_EQ(token["patient"], patient);
  // openid and fhirUser are not granted: no id_token is issued.
  EXPECT_EQ(token["scope"], "launch/patient patient/*.read offline_access");
  EXPECT_FALSE(token.contains("id_token"));
  ASSERT_TRUE(token.contains("refresh_token"));
  const std::string access = token["access_token"];

  Reply p = Fhir("/fhir/Patient/" + patient, access);
  ASSERT_EQ(p.status, 200) << p.body;
  EXPECT_EQ(p.Json()["id"], patient);
  // Only the chosen categories: lab results and vital signs are there,
  // encounters are not.
  const std::vector<json> all =
      Search("/fhir/Patient/" + patient + "/$everything?_count=200", access);
  const json counts = Get("/v1/me", citizen.token).Json()["by_category"];
  const int64_t expected = counts.value("patient-summary", 0) +
                           counts.value("lab-results", 0) +
                           counts.value("vital-signs", 0);
  EXPECT_EQ(static_cast<int64_t>(all.size()), expected);
  ASSERT_GT(counts.value("encounters", 0), 0);
  for (const json& r : all) EXPECT_NE(r["resourceType"], "Encounter");

  // The token opens /fhir only.
  EXPECT_EQ(Get("/v1/me", access).status, 403);
  EXPECT_EQ(Get("/v1/me/records", access).status, 403);

  // Its reads are in the log as the app's, with the authorisation.
  const json apps = Get("/v1/me/apps", citizen.token).Json()["apps"];
  ASSERT_EQ(apps.size(), 1u);
  const std::string authorization = apps[0]["id"];
  EXPECT_EQ(apps[0]["client_id"], client_id_);
  EXPECT_EQ(apps[0]["name"], "Diary");
  EXPECT_EQ(apps[0]["categories"],
            json::array({"patient-summary", "lab-results", "vital-signs"}));
  int app_entries = 0;
  for (const json& e : AuditFor(citizen.id, NewAuditor().token)) {
    if (e["actor_kind"] != "app") continue;
    ++app_entries;
    EXPECT_EQ(e["actor_id"], client_id_);
    EXPECT_EQ(e["grants"], json::array({authorization}));
  }
  EXPECT_GE(app_entries, 2);  // the read and the pages of $everything
  // The citizen's log names the app.
  bool named = false;
  const json log = Get("/v1/me/access-log?limit=100", citizen.token).Json();
  for (const json& e : log["entries"]) {
    if (e["actor_kind"] == "app")
      named = named || e.value("app", "") == "Diary";
  }
  EXPECT_TRUE(named);
}

TEST_F(SmartTest, AnUnknownAppOrRedirectIsAnsweredHereNeverRedirected) {
  auto params = AuthorizeParams();
  params["client_id"] = "app_00000000000000000000000000000000";
  Reply r = Authorize(params);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Json()["resourceType"], "OperationOutcome");
  EXPECT_EQ(r.Header("Location"), "");

  params = AuthorizeParams();
  params["redirect_uri"] = std::string(kRedirect) + "/other";
  r = Authorize(params);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.Header("Location"), "");
  params.erase("redirect_uri");
  EXPECT_EQ(Authorize(params).status, 400);
}

TEST_F(SmartTest, OtherAuthorizeErrorsGoBackToTheAppWithTheState) {
  struct Case {
    std::string param, value, error;
  };
  const std::vector<Case> cases = {
      {"response_type", "token", "unsupported_response_type"},
      {"code_challenge_method", "plain", "invalid_request"},
      {"code_challenge_method", "", "invalid_request"},
      {"code_challenge", "short", "invalid_request"},
      {"aud", "https://elsewhere.example/fhir", "invalid_request"},
      {"scope", "user/*.read system/*.read", "invalid_scope"},
      {"scope", "patient/Observation.write", "invalid_scope"},
      {"launch", "xyz", "invalid_request"},
  };
  for (const Case& c : cases) {
    auto params = AuthorizeParams();
    params[c.param] = c.value;
    Reply r = Authorize(params);
    EXPECT_EQ(r.status, 302) << c.param << "=" << c.value;
    const std::string location = r.Header("Location");
    EXPECT_EQ(location.substr(0, std::string(kRedirect).size()), kRedirect);
    EXPECT_EQ(QueryValue(location, "error"), c.error)
        << c.param << "=" << c.value << ": " << location;
    EXPECT_EQ(QueryValue(location, "state"), "st4te");
    EXPECT_EQ(QueryValue(location, "code"), "");
  }
  // The second registered redirect works as well.
  auto params = AuthorizeParams();
  params["redirect_uri"] = "http://127.0.0.1:9/cb";
  EXPECT_EQ(Authorize(params).status, 302);
}

TEST_F(SmartTest, TheCitizensAnswerIsCheckedBeforeTheRequestIsUsed) {
  Principal citizen = NewCitizen();
  Imported(citizen);
  const std::string id = RequestId(AuthorizeParams(
      "launch/patient patient/Observation.rs?category=laboratory "
      "offline_access"));
  Reply shown = Get("/v1/me/app-requests/" + id, citizen.token);
  ASSERT_EQ(shown.status, 200) << shown.body;
  const json request = shown.Json();
  EXPECT_EQ(request["app"]["name"], "Diary");
  EXPECT_EQ(request["app"]["redirect_uri"], kRedirect);
  EXPECT_EQ(request["offline_access"], true);
  ASSERT_EQ(request["scopes"].size(), 1u);
  EXPECT_EQ(request["scopes"][0]["resource_type"], "Observation");
  EXPECT_EQ(request["scopes"][0]["category"], "laboratory");
  EXPECT_EQ(request["categories"].size(), 10u);

  for (const json& bad :
       {json{{"categories", {"lab-results"}}}, json{{"approve", "yes"}},
        json{{"approve", true}},
        json{{"approve", true}, {"categories", json::array()}},
        json{{"approve", true}, {"categories", {"labs"}}},
        json{{"approve", true},
             {"categories", {"lab-results"}},
             {"include_sensitive", "no"}},
        json{{"approve", true},
             {"categories", {"lab-results"}},
             {"scope", "patient/*.rs"}},
        json{{"approve", false}, {"categories", {"other"}}}}) {
    Reply r = Post("/v1/me/app-requests/" + id, bad.dump(), citizen.token);
    EXPECT_EQ(r.status, 400) << bad.dump();
  }
  EXPECT_EQ(Get("/v1/me/app-requests/" + id, citizen.token).status, 200);

  // A refusal goes back to the app and uses the request up.
  Reply no =
      Post("/v1/me/app-requests/" + id, R"({"approve":false})", citizen.token);
  ASSERT_EQ(no.status, 200) << no.body;
  const std::string redirect = no.Json()["redirect"];
  EXPECT_EQ(QueryValue(redirect, "error"), "access_denied");
  EXPECT_EQ(QueryValue(redirect, "state"), "st4te");
  EXPECT_EQ(Get("/v1/me/app-requests/" + id, citizen.token).status, 404);
  EXPECT_EQ(
      Post("/v1/me/app-requests/" + id, R"({"approve":false})", citizen.token)
          .status,
      404);
  EXPECT_EQ(Get("/v1/me/apps", citizen.token).Json()["apps"].size(), 0u);
  EXPECT_EQ(Get("/v1/me/app-requests/ar_0", citizen.token).status, 404);
}

TEST_F(SmartTest, ARequestExpiresAfterTenMinutes) {
  Principal citizen = NewCitizen();
  Imported(citizen);
  const std::string id = RequestId(AuthorizeParams());
  clock_.Advance(601);
  EXPECT_EQ(Get("/v1/me/app-requests/" + id, citizen.token).status, 404);
}

TEST_F(SmartTest, AnApprovalNeedsTheCitizensPatient) {
  Principal citizen = NewCitizen();  // nothing imported
  const std::string id = RequestId(AuthorizeParams());
  Reply r =
      Post("/v1/me/app-requests/" + id,
           R"({"approve":true,"categories":["lab-results"]})", citizen.token);
  EXPECT_EQ(r.status, 409) << r.body;
  // Still waiting: the citizen may import and answer again.
  EXPECT_EQ(Get("/v1/me/app-requests/" + id, citizen.token).status, 200);
}

TEST_F(SmartTest, ACodeIsSingleUseShortLivedAndBoundToItsVerifierAndApp) {
  Principal citizen = NewCitizen();
  Imported(citizen);
  auto fresh = [&] { return Approve(citizen, RequestId(AuthorizeParams())); };

  // A wrong verifier spends the code.
  std::string code = fresh();
  auto form = CodeForm(code);
  form["code_verifier"] = std::string(kVerifier) + "x";
  Reply r = Exchange(form);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(OAuthError(r), "invalid_grant");
  EXPECT_EQ(OAuthError(Exchange(CodeForm(code))), "invalid_grant");

  // Used once only.
  code = fresh();
  r = Exchange(CodeForm(code));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Cache-Control"), "no-store");
  EXPECT_EQ(OAuthError(Exchange(CodeForm(code))), "invalid_grant");

  // Another redirect URI or another app.
  for (auto [field, value] :
       {std::pair<std::string, std::string>{"redirect_uri",
                                            "http://127.0.0.1:9/cb"},
        {"client_id", "app_00000000000000000000000000000000"}}) {
    form = CodeForm(fresh());
    form[field] = value;
    EXPECT_EQ(OAuthError(Exchange(form)), "invalid_grant") << field;
  }

  // Sixty seconds.
  code = fresh();
  clock_.Advance(61);
  EXPECT_EQ(OAuthError(Exchange(CodeForm(code))), "invalid_grant");

  // Malformed requests.
  form = CodeForm("x");
  form.erase("code_verifier");
  EXPECT_EQ(OAuthError(Exchange(form)), "invalid_request");
  form = CodeForm("x");
  form["grant_type"] = "password";
  EXPECT_EQ(OAuthError(Exchange(form)), "unsupported_grant_type");
  r = Post("/fhir/token", json{{"grant_type", "authorization_code"}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(OAuthError(r), "invalid_request");
  EXPECT_EQ(OAuthError(Post("/fhir/token", "code=%zz", "",
                            "application/x-www-form-urlencoded")),
            "invalid_request");
  EXPECT_EQ(OAuthError(Post("/fhir/token", "code=a&code=b", "",
                            "application/x-www-form-urlencoded")),
            "invalid_request");
}

TEST_F(SmartTest, ScopesAndTheCitizensChoicesNarrowWhatTheAppSees) {
  Principal citizen = NewCitizen();
  const std::string patient = Imported(citizen);
  const json token =
      Launch(citizen,
             "launch/patient patient/Patient.r "
             "patient/Observation.rs?category=http://terminology.hl7.org/"
             "CodeSystem/observation-category|laboratory",
             json::array({"patient-summary", "lab-results", "vital-signs"}));
  const std::string access = token["access_token"];
  EXPECT_EQ(Fhir("/fhir/Patient/" + patient, access).status, 200);
  // Patient.r gives no search; Condition nothing.
  EXPECT_EQ(Fhir("/fhir/Patient?_id=" + patient, access).status, 403);
  EXPECT_EQ(Fhir("/fhir/Condition", access).status, 403);
  Reply forbidden = Fhir("/fhir/Condition/some-id", access);
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.Json()["resourceType"], "OperationOutcome");

  // Observations: only laboratory ones, all of them.
  const std::vector<json> found = Search("/fhir/Observation?_count=20", access);
  const std::vector<json> own =
      Search("/fhir/Observation?_count=1000", citizen.token);
  size_t labs = 0;
  std::string vital_id;
  for (const json& o : own) {
    if (HasCategoryCode(o, "laboratory")) ++labs;
    if (HasCategoryCode(o, "vital-signs")) vital_id = o["id"];
  }
  ASSERT_GT(labs, 0u);
  ASSERT_FALSE(vital_id.empty());
  EXPECT_EQ(found.size(), labs);
  for (const json& o : found) EXPECT_TRUE(HasCategoryCode(o, "laboratory"));
  // A vital sign is an Observation the filter leaves out: not found.
  EXPECT_EQ(Fhir("/fhir/Observation/" + vital_id, access).status, 404);

  // The citizen leaves lab results out: nothing is left of the scope.
  const json narrow = Launch(citizen, "launch/patient patient/Observation.rs",
                             json::array({"patient-summary", "vital-signs"}));
  for (const json& o :
       Search("/fhir/Observation?_count=200", narrow["access_token"]))
    EXPECT_FALSE(HasCategoryCode(o, "laboratory"));
}

TEST_F(SmartTest, RefreshNeedsOfflineAccessAndUsesTheOldTokenUp) {
  Principal citizen = NewCitizen();
  Imported(citizen);
  EXPECT_FALSE(Launch(citizen).contains("refresh_token"));

  const json first = Launch(citizen, "patient/*.rs offline_access");
  const std::string refresh = first["refresh_token"];
  Reply r =
      Exchange({{"grant_type", "refresh_token"}, {"refresh_token", refresh}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json second = r.Json();
  EXPECT_NE(second["access_token"], first["access_token"]);
  EXPECT_NE(second["refresh_token"], refresh);
  EXPECT_EQ(Fhir("/fhir/Observation?_count=1", second["access_token"]).status,
            200);
  // Spent; another app's; a wider scope.
  EXPECT_EQ(OAuthError(Exchange(
                {{"grant_type", "refresh_token"}, {"refresh_token", refresh}})),
            "invalid_grant");
  EXPECT_EQ(OAuthError(Exchange({{"grant_type", "refresh_token"},
                                 {"refresh_token", second["refresh_token"]},
                                 {"client_id", "app_1"}})),
            "invalid_grant");
  const json third = Launch(citizen, "patient/*.rs offline_access");
  EXPECT_EQ(
      OAuthError(Exchange({{"grant_type", "refresh_token"},
                           {"refresh_token", third["refresh_token"]},
                           {"scope", "patient/Condition.rs offline_access"}})),
      "invalid_scope");
}

TEST_F(SmartTest, RevokingEndsTheAppsTokensAtOnce) {
  Principal citizen = NewCitizen();
  Principal other = NewCitizen();
  Imported(citizen);
  const json token = Launch(citizen, "patient/*.rs offline_access");
  const std::string access = token["access_token"];
  ASSERT_EQ(Fhir("/fhir/Observation?_count=1", access).status, 200);
  const std::string id =
      Get("/v1/me/apps", citizen.token).Json()["apps"][0]["id"];

  EXPECT_EQ(Delete("/v1/me/apps/" + id, other.token).status, 404);
  EXPECT_EQ(Delete("/v1/me/apps/aa_0", citizen.token).status, 404);
  Reply r = Delete("/v1/me/apps/" + id, citizen.token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.Json().contains("revoked"));
  EXPECT_EQ(Fhir("/fhir/Observation?_count=1", access).status, 401);
  EXPECT_EQ(OAuthError(Exchange({{"grant_type", "refresh_token"},
                                 {"refresh_token", token["refresh_token"]}})),
            "invalid_grant");
  EXPECT_EQ(Delete("/v1/me/apps/" + id, citizen.token).status, 409);
  const json listed = Get("/v1/me/apps", citizen.token).Json()["apps"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed[0].contains("revoked"));
}

TEST_F(SmartTest, ErasureRevokesTheCitizensApps) {
  Principal citizen = NewCitizen();
  Imported(citizen);
  const std::string access = Launch(citizen)["access_token"];
  ASSERT_EQ(
      Delete("/v1/me", citizen.token, json{{"confirm", citizen.id}}.dump())
          .status,
      200);
  EXPECT_EQ(Fhir("/fhir/Observation", access).status, 401);
}

class SmartLimitTest : public SmartTest {
 protected:
  SmartLimitTest() { limited_ = true; }
};

TEST_F(SmartLimitTest, FailedExchangesFromOneAddressAreLimited) {
  Reply r;
  for (int i = 0; i < 20 && r.status != 429; ++i)
    r = Exchange(CodeForm(std::string(64, 'a')));
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.Header("Retry-After").empty());
}

}  // namespace
}  // namespace tillit::testing
