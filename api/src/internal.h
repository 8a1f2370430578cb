// Internals of the HTTP API shared by the server and the handler files.
// Not installed; nothing outside api/ includes this.
#ifndef TILLIT_API_SRC_INTERNAL_H_
#define TILLIT_API_SRC_INTERNAL_H_

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "devices.h"
#include "tillit/api/routes.h"
#include "tillit/api/server.h"
#include "tillit/audit/audit_log.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/consent_service/policy_cache.h"
#include "tillit/base/status.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {

using nlohmann::json;

class Api;
class Call;
// A route's work. Errors become error responses (see ToHttpError).
using Handler = Status (*)(Api&, Call&);

struct Route {
  RouteInfo info;
  Handler handler = nullptr;
  bool limit_by_address = false;  // enrollment: token bucket per client IP
  std::vector<std::string> segments;  // of info.path; "{x}" is a parameter
};

// The whole table (every handler file contributes its routes).
const std::vector<Route>& RouteTable();
std::vector<Route> PublicRoutes();
std::vector<Route> AdminRoutes();
std::vector<Route> CitizenRoutes();
std::vector<Route> ProviderRoutes();
std::vector<Route> ResearchRoutes();
std::vector<Route> AuditRoutes();

struct RouteMatch {
  const Route* route = nullptr;
  size_t index = 0;  // in RouteTable()
  std::vector<std::pair<std::string, std::string>> params;
  // No route for this method, but the path exists: 405 with Allow.
  std::string allow;
};
// nullopt: no route has this path.
std::optional<RouteMatch> MatchRoute(std::string_view method,
                                     std::string_view path);

// --- errors
struct HttpError {
  int status = 500;
  std::string code;
  std::string message;
};
// InvalidArgument 400 invalid_argument, Unauthenticated 401, PermissionDenied
// 403, NotFound 404, AlreadyExists and FailedPrecondition 409 conflict,
// ResourceExhausted 429; anything else 500 "internal error" (the real
// message goes to the server log only).
HttpError ToHttpError(const Status& status);
std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id);

// --- limits
// Refuses bodies over `max_bytes` and JSON nested deeper than `max_depth`
// (a linear scan before any parser sees the bytes).
Status CheckJsonShape(std::string_view body, size_t max_bytes, int max_depth);

// Token buckets by key. Keeps at most `max_keys` buckets (the fullest are
// forgotten first).
class RateLimiter {
 public:
  RateLimiter(double rate_per_second, double burst, size_t max_keys = 100000);
  // True if a request may pass now; otherwise `retry_after` seconds.
  bool Allow(const std::string& key, double now_seconds, double* retry_after);

 private:
  struct Bucket {
    double tokens;
    double updated;
  };
  double rate_;
  double burst_;
  size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// --- metrics (Prometheus text format)
class Metrics {
 public:
  explicit Metrics(size_t routes);
  // `route` is an index into RouteTable(), or routes (unmatched).
  void Observe(size_t route, int status, double seconds);
  void AuditAppended() { audit_appends_.fetch_add(1); }
  void AuditFailed() { audit_failures_.fetch_add(1); }
  std::atomic<int64_t>& in_flight() { return in_flight_; }
  // The text of GET /metrics; `open_stores` and `evictions` from the cache.
  std::string Render(size_t open_stores, uint64_t evictions,
                     uint64_t audit_size) const;

 private:
  static constexpr int kBuckets = 14;
  struct PerRoute {
    std::atomic<uint64_t> buckets[kBuckets + 1] = {};  // last is +Inf
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> sum_micros{0};
  };
  std::vector<std::unique_ptr<PerRoute>> routes_;
  mutable std::mutex status_mu_;
  std::map<std::pair<size_t, int>, uint64_t> by_status_;
  std::atomic<uint64_t> audit_appends_{0};
  std::atomic<uint64_t> audit_failures_{0};
  std::atomic<int64_t> in_flight_{0};
};

// Who is calling.
struct Principal {
  Role role = kAnyone;
  std::string id;  // c_…, p_…, r_…, a_… or "operator"; empty for anyone
  // The paired device whose signature authenticated the request (the
  // principal is then its citizen); empty for a bearer token.
  std::string device_id;
};

// One request being served.
class Call {
 public:
  Call(const httplib::Request& req, httplib::Response& res,
       const RouteMatch& match, const Principal& who,
       const std::string& request_id, const ServerOptions& options)
      : req(req),
        res(res),
        match_(match),
        who_(who),
        request_id_(request_id),
        options_(options) {}

  const httplib::Request& req;
  httplib::Response& res;

  const Principal& who() const { return who_; }
  const std::string& request_id() const { return request_id_; }
  // A path parameter ("{id}" in the route), already URL-decoded.
  std::string Param(std::string_view name) const;
  // A query parameter, if present.
  std::optional<std::string> Query(std::string_view name) const;
  // The body as JSON within the size and depth limits; InvalidArgument
  // naming the problem otherwise.
  StatusOr<json> Json() const;
  // The body's bytes within the JSON depth limit (the route's size limit
  // was enforced while reading).
  StatusOr<std::string_view> JsonText() const;

  void Reply(const json& body, int status = 200);
  void ReplyText(std::string body, const char* content_type, int status = 200);

  bool audit_failed = false;  // set by Api::Audit

 private:
  const RouteMatch& match_;
  const Principal& who_;
  const std::string& request_id_;
  const ServerOptions& options_;
};

// State shared by every request.
class Api {
 public:
  Api(vault::Vault* vault, const ServerOptions& options,
      std::unique_ptr<audit::AuditLog> log);

  vault::Vault& vault;
  const ServerOptions options;
  vault::StoreCache cache;
  std::unique_ptr<audit::AuditLog> log;
  consent::ConsentService consent;
  // Parsed policies of the citizens in `cache`, for the provider's reads.
  consent::PolicyCache policies;
  Metrics metrics;
  RateLimiter principal_limiter;
  RateLimiter address_limiter;
  DeviceRegistry devices;
  NonceCache nonces;

  int64_t Now() const { return options.clock->NowSeconds(); }
  // Writes `entry` durably (time, request id and, unless set, the actor
  // are filled in from the call) and returns its index. On failure the call is marked so the
  // reply is 503 audit_unavailable, and the caller must release nothing.
  StatusOr<uint64_t> Audit(Call& call, audit::AuditEntry entry);
  // Several entries, as given (nothing is filled in), in one durable
  // commit; fails closed like Audit.
  StatusOr<std::vector<uint64_t>> AuditBatch(
      Call& call, std::span<const audit::AuditEntry> entries);
  // A line in the server log.
  void LogLine(const std::string& line);
};

// Registration of principals, shared with the command line (principals.h).
std::string_view ActorKind(Role role);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_INTERNAL_H_
