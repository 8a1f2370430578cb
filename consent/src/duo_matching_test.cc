// DUO matching, one table row per rule: the DUOS v3 purpose rules and every
// condition, each with a case that permits and a case that denies (and for
// the deny, the clause and condition the citizen is shown).
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "policy_test_util.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

using testing::At;
using testing::TestId;

const int64_t kNow = At("2026-01-01T00:00:00Z");

struct Case {
  ResearcherProfile researcher;
  Study study;
  int64_t now = kNow;
};

Case BaseCase() {
  Case c;
  c.researcher.id = TestId("r_", 1);
  c.researcher.org_type = OrgType::kAcademic;
  c.researcher.country = "SE";
  c.researcher.organization = "Karolinska Institutet";
  c.study.id = TestId("s_", 1);
  c.study.researcher_id = c.researcher.id;
  c.study.purpose = {Purpose::kHMB, ""};
  c.study.categories =
      CategoryBit(Category::kLabResults) | CategoryBit(Category::kVitalSigns);
  c.study.ethics_approval = "EPN 2025-01234";
  return c;
}

Grant BaseGrant() {
  Grant g;
  g.id = TestId("g_", 1);
  g.grantee.kind = Grantee::Kind::kAnyResearcher;
  g.purposes = {{Purpose::kGRU, ""}};
  g.categories = CategoryBit(Category::kLabResults);
  return g;
}

Decision Decide(const Grant& g, const Case& c) {
  CitizenPolicy policy;
  policy.grants = {g};
  Decision d;
  DecideResearch(policy, {&c.researcher, &c.study}, c.now, &d);
  return d;
}

PurposeSpec DS(const char* disease) { return {Purpose::kDS, disease}; }
const PurposeSpec kGRU{Purpose::kGRU, ""};
const PurposeSpec kHMB{Purpose::kHMB, ""};
const PurposeSpec kPOA{Purpose::kPOA, ""};
const PurposeSpec kCC{Purpose::kCC, ""};

struct PurposeRow {
  const char* rule;
  std::vector<PurposeSpec> grant;
  PurposeSpec study;
  bool permits;
};

TEST(DuoPurposeTest, DuosV3Rules) {
  const char* x = "MONDO:0005148";  // type 2 diabetes
  const char* y = "MONDO:0004975";  // Alzheimer disease
  const PurposeRow rows[] = {
      {"HMB study served by GRU", {kGRU}, kHMB, true},
      {"HMB study served by HMB", {kHMB}, kHMB, true},
      {"HMB study not served by POA", {kPOA}, kHMB, false},
      {"HMB study not served by DS", {DS(x)}, kHMB, false},
      {"DS-X study served by GRU", {kGRU}, DS(x), true},
      {"DS-X study served by HMB", {kHMB}, DS(x), true},
      {"DS-X study served by DS-X", {DS(x)}, DS(x), true},
      {"DS-X study not served by DS-Y", {DS(y)}, DS(x), false},
      {"DS-X study not served by POA", {kPOA}, DS(x), false},
      {"POA study served by GRU", {kGRU}, kPOA, true},
      {"POA study served by POA", {kPOA}, kPOA, true},
      {"POA study not served by HMB", {kHMB}, kPOA, false},
      {"POA study not served by DS", {DS(x)}, kPOA, false},
      {"GRU study served by GRU", {kGRU}, kGRU, true},
      {"GRU study not served by HMB", {kHMB}, kGRU, false},
      {"GRU study not served by POA", {kPOA}, kGRU, false},
      {"GRU study not served by DS", {DS(x)}, kGRU, false},
      {"any listed purpose may serve", {kPOA, DS(y), kHMB}, DS(x), true},
      {"DS-Y and POA together do not serve DS-X", {kPOA, DS(y)}, DS(x), false},
      {"clinical care never serves research", {kCC}, kHMB, false},
  };
  for (const PurposeRow& row : rows) {
    SCOPED_TRACE(row.rule);
    Grant g = BaseGrant();
    g.purposes = row.grant;
    Case c = BaseCase();
    c.study.purpose = row.study;
    const Decision d = Decide(g, c);
    EXPECT_EQ(d.permit, row.permits);
    if (row.permits) {
      EXPECT_EQ(d.permitting, std::vector<uint32_t>{0});
      EXPECT_TRUE(d.reasons.empty());
    } else {
      ASSERT_EQ(d.reasons.size(), 1u);
      EXPECT_EQ(d.reasons[0].grant, 0u);
      EXPECT_EQ(d.reasons[0].clause, Clause::kPurpose);
    }
  }
}

