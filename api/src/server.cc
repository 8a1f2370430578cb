// Server: cpp-httplib wiring, authentication, admission limits (the
// worker pool is BoundedPool), metrics and the access log.
#include "tillit/api/server.h"

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>
#include <typeinfo>

#include "api.h"
#include "app_assets.h"
#include "bounded_pool.h"
#include "call.h"
#include "devices.h"
#include "http_error.h"
#include "limits.h"
#include "proxy_gate.h"
#include "route.h"
#include "tillit/http_signature/http_signature.h"
#include "tillit/http_signature/replay_cache.h"

namespace tillit::api {

using internal::Api;
using internal::BoundedPool;
using internal::Call;
using internal::ErrorBody;
using internal::json;
using internal::Principal;
using internal::RouteMatch;
using HandlerResponse = httplib::Server::HandlerResponse;

namespace {

// The request being served by this worker thread. cpp-httplib runs the
// pre-routing handler, the route handler and the logger of one request on
// one thread, in that order.
struct RequestState {
  bool active = false;
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  std::optional<RouteMatch> match;
  Principal who;
  std::string content_digest;  // of a signed request, checked in Dispatch
  bool rejected = false;       // answered before routing
  bool prerouted = false;      // checked while answering Expect: 100-continue
  bool app = false;            // a file of the web app (app_assets.h)
  // The client address of a request to a route limited by address, until
  // its outcome is settled (SettleAddressAttempt).
  std::string address_attempt;
};
thread_local RequestState t_request;
std::optional<Role> RoleOf(std::string_view name) {
  for (Role r : {kAdmin, kCitizen, kProvider, kResearcher, kAuditor, kApp}) {
    if (RoleName(r) == name) return r;
  }
  return std::nullopt;
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t)
      .count();
}

double WallSeconds() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Whether an answer to a route limited by address is a failed attempt,
// charged to the address: any 4xx (an unknown, used or expired code, a
// malformed or oversized body, a timeout). A success is not a guess, and a
// 5xx is the server's failure, not the client's.
bool IsFailedAttempt(int status) { return status >= 400 && status < 500; }

// The error body of an answer to `req`: {"error":…}, or an
// OperationOutcome on the FHIR interface. Sets its media type in *type.
std::string ErrorFor(const httplib::Request& req, int status,
                     std::string_view code, std::string_view message,
                     std::string_view request_id, const char** type) {
  if (internal::IsFhirPath(req.path)) {
    *type = internal::kFhirJsonType;
    return internal::OperationOutcomeBody(status, message, request_id);
  }
  *type = "application/json";
  return ErrorBody(code, message, request_id);
}

bool HasBody(const httplib::Request& req) {
  const std::string length = req.get_header_value("Content-Length");
  return (!length.empty() && length != "0") ||
         !req.get_header_value("Transfer-Encoding").empty();
}

}  // namespace

struct Server::Impl {
  Impl(vault::Vault* v, const ServerOptions& o,
       std::unique_ptr<audit::AuditLog> log,
       std::unique_ptr<research::PrivacyLedger> ledger)
      : options(o),
        api(v, o, std::move(log), std::move(ledger)),
        principal_limiter(o.rate_per_second, o.rate_burst),
        address_limiter(o.enroll_per_minute / 60.0, o.enroll_burst),
        own_nonces(o.replay_cache != nullptr
                       ? nullptr
                       : std::make_unique<http_signature::MemoryReplayCache>(
                             o.max_signature_nonces)),
        nonces(o.replay_cache != nullptr ? o.replay_cache : own_nonces.get()) {}

