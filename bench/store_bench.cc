// One citizen's store on each backend, side by side in one run: the data
// directory's SQLCipher file (SqlCipherCitizenStore) and PostgreSQL's
// sealed rows (pgstore::PgCitizenStore), through the same CitizenStore
// interface.
//
//   Import   all 32 shared Synthea bundles, each into a new citizen's
//            store in one Put (one transaction, durable on return: SQLite
//            synchronous=FULL; PostgreSQL with fsync on);
//   Get      one record by type and id, from the largest bundle's citizen;
//   List     the newest 50 records of that citizen, then of one category.
//
// PostgreSQL is a private server (testing::PgCluster) on loopback, fsync
// on, started by the benchmark. Times are wall-clock (the server's work is
// in another process). Run:
//   build/bench/store_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one line)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tillit/crypto/random.h"
#include "tillit/fhir/fhir.h"
#include "tillit/pgstore/pg_citizen_store.h"
#include "tillit/pgstore/session.h"
#include "tillit/storage/database.h"
#include "tillit/testing/pg_cluster.h"
#include "tillit/testing/temp_dir.h"
#include "tillit/vault/sqlcipher_citizen_store.h"

namespace {

namespace fs = std::filesystem;
using tillit::StatusOr;
using tillit::vault::CitizenStore;

struct Bundle {
  std::vector<tillit::fhir::ParsedResource> resources;
};

const std::vector<Bundle>& Fixtures() {
  static const auto* bundles = [] {
    auto* out = new std::vector<Bundle>;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(TILLIT_FIXTURES_DIR)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
      auto doc = tillit::fhir::ParseFhirDocument(text);
      if (!doc.ok()) continue;
      out->push_back(Bundle{std::move(doc->resources)});
    }
    return out;
  }();
  return *bundles;
}

size_t Largest() {
  const auto& b = Fixtures();
  size_t best = 0;
  for (size_t i = 1; i < b.size(); ++i) {
    if (b[i].resources.size() > b[best].resources.size()) best = i;
  }
  return best;
}

std::string CitizenId(int n) {
  std::string s = std::to_string(n);
  return "c_" + std::string(32 - s.size(), '0') + s;
}

// Where stores are opened: a directory of SQLCipher files, or a database.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual StatusOr<std::unique_ptr<CitizenStore>> Open(
      const std::string& citizen_id) = 0;
};

class SqlCipherBackend final : public Backend {
 public:
  StatusOr<std::unique_ptr<CitizenStore>> Open(
      const std::string& citizen_id) override {
    tillit::storage::Database::Options o;
    o.create = true;
    o.cache_kib = 512;  // as the vault opens them
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<tillit::storage::Database> db,
                            tillit::storage::Database::Open(
                                dir_ / (citizen_id + ".db"), &key_, o,
                                tillit::vault::SqlCipherCitizenStore::Setup));
    return std::unique_ptr<CitizenStore>(
        std::make_unique<tillit::vault::SqlCipherCitizenStore>(
            citizen_id, std::move(db), 0, nullptr));
  }

 private:
  tillit::crypto::DeterministicRandom rng_{1};
  tillit::testing::TempDir dir_;
  tillit::crypto::SecretBytes key_ = rng_.Secret(32);
};

class PgBackend final : public Backend {
 public:
  PgBackend() {
    auto cluster = tillit::testing::PgCluster::Start(/*durable=*/true);
    if (!cluster.ok()) {
      fprintf(stderr, "%s\n", cluster.status().ToString().c_str());
      abort();
    }
    cluster_ = std::move(cluster).value();
    if (!cluster_->CreateDatabase("bench").ok()) abort();
    session_ =
        std::make_unique<tillit::pgstore::Session>(cluster_->ConnInfo("bench"));
    auto stores = tillit::pgstore::PgCitizenStores::Open(session_.get());
    if (!stores.ok()) abort();
    stores_ = std::move(stores).value();
  }
  StatusOr<std::unique_ptr<CitizenStore>> Open(
      const std::string& citizen_id) override {
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<tillit::pgstore::PgCitizenStore> s,
                            stores_->OpenStore(citizen_id, key_, 0, nullptr));
    return std::unique_ptr<CitizenStore>(std::move(s));
  }

 private:
  tillit::crypto::DeterministicRandom rng_{2};
  tillit::crypto::SecretBytes key_ = rng_.Secret(32);
  std::unique_ptr<tillit::testing::PgCluster> cluster_;
  std::unique_ptr<tillit::pgstore::Session> session_;
  std::unique_ptr<tillit::pgstore::PgCitizenStores> stores_;
};

Backend& Get(int which) {
  static SqlCipherBackend* sqlcipher = new SqlCipherBackend;
  static PgBackend* pg = new PgBackend;
  return which == 0 ? static_cast<Backend&>(*sqlcipher) : *pg;
}

const char* Name(int which) { return which == 0 ? "sqlcipher" : "postgresql"; }

void BM_Import(benchmark::State& state) {
  Backend& b = Get(static_cast<int>(state.range(0)));
  state.SetLabel(Name(static_cast<int>(state.range(0))));
  static int next = 1000;
  size_t resources = 0;
  for (auto _ : state) {
    for (const Bundle& bundle : Fixtures()) {
      auto store = b.Open(CitizenId(next++));
      if (!store.ok()) state.SkipWithError("open");
      auto put = (*store)->Put(bundle.resources, "import", 1);
      if (!put.ok()) state.SkipWithError("put");
      resources += bundle.resources.size();
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(resources));
}
BENCHMARK(BM_Import)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The largest bundle's citizen, imported once per backend.
CitizenStore& Reader(int which) {
  static std::map<int, std::unique_ptr<CitizenStore>> stores;
  auto& s = stores[which];
  if (s == nullptr) {
    auto opened = Get(which).Open(CitizenId(1 + which));
    if (!opened.ok()) abort();
    s = std::move(opened).value();
    if (!s->Put(Fixtures()[Largest()].resources, "import", 1).ok()) abort();
  }
  return *s;
}

void BM_Get(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  state.SetLabel(Name(which));
  CitizenStore& s = Reader(which);
  const auto& rs = Fixtures()[Largest()].resources;
  size_t i = 0;
  for (auto _ : state) {
    const auto& r = rs[(i++ * 7919) % rs.size()];
    auto got = s.Get(r.type, r.id);
    if (!got.ok()) state.SkipWithError("get");
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Get)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_ListNewest50(benchmark::State& state) {
  const int which = static_cast<int>(state.range(0));
  state.SetLabel(Name(which));
  CitizenStore& s = Reader(which);
  tillit::vault::RecordFilter f;
  f.limit = 50;
  if (state.range(1) == 1) f.category = tillit::fhir::Category::kLabResults;
  for (auto _ : state) {
    auto got = s.List(f);
    if (!got.ok()) state.SkipWithError("list");
    benchmark::DoNotOptimize(got);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ListNewest50)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
