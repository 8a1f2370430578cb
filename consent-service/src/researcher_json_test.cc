#include "researcher_json.h"

#include <gtest/gtest.h>

#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

TEST(ResearcherJson, RoundTrips) {
  const ResearcherProfile r{"r_1",          OrgType::kNonProfit,
                            "NO",           "Kreftforeningen",
                            "Ada Lovelace", "a2V5"};
  auto back = ResearcherFromJson(ResearcherToJson(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, r.id);
  EXPECT_EQ(back->org_type, r.org_type);
  EXPECT_EQ(back->country, r.country);
  EXPECT_EQ(back->organization, r.organization);
  EXPECT_EQ(back->name, r.name);
  EXPECT_EQ(back->public_key, r.public_key);
}

TEST(ResearcherJson, AProfileWithoutNameOrKeyReads) {
  auto r = ResearcherFromJson(
      R"({"id": "r_1", "org_type": "academic", "country": "SE",
          "organization": "Karolinska"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->org_type, OrgType::kAcademic);
  EXPECT_EQ(r->organization, "Karolinska");
  EXPECT_TRUE(r->name.empty());
  EXPECT_TRUE(r->public_key.empty());
}

TEST(ResearcherJson, MalformedProfilesAreRefused) {
  EXPECT_EQ(ResearcherFromJson("[]").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ResearcherFromJson("{").status().code(),
            StatusCode::kInvalidArgument);
  for (const char* bad :
       {R"({"org_type": "academic", "country": "SE", "organization": "K"})",
        R"({"id": "r_1", "country": "SE", "organization": "K"})",
        R"({"id": "r_1", "org_type": "guild", "country": "SE",
            "organization": "K"})",
        R"({"id": "r_1", "org_type": "academic", "country": 46,
            "organization": "K"})",
        R"({"id": "r_1", "org_type": "academic", "country": "SE"})"}) {
    EXPECT_EQ(ResearcherFromJson(bad).status().code(), StatusCode::kDataLoss)
        << bad;
  }
}

}  // namespace
}  // namespace tillit::consent