  ServerOptions options;
  Api api;
  // Admission of requests, before any handler runs.
  internal::RateLimiter principal_limiter;
  // Failed enrollment attempts per client address: admitted while the
  // address's bucket holds a token (Check), charged only when the answer
  // is a failed attempt (Charge), so a clinic may enroll any number of
  // citizens from one address. Guesses admitted together may leave the
  // bucket in debt, which the refill pays back before the next is
  // admitted: over any period the failures stay within burst + rate ×
  // period + workers. A success does not reset the failures before it:
  // otherwise one valid code (a clinic's next citizen's) would buy a
  // guesser a fresh burst.
  internal::RateLimiter address_limiter;
  // The nonces of signed requests: the options' (shared by the nodes of a
  // cluster) or this server's own.
  std::unique_ptr<http_signature::MemoryReplayCache> own_nonces;
  http_signature::ReplayCache* nonces;
  std::unique_ptr<httplib::Server> http;
  std::thread listener;
  int port = 0;
  int listen_fd = -1;  // set by the socket-options callback
  bool tls = false;

  // A failure of the vault while authenticating (already logged): 503
  // when it may clear by itself (IoError: a disk error, the database away
  // or failing over), 500 otherwise; the message never names the cause.
  HandlerResponse RejectFailure(const httplib::Request& req,
                                httplib::Response& res, const Status& s) {
    if (s.code() != StatusCode::kIoError) {
      return Reject(req, res, 500, "internal", "internal error");
    }
    const internal::HttpError e = internal::ToHttpError(s);
    res.set_header("Retry-After", "1");
    return Reject(req, res, e.status, e.code, e.message);
  }

  // Answers before routing (the body, if any, is never read: the
  // connection is closed after the response).
  HandlerResponse Reject(const httplib::Request& req, httplib::Response& res,
                         int status, std::string_view code,
                         std::string_view message) {
    t_request.rejected = true;
    res.status = status;
    const char* type = nullptr;
    std::string body =
        ErrorFor(req, status, code, message, t_request.request_id, &type);
    if (!HasBody(req)) {
      res.set_content(std::move(body), type);
      return HandlerResponse::Handled;
    }
    // The body was never read, so the connection cannot carry another
    // request: say so, write the error, then make cpp-httplib drop the
    // connection (a provider that reports failure after writing
    // everything ends the keep-alive loop).
    res.set_header("Connection", "close");
    auto shared = std::make_shared<std::string>(std::move(body));
    res.set_content_provider(
        shared->size(), type,
        [shared](size_t offset, size_t length, httplib::DataSink& sink) {
          sink.write(shared->data() + offset, length);
          return false;
        });
    return HandlerResponse::Handled;
  }

  // For "Expect: 100-continue": the same checks as PreRoute, answered
  // before the client sends its body.
  int Expect100(const httplib::Request& req, httplib::Response& res) {
    if (PreRoute(req, res) == HandlerResponse::Handled) return res.status;
    t_request.prerouted = true;
    return 100;
  }

