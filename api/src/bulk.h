// Bulk Data export jobs (FHIR Bulk Data Access v2, docs/FHIR.md): each
// job runs on a thread of its own, writes NDJSON per resource type into
// memory, and is kept an hour after it ends for its owner to download.
// Jobs live in memory only: a restart forgets them (running or done), and
// the client kicks off again.
//
// Thread-safety: BulkExports is safe to use from any thread (a JobTable,
// jobs.h).
#ifndef TILLIT_API_SRC_BULK_H_
#define TILLIT_API_SRC_BULK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jobs.h"
#include "tillit/base/clock.h"
#include "tillit/base/status.h"
#include "tillit/crypto/random.h"

namespace tillit::api::internal {

// One output file: the records of one type, one JSON object per line.
struct BulkFile {
  std::string type;
  std::string ndjson;
  size_t count = 0;
};

// What a job's work reports as it goes (SetTotal, Add: records read).
using BulkProgress = JobProgress;

// The work of a job: fills `files` (the job's own until it returns).
using BulkWork =
    std::function<Status(BulkProgress& progress, std::vector<BulkFile>& files)>;

// What a caller sees of a job.
struct BulkJobView {
  using State = JobState;
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
  explicit BulkExports(Clock* clock);
  // Cancels every running job and waits for its thread.
  ~BulkExports() = default;

  // Starts `work` on a thread for `owner` (who alone sees the job).
  // ResourceExhausted when the owner already has a job running, or
  // kMaxRunning jobs run. The job's id (bx_ + 32 hex digits).
  // `citizen` is whose records it exports.
  StatusOr<std::string> Start(const std::string& owner,
                              const std::string& citizen, std::string request,
                              int64_t now, crypto::Random& rng, BulkWork work);
  // The job, if it exists, is the owner's and is not forgotten.
  std::optional<BulkJobView> Find(const std::string& id,
                                  const std::string& owner, int64_t now);
  // The bytes of a done job's file of `type`; nullptr otherwise. The file
  // stays valid while the returned pointer lives.
  std::shared_ptr<const BulkFile> File(const std::string& id,
                                       const std::string& owner,
                                       const std::string& type, int64_t now);
  // Cancels a running job or forgets a done one; false when there is no
  // such job of the owner.
  bool Delete(const std::string& id, const std::string& owner) {
    return jobs_.Delete(id, owner);
  }

 private:
  struct Meta {
    std::string citizen;
    std::string request;
    int64_t transaction_time = 0;
  };
  // The files, sorted by type.
  JobTable<Meta, std::vector<BulkFile>> jobs_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_BULK_H_
