// Background jobs of the server (Bulk Data exports, research releases):
// each runs on a thread of its own (or on the caller's, RunHere), is
// visible to its owner only, and is kept `keep_seconds` after it ends for
// its owner to collect. Jobs live in memory only: a restart forgets them.
//
// A JobTable<Meta, Result> holds, per job, what was known when it started
// (Meta: whose records, which study) and, once it is done, the Result its
// work returned. Limits: `max_running` jobs at once in the whole table (a
// cancelled job counts until its thread has ended) and one per owner.
//
// Thread-safety: a JobTable is safe to use from any thread. A job's work
// runs on its thread; everything others see of it is read under the
// table's mutex or through atomics.
#ifndef TILLIT_API_SRC_JOBS_H_
#define TILLIT_API_SRC_JOBS_H_

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "tillit/base/clock.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/crypto/random.h"

namespace tillit::api::internal {

// What a job's work reports as it goes.
class JobProgress {
 public:
  // The work stops (returning an error) once this is true.
  bool cancelled() const { return cancelled_.load(); }
  void SetTotal(size_t total) { total_.store(total); }
  void Add(size_t done) { done_.fetch_add(done); }
  void SetDone(size_t done) { done_.store(done); }
  size_t done() const { return done_.load(); }
  size_t total() const { return total_.load(); }
  void Cancel() { cancelled_.store(true); }

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<size_t> total_{0};
  std::atomic<size_t> done_{0};
};

enum class JobState { kRunning, kDone, kFailed };

struct JobLimits {
  size_t max_running = 4;
  int64_t keep_seconds = 3600;
  std::string id_prefix;  // "bx_": ids are the prefix and 32 hex digits
  // ResourceExhausted messages.
  std::string owner_busy;  // the owner has a job running
  std::string table_full;  // max_running jobs run
};

// What a caller sees of a job.
template <typename Meta, typename Result>
struct JobView {
  JobState state = JobState::kRunning;
  Meta meta;
  size_t done = 0, total = 0;
  Status error;                          // kFailed: what went wrong
  int64_t expires = 0;                   // kDone, kFailed: when it is forgotten
  std::shared_ptr<const Result> result;  // kDone
};

template <typename Meta, typename Result>
class JobTable {
 public:
  // The work of a job: `id` is the job's id. An error fails the job.
  using Work = std::function<StatusOr<Result>(const std::string& id,
                                              JobProgress& progress)>;
  using View = JobView<Meta, Result>;

  // `clock` is not owned and must outlive the table.
  JobTable(Clock* clock, JobLimits limits)
      : clock_(*clock), limits_(std::move(limits)) {}
  JobTable(const JobTable&) = delete;
  JobTable& operator=(const JobTable&) = delete;
  // Cancels every running job and waits for its thread. REQUIRES: no
  // RunHere call is still running (a server stops serving requests
  // first).
  ~JobTable() {
    std::list<std::unique_ptr<Job>> all;
    {
      MutexLock lock(&mu_);
      for (auto& [id, job] : jobs_) {
        job->progress.Cancel();
        all.push_back(std::move(job));
      }
      jobs_.clear();
      all.splice(all.end(), retired_);
    }
    for (auto& job : all) {
      if (job->thread.joinable()) job->thread.join();
    }
  }

  // Starts `work` on a thread of its own for `owner`, who alone sees the
  // job. ResourceExhausted when the owner already has a job running or
  // the table is full. Returns the job's id.
  StatusOr<std::string> Start(const std::string& owner, Meta meta, int64_t now,
                              crypto::Random& rng, Work work) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    TILLIT_ASSIGN_OR_RETURN(Job * job, Admit(owner, std::move(meta), now, rng));
    // Under the lock: Sweep reads the thread once the job has finished.
    try {
      job->thread = std::thread([this, job, work = std::move(work)] {
        Run(*job, work);
        job->finished.store(true);
      });
    } catch (const std::system_error&) {
      jobs_.erase(job->id);
      return Status::ResourceExhausted(limits_.table_full);
    }
    return job->id;
  }

