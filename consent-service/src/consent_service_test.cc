#include "tillit/consent_service/consent_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "consent_service_test_util.h"
#include "tillit/consent/policy.h"
#include "tillit/consent_service/consent_index.h"
#include "tillit/consent_service/study_definition.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {
namespace {

using service_testing::ConsentServiceTest;
using service_testing::kNow;
using service_testing::NewId;
using service_testing::ResearchGrant;

TEST_F(ConsentServiceTest, GrantIsStoredAndIndexedWithoutExcludes) {
  const std::string c = Citizen("p-1");
  auto g = service_->AddGrant(
      c, ResearchGrant(
             R"(, "exclude": [{"code": "http://snomed.info/sct|35489007"}])"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(vault::IsValidId(g->id, "g_"));
  EXPECT_EQ(g->status, Grant::Status::kActive);
  EXPECT_EQ(g->created_at, kNow);
  auto list = service_->ListGrants(c);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, g->id);
  EXPECT_EQ((*list)[0].excludes.size(), 1u);
  auto rows = vault_->ReadIndex("consent");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].key, g->id);
  // The index holds metadata only: the excluded (health) code is not there.
  EXPECT_EQ((*rows)[0].value.find("35489007"), std::string::npos);
}

TEST_F(ConsentServiceTest, APrivacyBudgetIsKeptInTheConsentIndex) {
  // Aggregates read each citizen's cap from the index, without opening
  // their store: the index row must carry it and read back with it.
  const std::string c = Citizen("p-budget");
  auto g = service_->AddGrant(c, ResearchGrant(R"(, "privacy_budget": 0.25)"));
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->privacy_budget, 250'000);
  const std::string d = Citizen("p-no-budget");
  ASSERT_TRUE(service_->AddGrant(d, ResearchGrant()).ok());
  auto rows = vault_->ReadIndex("consent");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  for (const vault::IndexEntry& row : *rows) {
    // As ConsentIndex::Load reads a row.
    auto back = GrantFromStoredJson(row.value);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    if (row.citizen_id == c) {
      EXPECT_EQ(back->privacy_budget, 250'000);
    } else {
      EXPECT_FALSE(back->privacy_budget.has_value());
    }
  }
  auto index = ConsentIndex::Load(*vault_);
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(index->size(), 2u);
  auto stored = service_->ListGrants(c);
  ASSERT_TRUE(stored.ok());
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].privacy_budget, 250'000);
  // Refused on a provider grant, and nothing is stored.
  auto provider = service_->AddGrant(
      d, R"({"grantee": {"kind": "any-provider"}, "purposes": ["DUO:0000043"],
             "categories": ["vital-signs"], "privacy_budget": 1})");
  ASSERT_FALSE(provider.ok());
  EXPECT_EQ(provider.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(provider.status().message().rfind("privacy_budget: ", 0), 0u)
      << provider.status().message();
  EXPECT_EQ(vault_->ReadIndex("consent")->size(), 2u);
}

TEST_F(ConsentServiceTest, InvalidGrantStoresNothing) {
  const std::string c = Citizen("p-2");
  auto g = service_->AddGrant(c, R"({"grantee": {"kind": "any-researcher"},
      "purposes": ["DUO:9999999"], "categories": ["vital-signs"]})");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("purposes[0]"), std::string::npos)
      << g.status().message();
  EXPECT_TRUE(service_->ListGrants(c)->empty());
  EXPECT_TRUE(vault_->ReadIndex("consent")->empty());
}

TEST_F(ConsentServiceTest, UnknownCitizenIsNotFound) {
  EXPECT_EQ(service_->AddGrant(NewId('c', 9), ResearchGrant()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->ListGrants("c_bad").status().code(),
            StatusCode::kNotFound);
}

TEST_F(ConsentServiceTest, RevocationGovernsTheVeryNextDecision) {
  const std::string c = Citizen("p-3");
  const StudyDefinition s = Study();
  auto g = service_->AddGrant(c, ResearchGrant());
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(Permits(c, s));
  auto revoked = service_->RevokeGrant(c, g->id);
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->status, Grant::Status::kRevoked);
  EXPECT_EQ(revoked->revoked_at, kNow);
  EXPECT_FALSE(Permits(c, s));
  EXPECT_TRUE(vault_->ReadIndex("consent")->empty());
  EXPECT_EQ(service_->RevokeGrant(c, g->id).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->RevokeGrant(c, "g_nope").status().code(),
            StatusCode::kNotFound);
  // Another citizen cannot revoke it, and learns nothing: NotFound.
  const std::string other = Citizen("p-4");
  auto g2 = service_->AddGrant(c, ResearchGrant());
  ASSERT_TRUE(g2.ok());
  EXPECT_EQ(service_->RevokeGrant(other, g2->id).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ConsentServiceTest, ThroughAStoreCacheRevocationStillGovernsAtOnce) {
  // A server reaches stores through its cache: the open store is reused,
  // and a decision still reads the policy as it is now.
  vault::StoreCache cache(vault_.get(), 2);
  ConsentService cached(vault_.get(), &clock_, &rng_, &cache);
  const std::string c = Citizen("p-31");
  const StudyDefinition s = Study();
  auto g = cached.AddGrant(c, ResearchGrant());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(cache.open_stores(), 1u);
  auto policy = cached.LoadPolicy(c);
  ASSERT_TRUE(policy.ok());
  ASSERT_EQ(policy->grants.size(), 1u);
  ASSERT_TRUE(cached.RevokeGrant(c, g->id).ok());
  EXPECT_FALSE(Permits(c, s));  // read by the uncached service
  auto after = cached.LoadPolicy(c);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->grants[0].status, Grant::Status::kRevoked);
  EXPECT_EQ(cache.open_stores(), 1u);
  EXPECT_EQ(
      cached.ListGrants("c_00000000000000000000000000000000").status().code(),
      StatusCode::kNotFound);
}

