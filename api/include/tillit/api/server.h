// Server: tillit's HTTP API (SPEC §7) on cpp-httplib.
//
// One Server serves one opened Vault. It owns the audit log, the consent
// service and a StoreCache of open citizen stores. Every request is
// matched against the route table (routes.h), authenticated by bearer
// token or by a paired device's RFC 9421 signature, authorised by role and then
// by object (another citizen's data is 404), rate limited, and answered; every
// access to a citizen's data is written to the audit log before anything is
// released (fail closed).
//
// Limits (all set at run time: cpp-httplib is a shared library, its
// compile-time macros do nothing here): body size (413 before the body is
// read when Content-Length says so), JSON size and nesting, read, write and
// keep-alive timeouts, a fixed number of worker threads with a bounded
// queue of waiting connections (beyond it: 503), and token buckets per
// principal and, for enrollment's failed attempts, per client address
// (429).
//
// Thread-safety: Start, Stop and the accessors may be called from any one
// thread; requests are served concurrently on the worker threads.
#ifndef TILLIT_API_SERVER_H_
#define TILLIT_API_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "tillit/base/clock.h"
#include "tillit/base/status.h"
#include "tillit/consent/policy.h"
#include "tillit/crypto/random.h"
#include "tillit/notify/notifier.h"
#include "tillit/vault/vault.h"

namespace tillit::http_signature {
class ReplayCache;
}  // namespace tillit::http_signature
namespace tillit::audit {
class AuditLog;
}  // namespace tillit::audit
namespace tillit::research {
class PrivacyLedger;
}  // namespace tillit::research

namespace tillit::api {

// How the server log writes its lines (ServerOptions::log_format).
enum class LogFormat {
  // `request_id=… method=… route=… status=… ms=… role=…`, an error as
  // `request_id=… <what failed>`, a notice as `tillit: <notice>`.
  kText,
  // One JSON object per line. A request: time (RFC 3339, UTC), level
  // ("info"; "error" for a status of 500 or more), request_id, method,
  // route (the route's pattern, e.g. /v1/me/records/{type}/{id}; "-" when
  // no route matched, "/app/" for the web app), status, latency_ms and
  // role. An error inside a request: time, level "error", request_id and
  // msg; its request's own line follows. A notice: time, level "info" and
  // msg.
  kJson,
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8443;  // 0: any free port (see Server::port)
  // TLS: both or neither (PEM files).
  std::string tls_cert;
  std::string tls_key;

  size_t threads = 64;                // workers; one per open connection
  size_t max_queued = 256;            // connections waiting for a worker
  int listen_backlog = 1024;          // handshakes waiting for accept()
  size_t max_body_bytes = 64u << 20;  // imports and pushes
  size_t max_json_bytes = 1u << 20;   // every other JSON body
  int max_json_depth = 64;
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
  int keep_alive_seconds = 5;
  size_t keep_alive_max_requests = 10000;

  // Token buckets: requests per second and burst, per principal.
  double rate_per_second = 1000;
  double rate_burst = 2000;
  // Failed enrollment attempts and failed SMART token exchanges
  // (/fhir/token) per client address (any 4xx answer: an unknown, used or
  // expired code, a bad body): per minute and burst, one budget for both.
  // Successful enrollments do not count, so a clinic may enroll any number
  // of citizens from one address; they do not reset the failures either.
  double enroll_per_minute = 10;
  double enroll_burst = 5;

  // Signed requests from paired devices (docs/MOBILE_BRIDGE.md): how far
  // a signature's `created` may be from the server's clock, either way,
  // and how many (device, nonce) pairs are remembered to refuse replays
  // within that window (beyond it: 429 until some expire).
  int64_t signature_max_skew_seconds = 300;
  size_t max_signature_nonces = 1000000;
  // Where those nonces are kept: null, this server's memory (bounded by
  // max_signature_nonces); servers sharing one vault pass one shared
  // cache (pgstore::PgReplayCache), so a request replayed to another node
  // is refused there too. Not owned; must outlive the server. When it
  // cannot answer, signed requests get 503.
  http_signature::ReplayCache* replay_cache = nullptr;

