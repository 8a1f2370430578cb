#include "bulk.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace tillit::api::internal {
namespace {

// A work that runs until released (or cancelled).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  BulkWork Work(std::string type = "Observation") {
    return [this, type](BulkProgress& p, std::vector<BulkFile>& files) {
      p.SetTotal(2);
      std::unique_lock<std::mutex> lock(mu);
      while (!open && !p.cancelled())
        cv.wait_for(lock, std::chrono::milliseconds(5));
      if (p.cancelled()) return Status::FailedPrecondition("cancelled");
      p.Add(2);
      files.push_back({type, "{}\n{}\n", 2});
      return Status::Ok();
    };
  }
};

std::optional<BulkJobView> WaitDone(BulkExports& b, const std::string& id,
                                    const std::string& owner, int64_t now) {
  for (int i = 0; i < 2000; ++i) {
    auto v = b.Find(id, owner, now);
    if (!v || v->state != BulkJobView::State::kRunning) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

TEST(BulkExportsTest, AJobRunsOnItsOwnAndOnlyItsOwnerSeesIt) {
  FakeClock clock(1000);
  BulkExports bulk(&clock);
  Gate gate;
  auto id = bulk.Start("citizen:c_1", "c_1", "req", 1000,
                       crypto::Random::System(), gate.Work());
  ASSERT_TRUE(id.ok());
  auto running = bulk.Find(*id, "citizen:c_1", 1000);
  ASSERT_TRUE(running.has_value());
  EXPECT_EQ(running->state, BulkJobView::State::kRunning);
  EXPECT_FALSE(bulk.Find(*id, "citizen:c_2", 1000).has_value());
  EXPECT_EQ(bulk.File(*id, "citizen:c_1", "Observation", 1000), nullptr);
  // One running job per owner.
  EXPECT_EQ(bulk.Start("citizen:c_1", "c_1", "req", 1000,
                       crypto::Random::System(), gate.Work())
                .status()
                .code(),
            StatusCode::kResourceExhausted);
  gate.Open();
  auto done = WaitDone(bulk, *id, "citizen:c_1", 1000);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->state, BulkJobView::State::kDone);
  EXPECT_EQ(done->read, 2u);
  ASSERT_EQ(done->files.size(), 1u);
  EXPECT_EQ(done->files[0].second, 2u);
  auto file = bulk.File(*id, "citizen:c_1", "Observation", 1000);
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->ndjson, "{}\n{}\n");
  EXPECT_EQ(bulk.File(*id, "citizen:c_2", "Observation", 1000), nullptr);
  // Kept an hour after it ended, then forgotten.
  EXPECT_TRUE(bulk.Find(*id, "citizen:c_1", 1000 + 3599).has_value());
  EXPECT_FALSE(bulk.Find(*id, "citizen:c_1", 1000 + 3600).has_value());
}

TEST(BulkExportsTest, CancellingStopsTheWorkAndForgetsTheJob) {
  FakeClock clock(1000);
  BulkExports bulk(&clock);
  Gate gate;  // never opened
  auto id = bulk.Start("provider:p_1", "c_1", "req", 1000,
                       crypto::Random::System(), gate.Work());
  ASSERT_TRUE(id.ok());
  EXPECT_FALSE(bulk.Delete(*id, "provider:p_2"));
  EXPECT_TRUE(bulk.Delete(*id, "provider:p_1"));
  EXPECT_FALSE(bulk.Find(*id, "provider:p_1", 1000).has_value());
  EXPECT_FALSE(bulk.Delete(*id, "provider:p_1"));
  // The owner may start again.
  Gate second;
  second.Open();
  EXPECT_TRUE(bulk.Start("provider:p_1", "c_1", "req", 1000,
                         crypto::Random::System(), second.Work())
                  .ok());
}

TEST(BulkExportsTest, AFailedJobSaysWhy) {
  FakeClock clock(1000);
  BulkExports bulk(&clock);
  auto id =
      bulk.Start("citizen:c_1", "c_1", "req", 1000, crypto::Random::System(),
                 [](BulkProgress&, std::vector<BulkFile>&) {
                   return Status::ResourceExhausted("too large");
                 });
  ASSERT_TRUE(id.ok());
  auto v = WaitDone(bulk, *id, "citizen:c_1", 1000);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->state, BulkJobView::State::kFailed);
  EXPECT_EQ(v->error, "too large");
}

TEST(BulkExportsTest, AtMostFourRunAtOnce) {
  FakeClock clock(1000);
  Gate gate;
  {
    BulkExports bulk(&clock);
    for (size_t i = 0; i < BulkExports::kMaxRunning; ++i) {
      ASSERT_TRUE(bulk.Start("citizen:c_" + std::to_string(i), "c", "req", 1000,
                             crypto::Random::System(), gate.Work())
                      .ok());
    }
    EXPECT_EQ(bulk.Start("citizen:c_9", "c", "req", 1000,
                         crypto::Random::System(), gate.Work())
                  .status()
                  .code(),
              StatusCode::kResourceExhausted);
    // Destroying the manager cancels the running jobs and waits for them.
  }
}

}  // namespace
}  // namespace tillit::api::internal
