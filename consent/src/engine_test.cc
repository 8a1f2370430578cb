// What citizens, researchers and care providers notice about decisions:
// revocation, expiry, opt-out, restrictions, break-glass, excludes and what
// is released.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy_test_util.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

using testing::At;
using testing::TestId;

const int64_t kNow = At("2026-01-01T00:00:00Z");
const CategorySet kLab = CategoryBit(Category::kLabResults);
const CategorySet kVitals = CategoryBit(Category::kVitalSigns);
const CategorySet kSummary = CategoryBit(Category::kPatientSummary);
const CategorySet kImaging = CategoryBit(Category::kImaging);

ResearcherProfile Researcher() {
  ResearcherProfile r;
  r.id = TestId("r_", 1);
  r.org_type = OrgType::kAcademic;
  r.country = "SE";
  r.organization = "Karolinska Institutet";
  return r;
}

Study HmbStudy(CategorySet categories = kLab | kVitals) {
  Study s;
  s.id = TestId("s_", 1);
  s.researcher_id = TestId("r_", 1);
  s.purpose = {Purpose::kHMB, ""};
  s.categories = categories;
  s.ethics_approval = "EPN 2025-01234";
  return s;
}

Grant ResearchGrant(CategorySet categories = kLab) {
  Grant g;
  g.id = TestId("g_", 1);
  g.grantee.kind = Grantee::Kind::kAnyResearcher;
  g.purposes = {{Purpose::kHMB, ""}};
  g.categories = categories;
  g.created_at = kNow - 86400;
  return g;
}

Grant ProviderGrant(std::string provider_id, CategorySet categories) {
  Grant g;
  g.id = TestId("g_", 2);
  g.grantee.kind = provider_id.empty() ? Grantee::Kind::kAnyProvider
                                       : Grantee::Kind::kProvider;
  g.grantee.id = provider_id;
  g.purposes = {{Purpose::kCC, ""}};
  g.categories = categories;
  return g;
}

Decision Research(const CitizenPolicy& p, int64_t now = kNow,
                  const Study& study = HmbStudy()) {
  static const ResearcherProfile researcher = Researcher();
  Decision d;
  DecideResearch(p, {&researcher, &study}, now, &d);
  return d;
}

Decision Provider(const CitizenPolicy& p, const std::string& provider_id,
                  int64_t now = kNow, CategorySet categories = kAllCategories,
                  Period period = {}) {
  ProviderRequest req;
  req.provider_id = provider_id;
  req.categories = categories;
  req.data_period = period;
  Decision d;
  DecideProvider(p, req, now, &d);
  return d;
}

struct Rec {
  std::string type = "Observation";
  std::string id = "obs-1";
  Category category = Category::kLabResults;
  std::optional<int64_t> effective;
  bool sensitive = false;
  std::vector<std::string> codes;
  RecordFacts facts() const {
    return {type, id, category, effective, sensitive, codes};
  }
};

const std::string kP1 = TestId("p_", 1);
const std::string kP2 = TestId("p_", 2);

TEST(EngineTest, NoGrantsDenies) {
  const Decision d = Research(CitizenPolicy{});
  EXPECT_FALSE(d.permit);
  EXPECT_TRUE(d.permitting.empty() && d.reasons.empty() && d.scope.empty());
  EXPECT_FALSE(Provider(CitizenPolicy{}, kP1).permit);
}

TEST(EngineTest, RevokedGrantNeverPermits) {
  CitizenPolicy p;
  p.grants = {ResearchGrant()};
  EXPECT_TRUE(Research(p).permit);
  p.grants[0].status = Grant::Status::kRevoked;
  p.grants[0].revoked_at = kNow - 10;
  Decision d = Research(p);
  EXPECT_FALSE(d.permit);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].clause, Clause::kRevoked);
  // A revocation time alone also counts as revoked (fail closed).
  p.grants[0].status = Grant::Status::kActive;
  EXPECT_FALSE(Research(p).permit);
  // Provider grants too.
  p.grants = {ProviderGrant(kP1, kLab)};
  p.grants[0].status = Grant::Status::kRevoked;
  d = Provider(p, kP1);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reasons[0].clause, Clause::kRevoked);
}