  HandlerResponse PreRoute(const httplib::Request& req,
                           httplib::Response& res) {
    if (t_request.prerouted) {  // already checked by Expect100
      t_request.prerouted = false;
      return HandlerResponse::Unhandled;
    }
    t_request = RequestState{};
    t_request.active = true;
    t_request.start = std::chrono::steady_clock::now();
    t_request.request_id = options.rng->Hex(8);
    api.metrics().in_flight().fetch_add(1);
    res.set_header("X-Request-Id", t_request.request_id);
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");

    if (BoundedPool::OnShedThread()) {
      res.set_header("Retry-After", "1");
      res.set_header("Connection", "close");
      return Reject(req, res, 503, "unavailable",
                    "the server is busy; retry later");
    }
    if (internal::IsAppPath(req.path)) {
      t_request.app = true;
      internal::ServeApp(
          req, res,
          [&](int status, std::string_view code, std::string_view message) {
            Reject(req, res, status, code, message);
          });
      return HandlerResponse::Handled;
    }
    auto match = internal::MatchRoute(req.method, req.path);
    if (!match) return Reject(req, res, 404, "not_found", "no such route");
    if (match->route == nullptr) {
      res.set_header("Allow", match->allow);
      return Reject(req, res, 405, "method_not_allowed",
                    "allowed: " + match->allow);
    }
    t_request.match = std::move(*match);
    const internal::Route& route = *t_request.match->route;
    // The FHIR interface reads its query itself (Prefer: handling).
    static const httplib::Params kNoParams;
    const httplib::Params& checked = route.fhir ? kNoParams : req.params;
    for (const auto& [name, value] : checked) {
      if (std::find(route.info.query.begin(), route.info.query.end(), name) ==
          route.info.query.end()) {
        return Reject(req, res, 400, "invalid_argument",
                      "unknown query parameter: " + name);
      }
    }
    // A declared body over the route's limit is refused before it is read.
    const size_t limit =
        route.info.large_body ? options.max_body_bytes : options.max_json_bytes;
    if (req.has_header("Content-Length")) {
      const std::string cl = req.get_header_value("Content-Length");
      if (cl.size() > 19 || std::stoull("0" + cl) > limit) {
        return Reject(req, res, 413, "too_large",
                      "the body exceeds " + std::to_string(limit) + " bytes");
      }
    }

    if (route.limit_by_address) {
      double retry = 0;
      if (!address_limiter.Check(req.remote_addr, WallSeconds(), &retry)) {
        res.set_header("Retry-After",
                       std::to_string(static_cast<int>(retry) + 1));
        return Reject(req, res, 429, "rate_limited",
                      "too many attempts; retry later");
      }
      t_request.address_attempt = req.remote_addr;
    }
    if (route.info.roles & kAnyone) return HandlerResponse::Unhandled;

    const bool signed_request =
        req.has_header("Signature-Input") || req.has_header("Signature");
    if (signed_request && req.has_header("Authorization")) {
      return Reject(req, res, 400, "invalid_argument",
                    "send a bearer token or a signature, not both");
    }
    if (signed_request) return AuthenticateDevice(req, res, route);

    const std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (auth.size() <= kBearer.size() ||
        std::string_view(auth).substr(0, kBearer.size()) != kBearer) {
      res.set_header("WWW-Authenticate", "Bearer");
      return Reject(req, res, 401, "unauthenticated",
                    "a bearer token is required");
    }
    auto info =
        api.vault().VerifyToken(std::string_view(auth).substr(kBearer.size()));
    if (!info.ok()) {
      if (info.status().code() != StatusCode::kUnauthenticated) {
        api.server_log().LogError(
            t_request.request_id,
            "token check failed: " + info.status().ToString());
        return RejectFailure(req, res, info.status());
      }
      res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
      return Reject(req, res, 401, "unauthenticated",
                    "invalid or expired token");
    }
    std::optional<Role> role = RoleOf(info->role);
    if (!role || (route.info.roles & *role) == 0) {
      return Reject(req, res, 403, "forbidden",
                    "this token may not use this route");
    }
    t_request.who = Principal{*role, info->principal, "", nullptr};
    if (*role == kApp) {
      // The principal is the citizen's authorisation of the app: it acts
      // for that citizen, as far as the authorisation reaches.
      auto app = api.apps().Find(info->principal);
      if (!app.ok() && app.status().code() != StatusCode::kNotFound) {
        api.server_log().LogError(
            t_request.request_id,
            "app authorisation lookup failed: " + app.status().ToString());
        return RejectFailure(req, res, app.status());
      }
      if (!app.ok() || app->revoked) {
        res.set_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        return Reject(req, res, 401, "unauthenticated",
                      "invalid or expired token");
      }
      t_request.who.id = app->citizen_id;
      t_request.who.app =
          std::make_shared<const internal::AppAuthorization>(std::move(*app));
    }
    double retry = 0;
    if (!principal_limiter.Allow(info->principal, WallSeconds(), &retry)) {
      res.set_header("Retry-After",
                     std::to_string(static_cast<int>(retry) + 1));
      return Reject(req, res, 429, "rate_limited",
                    "too many requests; retry later");
    }
    return HandlerResponse::Unhandled;
  }

