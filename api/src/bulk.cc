#include "bulk.h"

#include <algorithm>
#include <utility>

namespace tillit::api::internal {

BulkExports::~BulkExports() {
  std::list<std::unique_ptr<Job>> all;
  {
    MutexLock lock(&mu_);
    for (auto& [id, job] : jobs_) {
      job->progress.cancelled_.store(true);
      all.push_back(std::move(job));
    }
    jobs_.clear();
    all.splice(all.end(), retired_);
  }
  for (auto& job : all) {
    if (job->thread.joinable()) job->thread.join();
  }
}

void BulkExports::Sweep(int64_t now) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    Job& job = *it->second;
    if (job.state != BulkJobView::State::kRunning &&
        job.ended + kKeepSeconds <= now) {
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

StatusOr<std::string> BulkExports::Start(const std::string& owner,
                                         const std::string& citizen,
                                         std::string request, int64_t now,
                                         crypto::Random& rng, BulkWork work) {
  MutexLock lock(&mu_);
  Sweep(now);
  size_t running = 0;
  for (const auto& [id, job] : jobs_) {
    if (job->state != BulkJobView::State::kRunning) continue;
    ++running;
    if (job->owner == owner)
      return Status::ResourceExhausted(
          "an export of yours is running: wait for it, or cancel it");
  }
  if (running + retired_.size() >= kMaxRunning)
    return Status::ResourceExhausted("too many exports run; retry later");
  const std::string id = "bx_" + rng.Hex(16);
  auto job = std::make_unique<Job>();
  job->owner = owner;
  job->citizen = citizen;
  job->request = std::move(request);
  job->transaction_time = now;
  Job* raw = job.get();
  jobs_.emplace(id, std::move(job));
  raw->thread = std::thread([this, raw, id, work = std::move(work)] {
    std::vector<BulkFile> files;
    Status s = raw->progress.cancelled()
                   ? Status::FailedPrecondition("the export was cancelled")
                   : work(raw->progress, files);
    Finish(id, s, std::move(files));
    raw->finished.store(true);
  });
  return id;
}

void BulkExports::Finish(const std::string& id, const Status& status,
                         std::vector<BulkFile> files) {
  const int64_t now = clock_.NowSeconds();
  MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;  // cancelled: nobody waits for it
  Job& job = *it->second;
  job.ended = now;
  if (!status.ok()) {
    job.state = BulkJobView::State::kFailed;
    job.error = status.message();
    return;
  }
  std::sort(
      files.begin(), files.end(),
      [](const BulkFile& a, const BulkFile& b) { return a.type < b.type; });
  for (BulkFile& f : files)
    job.files.push_back(std::make_shared<const BulkFile>(std::move(f)));
  job.state = BulkJobView::State::kDone;
}

std::optional<BulkJobView> BulkExports::Find(const std::string& id,
                                             const std::string& owner,
                                             int64_t now) {
  MutexLock lock(&mu_);
  Sweep(now);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second->owner != owner) return std::nullopt;
  const Job& job = *it->second;
  BulkJobView v;
  v.state = job.state;
  v.citizen = job.citizen;
  v.request = job.request;
  v.transaction_time = job.transaction_time;
  v.read = job.progress.read_.load();
  v.total = job.progress.total_.load();
  v.error = job.error;
  v.expires = job.ended + kKeepSeconds;
  for (const auto& f : job.files) v.files.emplace_back(f->type, f->count);
  return v;
}

std::shared_ptr<const BulkFile> BulkExports::File(const std::string& id,
                                                  const std::string& owner,
                                                  const std::string& type,
                                                  int64_t now) {
  MutexLock lock(&mu_);
  Sweep(now);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second->owner != owner ||
      it->second->state != BulkJobView::State::kDone)
    return nullptr;
  for (const auto& f : it->second->files) {
    if (f->type == type) return f;
  }
  return nullptr;
}

bool BulkExports::Delete(const std::string& id, const std::string& owner) {
  MutexLock lock(&mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second->owner != owner) return false;
  it->second->progress.cancelled_.store(true);
  retired_.push_back(std::move(it->second));
  jobs_.erase(it);
  return true;
}

}  // namespace tillit::api::internal
