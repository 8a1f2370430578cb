// Consent decisions per second per core (SPEC §11: >= 5,000,000 for a
// citizen with 10 grants).
//
// The citizen's grants are varied like a real vault's: every grantee kind,
// several purposes, conditions that hold and conditions that fail, revoked
// and expired grants, and grants that fail at each clause, with at least one
// that permits. One Decision is reused across iterations, as a service
// thread would, so the figures include no allocation. All figures are
// single-threaded. Run:
//   build/bench/consent_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "tillit/consent/policy.h"

namespace {

using namespace tillit::consent;  // NOLINT: a benchmark of this one module

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr CategorySet kLab = CategoryBit(Category::kLabResults);
constexpr CategorySet kVitals = CategoryBit(Category::kVitalSigns);
constexpr CategorySet kSummary = CategoryBit(Category::kPatientSummary);
constexpr CategorySet kImaging = CategoryBit(Category::kImaging);

std::string Id(const char* prefix, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%032x", prefix, n);
  return buf;
}

Condition Cond(ConditionCode code) {
  Condition c;
  c.code = code;
  return c;
}

Grant Base(Grantee::Kind kind, Purpose purpose, CategorySet categories) {
  Grant g;
  g.grantee.kind = kind;
  g.purposes = {{purpose, ""}};
  g.categories = categories;
  g.created_at = kNow - 86400 * 30;
  g.expires = kNow + 86400 * 365;
  return g;
}

// Ten research-side grants, each failing at a different place (or not).
std::vector<Grant> ResearchGrants() {
  std::vector<Grant> v;
  Grant g = Base(Grantee::Kind::kAnyResearcher, Purpose::kHMB, kLab);
  g.status = Grant::Status::kRevoked;  // revoked
  g.revoked_at = kNow - 86400;
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyResearcher, Purpose::kGRU, kLab | kVitals);
  g.expires = kNow - 1;  // expired
  v.push_back(g);
  g = Base(Grantee::Kind::kResearcher, Purpose::kGRU, kLab);
  g.grantee.id = Id("r_", 99);  // another researcher
  v.push_back(g);
  g = Base(Grantee::Kind::kStudy, Purpose::kGRU, kLab | kSummary);
  g.grantee.id = Id("s_", 1);  // permits: this study, NCU and IRB hold
  g.conditions = {Cond(ConditionCode::kNCU), Cond(ConditionCode::kIRB)};
  v.push_back(g);
  g = Base(Grantee::Kind::kOrganization, Purpose::kPOA, kLab);
  g.grantee.name = "Karolinska Institutet";  // POA does not serve HMB
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyResearcher, Purpose::kHMB, kVitals | kLab);
  g.purposes.push_back({Purpose::kDS, "MONDO:0005148"});
  Condition gs = Cond(ConditionCode::kGS);
  gs.countries = {"NO", "FI", "SE"};
  Condition ts = Cond(ConditionCode::kTS);
  ts.until = kNow + 86400 * 90;
  g.conditions = {Cond(ConditionCode::kNPU), gs, ts,
                  Cond(ConditionCode::kPUB)};  // permits
  g.excludes = {{std::nullopt, "http://snomed.info/sct|35489007", ""}};
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyResearcher, Purpose::kDS, kLab);
  g.purposes[0].disease = "MONDO:0004975";  // another disease
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyResearcher, Purpose::kHMB, kLab);
  gs.countries = {"DE", "FR"};
  g.conditions = {Cond(ConditionCode::kIRB), gs};  // GS fails
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyProvider, Purpose::kCC, kLab);  // a care grant
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyResearcher, Purpose::kGRU, kImaging);
  v.push_back(g);  // no category in common
  for (size_t i = 0; i < v.size(); ++i) v[i].id = Id("g_", static_cast<int>(i));
  return v;
}

