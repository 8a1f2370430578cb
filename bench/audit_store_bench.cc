// The audit log's appends on each store, side by side in one run: the data
// directory's audit.db, and PostgreSQL shared by 1, 2 and 3 nodes (each
// node an AuditLog with a session of its own, the way each `tillit serve`
// process has one), through the same AuditLog front.
//
//   Appends/nodes/callers  `callers` threads (16 or 96: requests in
//                          flight) spread evenly over the nodes, each
//                          appending 100 entries one Append at a time,
//                          each durable when its Append returns
//                          (audit.db: synchronous FULL; PostgreSQL: fsync
//                          on, synchronous_commit on). items_per_second is
//                          entries per second.
//
// Within a node, concurrent appends share group commits; across nodes, the
// sequencer (an advisory lock per commit) takes them in turn: this measures
// where one sequencer tops out. PostgreSQL is a private server
// (testing::PgCluster) on loopback, started by the benchmark. Run:
//   build/bench/audit_store_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/crypto/random.h"
#include "tillit/pgstore/pg_log_storage.h"
#include "tillit/pgstore/session.h"
#include "tillit/testing/pg_cluster.h"
#include "tillit/testing/temp_dir.h"

namespace {

using tillit::audit::AuditEntry;
using tillit::audit::AuditLog;

constexpr int kPerThread = 100;

AuditEntry Entry(int thread, int n) {
  char id[40];
  std::snprintf(id, sizeof(id), "c_%032x", thread * 1000003 + n);
  AuditEntry e;
  e.time = 1767225600 + n;
  e.actor_kind = "provider";
  e.actor_id = "p_" + std::string(32, 'a');
  e.action = "records.read";
  e.citizen_id = id;
  e.categories = {"lab-results"};
  e.decision = "permit";
  e.request_id = "req-" + std::to_string(thread) + "-" + std::to_string(n);
  return e;
}

tillit::crypto::SecretBytes Seed(int n) {
  return tillit::crypto::DeterministicRandom(n).Secret(32);
}

[[noreturn]] void Fail(const tillit::Status& s) {
  std::fprintf(stderr, "audit_store_bench: %s\n", s.ToString().c_str());
  std::exit(1);
}

tillit::testing::PgCluster& Cluster() {
  static tillit::testing::PgCluster* cluster = [] {
    auto c = tillit::testing::PgCluster::Start(/*durable=*/true);
    if (!c.ok()) Fail(c.status());
    return c->release();
  }();
  return *cluster;
}

// `nodes` handles on one new log: 0 nodes means audit.db in a new data
// directory (one handle).
std::vector<std::unique_ptr<AuditLog>> OpenLogs(int nodes) {
  static int next = 0;
  std::vector<std::unique_ptr<AuditLog>> out;
  if (nodes == 0) {
    static auto* dirs =
        new std::vector<std::unique_ptr<tillit::testing::TempDir>>;
    dirs->push_back(std::make_unique<tillit::testing::TempDir>());
    AuditLog::Options o;
    o.path = dirs->back()->path() + "/audit.db";
    o.db_key = Seed(1);
    o.signing_seed = Seed(2);
    auto log = AuditLog::Open(std::move(o));
    if (!log.ok()) Fail(log.status());
    out.push_back(std::move(log).value());
    return out;
  }
  const std::string name = "b" + std::to_string(++next);
  if (auto s = Cluster().CreateDatabase(name); !s.ok()) Fail(s);
  for (int i = 0; i < nodes; ++i) {
    auto storage = tillit::pgstore::PgLogStorage::Open(
        std::make_unique<tillit::pgstore::Session>(Cluster().ConnInfo(name)),
        Seed(3));
    if (!storage.ok()) Fail(storage.status());
    auto log = AuditLog::OpenOn(std::move(storage).value(), Seed(2));
    if (!log.ok()) Fail(log.status());
    out.push_back(std::move(log).value());
  }
  return out;
}

void BM_Appends(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int callers = static_cast<int>(state.range(1));
  state.SetLabel(nodes == 0 ? "audit.db"
                            : "postgresql:" + std::to_string(nodes) + "node");
  std::vector<std::unique_ptr<AuditLog>> logs = OpenLogs(nodes);
  int round = 0;
  for (auto _ : state) {
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        AuditLog& log = *logs[t % logs.size()];
        for (int n = 0; n < kPerThread; ++n) {
          if (!log.Append(Entry(t, round * kPerThread + n)).ok()) failed = true;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failed) state.SkipWithError("an append failed");
    ++round;
  }
  state.SetItemsProcessed(state.iterations() * callers * kPerThread);
}
BENCHMARK(BM_Appends)
    ->ArgsProduct({{0, 1, 2, 3}, {16, 96}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
