// What a citizen, their proxy and a guardian notice about the proxy rules:
// what a proxy may do, when it stops, and what it sees.
#include "tillit/consent/proxy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "policy_test_util.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using testing::At;
using testing::TestId;

const int64_t kNow = At("2026-06-15T12:00:00Z");
const std::string kProxy = TestId("c_", 2);
const std::string kChild = TestId("c_", 3);

ProxyAuthorisation Parsed(const json& body) {
  auto a = ParseProxy(body.dump(), kNow);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  ProxyAuthorisation out = a.ok() ? *a : ProxyAuthorisation{};
  out.id = TestId("px_", 1);
  return out;
}

ProxyDecision Decide(const std::vector<ProxyAuthorisation>& list,
                     ProxyNeed need, int64_t now = kNow,
                     std::string_view purpose = "", CategorySet hidden = 0) {
  return DecideProxy(list, ProxyRequest{kProxy, need, purpose}, now, hidden);
}

TEST(ProxyJsonTest, ANewAuthorisationReadsEveryMember) {
  ProxyAuthorisation a =
      Parsed({{"proxy", kProxy},
              {"access", "read-write"},
              {"categories", {"prescriptions", "patient-summary"}},
              {"purpose", "care-coordination"},
              {"until", "2026-12-31"},
              {"include_sensitive", true}});
  EXPECT_EQ(a.proxy_id, kProxy);
  EXPECT_EQ(a.access, ProxyAuthorisation::Access::kReadWrite);
  EXPECT_EQ(a.categories, CategoryBit(Category::kPrescriptions) |
                              CategoryBit(Category::kPatientSummary));
  EXPECT_EQ(a.purpose, "care-coordination");
  EXPECT_EQ(*a.until, At("2027-01-01T00:00:00Z"));  // the whole last day
  EXPECT_TRUE(a.include_sensitive);
  EXPECT_FALSE(a.include_restricted);
  EXPECT_EQ(*a.start, kNow);

  json api = json::parse(ProxyToApiJson(a, kChild, kNow));
  EXPECT_EQ(api["until"], "2026-12-31");
  EXPECT_EQ(api["status"], "active");
  EXPECT_EQ(api["citizen"], kChild);
  EXPECT_EQ(api["categories"], json({"patient-summary", "prescriptions"}));
}

TEST(ProxyJsonTest, AllCategoriesAreTheDefaultAndShownAsAbsent) {
  ProxyAuthorisation a = Parsed({{"proxy", kProxy}, {"access", "read"}});
  EXPECT_EQ(a.categories, kAllCategories);
  EXPECT_FALSE(a.until.has_value());
  json api = json::parse(ProxyToApiJson(a, kChild, kNow));
  EXPECT_FALSE(api.contains("categories"));
  EXPECT_TRUE(api["until"].is_null());
}

TEST(ProxyJsonTest, BadBodiesNameTheMember) {
  struct Case {
    json body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"access", "read"}}, "proxy: required"},
      {{{"proxy", "c_short"}, {"access", "read"}}, "proxy: must be a citizen"},
      {{{"proxy", kProxy}}, "access: required"},
      {{{"proxy", kProxy}, {"access", "write"}}, "access: must be"},
      {{{"proxy", kProxy}, {"access", "read"}, {"categories", json::array()}},
       "categories: must be a non-empty list"},
      {{{"proxy", kProxy}, {"access", "read"}, {"categories", {"lab"}}},
       "categories: not a record category"},
      {{{"proxy", kProxy},
        {"access", "read"},
        {"categories", {"patient-summary", "patient-summary"}}},
       "categories: a category twice"},
      {{{"proxy", kProxy}, {"access", "read"}, {"purpose", "two words"}},
       "purpose: must be a code"},
      {{{"proxy", kProxy}, {"access", "read"}, {"until", "2026-06-14"}},
       "until: must not be past"},
      {{{"proxy", kProxy}, {"access", "read"}, {"until", "next week"}},
       "until: must be a date"},
      {{{"proxy", kProxy}, {"access", "read"}, {"include_sensitive", "yes"}},
       "include_sensitive: must be true or false"},
      {{{"proxy", kProxy}, {"access", "read"}, {"role", "admin"}},
       "role: unknown field"},
  };
  for (const Case& c : cases) {
    auto a = ParseProxy(c.body.dump(), kNow);
    ASSERT_FALSE(a.ok()) << c.body;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(a.status().message().find(c.message), std::string::npos)
        << a.status().message();
  }
  // The last day may be today.
  EXPECT_TRUE(
      ParseProxy(
          json({{"proxy", kProxy}, {"access", "read"}, {"until", "2026-06-15"}})
              .dump(),
          kNow)
          .ok());
  // A change cannot move the authorisation to another person.
  auto moved = ParseProxy(json({{"proxy", kProxy}, {"access", "read"}}).dump(),
                          kNow, true);
  ASSERT_FALSE(moved.ok());
  EXPECT_NE(moved.status().message().find("proxy: cannot be changed"),
            std::string::npos);
}

