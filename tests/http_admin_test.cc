// Operator routes, enrollment, the public routes and the request pipeline
// (errors, authentication), over real HTTP.
#include <set>

#include "http_fixture.h"

namespace tillit::testing {
namespace {

using AdminTest = HttpTest;

TEST_F(AdminTest, HealthzAndPublicKeyNeedNoToken) {
  Reply h = Get("/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.Json()["status"], "ok");
  EXPECT_FALSE(h.Header("X-Request-Id").empty());
  Reply k = Get("/v1/audit/public-key");
  EXPECT_EQ(k.status, 200);
  EXPECT_EQ(k.body.rfind("tillit-audit+", 0), 0u) << k.body;
}

TEST_F(AdminTest, CitizenCreationAndEnrollmentGiveAWorkingToken) {
  Reply c = Post("/v1/admin/citizens", "", admin_);
  ASSERT_EQ(c.status, 201) << c.body;
  const std::string id = c.Json()["citizen_id"];
  const std::string code = c.Json()["enrollment_code"];
  EXPECT_EQ(id.rfind("c_", 0), 0u);
  Reply e = Post("/v1/enroll", json{{"enrollment_code", code}}.dump());
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.Json()["citizen_id"], id);
  const std::string token = e.Json()["token"];
  EXPECT_NE(token, code);
  // The code works once.
  Reply again = Post("/v1/enroll", json{{"enrollment_code", code}}.dump());
  EXPECT_EQ(again.status, 401);
  EXPECT_EQ(again.ErrorCode(), "unauthenticated");
  // The token is a citizen's: refused on admin routes.
  Reply denied = Post("/v1/admin/citizens", "{}", token);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(denied.ErrorCode(), "forbidden");
  // A fresh code can be issued for the citizen (another device).
  Reply code2 =
      Post("/v1/admin/citizens/" + id + "/enrollment-code", "", admin_);
  ASSERT_EQ(code2.status, 201) << code2.body;
  Reply e2 =
      Post("/v1/enroll",
           json{{"enrollment_code", code2.Json()["enrollment_code"]}}.dump());
  EXPECT_EQ(e2.status, 200);
  EXPECT_EQ(e2.Json()["citizen_id"], id);
  EXPECT_EQ(Post("/v1/admin/citizens/c_00000000000000000000000000000000/"
                 "enrollment-code",
                 "", admin_)
                .status,
            404);
}

TEST_F(AdminTest, RegistersResearchersProvidersAndAuditorsWithContractShapes) {
  Principal r = NewResearcher();
  EXPECT_EQ(r.id.rfind("r_", 0), 0u);
  EXPECT_EQ(r.token.rfind("tlk_", 0), 0u);
  Principal p = NewProvider();
  EXPECT_EQ(p.id.rfind("p_", 0), 0u);
  Principal a = NewAuditor();
  EXPECT_EQ(a.id.rfind("a_", 0), 0u);
  std::set<std::string> tokens = {r.token, p.token, a.token, admin_};
  EXPECT_EQ(tokens.size(), 4u);
}

TEST_F(AdminTest, BadRegistrationsAreRefusedNamingTheField) {
  struct Case {
    json body;
    std::string field;
  };
  const std::string key = crypto::Base64Encode(
      crypto::BoxKeyPair::Generate(crypto::Random::System()).public_key);
  json good = {{"name", "Ada"},
               {"organization", "KI"},
               {"org_type", "academic"},
               {"country", "SE"},
               {"public_key", key}};
  std::vector<Case> cases;
  json c = good;
  c["org_type"] = "pirate";
  cases.push_back({c, "org_type"});
  c = good;
  c["country"] = "Sweden";
  cases.push_back({c, "country"});
  c = good;
  c["public_key"] = "AAAA";
  cases.push_back({c, "public_key"});
  c = good;
  // A low-order point (all zeros) would make sealing useless.
  c["public_key"] = crypto::Base64Encode(std::vector<uint8_t>(32, 0));
  cases.push_back({c, "public_key"});
  c = good;
  c.erase("name");
  cases.push_back({c, "name"});
  c = good;
  c["extra"] = 1;
  cases.push_back({c, "extra"});
  for (const Case& k : cases) {
    Reply r = Post("/v1/admin/researchers", k.body.dump(), admin_);
    EXPECT_EQ(r.status, 400) << k.body.dump();
    EXPECT_EQ(r.ErrorCode(), "invalid_argument");
    EXPECT_NE(r.Json()["error"]["message"].get<std::string>().find(k.field),
              std::string::npos)
        << r.body;
  }
  Reply p = Post("/v1/admin/providers", R"({"name": ""})", admin_);
  EXPECT_EQ(p.status, 400);
  Reply a = Post("/v1/admin/auditors", R"({"name": "x\u0001"})", admin_);
  EXPECT_EQ(a.status, 400);
}

TEST_F(AdminTest, TokensAreCheckedOnEveryRequest) {
  Reply none = Post("/v1/admin/citizens", "{}");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.ErrorCode(), "unauthenticated");
  EXPECT_FALSE(none.Header("WWW-Authenticate").empty());
  Reply bad = Post("/v1/admin/citizens", "{}", "tlk_" + std::string(64, '0'));
  EXPECT_EQ(bad.status, 401);
  ASSERT_TRUE(vault_->RevokeToken(admin_).ok());
  Reply revoked = Post("/v1/admin/citizens", "{}", admin_);
  EXPECT_EQ(revoked.status, 401);
}

TEST_F(AdminTest, ErrorsUseOneShapeWithTheRequestId) {
  Reply r = Get("/v1/nothing-here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.ErrorCode(), "not_found");
  EXPECT_EQ(r.Json()["error"]["request_id"], r.Header("X-Request-Id"));
  Reply m = Delete("/healthz");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.Header("Allow"), "GET");
  Reply q = Get("/healthz?debug=1");
  EXPECT_EQ(q.status, 400);
  EXPECT_NE(q.body.find("debug"), std::string::npos);
}

TEST_F(AdminTest, MalformedAndDeepJsonAre400AndNothingIsStored) {
  Reply malformed = Post("/v1/admin/providers", R"({"name": "x")", admin_);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(malformed.ErrorCode(), "invalid_argument");
  std::string deep = R"({"name": "x", "organization": )";
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  deep += "}";
  Reply nested = Post("/v1/admin/providers", deep, admin_);
  EXPECT_EQ(nested.status, 400);
  EXPECT_NE(nested.body.find("nested"), std::string::npos) << nested.body;
  EXPECT_TRUE(vault_->ListDirectory("provider")->empty());
  // The server keeps serving.
  EXPECT_EQ(Get("/healthz").status, 200);
}

TEST_F(AdminTest, ServerLogHasRequestIdsButNoTokens) {
  Reply r = Post("/v1/admin/citizens", "{}", admin_);
  ASSERT_EQ(r.status, 201);
  const std::string id = r.Header("X-Request-Id");
  StopServer();
  const std::string log = log_.str();
  EXPECT_NE(log.find("request_id=" + id), std::string::npos) << log;
  EXPECT_NE(log.find("route=/v1/admin/citizens status=201"), std::string::npos);
  EXPECT_EQ(log.find(admin_), std::string::npos);
  EXPECT_EQ(log.find(r.Json()["enrollment_code"].get<std::string>()),
            std::string::npos);
}

}  // namespace
}  // namespace tillit::testing