TEST_F(ConsentServiceTest, AGrantCanBeStoredUnderAnIdChosenBeforehand) {
  const std::string c = Citizen("p-45");
  const std::string id = service_->NewGrantId();
  auto g = service_->AddGrant(c, ResearchGrant(), id);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->id, id);
  EXPECT_EQ(service_->AddGrant(c, ResearchGrant(), id).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(service_->AddGrant(c, ResearchGrant(), "x_1").status().code(),
            StatusCode::kInvalidArgument);
  auto grants = service_->ListGrants(c);
  ASSERT_TRUE(grants.ok());
  EXPECT_EQ(grants->size(), 1u);
}

TEST_F(ConsentServiceTest, OptOutDeniesResearchAndLeavesTheCohort) {
  const StudyDefinition s = Study();
  std::vector<std::string> citizens;
  for (int i = 0; i < 12; ++i) {
    citizens.push_back(Citizen("q-" + std::to_string(i)));
    ASSERT_TRUE(service_->AddGrant(citizens.back(), ResearchGrant()).ok());
  }
  auto f = service_->CountCohort(s.study.id);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->cohort_size, 12);
  EXPECT_EQ(FormatCount(f->cohort_size), "12");
  ASSERT_TRUE(service_->SetResearchOptOut(citizens[0], true).ok());
  EXPECT_FALSE(Permits(citizens[0], s));
  f = service_->CountCohort(s.study.id);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->cohort_size, 11);
  EXPECT_EQ(f->reasons["opt-out"], 1);
  ASSERT_TRUE(service_->SetResearchOptOut(citizens[0], false).ok());
  EXPECT_TRUE(Permits(citizens[0], s));
  ASSERT_TRUE(service_->SetResearchOptOut(citizens[1], true).ok());
  ASSERT_TRUE(service_->SetResearchOptOut(citizens[2], true).ok());
  f = service_->CountCohort(s.study.id);
  EXPECT_EQ(f->cohort_size, 10);
  ASSERT_TRUE(service_->SetResearchOptOut(citizens[3], true).ok());
  f = service_->CountCohort(s.study.id);
  EXPECT_EQ(FormatCount(f->cohort_size), "<10");
  EXPECT_EQ(service_->CountCohort("s_nope").status().code(),
            StatusCode::kNotFound);
}

TEST_F(ConsentServiceTest, PrimaryUseOptOutIsStoredAndReadIntoThePolicy) {
  const std::string c = Citizen("p-46");
  auto off = service_->GetPrimaryUseOptOut(c);
  ASSERT_TRUE(off.ok()) << off.status().ToString();
  EXPECT_FALSE(*off);
  ASSERT_TRUE(service_->SetPrimaryUseOptOut(c, true).ok());
  EXPECT_TRUE(*service_->GetPrimaryUseOptOut(c));
  auto policy = service_->LoadPolicy(c);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->primary_use_opt_out);
  // A switch apart from the research opt-out, and not in the research
  // index: feasibility and cohorts do not see it.
  EXPECT_FALSE(policy->research_opt_out);
  EXPECT_FALSE(*service_->GetResearchOptOut(c));
  ASSERT_TRUE(service_->SetPrimaryUseOptOut(c, false).ok());
  EXPECT_FALSE(service_->LoadPolicy(c)->primary_use_opt_out);
  EXPECT_EQ(service_->SetPrimaryUseOptOut(NewId('c', 9), true).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->GetPrimaryUseOptOut(NewId('c', 9)).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ConsentServiceTest, FeasibilityReasonsNameTheClosestClause) {
  const std::string c = Citizen("p-5");
  ASSERT_TRUE(service_->AddGrant(c, ResearchGrant()).ok());
  const StudyDefinition poa =
      Study("\"DUO:0000011\"");  // HMB does not serve POA
  auto f = service_->CountCohort(poa.study.id);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->cohort_size, 0);
  EXPECT_EQ(f->reasons["purpose"], 1);
}

