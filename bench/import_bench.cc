// Import throughput: parse only, the store pipeline into plain and into
// encrypted SQLite (same code, key or no key), and the whole Vault::Import
// path (registry, wrapped keys, generation counters, fsyncs).
//
// Inputs: the 32 shared Synthea bundles (TILLIT_FIXTURES_DIR) and bundles
// from the deterministic synthetic generator. All figures are single
// threaded, i.e. per core. Run:
//   ./dev bench   (build/bench/import_bench with 5 repetitions)
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <time.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tillit/crypto/random.h"
#include "tillit/fhir/fhir.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/storage/database.h"
#include "tillit/vault/sqlcipher_citizen_store.h"
#include "tillit/vault/vault.h"

namespace {

namespace fs = std::filesystem;
using tillit::storage::Database;
using tillit::vault::SqlCipherCitizenStore;

struct Corpus {
  std::vector<std::string> docs;
  size_t bytes = 0;
  size_t resources = 0;
};

const Corpus& Fixtures() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(TILLIT_FIXTURES_DIR)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      c->docs.emplace_back(std::istreambuf_iterator<char>(in),
                           std::istreambuf_iterator<char>());
      c->bytes += c->docs.back().size();
    }
    return c;
  }();
  return *corpus;
}

const Corpus& Generated() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus;
    for (uint64_t i = 0; i < 200; ++i) {
      c->docs.push_back(tillit::fhir::GenerateSyntheticBundle(7, i));
      c->bytes += c->docs.back().size();
    }
    return c;
  }();
  return *corpus;
}

const Corpus& Pick(int which) { return which == 0 ? Fixtures() : Generated(); }

class Scratch {
 public:
  Scratch() {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-bench-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~Scratch() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void Report(benchmark::State& state, const Corpus& c, size_t resources) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c.bytes));
  state.counters["resources/s"] = benchmark::Counter(
      static_cast<double>(resources), benchmark::Counter::kIsRate);
  state.counters["MB"] = static_cast<double>(c.bytes) / 1e6;
}

void BM_ParseOnly(benchmark::State& state) {
  const Corpus& c = Pick(static_cast<int>(state.range(0)));
  size_t resources = 0;
  for (auto _ : state) {
    for (const std::string& doc : c.docs) {
      auto parsed = tillit::fhir::ParseFhirDocument(doc);
      if (!parsed.ok()) state.SkipWithError("parse failed");
      resources += parsed->resources.size();
      benchmark::DoNotOptimize(parsed);
    }
  }
  Report(state, c, resources);
}

// Parse + one new store file per citizen + one transaction per document,
// into plain SQLite and into SQLCipher, alternating document by document so
// both see the same machine (disk latency here drifts by tens of percent
// between runs seconds apart). Reports each side's throughput, by wall
// clock (end to end, fsync included) and by thread CPU time (per core),
// and the encrypted/plain ratios. The only difference is the key.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

void BM_StorePlainVsEncrypted(benchmark::State& state) {
  const Corpus& c = Pick(static_cast<int>(state.range(0)));
  tillit::crypto::DeterministicRandom rng(1);
  double wall[2] = {0, 0}, cpu[2] = {0, 0};
  for (auto _ : state) {
    auto scratch = std::make_unique<Scratch>();
    for (size_t i = 0; i < c.docs.size(); ++i) {
      for (int encrypted = 0; encrypted < 2; ++encrypted) {
        const auto w0 = std::chrono::steady_clock::now();
        const double c0 = ThreadCpuSeconds();
        auto parsed = tillit::fhir::ParseFhirDocument(c.docs[i]);
        if (!parsed.ok()) state.SkipWithError("parse failed");
        tillit::crypto::SecretBytes key = rng.Secret(32);
        Database::Options o;
        o.create = true;
        auto db = Database::Open(scratch->path() + "/" + std::to_string(i) +
                                     (encrypted ? ".enc.db" : ".plain.db"),
                                 encrypted ? &key : nullptr, o);
        if (!db.ok()) state.SkipWithError("open failed");
        // As Vault::Import does for a new citizen: schema and records in
        // one transaction.
        auto store =
            SqlCipherCitizenStore::CreateNew("c_bench", std::move(db).value());
        auto put = store->Put(parsed->resources, "import", 0);
        if (!put.ok()) state.SkipWithError("put failed");
        store.reset();  // close: checkpoint and sync
        cpu[encrypted] += ThreadCpuSeconds() - c0;
        wall[encrypted] +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - w0)
                .count();
      }
    }
  }
  const double mb = static_cast<double>(state.iterations() * c.bytes) / 1e6;
  state.counters["plain_MB/s_wall"] = mb / wall[0];
  state.counters["enc_MB/s_wall"] = mb / wall[1];
  state.counters["plain_MB/s_cpu"] = mb / cpu[0];
  state.counters["enc_MB/s_cpu"] = mb / cpu[1];
  state.counters["ratio_wall"] = wall[1] / wall[0];
  state.counters["ratio_cpu"] = cpu[1] / cpu[0];
}

void BM_VaultImport(benchmark::State& state) {
  const Corpus& c = Pick(static_cast<int>(state.range(0)));
  size_t resources = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto scratch = std::make_unique<Scratch>();
    tillit::vault::VaultOptions o;
    o.data_dir = scratch->path() + "/data";
    auto created = tillit::vault::Vault::Init(o);
    if (!created.ok()) state.SkipWithError("init failed");
    auto vault = std::move(created->vault);
    state.ResumeTiming();
    for (const std::string& doc : c.docs) {
      auto r = vault->Import(doc, tillit::vault::ImportFormat::kJson);
      if (!r.ok()) state.SkipWithError("import failed");
      resources += r->imported;
    }
    state.PauseTiming();
    vault.reset();
    scratch.reset();
    state.ResumeTiming();
  }
  Report(state, c, resources);
}

// Argument 0: the 32 Synthea fixtures; 1: 200 generated citizens.
BENCHMARK(BM_ParseOnly)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StorePlainVsEncrypted)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_VaultImport)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
