// Request limits: the shape check every JSON body passes before a parser
// sees it, and RateLimiter, token buckets by key (per principal, and per
// client address for enrollment).
//
// Thread-safety: CheckJsonShape is a function of its arguments;
// RateLimiter is safe to use from any thread.
#ifndef TILLIT_API_SRC_LIMITS_H_
#define TILLIT_API_SRC_LIMITS_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"

namespace tillit::api::internal {

// Refuses bodies over `max_bytes` (ResourceExhausted) and JSON nested
// deeper than `max_depth` (InvalidArgument): a linear scan before any
// parser sees the bytes.
Status CheckJsonShape(std::string_view body, size_t max_bytes, int max_depth);

// Token buckets by key. Keeps at most `max_keys` buckets (buckets that
// have refilled are forgotten first).
class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst, size_t max_keys = 100000);
  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  // True if a request may pass now; otherwise `retry_after` seconds.
  bool Allow(const std::string& key, double now_seconds, double* retry_after);

 private:
  struct Bucket {
    double tokens;
    double updated;
  };
  const double rate_;
  const double burst_;
  const size_t max_keys_;
  Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ GUARDED_BY(mu_);
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_LIMITS_H_