  // A request signed by a paired device (docs/MOBILE_BRIDGE.md). The body
  // is not read yet: its digest is checked in Dispatch.
  HandlerResponse AuthenticateDevice(const httplib::Request& req,
                                     httplib::Response& res,
                                     const internal::Route& route) {
    auto refuse = [&](std::string_view message) {
      res.set_header("WWW-Authenticate", "Signature");
      return Reject(req, res, 401, "unauthenticated", message);
    };
    if (req.get_header_value_count("Signature-Input") != 1 ||
        req.get_header_value_count("Signature") != 1 ||
        req.get_header_value_count("Content-Digest") != 1) {
      return refuse(
          "a signed request needs one Signature-Input, Signature and "
          "Content-Digest field each");
    }
    auto parsed =
        http_signature::ParseSignature(req.get_header_value("Signature-Input"),
                                       req.get_header_value("Signature"));
    if (!parsed.ok()) return refuse(parsed.status().message());
    const int64_t now = api.Now();
    const int64_t skew = options.signature_max_skew_seconds;
    if (parsed->params.created < now - skew ||
        parsed->params.created > now + skew) {
      return refuse("the signature's created time is not within " +
                    std::to_string(skew) + " seconds of the server's clock");
    }
    auto device = api.devices().Find(parsed->params.keyid);
    if (!device.ok() && device.status().code() != StatusCode::kNotFound) {
      api.server_log().LogError(
          t_request.request_id,
          "device lookup failed: " + device.status().ToString());
      return RejectFailure(req, res, device.status());
    }
    if (!device.ok() || device->revoked)
      return refuse("unknown or revoked device");
    const std::string digest = req.get_header_value("Content-Digest");
    // The target as it was sent (cpp-httplib keeps it undecoded).
    const http_signature::RequestParts parts{req.method, req.target, digest};
    if (!http_signature::VerifyRequestSignature(device->public_key, *parsed,
                                                parts))
      return refuse("the signature does not verify");
    // Only a verified signature spends its nonce, so nobody can burn
    // another device's nonces.
    auto seen = nonces->Remember(device->id, parsed->params.nonce,
                                 parsed->params.created + skew, now);
    if (!seen.ok()) {
      // Freshness cannot be vouched for: refused, as when the audit log
      // cannot be written.
      api.server_log().LogError(
          t_request.request_id,
          "replay cache unavailable: " + seen.status().ToString());
      res.set_header("Retry-After", "1");
      return Reject(req, res, 503, "unavailable",
                    "signed requests cannot be checked for replay now; "
                    "retry later");
    }
    switch (*seen) {
      case http_signature::ReplayCache::Result::kFresh:
        break;
      case http_signature::ReplayCache::Result::kReplayed:
        return refuse("this signature's nonce was already used (a replay)");
      case http_signature::ReplayCache::Result::kFull:
        res.set_header("Retry-After", "1");
        return Reject(req, res, 429, "rate_limited",
                      "too many signed requests; retry later");
    }
    if ((route.info.roles & kCitizen) == 0) {
      return Reject(req, res, 403, "forbidden",
                    "a device may not use this route");
    }
    t_request.who =
        Principal{kCitizen, device->citizen_id, device->id, nullptr};
    t_request.content_digest = digest;
    double retry = 0;
    if (!principal_limiter.Allow(device->citizen_id, WallSeconds(), &retry)) {
      res.set_header("Retry-After",
                     std::to_string(static_cast<int>(retry) + 1));
      return Reject(req, res, 429, "rate_limited",
                    "too many requests; retry later");
    }
    return HandlerResponse::Unhandled;
  }

