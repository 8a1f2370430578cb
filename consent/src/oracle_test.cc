// The engine against an independent reference implementation ("oracle") on
// generated cases.
//
// The oracle below shares no code with engine.cc or policy.cc: it names
// purposes and conditions with its own strings, matches purposes with its
// own table of (grant, study) pairs, and is written to be read, not to be
// fast. Both are driven by the same seeded cases: policies with every
// grantee kind, purpose and condition, revoked and expiring grants, opt-out,
// break-glass, restrictions and excludes; requests from researchers and
// providers; `now` at the boundaries that matter; and a few records each.
// Every disagreement on permit, break-glass, the permitting grants, the
// scope, any reason or any Releases answer is a failure.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "policy_test_util.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

// ===================== the reference implementation =====================

std::string Name(Purpose p) {
  switch (p) {
    case Purpose::kGRU:
      return "GRU";
    case Purpose::kHMB:
      return "HMB";
    case Purpose::kDS:
      return "DS";
    case Purpose::kPOA:
      return "POA";
    case Purpose::kCC:
      return "CC";
  }
  return "?";
}

std::string Name(ConditionCode c) {
  switch (c) {
    case ConditionCode::kNPU:
      return "NPU";
    case ConditionCode::kNCU:
      return "NCU";
    case ConditionCode::kNPUNCU:
      return "NPUNCU";
    case ConditionCode::kIRB:
      return "IRB";
    case ConditionCode::kGS:
      return "GS";
    case ConditionCode::kTS:
      return "TS";
    case ConditionCode::kUS:
      return "US";
    case ConditionCode::kPS:
      return "PS";
    case ConditionCode::kIS:
      return "IS";
    case ConditionCode::kGSO:
      return "GSO";
    case ConditionCode::kNPOA:
      return "NPOA";
    case ConditionCode::kPUB:
      return "PUB";
    case ConditionCode::kCOL:
      return "COL";
    case ConditionCode::kRTN:
      return "RTN";
    case ConditionCode::kMOR:
      return "MOR";
  }
  return "?";
}

std::string Name(Clause c) {
  switch (c) {
    case Clause::kOptOut:
      return "opt-out";
    case Clause::kRevoked:
      return "revoked";
    case Clause::kExpired:
      return "expired";
    case Clause::kGrantee:
      return "grantee";
    case Clause::kPurpose:
      return "purpose";
    case Clause::kCondition:
      return "condition";
    case Clause::kCategories:
      return "categories";
  }
  return "?";
}

std::string Name(Grantee::Kind k) {
  switch (k) {
    case Grantee::Kind::kAnyResearcher:
      return "any-researcher";
    case Grantee::Kind::kResearcher:
      return "researcher";
    case Grantee::Kind::kOrganization:
      return "organization";
    case Grantee::Kind::kStudy:
      return "study";
    case Grantee::Kind::kProvider:
      return "provider";
    case Grantee::Kind::kAnyProvider:
      return "any-provider";
  }
  return "?";
}

// DUOS v3: which grant purpose serves which study purpose. DS-DS needs
// the same disease and is handled apart.
const std::set<std::pair<std::string, std::string>> kServes = {
    {"GRU", "GRU"}, {"GRU", "HMB"}, {"HMB", "HMB"}, {"GRU", "DS"},
    {"HMB", "DS"},  {"GRU", "POA"}, {"POA", "POA"},
};

bool Serves(const PurposeSpec& granted, const PurposeSpec& wanted) {
  const std::string g = Name(granted.purpose);
  const std::string w = Name(wanted.purpose);
  if (g == "DS" && w == "DS") {
    return granted.disease != "" && granted.disease == wanted.disease;
  }
  return kServes.count({g, w}) == 1;
}

