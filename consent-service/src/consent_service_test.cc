#include "tillit/consent_service/consent_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

namespace tillit::consent {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

std::string NewId(char prefix, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c_%032x", prefix, n);
  return buf;
}

// A bundle with a Patient, two vital signs (2019, 2021), a lab result
// (2021) and a depression Condition (sensitive; SNOMED 35489007).
std::string Bundle(const std::string& pid) {
  auto obs = [&](const std::string& id, const std::string& cat,
                 const std::string& when) {
    return json{{"fullUrl", "urn:uuid:" + id},
                {"resource",
                 {{"resourceType", "Observation"},
                  {"id", id},
                  {"status", "final"},
                  {"category", {{{"coding", {{{"code", cat}}}}}}},
                  {"code",
                   {{"coding",
                     {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
                  {"subject", {{"reference", "urn:uuid:" + pid}}},
                  {"effectiveDateTime", when}}}};
  };
  json entries = json::array();
  entries.push_back({{"fullUrl", "urn:uuid:" + pid},
                     {"resource", {{"resourceType", "Patient"}, {"id", pid}}}});
  entries.push_back(obs(pid + "-v1", "vital-signs", "2019-06-01"));
  entries.push_back(obs(pid + "-v2", "vital-signs", "2021-06-01"));
  entries.push_back(obs(pid + "-l1", "laboratory", "2021-07-01"));
  entries.push_back(
      {{"fullUrl", "urn:uuid:" + pid + "-c1"},
       {"resource",
        {{"resourceType", "Condition"},
         {"id", pid + "-c1"},
         {"code",
          {{"coding",
            {{{"system", "http://snomed.info/sct"}, {"code", "35489007"}}}}}},
         {"subject", {{"reference", "urn:uuid:" + pid}}},
         {"onsetDateTime", "2020-01-01"}}}});
  return json{
      {"resourceType", "Bundle"}, {"type", "collection"}, {"entry", entries}}
      .dump();
}

std::string ResearchGrant(const std::string& extra = "") {
  return R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000006"],
             "categories": ["vital-signs", "lab-results", "patient-summary"],
             "data_period": {"start": "2020-01-01", "end": null},
             "expires": "2027-12-31T00:00:00Z")" +
         extra + "}";
}

class ConsentServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-consent-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    o.clock = &clock_;
    o.rng = &rng_;
    auto created = vault::Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    service_ = std::make_unique<ConsentService>(vault_.get(), &clock_, &rng_);
    researcher_ = {NewId('r', 1), OrgType::kAcademic, "SE", "Karolinska", "", ""};
    ASSERT_TRUE(service_->RegisterResearcher(researcher_).ok());
  }
  void TearDown() override {
    service_.reset();
    vault_.reset();
    fs::remove_all(dir_);
  }
  std::string Citizen(const std::string& pid) {
    auto imp = vault_->Import(Bundle(pid), vault::ImportFormat::kJson);
    EXPECT_TRUE(imp.ok()) << imp.status().ToString();
    return imp->citizen_id;
  }
  StudyDefinition Study(const std::string& purpose = "\"DUO:0000006\"") {
    auto def = ParseStudyDefinition(R"({"title": "BP", "purpose": )" + purpose +
                                    R"(, "categories": ["vital-signs"]})");
    EXPECT_TRUE(def.ok()) << def.status().ToString();
    def->study.researcher_id = researcher_.id;
    auto stored = service_->RegisterStudy(*def);
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return *stored;
  }
  bool Permits(const std::string& citizen, const StudyDefinition& s) {
    auto policy = service_->LoadPolicy(citizen);
    EXPECT_TRUE(policy.ok());
    Decision d;
    ResearchRequest req{&researcher_, &s.study};
    DecideResearch(*policy, req, clock_.NowSeconds(), &d);
    return d.permit;
  }

  std::string dir_;
  FakeClock clock_{kNow};
  crypto::DeterministicRandom rng_{3};
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<ConsentService> service_;
  ResearcherProfile researcher_;
};

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
  EXPECT_EQ(cached.ListGrants("c_00000000000000000000000000000000")
                .status()
                .code(),
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

TEST_F(ConsentServiceTest, PolicyCacheKeepsAPolicyUntilTheStoreChanges) {
  vault::StoreCache cache(vault_.get(), 4);
  ConsentService cached(vault_.get(), &clock_, &rng_, &cache);
  PolicyCache policies(8);
  const std::string c = Citizen("p-41");
  auto get = [&] {
    std::shared_ptr<const CitizenPolicy> out;
    EXPECT_TRUE(cache
                    .With(c,
                          [&](vault::CitizenStore& store) -> Status {
                            TILLIT_ASSIGN_OR_RETURN(out, policies.Get(store));
                            return Status::Ok();
                          })
                    .ok());
    return out;
  };
  auto first = get();
  ASSERT_NE(first, nullptr);
  EXPECT_TRUE(first->grants.empty());
  EXPECT_EQ(get(), first);  // unchanged store: the same parsed policy

  // A grant written through the same open store (the server's own).
  auto g = cached.AddGrant(c, ResearchGrant());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto second = get();
  ASSERT_EQ(second->grants.size(), 1u);
  EXPECT_EQ(get(), second);

  // A revocation through another connection (as the command line would
  // write while a server runs) is seen at once.
  ASSERT_TRUE(service_->RevokeGrant(c, g->id).ok());
  auto third = get();
  ASSERT_EQ(third->grants.size(), 1u);
  EXPECT_EQ(third->grants[0].status, Grant::Status::kRevoked);

  // A record added through another connection changes the store too.
  auto imp = vault_->Import(
      R"({"resourceType": "Bundle", "type": "collection", "entry": [
           {"resource": {"resourceType": "Observation", "id": "extra-1",
             "status": "final",
             "category": [{"coding": [{"code": "vital-signs"}]}],
             "code": {"coding": [{"system": "http://loinc.org",
                                  "code": "8867-4"}]},
             "effectiveDateTime": "2022-01-01"}}]})",
      vault::ImportFormat::kJson, c);
  ASSERT_TRUE(imp.ok()) << imp.status().ToString();
  EXPECT_NE(get(), third);
}

