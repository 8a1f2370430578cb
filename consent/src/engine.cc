// The consent engine: DecideResearch, DecideProvider and Releases.
//
// Hot path. A decision walks the citizen's grants once, in order, and for
// each one evaluates the clauses in the contract order (revoked, expired,
// grantee, purpose, conditions, categories), stopping at the first that
// fails. Everything per grant is an integer, bit-mask or short string
// comparison; facts about the request that several grants need (commercial
// use, accepted obligations) are computed once per decision. Nothing here
// allocates when the Decision already has capacity for one entry per grant.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

constexpr int64_t kBreakGlassMaxSeconds = 24 * 3600;

constexpr uint8_t PurposeBit(Purpose p) {
  return static_cast<uint8_t>(1u << static_cast<unsigned>(p));
}

constexpr uint16_t ConditionBit(ConditionCode c) {
  return static_cast<uint16_t>(1u << static_cast<unsigned>(c));
}

// DUOS v3: the grant purposes that serve a study purpose (DS also needs an
// equal disease, checked separately). Indexed by the study's Purpose.
constexpr uint8_t kServedBy[] = {
    /*GRU*/ PurposeBit(Purpose::kGRU),
    /*HMB*/ PurposeBit(Purpose::kGRU) | PurposeBit(Purpose::kHMB),
    /*DS */ PurposeBit(Purpose::kGRU) | PurposeBit(Purpose::kHMB),
    /*POA*/ PurposeBit(Purpose::kGRU) | PurposeBit(Purpose::kPOA),
    /*CC */ 0,  // clinical care is not research
};

// What the conditions of every grant are checked against, computed once.
struct ResearchFacts {
  const ResearcherProfile* researcher;
  const Study* study;
  int64_t now;
  bool commercial_org;   // the researcher's organisation is commercial
  bool commercial_use;   // the study is commercial use (forced by the org)
  uint16_t obligations;  // ConditionBit of every accepted obligation
  uint8_t served_by;     // kServedBy of the study's purpose
};

bool Contains(const std::vector<std::string>& list, std::string_view s) {
  return std::any_of(list.begin(), list.end(),
                     [s](const std::string& x) { return x == s; });
}

bool AnyPurposeServes(const std::vector<PurposeSpec>& purposes,
                      const ResearchFacts& f) {
  const PurposeSpec& wanted = f.study->purpose;
  for (const PurposeSpec& p : purposes) {
    if ((f.served_by & PurposeBit(p.purpose)) != 0) return true;
    if (p.purpose == Purpose::kDS && wanted.purpose == Purpose::kDS &&
        !p.disease.empty() && p.disease == wanted.disease) {
      return true;
    }
  }
  return false;
}

bool ResearchConditionHolds(const Condition& c, const ResearchFacts& f) {
  switch (c.code) {
    case ConditionCode::kNPU:
      return !f.commercial_org;
    case ConditionCode::kNCU:
      return !f.commercial_use;
    case ConditionCode::kNPUNCU:
      return !f.commercial_org && !f.commercial_use;
    case ConditionCode::kIRB:
      return !f.study->ethics_approval.empty();
    case ConditionCode::kGS:
      return Contains(c.countries, f.researcher->country);
    case ConditionCode::kTS:
      return c.until.has_value() && f.now < *c.until;
    case ConditionCode::kUS:
      return Contains(c.ids, f.researcher->id);
    case ConditionCode::kPS:
      return Contains(c.ids, f.study->id);
    case ConditionCode::kIS:
      return Contains(c.ids, f.researcher->organization);
    case ConditionCode::kGSO:
      return f.study->genetic;
    case ConditionCode::kNPOA:
      return f.study->purpose.purpose != Purpose::kPOA;
    case ConditionCode::kPUB:
    case ConditionCode::kCOL:
    case ConditionCode::kRTN:
    case ConditionCode::kMOR:
      return (f.obligations & ConditionBit(c.code)) != 0;
  }
  return false;  // an unknown code never holds
}

bool ResearchGranteeMatches(const Grantee& g, const ResearchFacts& f) {
  switch (g.kind) {
    case Grantee::Kind::kAnyResearcher:
      return true;
    case Grantee::Kind::kResearcher:
      return !g.id.empty() && g.id == f.researcher->id;
    case Grantee::Kind::kOrganization:
      return !g.name.empty() && g.name == f.researcher->organization;
    case Grantee::Kind::kStudy:
      return !g.id.empty() && g.id == f.study->id;
    case Grantee::Kind::kProvider:
    case Grantee::Kind::kAnyProvider:
      return false;
  }
  return false;
}

