// Metrics: the server's counters, rendered as the Prometheus text of
// GET /metrics: requests by route and status, a duration histogram per
// route, requests in flight and audit appends.
//
// Thread-safety: every method may be called from any thread.
#ifndef TILLIT_API_SRC_METRICS_H_
#define TILLIT_API_SRC_METRICS_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tillit/base/mutex.h"

namespace tillit::api::internal {

class Metrics {
 public:
  // `routes`: the size of RouteTable().
  explicit Metrics(size_t routes);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // `route` is an index into RouteTable(), UnmatchedRouteIndex() or
  // AppRouteIndex() (route.h).
  void Observe(size_t route, int status, double seconds);
  void AuditAppended() { audit_appends_.fetch_add(1); }
  void AuditFailed() { audit_failures_.fetch_add(1); }
  std::atomic<int64_t>& in_flight() { return in_flight_; }
  // The text of GET /metrics; `open_stores` and `evictions` from the
  // store cache, `audit_size` from the audit log.
  std::string Render(size_t open_stores, uint64_t evictions,
                     uint64_t audit_size) const;

 private:
  static constexpr int kBuckets = 14;
  struct PerRoute {
    std::atomic<uint64_t> buckets[kBuckets + 1] = {};  // last is +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_micros{0};
  };
  std::vector<std::unique_ptr<PerRoute>> routes_;  // fixed after construction
  mutable Mutex status_mu_;
  std::map<std::pair<size_t, int>, uint64_t> by_status_ GUARDED_BY(status_mu_);
  std::atomic<uint64_t> audit_appends_{0};
  std::atomic<uint64_t> audit_failures_{0};
  std::atomic<int64_t> in_flight_{0};
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_METRICS_H_
