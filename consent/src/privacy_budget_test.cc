// A grant's "privacy_budget" (the most ε one study may spend of the
// citizen's data in aggregates): what the JSON form accepts and refuses,
// the stored, index and FHIR Consent forms, and that no decision reads it.
#include <gtest/gtest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "policy_test_util.h"
#include "tillit/consent/epsilon.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using testing::At;
using testing::GrantDiff;
using testing::TestId;

const int64_t kNow = At("2026-01-01T00:00:00Z");
const std::string kCitizen = TestId("c_", 1);
const std::string kNotEpsilon =
    "privacy_budget: ε must be a decimal number from 0 to 100 with at most 6 "
    "decimals, such as 0.5";

// A research grant; `budget` is the raw JSON text of privacy_budget, or
// empty for none.
std::string ResearchGrant(
    const std::string& budget,
    const std::string& grantee = R"({"kind": "any-researcher"})",
    const std::string& purpose = "DUO:0000006") {
  return R"({"grantee": )" + grantee + R"(, "purposes": [")" + purpose +
         R"("], "categories": ["vital-signs"])" +
         (budget.empty() ? "" : R"(, "privacy_budget": )" + budget) + "}";
}

std::string ProviderGrant(const std::string& budget) {
  return ResearchGrant(budget, R"({"kind": "any-provider"})", "DUO:0000043");
}

void ExpectRefused(const std::string& text, const std::string& message) {
  StatusOr<Grant> g = ParseGrant(text, kNow);
  ASSERT_FALSE(g.ok()) << text;
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_EQ(g.status().message(), message) << text;
}