  // Charges a request to a route limited by address to its address when
  // its answer is a failed attempt; once per request. Called with the
  // final status before the response is written (so the client's next
  // attempt sees the charge), and from the logger for answers that never
  // reached the end of Dispatch (an exception, a body that could not be
  // read).
  void SettleAddressAttempt(int status) {
    if (t_request.address_attempt.empty()) return;
    if (IsFailedAttempt(status)) {
      address_limiter.Charge(t_request.address_attempt, WallSeconds());
    }
    t_request.address_attempt.clear();
  }

  void Dispatch(const httplib::Request& req, httplib::Response& res) {
    DispatchRoute(req, res);
    SettleAddressAttempt(res.status);
  }

  void DispatchRoute(const httplib::Request& req, httplib::Response& res) {
    if (!t_request.active || !t_request.match || !t_request.match->route) {
      res.status = 500;  // cannot happen: every request is pre-routed
      return;
    }
    if (!t_request.who.device_id.empty() &&
        !http_signature::ContentDigestMatches(t_request.content_digest,
                                              req.body)) {
      res.status = 401;
      res.set_header("WWW-Authenticate", "Signature");
      const char* type = nullptr;
      std::string body = ErrorFor(req, 401, "unauthenticated",
                                  "the body does not match Content-Digest",
                                  t_request.request_id, &type);
      res.set_content(std::move(body), type);
      return;
    }
    // A proxy or guardian acting for a citizen is admitted first.
    std::optional<internal::Acting> acting;
    if (const auto need = internal::OnBehalfNeed(*t_request.match->route)) {
      Call gate(req, res, *t_request.match, t_request.who, t_request.request_id,
                options);
      auto admitted = internal::AdmitActing(api, gate, *need);
      if (!admitted.ok()) {
        ReplyError(gate, admitted.status());
        return;
      }
      acting = std::move(admitted).value();
    }
    Call call(req, res, *t_request.match, t_request.who, t_request.request_id,
              options, acting ? &*acting : nullptr);
    Status s = t_request.match->route->handler(api, call);
    if (s.ok()) return;
    // A proxy refused inside the handler (a category its authorisation
    // does not cover) is an attempt the citizen sees, like the gate's.
    if (acting && s.code() == StatusCode::kPermissionDenied &&
        !call.audit_failed) {
      Status logged = internal::LogDenied(api, call, acting->citizen_id, "",
                                          acting->purpose);
      if (!logged.ok()) s = logged;
    }
    ReplyError(call, s);
  }

  // The answer to a handler's (or the proxy gate's) error.
  void ReplyError(Call& call, const Status& s) {
    httplib::Response& res = call.res;
    const char* type = nullptr;
    if (call.audit_failed) {
      res.status = 503;
      std::string body = ErrorFor(call.req, 503, "audit_unavailable",
                                  "the audit log cannot be written; nothing "
                                  "was released",
                                  t_request.request_id, &type);
      res.set_content(std::move(body), type);
      return;
    }
    internal::HttpError e = internal::ToHttpError(s);
    if (e.status >= 500) {
      api.server_log().LogError(t_request.request_id, "error: " + s.ToString());
    }
    res.status = e.status;
    std::string body = ErrorFor(call.req, e.status, e.code, e.message,
                                t_request.request_id, &type);
    res.set_content(std::move(body), type);
  }

