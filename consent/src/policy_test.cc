// The names of the consent model: DUO ids, organisation types, clauses.
#include "tillit/consent/policy.h"

#include <gtest/gtest.h>

#include <string>

namespace tillit::consent {
namespace {

TEST(PolicyNamesTest, PurposesHaveTheirDuoIds) {
  EXPECT_EQ(DuoId(Purpose::kGRU), "DUO:0000042");
  EXPECT_EQ(DuoId(Purpose::kHMB), "DUO:0000006");
  EXPECT_EQ(DuoId(Purpose::kDS), "DUO:0000007");
  EXPECT_EQ(DuoId(Purpose::kPOA), "DUO:0000011");
  EXPECT_EQ(DuoId(Purpose::kCC), "DUO:0000043");
  for (int i = 0; i < 5; ++i) {
    const auto p = static_cast<Purpose>(i);
    EXPECT_EQ(ParsePurpose(DuoId(p)), p);
  }
  EXPECT_FALSE(ParsePurpose("DUO:0000045"));  // a condition, not a purpose
  EXPECT_FALSE(ParsePurpose("duo:0000042"));
  EXPECT_FALSE(ParsePurpose(""));
}

TEST(PolicyNamesTest, ConditionsHaveTheirDuoIds) {
  const char* expected[] = {"DUO:0000045", "DUO:0000046", "DUO:0000018",
                            "DUO:0000021", "DUO:0000022", "DUO:0000025",
                            "DUO:0000026", "DUO:0000027", "DUO:0000028",
                            "DUO:0000016", "DUO:0000044", "DUO:0000019",
                            "DUO:0000020", "DUO:0000029", "DUO:0000024"};
  for (int i = 0; i < 15; ++i) {
    const auto c = static_cast<ConditionCode>(i);
    EXPECT_EQ(DuoId(c), expected[i]);
    EXPECT_EQ(ParseCondition(expected[i]), c);
  }
  EXPECT_FALSE(ParseCondition("DUO:0000042"));  // a purpose
  EXPECT_FALSE(ParseCondition("DUO:0000099"));
}

TEST(PolicyNamesTest, OnlyPubColRtnMorAreObligations) {
  for (int i = 0; i < 15; ++i) {
    const auto c = static_cast<ConditionCode>(i);
    const bool obligation =
        c == ConditionCode::kPUB || c == ConditionCode::kCOL ||
        c == ConditionCode::kRTN || c == ConditionCode::kMOR;
    EXPECT_EQ(IsObligation(c), obligation) << DuoId(c);
  }
}

TEST(PolicyNamesTest, OrgTypesAndClauses) {
  for (const char* name : {"academic", "non-profit", "public", "commercial"}) {
    ASSERT_TRUE(ParseOrgType(name)) << name;
    EXPECT_EQ(OrgTypeName(*ParseOrgType(name)), name);
  }
  EXPECT_FALSE(ParseOrgType("Commercial"));
  EXPECT_EQ(ClauseName(Clause::kOptOut), "opt-out");
  EXPECT_EQ(ClauseName(Clause::kRevoked), "revoked");
  EXPECT_EQ(ClauseName(Clause::kExpired), "expired");
  EXPECT_EQ(ClauseName(Clause::kGrantee), "grantee");
  EXPECT_EQ(ClauseName(Clause::kPurpose), "purpose");
  EXPECT_EQ(ClauseName(Clause::kCondition), "condition");
  EXPECT_EQ(ClauseName(Clause::kCategories), "categories");
}

TEST(PolicyNamesTest, ClearKeepsCapacity) {
  Decision d;
  d.permit = true;
  d.break_glass = true;
  d.permitting.assign(8, 1);
  d.reasons.resize(8);
  d.scope.resize(8);
  d.Clear();
  EXPECT_FALSE(d.permit);
  EXPECT_FALSE(d.break_glass);
  EXPECT_TRUE(d.permitting.empty() && d.reasons.empty() && d.scope.empty());
  EXPECT_GE(d.permitting.capacity(), 8u);
  EXPECT_GE(d.reasons.capacity(), 8u);
  EXPECT_GE(d.scope.capacity(), 8u);
}

}  // namespace
}  // namespace tillit::consent
