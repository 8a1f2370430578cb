// ServerLog: the server's own log (ServerOptions::log): one line per
// request and every server-side error. Callers never pass it bodies,
// tokens, keys, health data or an exception's message.
//
// Thread-safety: Line may be called from any thread. One mutex serves
// every ServerLog in the process (two servers may share one stream), so
// lines are never interleaved.
#ifndef TILLIT_API_SRC_SERVER_LOG_H_
#define TILLIT_API_SRC_SERVER_LOG_H_

#include <ostream>
#include <string>

#include "tillit/base/mutex.h"

namespace tillit::api::internal {

class ServerLog {
 public:
  // `out` is not owned and must outlive the log; null: lines are dropped.
  explicit ServerLog(std::ostream* out) : out_(out) {}
  ServerLog(const ServerLog&) = delete;
  ServerLog& operator=(const ServerLog&) = delete;

  // Writes `line` and a newline, then flushes.
  void Line(const std::string& line);

 private:
  static Mutex mu_;
  std::ostream* const out_ PT_GUARDED_BY(mu_);
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_SERVER_LOG_H_