TEST_F(ConsentServiceTest, RestrictionsRoundTripAndValidation) {
  const std::string c = Citizen("p-6");
  EXPECT_EQ(service_->GetRestrictions(c)->categories, 0);
  auto r = service_->SetRestrictions(
      c,
      R"({"categories": ["lab-results"], "records": ["Observation/p-6-v1"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto back = service_->GetRestrictions(c);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->categories, CategoryBit(Category::kLabResults));
  EXPECT_EQ(back->records, std::vector<std::string>{"Observation/p-6-v1"});
  EXPECT_EQ(service_->LoadPolicy(c)->restrictions.records.size(), 1u);
  for (const char* bad :
       {R"({"categories": ["nope"]})", R"({"records": ["not a ref"]})",
        R"({"records": "Observation/x"})", R"({"colour": 1})", "[]"}) {
    EXPECT_EQ(service_->SetRestrictions(c, bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(service_->GetRestrictions(c)->records.size(), 1u);  // unchanged
}

TEST_F(ConsentServiceTest, BreakGlassIsRecordedAndApplies) {
  const std::string c = Citizen("p-7");
  const std::string provider = NewId('p', 1);
  EXPECT_EQ(service_->OpenBreakGlass(c, provider, "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->OpenBreakGlass(c, "x", "unconscious").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->OpenBreakGlass(c, provider, "r", 25).status().code(),
            StatusCode::kInvalidArgument);
  auto bg = service_->OpenBreakGlass(c, provider, "unconscious in the ER");
  ASSERT_TRUE(bg.ok());
  EXPECT_EQ(bg->expires, kNow + 24 * 3600);
  auto policy = service_->LoadPolicy(c);
  ASSERT_TRUE(policy.ok());
  ASSERT_EQ(policy->break_glass.size(), 1u);
  EXPECT_EQ(policy->break_glass[0].reason, "unconscious in the ER");
  Decision d;
  ProviderRequest req;
  req.provider_id = provider;
  DecideProvider(*policy, req, kNow + 10, &d);
  EXPECT_TRUE(d.permit);
  EXPECT_TRUE(d.break_glass);
  DecideProvider(*policy, req, kNow + 24 * 3600, &d);
  EXPECT_FALSE(d.permit);
}

TEST_F(ConsentServiceTest,
       PreviewCountsWhatAGrantWouldReleaseAndMatchingStudies) {
  const std::string c = Citizen("p-8");
  const StudyDefinition hmb = Study();
  const StudyDefinition poa = Study("\"DUO:0000011\"");
  // Period from 2020: v2 (2021), l1 (2021) and the Patient (undated); the
  // 2019 vital sign is outside; the Condition is sensitive.
  auto p = service_->PreviewGrant(c, ResearchGrant());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->by_category["vital-signs"], 1);
  EXPECT_EQ(p->by_category["lab-results"], 1);
  EXPECT_EQ(p->by_category["patient-summary"], 1);
  EXPECT_EQ(p->total, 3);
  EXPECT_EQ(p->matching_studies, std::vector<std::string>{hmb.study.id});
  // With sensitive records: the Condition too; excluding its code removes it.
  auto with = service_->PreviewGrant(
      c, ResearchGrant(R"(, "include_sensitive": true)"));
  EXPECT_EQ(with->total, 4);
  auto excl =
      service_->PreviewGrant(c, ResearchGrant(R"(, "include_sensitive": true,
          "exclude": [{"code": "http://snomed.info/sct|35489007"}])"));
  EXPECT_EQ(excl->total, 3);
  // Nothing was stored.
  EXPECT_TRUE(service_->ListGrants(c)->empty());
  EXPECT_EQ(service_->PreviewGrant(c, "{}").status().code(),
            StatusCode::kInvalidArgument);
  (void)poa;
}

TEST_F(ConsentServiceTest, StudyDefinitions) {
  // Parsing alone is tested in study_definition_test.cc.
  auto ds = ParseStudyDefinition(
      R"({"title": "T2D", "purpose": {"code": "DUO:0000007", "disease": "MONDO:0005148"},
          "categories": ["lab-results"], "obligations": ["DUO:0000019"],
          "data_period": {"start": "2015-01-01", "end": "2020-12-31"}, "genetic": true})");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();

  // A commercial researcher's studies are commercial use.
  ResearcherProfile biz{
      NewId('r', 2), OrgType::kCommercial, "NO", "Acme", "", ""};
  ASSERT_TRUE(service_->RegisterResearcher(biz).ok());
  ds->study.researcher_id = biz.id;
  auto stored = service_->RegisterStudy(*ds);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->study.commercial_use);
  EXPECT_TRUE(service_->GetStudy(stored->study.id)->study.commercial_use);
  ds->study.researcher_id = NewId('r', 77);
  EXPECT_EQ(service_->RegisterStudy(*ds).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace tillit::consent