TEST(EngineTest, ExpiryBoundaryInstant) {
  CitizenPolicy p;
  p.grants = {ResearchGrant(), ProviderGrant(kP1, kLab)};
  const int64_t expires = At("2026-06-30T12:00:00Z");
  p.grants[0].expires = expires;
  p.grants[1].expires = expires;
  EXPECT_TRUE(Research(p, expires - 1).permit);
  Decision d = Research(p, expires);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reasons[0].clause, Clause::kExpired);
  EXPECT_TRUE(Provider(p, kP1, expires - 1).permit);
  d = Provider(p, kP1, expires);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reasons[1].clause, Clause::kExpired);
}

TEST(EngineTest, TimeLimitBoundary) {
  CitizenPolicy p;
  const int64_t until = At("2026-03-01T00:00:00Z");
  Condition ts;
  ts.code = ConditionCode::kTS;
  ts.until = until;
  p.grants = {ResearchGrant(), ProviderGrant(kP1, kLab)};
  p.grants[0].conditions = {ts};
  p.grants[1].conditions = {ts};
  EXPECT_TRUE(Research(p, until - 1).permit);
  EXPECT_TRUE(Provider(p, kP1, until - 1).permit);
  const Decision research = Research(p, until);
  const Decision care = Provider(p, kP1, until);
  EXPECT_FALSE(research.permit);
  EXPECT_FALSE(care.permit);
  // Grant 0 is the research grant, grant 1 the provider grant.
  EXPECT_EQ(research.reasons[0].clause, Clause::kCondition);
  EXPECT_EQ(research.reasons[0].condition, ConditionCode::kTS);
  EXPECT_EQ(care.reasons[1].clause, Clause::kCondition);
  EXPECT_EQ(care.reasons[1].condition, ConditionCode::kTS);
}

TEST(EngineTest, OptOutDeniesAllResearchButNotCare) {
  CitizenPolicy p;
  p.grants = {ResearchGrant(), ResearchGrant(kVitals),
              ProviderGrant(kP1, kLab)};
  p.grants[1].status = Grant::Status::kRevoked;  // opt-out still comes first
  p.research_opt_out = true;
  const Decision d = Research(p);
  EXPECT_FALSE(d.permit);
  ASSERT_EQ(d.reasons.size(), 3u);
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(d.reasons[i].grant, i);
    EXPECT_EQ(d.reasons[i].clause, Clause::kOptOut);
  }
  EXPECT_TRUE(d.scope.empty());
  const Decision care = Provider(p, kP1);
  EXPECT_TRUE(care.permit);
  EXPECT_EQ(care.permitting, std::vector<uint32_t>{2});
  p.research_opt_out = false;
  EXPECT_TRUE(Research(p).permit);
}

TEST(EngineTest, ReasonsFollowClauseOrderAndGrantOrder) {
  CitizenPolicy p;
  Grant revoked = ResearchGrant();
  revoked.status = Grant::Status::kRevoked;
  revoked.expires = kNow - 1;  // also expired: revoked is reported
  Grant expired = ResearchGrant();
  expired.expires = kNow;
  Grant other = ResearchGrant();
  other.grantee = {Grantee::Kind::kResearcher, TestId("r_", 7), ""};
  other.purposes = {{Purpose::kPOA, ""}};  // purpose fails too
  Grant purpose = ResearchGrant();
  purpose.purposes = {{Purpose::kPOA, ""}};
  purpose.categories = kImaging;  // categories fail too
  Grant condition = ResearchGrant(kImaging);
  condition.conditions = {{ConditionCode::kGSO, {}, {}, {}}};
  Grant categories = ResearchGrant(kImaging);
  Grant ok = ResearchGrant(kLab | kImaging);
  p.grants = {revoked, expired, other, purpose, condition, categories, ok};
  const Decision d = Research(p);
  EXPECT_TRUE(d.permit);
  EXPECT_EQ(d.permitting, std::vector<uint32_t>{6});
  const Clause want[] = {Clause::kRevoked,   Clause::kExpired,
                         Clause::kGrantee,   Clause::kPurpose,
                         Clause::kCondition, Clause::kCategories};
  ASSERT_EQ(d.reasons.size(), 6u);
  for (uint32_t i = 0; i < 6; ++i) {
    EXPECT_EQ(d.reasons[i].grant, i);
    EXPECT_EQ(d.reasons[i].clause, want[i]) << i;
  }
  EXPECT_EQ(d.reasons[4].condition, ConditionCode::kGSO);
}

