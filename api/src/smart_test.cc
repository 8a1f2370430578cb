#include "smart.h"

#include <gtest/gtest.h>

#include "tillit/api/principals.h"

namespace tillit::api::internal {
namespace {

TEST(ScopesTest, GrantsReadingAndSearchingOfV1AndV2Scopes) {
  auto s = ParseScopes(
      "launch/patient openid fhirUser patient/Observation.rs "
      "patient/Condition.read patient/*.cruds offline_access");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->launch_patient);
  EXPECT_TRUE(s->offline);
  ASSERT_EQ(s->resources.size(), 3u);
  EXPECT_EQ(s->resources[0].type, "Observation");
  EXPECT_TRUE(s->resources[0].read && s->resources[0].search);
  EXPECT_EQ(s->resources[1].text, "patient/Condition.read");
  EXPECT_EQ(s->resources[2].text, "patient/*.rs");  // c, u and d dropped
  // openid and fhirUser are not granted (no id_token).
  EXPECT_EQ(ScopeString(*s),
            "launch/patient patient/Observation.rs patient/Condition.read "
            "patient/*.rs offline_access");
}

TEST(ScopesTest, PermissionsAndFiltersAreReadStrictly) {
  auto r = ParseScopes("patient/Observation.r patient/Procedure.s");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->resources.size(), 2u);
  EXPECT_TRUE(r->resources[0].read);
  EXPECT_FALSE(r->resources[0].search);
  EXPECT_FALSE(r->resources[1].read);
  EXPECT_TRUE(r->resources[1].search);

  auto f = ParseScopes(
      "patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
      "observation-category|laboratory");
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->resources.size(), 1u);
  ASSERT_TRUE(f->resources[0].category.has_value());
  EXPECT_EQ(f->resources[0].category->code, "laboratory");

  // Left out: writes only, out-of-order or unknown permissions, user and
  // system scopes, filters on v1 scopes or other than category, bad types.
  for (const char* dropped :
       {"patient/Observation.write", "patient/Observation.cu",
        "patient/Observation.sr", "patient/Observation.x",
        "patient/Observation.", "user/*.read", "system/*.rs",
        "patient/Observation.read?category=laboratory",
        "patient/Observation.rs?code=1234", "patient/observation.rs",
        "patient/Obs-ervation.rs", "patient/*", "launch", "profile"}) {
    auto d = ParseScopes(dropped);
    ASSERT_TRUE(d.ok()) << dropped;
    EXPECT_TRUE(d->resources.empty()) << dropped;
  }
  // A repeated scope is granted once.
  EXPECT_EQ(ParseScopes("patient/*.rs  patient/*.rs")->resources.size(), 1u);
}

TEST(ScopesTest, MalformedStringsAreRefused) {
  EXPECT_FALSE(ParseScopes(std::string(2001, 'a')).ok());
  EXPECT_FALSE(ParseScopes("patient/*.rs\tlaunch").ok());
  EXPECT_FALSE(ParseScopes("patient/*.rs \xc3\xa9").ok());
  std::string many;
  for (int i = 0; i < 51; ++i) many += "openid ";
  EXPECT_FALSE(ParseScopes(many).ok());
}