struct ConditionRow {
  const char* rule;
  Condition condition;
  std::function<void(Case&)> permit_case;
  std::function<void(Case&)> deny_case;
};

Condition Cond(ConditionCode code) {
  Condition c;
  c.code = code;
  return c;
}

Condition WithList(ConditionCode code, std::vector<std::string> list) {
  Condition c = Cond(code);
  if (code == ConditionCode::kGS) {
    c.countries = std::move(list);
  } else {
    c.ids = std::move(list);
  }
  return c;
}

Condition Until(ConditionCode code, int64_t until) {
  Condition c = Cond(code);
  c.until = until;
  return c;
}

void Nothing(Case&) {}

std::function<void(Case&)> Obligations(std::vector<ConditionCode> list) {
  return [list](Case& c) { c.study.obligations = list; };
}

TEST(DuoConditionTest, EveryConditionPermitsAndDenies) {
  using CC = ConditionCode;
  const int64_t until = At("2026-06-01T00:00:00Z");
  const ConditionRow rows[] = {
      {"NPU: academic organisation", Cond(CC::kNPU), Nothing,
       [](Case& c) { c.researcher.org_type = OrgType::kCommercial; }},
      {"NPU: non-profit may do commercial use", Cond(CC::kNPU),
       [](Case& c) {
         c.researcher.org_type = OrgType::kNonProfit;
         c.study.commercial_use = true;
       },
       [](Case& c) { c.researcher.org_type = OrgType::kCommercial; }},
      {"NCU: commercial use of the study", Cond(CC::kNCU),
       [](Case& c) { c.researcher.org_type = OrgType::kPublic; },
       [](Case& c) { c.study.commercial_use = true; }},
      {"NCU: a commercial organisation forces commercial use", Cond(CC::kNCU),
       Nothing,
       [](Case& c) {
         c.researcher.org_type = OrgType::kCommercial;
         c.study.commercial_use = false;
       }},
      {"NPUNCU: commercial use", Cond(CC::kNPUNCU), Nothing,
       [](Case& c) { c.study.commercial_use = true; }},
      {"NPUNCU: commercial organisation", Cond(CC::kNPUNCU), Nothing,
       [](Case& c) { c.researcher.org_type = OrgType::kCommercial; }},
      {"IRB: ethics approval", Cond(CC::kIRB), Nothing,
       [](Case& c) { c.study.ethics_approval.clear(); }},
      {"GS: researcher's country", WithList(CC::kGS, {"SE", "NO"}),
       [](Case& c) { c.researcher.country = "NO"; },
       [](Case& c) { c.researcher.country = "DE"; }},
      {"TS: before until", Until(CC::kTS, until),
       [=](Case& c) { c.now = until - 1; }, [=](Case& c) { c.now = until; }},
      {"US: named researcher", WithList(CC::kUS, {TestId("r_", 1)}), Nothing,
       [](Case& c) { c.researcher.id = TestId("r_", 2); }},
      {"PS: named study", WithList(CC::kPS, {TestId("s_", 9), TestId("s_", 1)}),
       Nothing, [](Case& c) { c.study.id = TestId("s_", 2); }},
      {"IS: named institution, exact",
       WithList(CC::kIS, {"Karolinska Institutet"}), Nothing,
       [](Case& c) { c.researcher.organization = "karolinska institutet"; }},
      {"GSO: genetic study", Cond(CC::kGSO),
       [](Case& c) { c.study.genetic = true; }, Nothing},
      {"NPOA: no ancestry research", Cond(CC::kNPOA), Nothing,
       [](Case& c) {
         c.study.purpose = {Purpose::kPOA, ""};
       }},
      {"PUB: obligation accepted", Cond(CC::kPUB), Obligations({CC::kPUB}),
       Obligations({CC::kCOL, CC::kRTN, CC::kMOR})},
      {"COL: obligation accepted", Cond(CC::kCOL),
       Obligations({CC::kPUB, CC::kCOL}), Obligations({CC::kPUB})},
      {"RTN: obligation accepted", Cond(CC::kRTN), Obligations({CC::kRTN}),
       Obligations({})},
      {"MOR: obligation accepted", Until(CC::kMOR, until),
       Obligations({CC::kMOR}), Obligations({CC::kPUB, CC::kCOL, CC::kRTN})},
      {"MOR without a date", Cond(CC::kMOR), Obligations({CC::kMOR}),
       Obligations({})},
  };
  for (const ConditionRow& row : rows) {
    SCOPED_TRACE(row.rule);
    Grant g = BaseGrant();
    g.conditions = {row.condition};
    Case ok = BaseCase();
    row.permit_case(ok);
    const Decision permitted = Decide(g, ok);
    EXPECT_TRUE(permitted.permit);
    EXPECT_TRUE(permitted.reasons.empty());

    Case no = BaseCase();
    row.deny_case(no);
    const Decision denied = Decide(g, no);
    EXPECT_FALSE(denied.permit);
    ASSERT_EQ(denied.reasons.size(), 1u);
    EXPECT_EQ(denied.reasons[0].clause, Clause::kCondition);
    EXPECT_EQ(denied.reasons[0].condition, row.condition.code);
  }
}

