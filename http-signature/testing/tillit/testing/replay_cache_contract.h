// The contract every http_signature::ReplayCache keeps, as one parametrised
// suite: a test binary includes this header once and instantiates it with
// the caches it builds (INSTANTIATE_TEST_SUITE_P(Name, ReplayCacheContractTest,
// ::testing::Values(ReplayCacheBackend{...}))). The in-memory cache runs it
// in http_signature_test, PostgreSQL's in pgstore_test.
#ifndef TILLIT_TESTING_REPLAY_CACHE_CONTRACT_H_
#define TILLIT_TESTING_REPLAY_CACHE_CONTRACT_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "tillit/http_signature/replay_cache.h"

namespace tillit::http_signature {

struct ReplayCacheBackend {
  std::string name;
  // Two handles on one new, empty cache (two nodes, where the cache is
  // shared; the same object twice where it is not).
  std::function<
      std::pair<std::shared_ptr<ReplayCache>, std::shared_ptr<ReplayCache>>()>
      make;
};

inline std::string ReplayCacheBackendName(
    const ::testing::TestParamInfo<ReplayCacheBackend>& info) {
  return info.param.name;
}

class ReplayCacheContractTest
    : public ::testing::TestWithParam<ReplayCacheBackend> {
 protected:
  void SetUp() override {
    std::tie(a_, b_) = GetParam().make();
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }
  static ReplayCache::Result Remember(ReplayCache& c, std::string_view key,
                                      std::string_view nonce, int64_t expires,
                                      int64_t now) {
    auto r = c.Remember(key, nonce, expires, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ReplayCache::Result::kFull;
  }

  std::shared_ptr<ReplayCache> a_, b_;
};

TEST_P(ReplayCacheContractTest, ANonceIsFreshOnceThenAReplayEverywhere) {
  using R = ReplayCache::Result;
  EXPECT_EQ(Remember(*a_, "d_1", "nonce-aaaaaaaaaaaa", 1300, 1000), R::kFresh);
  EXPECT_EQ(Remember(*a_, "d_1", "nonce-aaaaaaaaaaaa", 1300, 1001),
            R::kReplayed);
  // Through the other handle too: a replay sent to another node.
  EXPECT_EQ(Remember(*b_, "d_1", "nonce-aaaaaaaaaaaa", 1300, 1002),
            R::kReplayed);
}

TEST_P(ReplayCacheContractTest, ANonceBelongsToItsKeyAlone) {
  using R = ReplayCache::Result;
  EXPECT_EQ(Remember(*a_, "d_1", "nonce-bbbbbbbbbbbb", 1300, 1000), R::kFresh);
  EXPECT_EQ(Remember(*a_, "d_2", "nonce-bbbbbbbbbbbb", 1300, 1000), R::kFresh);
  // No two (key, nonce) pairs run together.
  EXPECT_EQ(Remember(*a_, "d_1n", "once-bbbbbbbbbbbb", 1300, 1000), R::kFresh);
}

TEST_P(ReplayCacheContractTest, AnExpiredNonceIsForgotten) {
  using R = ReplayCache::Result;
  EXPECT_EQ(Remember(*a_, "d_1", "nonce-cccccccccccc", 1300, 1000), R::kFresh);
  EXPECT_EQ(Remember(*b_, "d_1", "nonce-cccccccccccc", 1300, 1300),
            R::kReplayed);
  EXPECT_EQ(Remember(*b_, "d_1", "nonce-cccccccccccc", 1700, 1301), R::kFresh);
  EXPECT_EQ(Remember(*a_, "d_1", "nonce-cccccccccccc", 1700, 1302),
            R::kReplayed);
}

}  // namespace tillit::http_signature

#endif  // TILLIT_TESTING_REPLAY_CACHE_CONTRACT_H_