TEST(EngineTest, RestrictionsHideRecordsFromProvidersWithoutSayingSo) {
  CitizenPolicy p;
  p.grants = {ProviderGrant("", kLab | kVitals | kSummary)};
  p.restrictions.categories = kVitals;
  p.restrictions.records = {"Observation/hidden-1"};
  const Decision d = Provider(p, kP1);
  // The decision still permits, and looks exactly like one without
  // restrictions: same permitting grants, reasons and scope.
  CitizenPolicy unrestricted = p;
  unrestricted.restrictions = {};
  const Decision plain = Provider(unrestricted, kP1);
  EXPECT_TRUE(d.permit);
  EXPECT_EQ(d.permitting, plain.permitting);
  ASSERT_EQ(d.scope.size(), plain.scope.size());
  EXPECT_EQ(d.scope[0].categories, plain.scope[0].categories);
  EXPECT_TRUE(d.reasons.empty());
  EXPECT_FALSE(d.break_glass);

  Rec lab;
  EXPECT_TRUE(Releases(p, d, lab.facts(), /*primary_use=*/true));
  Rec hidden;
  hidden.id = "hidden-1";
  EXPECT_FALSE(Releases(p, d, hidden.facts(), true));
  Rec vitals;
  vitals.category = Category::kVitalSigns;
  EXPECT_FALSE(Releases(p, d, vitals.facts(), true));
  // Same type, other id; same id, other type: not hidden.
  Rec other = hidden;
  other.id = "hidden-10";
  EXPECT_TRUE(Releases(p, d, other.facts(), true));
  other = hidden;
  other.type = "Condition";
  other.category = Category::kPatientSummary;
  EXPECT_TRUE(Releases(p, d, other.facts(), true));
  // Restrictions are about primary use only.
  EXPECT_TRUE(Releases(p, d, hidden.facts(), /*primary_use=*/false));
}

TEST(EngineTest, PrimaryUseOptOutDeniesEveryProviderGrantButNotResearch) {
  CitizenPolicy p;
  p.grants = {ProviderGrant(kP1, kLab), ResearchGrant(),
              ProviderGrant("", kVitals)};  // any provider
  ASSERT_TRUE(Provider(p, kP1).permit);
  p.primary_use_opt_out = true;
  for (const std::string& provider : {kP1, kP2}) {
    const Decision d = Provider(p, provider);
    EXPECT_FALSE(d.permit);
    EXPECT_TRUE(d.permitting.empty());
    EXPECT_TRUE(d.scope.empty());
    ASSERT_EQ(d.reasons.size(), 3u);
    for (uint32_t i = 0; i < 3; ++i) {
      EXPECT_EQ(d.reasons[i].grant, i);
      EXPECT_EQ(d.reasons[i].clause, Clause::kOptOut);
    }
  }
  // Research is governed by the research opt-out alone.
  EXPECT_TRUE(Research(p).permit);
  // Turning it off is immediate: the next decision permits again.
  p.primary_use_opt_out = false;
  EXPECT_TRUE(Provider(p, kP1).permit);
}

TEST(EngineTest, BreakGlassReachesAnOptedOutCitizenOnlyWhereTheSettingAllows) {
  CitizenPolicy p;
  p.grants = {ProviderGrant(kP1, kLab)};
  p.grants[0].include_sensitive = true;
  p.primary_use_opt_out = true;
  p.break_glass = {{kP1, "emergency", kNow - 60, kNow + 3600}};
  ProviderRequest req;
  req.provider_id = kP1;
  Decision allowed;
  DecideProvider(p, req, kNow, &allowed);
  EXPECT_TRUE(allowed.permit);
  EXPECT_TRUE(allowed.break_glass);
  // The grant itself does not apply, so sensitive records stay out.
  EXPECT_TRUE(allowed.permitting.empty());
  ASSERT_EQ(allowed.scope.size(), 1u);
  EXPECT_EQ(allowed.scope[0].grant, UINT32_MAX);
  Rec sensitive;
  sensitive.sensitive = true;
  EXPECT_FALSE(Releases(p, allowed, sensitive.facts(), true));
  const Rec ordinary;
  EXPECT_TRUE(Releases(p, allowed, ordinary.facts(), true));

  req.break_glass_despite_opt_out = false;
  Decision refused;
  DecideProvider(p, req, kNow, &refused);
  EXPECT_FALSE(refused.permit);
  EXPECT_FALSE(refused.break_glass);
  EXPECT_TRUE(refused.scope.empty());
  // Without the opt-out the setting changes nothing.
  p.primary_use_opt_out = false;
  Decision plain;
  DecideProvider(p, req, kNow, &plain);
  EXPECT_TRUE(plain.permit);
  EXPECT_TRUE(plain.break_glass);
}

