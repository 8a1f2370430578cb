// ServerLog: the server's own log (ServerOptions::log): one line per
// request, every server-side error and the operator's notices, as text or
// as JSON lines (ServerOptions::log_format; the shapes are in server.h).
// Callers never pass it bodies, tokens, keys, health data, query strings,
// paths with ids or an exception's message: a request is named by its
// route's pattern.
//
// Thread-safety: every method may be called from any thread. One mutex
// serves every ServerLog in the process (two servers may share one
// stream), so lines are never interleaved.
#ifndef TILLIT_API_SRC_SERVER_LOG_H_
#define TILLIT_API_SRC_SERVER_LOG_H_

#include <ostream>
#include <string>
#include <string_view>

#include "tillit/api/server.h"
#include "tillit/base/clock.h"
#include "tillit/base/mutex.h"

namespace tillit::api::internal {

class ServerLog {
 public:
  // `out` is not owned and must outlive the log (null: lines are dropped);
  // neither is `clock`, which stamps the JSON lines.
  ServerLog(std::ostream* out, LogFormat format, const Clock* clock)
      : out_(out), format_(format), clock_(clock) {}
  ServerLog(const ServerLog&) = delete;
  ServerLog& operator=(const ServerLog&) = delete;

  // One answered request.
  struct Request {
    std::string_view request_id;
    std::string_view method;
    std::string_view route;  // the pattern, "-" or "/app/"
    int status = 0;
    double seconds = 0;     // from routing to the response written
    std::string_view role;  // who asked ("anyone" when nobody signed in)
  };
  void LogRequest(const Request& r);

  // Something that failed inside request `request_id`, e.g. "audit append
  // failed: <status>".
  void LogError(std::string_view request_id, std::string_view message);

  // A notice from the operator's side, e.g. that a stop signal came.
  void LogNotice(std::string_view message);

  // The time of a JSON line: RFC 3339 in UTC, to the second
  // ("2025-03-01T12:00:00Z").
  static std::string Rfc3339(int64_t unix_seconds);

 private:
  // Writes `line` and a newline, then flushes.
  void Write(const std::string& line);

  static Mutex mu_;
  std::ostream* const out_ PT_GUARDED_BY(mu_);
  const LogFormat format_;
  const Clock* const clock_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_SERVER_LOG_H_
