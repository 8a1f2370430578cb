// JobTable on its own: what a job run on the caller's thread (RunHere)
// shares with background jobs. bulk_test.cc covers Start, Delete and the
// limits through BulkExports.
#include "jobs.h"

#include <gtest/gtest.h>

#include <string>

namespace tillit::api::internal {
namespace {

using Table = JobTable<std::string, int>;

JobLimits Limits(size_t max_running) {
  return JobLimits{.max_running = max_running,
                   .keep_seconds = 60,
                   .id_prefix = "job_",
                   .owner_busy = "yours runs",
                   .table_full = "full"};
}

TEST(JobTableTest, AJobRunHereIsSeenWhileItRunsAndKeptAfter) {
  FakeClock clock(1000);
  Table jobs(&clock, Limits(2));
  crypto::Random& rng = crypto::Random::System();
  std::string seen_id;
  auto done = jobs.RunHere(
      "ada", "study-1", 1000, rng,
      [&](const std::string& id, JobProgress& progress) -> StatusOr<int> {
        seen_id = id;
        progress.SetTotal(3);
        progress.SetDone(2);
        auto running = jobs.Find(id, "ada", 1000);
        EXPECT_TRUE(running.has_value());
        if (running) {
          EXPECT_EQ(running->state, JobState::kRunning);
          EXPECT_EQ(running->meta, "study-1");
          EXPECT_EQ(running->done, 2u);
          EXPECT_EQ(running->total, 3u);
        }
        EXPECT_FALSE(jobs.Find(id, "bob", 1000).has_value());
        // The owner's one job runs; another owner's may start.
        EXPECT_EQ(jobs.RunHere("ada", "", 1000, rng,
                               [](const std::string&,
                                  JobProgress&) -> StatusOr<int> { return 0; })
                      .status()
                      .message(),
                  "yours runs");
        return 42;
      });
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  EXPECT_TRUE(seen_id.starts_with("job_"));
  EXPECT_EQ(seen_id.size(), 4u + 32u);
  EXPECT_EQ(done->state, JobState::kDone);
  ASSERT_NE(done->result, nullptr);
  EXPECT_EQ(*done->result, 42);
  auto kept = jobs.Find(seen_id, "ada", 1059);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(*kept->result, 42);
  EXPECT_EQ(kept->expires, 1060);
  EXPECT_FALSE(jobs.Find(seen_id, "ada", 1060).has_value());
}

TEST(JobTableTest, AFailedJobKeepsItsErrorAndFreesItsPlace) {
  FakeClock clock(1000);
  Table jobs(&clock, Limits(1));
  crypto::Random& rng = crypto::Random::System();
  auto failed =
      jobs.RunHere("ada", "", 1000, rng,
                   [](const std::string&, JobProgress&) -> StatusOr<int> {
                     return Status::FailedPrecondition("no key");
                   });
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->state, JobState::kFailed);
  EXPECT_EQ(failed->error.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(failed->error.message(), "no key");
  EXPECT_EQ(failed->result, nullptr);
  // A table of one: the failed job no longer runs, so the next may.
  auto next = jobs.RunHere(
      "ada", "", 1000, rng,
      [&](const std::string&, JobProgress&) -> StatusOr<int> {
        // While it runs the table is full for everyone.
        EXPECT_EQ(jobs.RunHere("bob", "", 1000, rng,
                               [](const std::string&,
                                  JobProgress&) -> StatusOr<int> { return 0; })
                      .status()
                      .message(),
                  "full");
        return 1;
      });
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->state, JobState::kDone);
}

}  // namespace
}  // namespace tillit::api::internal
