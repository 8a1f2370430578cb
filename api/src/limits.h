// Request limits: the shape check every JSON body passes before a parser
// sees it, and RateLimiter, token buckets by key (per principal, and per
// client address for failed enrollment attempts).
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

  // True if a request may pass now (it takes a token); otherwise
  // `retry_after` seconds.
  bool Allow(const std::string& key, double now_seconds, double* retry_after);

  // For limits that count only some outcomes: Check admits a request while
  // the bucket holds a token and takes nothing; Charge takes a token for an
  // outcome that counts, and may leave the bucket in debt (requests
  // admitted together and all charged), which the refill pays back before
  // Check admits again. So over any period at most burst + rate × period
  // + (requests in flight at once) are charged, and the long-run rate is
  // exact.
  bool Check(const std::string& key, double now_seconds, double* retry_after);
  void Charge(const std::string& key, double now_seconds);

 private:
  struct Bucket {
    double tokens;  // below zero: in debt
    double updated;
  };
  // The bucket of `key`, refilled to `now` (a new key's bucket is full).
  Bucket& Refilled(const std::string& key, double now) REQUIRES(mu_);
  const double rate_;
  const double burst_;
  const size_t max_keys_;
  Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ GUARDED_BY(mu_);
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_LIMITS_H_
