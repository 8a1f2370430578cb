// Error mapping and request limits.
#include <algorithm>
#include <cmath>

#include "internal.h"

namespace tillit::api::internal {

HttpError ToHttpError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return {400, "invalid_argument", status.message()};
    case StatusCode::kUnauthenticated:
      return {401, "unauthenticated", status.message()};
    case StatusCode::kPermissionDenied:
      return {403, "forbidden", status.message()};
    case StatusCode::kNotFound:
      return {404, "not_found", status.message()};
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return {409, "conflict", status.message()};
    case StatusCode::kResourceExhausted:
      return {413, "too_large", status.message()};
    default:
      // DataLoss, IoError, Internal, ...: the message may name files or
      // SQL; it goes to the server log, never to the client.
      return {500, "internal", "internal error"};
  }
}

std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id) {
  return json{{"error",
               {{"code", code},
                {"message", message},
                {"request_id", request_id}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

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

RateLimiter::RateLimiter(double rate_per_second, double burst,
                         size_t max_keys)
    : rate_(rate_per_second), burst_(std::max(1.0, burst)), max_keys_(max_keys) {}

bool RateLimiter::Allow(const std::string& key, double now,
                        double* retry_after) {
  if (rate_ <= 0) return true;  // unlimited
  std::lock_guard<std::mutex> lock(mu_);
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
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, now - b.updated) * rate_);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  if (retry_after) *retry_after = (1.0 - b.tokens) / rate_;
  return false;
}

}  // namespace tillit::api::internal
