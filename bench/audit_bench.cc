// Audit log: durable appends with group commit (concurrent appenders share
// one transaction and one fsync; none is acknowledged before it is
// durable), batched appends, full verification of 1,000,000 entries and
// proof latency at that size. Run: ./dev bench (or build/bench/audit_bench).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <mutex>

#include "tillit/audit/audit_log.h"
#include "tillit/vault/vault.h"

namespace {

namespace fs = std::filesystem;
using namespace tillit::audit;

tillit::audit::AuditEntry Entry(int64_t i) {
  AuditEntry e;
  e.time = 1767225600 + i;
  e.actor_kind = "provider";
  e.actor_id = "p_00000000000000000000000000000001";
  e.action = "records.read";
  e.citizen_id =
      "c_000000000000000000000000000000" + std::to_string(10 + i % 90);
  e.categories = {"lab-results", "vital-signs"};
  e.purpose = "DUO:0000043";
  e.grant_ids = {"g_00000000000000000000000000000001"};
  e.decision = "permit";
  e.request_id = "req-" + std::to_string(i);
  return e;
}

struct Fixture {
  std::string dir;
  std::unique_ptr<tillit::vault::Vault> vault;
  std::unique_ptr<AuditLog> log;
  Fixture() {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-audit-bench-XXXXXX").string();
    dir = mkdtemp(tmpl.data());
    tillit::vault::VaultOptions o;
    o.data_dir = dir + "/data";
    vault = std::move(tillit::vault::Vault::Init(o)->vault);
    log =
        std::move(AuditLog::OpenInDirectory(vault->data_dir(), *vault)).value();
    // A server lists (citizens' access logs), so its appends keep the
    // listing index up to date: measured with that work included.
    ListQuery q;
    q.citizen_id = "c_00000000000000000000000000000010";
    if (!log->List(q).ok()) std::abort();
  }
  ~Fixture() {
    log.reset();
    vault.reset();
    fs::remove_all(dir);
  }
};

Fixture* shared_fixture = nullptr;
std::mutex fixture_mu;

// Each benchmark thread appends one entry per iteration.
void BM_AppendGroupCommit(benchmark::State& state) {
  if (state.thread_index() == 0) {
    std::lock_guard<std::mutex> lock(fixture_mu);
    shared_fixture = new Fixture();
  }
  int64_t i = state.thread_index() * 1000000000LL;
  for (auto _ : state) {
    if (!shared_fixture->log->Append(Entry(i++)).ok())
      state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    std::lock_guard<std::mutex> lock(fixture_mu);
    delete shared_fixture;
    shared_fixture = nullptr;
  }
}
BENCHMARK(BM_AppendGroupCommit)
    ->Threads(1)
    ->Threads(16)
    ->Threads(64)
    ->Threads(256)
    ->UseRealTime()
    ->MinTime(2.0);

void BM_AppendBatch(benchmark::State& state) {
  Fixture f;
  std::vector<AuditEntry> batch;
  for (int64_t i = 0; i < state.range(0); ++i) batch.push_back(Entry(i));
  for (auto _ : state) {
    if (!f.log->AppendBatch(batch).ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AppendBatch)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Bringing the listing index up to date over N new entries (2,000
// citizens, as a region's access pattern spreads them), measured by the
// filtered listing that triggers it; the appends are not timed (N stays
// under the 1,024 after which an append would do it).
void BM_ListingCatchUp(benchmark::State& state) {
  Fixture f;
  std::vector<AuditEntry> batch;
  int64_t i = 0;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (int64_t k = 0; k < state.range(0); ++k, ++i) {
      AuditEntry e = Entry(i);
      e.citizen_id = "c_" + std::to_string(100000000 + (i * 7919) % 2000);
      batch.push_back(std::move(e));
    }
    if (!f.log->AppendBatch(batch).ok()) state.SkipWithError("append failed");
    state.ResumeTiming();
    ListQuery q;
    q.citizen_id = "c_100000000";
    q.limit = 10;
    if (!f.log->List(q).ok()) state.SkipWithError("list failed");
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ListingCatchUp)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// One log of 1,000,000 entries with a checkpoint every 100,000, shared by
// the verification and proof benchmarks.
Fixture& Million() {
  static Fixture* f = [] {
    auto* fx = new Fixture();
    std::vector<AuditEntry> batch;
    for (int64_t i = 0; i < 10000; ++i) batch.push_back(Entry(i));
    for (int round = 0; round < 100; ++round) {
      if (!fx->log->AppendBatch(batch).ok()) std::abort();
      if (round % 10 == 9 && !fx->log->SignedCheckpoint().ok()) std::abort();
    }
    return fx;
  }();
  return *f;
}

void BM_VerifyMillion(benchmark::State& state) {
  Fixture& f = Million();
  for (auto _ : state) {
    auto report = VerifyStoredLog(f.vault->data_dir(), *f.vault);
    if (!report.ok() || !report->ok) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations() * 1000000);
}
BENCHMARK(BM_VerifyMillion)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

void BM_InclusionProofAtMillion(benchmark::State& state) {
  Fixture& f = Million();
  uint64_t index = 12345;
  for (auto _ : state) {
    auto proof = f.log->InclusionProof(index, 1000000);
    benchmark::DoNotOptimize(proof);
    index = (index * 7919 + 1) % 1000000;
  }
}
BENCHMARK(BM_InclusionProofAtMillion);

void BM_ConsistencyProofAtMillion(benchmark::State& state) {
  Fixture& f = Million();
  uint64_t from = 1;
  for (auto _ : state) {
    auto proof = f.log->ConsistencyProof(from, 1000000);
    benchmark::DoNotOptimize(proof);
    from = (from * 7919 + 1) % 999999 + 1;
  }
}
BENCHMARK(BM_ConsistencyProofAtMillion);

}  // namespace

BENCHMARK_MAIN();
