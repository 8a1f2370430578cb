#include "server_log.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace tillit::api::internal {
namespace {

using nlohmann::json;

// Invalid UTF-8 (a status message may quote a file name) is replaced,
// never thrown.
std::string Dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

Mutex ServerLog::mu_;

std::string ServerLog::Rfc3339(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char text[32];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return "1970-01-01T00:00:00Z";  // no calendar time: not from a clock
  }
  return text;
}

void ServerLog::LogRequest(const Request& r) {
  if (out_ == nullptr) return;
  if (format_ == LogFormat::kText) {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.3f", r.seconds * 1000);
    Write("request_id=" + std::string(r.request_id) + " method=" +
          std::string(r.method) + " route=" + std::string(r.route) +
          " status=" + std::to_string(r.status) + " ms=" + ms +
          " role=" + std::string(r.role));
    return;
  }
  // Milliseconds to the microsecond.
  const double latency_ms = std::round(r.seconds * 1e6) / 1e3;
  Write(Dump(json{{"time", Rfc3339(clock_->NowSeconds())},
                  {"level", r.status >= 500 ? "error" : "info"},
                  {"request_id", std::string(r.request_id)},
                  {"method", std::string(r.method)},
                  {"route", std::string(r.route)},
                  {"status", r.status},
                  {"latency_ms", latency_ms},
                  {"role", std::string(r.role)}}));
}

void ServerLog::LogError(std::string_view request_id,
                         std::string_view message) {
  if (out_ == nullptr) return;
  if (format_ == LogFormat::kText) {
    Write("request_id=" + std::string(request_id) + " " + std::string(message));
    return;
  }
  Write(Dump(json{{"time", Rfc3339(clock_->NowSeconds())},
                  {"level", "error"},
                  {"request_id", std::string(request_id)},
                  {"msg", std::string(message)}}));
}

void ServerLog::LogNotice(std::string_view message) {
  if (out_ == nullptr) return;
  if (format_ == LogFormat::kText) {
    Write("tillit: " + std::string(message));
    return;
  }
  Write(Dump(json{{"time", Rfc3339(clock_->NowSeconds())},
                  {"level", "info"},
                  {"msg", std::string(message)}}));
}

void ServerLog::Write(const std::string& line) {
  // One write per line keeps concurrent lines whole.
  MutexLock lock(&mu_);
  *out_ << line << '\n';
  out_->flush();
}

}  // namespace tillit::api::internal