// Ten grants as a provider sees them.
std::vector<Grant> ProviderGrants() {
  std::vector<Grant> v;
  Grant g = Base(Grantee::Kind::kProvider, Purpose::kCC, kLab | kVitals);
  g.grantee.id = Id("p_", 1);  // permits
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyProvider, Purpose::kCC, kSummary);
  Condition ts = Cond(ConditionCode::kTS);
  ts.until = kNow + 86400;
  g.conditions = {ts};  // permits
  v.push_back(g);
  g = Base(Grantee::Kind::kProvider, Purpose::kCC, kLab);
  g.grantee.id = Id("p_", 2);  // another provider
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyProvider, Purpose::kCC, kImaging);
  g.status = Grant::Status::kRevoked;
  g.revoked_at = kNow - 1;
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyProvider, Purpose::kCC, kImaging);
  g.expires = kNow;  // expired
  v.push_back(g);
  g = Base(Grantee::Kind::kAnyProvider, Purpose::kCC, kImaging);
  ts.until = kNow - 3600;
  g.conditions = {ts};  // TS over
  v.push_back(g);
  for (Grantee::Kind k :
       {Grantee::Kind::kAnyResearcher, Grantee::Kind::kStudy,
        Grantee::Kind::kOrganization, Grantee::Kind::kResearcher}) {
    g = Base(k, Purpose::kHMB, kLab);  // research grants
    g.grantee.id = Id("s_", 1);
    g.grantee.name = "Acme";
    v.push_back(g);
  }
  for (size_t i = 0; i < v.size(); ++i) v[i].id = Id("g_", static_cast<int>(i));
  return v;
}

// n grants: the ten above, repeated; for n == 1 the permitting grant with
// four conditions (the most work a single grant can ask for).
CitizenPolicy Policy(int n, bool provider) {
  const std::vector<Grant> ten = provider ? ProviderGrants() : ResearchGrants();
  CitizenPolicy p;
  if (n == 1) {
    p.grants = {ten[provider ? 1 : 5]};
  } else {
    for (int i = 0; i < n; ++i) p.grants.push_back(ten[i % ten.size()]);
  }
  p.restrictions.categories = kImaging;
  p.restrictions.records = {"Observation/obs-9"};
  p.break_glass = {{Id("p_", 7), "emergency", kNow - 3600, kNow + 3600}};
  return p;
}

void BM_DecideResearch(benchmark::State& state) {
  const CitizenPolicy policy = Policy(static_cast<int>(state.range(0)), false);
  ResearcherProfile researcher;
  researcher.id = Id("r_", 1);
  researcher.org_type = OrgType::kAcademic;
  researcher.country = "SE";
  researcher.organization = "Karolinska Institutet";
  Study study;
  study.id = Id("s_", 1);
  study.researcher_id = researcher.id;
  study.purpose = {Purpose::kHMB, ""};
  study.categories = kLab | kVitals;
  study.data_period = {1420070400, std::nullopt};  // 2015-01-01
  study.ethics_approval = "EPN 2025-01234";
  study.obligations = {ConditionCode::kPUB};
  const ResearchRequest request{&researcher, &study};
  Decision d;
  DecideResearch(policy, request, kNow, &d);
  if (!d.permit) state.SkipWithError("the benchmark policy must permit");
  for (auto _ : state) {
    DecideResearch(policy, request, kNow, &d);
    benchmark::DoNotOptimize(d.permit);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["permitting"] = static_cast<double>(d.permitting.size());
}
BENCHMARK(BM_DecideResearch)->Arg(1)->Arg(10)->Arg(50);

void BM_DecideProvider(benchmark::State& state) {
  const CitizenPolicy policy = Policy(static_cast<int>(state.range(0)), true);
  ProviderRequest request;
  request.provider_id = Id("p_", 1);
  Decision d;
  DecideProvider(policy, request, kNow, &d);
  if (!d.permit) state.SkipWithError("the benchmark policy must permit");
  for (auto _ : state) {
    DecideProvider(policy, request, kNow, &d);
    benchmark::DoNotOptimize(d.permit);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecideProvider)->Arg(1)->Arg(10)->Arg(50);

// Releases over one decision, for a mix of records (released, out of
// scope, excluded, restricted).
void BM_Releases(benchmark::State& state) {
  const CitizenPolicy policy = Policy(static_cast<int>(state.range(0)), true);
  ProviderRequest request;
  request.provider_id = Id("p_", 1);
  Decision d;
  DecideProvider(policy, request, kNow, &d);
  const std::vector<std::string> codes = {"http://loinc.org|4548-4"};
  const std::vector<RecordFacts> records = {
      {"Observation", "obs-1", Category::kLabResults, kNow - 86400, false,
       codes},
      {"Observation", "obs-9", Category::kLabResults, kNow - 86400, false, {}},
      {"Condition", "c-1", Category::kPatientSummary, std::nullopt, true, {}},
      {"ImagingStudy", "i-1", Category::kImaging, kNow, false, {}},
  };
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Releases(policy, d, records[i], true));
    i = (i + 1) & 3;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Releases)->Arg(10);

}  // namespace

BENCHMARK_MAIN();
