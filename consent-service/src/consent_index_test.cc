#include "tillit/consent_service/consent_index.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

Grant AnyResearcher(Purpose purpose, CategorySet categories) {
  Grant g;
  g.id = "g_1";
  g.grantee.kind = Grantee::Kind::kAnyResearcher;
  g.purposes = {PurposeSpec{purpose, ""}};
  g.categories = categories;
  return g;
}

TEST(FormatCount, CountsBelowTenAreNotShown) {
  EXPECT_EQ(FormatCount(0), "<10");
  EXPECT_EQ(FormatCount(9), "<10");
  EXPECT_EQ(FormatCount(10), "10");
  EXPECT_EQ(FormatCount(1234), "1234");
}

TEST(ConsentIndex, CountsTheCohortAndTheClosestReasonOfEveryOther) {
  const CategorySet vitals = CategoryBit(Category::kVitalSigns);
  const Grant hmb = AnyResearcher(Purpose::kHMB, vitals);
  Grant expired = hmb;
  expired.expires = kNow - 1;
  std::vector<ConsentIndex::Entry> entries(6);
  entries[0] = {"c_a", {}};
  entries[0].policy.grants = {hmb};
  entries[1] = {"c_b", {}};  // opted out
  entries[1].policy.grants = {hmb};
  entries[1].policy.research_opt_out = true;
  entries[2] = {"c_c", {}};  // POA does not serve HMB
  entries[2].policy.grants = {AnyResearcher(Purpose::kPOA, vitals)};
  entries[3] = {"c_d", {}};  // no grant
  entries[4] = {"c_e", {}};  // expired, and no category in common
  entries[4].policy.grants = {
      expired, AnyResearcher(Purpose::kHMB, CategoryBit(Category::kImaging))};
  entries[5] = {"c_f", {}};
  entries[5].policy.grants = {AnyResearcher(Purpose::kGRU, vitals)};
  const ConsentIndex index(std::move(entries));
  ASSERT_EQ(index.size(), 6u);

  const ResearcherProfile researcher{
      "r_1", OrgType::kAcademic, "SE", "Karolinska", "", ""};
  Study study;
  study.id = "s_1";
  study.researcher_id = researcher.id;
  study.purpose = PurposeSpec{Purpose::kHMB, ""};
  study.categories = vitals;
  const ResearchRequest request{&researcher, &study};

  const Feasibility f = index.Count(request, kNow);
  EXPECT_EQ(f.citizens, 6);
  EXPECT_EQ(f.cohort_size, 2);
  EXPECT_EQ(f.reasons.size(), 4u);
  EXPECT_EQ(f.reasons.at("opt-out"), 1);
  EXPECT_EQ(f.reasons.at("purpose"), 1);
  EXPECT_EQ(f.reasons.at("no-grant"), 1);
  EXPECT_EQ(f.reasons.at("categories"), 1);  // closer than "expired"
  EXPECT_EQ(index.Permitted(request, kNow),
            (std::vector<std::string>{"c_a", "c_f"}));
}

TEST(ConsentIndex, AnEmptyIndexCountsNobody) {
  const ConsentIndex index;
  const ResearcherProfile researcher{"r_1", OrgType::kAcademic, "SE", "K", "",
                                     ""};
  Study study;
  study.purpose = PurposeSpec{Purpose::kGRU, ""};
  study.categories = kAllCategories;
  const ResearchRequest request{&researcher, &study};
  const Feasibility f = index.Count(request, kNow);
  EXPECT_EQ(f.citizens, 0);
  EXPECT_EQ(f.cohort_size, 0);
  EXPECT_TRUE(f.reasons.empty());
  EXPECT_TRUE(index.Permitted(request, kNow).empty());
}

}  // namespace
}  // namespace tillit::consent