TEST(ProxyJsonTest, TheStoredFormReadsBackAndRefusesDamage) {
  ProxyAuthorisation a = Parsed({{"proxy", kProxy},
                                 {"access", "read"},
                                 {"categories", {"imaging"}},
                                 {"until", "2027-01-31"},
                                 {"include_restricted", true}});
  a.revoked_at = kNow + 5;
  auto back = ProxyFromStoredJson(ProxyToStoredJson(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ProxyToStoredJson(*back), ProxyToStoredJson(a));
  EXPECT_EQ(ProxyStatus(*back, kNow + 10), "revoked");

  json damaged = json::parse(ProxyToStoredJson(a));
  damaged["categories"] = 0;
  EXPECT_EQ(ProxyFromStoredJson(damaged.dump()).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ProxyFromStoredJson("not json").status().code(),
            StatusCode::kDataLoss);
}

TEST(ProxyDecisionTest, AReadOnlyProxyReadsButNeverWrites) {
  std::vector<ProxyAuthorisation> list = {
      Parsed({{"proxy", kProxy}, {"access", "read"}})};
  EXPECT_EQ(Decide(list, ProxyNeed::kRead).outcome,
            ProxyDecision::Outcome::kPermit);
  ProxyDecision write = Decide(list, ProxyNeed::kWrite);
  EXPECT_EQ(write.outcome, ProxyDecision::Outcome::kBeyond);
  EXPECT_NE(write.why.find("reading only"), std::string::npos);
}

TEST(ProxyDecisionTest, SomeoneNotAuthorisedIsNotRepresented) {
  std::vector<ProxyAuthorisation> list = {
      Parsed({{"proxy", TestId("c_", 9)}, {"access", "read-write"}})};
  EXPECT_EQ(Decide(list, ProxyNeed::kRead).outcome,
            ProxyDecision::Outcome::kNotRepresented);
  EXPECT_EQ(Decide({}, ProxyNeed::kRead).outcome,
            ProxyDecision::Outcome::kNotRepresented);
}

TEST(ProxyDecisionTest, PastItsLastDayOrRevokedTheProxyIsNoLongerRepresented) {
  std::vector<ProxyAuthorisation> list = {
      Parsed({{"proxy", kProxy}, {"access", "read"}, {"until", "2026-06-20"}})};
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, At("2026-06-20T23:59:59Z")).outcome,
            ProxyDecision::Outcome::kPermit);
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, At("2026-06-21T00:00:00Z")).outcome,
            ProxyDecision::Outcome::kNotRepresented);
  EXPECT_EQ(ProxyStatus(list[0], At("2026-06-21T00:00:00Z")), "expired");

  list[0].until.reset();
  list[0].revoked_at = kNow + 1;
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, kNow + 1).outcome,
            ProxyDecision::Outcome::kNotRepresented);
}

TEST(ProxyDecisionTest, APurposeBoundProxyMustStateItsPurpose) {
  std::vector<ProxyAuthorisation> list = {Parsed(
      {{"proxy", kProxy}, {"access", "read"}, {"purpose", "dialysis-care"}})};
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, kNow, "").outcome,
            ProxyDecision::Outcome::kBeyond);
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, kNow, "holiday").outcome,
            ProxyDecision::Outcome::kBeyond);
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, kNow, "dialysis-care").outcome,
            ProxyDecision::Outcome::kPermit);
}

TEST(ProxyDecisionTest, ManagingSettingsNeedsAnAuthorisationForAllData) {
  std::vector<ProxyAuthorisation> list = {
      Parsed({{"proxy", kProxy},
              {"access", "read-write"},
              {"categories", {"prescriptions"}}})};
  EXPECT_EQ(Decide(list, ProxyNeed::kManage).outcome,
            ProxyDecision::Outcome::kBeyond);
  list[0] = Parsed({{"proxy", kProxy},
                    {"access", "read-write"},
                    {"include_sensitive", true},
                    {"include_restricted", true}});
  EXPECT_EQ(Decide(list, ProxyNeed::kManageWrite).outcome,
            ProxyDecision::Outcome::kPermit);
  list[0].access = ProxyAuthorisation::Access::kRead;
  EXPECT_EQ(Decide(list, ProxyNeed::kManage).outcome,
            ProxyDecision::Outcome::kPermit);
  EXPECT_EQ(Decide(list, ProxyNeed::kManageWrite).outcome,
            ProxyDecision::Outcome::kBeyond);
}

