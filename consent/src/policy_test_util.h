// Test helpers for the consent engine tests: ids, times, grant equality and
// a seeded generator of valid grants. Test-only; nothing here is used by
// the library, and nothing here decides (the oracle has its own logic).
#ifndef TILLIT_CONSENT_SRC_POLICY_TEST_UTIL_H_
#define TILLIT_CONSENT_SRC_POLICY_TEST_UTIL_H_

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/consent/epsilon.h"
#include "tillit/consent/policy.h"
#include "tillit/fhir/fhir.h"

namespace tillit::consent::testing {

// "<prefix>" + 32 lowercase hex digits derived from n.
inline std::string TestId(std::string_view prefix, uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx",
                static_cast<unsigned long long>(n * 0x9e3779b97f4a7c15ull),
                static_cast<unsigned long long>(n));
  return std::string(prefix) + buf;
}

// Epoch seconds of a FHIR date or instant; aborts the test binary on a typo.
inline int64_t At(std::string_view text) {
  StatusOr<int64_t> t = fhir::ParseFhirDateTime(text);
  if (!t.ok()) {
    std::fprintf(stderr, "bad time in test: %.*s\n",
                 static_cast<int>(text.size()), text.data());
    std::abort();
  }
  return *t;
}

template <typename T>
std::string Show(const std::optional<T>& v) {
  if (!v) return "none";
  std::ostringstream s;
  s << *v;
  return s.str();
}

// Empty when equal in every field, else the first difference.
inline std::string GrantDiff(const Grant& a, const Grant& b) {
  if (a.id != b.id) return "id";
  if (a.grantee.kind != b.grantee.kind) return "grantee.kind";
  if (a.grantee.id != b.grantee.id) return "grantee.id";
  if (a.grantee.name != b.grantee.name) return "grantee.name";
  if (a.purposes.size() != b.purposes.size()) return "purposes.size";
  for (size_t i = 0; i < a.purposes.size(); ++i) {
    if (a.purposes[i].purpose != b.purposes[i].purpose ||
        a.purposes[i].disease != b.purposes[i].disease) {
      return "purposes[" + std::to_string(i) + "]";
    }
  }
  if (a.conditions.size() != b.conditions.size()) return "conditions.size";
  for (size_t i = 0; i < a.conditions.size(); ++i) {
    const Condition& x = a.conditions[i];
    const Condition& y = b.conditions[i];
    const std::string p = "conditions[" + std::to_string(i) + "]";
    if (x.code != y.code) return p + ".code";
    if (x.countries != y.countries) return p + ".countries";
    if (x.until != y.until) {
      return p + ".until " + Show(x.until) + " vs " + Show(y.until);
    }
    if (x.ids != y.ids) return p + ".ids";
  }
  if (a.categories != b.categories) return "categories";
  if (a.data_period.start != b.data_period.start) {
    return "data_period.start " + Show(a.data_period.start) + " vs " +
           Show(b.data_period.start);
  }
  if (a.data_period.end != b.data_period.end) {
    return "data_period.end " + Show(a.data_period.end) + " vs " +
           Show(b.data_period.end);
  }
  if (a.expires != b.expires) {
    return "expires " + Show(a.expires) + " vs " + Show(b.expires);
  }
  if (a.include_sensitive != b.include_sensitive) return "include_sensitive";
  if (a.privacy_budget != b.privacy_budget) {
    return "privacy_budget " + Show(a.privacy_budget) + " vs " +
           Show(b.privacy_budget);
  }
  if (a.excludes.size() != b.excludes.size()) return "excludes.size";
  for (size_t i = 0; i < a.excludes.size(); ++i) {
    const Exclude& x = a.excludes[i];
    const Exclude& y = b.excludes[i];
    if (x.category != y.category || x.code != y.code || x.record != y.record) {
      return "excludes[" + std::to_string(i) + "]";
    }
  }
  if (a.status != b.status) return "status";
  if (a.created_at != b.created_at) return "created_at";
  if (a.revoked_at != b.revoked_at) return "revoked_at";
  return "";
}