TEST(EngineTest, BreakGlassPermitsWithoutAGrantAndOverridesRestrictions) {
  CitizenPolicy p;
  p.restrictions.categories = kLab;
  p.restrictions.records = {"Observation/obs-1"};
  const int64_t started = kNow - 3600;
  p.break_glass = {
      {kP1, "unconscious in the emergency room", started, started + 24 * 3600}};
  const Period asked{At("2020-01-01"), std::nullopt};
  const Decision d = Provider(p, kP1, kNow, kLab | kVitals, asked);
  EXPECT_TRUE(d.permit);
  EXPECT_TRUE(d.break_glass);
  EXPECT_TRUE(d.permitting.empty());
  ASSERT_EQ(d.scope.size(), 1u);
  EXPECT_EQ(d.scope[0].grant, UINT32_MAX);
  EXPECT_EQ(d.scope[0].categories, kLab | kVitals);
  EXPECT_EQ(d.scope[0].period.start, asked.start);
  EXPECT_FALSE(d.scope[0].period.end);
  EXPECT_FALSE(d.scope[0].include_sensitive);

  Rec restricted;  // Observation/obs-1, lab: restricted twice over
  restricted.effective = At("2024-05-01");
  EXPECT_TRUE(Releases(p, d, restricted.facts(), true));
  Rec old = restricted;
  old.effective = At("2019-12-31");  // outside the requested period
  EXPECT_FALSE(Releases(p, d, old.facts(), true));
  Rec imaging = restricted;
  imaging.category = Category::kImaging;  // not requested
  EXPECT_FALSE(Releases(p, d, imaging.facts(), true));
}

TEST(EngineTest, BreakGlassDoesNotReleaseSensitiveRecordsWithoutAGrant) {
  CitizenPolicy p;
  p.break_glass = {{kP1, "emergency", kNow - 60, kNow - 60 + 86400}};
  Rec sensitive;
  sensitive.sensitive = true;
  Decision d = Provider(p, kP1);
  ASSERT_TRUE(d.permit);
  EXPECT_FALSE(Releases(p, d, sensitive.facts(), true));
  // A grant that includes sensitive records lets them through.
  p.grants = {ProviderGrant(kP1, kLab)};
  p.grants[0].include_sensitive = true;
  d = Provider(p, kP1);
  EXPECT_TRUE(d.break_glass);
  EXPECT_TRUE(Releases(p, d, sensitive.facts(), true));
  // ... but only in that grant's categories.
  Rec sensitive_vitals = sensitive;
  sensitive_vitals.category = Category::kVitalSigns;
  EXPECT_FALSE(Releases(p, d, sensitive_vitals.facts(), true));
}

TEST(EngineTest, BreakGlassLastsAtMost24Hours) {
  CitizenPolicy p;
  const int64_t started = kNow;
  p.break_glass = {{kP1, "emergency", started, started + 24 * 3600}};
  EXPECT_FALSE(Provider(p, kP1, started - 1).permit);
  EXPECT_TRUE(Provider(p, kP1, started).permit);
  EXPECT_TRUE(Provider(p, kP1, started + 24 * 3600 - 1).permit);
  const Decision after = Provider(p, kP1, started + 24 * 3600);
  EXPECT_FALSE(after.permit);
  EXPECT_FALSE(after.break_glass);
  // A longer expiry is capped at 24 hours.
  p.break_glass[0].expires = started + 48 * 3600;
  EXPECT_FALSE(Provider(p, kP1, started + 24 * 3600).permit);
  // An earlier expiry ends it earlier.
  p.break_glass[0].expires = started + 3600;
  EXPECT_FALSE(Provider(p, kP1, started + 3600).permit);
}

TEST(EngineTest, AnotherProvidersBreakGlassDoesNotApply) {
  CitizenPolicy p;
  p.break_glass = {{kP2, "emergency", kNow - 60, kNow + 3600}};
  Decision d = Provider(p, kP1);
  EXPECT_FALSE(d.permit);
  EXPECT_FALSE(d.break_glass);
  EXPECT_FALSE(Provider(p, "").permit);
  // Nor does a break-glass help research.
  p.grants = {ResearchGrant()};
  p.grants[0].grantee = {Grantee::Kind::kResearcher, TestId("r_", 5), ""};
  EXPECT_FALSE(Research(p).permit);
}

