// PgReplayCache: the ReplayCache contract with two nodes on one database,
// nodes racing for the same nonces, and the sweep of expired rows.
#include "tillit/pgstore/pg_replay_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "tillit/testing/pg_cluster.h"
#include "tillit/testing/replay_cache_contract.h"

namespace tillit::pgstore {
namespace {

// One node: its own session and cache (the session outlives the cache).
struct Node {
  explicit Node(const std::string& conninfo) : session(conninfo) {
    auto c = PgReplayCache::Open(&session);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) cache = std::move(c).value();
  }
  Session session;
  std::unique_ptr<PgReplayCache> cache;
};

std::shared_ptr<http_signature::ReplayCache> NodeCache(
    const std::string& conninfo) {
  auto node = std::make_shared<Node>(conninfo);
  if (node->cache == nullptr) return nullptr;
  // Shares ownership of the node, so the session lives as long as the
  // cache handed out.
  return std::shared_ptr<http_signature::ReplayCache>(node, node->cache.get());
}

}  // namespace
}  // namespace tillit::pgstore

namespace tillit::http_signature {

INSTANTIATE_TEST_SUITE_P(PostgreSQL, ReplayCacheContractTest,
                         ::testing::Values(ReplayCacheBackend{
                             "postgresql",
                             [] {
                               const std::string db =
                                   testing::SharedPgCluster::NewDatabase();
                               return std::make_pair(pgstore::NodeCache(db),
                                                     pgstore::NodeCache(db));
                             }}),
                         ReplayCacheBackendName);

}  // namespace tillit::http_signature

namespace tillit::pgstore {
namespace {

using R = http_signature::ReplayCache::Result;

TEST(PgReplayCacheTest, OfTwoNodesGivenOneRequestExactlyOneAcceptsIt) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  Node a(db), b(db);
  ASSERT_NE(a.cache, nullptr);
  ASSERT_NE(b.cache, nullptr);
  constexpr int kNonces = 200;
  std::atomic<int> fresh{0}, replayed{0};
  auto race = [&](PgReplayCache* c) {
    for (int i = 0; i < kNonces; ++i) {
      auto r = c->Remember("d_1", "nonce-" + std::to_string(i), 2000, 1000);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      (*r == R::kFresh ? fresh : replayed).fetch_add(1);
    }
  };
  std::thread ta(race, a.cache.get());
  std::thread tb(race, b.cache.get());
  ta.join();
  tb.join();
  EXPECT_EQ(fresh.load(), kNonces);
  EXPECT_EQ(replayed.load(), kNonces);
}

TEST(PgReplayCacheTest, ExpiredRowsAreSweptAway) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  Node n(db);
  ASSERT_NE(n.cache, nullptr);
  auto rows = [&]() {
    return n.session.Run([](Connection& c) -> StatusOr<int64_t> {
      TILLIT_ASSIGN_OR_RETURN(Result r,
                              c.Exec("SELECT count(*) FROM replay_nonces"));
      return r.Int64(0, 0);
    });
  };
  for (uint64_t i = 0; i + 1 < PgReplayCache::kSweepEvery; ++i) {
    ASSERT_EQ(*n.cache->Remember("d_1", "old-" + std::to_string(i), 100, 50),
              R::kFresh);
  }
  EXPECT_EQ(*rows(), static_cast<int64_t>(PgReplayCache::kSweepEvery - 1));
  // The next call, long after they expired, sweeps them.
  ASSERT_EQ(*n.cache->Remember("d_1", "new", 1000, 500), R::kFresh);
  EXPECT_EQ(*rows(), 1);
}

TEST(PgReplayCacheTest, ADatabaseOutOfReachIsAnError) {
  Session nowhere("host=127.0.0.1 port=1 connect_timeout=2 dbname=none");
  EXPECT_EQ(PgReplayCache::Open(&nowhere).status().code(),
            StatusCode::kIoError);
}

}  // namespace
}  // namespace tillit::pgstore
