// The ReplayCache contract (replay_cache_contract.h) on the in-memory
// cache, and its bound.
#include "tillit/http_signature/replay_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>

#include "tillit/testing/replay_cache_contract.h"

namespace tillit::http_signature {
namespace {

INSTANTIATE_TEST_SUITE_P(Memory, ReplayCacheContractTest,
                         ::testing::Values(ReplayCacheBackend{
                             "memory",
                             [] {
                               auto c =
                                   std::make_shared<MemoryReplayCache>(100);
                               return std::make_pair(
                                   std::shared_ptr<ReplayCache>(c),
                                   std::shared_ptr<ReplayCache>(c));
                             }}),
                         ReplayCacheBackendName);

TEST(MemoryReplayCacheTest, AFullCacheRefusesUntilSomeExpire) {
  MemoryReplayCache c(2);
  EXPECT_EQ(*c.Remember("d_1", "n1", 100, 10), ReplayCache::Result::kFresh);
  EXPECT_EQ(*c.Remember("d_1", "n2", 200, 10), ReplayCache::Result::kFresh);
  EXPECT_EQ(*c.Remember("d_1", "n3", 200, 10), ReplayCache::Result::kFull);
  EXPECT_EQ(c.size(), 2u);
  // Once the first has expired there is room again.
  EXPECT_EQ(*c.Remember("d_1", "n3", 200, 101), ReplayCache::Result::kFresh);
  EXPECT_EQ(*c.Remember("d_1", "n1", 200, 101), ReplayCache::Result::kFull);
}

}  // namespace
}  // namespace tillit::http_signature
