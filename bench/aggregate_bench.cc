// Differentially private aggregates, timed (issue 18), in two parts:
//
// index: a count over 100,000 citizens answered from the consent index
//   alone (no store opened): deciding every citizen's grants, the tally and
//   noise, the charge of the study and of every contributor in the privacy
//   ledger, and one audit entry per contributor, each timed on its own and
//   together. The index is generated in memory as for feasibility_bench.
// stores: an age x sex histogram over N generated citizens in a real vault
//   (each citizen's store opened, decided on their full policy, their
//   permitted records read); reported per citizen, since opening stores
//   dominates.
//
// Both run on one thread, --runs times, printing each run and the median.
// Run: build/bench/aggregate_bench [--citizens N] [--store-citizens M]
//      [--runs R]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/research/aggregate.h"
#include "tillit/vault/vault.h"

namespace {

using namespace tillit;
namespace fs = std::filesystem;
using Clock_ = std::chrono::steady_clock;

[[noreturn]] void Die(const char* what, const Status& s) {
  std::fprintf(stderr, "aggregate_bench: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

double Ms(Clock_::time_point a, Clock_::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Id(char prefix, uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c_%032llx", prefix,
                static_cast<unsigned long long>(n));
  return buf;
}

// Every citizen with one or two research grants, one in twenty opted out,
// one in ten naming a cap.
consent::ConsentIndex MakeIndex(size_t citizens) {
  std::vector<consent::ConsentIndex::Entry> entries;
  entries.reserve(citizens);
  for (size_t i = 0; i < citizens; ++i) {
    consent::ConsentIndex::Entry e;
    e.citizen_id = Id('c', i);
    e.policy.research_opt_out = i % 20 == 19;
    for (size_t k = 0; k < 1 + i % 2; ++k) {
      consent::Grant g;
      g.id = Id('g', i * 2 + k);
      g.grantee.kind = consent::Grantee::Kind::kAnyResearcher;
      g.purposes.push_back(
          {k == 0 ? consent::Purpose::kHMB : consent::Purpose::kGRU, ""});
      g.categories = consent::CategoryBit(fhir::Category::kLabResults) |
                     consent::CategoryBit(fhir::Category::kPatientSummary);
      if (i % 10 == 3) g.privacy_budget = 5'000'000;
      e.policy.grants.push_back(std::move(g));
    }
    entries.push_back(std::move(e));
  }
  return consent::ConsentIndex(std::move(entries));
}

struct Bench {
  std::string dir;
  std::unique_ptr<vault::Vault> vault;
  std::unique_ptr<audit::AuditLog> log;
  std::unique_ptr<research::PrivacyLedger> ledger;
  std::unique_ptr<consent::ConsentService> consents;
  consent::ResearcherProfile researcher{"r_00000000000000000000000000000001",
                                        consent::OrgType::kCommercial,
                                        "SE",
                                        "Acme Health AB",
                                        "Ada",
                                        ""};
  consent::StudyDefinition study;

  explicit Bench(const char* name) {
    std::string tmpl = (fs::temp_directory_path() / name).string();
    dir = mkdtemp(tmpl.data());
    vault::VaultOptions vo;
    vo.data_dir = dir + "/data";
    auto created = vault::Vault::Init(vo);
    if (!created.ok()) Die("init", created.status());
    vault = std::move(created->vault);
    auto l = audit::AuditLog::OpenInDirectory(vault->data_dir(), *vault);
    if (!l.ok()) Die("audit", l.status());
    log = std::move(l).value();
    auto p =
        research::PrivacyLedger::OpenInDirectory(vault->data_dir(), *vault);
    if (!p.ok()) Die("ledger", p.status());
    ledger = std::move(p).value();
    consents = std::make_unique<consent::ConsentService>(
        vault.get(), &Clock::System(), &crypto::Random::System());
    if (Status s = consents->RegisterResearcher(researcher); !s.ok())
      Die("researcher", s);
    auto def = consent::ParseStudyDefinition(
        R"({"title": "HbA1c", "purpose": "DUO:0000006",
            "categories": ["patient-summary", "lab-results"]})");
    if (!def.ok()) Die("study", def.status());
    def->study.researcher_id = researcher.id;
    auto stored = consents->RegisterStudy(*def);
    if (!stored.ok()) Die("study", stored.status());
    study = *stored;
    if (Status s = ledger->SetStudyBudget(study.study.id, 100'000'000); !s.ok())
      Die("budget", s);
    if (Status s = ledger->SetDefaultCitizenCap(100'000'000); !s.ok())
      Die("cap", s);
  }
  ~Bench() {
    consents.reset();
    ledger.reset();
    log.reset();
    vault.reset();
    fs::remove_all(dir);
  }

  // One aggregate; `audit_ms` gets the audit callback's share.
  research::AggregateResult Run(const std::string& query,
                                std::vector<consent::Candidate> candidates,
                                vault::StoreAccess& stores, double* audit_ms) {
    auto q = research::ParseAggregateQuery(query);
    if (!q.ok()) Die("query", q.status());
    research::AggregateInput in;
    in.study = &study;
    in.researcher = &researcher;
    in.query = *q;
    in.candidates = std::move(candidates);
    in.id = "agg_" + crypto::Random::System().Hex(16);
    in.now = Clock::System().NowSeconds();
    in.request_id = "bench";
    in.rng = &crypto::Random::System();
    auto made = research::RunAggregate(
        stores, *ledger, in, [&](const std::vector<audit::AuditEntry>& e) {
          const auto t0 = Clock_::now();
          auto r = log->AppendBatch(e);
          *audit_ms = Ms(t0, Clock_::now());
          return r;
        });
    if (!made.ok()) Die("aggregate", made.status());
    return *made;
  }
};

void IndexPart(size_t citizens, int runs) {
  Bench b("tillit-aggbench-XXXXXX");
  const consent::ConsentIndex index = MakeIndex(citizens);
  vault::DirectStoreAccess stores(b.vault.get());
  std::printf(
      "index: count over %zu citizens in the consent index (one thread)\n",
      citizens);
  std::printf("%-4s %11s %12s %14s %10s %10s %11s\n", "run", "candidates",
              "decide ms", "tally+ledger", "audit ms", "total ms", "answer");
  std::vector<double> decide, ledger, audit, total;
  for (int run = 1; run <= runs; ++run) {
    const consent::ResearchRequest request{&b.researcher, &b.study.study};
    const auto t0 = Clock_::now();
    std::vector<consent::Candidate> candidates =
        index.PermittedCandidates(request, Clock::System().NowSeconds());
    const auto t1 = Clock_::now();
    const size_t n = candidates.size();
    double audit_ms = 0;
    research::AggregateResult r =
        b.Run(R"({"query": "count", "epsilon": 0.1})", std::move(candidates),
              stores, &audit_ms);
    const auto t2 = Clock_::now();
    decide.push_back(Ms(t0, t1));
    audit.push_back(audit_ms);
    ledger.push_back(Ms(t1, t2) - audit_ms);
    total.push_back(Ms(t0, t2));
    std::printf("%-4d %11zu %12.1f %14.1f %10.1f %10.1f %11lld\n", run, n,
                decide.back(), ledger.back(), audit.back(), total.back(),
                static_cast<long long>(r.cells[0].value));
  }
  std::printf("%-4s %11s %12.1f %14.1f %10.1f %10.1f\n", "med", "",
              Median(decide), Median(ledger), Median(audit), Median(total));
}

void StorePart(int citizens, int runs) {
  Bench b("tillit-aggbench-XXXXXX");
  std::printf("stores: building %d citizens...\n", citizens);
  std::fflush(stdout);
  const char* grant =
      R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000006"],
          "categories": ["patient-summary", "lab-results"]})";
  for (int i = 0; i < citizens; ++i) {
    auto imp = b.vault->Import(
        fhir::GenerateSyntheticBundle(2026, static_cast<uint64_t>(i)),
        vault::ImportFormat::kJson);
    if (!imp.ok()) Die("import", imp.status());
    auto g = b.consents->AddGrant(imp->citizen_id, grant);
    if (!g.ok()) Die("grant", g.status());
  }
  vault::DirectStoreAccess stores(b.vault.get());
  std::printf("stores: age x sex over %d citizens, every store opened\n",
              citizens);
  std::printf("%-4s %10s %10s %12s\n", "run", "total ms", "audit ms",
              "citizens/s");
  std::vector<double> total, rate;
  for (int run = 1; run <= runs; ++run) {
    auto candidates =
        b.consents->AggregateCandidates(b.researcher, b.study.study);
    if (!candidates.ok()) Die("candidates", candidates.status());
    double audit_ms = 0;
    const auto t0 = Clock_::now();
    b.Run(R"({"query": "age_sex", "epsilon": 0.1})", std::move(*candidates),
          stores, &audit_ms);
    total.push_back(Ms(t0, Clock_::now()));
    rate.push_back(citizens / (total.back() / 1000));
    std::printf("%-4d %10.1f %10.1f %12.0f\n", run, total.back(), audit_ms,
                rate.back());
  }
  std::printf("%-4s %10.1f %10s %12.0f\n", "med", Median(total), "",
              Median(rate));
}

}  // namespace

int main(int argc, char** argv) {
  int citizens = 100000;
  int store_citizens = 1000;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](int lo, int hi, int* out) {
      if (i + 1 >= argc)
        Die("usage", Status::InvalidArgument(a + " needs a value"));
      const int v = std::atoi(argv[++i]);
      if (v < lo || v > hi)
        Die("usage", Status::InvalidArgument(a + " out of range"));
      *out = v;
    };
    if (a == "--citizens") {
      next(1, 1000000, &citizens);
    } else if (a == "--store-citizens") {
      next(0, 100000, &store_citizens);
    } else if (a == "--runs") {
      next(1, 100, &runs);
    } else if (a == "--help") {
      std::printf(
          "usage: aggregate_bench [--citizens N] [--store-citizens M] "
          "[--runs R]\n");
      return 0;
    } else {
      Die("usage", Status::InvalidArgument("unknown argument " + a));
    }
  }
  IndexPart(static_cast<size_t>(citizens), runs);
  if (store_citizens > 0) StorePart(store_citizens, runs);
  return 0;
}