  // Fills the body of errors that cpp-httplib produced itself (400 for a
  // malformed request, 413 while reading, 404, ...).
  HandlerResponse OnError(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty() || res.content_provider_) {
      return HandlerResponse::Unhandled;
    }
    if (!t_request.active) {
      t_request = RequestState{};
      t_request.request_id = options.rng->Hex(8);
      res.set_header("X-Request-Id", t_request.request_id);
    }
    std::string code = "bad_request";
    std::string message = "the request could not be read";
    switch (res.status) {
      case 404:
        code = "not_found";
        message = "not found";
        break;
      case 408:
        code = "timeout";
        message = "the request took too long";
        break;
      case 413:
        code = "too_large";
        message = "the body is too large";
        break;
      case 414:
        code = "too_large";
        message = "the URI is too long";
        break;
      case 500:
        code = "internal";
        message = "internal error";
        break;
      default:
        break;
    }
    const char* type = nullptr;
    std::string body =
        ErrorFor(req, res.status, code, message, t_request.request_id, &type);
    res.set_content(std::move(body), type);
    return HandlerResponse::Handled;
  }

  void OnException(const httplib::Request& req, httplib::Response& res,
                   std::exception_ptr ep) {
    // Only the exception's type is logged: a message such as a JSON
    // parser's quotes the input, which may be health data.
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = typeid(e).name();
    } catch (...) {
    }
    api.server_log().LogError(t_request.request_id,
                              "uncaught exception of type " + what);
    res.status = 500;
    const char* type = nullptr;
    std::string body = ErrorFor(req, 500, "internal", "internal error",
                                t_request.request_id, &type);
    res.set_content(std::move(body), type);
  }

  void OnLogged(const httplib::Request& req, const httplib::Response& res) {
    SettleAddressAttempt(res.status);
    const bool active = t_request.active;
    const double seconds = active ? SecondsSince(t_request.start) : 0;
    const size_t route = t_request.app ? internal::AppRouteIndex()
                         : t_request.match && t_request.match->route
                             ? t_request.match->index
                             : internal::UnmatchedRouteIndex();
    api.metrics().Observe(route, res.status, seconds);
    if (active) api.metrics().in_flight().fetch_sub(1);
    if (options.access_log || res.status >= 500) {
      const std::string_view path =
          route < internal::RouteTable().size()
              ? std::string_view(internal::RouteTable()[route].info.path)
              : std::string_view(t_request.app ? "/app/" : "-");
      api.server_log().LogRequest({t_request.request_id, req.method, path,
                                   res.status, seconds,
                                   RoleName(t_request.who.role)});
    }
    t_request = RequestState{};
  }
};

StatusOr<std::unique_ptr<Server>> Server::Create(vault::Vault* vault,
                                                 const ServerOptions& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Status::InvalidArgument(
        "TLS needs both a certificate and a key file");
  }
  if (options.threads == 0 || options.threads > 4096) {
    return Status::InvalidArgument("threads: 1 to 4096");
  }
  if (options.listen_backlog < 1 || options.listen_backlog > 65535) {
    return Status::InvalidArgument("listen backlog: 1 to 65535");
  }
  if (options.pairing_code_ttl <= 0) {
    return Status::InvalidArgument("pairing code lifetime: must be positive");
  }
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<audit::AuditLog> log,
                          options.open_audit_log
                              ? options.open_audit_log()
                              : audit::AuditLog::OpenInDirectory(
                                    vault->data_dir(), *vault, vault->env()));
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<research::PrivacyLedger> ledger,
                          options.open_privacy_ledger
                              ? options.open_privacy_ledger()
                              : research::PrivacyLedger::OpenInDirectory(
                                    vault->data_dir(), *vault, vault->env()));
  auto impl =
      std::make_unique<Impl>(vault, options, std::move(log), std::move(ledger));
  Api& api = impl->api;
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<notify::Notifier> notifier,
      notify::Notifier::Create(vault, &api.stores(), &api.audit().log(),
                               options.clock, options.rng,
                               options.notifications));
  api.SetNotifier(std::move(notifier));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

