// Proxies and guardians (EHDS Art 4(2)-(3)): who may act for a citizen,
// in what scope, and the engine's decision on one request made by them.
//
// A ProxyAuthorisation is kept in the represented citizen's store, like a
// grant. A citizen authorises another citizen (a proxy: a relative, a
// carer) to read, or to read and write, their data: all of it or some
// categories, for any purpose or one stated purpose, until a day or
// without end, with or without the sensitive records and the records the
// citizen restricted from providers. An operator records a guardian (a
// legal representative, on the word of the national registry) from a
// start day to an end day; a guardian reads and writes everything, except
// the categories the deployment hides from guardians (a national choice).
//
// The decision is a pure function of (the citizen's authorisations, the
// request, now, the hidden categories): no clock, no I/O.
//
// Thread-safety: all types are values; all functions are pure.
#ifndef TILLIT_CONSENT_PROXY_H_
#define TILLIT_CONSENT_PROXY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {

// ProxyAuthorisation is declared in policy.h (a CitizenPolicy holds them).

// "proxy" or "guardian"; "read" or "read-write".
std::string_view ProxyKindName(ProxyAuthorisation::Kind kind);
std::string_view ProxyAccessName(ProxyAuthorisation::Access access);
// At `now`: "active", "scheduled" (before its start), "expired" (a proxy
// past its day), "revoked" (by the citizen), or "ended" (a guardianship
// past its end or ended by the operator).
std::string_view ProxyStatus(const ProxyAuthorisation& a, int64_t now);
bool ProxyActive(const ProxyAuthorisation& a, int64_t now);

// A citizen's new authorisation, or the new scope of an existing one
// (`for_change`: no "proxy" member). Members: "proxy" (c_…, required for a
// new one), "access" ("read" or "read-write", required), "categories" (a
// non-empty list of category names; absent or null: all), "purpose" (a
// code; absent or null: any), "until" (YYYY-MM-DD, the last day, not
// before today; absent or null: no end), "include_sensitive" and
// "include_restricted" (booleans, default false). Unknown members and bad
// values: InvalidArgument naming the member. The result is kind proxy,
// starts at `now`, has created_at = now and an empty id.
StatusOr<ProxyAuthorisation> ParseProxy(std::string_view json, int64_t now,
                                        bool for_change = false);

// An operator's guardianship: {"guardian": "c_…", "citizen": "c_…",
// "start": "YYYY-MM-DD", "end": "YYYY-MM-DD" (the last day) or null}.
// The guardian reads and writes everything, sensitive and restricted
// records included. InvalidArgument for a bad body, the same citizen
// twice, or an end before the start or in the past.
struct Guardianship {
  std::string citizen_id;
  ProxyAuthorisation authorisation;
};
StatusOr<Guardianship> ParseGuardianship(std::string_view json, int64_t now);

// The stored form (every member) and back; stored data is not checked
// against now. DataLoss for a malformed document.
std::string ProxyToStoredJson(const ProxyAuthorisation& a);
StatusOr<ProxyAuthorisation> ProxyFromStoredJson(std::string_view json);
// The API form: id, kind, citizen (the represented), proxy, access,
// categories (absent: all), purpose, start, until (dates; until is the
// last day), include_sensitive, include_restricted, status at `now`,
// created and revoked (epoch seconds).
std::string ProxyToApiJson(const ProxyAuthorisation& a,
                           std::string_view citizen_id, int64_t now);

// What a request through /v1/citizens/{id}/… needs of the authorisation.
enum class ProxyNeed : uint8_t {
  kRead,         // records, one at a time (each checked with ProxyReleases)
  kWrite,        // add or correct records, ask for a rectification
  kManage,       // see the citizen's settings: consents, restrictions,
                 // opt-outs, privacy budget, access log
  kManageWrite,  // change them, or import a bundle
};
struct ProxyRequest {
  std::string_view proxy_id;
  ProxyNeed need = ProxyNeed::kRead;
  std::string_view purpose;  // stated by the proxy; empty: none
};
struct ProxyDecision {
  enum class Outcome : uint8_t {
    kPermit,
    kNotRepresented,  // no active authorisation for this proxy: 404
    kBeyond,          // represented, but not for this: 403
  };
  Outcome outcome = Outcome::kNotRepresented;
  std::string why;  // kBeyond: what is missing, for the user
  // The permitting authorisation; for kBeyond, the first that fell short.
  std::string authorisation_id;
  ProxyAuthorisation::Kind kind = ProxyAuthorisation::Kind::kProxy;
  CategorySet categories = 0;  // what may be read or written
  bool include_sensitive = false;
  bool include_restricted = false;
};
// Permits when an active authorisation of the proxy allows the need:
// read-write for writes; for the manage needs, every category with the
// sensitive and the restricted records; its purpose, if it has one, equal
// to the stated purpose. A guardian's categories lose
// `hidden_from_guardians` first, so where some are hidden a guardian
// cannot see or change the settings (they would reveal those categories).
ProxyDecision DecideProxy(std::span<const ProxyAuthorisation> authorisations,
                          const ProxyRequest& request, int64_t now,
                          CategorySet hidden_from_guardians);
// Whether a permitted proxy may see or write records of `category`.
bool ProxyCovers(const ProxyDecision& d, Category category);
// Whether the record is shown to the proxy: its category is covered, it
// is not sensitive unless included, and not restricted unless included.
bool ProxyReleases(const Restrictions& restrictions, const ProxyDecision& d,
                   const RecordFacts& record);

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_PROXY_H_
