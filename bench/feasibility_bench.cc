// Feasibility: counting a study's cohort over the consent index of
// 100,000 generated citizens (1 to 4 grants each, about one in twenty
// opted out), as ConsentService::CountCohort does once the index is in
// memory. Run: ./dev bench (or build/bench/feasibility_bench).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tillit/consent/policy.h"
#include "tillit/consent_service/consent_index.h"

namespace {

using namespace tillit::consent;

constexpr int64_t kNow = 1767225600;  // 2026-01-01

std::string Id(char prefix, uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c_%032llx", prefix,
                static_cast<unsigned long long>(n));
  return buf;
}

// splitmix64: a small, portable, seeded generator.
struct Rng {
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(Next() % n); }
};

ConsentIndex MakeIndex(size_t citizens, const std::string& study_id,
                       const std::string& researcher_id) {
  Rng rng{42};
  std::vector<ConsentIndex::Entry> entries;
  entries.reserve(citizens);
  const Purpose purposes[] = {Purpose::kGRU, Purpose::kHMB, Purpose::kDS,
                              Purpose::kPOA};
  for (size_t i = 0; i < citizens; ++i) {
    ConsentIndex::Entry e;
    e.citizen_id = Id('c', i);
    e.policy.research_opt_out = rng.Below(20) == 0;
    const uint32_t n = 1 + rng.Below(4);
    for (uint32_t k = 0; k < n; ++k) {
      Grant g;
      g.id = Id('g', i * 8 + k);
      switch (rng.Below(4)) {
        case 0:
          g.grantee.kind = Grantee::Kind::kAnyResearcher;
          break;
        case 1:
          g.grantee = {Grantee::Kind::kStudy, study_id, ""};
          break;
        case 2:
          g.grantee = {Grantee::Kind::kResearcher, Id('r', rng.Below(50)), ""};
          break;
        default:
          g.grantee = {Grantee::Kind::kOrganization, "", "Karolinska"};
          break;
      }
      PurposeSpec p{purposes[rng.Below(4)], ""};
      if (p.purpose == Purpose::kDS) p.disease = "MONDO:0005148";
      g.purposes.push_back(p);
      if (rng.Below(3) == 0)
        g.conditions.push_back({ConditionCode::kNCU, {}, {}, {}});
      if (rng.Below(4) == 0) {
        g.conditions.push_back(
            {ConditionCode::kGS, {"SE", "NO", "FI"}, {}, {}});
      }
      g.categories = static_cast<CategorySet>(1 + rng.Below(kAllCategories));
      if (rng.Below(5) == 0) g.expires = kNow - 1 + rng.Below(2) * 86400 * 400;
      if (rng.Below(10) == 0) g.status = Grant::Status::kRevoked;
      e.policy.grants.push_back(std::move(g));
    }
    entries.push_back(std::move(e));
  }
  (void)researcher_id;
  return ConsentIndex(std::move(entries));
}

void BM_Feasibility(benchmark::State& state) {
  const size_t citizens = static_cast<size_t>(state.range(0));
  ResearcherProfile researcher{
      Id('r', 7), OrgType::kAcademic, "SE", "Karolinska", "", ""};
  Study study;
  study.id = Id('s', 1);
  study.researcher_id = researcher.id;
  study.purpose = {Purpose::kHMB, ""};
  study.categories = CategoryBit(tillit::fhir::Category::kLabResults) |
                     CategoryBit(tillit::fhir::Category::kVitalSigns);
  const ConsentIndex index = MakeIndex(citizens, study.id, researcher.id);
  ResearchRequest request{&researcher, &study};
  int64_t cohort = 0;
  for (auto _ : state) {
    Feasibility f = index.Count(request, kNow);
    cohort = f.cohort_size;
    benchmark::DoNotOptimize(f);
  }
  state.counters["citizens"] = static_cast<double>(citizens);
  state.counters["cohort"] = static_cast<double>(cohort);
  state.counters["citizens/s"] =
      benchmark::Counter(static_cast<double>(citizens),
                         benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Feasibility)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