// Small pools, so that generated grants and requests meet often.
struct TestPools {
  std::vector<std::string> researchers{TestId("r_", 1), TestId("r_", 2),
                                       TestId("r_", 3)};
  std::vector<std::string> studies{TestId("s_", 1), TestId("s_", 2),
                                   TestId("s_", 3)};
  std::vector<std::string> providers{TestId("p_", 1), TestId("p_", 2),
                                     TestId("p_", 3)};
  std::vector<std::string> organizations{
      "Karolinska Institutet", "Acme Pharma AB", "Universitetet i Oslo"};
  std::vector<std::string> diseases{"MONDO:0005148", "MONDO:0004975",
                                    "MONDO:0007254"};
  std::vector<std::string> countries{"SE", "NO", "FI", "DK", "DE"};
  std::vector<std::string> codes{
      "http://snomed.info/sct|35489007", "http://snomed.info/sct|44054006",
      "http://loinc.org|4548-4", "http://snomed.info/sct|73211009"};
  std::vector<std::string> records{"Observation/obs-1", "Observation/obs-2",
                                   "Condition/cond-1", "Encounter/enc-1"};
};

// A seeded generator of grants that pass every validation rule of the
// JSON form (so they survive the JSON and FHIR round trips).
class GrantGenerator {
 public:
  explicit GrantGenerator(uint64_t seed)
      : rng_(seed), budget_rng_(seed ^ 0x5eed0fb0d9e7ull) {}