bool IsRevoked(const Grant& g) {
  return g.status != Grant::Status::kActive || g.revoked_at.has_value();
}

bool IsExpired(const Grant& g, int64_t now) {
  return g.expires.has_value() && now >= *g.expires;
}

Period Intersect(const Period& a, const Period& b) {
  Period p;
  p.start = a.start;
  if (b.start && (!p.start || *b.start > *p.start)) p.start = b.start;
  p.end = a.end;
  if (b.end && (!p.end || *b.end < *p.end)) p.end = b.end;
  return p;
}

void Prepare(const CitizenPolicy& policy, Decision* out) {
  out->Clear();
  const size_t n = policy.grants.size();
  out->reasons.reserve(n);
  out->permitting.reserve(n);
  out->scope.reserve(n + 1);  // + a break-glass part
}

void DenyAll(const CitizenPolicy& policy, Clause clause, Decision* out) {
  const auto n = static_cast<uint32_t>(policy.grants.size());
  for (uint32_t i = 0; i < n; ++i) out->reasons.push_back({i, clause, {}});
}

void Permit(uint32_t i, const Grant& g, CategorySet categories,
            const Period& requested, Decision* out) {
  out->permitting.push_back(i);
  out->scope.push_back({i, static_cast<CategorySet>(g.categories & categories),
                        Intersect(g.data_period, requested),
                        g.include_sensitive});
}

bool IsActiveBreakGlass(const BreakGlass& b, std::string_view provider_id,
                        int64_t now) {
  // Active while started <= now < expires, and never past 24 hours
  // (unsigned: now - started cannot overflow once started <= now).
  return !provider_id.empty() && b.provider_id == provider_id &&
         b.started <= now && now < b.expires &&
         static_cast<uint64_t>(now) - static_cast<uint64_t>(b.started) <
             static_cast<uint64_t>(kBreakGlassMaxSeconds);
}

// "Type/id" compared without building the string.
bool IsRecordRef(std::string_view ref, const RecordFacts& r) {
  return ref.size() == r.type.size() + 1 + r.id.size() &&
         ref.substr(0, r.type.size()) == r.type && ref[r.type.size()] == '/' &&
         ref.substr(r.type.size() + 1) == r.id;
}

// Every part the exclude sets must match.
bool ExcludeMatches(const Exclude& x, const RecordFacts& r) {
  if (x.category && *x.category != r.category) return false;
  if (!x.code.empty() &&
      std::none_of(r.codes.begin(), r.codes.end(),
                   [&x](const std::string& c) { return c == x.code; })) {
    return false;
  }
  return x.record.empty() || IsRecordRef(x.record, r);
}

bool InPeriod(const Period& p, const std::optional<int64_t>& t) {
  if (!t) return true;  // undated records pass period tests
  if (p.start && *t < *p.start) return false;
  if (p.end && *t >= *p.end) return false;
  return true;
}

}  // namespace

void DecideResearch(const CitizenPolicy& policy, const ResearchRequest& request,
                    int64_t now, Decision* out) {
  Prepare(policy, out);
  if (policy.research_opt_out) {
    DenyAll(policy, Clause::kOptOut, out);
    return;
  }
  if (request.researcher == nullptr || request.study == nullptr) {
    DenyAll(policy, Clause::kGrantee, out);  // nobody to match
    return;
  }
  const Study& study = *request.study;
  ResearchFacts f;
  f.researcher = request.researcher;
  f.study = &study;
  f.now = now;
  f.commercial_org = request.researcher->org_type == OrgType::kCommercial;
  f.commercial_use = study.commercial_use || f.commercial_org;
  f.obligations = 0;
  for (ConditionCode c : study.obligations) {
    if (IsObligation(c)) f.obligations |= ConditionBit(c);
  }
  const auto purpose_index = static_cast<size_t>(study.purpose.purpose);
  f.served_by = purpose_index < sizeof kServedBy ? kServedBy[purpose_index] : 0;

  const auto n = static_cast<uint32_t>(policy.grants.size());
  for (uint32_t i = 0; i < n; ++i) {
    const Grant& g = policy.grants[i];
    Reason reason{i, Clause::kRevoked, {}};
    if (IsRevoked(g)) {
      reason.clause = Clause::kRevoked;
    } else if (IsExpired(g, now)) {
      reason.clause = Clause::kExpired;
    } else if (!ResearchGranteeMatches(g.grantee, f)) {
      reason.clause = Clause::kGrantee;
    } else if (!AnyPurposeServes(g.purposes, f)) {
      reason.clause = Clause::kPurpose;
    } else {
      const auto failed = std::find_if(
          g.conditions.begin(), g.conditions.end(),
          [&f](const Condition& c) { return !ResearchConditionHolds(c, f); });
      if (failed != g.conditions.end()) {
        reason.clause = Clause::kCondition;
        reason.condition = failed->code;
      } else if ((g.categories & study.categories) == 0) {
        reason.clause = Clause::kCategories;
      } else {
        Permit(i, g, study.categories, study.data_period, out);
        continue;
      }
    }
    out->reasons.push_back(reason);
  }
  out->permit = !out->permitting.empty();
}