  // Runs `work` on the calling thread as a job of `owner` (counted against
  // the same limits, seen by Find while it runs) and returns the finished
  // job's view.
  StatusOr<View> RunHere(const std::string& owner, Meta meta, int64_t now,
                         crypto::Random& rng, const Work& work) EXCLUDES(mu_) {
    Job* job = nullptr;
    {
      MutexLock lock(&mu_);
      TILLIT_ASSIGN_OR_RETURN(job, Admit(owner, std::move(meta), now, rng));
    }
    Run(*job, work);
    MutexLock lock(&mu_);
    View v = ViewOf(*job);
    job->finished.store(true);
    return v;
  }

  // The job, if it exists, is the owner's and is not forgotten.
  std::optional<View> Find(const std::string& id, const std::string& owner,
                           int64_t now) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    Sweep(now);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second->owner != owner) return std::nullopt;
    return ViewOf(*it->second);
  }

  // Cancels a running job or forgets a finished one; false when there is
  // no such job of the owner.
  bool Delete(const std::string& id, const std::string& owner) EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end() || it->second->owner != owner) return false;
    it->second->progress.Cancel();
    retired_.push_back(std::move(it->second));
    jobs_.erase(it);
    return true;
  }

 private:
  struct Job {
    std::string id;
    std::string owner;
    Meta meta;
    JobProgress progress;
    JobState state = JobState::kRunning;
    Status error;
    int64_t ended = 0;
    std::shared_ptr<const Result> result;
    std::thread thread;
    std::atomic<bool> finished{false};  // past its last use of the table
  };

  // Checks the limits and registers a running job.
  StatusOr<Job*> Admit(const std::string& owner, Meta meta, int64_t now,
                       crypto::Random& rng) REQUIRES(mu_) {
    Sweep(now);
    size_t running = 0;
    for (const auto& [id, job] : jobs_) {
      if (job->state != JobState::kRunning) continue;
      ++running;
      if (job->owner == owner) {
        return Status::ResourceExhausted(limits_.owner_busy);
      }
    }
    if (running + retired_.size() >= limits_.max_running) {
      return Status::ResourceExhausted(limits_.table_full);
    }
    auto job = std::make_unique<Job>();
    job->id = limits_.id_prefix + rng.Hex(16);
    job->owner = owner;
    job->meta = std::move(meta);
    Job* raw = job.get();
    jobs_.emplace(raw->id, std::move(job));
    return raw;
  }

  void Run(Job& job, const Work& work) EXCLUDES(mu_) {
    StatusOr<Result> r = Status::FailedPrecondition("cancelled");
    if (!job.progress.cancelled()) {
      try {
        r = work(job.id, job.progress);
      } catch (const std::exception&) {
        // On a job's own thread nothing else would catch it; a job left
        // running would hold its place until a restart. The exception's
        // text may quote the data (a JSON parser's last token): not kept.
        r = Status::Internal("the job failed unexpectedly");
      }
    }
    const int64_t now = clock_.NowSeconds();
    MutexLock lock(&mu_);
    // A job cancelled meanwhile (in retired_) keeps nothing.
    job.ended = now;
    if (!r.ok()) {
      job.state = JobState::kFailed;
      job.error = r.status();
      return;
    }
    job.result = std::make_shared<const Result>(std::move(r).value());
    job.state = JobState::kDone;
  }

  View ViewOf(const Job& job) const REQUIRES(mu_) {
    View v;
    v.state = job.state;
    v.meta = job.meta;
    v.done = job.progress.done();
    v.total = job.progress.total();
    v.error = job.error;
    v.expires = job.ended + limits_.keep_seconds;
    v.result = job.result;
    return v;
  }

  // Forgets finished jobs older than keep_seconds, and joins the threads
  // of jobs that were cancelled or forgotten.
  void Sweep(int64_t now) REQUIRES(mu_) {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      Job& job = *it->second;
      if (job.state != JobState::kRunning &&
          job.ended + limits_.keep_seconds <= now) {
        retired_.push_back(std::move(it->second));
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = retired_.begin(); it != retired_.end();) {
      if ((*it)->finished.load()) {
        if ((*it)->thread.joinable()) (*it)->thread.join();
        it = retired_.erase(it);
      } else {
        ++it;
      }
    }
  }

  Mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_ GUARDED_BY(mu_);
  // Jobs taken out of jobs_ whose work may still run.
  std::list<std::unique_ptr<Job>> retired_ GUARDED_BY(mu_);
  Clock& clock_;
  const JobLimits limits_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_JOBS_H_