  std::mt19937_64& rng() { return rng_; }
  const TestPools& pools() const { return pools_; }

  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Chance(int percent) {
    return Below(100) < static_cast<uint64_t>(percent);
  }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(v.size())];
  }
  // A time between 1990 and 2040.
  int64_t AnyTime() {
    return 631152000 + static_cast<int64_t>(Below(1577836800));
  }
  int64_t AnyDay() { return AnyTime() / 86400 * 86400; }

  CategorySet AnyCategories() {
    CategorySet c = 0;
    while (c == 0) c = static_cast<CategorySet>(Below(kAllCategories + 1));
    return c;
  }

  Grantee::Kind AnyKind() { return static_cast<Grantee::Kind>(Below(6)); }

  // A valid grant; `base` centres the times (expiry, TS) around a moment.
  Grant Make(int64_t base) {
    Grant g;
    g.id = Chance(90) ? TestId("g_", rng_()) : "";
    g.grantee.kind = AnyKind();
    switch (g.grantee.kind) {
      case Grantee::Kind::kResearcher:
        g.grantee.id = Pick(pools_.researchers);
        break;
      case Grantee::Kind::kStudy:
        g.grantee.id = Pick(pools_.studies);
        break;
      case Grantee::Kind::kProvider:
        g.grantee.id = Pick(pools_.providers);
        break;
      case Grantee::Kind::kOrganization:
        g.grantee.name = Pick(pools_.organizations);
        break;
      default:
        break;
    }
    const bool provider = g.grantee.kind == Grantee::Kind::kProvider ||
                          g.grantee.kind == Grantee::Kind::kAnyProvider;
    if (provider) {
      g.purposes.push_back({Purpose::kCC, ""});
    } else {
      const size_t n = 1 + Below(3);
      while (g.purposes.size() < n) {
        PurposeSpec p;
        p.purpose = static_cast<Purpose>(Below(4));
        if (p.purpose == Purpose::kDS) p.disease = Pick(pools_.diseases);
        bool dup = false;
        for (const PurposeSpec& q : g.purposes) {
          dup = dup || (q.purpose == p.purpose && q.disease == p.disease);
        }
        if (!dup) g.purposes.push_back(p);
      }
    }
    const size_t conditions = provider ? Below(2) : Below(4);
    for (size_t k = 0; k < conditions; ++k) {
      Condition c;
      c.code =
          provider ? ConditionCode::kTS : static_cast<ConditionCode>(Below(15));
      bool dup = false;
      for (const Condition& d : g.conditions) dup = dup || d.code == c.code;
      if (dup) continue;
      switch (c.code) {
        case ConditionCode::kGS:
          PickDistinct(pools_.countries, &c.countries);
          break;
        case ConditionCode::kTS:
          c.until = base + static_cast<int64_t>(Below(7 * 86400)) - 3 * 86400;
          break;
        case ConditionCode::kMOR:
          if (Chance(50)) c.until = AnyTime();
          break;
        case ConditionCode::kUS:
          PickDistinct(pools_.researchers, &c.ids);
          break;
        case ConditionCode::kPS:
          PickDistinct(pools_.studies, &c.ids);
          break;
        case ConditionCode::kIS:
          PickDistinct(pools_.organizations, &c.ids);
          break;
        default:
          break;
      }
      g.conditions.push_back(std::move(c));
    }
    g.categories = AnyCategories();
    if (Chance(50)) {
      // Day-aligned (the JSON form) or any instant (FHIR dateTime).
      const bool days = Chance(70);
      const int64_t a = days ? AnyDay() : AnyTime();
      const int64_t len = days ? 86400 * (1 + static_cast<int64_t>(Below(4000)))
                               : 1 + static_cast<int64_t>(Below(300000000));
      if (Chance(70)) g.data_period.start = a;
      if (Chance(70)) g.data_period.end = a + len;
    }
    if (Chance(70)) {
      g.expires = base + static_cast<int64_t>(Below(7 * 86400)) - 3 * 86400;
    }
    g.include_sensitive = Chance(30);
    const size_t excludes = Chance(60) ? 0 : 1 + Below(3);
    for (size_t k = 0; k < excludes; ++k) {
      Exclude x;
      while (!x.category && x.code.empty() && x.record.empty()) {
        if (Chance(40)) x.category = static_cast<Category>(Below(10));
        if (Chance(40)) x.code = Pick(pools_.codes);
        if (Chance(40)) x.record = Pick(pools_.records);
      }
      g.excludes.push_back(std::move(x));
    }
    if (!provider) g.privacy_budget = AnyPrivacyBudget();
    g.created_at = base - static_cast<int64_t>(Below(400 * 86400));
    if (Chance(15)) {
      g.status = Grant::Status::kRevoked;
      g.revoked_at = g.created_at + static_cast<int64_t>(Below(86400 * 30));
    }
    return g;
  }

 private:
  // From its own stream, so that adding the field left every other draw,
  // and the cases the seeded tests generate, as they were.
  std::optional<int64_t> AnyPrivacyBudget() {
    switch (budget_rng_() % 5) {
      case 0:
        return 0;
      case 1:  // whole ε, written as a JSON integer
        return static_cast<int64_t>(budget_rng_() % 101) * kMicroPerEpsilon;
      case 2:  // any micro-ε, small ones printed with an exponent
        return static_cast<int64_t>(budget_rng_() % (kMaxEpsilonMicro + 1));
      case 3:
        return static_cast<int64_t>(budget_rng_() % 1000);
      default:
        return std::nullopt;
    }
  }

  void PickDistinct(const std::vector<std::string>& pool,
                    std::vector<std::string>* out) {
    const size_t n = 1 + Below(pool.size());
    std::vector<std::string> shuffled = pool;
    std::shuffle(shuffled.begin(), shuffled.end(), rng_);
    out->assign(shuffled.begin(), shuffled.begin() + static_cast<long>(n));
  }

  std::mt19937_64 rng_;
  std::mt19937_64 budget_rng_;
  TestPools pools_;
};

}  // namespace tillit::consent::testing

#endif  // TILLIT_CONSENT_SRC_POLICY_TEST_UTIL_H_