void DecideProvider(const CitizenPolicy& policy, const ProviderRequest& request,
                    int64_t now, Decision* out) {
  Prepare(policy, out);
  const std::string_view provider = request.provider_id;
  const auto n = static_cast<uint32_t>(policy.grants.size());
  if (policy.primary_use_opt_out) DenyAll(policy, Clause::kOptOut, out);
  for (uint32_t i = 0; i < n && !policy.primary_use_opt_out; ++i) {
    const Grant& g = policy.grants[i];
    Reason reason{i, Clause::kRevoked, {}};
    if (IsRevoked(g)) {
      reason.clause = Clause::kRevoked;
    } else if (IsExpired(g, now)) {
      reason.clause = Clause::kExpired;
    } else if (provider.empty() ||
               !(g.grantee.kind == Grantee::Kind::kAnyProvider ||
                 (g.grantee.kind == Grantee::Kind::kProvider &&
                  g.grantee.id == provider))) {
      reason.clause = Clause::kGrantee;
    } else {
      const bool clinical_care = std::any_of(
          g.purposes.begin(), g.purposes.end(),
          [](const PurposeSpec& p) { return p.purpose == Purpose::kCC; });
      // Only TS is valid on a provider grant; any other condition cannot be
      // checked without a researcher and study, so it fails closed.
      const auto failed = std::find_if(
          g.conditions.begin(), g.conditions.end(), [now](const Condition& c) {
            return c.code != ConditionCode::kTS || !c.until || now >= *c.until;
          });
      if (!clinical_care) {
        reason.clause = Clause::kPurpose;
      } else if (failed != g.conditions.end()) {
        reason.clause = Clause::kCondition;
        reason.condition = failed->code;
      } else if ((g.categories & request.categories) == 0) {
        reason.clause = Clause::kCategories;
      } else {
        Permit(i, g, request.categories, request.data_period, out);
        continue;
      }
    }
    out->reasons.push_back(reason);
  }
  out->permit = !out->permitting.empty();

  const bool break_glass =
      std::any_of(policy.break_glass.begin(), policy.break_glass.end(),
                  [&](const BreakGlass& b) {
                    return IsActiveBreakGlass(b, provider, now);
                  });
  if (break_glass && BreakGlassReaches(policy, request)) {
    out->permit = true;
    out->break_glass = true;
    out->scope.push_back(
        {UINT32_MAX,
         static_cast<CategorySet>(request.categories & kAllCategories),
         request.data_period, false});
  }
}

bool BreakGlassReaches(const CitizenPolicy& policy,
                       const ProviderRequest& request) {
  return !policy.primary_use_opt_out || request.break_glass_despite_opt_out;
}

bool Releases(const CitizenPolicy& policy, const Decision& decision,
              const RecordFacts& record, bool primary_use) {
  if (!decision.permit) return false;
  if (static_cast<unsigned>(record.category) >=
      static_cast<unsigned>(fhir::kCategoryCount)) {
    return false;
  }
  const CategorySet bit = CategoryBit(record.category);

  const bool admitted = std::any_of(
      decision.scope.begin(), decision.scope.end(), [&](const ScopePart& part) {
        return (part.categories & bit) != 0 &&
               (!record.sensitive || part.include_sensitive) &&
               InPeriod(part.period, record.effective);
      });
  if (!admitted) return false;

  // An exclude of any permitting grant beats every permit.
  for (uint32_t index : decision.permitting) {
    if (index >= policy.grants.size()) return false;  // another policy's
    for (const Exclude& x : policy.grants[index].excludes) {
      if (ExcludeMatches(x, record)) return false;
    }
  }

  if (primary_use && !decision.break_glass) {
    if ((policy.restrictions.categories & bit) != 0) return false;
    const std::vector<std::string>& hidden = policy.restrictions.records;
    if (std::any_of(hidden.begin(), hidden.end(), [&](const std::string& ref) {
          return IsRecordRef(ref, record);
        })) {
      return false;
    }
  }
  return true;
}

}  // namespace tillit::consent