Status Server::Start() {
  Impl& in = *impl_;
  if (in.http) return Status::FailedPrecondition("already started");
  const ServerOptions& o = in.options;
  if (!o.tls_cert.empty()) {
    auto ssl = std::make_unique<httplib::SSLServer>(o.tls_cert.c_str(),
                                                    o.tls_key.c_str());
    if (!ssl->is_valid()) {
      return Status::InvalidArgument(
          "cannot use the TLS certificate or key (unreadable, not PEM, or "
          "they do not match)");
    }
    in.http = std::move(ssl);
    in.tls = true;
  } else {
    in.http = std::make_unique<httplib::Server>();
  }
  httplib::Server& http = *in.http;
  const size_t threads = o.threads;
  const size_t queued = o.max_queued;
  http.new_task_queue = [threads, queued] {
    return new BoundedPool(threads, queued);
  };
  http.set_tcp_nodelay(true);
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second
  // server share a busy port silently: only SO_REUSEADDR here.
  http.set_socket_options([&in](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    in.listen_fd = sock;
  });
  http.set_payload_max_length(o.max_body_bytes);
  http.set_read_timeout(o.read_timeout_seconds, 0);
  http.set_write_timeout(o.write_timeout_seconds, 0);
  http.set_keep_alive_timeout(o.keep_alive_seconds);
  http.set_keep_alive_max_count(o.keep_alive_max_requests);
  http.set_pre_routing_handler(
      [&in](const httplib::Request& req, httplib::Response& res) {
        return in.PreRoute(req, res);
      });
  auto dispatch = [&in](const httplib::Request& req, httplib::Response& res) {
    in.Dispatch(req, res);
  };
  http.Get(".*", dispatch);
  http.Post(".*", dispatch);
  http.Put(".*", dispatch);
  http.Delete(".*", dispatch);
  http.set_expect_100_continue_handler(
      [&in](const httplib::Request& req, httplib::Response& res) {
        return in.Expect100(req, res);
      });
  http.set_error_handler(httplib::Server::HandlerWithResponse(
      [&in](const httplib::Request& req, httplib::Response& res) {
        return in.OnError(req, res);
      }));
  http.set_exception_handler(
      [&in](const httplib::Request& req, httplib::Response& res,
            std::exception_ptr ep) { in.OnException(req, res, ep); });
  http.set_logger(
      [&in](const httplib::Request& req, const httplib::Response& res) {
        in.OnLogged(req, res);
      });

  if (o.port == 0) {
    in.port = http.bind_to_any_port(o.host.c_str());
  } else {
    in.port = http.bind_to_port(o.host.c_str(), o.port) ? o.port : -1;
  }
  if (in.port <= 0) {
    in.http.reset();
    return Status::IoError("cannot listen on " + o.host + ":" +
                           std::to_string(o.port));
  }
  // The library listens with a backlog of 5, a compile-time constant of
  // the shared library. When more clients connect at once than that, the
  // kernel drops their handshakes and each retries a second later (or
  // resets a request already sent). Listening again on the bound socket
  // sets the backlog we want.
  if (in.listen_fd < 0 || ::listen(in.listen_fd, o.listen_backlog) != 0) {
    in.http.reset();
    return Status::IoError("cannot listen on " + o.host + ":" +
                           std::to_string(o.port) + " with a backlog of " +
                           std::to_string(o.listen_backlog));
  }
  in.listener = std::thread([&http] { http.listen_after_bind(); });
  while (!http.is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

void Server::Stop() {
  Impl& in = *impl_;
  if (!in.http) return;
  in.http->stop();  // stops accepting; queued and in-flight requests finish
  if (in.listener.joinable()) in.listener.join();
  in.http.reset();
}

int Server::port() const { return impl_->port; }

std::string Server::webhook_public_key() const {
  return notify::WebhookPublicKeyText(
      impl_->api.notifier().webhook_public_key());
}

void Server::LogNotice(std::string_view notice) {
  impl_->api.server_log().LogNotice(notice);
}

void Server::FailAuditWriteForTesting(int nth) {
  impl_->api.audit().log().FailWriteForTesting(nth);
}

std::string Server::url() const {
  std::string host = impl_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(impl_->tls ? "https" : "http") + "://" + host + ":" +
         std::to_string(impl_->port);
}

}  // namespace tillit::api
