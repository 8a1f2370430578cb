// Bulk Data export jobs (FHIR Bulk Data Access v2, docs/FHIR.md): each
// job runs on a thread of its own, writes NDJSON per resource type into
// memory, and is kept an hour after it ends for its owner to download.
// Jobs live in memory only: a restart forgets them (running or done), and
// the client kicks off again.
//
// Thread-safety: BulkExports is safe to use from any thread. A job's work
// runs on its thread; everything others see of it is read under the
// manager's mutex or through atomics.
#ifndef TILLIT_API_SRC_BULK_H_
#define TILLIT_API_SRC_BULK_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tillit/base/clock.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/crypto/random.h"

namespace tillit::api::internal {

// One output file: the records of one type, one JSON object per line.
struct BulkFile {
  std::string type;
  std::string ndjson;
  size_t count = 0;
};

// What a job's work reports as it goes, and where it writes.
class BulkProgress {
 public:
  // The work stops (returning Cancelled) once this is true.
  bool cancelled() const { return cancelled_.load(); }
  void SetTotal(size_t total) { total_.store(total); }
  void Add(size_t read) { read_.fetch_add(read); }

 private:
  friend class BulkExports;
  std::atomic<bool> cancelled_{false};
  std::atomic<size_t> total_{0};
  std::atomic<size_t> read_{0};
};

// The work of a job: fills `files` (the job's own until it returns).
using BulkWork =
    std::function<Status(BulkProgress& progress, std::vector<BulkFile>& files)>;

// What a caller sees of a job.
struct BulkJobView {
  enum class State { kRunning, kDone, kFailed };
  State state = State::kRunning;
  std::string citizen;  // whose records
  std::string request;  // the kick-off request's URL
  int64_t transaction_time = 0;
  size_t read = 0, total = 0;
  std::string error;    // kFailed: what went wrong
  int64_t expires = 0;  // kDone, kFailed: when it is forgotten
  // kDone: per file its type and count (the bytes: File()).
  std::vector<std::pair<std::string, size_t>> files;
};

class BulkExports {
 public:
  static constexpr size_t kMaxRunning = 4;  // in the whole server
  static constexpr int64_t kKeepSeconds = 3600;

  // `clock` is not owned and must outlive the manager.
  explicit BulkExports(Clock* clock) : clock_(*clock) {}
  BulkExports(const BulkExports&) = delete;
  BulkExports& operator=(const BulkExports&) = delete;
  // Cancels every running job and waits for its thread.
  ~BulkExports();

  // Starts `work` on a thread for `owner` (who alone sees the job).
  // ResourceExhausted when the owner already has a job running, or
  // kMaxRunning jobs run. The job's id (bx_ + 32 hex digits).
  // `citizen` is whose records it exports.
  StatusOr<std::string> Start(const std::string& owner,
                              const std::string& citizen, std::string request,
                              int64_t now, crypto::Random& rng, BulkWork work)
      EXCLUDES(mu_);
  // The job, if it exists, is the owner's and is not forgotten.
  std::optional<BulkJobView> Find(const std::string& id,
                                  const std::string& owner, int64_t now)
      EXCLUDES(mu_);
  // The bytes of a done job's file of `type`; nullptr otherwise. The file
  // stays valid while the returned pointer lives.
  std::shared_ptr<const BulkFile> File(const std::string& id,
                                       const std::string& owner,
                                       const std::string& type, int64_t now)
      EXCLUDES(mu_);
  // Cancels a running job or forgets a done one; false when there is no
  // such job of the owner.
  bool Delete(const std::string& id, const std::string& owner) EXCLUDES(mu_);

 private:
  struct Job {
    std::string owner;
    std::string citizen;
    std::string request;
    int64_t transaction_time = 0;
    BulkProgress progress;
    BulkJobView::State state = BulkJobView::State::kRunning;
    std::string error;
    int64_t ended = 0;
    std::vector<std::shared_ptr<const BulkFile>> files;
    std::thread thread;
    std::atomic<bool> finished{false};  // the thread is past its last lock
  };
  // Forgets ended jobs older than kKeepSeconds, and joins the threads of
  // jobs that were cancelled or forgotten.
  void Sweep(int64_t now) REQUIRES(mu_);
  void Finish(const std::string& id, const Status& status,
              std::vector<BulkFile> files) EXCLUDES(mu_);

  Mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_ GUARDED_BY(mu_);
  // Jobs taken out of jobs_ whose thread may still run.
  std::list<std::unique_ptr<Job>> retired_ GUARDED_BY(mu_);
  Clock& clock_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_BULK_H_
