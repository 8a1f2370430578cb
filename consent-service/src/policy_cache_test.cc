#include "tillit/consent_service/policy_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "consent_service_test_util.h"
#include "tillit/consent/policy.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {
namespace {

using service_testing::ConsentServiceTest;
using service_testing::ResearchGrant;

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

}  // namespace
}  // namespace tillit::consent