TEST(PrivacyBudgetTest, AResearchGrantMayNameACapInEpsilon) {
  const struct {
    const char* json;
    std::optional<int64_t> micro;
  } cases[] = {
      {"0", 0},  // no aggregates through this grant
      {"0.5", 500'000},
      {"2", 2'000'000},
      {"2.0", 2'000'000},
      {"100", kMaxEpsilonMicro},
      {"0.000001", 1},
      {"1e-05", 10},  // the same number as 0.00001
      {"0.25", 250'000},
      {"99.999999", 99'999'999},
      {"null", std::nullopt},
  };
  for (const auto& c : cases) {
    StatusOr<Grant> g = ParseGrant(ResearchGrant(c.json), kNow);
    ASSERT_TRUE(g.ok()) << c.json << ": " << g.status().ToString();
    EXPECT_EQ(g->privacy_budget, c.micro) << c.json;
  }
  StatusOr<Grant> none = ParseGrant(ResearchGrant(""), kNow);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->privacy_budget.has_value());
  // Every research grantee kind may carry one.
  for (const std::string& grantee :
       {R"({"kind": "researcher", "id": ")" + TestId("r_", 1) + R"("})",
        R"({"kind": "study", "id": ")" + TestId("s_", 1) + R"("})",
        std::string(R"({"kind": "organization", "name": "Karolinska"})")}) {
    StatusOr<Grant> g = ParseGrant(ResearchGrant("1.5", grantee), kNow);
    ASSERT_TRUE(g.ok()) << grantee << ": " << g.status().ToString();
    EXPECT_EQ(g->privacy_budget, 1'500'000);
  }
}

TEST(PrivacyBudgetTest, BadValuesAreRefusedNamingTheField) {
  for (const char* value :
       {"-1", "-0.5", "-0.0", "1e-07", "0.1234567", "100.000001", "101",
        "1e300", "18446744073709551616", "0.30000000000000004"}) {
    ExpectRefused(ResearchGrant(value), kNotEpsilon);
  }
  // Only a JSON number: a string, even of a good ε, is refused.
  for (const char* value :
       {R"("0.5")", "true", "false", "[0.5]", R"({"epsilon": 0.5})", R"("")"}) {
    ExpectRefused(ResearchGrant(value),
                  "privacy_budget: must be a number, such as 0.5");
  }
}

TEST(PrivacyBudgetTest, ProviderGrantsTakeNone) {
  for (const char* value : {"0.5", "0", R"("0.5")"}) {
    ExpectRefused(ProviderGrant(value),
                  "privacy_budget: only research grants take part in "
                  "aggregates");
  }
  ExpectRefused(
      ResearchGrant(
          "0.5", R"({"kind": "provider", "id": ")" + TestId("p_", 1) + R"("})",
          "DUO:0000043"),
      "privacy_budget: only research grants take part in "
      "aggregates");
  // null is the same as absent.
  StatusOr<Grant> g = ParseGrant(ProviderGrant("null"), kNow);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_FALSE(g->privacy_budget.has_value());
}

TEST(PrivacyBudgetTest, StoredAndIndexFormsWriteTheExactNumber) {
  StatusOr<Grant> g = ParseGrant(ResearchGrant("0.5"), kNow);
  ASSERT_TRUE(g.ok());
  g->id = TestId("g_", 7);
  // Whole ε as JSON integers; others as the double that prints as the
  // decimal (small ones with an exponent, as JSON printers do).
  const struct {
    int64_t micro;
    const char* number;
  } cases[] = {{500'000, "0.5"},   {2'000'000, "2"},          {0, "0"},
               {250'000, "0.25"},  {kMaxEpsilonMicro, "100"}, {10, "1e-05"},
               {123'456, nullptr}, {99'999'999, nullptr}};
  for (const auto& c : cases) {
    g->privacy_budget = c.micro;
    for (const std::string& text : {GrantToJson(*g), GrantIndexJson(*g)}) {
      const json written = json::parse(text)["privacy_budget"];
      ASSERT_TRUE(written.is_number()) << text;
      if (c.number != nullptr) {
        EXPECT_EQ(written.dump(), c.number) << text;
      }
      StatusOr<Grant> back = GrantFromStoredJson(text);
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(GrantDiff(*g, *back), "") << text;
      // What the vault writes, a citizen may send back as a new grant.
      StatusOr<Grant> again = ParseGrant(text, kNow);
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_EQ(again->privacy_budget, c.micro);
    }
  }
  g->privacy_budget.reset();
  EXPECT_EQ(GrantToJson(*g).find("privacy_budget"), std::string::npos);
  EXPECT_EQ(GrantIndexJson(*g).find("privacy_budget"), std::string::npos);
}

TEST(PrivacyBudgetTest, StoredFormIsCheckedToo) {
  StatusOr<Grant> g = ParseGrant(ResearchGrant("0.5"), kNow);
  ASSERT_TRUE(g.ok());
  json j = json::parse(GrantToJson(*g));
  j["privacy_budget"] = 101;
  StatusOr<Grant> back = GrantFromStoredJson(j.dump());
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), kNotEpsilon);
  j["privacy_budget"] = "0.5";
  EXPECT_FALSE(GrantFromStoredJson(j.dump()).ok());
}

// The provision extension that carries the budget, or null.
json BudgetExtension(const json& consent) {
  for (const json& e : consent["provision"]["extension"]) {
    if (e["url"] ==
        "https://tillit.health/fhir/StructureDefinition/privacy-budget") {
      return e;
    }
  }
  return nullptr;
}

TEST(PrivacyBudgetTest, FhirConsentCarriesItAsADecimalExtension) {
  StatusOr<Grant> g = ParseGrant(ResearchGrant("0.5"), kNow);
  ASSERT_TRUE(g.ok());
  g->id = TestId("g_", 8);
  for (int64_t micro : {int64_t{500'000}, int64_t{0}, int64_t{2'000'000},
                        int64_t{25}, int64_t{99'999'999}}) {
    g->privacy_budget = micro;
    const std::string text = GrantToFhirConsent(*g, kCitizen);
    const json ext = BudgetExtension(json::parse(text));
    ASSERT_TRUE(ext.is_object()) << text;
    EXPECT_EQ(ext.size(), 2u);
    EXPECT_TRUE(ext["valueDecimal"].is_number()) << text;
    EXPECT_EQ(ext["valueDecimal"].get<double>(), EpsilonToDouble(micro));
    StatusOr<Grant> back = GrantFromFhirConsent(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
    EXPECT_EQ(GrantDiff(*g, *back), "") << text;
  }
  g->privacy_budget.reset();
  const std::string text = GrantToFhirConsent(*g, kCitizen);
  EXPECT_TRUE(BudgetExtension(json::parse(text)).is_null()) << text;
  StatusOr<Grant> back = GrantFromFhirConsent(text);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->privacy_budget.has_value());
}

// The budget extension's index in provision.extension (include-sensitive
// is always first).
constexpr const char* kExtPath = "Consent.provision.extension[1]";

TEST(PrivacyBudgetTest, FhirConsentWithABadBudgetIsRefused) {
  StatusOr<Grant> g = ParseGrant(ResearchGrant("0.5"), kNow);
  ASSERT_TRUE(g.ok());
  const json good = json::parse(GrantToFhirConsent(*g, kCitizen));
  ASSERT_TRUE(BudgetExtension(good).is_object());
  ASSERT_EQ(good["provision"]["extension"][1]["url"],
            "https://tillit.health/fhir/StructureDefinition/privacy-budget");
  const auto refused = [](const json& c, const std::string& message) {
    StatusOr<Grant> r = GrantFromFhirConsent(c.dump());
    ASSERT_FALSE(r.ok()) << c.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), message) << c.dump();
  };
  json c = good;
  c["provision"]["extension"][1]["valueDecimal"] = "0.5";
  refused(c, std::string(kExtPath) + ".valueDecimal: required, a number (ε)");
  c = good;
  c["provision"]["extension"][1].erase("valueDecimal");
  refused(c, std::string(kExtPath) + ".valueDecimal: required, a number (ε)");
  c = good;
  c["provision"]["extension"][1]["valueString"] = "x";
  refused(c, std::string(kExtPath) +
                 ".valueString: not supported in a tillit grant");
  c = good;
  c["provision"]["extension"].push_back(good["provision"]["extension"][1]);
  refused(c, "Consent.provision.extension[" +
                 std::to_string(c["provision"]["extension"].size() - 1) +
                 "]: given twice");
  c = good;
  c["provision"]["extension"][1]["valueDecimal"] = 101;
  refused(c, "Consent as a grant: " + kNotEpsilon);
  c = good;
  c["provision"]["extension"][1]["valueDecimal"] = 1e-7;
  refused(c, "Consent as a grant: " + kNotEpsilon);

  // On a treatment consent (a provider grant).
  Grant provider;
  provider.grantee = {Grantee::Kind::kAnyProvider, "", ""};
  provider.purposes = {{Purpose::kCC, ""}};
  provider.categories = kAllCategories;
  provider.created_at = kNow;
  c = json::parse(GrantToFhirConsent(provider, kCitizen));
  c["provision"]["extension"].push_back(good["provision"]["extension"][1]);
  refused(c,
          "Consent as a grant: privacy_budget: only research grants take "
          "part in aggregates");
}

TEST(PrivacyBudgetTest, NoDecisionReadsIt) {
  // Generated policies decided with their budgets and with every budget
  // removed (or set to 0) give the same decision.
  testing::GrantGenerator gen(18);
  const ResearcherProfile researcher{gen.pools().researchers[0],
                                     OrgType::kAcademic,
                                     "SE",
                                     gen.pools().organizations[0],
                                     "",
                                     ""};
  int permits = 0;
  int with_budget = 0;
  for (int i = 0; i < 500; ++i) {
    CitizenPolicy policy;
    for (int k = 0; k < 3; ++k) policy.grants.push_back(gen.Make(kNow));
    Study study;
    study.id = gen.Pick(gen.pools().studies);
    study.researcher_id = researcher.id;
    study.purpose = {static_cast<Purpose>(gen.Below(4)), ""};
    if (study.purpose.purpose == Purpose::kDS) {
      study.purpose.disease = gen.Pick(gen.pools().diseases);
    }
    study.categories = gen.AnyCategories();
    const ResearchRequest request{&researcher, &study};
    Decision with, without, zero;
    DecideResearch(policy, request, kNow, &with);
    CitizenPolicy stripped = policy, zeroed = policy;
    for (Grant& g : stripped.grants) {
      with_budget += g.privacy_budget.has_value();
      g.privacy_budget.reset();
    }
    for (Grant& g : zeroed.grants) {
      if (g.grantee.kind != Grantee::Kind::kProvider &&
          g.grantee.kind != Grantee::Kind::kAnyProvider) {
        g.privacy_budget = 0;
      }
    }
    DecideResearch(stripped, request, kNow, &without);
    DecideResearch(zeroed, request, kNow, &zero);
    permits += with.permit;
    for (const Decision* other : {&without, &zero}) {
      ASSERT_EQ(with.permit, other->permit) << i;
      ASSERT_EQ(with.permitting, other->permitting) << i;
      ASSERT_EQ(with.reasons.size(), other->reasons.size()) << i;
      for (size_t r = 0; r < with.reasons.size(); ++r) {
        ASSERT_EQ(with.reasons[r].grant, other->reasons[r].grant) << i;
        ASSERT_EQ(with.reasons[r].clause, other->reasons[r].clause) << i;
      }
      ASSERT_EQ(with.scope.size(), other->scope.size()) << i;
    }
  }
  // The cases exercised both outcomes and grants with budgets.
  EXPECT_GT(permits, 0);
  EXPECT_LT(permits, 500);
  EXPECT_GT(with_budget, 100);
}

}  // namespace
}  // namespace tillit::consent
