#include "bulk.h"

#include <algorithm>
#include <utility>

namespace tillit::api::internal {

BulkExports::BulkExports(Clock* clock)
    : jobs_(clock, JobLimits{
                       .max_running = kMaxRunning,
                       .keep_seconds = kKeepSeconds,
                       .id_prefix = "bx_",
                       .owner_busy = "an export of yours is running: wait for "
                                     "it, or cancel it",
                       .table_full = "too many exports run; retry later",
                   }) {}

StatusOr<std::string> BulkExports::Start(const std::string& owner,
                                         const std::string& citizen,
                                         std::string request, int64_t now,
                                         crypto::Random& rng, BulkWork work) {
  return jobs_.Start(
      owner, Meta{citizen, std::move(request), now}, now, rng,
      [work = std::move(work)](const std::string&, JobProgress& progress)
          -> StatusOr<std::vector<BulkFile>> {
        std::vector<BulkFile> files;
        TILLIT_RETURN_IF_ERROR(work(progress, files));
        std::sort(files.begin(), files.end(),
                  [](const BulkFile& a, const BulkFile& b) {
                    return a.type < b.type;
                  });
        return files;
      });
}

std::optional<BulkJobView> BulkExports::Find(const std::string& id,
                                             const std::string& owner,
                                             int64_t now) {
  auto job = jobs_.Find(id, owner, now);
  if (!job) return std::nullopt;
  BulkJobView v;
  v.state = job->state;
  v.citizen = job->meta.citizen;
  v.request = job->meta.request;
  v.transaction_time = job->meta.transaction_time;
  v.read = job->done;
  v.total = job->total;
  v.error = job->error.message();
  v.expires = job->expires;
  if (job->result) {
    for (const BulkFile& f : *job->result)
      v.files.emplace_back(f.type, f.count);
  }
  return v;
}

std::shared_ptr<const BulkFile> BulkExports::File(const std::string& id,
                                                  const std::string& owner,
                                                  const std::string& type,
                                                  int64_t now) {
  auto job = jobs_.Find(id, owner, now);
  if (!job || job->state != JobState::kDone || !job->result) return nullptr;
  for (const BulkFile& f : *job->result) {
    // Shares the ownership of all the job's files.
    if (f.type == type) return {job->result, &f};
  }
  return nullptr;
}

}  // namespace tillit::api::internal
