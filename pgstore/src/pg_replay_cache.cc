#include "tillit/pgstore/pg_replay_cache.h"

#include "schema.h"

namespace tillit::pgstore {
namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE replay_nonces (
  key_id     text   NOT NULL,    -- a device id
  nonce      text   NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (key_id, nonce)
);
CREATE INDEX replay_nonces_by_expiry ON replay_nonces (expires_at);
)sql";

}  // namespace

StatusOr<std::unique_ptr<PgReplayCache>> PgReplayCache::Open(Session* session) {
  TILLIT_RETURN_IF_ERROR(session->Transact([](Connection& c) {
    return internal::CreateOrCheckSchema(c, "replay cache", kSchemaVersion,
                                         kSchemaV1);
  }));
  return std::unique_ptr<PgReplayCache>(new PgReplayCache(session));
}

StatusOr<http_signature::ReplayCache::Result> PgReplayCache::Remember(
    std::string_view key_id, std::string_view nonce, int64_t expires,
    int64_t now) {
  const bool sweep = calls_.fetch_add(1) % kSweepEvery == kSweepEvery - 1;
  return session_->Run([&](Connection& c) -> StatusOr<Result> {
    if (sweep) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("DELETE FROM replay_nonces WHERE expires_at < $1", {now})
              .status());
    }
    // One statement: a new pair is inserted, an expired one takes its new
    // expiry, a live one is left alone (no row returned: a replay).
    TILLIT_ASSIGN_OR_RETURN(
        pgstore::Result r,
        c.Exec("INSERT INTO replay_nonces (key_id, nonce, expires_at) "
               "VALUES ($1, $2, $3) ON CONFLICT (key_id, nonce) DO UPDATE "
               "SET expires_at = EXCLUDED.expires_at "
               "WHERE replay_nonces.expires_at < $4",
               {key_id, nonce, expires, now}));
    return r.affected() == 1 ? Result::kFresh : Result::kReplayed;
  });
}

}  // namespace tillit::pgstore
