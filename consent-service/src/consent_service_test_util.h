// Test fixture shared by the consent-service tests that need a vault: a
// fresh vault in a temporary directory with a frozen clock, a seeded
// generator, a ConsentService over it and one registered researcher; and
// the bundle and grant texts the tests import and store. Test-only.
#ifndef TILLIT_CONSENT_SERVICE_SRC_CONSENT_SERVICE_TEST_UTIL_H_
#define TILLIT_CONSENT_SERVICE_SRC_CONSENT_SERVICE_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tillit/base/clock.h"
#include "tillit/consent/policy.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/consent_service/study_definition.h"
#include "tillit/crypto/random.h"
#include "tillit/vault/vault.h"

// Not in an unnamed namespace: gtest requires every test of the suite
// ConsentServiceTest, in whichever file, to use this one fixture type.
namespace tillit::consent::service_testing {

inline constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

// "<prefix>_" + n as 32 hex digits: a valid vault id.
inline std::string NewId(char prefix, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c_%032x", prefix, n);
  return buf;
}

// A bundle with a Patient, two vital signs (2019, 2021), a lab result
// (2021) and a depression Condition (sensitive; SNOMED 35489007).
inline std::string Bundle(const std::string& pid) {
  using nlohmann::json;
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

// A research grant to any researcher for HMB, from 2020, until 2027.
inline std::string ResearchGrant(const std::string& extra = "") {
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
        (std::filesystem::temp_directory_path() / "tillit-consent-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    o.clock = &clock_;
    o.rng = &rng_;
    auto created = vault::Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    service_ = std::make_unique<ConsentService>(vault_.get(), &clock_, &rng_);
    researcher_ = {
        NewId('r', 1), OrgType::kAcademic, "SE", "Karolinska", "", ""};
    ASSERT_TRUE(service_->RegisterResearcher(researcher_).ok());
  }
  void TearDown() override {
    service_.reset();
    vault_.reset();
    std::filesystem::remove_all(dir_);
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

}  // namespace tillit::consent::service_testing

#endif  // TILLIT_CONSENT_SERVICE_SRC_CONSENT_SERVICE_TEST_UTIL_H_
