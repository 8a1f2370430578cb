// VaultTest: the fixture the vault's test files share (a fresh data
// directory with a frozen clock and deterministic randomness) and Bundle(),
// a small Synthea-shaped FHIR document. Test-only.
//
// Thread-safety: as a gtest fixture, one test at a time.
#ifndef TILLIT_VAULT_VAULT_TEST_H_
#define TILLIT_VAULT_VAULT_TEST_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tillit/testing/temp_dir.h"
#include "tillit/vault/vault.h"

// Not in an anonymous namespace: every test file must see the same
// VaultTest type, or gtest refuses to mix them in one suite.
namespace tillit::vault {

inline constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

// 2020-01-15, 2020-02-15, ... (month i+1 of 2020, then later years).
inline std::string EffectiveDate(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-15T10:00:00Z", 2020 + i / 12,
                1 + i % 12);
  return buf;
}

// A small Synthea-shaped transaction bundle for patient `pid`.
inline nlohmann::json Bundle(const std::string& pid, int observations = 3) {
  nlohmann::json entries = nlohmann::json::array();
  entries.push_back({{"fullUrl", "urn:uuid:" + pid},
                     {"resource",
                      {{"resourceType", "Patient"},
                       {"id", pid},
                       {"name", {{{"family", "Testdottir"}}}},
                       {"birthDate", "1980-05-01"}}},
                     {"request", {{"method", "POST"}, {"url", "Patient"}}}});
  for (int i = 0; i < observations; ++i) {
    const std::string oid = pid.substr(0, 8) + "-obs-" + std::to_string(i);
    entries.push_back(
        {{"fullUrl", "urn:uuid:" + oid},
         {"resource",
          {{"resourceType", "Observation"},
           {"id", oid},
           {"status", "final"},
           {"category",
            {{{"coding",
               {{{"system",
                  "http://terminology.hl7.org/CodeSystem/observation-category"},
                 {"code", i % 2 == 0 ? "vital-signs" : "laboratory"}}}}}}},
           {"code",
            {{"coding",
              {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
           {"subject", {{"reference", "urn:uuid:" + pid}}},
           {"effectiveDateTime", EffectiveDate(i)},
           {"valueQuantity", {{"value", 60 + i}, {"unit", "/min"}}}}},
         {"request", {{"method", "POST"}, {"url", "Observation"}}}});
  }
  return {
      {"resourceType", "Bundle"}, {"type", "transaction"}, {"entry", entries}};
}

class VaultTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{42};
  FakeClock clock_{kNow};
  tillit::testing::TempDir dir_;

  VaultOptions Options() {
    VaultOptions o;
    o.data_dir = dir_ / "data";
    o.clock = &clock_;
    o.rng = &rng_;
    return o;
  }
  std::unique_ptr<Vault> InitVault() {
    auto created = Vault::Init(Options());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
    return std::move(created->vault);
  }
  std::string CitizenFile(const std::string& id) {
    return dir_ / ("data/citizens/" + id + ".db");
  }
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_VAULT_TEST_H_
