#include "metrics.h"

#include <cstdio>
#include <sstream>

#include "route.h"
#include "tillit/base/build_info.h"

namespace tillit::api::internal {
namespace {

constexpr double kBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                              0.1,    0.25,  0.5,    1,     2.5,  5,     10};

std::string Label(size_t route) {
  const auto& table = RouteTable();
  if (route == AppRouteIndex()) return "method=\"\",route=\"/app/\"";
  if (route >= table.size()) return "method=\"\",route=\"unmatched\"";
  return "method=\"" + table[route].info.method + "\",route=\"" +
         table[route].info.path + "\"";
}

}  // namespace

Metrics::Metrics(size_t routes) {
  static_assert(sizeof(kBounds) / sizeof(kBounds[0]) == kBuckets);
  // The table's routes, then unmatched requests, then the web app.
  for (size_t i = 0; i < routes + 2; ++i)
    routes_.push_back(std::make_unique<PerRoute>());
}

void Metrics::Observe(size_t route, int status, double seconds) {
  if (route >= routes_.size()) route = routes_.size() - 2;  // unmatched
  PerRoute& r = *routes_[route];
  int b = 0;
  while (b < kBuckets && seconds > kBounds[b]) ++b;
  r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  r.count.fetch_add(1, std::memory_order_relaxed);
  r.sum_micros.fetch_add(static_cast<uint64_t>(seconds * 1e6),
                         std::memory_order_relaxed);
  MutexLock lock(&status_mu_);
  ++by_status_[{route, status}];
}

std::string Metrics::Render(size_t open_stores, uint64_t evictions,
                            uint64_t audit_size) const {
  std::ostringstream out;
  out << "# HELP tillit_http_requests_total HTTP requests answered, by route "
         "and status.\n"
         "# TYPE tillit_http_requests_total counter\n";
  {
    MutexLock lock(&status_mu_);
    for (const auto& [key, n] : by_status_) {
      out << "tillit_http_requests_total{" << Label(key.first) << ",status=\""
          << key.second << "\"} " << n << "\n";
    }
  }
  out << "# HELP tillit_http_request_duration_seconds Time from routing to "
         "the response being written.\n"
         "# TYPE tillit_http_request_duration_seconds histogram\n";
  for (size_t i = 0; i < routes_.size(); ++i) {
    const PerRoute& r = *routes_[i];
    const uint64_t count = r.count.load();
    if (count == 0) continue;
    const std::string label = Label(i);
    uint64_t cumulative = 0;
    for (int b = 0; b < kBuckets; ++b) {
      cumulative += r.buckets[b].load();
      char le[32];
      std::snprintf(le, sizeof le, "%g", kBounds[b]);
      out << "tillit_http_request_duration_seconds_bucket{" << label << ",le=\""
          << le << "\"} " << cumulative << "\n";
    }
    cumulative += r.buckets[kBuckets].load();
    out << "tillit_http_request_duration_seconds_bucket{" << label
        << ",le=\"+Inf\"} " << cumulative << "\n";
    char sum[48];
    std::snprintf(sum, sizeof sum, "%.6f",
                  static_cast<double>(r.sum_micros.load()) / 1e6);
    out << "tillit_http_request_duration_seconds_sum{" << label << "} " << sum
        << "\n"
        << "tillit_http_request_duration_seconds_count{" << label << "} "
        << count << "\n";
  }
  out << "# HELP tillit_http_in_flight Requests being served now.\n"
         "# TYPE tillit_http_in_flight gauge\n"
         "tillit_http_in_flight "
      << in_flight_.load() << "\n"
      << "# HELP tillit_audit_appends_total Audit entries written by this "
         "server.\n"
         "# TYPE tillit_audit_appends_total counter\n"
         "tillit_audit_appends_total "
      << audit_appends_.load() << "\n"
      << "# HELP tillit_audit_append_failures_total Audit writes that failed "
         "(the access was refused).\n"
         "# TYPE tillit_audit_append_failures_total counter\n"
         "tillit_audit_append_failures_total "
      << audit_failures_.load() << "\n"
      << "# HELP tillit_audit_log_entries Entries in the audit log.\n"
         "# TYPE tillit_audit_log_entries gauge\n"
         "tillit_audit_log_entries "
      << audit_size << "\n"
      << "# HELP tillit_open_vaults Citizen stores open in the cache (with "
         "their keys).\n"
         "# TYPE tillit_open_vaults gauge\n"
         "tillit_open_vaults "
      << open_stores << "\n"
      << "# HELP tillit_vault_evictions_total Citizen stores closed to make "
         "room.\n"
         "# TYPE tillit_vault_evictions_total counter\n"
         "tillit_vault_evictions_total "
      << evictions << "\n"
      << "# HELP tillit_build_info The version and commit of this server "
         "(always 1).\n"
         "# TYPE tillit_build_info gauge\n"
         "tillit_build_info{version=\""
      << BuildVersion() << "\",commit=\"" << BuildCommit() << "\"} 1\n";
  return out.str();
}

}  // namespace tillit::api::internal