TEST_F(ConsentServiceTest, PolicyCacheHoldsAtMostItsCapacity) {
  vault::StoreCache cache(vault_.get(), 4);
  PolicyCache policies(2);
  for (int i = 0; i < 5; ++i) {
    const std::string c = Citizen("p-5" + std::to_string(i));
    ASSERT_TRUE(cache
                    .With(c,
                          [&](vault::CitizenStore& store) {
                            return policies.Get(store).status();
                          })
                    .ok());
    EXPECT_LE(policies.size(), 2u);
  }
  EXPECT_EQ(policies.size(), 2u);
  PolicyCache none(0);
  const std::string c = Citizen("p-60");
  ASSERT_TRUE(cache
                  .With(c,
                        [&](vault::CitizenStore& store) -> Status {
                          TILLIT_ASSIGN_OR_RETURN(auto p, none.Get(store));
                          EXPECT_NE(p, nullptr);
                          return Status::Ok();
                        })
                  .ok());
  EXPECT_EQ(none.size(), 0u);
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
  ProviderRequest req{provider, kAllCategories, {}};
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
  EXPECT_EQ(ParseStudyDefinition(
                R"({"purpose": "DUO:0000006", "categories": ["vital-signs"]})")
                .status()
                .code(),
            StatusCode::kInvalidArgument);  // no title
  for (
      const char* bad :
      {R"({"title": "t", "purpose": "DUO:0000043", "categories": ["vital-signs"]})",
       R"({"title": "t", "purpose": "DUO:0000007", "categories": ["vital-signs"]})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": []})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["x"]})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"], "obligations": ["DUO:0000045"]})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"], "data_period": {"start": "2020-01-01", "end": "2019-01-01"}})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"], "sponsor": "x"})"}) {
    EXPECT_EQ(ParseStudyDefinition(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  auto ds = ParseStudyDefinition(
      R"({"title": "T2D", "purpose": {"code": "DUO:0000007", "disease": "MONDO:0005148"},
          "categories": ["lab-results"], "obligations": ["DUO:0000019"],
          "data_period": {"start": "2015-01-01", "end": "2020-12-31"}, "genetic": true})");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->study.purpose.disease, "MONDO:0005148");
  EXPECT_TRUE(ds->study.genetic);
  auto again = ParseStudyDefinition(StudyToJson(*ds));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->study.data_period.start, ds->study.data_period.start);
  EXPECT_EQ(again->study.data_period.end, ds->study.data_period.end);
  EXPECT_EQ(again->study.obligations, ds->study.obligations);

  // A commercial researcher's studies are commercial use.
  ResearcherProfile biz{NewId('r', 2), OrgType::kCommercial, "NO", "Acme", "", ""};
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
