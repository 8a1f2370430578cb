// Invariants of an accepted consent grant, shared by the grant JSON and
// FHIR Consent fuzz targets: the limits docs/CONSENT.md documents, and the
// round trips through every form a grant is written in (stored JSON, the
// consent index's JSON, FHIR Consent).
#ifndef TILLIT_TESTS_FUZZ_GRANT_CHECKS_H_
#define TILLIT_TESTS_FUZZ_GRANT_CHECKS_H_

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "fuzz_check.h"
#include "tillit/consent/epsilon.h"
#include "tillit/consent/policy.h"

namespace tillit::fuzz {

inline bool IsVaultId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 32 || !id.starts_with(prefix)) return false;
  return std::all_of(
      id.begin() + static_cast<std::ptrdiff_t>(prefix.size()), id.end(),
      [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

inline bool IsProviderKind(consent::Grantee::Kind kind) {
  return kind == consent::Grantee::Kind::kProvider ||
         kind == consent::Grantee::Kind::kAnyProvider;
}

// The limits every grant that any reader accepted must satisfy.
inline void CheckGrantLimits(const consent::Grant& g) {
  using consent::ConditionCode;
  using consent::Grantee;
  using consent::Purpose;
  TILLIT_FUZZ_CHECK(g.id.empty() || IsVaultId(g.id, "g_"));

  switch (g.grantee.kind) {
    case Grantee::Kind::kResearcher:
      TILLIT_FUZZ_CHECK(IsVaultId(g.grantee.id, "r_"));
      break;
    case Grantee::Kind::kStudy:
      TILLIT_FUZZ_CHECK(IsVaultId(g.grantee.id, "s_"));
      break;
    case Grantee::Kind::kProvider:
      TILLIT_FUZZ_CHECK(IsVaultId(g.grantee.id, "p_"));
      break;
    case Grantee::Kind::kOrganization:
      TILLIT_FUZZ_CHECK(!g.grantee.name.empty() &&
                        g.grantee.name.size() <= 256);
      break;
    case Grantee::Kind::kAnyResearcher:
    case Grantee::Kind::kAnyProvider:
      break;
  }

  const bool provider = IsProviderKind(g.grantee.kind);
  TILLIT_FUZZ_CHECK(!g.purposes.empty() && g.purposes.size() <= 32);
  std::set<std::pair<Purpose, std::string>> purposes;
  for (const consent::PurposeSpec& p : g.purposes) {
    TILLIT_FUZZ_CHECK(purposes.emplace(p.purpose, p.disease).second);
    TILLIT_FUZZ_CHECK((p.purpose == Purpose::kDS) == !p.disease.empty());
    TILLIT_FUZZ_CHECK(p.disease.size() <= 256);
    TILLIT_FUZZ_CHECK((p.purpose == Purpose::kCC) == provider);
  }

  TILLIT_FUZZ_CHECK(g.conditions.size() <= 32);
  std::set<ConditionCode> codes;
  for (const consent::Condition& c : g.conditions) {
    TILLIT_FUZZ_CHECK(codes.insert(c.code).second);
    TILLIT_FUZZ_CHECK(!provider || c.code == ConditionCode::kTS);
    TILLIT_FUZZ_CHECK((c.code == ConditionCode::kGS) == !c.countries.empty());
    TILLIT_FUZZ_CHECK(c.countries.size() <= 64);
    for (const std::string& country : c.countries) {
      TILLIT_FUZZ_CHECK(country.size() == 2 && country[0] >= 'A' &&
                        country[0] <= 'Z' && country[1] >= 'A' &&
                        country[1] <= 'Z');
    }
    if (c.code == ConditionCode::kTS) TILLIT_FUZZ_CHECK(c.until.has_value());
    if (c.until) {
      TILLIT_FUZZ_CHECK(c.code == ConditionCode::kTS ||
                        c.code == ConditionCode::kMOR);
    }
    const bool has_ids = c.code == ConditionCode::kUS ||
                         c.code == ConditionCode::kPS ||
                         c.code == ConditionCode::kIS;
    TILLIT_FUZZ_CHECK(has_ids == !c.ids.empty());
    TILLIT_FUZZ_CHECK(c.ids.size() <= 64);
    std::set<std::string> ids(c.ids.begin(), c.ids.end());
    TILLIT_FUZZ_CHECK(ids.size() == c.ids.size());
  }

  TILLIT_FUZZ_CHECK(g.categories != 0);
  TILLIT_FUZZ_CHECK((g.categories & ~consent::kAllCategories) == 0);
  if (g.data_period.start && g.data_period.end) {
    TILLIT_FUZZ_CHECK(*g.data_period.start < *g.data_period.end);
  }

  TILLIT_FUZZ_CHECK(g.excludes.size() <= 32);
  for (const consent::Exclude& e : g.excludes) {
    TILLIT_FUZZ_CHECK(e.category || !e.code.empty() || !e.record.empty());
    TILLIT_FUZZ_CHECK(e.code.size() <= 256);
    if (!e.code.empty()) {
      const size_t bar = e.code.find('|');
      TILLIT_FUZZ_CHECK(bar != std::string::npos && bar > 0 &&
                        bar + 1 < e.code.size());
    }
    if (!e.record.empty()) {
      TILLIT_FUZZ_CHECK(e.record.find('/') != std::string::npos);
    }
  }

  if (g.privacy_budget) {
    TILLIT_FUZZ_CHECK(!provider);
    TILLIT_FUZZ_CHECK(*g.privacy_budget >= 0 &&
                      *g.privacy_budget <= consent::kMaxEpsilonMicro);
  }
}

// Every written form of `g` reads back to the same grant. `stored` is
// GrantToJson(g).
inline void CheckGrantRoundTrips(const consent::Grant& g,
                                 const std::string& stored) {
  StatusOr<consent::Grant> back = consent::GrantFromStoredJson(stored);
  TILLIT_FUZZ_CHECK(back.ok());
  TILLIT_FUZZ_CHECK(consent::GrantToJson(*back) == stored);

  // The consent index's form: the same without excludes.
  const std::string index = consent::GrantIndexJson(g);
  StatusOr<consent::Grant> from_index = consent::GrantFromStoredJson(index);
  TILLIT_FUZZ_CHECK(from_index.ok());
  TILLIT_FUZZ_CHECK(from_index->excludes.empty());
  TILLIT_FUZZ_CHECK(consent::GrantIndexJson(*from_index) == index);

  // FHIR Consent and back (docs/CONSENT.md: a Consent can never hold what
  // the JSON form refuses, and the mapping keeps every field).
  const std::string citizen = "c_0123456789abcdef0123456789abcdef";
  const std::string fhir = consent::GrantToFhirConsent(g, citizen);
  StatusOr<consent::Grant> from_fhir = consent::GrantFromFhirConsent(fhir);
  TILLIT_FUZZ_CHECK(from_fhir.ok());
  TILLIT_FUZZ_CHECK(consent::GrantToJson(*from_fhir) == stored);
}

}  // namespace tillit::fuzz

#endif  // TILLIT_TESTS_FUZZ_GRANT_CHECKS_H_
