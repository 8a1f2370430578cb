// PgReplayCache: the nonces of signed requests in PostgreSQL, shared by
// every `tillit serve` node of a cluster, so that a request replayed to
// another node is refused there (http_signature::ReplayCache).
//
// A nonce is remembered by one statement (an insert that takes the place
// of an expired row, or does nothing), so of two nodes given the same
// request at once exactly one finds it fresh. Expired rows are deleted
// every `kSweepEvery` calls. The table is bounded by the signatures'
// freshness window and the servers' rate limits, not by a count, so this
// cache never answers kFull.
//
// Thread-safety: safe from any thread; statements go through the Session.
#ifndef TILLIT_PGSTORE_PG_REPLAY_CACHE_H_
#define TILLIT_PGSTORE_PG_REPLAY_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/http_signature/replay_cache.h"
#include "tillit/pgstore/session.h"

namespace tillit::pgstore {

class PgReplayCache final : public http_signature::ReplayCache {
 public:
  static constexpr int64_t kSchemaVersion = 1;
  static constexpr uint64_t kSweepEvery = 1024;

  // Creates or checks the cache's table through `session` (which must
  // outlive it).
  static StatusOr<std::unique_ptr<PgReplayCache>> Open(Session* session);

  StatusOr<Result> Remember(std::string_view key_id, std::string_view nonce,
                            int64_t expires, int64_t now) override;

 private:
  explicit PgReplayCache(Session* session) : session_(session) {}

  Session* const session_;
  std::atomic<uint64_t> calls_{0};
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_PG_REPLAY_CACHE_H_