TEST(AppAuthorizationTest, ShowsOnlyWhatScopesAndChoicesGive) {
  AppAuthorization a;
  a.scopes = *ParseScopes(
      "patient/Observation.rs?category=laboratory patient/Patient.r");
  a.categories = consent::CategoryBit(fhir::Category::kLabResults) |
                 consent::CategoryBit(fhir::Category::kPatientSummary);
  vault::StoredRecord lab;
  lab.type = "Observation";
  lab.category = fhir::Category::kLabResults;
  lab.resource =
      R"({"resourceType":"Observation","category":[{"coding":[{"code":"laboratory"}]}]})";
  EXPECT_TRUE(a.Allows("Observation", true));
  EXPECT_FALSE(a.Allows("Patient", true));
  EXPECT_TRUE(a.Allows("Patient", false));
  EXPECT_FALSE(a.Allows("Condition", false));
  EXPECT_TRUE(a.Shows(lab, true));
  vault::StoredRecord sensitive = lab;
  sensitive.sensitive = true;
  EXPECT_FALSE(a.Shows(sensitive, true));
  a.include_sensitive = true;
  EXPECT_TRUE(a.Shows(sensitive, true));
  vault::StoredRecord vital = lab;
  vital.resource =
      R"({"resourceType":"Observation","category":[{"coding":[{"code":"vital-signs"}]}]})";
  EXPECT_FALSE(a.Shows(vital, true));  // the filter
  a.categories = consent::CategoryBit(fhir::Category::kPatientSummary);
  EXPECT_FALSE(a.Shows(lab, true));  // the citizen's choice
}

TEST(PkceTest, MatchesTheRfc7636Example) {
  EXPECT_TRUE(PkceMatches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                          "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  EXPECT_FALSE(PkceMatches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
                           "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  // plain: the verifier as its own challenge never matches.
  EXPECT_FALSE(PkceMatches("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                           "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
  EXPECT_FALSE(
      PkceMatches("short", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
  EXPECT_FALSE(PkceMatches(std::string(129, 'a'), "x"));
  EXPECT_FALSE(PkceMatches(std::string(43, '+'), "x"));
}

TEST(LaunchStateTest, CodesAreSingleUseAndExpire) {
  crypto::Random& rng = crypto::Random::System();
  LaunchState state(&rng);
  IssuedCode c;
  c.authorization_id = "aa_1";
  auto code = state.AddCode(c, 1000);
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->size(), 64u);
  auto taken = state.TakeCode(*code, 1000 + LaunchState::kCodeSeconds - 1);
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->authorization_id, "aa_1");
  EXPECT_FALSE(state.TakeCode(*code, 1001).has_value());
  auto late = state.AddCode(c, 1000);
  EXPECT_FALSE(state.TakeCode(*late, 1000 + LaunchState::kCodeSeconds));

  LaunchRequest r;
  auto id = state.AddRequest(r, 1000);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(state.FindRequest(*id, 1599).has_value());
  EXPECT_FALSE(state.FindRequest(*id, 1600).has_value());
  EXPECT_FALSE(state.TakeRequest(*id, 1600).has_value());
}

TEST(LaunchStateTest, PendingRequestsAreBounded) {
  LaunchState state(&crypto::Random::System());
  for (size_t i = 0; i < LaunchState::kMaxPending; ++i)
    ASSERT_TRUE(state.AddRequest({}, 1000).ok());
  EXPECT_EQ(state.AddRequest({}, 1000).status().code(),
            StatusCode::kResourceExhausted);
  // Expired ones make room.
  EXPECT_TRUE(state.AddRequest({}, 1000 + LaunchState::kRequestSeconds).ok());
}

TEST(RedirectUriTest, HttpsOrLoopbackOnly) {
  for (const char* ok :
       {"https://app.example/cb", "https://app.example:8443/cb?x=1",
        "http://127.0.0.1:9000/cb", "http://localhost/cb", "http://[::1]:80/"})
    EXPECT_TRUE(CheckRedirectUri(ok).ok()) << ok;
  for (const char* bad :
       {"", "http://app.example/cb", "http://127.0.0.1.evil.example/cb",
        "http://localhost.evil.example/", "https://", "https:///cb",
        "https://app.example/cb#frag", "https://app.example/a b",
        "ftp://app.example/", "com.example.app:/cb"})
    EXPECT_FALSE(CheckRedirectUri(bad).ok()) << bad;
  EXPECT_FALSE(
      CheckRedirectUri("https://a.example/" + std::string(2000, 'a')).ok());
}

}  // namespace
}  // namespace tillit::api::internal