TEST(EngineTest, ProviderGranteeMatching) {
  CitizenPolicy p;
  p.grants = {ProviderGrant(kP1, kLab), ProviderGrant("", kVitals),
              ResearchGrant(kLab)};
  Decision d = Provider(p, kP1);
  EXPECT_EQ(d.permitting, (std::vector<uint32_t>{0, 1}));
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].grant, 2u);
  EXPECT_EQ(d.reasons[0].clause, Clause::kGrantee);
  d = Provider(p, kP2);
  EXPECT_EQ(d.permitting, std::vector<uint32_t>{1});
  EXPECT_EQ(d.reasons[0].clause, Clause::kGrantee);
  // Categories the request does not ask for.
  d = Provider(p, kP1, kNow, kImaging);
  EXPECT_FALSE(d.permit);
  EXPECT_EQ(d.reasons[0].clause, Clause::kCategories);
  EXPECT_EQ(d.reasons[1].clause, Clause::kCategories);
}

TEST(EngineTest, ExcludesBeatPermits) {
  CitizenPolicy p;
  Grant broad = ResearchGrant(kLab | kSummary);
  Grant narrow = ResearchGrant(kLab);
  narrow.excludes = {{std::nullopt, "http://loinc.org|4548-4", ""},
                     {Category::kPatientSummary, "", "Condition/c-1"}};
  p.grants = {broad, narrow};
  const Decision d = Research(p, kNow, HmbStudy(kLab | kSummary));
  ASSERT_EQ(d.permitting, (std::vector<uint32_t>{0, 1}));
  Rec hba1c;
  hba1c.codes = {"http://snomed.info/sct|1", "http://loinc.org|4548-4"};
  EXPECT_FALSE(Releases(p, d, hba1c.facts(), false));  // the other grant's
  hba1c.codes = {"http://loinc.org|4548-5"};
  EXPECT_TRUE(Releases(p, d, hba1c.facts(), false));
  Rec condition;
  condition.type = "Condition";
  condition.id = "c-1";
  condition.category = Category::kPatientSummary;
  EXPECT_FALSE(Releases(p, d, condition.facts(), false));
  // Every part must match: the same record in another category passes.
  condition.category = Category::kLabResults;
  EXPECT_TRUE(Releases(p, d, condition.facts(), false));
  Rec other_condition;
  other_condition.type = "Condition";
  other_condition.id = "c-2";
  other_condition.category = Category::kPatientSummary;
  EXPECT_TRUE(Releases(p, d, other_condition.facts(), false));
  // The excludes of a grant that did not permit do not count.
  p.grants[1].grantee = {Grantee::Kind::kStudy, TestId("s_", 8), ""};
  const Decision d2 = Research(p, kNow, HmbStudy(kLab | kSummary));
  ASSERT_EQ(d2.permitting, std::vector<uint32_t>{0});
  Rec hba1c2;
  hba1c2.codes = {"http://loinc.org|4548-4"};
  EXPECT_TRUE(Releases(p, d2, hba1c2.facts(), false));
}