bool Has(const std::vector<std::string>& list, const std::string& x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

bool ConditionOkForResearch(const Condition& c, const ResearcherProfile& r,
                            const Study& s, int64_t now) {
  const std::string code = Name(c.code);
  const bool commercial_org = r.org_type == OrgType::kCommercial;
  const bool commercial_use = s.commercial_use || commercial_org;
  if (code == "NPU") return !commercial_org;
  if (code == "NCU") return !commercial_use;
  if (code == "NPUNCU") return !commercial_org && !commercial_use;
  if (code == "IRB") return s.ethics_approval != "";
  if (code == "GS") return Has(c.countries, r.country);
  if (code == "TS") return c.until && now < *c.until;
  if (code == "US") return Has(c.ids, r.id);
  if (code == "PS") return Has(c.ids, s.id);
  if (code == "IS") return Has(c.ids, r.organization);
  if (code == "GSO") return s.genetic;
  if (code == "NPOA") return Name(s.purpose.purpose) != "POA";
  if (code == "PUB" || code == "COL" || code == "RTN" || code == "MOR") {
    for (ConditionCode accepted : s.obligations) {
      if (Name(accepted) == code) return true;
    }
    return false;
  }
  return false;
}

struct Why {
  Clause clause;
  std::optional<ConditionCode> condition;
};

struct OracleDecision {
  bool permit = false;
  bool break_glass = false;
  std::vector<uint32_t> permitting;
  std::vector<std::pair<uint32_t, Why>> reasons;
  std::vector<ScopePart> scope;
};

std::optional<int64_t> Later(std::optional<int64_t> a,
                             std::optional<int64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}

std::optional<int64_t> Earlier(std::optional<int64_t> a,
                               std::optional<int64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

ScopePart PartFor(uint32_t index, const Grant& g, CategorySet asked,
                  const Period& asked_period) {
  ScopePart part;
  part.grant = index;
  part.categories = g.categories & asked;
  part.period.start = Later(g.data_period.start, asked_period.start);
  part.period.end = Earlier(g.data_period.end, asked_period.end);
  part.include_sensitive = g.include_sensitive;
  return part;
}

std::optional<Why> WhyNotResearch(const Grant& g, const ResearcherProfile* r,
                                  const Study* s, int64_t now) {
  if (g.status == Grant::Status::kRevoked || g.revoked_at) {
    return Why{Clause::kRevoked, {}};
  }
  if (g.expires && !(now < *g.expires)) return Why{Clause::kExpired, {}};
  const std::string kind = Name(g.grantee.kind);
  bool grantee_ok = false;
  if (r == nullptr || s == nullptr) {
    grantee_ok = false;
  } else if (kind == "any-researcher") {
    grantee_ok = true;
  } else if (kind == "researcher") {
    grantee_ok = g.grantee.id != "" && g.grantee.id == r->id;
  } else if (kind == "organization") {
    grantee_ok = g.grantee.name != "" && g.grantee.name == r->organization;
  } else if (kind == "study") {
    grantee_ok = g.grantee.id != "" && g.grantee.id == s->id;
  }
  if (!grantee_ok) return Why{Clause::kGrantee, {}};
  bool purpose_ok = false;
  for (const PurposeSpec& p : g.purposes) {
    if (Serves(p, s->purpose)) purpose_ok = true;
  }
  if (!purpose_ok) return Why{Clause::kPurpose, {}};
  for (const Condition& c : g.conditions) {
    if (!ConditionOkForResearch(c, *r, *s, now)) {
      return Why{Clause::kCondition, c.code};
    }
  }
  if ((g.categories & s->categories) == 0) return Why{Clause::kCategories, {}};
  return std::nullopt;
}

OracleDecision OracleResearch(const CitizenPolicy& policy,
                              const ResearcherProfile* r, const Study* s,
                              int64_t now) {
  OracleDecision d;
  for (uint32_t i = 0; i < policy.grants.size(); ++i) {
    if (policy.research_opt_out) {
      d.reasons.push_back({i, {Clause::kOptOut, {}}});
      continue;
    }
    const std::optional<Why> why = WhyNotResearch(policy.grants[i], r, s, now);
    if (why) {
      d.reasons.push_back({i, *why});
    } else {
      d.permitting.push_back(i);
      d.scope.push_back(
          PartFor(i, policy.grants[i], s->categories, s->data_period));
    }
  }
  d.permit = !d.permitting.empty();
  return d;
}

std::optional<Why> WhyNotProvider(const Grant& g, const std::string& provider,
                                  int64_t now, CategorySet asked) {
  if (g.status == Grant::Status::kRevoked || g.revoked_at) {
    return Why{Clause::kRevoked, {}};
  }
  if (g.expires && !(now < *g.expires)) return Why{Clause::kExpired, {}};
  const std::string kind = Name(g.grantee.kind);
  const bool grantee_ok =
      provider != "" && (kind == "any-provider" ||
                         (kind == "provider" && g.grantee.id == provider));
  if (!grantee_ok) return Why{Clause::kGrantee, {}};
  bool care = false;
  for (const PurposeSpec& p : g.purposes)
    care = care || Name(p.purpose) == "CC";
  if (!care) return Why{Clause::kPurpose, {}};
  for (const Condition& c : g.conditions) {
    const bool ok = Name(c.code) == "TS" && c.until && now < *c.until;
    if (!ok) return Why{Clause::kCondition, c.code};
  }
  if ((g.categories & asked) == 0) return Why{Clause::kCategories, {}};
  return std::nullopt;
}

OracleDecision OracleProvider(const CitizenPolicy& policy,
                              const ProviderRequest& req, int64_t now) {
  OracleDecision d;
  for (uint32_t i = 0; i < policy.grants.size(); ++i) {
    if (policy.primary_use_opt_out) {
      d.reasons.push_back({i, {Clause::kOptOut, {}}});
      continue;
    }
    const std::optional<Why> why =
        WhyNotProvider(policy.grants[i], req.provider_id, now, req.categories);
    if (why) {
      d.reasons.push_back({i, *why});
    } else {
      d.permitting.push_back(i);
      d.scope.push_back(
          PartFor(i, policy.grants[i], req.categories, req.data_period));
    }
  }
  d.permit = !d.permitting.empty();
  for (const BreakGlass& b : policy.break_glass) {
    const bool active = req.provider_id != "" &&
                        b.provider_id == req.provider_id && b.started <= now &&
                        now < b.expires && now < b.started + 24 * 3600;
    const bool reaches =
        !policy.primary_use_opt_out || req.break_glass_despite_opt_out;
    if (active && reaches && !d.break_glass) {
      d.break_glass = true;
      d.permit = true;
      ScopePart part;
      part.grant = UINT32_MAX;
      part.categories = req.categories;
      part.period = req.data_period;
      part.include_sensitive = false;
      d.scope.push_back(part);
    }
  }
  return d;
}

// Also says which rule decided, for the branch count.
bool OracleReleases(const CitizenPolicy& policy, const OracleDecision& d,
                    const RecordFacts& rec, bool primary_use,
                    std::string* branch) {
  if (!d.permit) {
    *branch = "release no: deny";
    return false;
  }
  const CategorySet bit =
      static_cast<CategorySet>(1u << static_cast<unsigned>(rec.category));
  bool admitted = false;
  for (const ScopePart& part : d.scope) {
    const bool category_ok = (part.categories & bit) != 0;
    const bool sensitivity_ok = !rec.sensitive || part.include_sensitive;
    bool period_ok = true;
    if (rec.effective) {
      if (part.period.start && *rec.effective < *part.period.start) {
        period_ok = false;
      }
      if (part.period.end && *rec.effective >= *part.period.end) {
        period_ok = false;
      }
    }
    if (category_ok && sensitivity_ok && period_ok) admitted = true;
  }
  if (!admitted) {
    *branch = "release no: not in scope";
    return false;
  }
  const std::string ref = std::string(rec.type) + "/" + std::string(rec.id);
  for (uint32_t i : d.permitting) {
    for (const Exclude& x : policy.grants[i].excludes) {
      bool all = true;
      if (x.category && *x.category != rec.category) all = false;
      if (x.code != "") {
        bool found = false;
        for (const std::string& c : rec.codes) found = found || c == x.code;
        if (!found) all = false;
      }
      if (x.record != "" && x.record != ref) all = false;
      if (all) {
        *branch = "release no: excluded";
        return false;
      }
    }
  }
  if (primary_use && !d.break_glass) {
    if ((policy.restrictions.categories & bit) != 0 ||
        Has(policy.restrictions.records, ref)) {
      *branch = "release no: restricted";
      return false;
    }
  }
  *branch = d.break_glass ? "release yes: break-glass" : "release yes";
  return true;
}

// ========================== case generation ==========================

using testing::GrantGenerator;
using testing::TestId;

struct GeneratedCase {
  CitizenPolicy policy;
  bool research = true;
  ResearcherProfile researcher;
  Study study;
  ProviderRequest provider;
  int64_t now = 0;
};

Period AnyPeriod(GrantGenerator& gen) {
  Period p;
  if (gen.Chance(40)) return p;
  const int64_t a = gen.Chance(50) ? gen.AnyDay() : gen.AnyTime();
  if (gen.Chance(70)) p.start = a;
  if (gen.Chance(70))
    p.end = a + 1 + static_cast<int64_t>(gen.Below(400000000));
  return p;
}

// A grant the validator would refuse (as if stored data were corrupt):
// the engine must still fail closed, exactly as the oracle says.
void Corrupt(GrantGenerator& gen, Grant* g) {
  switch (gen.Below(4)) {
    case 0:
      if (gen.Chance(50)) g->purposes.clear();
      g->purposes.push_back({static_cast<Purpose>(gen.Below(5)), ""});
      break;
    case 1: {
      Condition c;
      c.code = static_cast<ConditionCode>(gen.Below(15));
      if (gen.Chance(50)) c.until = gen.AnyTime();
      g->conditions.push_back(c);
      break;
    }
    case 2:
      g->revoked_at = gen.AnyTime();  // active, but carries a revocation
      break;
    default:
      g->grantee.id.clear();
      g->grantee.name.clear();
      break;
  }
}

GeneratedCase MakeCase(GrantGenerator& gen) {
  GeneratedCase c;
  const testing::TestPools& pools = gen.pools();
  const int64_t base =
      1767225600 + static_cast<int64_t>(gen.Below(400)) * 86400;
  const size_t grants = gen.Below(13);
  for (size_t i = 0; i < grants; ++i) {
    c.policy.grants.push_back(gen.Make(base));
    if (gen.Chance(4)) Corrupt(gen, &c.policy.grants.back());
  }
  c.policy.research_opt_out = gen.Chance(6);
  c.policy.primary_use_opt_out = gen.Chance(6);
  if (gen.Chance(40)) {
    c.policy.restrictions.categories = static_cast<CategorySet>(
        gen.Below(kAllCategories + 1) & gen.Below(kAllCategories + 1));
    for (const std::string& r : pools.records) {
      if (gen.Chance(30)) c.policy.restrictions.records.push_back(r);
    }
  }
  const size_t glasses = gen.Chance(35) ? 1 + gen.Below(2) : 0;
  for (size_t i = 0; i < glasses; ++i) {
    BreakGlass b;
    b.provider_id = gen.Pick(pools.providers);
    b.reason = "emergency";
    b.started = base - static_cast<int64_t>(gen.Below(2 * 86400));
    b.expires = b.started + static_cast<int64_t>(gen.Below(30 * 3600));
    c.policy.break_glass.push_back(b);
  }

  c.research = gen.Chance(55);
  c.researcher.id =
      gen.Chance(90) ? gen.Pick(pools.researchers) : TestId("r_", 99);
  c.researcher.org_type = static_cast<OrgType>(gen.Below(4));
  c.researcher.country = gen.Chance(90) ? gen.Pick(pools.countries) : "US";
  c.researcher.organization =
      gen.Chance(90) ? gen.Pick(pools.organizations) : "Elsewhere Inc";
  c.study.id = gen.Chance(90) ? gen.Pick(pools.studies) : TestId("s_", 99);
  c.study.researcher_id = c.researcher.id;
  c.study.purpose.purpose =
      static_cast<Purpose>(gen.Chance(3) ? 4 : gen.Below(4));
  if (c.study.purpose.purpose == Purpose::kDS) {
    c.study.purpose.disease = gen.Pick(pools.diseases);
  }
  c.study.categories = gen.Chance(4) ? 0 : gen.AnyCategories();
  c.study.data_period = AnyPeriod(gen);
  c.study.ethics_approval = gen.Chance(75) ? "EPN 2025-01234" : "";
  for (ConditionCode o : {ConditionCode::kPUB, ConditionCode::kCOL,
                          ConditionCode::kRTN, ConditionCode::kMOR}) {
    if (gen.Chance(60)) c.study.obligations.push_back(o);
  }
  c.study.commercial_use = gen.Chance(20);
  c.study.genetic = gen.Chance(40);

  c.provider.provider_id = gen.Chance(3) ? "" : gen.Pick(pools.providers);
  c.provider.categories = gen.Chance(30) ? kAllCategories : gen.AnyCategories();
  c.provider.data_period = AnyPeriod(gen);
  c.provider.break_glass_despite_opt_out = gen.Chance(50);

  // `now` at a boundary some clause cares about, or anywhere near base.
  std::vector<int64_t> moments = {base, base + 86400, base - 86400};
  for (const Grant& g : c.policy.grants) {
    if (g.expires) {
      moments.push_back(*g.expires - 1);
      moments.push_back(*g.expires);
    }
    for (const Condition& cond : g.conditions) {
      if (cond.until) {
        moments.push_back(*cond.until - 1);
        moments.push_back(*cond.until);
      }
    }
  }
  for (const BreakGlass& b : c.policy.break_glass) {
    for (int64_t t : {b.started - 1, b.started, b.expires - 1, b.expires,
                      b.started + 86400 - 1, b.started + 86400}) {
      moments.push_back(t);
    }
  }
  c.now = gen.Chance(20)
              ? base + static_cast<int64_t>(gen.Below(6 * 86400)) - 3 * 86400
              : gen.Pick(moments);
  return c;
}

struct GeneratedRecord {
  std::string type;
  std::string id;
  Category category = Category::kOther;
  std::optional<int64_t> effective;
  bool sensitive = false;
  std::vector<std::string> codes;
  RecordFacts facts() const {
    return {type, id, category, effective, sensitive, codes};
  }
};

GeneratedRecord MakeRecord(GrantGenerator& gen, const Decision& d) {
  GeneratedRecord r;
  const std::string ref =
      gen.Chance(70) ? gen.Pick(gen.pools().records)
                     : "Observation/other-" + std::to_string(gen.Below(5));
  r.type = ref.substr(0, ref.find('/'));
  r.id = ref.substr(ref.find('/') + 1);
  r.category = static_cast<Category>(gen.Below(10));
  if (!d.scope.empty() && gen.Chance(60)) {
    // Aim at a scope part: one of its categories, near its period edges.
    const ScopePart& part = d.scope[gen.Below(d.scope.size())];
    std::vector<Category> in;
    for (int i = 0; i < 10; ++i) {
      if ((part.categories >> i) & 1) in.push_back(static_cast<Category>(i));
    }
    if (!in.empty()) r.category = gen.Pick(in);
    std::vector<int64_t> edges;
    if (part.period.start) {
      edges.push_back(*part.period.start - 1);
      edges.push_back(*part.period.start);
    }
    if (part.period.end) {
      edges.push_back(*part.period.end - 1);
      edges.push_back(*part.period.end);
    }
    if (!edges.empty() && gen.Chance(60)) r.effective = gen.Pick(edges);
  }
  if (!r.effective && gen.Chance(70)) r.effective = gen.AnyTime();
  r.sensitive = gen.Chance(25);
  for (const std::string& code : gen.pools().codes) {
    if (gen.Chance(25)) r.codes.push_back(code);
  }
  return r;
}

// ============================ comparison ============================

std::string Describe(const Why& w) {
  return w.clause == Clause::kCondition
             ? Name(w.clause) + ":" + Name(*w.condition)
             : Name(w.clause);
}

bool SamePeriod(const Period& a, const Period& b) {
  return a.start == b.start && a.end == b.end;
}

// Empty when the engine's decision equals the oracle's.
std::string Compare(const Decision& e, const OracleDecision& o) {
  std::ostringstream out;
  if (e.permit != o.permit)
    out << "permit " << e.permit << " vs " << o.permit << "; ";
  if (e.break_glass != o.break_glass) out << "break_glass; ";
  if (e.permitting != o.permitting) out << "permitting; ";
  if (e.reasons.size() != o.reasons.size()) {
    out << "reasons.size " << e.reasons.size() << " vs " << o.reasons.size()
        << "; ";
  } else {
    for (size_t i = 0; i < e.reasons.size(); ++i) {
      const Reason& r = e.reasons[i];
      const auto& [grant, why] = o.reasons[i];
      const bool same =
          r.grant == grant && r.clause == why.clause &&
          (r.clause != Clause::kCondition || r.condition == *why.condition);
      if (!same) {
        out << "reason " << i << ": grant " << r.grant << " "
            << Describe({r.clause, r.condition}) << " vs grant " << grant << " "
            << Describe(why) << "; ";
      }
    }
  }
  if (e.scope.size() != o.scope.size()) {
    out << "scope.size; ";
  } else {
    for (size_t i = 0; i < e.scope.size(); ++i) {
      const ScopePart& a = e.scope[i];
      const ScopePart& b = o.scope[i];
      if (a.grant != b.grant || a.categories != b.categories ||
          !SamePeriod(a.period, b.period) ||
          a.include_sensitive != b.include_sensitive) {
        out << "scope " << i << "; ";
      }
    }
  }
  return out.str();
}

TEST(ConsentOracleTest, EngineAgreesWithTheOracle) {
  constexpr int kCases = 120000;
  constexpr int kRecordsPerCase = 4;
  GrantGenerator gen(0x7111171);
  std::map<std::string, long> branches;
  long disagreements = 0;
  long releases_compared = 0;
  Decision decision;  // reused, as a service would
  for (int n = 0; n < kCases; ++n) {
    const GeneratedCase c = MakeCase(gen);
    OracleDecision want;
    const char* kind = c.research ? "research" : "provider";
    if (c.research) {
      DecideResearch(c.policy, {&c.researcher, &c.study}, c.now, &decision);
      want = OracleResearch(c.policy, &c.researcher, &c.study, c.now);
    } else {
      DecideProvider(c.policy, c.provider, c.now, &decision);
      want = OracleProvider(c.policy, c.provider, c.now);
    }
    std::string diff = Compare(decision, want);

    branches[std::string(kind) + (want.permit ? " permit" : " deny")]++;
    if (want.break_glass) branches[std::string(kind) + " break-glass"]++;
    if (want.permitting.size() > 1) {
      branches[std::string(kind) + " several grants permit"]++;
    }
    for (const auto& [grant, why] : want.reasons) {
      branches[std::string(kind) + " reason " + Describe(why)]++;
    }

    for (int k = 0; k < kRecordsPerCase; ++k) {
      const GeneratedRecord rec = MakeRecord(gen, decision);
      const bool primary = c.research ? gen.Chance(10) : gen.Chance(85);
      std::string branch;
      const bool expected =
          OracleReleases(c.policy, want, rec.facts(), primary, &branch);
      const bool got = Releases(c.policy, decision, rec.facts(), primary);
      ++releases_compared;
      branches[branch]++;
      if (got != expected) {
        diff += "releases(" + rec.type + "/" + rec.id + ") " +
                (got ? "true" : "false") + " vs " + branch + "; ";
      }
    }
    if (!diff.empty()) {
      if (++disagreements <= 5) {
        ADD_FAILURE() << "case " << n << " (" << kind << ", "
                      << c.policy.grants.size() << " grants): " << diff;
      }
    }
  }

  std::printf(
      "oracle: %d cases, %ld decisions and %ld releases compared, "
      "%ld disagreements, branches covered: %zu\n",
      kCases, static_cast<long>(kCases), releases_compared, disagreements,
      branches.size());
  for (const auto& [name, count] : branches) {
    std::printf("  %-40s %ld\n", name.c_str(), count);
  }
  EXPECT_EQ(disagreements, 0);

  // Every clause and every condition code decided some research case, and
  // the provider-side branches were all taken.
  for (Clause cl : {Clause::kOptOut, Clause::kRevoked, Clause::kExpired,
                    Clause::kGrantee, Clause::kPurpose, Clause::kCategories}) {
    EXPECT_GT(branches["research reason " + Name(cl)], 0) << Name(cl);
  }
  for (int i = 0; i < 15; ++i) {
    const auto code = static_cast<ConditionCode>(i);
    EXPECT_GT(branches["research reason condition:" + Name(code)], 0)
        << Name(code);
  }
  for (const char* b :
       {"provider reason revoked", "provider reason expired",
        "provider reason grantee", "provider reason purpose",
        "provider reason condition:TS", "provider reason categories",
        "provider break-glass", "provider permit", "provider deny",
        "research permit", "research deny", "research several grants permit",
        "release yes", "release yes: break-glass", "release no: deny",
        "release no: not in scope", "release no: excluded",
        "release no: restricted"}) {
    EXPECT_GT(branches[b], 0) << b;
  }
}

}  // namespace
}  // namespace tillit::consent
