#include "limits.h"

#include <algorithm>

namespace tillit::api::internal {

Status CheckJsonShape(std::string_view body, size_t max_bytes, int max_depth) {
  if (body.size() > max_bytes) {
    return Status::ResourceExhausted("the body exceeds " +
                                     std::to_string(max_bytes) + " bytes");
  }
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return Status::InvalidArgument("JSON nested deeper than " +
                                       std::to_string(max_depth) + " levels");
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return Status::Ok();
}

RateLimiter::RateLimiter(double rate_per_second, double burst, size_t max_keys)
    : rate_(rate_per_second),
      burst_(std::max(1.0, burst)),
      max_keys_(max_keys) {}

RateLimiter::Bucket& RateLimiter::Refilled(const std::string& key, double now) {
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      // Forget buckets that have refilled: they hold no state worth keeping.
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        if (b->second.tokens + (now - b->second.updated) * rate_ >= burst_) {
          b = buckets_.erase(b);
        } else {
          ++b;
        }
      }
      if (buckets_.size() >= max_keys_) buckets_.clear();
    }
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  b.tokens =
      std::min(burst_, b.tokens + std::max(0.0, now - b.updated) * rate_);
  b.updated = now;
  return b;
}

bool RateLimiter::Allow(const std::string& key, double now,
                        double* retry_after) {
  if (rate_ <= 0) return true;  // unlimited
  MutexLock lock(&mu_);
  Bucket& b = Refilled(key, now);
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after) *retry_after = (1.0 - b.tokens) / rate_;
  return false;
}

bool RateLimiter::Check(const std::string& key, double now,
                        double* retry_after) {
  if (rate_ <= 0) return true;  // unlimited
  MutexLock lock(&mu_);
  // A key never charged has no bucket, and gets none here: admitting
  // requests keeps no state.
  if (buckets_.find(key) == buckets_.end()) return true;
  Bucket& b = Refilled(key, now);
  if (b.tokens >= 1.0) return true;
  if (retry_after) *retry_after = (1.0 - b.tokens) / rate_;
  return false;
}

void RateLimiter::Charge(const std::string& key, double now) {
  if (rate_ <= 0) return;  // unlimited
  MutexLock lock(&mu_);
  Refilled(key, now).tokens -= 1.0;
}

}  // namespace tillit::api::internal
