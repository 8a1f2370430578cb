// ReplayCache: the nonces of verified request signatures, remembered until
// the signature could no longer be fresh, so that a request sent twice is
// refused the second time. One server keeps them in memory
// (MemoryReplayCache); servers that share a vault share one cache (a
// database's, pgstore::PgReplayCache), so a request replayed to another
// node is refused there too.
//
// Only a verified signature's nonce may be remembered: otherwise anyone
// could spend another device's nonces.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef TILLIT_HTTP_SIGNATURE_REPLAY_CACHE_H_
#define TILLIT_HTTP_SIGNATURE_REPLAY_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"

namespace tillit::http_signature {

class ReplayCache {
 public:
  enum class Result {
    kFresh,     // first seen: remembered until `expires`
    kReplayed,  // seen before and not yet expired: refuse the request
    kFull,      // no room for another until some expire: refuse, retry later
  };
  virtual ~ReplayCache() = default;
  // Remembers (key_id, nonce) until `expires` (unix seconds); what expired
  // before `now` is forgotten. Any error (a shared cache out of reach)
  // means the request must be refused: freshness cannot be vouched for.
  virtual StatusOr<Result> Remember(std::string_view key_id,
                                    std::string_view nonce, int64_t expires,
                                    int64_t now) = 0;
};

// One process's nonces, at most `max_entries` unexpired at once.
class MemoryReplayCache final : public ReplayCache {
 public:
  explicit MemoryReplayCache(size_t max_entries) : max_entries_(max_entries) {}
  StatusOr<Result> Remember(std::string_view key_id, std::string_view nonce,
                            int64_t expires, int64_t now) override
      EXCLUDES(mu_);
  size_t size() EXCLUDES(mu_);

 private:
  const size_t max_entries_;
  Mutex mu_;
  // (key id, nonce) → when it expires, and the same by expiry.
  std::unordered_map<std::string, int64_t> seen_ GUARDED_BY(mu_);
  std::multimap<int64_t, std::string> by_expiry_ GUARDED_BY(mu_);
};

}  // namespace tillit::http_signature

#endif  // TILLIT_HTTP_SIGNATURE_REPLAY_CACHE_H_