  // Where the audit log and the privacy ledger are kept: unset, the data
  // directory's own files (audit.db, privacy.db); the nodes of a shared
  // vault open the ones in its database (pgstore::PgVaultStore), so that
  // every node writes one log and one ledger.
  std::function<StatusOr<std::unique_ptr<audit::AuditLog>>()> open_audit_log;
  std::function<StatusOr<std::unique_ptr<research::PrivacyLedger>>()>
      open_privacy_ledger;

  size_t store_cache_size = 256;  // open citizen stores (with their keys)

  // Whether a provider's break-glass reaches a citizen who opted out of
  // primary use (EHDS Art 10 leaves it to national law; docs/CONSENT.md):
  // true, the default, lets an emergency through; false makes the opt-out
  // absolute, and opening a break-glass on such a citizen is refused.
  bool break_glass_despite_opt_out = true;
  // Who answers a citizen's request to correct an imported record (EHDS
  // Art 6; a regional choice, docs/CONSENT.md): a provider id (p_…), for
  // example the region's records office. Empty: imported records cannot
  // be rectified through tillit (the request is refused with 409). A
  // record a provider pushed always goes to that provider.
  std::string rectification_provider;
  // Categories a guardian never sees of the person they represent, where
  // national rules hide some of a dependent's data from a legal
  // representative (EHDS Art 4(3); docs/CONSENT.md). Empty: none.
  consent::CategorySet guardian_hidden_categories = 0;
  // Telling citizens of accesses (EHDS Art 9): the push services the
  // server sends to, the region's webhook, coalescing, the digest hour
  // (tillit/notify/notifier.h).
  notify::NotifierOptions notifications;

  int64_t citizen_token_ttl = 30LL * 24 * 3600;
  int64_t principal_token_ttl = 365LL * 24 * 3600;
  int64_t enrollment_code_ttl = 72LL * 3600;
  // A pairing code, issued by a citizen for another device of theirs
  // (POST /v1/me/devices/pairing-codes): one use, within this many seconds.
  int64_t pairing_code_ttl = 600;

  // One line per request (request id, method, route, status, duration) and
  // every server-side error; never bodies, tokens, query strings, paths
  // with ids, or health data. The lines' times come from `clock`.
  std::ostream* log = nullptr;  // null: no log
  bool access_log = true;       // false: only errors
  LogFormat log_format = LogFormat::kText;

  Clock* clock = &Clock::System();
  crypto::Random* rng = &crypto::Random::System();
};

class Server {
 public:
  // `vault` is not owned and must outlive the server. Opens the audit log.
  static StatusOr<std::unique_ptr<Server>> Create(vault::Vault* vault,
                                                  const ServerOptions& options);
  ~Server();

  // Binds and starts serving on a background thread; returns once the
  // server accepts connections. InvalidArgument for bad TLS files,
  // IoError when the address cannot be bound.
  Status Start();
  // Stops accepting, lets in-flight requests finish, then returns.
  void Stop();

  int port() const;
  std::string url() const;  // http(s)://host:port
  // The key that signs webhooks to the region's notification service, as
  // its receiver pins it ("whpk_" and base64; docs/OPERATIONS.md).
  std::string webhook_public_key() const;

  // Writes an operator's notice (e.g. that a stop signal came) to the
  // server log, in its format, never interleaved with a request's line.
  // REQUIRES: `notice` holds no secret or health data.
  void LogNotice(std::string_view notice);

  // Test hook: the Nth audit write from now (1 = the next) fails as if the
  // disk had refused it (see AuditLog::FailWriteForTesting).
  void FailAuditWriteForTesting(int nth);

 public:
  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tillit::api

#endif  // TILLIT_API_SERVER_H_
