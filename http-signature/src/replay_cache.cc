#include "tillit/http_signature/replay_cache.h"

#include <utility>

namespace tillit::http_signature {

StatusOr<ReplayCache::Result> MemoryReplayCache::Remember(
    std::string_view key_id, std::string_view nonce, int64_t expires,
    int64_t now) {
  MutexLock lock(&mu_);
  while (!by_expiry_.empty() && by_expiry_.begin()->first < now) {
    seen_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  // The key id's length first, so that no two pairs share a key.
  std::string key = std::to_string(key_id.size());
  key.append(":").append(key_id).append(nonce);
  if (seen_.count(key) != 0) return Result::kReplayed;
  if (seen_.size() >= max_entries_) return Result::kFull;
  seen_.emplace(key, expires);
  by_expiry_.emplace(expires, std::move(key));
  return Result::kFresh;
}

size_t MemoryReplayCache::size() {
  MutexLock lock(&mu_);
  return seen_.size();
}

}  // namespace tillit::http_signature
