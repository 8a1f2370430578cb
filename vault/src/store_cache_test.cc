#include "tillit/vault/store_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "tillit/fhir/synthetic.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::vault {
namespace {

using testing::TempDir;

class StoreCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    VaultOptions o;
    o.data_dir = dir_ / "data";
    o.clock = &clock_;
    o.rng = &rng_;
    auto created = Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    for (int i = 0; i < 3; ++i) {
      auto id = vault_->CreateCitizen();
      ASSERT_TRUE(id.ok());
      ids_.push_back(*id);
    }
  }
  int64_t Generation(StoreAccess& access, const std::string& id) {
    int64_t g = -1;
    EXPECT_TRUE(access
                    .With(id,
                          [&](CitizenStore& s) {
                            g = s.generation();
                            return Status::Ok();
                          })
                    .ok());
    return g;
  }
  Status WriteSetting(StoreAccess& access, const std::string& id,
                      const std::string& value) {
    return access.With(id, [&](CitizenStore& s) {
      std::vector<DocumentWrite> w = {{"setting", "k", value}};
      return s.WriteDocuments(w, nullptr, clock_.NowSeconds());
    });
  }

  crypto::DeterministicRandom rng_{7};
  FakeClock clock_{1767225600};
  TempDir dir_;
  std::unique_ptr<Vault> vault_;
  std::vector<std::string> ids_;
};

TEST_F(StoreCacheTest, KeepsAtMostCapacityStoresEvictingTheLeastRecent) {
  StoreCache cache(vault_.get(), 2);
  ASSERT_TRUE(WriteSetting(cache, ids_[0], "a").ok());
  ASSERT_TRUE(WriteSetting(cache, ids_[1], "b").ok());
  EXPECT_EQ(cache.open_stores(), 2u);
  EXPECT_EQ(cache.evictions(), 0u);
  ASSERT_TRUE(WriteSetting(cache, ids_[0], "a2").ok());  // 0 is now newest
  ASSERT_TRUE(WriteSetting(cache, ids_[2], "c").ok());   // evicts 1
  EXPECT_EQ(cache.open_stores(), 2u);
  EXPECT_EQ(cache.evictions(), 1u);
  // Store 1 reopens from disk with what was written.
  std::optional<std::string> got;
  ASSERT_TRUE(cache
                  .With(ids_[1],
                        [&](CitizenStore& s) -> Status {
                          TILLIT_ASSIGN_OR_RETURN(
                              got, s.GetDocument("setting", "k"));
                          return Status::Ok();
                        })
                  .ok());
  EXPECT_EQ(got, "b");
  EXPECT_EQ(cache.evictions(), 2u);  // 0 went (2 was newer)
}

TEST_F(StoreCacheTest, UnknownCitizenIsNotFoundAndNotCached) {
  StoreCache cache(vault_.get(), 4);
  Status s = cache.With("c_00000000000000000000000000000000",
                        [](CitizenStore&) { return Status::Ok(); });
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(
      cache.With("../etc", [](CitizenStore&) { return Status::Ok(); }).code(),
      StatusCode::kNotFound);
  EXPECT_EQ(cache.open_stores(), 0u);
}

TEST_F(StoreCacheTest, ConcurrentWritersToOneCitizenAreSerialised) {
  StoreCache cache(vault_.get(), 1);
  const int64_t before = Generation(cache, ids_[0]);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        // Alternate citizens so the single slot is evicted under load.
        const std::string& id = ids_[(t + i) % 2];
        if (!WriteSetting(cache, id, std::to_string(i)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  const int64_t after = Generation(cache, ids_[0]);
  EXPECT_EQ(after - before, 20);
  // The registry agrees with the file: a fresh open succeeds.
  EXPECT_TRUE(vault_->OpenCitizen(ids_[0]).ok());
  EXPECT_TRUE(vault_->OpenCitizen(ids_[1]).ok());
}

TEST_F(StoreCacheTest, TwoHandlesOnOneFileKeepTheGenerationMonotonic) {
  // Every write must move the generation on, even when another handle on
  // the same file (the command line while a server runs) wrote in between:
  // otherwise a copy of the file taken between two writes would carry the
  // registry's generation and a rollback to it would go unnoticed.
  StoreCache cache(vault_.get(), 4);
  DirectStoreAccess direct(vault_.get());
  const int64_t start = Generation(cache, ids_[0]);
  ASSERT_TRUE(WriteSetting(cache, ids_[0], "1").ok());
  ASSERT_TRUE(WriteSetting(direct, ids_[0], "2").ok());  // another handle
  ASSERT_TRUE(WriteSetting(cache, ids_[0], "3").ok());   // stale in memory
  auto reopened = vault_->OpenCitizen(ids_[0]);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->generation(), start + 3);
  EXPECT_EQ(*(*reopened)->GetDocument("setting", "k"), "3");
}

TEST_F(StoreCacheTest, ExclusiveClosesTheStoreForErasure) {
  StoreCache cache(vault_.get(), 4);
  ASSERT_TRUE(WriteSetting(cache, ids_[0], "x").ok());
  EXPECT_EQ(cache.open_stores(), 1u);
  ASSERT_TRUE(
      cache.Exclusive(ids_[0], [&] { return vault_->EraseCitizen(ids_[0]); })
          .ok());
  EXPECT_EQ(cache.open_stores(), 0u);
  EXPECT_EQ(WriteSetting(cache, ids_[0], "y").code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace tillit::vault