TEST(ProxyDecisionTest,
     AProxySeesItsCategoriesAndNoRestrictedOrSensitiveRecord) {
  std::vector<ProxyAuthorisation> list = {
      Parsed({{"proxy", kProxy},
              {"access", "read"},
              {"categories", {"prescriptions", "patient-summary"}}})};
  ProxyDecision d = Decide(list, ProxyNeed::kRead);
  ASSERT_EQ(d.outcome, ProxyDecision::Outcome::kPermit);
  EXPECT_EQ(d.authorisation_id, TestId("px_", 1));
  Restrictions restricted;
  restricted.categories = CategoryBit(Category::kPatientSummary);
  restricted.records = {"MedicationRequest/m2"};

  auto facts = [](std::string_view type, std::string_view id, Category c) {
    RecordFacts r;
    r.type = type;
    r.id = id;
    r.category = c;
    return r;
  };
  RecordFacts med = facts("MedicationRequest", "m1", Category::kPrescriptions);
  RecordFacts hidden_med =
      facts("MedicationRequest", "m2", Category::kPrescriptions);
  RecordFacts allergy =
      facts("AllergyIntolerance", "a1", Category::kPatientSummary);
  RecordFacts lab = facts("Observation", "o1", Category::kLabResults);
  RecordFacts sensitive_med =
      facts("MedicationRequest", "m3", Category::kPrescriptions);
  sensitive_med.sensitive = true;
  EXPECT_TRUE(ProxyReleases(restricted, d, med));
  EXPECT_FALSE(ProxyReleases(restricted, d, hidden_med));
  EXPECT_FALSE(ProxyReleases(restricted, d, allergy));
  EXPECT_FALSE(ProxyReleases(restricted, d, lab));
  EXPECT_FALSE(ProxyReleases(restricted, d, sensitive_med));

  list[0].include_restricted = true;
  list[0].include_sensitive = true;
  d = Decide(list, ProxyNeed::kRead);
  EXPECT_TRUE(ProxyReleases(restricted, d, hidden_med));
  EXPECT_TRUE(ProxyReleases(restricted, d, allergy));
  EXPECT_TRUE(ProxyReleases(restricted, d, sensitive_med));
  EXPECT_FALSE(ProxyReleases(restricted, d, lab));
}

TEST(GuardianshipTest,
     AGuardianActsFromStartToEndAndSeesAllButHiddenCategories) {
  auto g = ParseGuardianship(json({{"guardian", kProxy},
                                   {"citizen", kChild},
                                   {"start", "2026-07-01"},
                                   {"end", "2034-03-09"}})
                                 .dump(),
                             kNow);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->citizen_id, kChild);
  std::vector<ProxyAuthorisation> list = {g->authorisation};
  EXPECT_EQ(ProxyStatus(list[0], kNow), "scheduled");
  EXPECT_EQ(Decide(list, ProxyNeed::kRead).outcome,
            ProxyDecision::Outcome::kNotRepresented);
  const int64_t during = At("2030-01-01T00:00:00Z");
  const CategorySet hidden = CategoryBit(Category::kPrescriptions);
  EXPECT_EQ(Decide(list, ProxyNeed::kManageWrite, during).outcome,
            ProxyDecision::Outcome::kPermit);
  // Settings would show the hidden category: not where one is hidden.
  EXPECT_EQ(Decide(list, ProxyNeed::kManage, during, "", hidden).outcome,
            ProxyDecision::Outcome::kBeyond);
  ProxyDecision d = Decide(list, ProxyNeed::kRead, during, "", hidden);
  ASSERT_EQ(d.outcome, ProxyDecision::Outcome::kPermit);
  EXPECT_EQ(d.kind, ProxyAuthorisation::Kind::kGuardian);
  EXPECT_FALSE(ProxyCovers(d, Category::kPrescriptions));
  EXPECT_TRUE(ProxyCovers(d, Category::kLabResults));
  const int64_t after = At("2034-03-10T00:00:00Z");
  EXPECT_EQ(ProxyStatus(list[0], after), "ended");
  EXPECT_EQ(Decide(list, ProxyNeed::kRead, after).outcome,
            ProxyDecision::Outcome::kNotRepresented);
}

TEST(GuardianshipTest, BadRecordsAreRefused) {
  struct Case {
    json body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"citizen", kChild}, {"start", "2026-01-01"}}, "guardian: required"},
      {{{"guardian", kChild}, {"citizen", kChild}, {"start", "2026-01-01"}},
       "guardian: must be another citizen"},
      {{{"guardian", kProxy}, {"citizen", kChild}}, "start: required"},
      {{{"guardian", kProxy},
        {"citizen", kChild},
        {"start", "2026-01-01"},
        {"end", "2025-01-01"}},
       "end: must not be before start"},
      {{{"guardian", kProxy},
        {"citizen", kChild},
        {"start", "2020-01-01"},
        {"end", "2021-01-01"}},
       "end: must not be past"},
      {{{"guardian", kProxy},
        {"citizen", kChild},
        {"start", "2026-01-01"},
        {"access", "read"}},
       "access: unknown field"},
  };
  for (const Case& c : cases) {
    auto g = ParseGuardianship(c.body.dump(), kNow);
    ASSERT_FALSE(g.ok()) << c.body;
    EXPECT_NE(g.status().message().find(c.message), std::string::npos)
        << g.status().message();
  }
}

}  // namespace
}  // namespace tillit::consent