TEST(EngineTest, ScopeIsTheUnionOfPermittingGrants) {
  CitizenPolicy p;
  Grant labs = ResearchGrant(kLab);
  labs.data_period = {At("2015-01-01"), At("2018-01-01")};
  Grant vitals = ResearchGrant(kVitals | kImaging);
  vitals.data_period = {At("2017-01-01"), std::nullopt};
  vitals.include_sensitive = true;
  p.grants = {labs, vitals};
  Study study = HmbStudy(kLab | kVitals);
  study.data_period = {At("2016-01-01"), At("2020-01-01")};
  const Decision d = Research(p, kNow, study);
  ASSERT_EQ(d.scope.size(), 2u);
  // Categories: grant ∩ requested (imaging was not requested).
  EXPECT_EQ(d.scope[0].categories, kLab);
  EXPECT_EQ(d.scope[1].categories, kVitals);
  // Periods: grant ∩ requested.
  EXPECT_EQ(d.scope[0].period.start, At("2016-01-01"));
  EXPECT_EQ(d.scope[0].period.end, At("2018-01-01"));
  EXPECT_EQ(d.scope[1].period.start, At("2017-01-01"));
  EXPECT_EQ(d.scope[1].period.end, At("2020-01-01"));
  EXPECT_FALSE(d.scope[0].include_sensitive);
  EXPECT_TRUE(d.scope[1].include_sensitive);

  Rec r;
  r.effective = At("2016-06-01");
  EXPECT_TRUE(Releases(p, d, r.facts(), false));
  r.effective = At("2015-06-01");  // granted, not requested
  EXPECT_FALSE(Releases(p, d, r.facts(), false));
  r.effective = At("2018-01-01");  // end is exclusive
  EXPECT_FALSE(Releases(p, d, r.facts(), false));
  r.effective = At("2018-01-01") - 1;
  EXPECT_TRUE(Releases(p, d, r.facts(), false));
  r.effective.reset();  // undated records pass period tests
  EXPECT_TRUE(Releases(p, d, r.facts(), false));
  Rec v;
  v.category = Category::kVitalSigns;
  v.effective = At("2019-12-31T23:59:59Z");
  v.sensitive = true;
  EXPECT_TRUE(Releases(p, d, v.facts(), false));
  v.effective = At("2020-01-01");
  EXPECT_FALSE(Releases(p, d, v.facts(), false));
  // Sensitive lab results: the lab grant does not include them.
  r.sensitive = true;
  EXPECT_FALSE(Releases(p, d, r.facts(), false));
  Rec imaging;
  imaging.category = Category::kImaging;
  EXPECT_FALSE(Releases(p, d, imaging.facts(), false));
}

TEST(EngineTest, ProviderPeriodIntersection) {
  CitizenPolicy p;
  p.grants = {ProviderGrant(kP1, kLab)};
  p.grants[0].data_period = {std::nullopt, At("2020-01-01")};
  const Decision d =
      Provider(p, kP1, kNow, kAllCategories, {At("2019-01-01"), std::nullopt});
  ASSERT_EQ(d.scope.size(), 1u);
  EXPECT_EQ(d.scope[0].categories, kLab);
  EXPECT_EQ(d.scope[0].period.start, At("2019-01-01"));
  EXPECT_EQ(d.scope[0].period.end, At("2020-01-01"));
}

TEST(EngineTest, DenyReleasesNothing) {
  CitizenPolicy p;
  p.grants = {ResearchGrant()};
  p.grants[0].status = Grant::Status::kRevoked;
  const Decision d = Research(p);
  Rec r;
  EXPECT_FALSE(Releases(p, d, r.facts(), false));
  EXPECT_FALSE(Releases(p, d, r.facts(), true));
}

TEST(EngineTest, DecisionIsReusedWithoutAllocating) {
  CitizenPolicy p;
  for (int i = 0; i < 10; ++i) p.grants.push_back(ResearchGrant(kLab));
  p.grants[3].status = Grant::Status::kRevoked;
  const ResearcherProfile r = Researcher();
  const Study s = HmbStudy();
  Decision d;
  DecideResearch(p, {&r, &s}, kNow, &d);
  const auto* permitting = d.permitting.data();
  const auto* reasons = d.reasons.data();
  const auto* scope = d.scope.data();
  for (int i = 0; i < 100; ++i) {
    DecideResearch(p, {&r, &s}, kNow + i, &d);
    ProviderRequest req;
    req.provider_id = kP1;
    DecideProvider(p, req, kNow, &d);
  }
  DecideResearch(p, {&r, &s}, kNow, &d);
  EXPECT_EQ(d.permitting.size(), 9u);
  EXPECT_EQ(d.permitting.data(), permitting);
  EXPECT_EQ(d.reasons.data(), reasons);
  EXPECT_EQ(d.scope.data(), scope);
}

TEST(EngineTest, MissingResearcherOrStudyDenies) {
  CitizenPolicy p;
  p.grants = {ResearchGrant()};
  const Study s = HmbStudy();
  Decision d;
  DecideResearch(p, {nullptr, &s}, kNow, &d);
  EXPECT_FALSE(d.permit);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].clause, Clause::kGrantee);
}

TEST(EngineTest, DecisionFromAnotherPolicyReleasesNothing) {
  CitizenPolicy p;
  p.grants = {ResearchGrant(), ResearchGrant()};
  const Decision d = Research(p);
  CitizenPolicy smaller;
  smaller.grants = {ResearchGrant()};
  Rec r;
  EXPECT_TRUE(Releases(p, d, r.facts(), false));
  EXPECT_FALSE(Releases(smaller, d, r.facts(), false));
}

}  // namespace
}  // namespace tillit::consent