TEST(DuoConditionTest, FirstFailingConditionIsReported) {
  Grant g = BaseGrant();
  g.conditions = {Cond(ConditionCode::kIRB), Cond(ConditionCode::kNCU),
                  WithList(ConditionCode::kGS, {"NO"})};
  Case c = BaseCase();
  c.study.commercial_use = true;  // NCU fails
  // GS fails too, but NCU comes first in the grant.
  Decision d = Decide(g, c);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].condition, ConditionCode::kNCU);
  c.study.commercial_use = false;
  d = Decide(g, c);
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].condition, ConditionCode::kGS);
}

TEST(DuoGranteeTest, EveryGranteeKind) {
  const Case base = BaseCase();
  struct Row {
    const char* rule;
    Grantee grantee;
    bool permits;
  } rows[] = {
      {"any researcher", {Grantee::Kind::kAnyResearcher, "", ""}, true},
      {"the researcher",
       {Grantee::Kind::kResearcher, TestId("r_", 1), ""},
       true},
      {"another researcher",
       {Grantee::Kind::kResearcher, TestId("r_", 2), ""},
       false},
      {"the organisation",
       {Grantee::Kind::kOrganization, "", "Karolinska Institutet"},
       true},
      {"organisation names are exact",
       {Grantee::Kind::kOrganization, "", "Karolinska institutet"},
       false},
      {"the study", {Grantee::Kind::kStudy, TestId("s_", 1), ""}, true},
      {"another study", {Grantee::Kind::kStudy, TestId("s_", 2), ""}, false},
      {"a provider grant",
       {Grantee::Kind::kProvider, TestId("p_", 1), ""},
       false},
      {"an any-provider grant", {Grantee::Kind::kAnyProvider, "", ""}, false},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.rule);
    Grant g = BaseGrant();
    g.grantee = row.grantee;
    const Decision d = Decide(g, base);
    EXPECT_EQ(d.permit, row.permits);
    if (!row.permits) {
      ASSERT_EQ(d.reasons.size(), 1u);
      EXPECT_EQ(d.reasons[0].clause, Clause::kGrantee);
    }
  }
}

}  // namespace
}  // namespace tillit::consent
