// The consent model (SPEC §4) and the engine that decides with it.
//
// A Grant is the citizen's decision, in the JSON form of SPEC §4, parsed and
// validated into a compact form. The engine is a pure function of (the
// citizen's policy, the request, now): no clock, no I/O, no cache. It
// answers permit or deny, what may be released, and why (the permitting
// grants, and for every other grant the first clause that failed).
//
// Thread-safety: all types are values; all functions are pure and may be
// called concurrently.
#ifndef TILLIT_CONSENT_POLICY_H_
#define TILLIT_CONSENT_POLICY_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/fhir/fhir.h"

namespace tillit::consent {

using fhir::Category;

// Bit i is set when Category(i) is in the set.
using CategorySet = uint16_t;
constexpr CategorySet CategoryBit(Category c) {
  return static_cast<CategorySet>(1u << static_cast<unsigned>(c));
}
constexpr CategorySet kAllCategories = (1u << fhir::kCategoryCount) - 1;

// DUO permissions usable as purposes.
enum class Purpose : uint8_t {
  kGRU,  // DUO:0000042 general research use
  kHMB,  // DUO:0000006 health/medical/biomedical research
  kDS,   // DUO:0000007 disease-specific research (with a disease)
  kPOA,  // DUO:0000011 population origins or ancestry research
  kCC,   // DUO:0000043 clinical care (provider grants)
};

// DUO modifiers usable as conditions.
enum class ConditionCode : uint8_t {
  kNPU,     // DUO:0000045 not-for-profit organisations only
  kNCU,     // DUO:0000046 non-commercial use only
  kNPUNCU,  // DUO:0000018 both
  kIRB,     // DUO:0000021 ethics approval required
  kGS,      // DUO:0000022 geographic restriction (countries)
  kTS,      // DUO:0000025 time limit on use (until)
  kUS,      // DUO:0000026 user-specific (researcher ids)
  kPS,      // DUO:0000027 project-specific (study ids)
  kIS,      // DUO:0000028 institution-specific (organisation names)
  kGSO,     // DUO:0000016 genetic studies only
  kNPOA,    // DUO:0000044 no population or ancestry research
  kPUB,     // DUO:0000019 publication required (obligation)
  kCOL,     // DUO:0000020 collaboration required (obligation)
  kRTN,     // DUO:0000029 return of results required (obligation)
  kMOR,     // DUO:0000024 publication moratorium (obligation)
};

std::string_view DuoId(Purpose p);        // "DUO:0000042", ...
std::string_view DuoId(ConditionCode c);  // "DUO:0000045", ...
std::optional<Purpose> ParsePurpose(std::string_view duo_id);
std::optional<ConditionCode> ParseCondition(std::string_view duo_id);
// PUB, COL, RTN and MOR: obligations a study must have accepted.
bool IsObligation(ConditionCode c);

// [start, end): epoch seconds; nullopt is unbounded on that side. In JSON,
// "start" and "end" are dates (YYYY-MM-DD) and "end" is inclusive (the
// period runs to the end of that day, UTC).
struct Period {
  std::optional<int64_t> start;
  std::optional<int64_t> end;
};

struct Grantee {
  enum class Kind : uint8_t {
    kAnyResearcher,  // "any-researcher"
    kResearcher,     // "researcher" + id (r_…)
    kOrganization,   // "organization" + name
    kStudy,          // "study" + id (s_…)
    kProvider,       // "provider" + id (p_…)
    kAnyProvider,    // "any-provider"
  };
  Kind kind = Kind::kAnyResearcher;
  std::string id;    // researcher, study or provider id
  std::string name;  // organisation name
};

struct PurposeSpec {
  Purpose purpose = Purpose::kGRU;
  std::string disease;  // MONDO:… for kDS, empty otherwise
};

struct Condition {
  ConditionCode code = ConditionCode::kNPU;
  std::vector<std::string> countries;  // GS: ISO 3166-1 alpha-2
  std::optional<int64_t> until;        // TS (required), MOR (optional)
  std::vector<std::string> ids;        // US: researcher ids; PS: study ids;
                                       // IS: organisation names
};

// Hides records from a grant: by category, by code ("system|code"), by
// single record ("Type/id"), or a combination (all given parts must match).
struct Exclude {
  std::optional<Category> category;
  std::string code;
  std::string record;
};

struct Grant {
  enum class Status : uint8_t { kActive, kRevoked };
  std::string id;  // g_…, assigned when stored
  Grantee grantee;
  std::vector<PurposeSpec> purposes;
  std::vector<Condition> conditions;
  CategorySet categories = 0;
  Period data_period;
  std::optional<int64_t> expires;  // valid while now < expires
  bool include_sensitive = false;
  std::vector<Exclude> excludes;
  // micro-ε (tillit/consent/epsilon.h): the most one study may spend of
  // this citizen's data in aggregates through this grant; nullopt leaves it
  // to the vault's default. Research grantees only. No decision reads it.
  std::optional<int64_t> privacy_budget;
  Status status = Status::kActive;
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;  // a grant carrying it counts as revoked
};

// Parses and validates the SPEC §4 JSON form of a new grant. Unknown DUO
// code, unknown category, unknown grantee kind, a grantee kind without its
// id/name, a condition without its parameter (GS countries, TS until, US/PS/
// IS ids), DS without a disease, end before start, an expiry not after
// `now`, a clinical-care purpose on a research grantee (or a research
// purpose on a provider grantee), a privacy_budget that is not a JSON
// number of ε from 0 to 100 with at most 6 decimals or that is on a
// provider grantee, unknown fields: InvalidArgument naming the field, e.g.
// `conditions[1].countries: required for DUO:0000022`.
// Fields id/status/created_at/revoked_at in the input are ignored (so are
// "created" and "revoked", as GrantToJson writes them); the result has an
// empty id, status active and created_at = now. docs/CONSENT.md lists every
// rule and limit.
StatusOr<Grant> ParseGrant(std::string_view json, int64_t now);
// The SPEC §4 form plus "id", "status", "created" and (when revoked)
// "revoked", as one JSON object.
std::string GrantToJson(const Grant& grant);
// The grant's metadata for the consent index: the SPEC §4 form without
// "exclude" (exclusions name codes, which are health data).
std::string GrantIndexJson(const Grant& grant);
// Reads what GrantToJson or GrantIndexJson wrote (stored data: no expiry
// check, id and status kept).
StatusOr<Grant> GrantFromStoredJson(std::string_view json);

// FHIR R4 Consent (scope research or treatment, provision type permit with
// period = expiry, actor, purpose, class = categories, dataPeriod, nested
// deny provisions for excludes, extensions for DUO conditions, sensitive
// records and the privacy budget) and back.
std::string GrantToFhirConsent(const Grant& grant, std::string_view citizen_id);
StatusOr<Grant> GrantFromFhirConsent(std::string_view json);

enum class OrgType : uint8_t { kAcademic, kNonProfit, kPublic, kCommercial };
std::optional<OrgType> ParseOrgType(std::string_view);  // "academic", ...
std::string_view OrgTypeName(OrgType);

struct ResearcherProfile {
  std::string id;  // r_…
  OrgType org_type = OrgType::kAcademic;
  std::string country;       // ISO 3166-1 alpha-2
  std::string organization;  // institution name
  std::string name;          // the researcher's name (directory only)
  std::string public_key;    // base64 X25519 key that releases are sealed to
};

struct Study {
  std::string id;  // s_…
  std::string researcher_id;
  PurposeSpec purpose;
  CategorySet categories = 0;
  Period data_period;
  std::string ethics_approval;             // empty: none
  std::vector<ConditionCode> obligations;  // accepted PUB/COL/RTN/MOR
  bool commercial_use = false;             // forced by a commercial org
  bool genetic = false;                    // a genetic study (for GSO)
};

// Primary-use restrictions (EHDS): hidden from care providers.
struct Restrictions {
  CategorySet categories = 0;
  std::vector<std::string> records;  // "Type/id"
};

struct BreakGlass {
  std::string provider_id;
  std::string reason;
  int64_t started = 0;
  int64_t expires = 0;  // at most started + 24 h; active while now < expires
                        // (the engine also requires started <= now and
                        // caps the session at started + 24 h)
};

// Someone the citizen authorised to act for them, or a guardian the
// operator recorded (tillit/consent/proxy.h has the rules).
struct ProxyAuthorisation {
  enum class Kind : uint8_t { kProxy, kGuardian };
  enum class Access : uint8_t { kRead, kReadWrite };
  std::string id;  // px_… (proxy) or gd_… (guardian), 32 hex digits
  Kind kind = Kind::kProxy;
  std::string proxy_id;  // c_…: who acts
  Access access = Access::kRead;
  CategorySet categories = kAllCategories;
  // A code the proxy must state with each request (Tillit-Purpose), at
  // most 64 of [A-Za-z0-9_.:/-]; empty: any purpose.
  std::string purpose;
  std::optional<int64_t> start;  // acts from this instant (inclusive)
  std::optional<int64_t> until;  // and while now < until
  bool include_sensitive = false;
  bool include_restricted = false;  // records restricted from providers
  int64_t created_at = 0;
  std::optional<int64_t> revoked_at;  // revoked (proxy) or ended (guardian)
};

// Everything the engine needs about one citizen.
struct CitizenPolicy {
  std::vector<Grant> grants;
  Restrictions restrictions;
  bool research_opt_out = false;
  // EHDS Art 10: while on, no provider decision permits, except an active
  // break-glass where ProviderRequest::break_glass_despite_opt_out allows.
  bool primary_use_opt_out = false;
  std::vector<BreakGlass> break_glass;
  // Who may act for the citizen (EHDS Art 4(2)-(3)), every one ever
  // recorded; DecideProxy picks the active ones.
  std::vector<ProxyAuthorisation> proxies;
};

struct ResearchRequest {
  const ResearcherProfile* researcher = nullptr;  // not owned
  const Study* study = nullptr;                   // not owned
};

struct ProviderRequest {
  std::string provider_id;
  CategorySet categories = kAllCategories;
  Period data_period;
  // The deployment's choice (EHDS Art 10 leaves it to national law):
  // whether a provider's break-glass reaches a citizen who opted out of
  // primary use.
  bool break_glass_despite_opt_out = true;
};

// Why a grant did not permit: the first clause that failed, in this order.
enum class Clause : uint8_t {
  kOptOut,  // the citizen opted out: of research (research requests) or
            // of primary use (provider requests)
  kRevoked,
  kExpired,
  kGrantee,
  kPurpose,
  kCondition,   // see Reason::condition
  kCategories,  // no category in common with the request
};
std::string_view ClauseName(Clause c);  // "opt-out", "revoked", ...

struct Reason {
  uint32_t grant = 0;  // index into CitizenPolicy::grants
  Clause clause = Clause::kGrantee;
  ConditionCode condition = ConditionCode::kNPU;  // when clause == kCondition
};

// What one permitting grant lets through: categories ∩ requested, data
// period ∩ requested, and whether sensitive records are included.
struct ScopePart {
  uint32_t grant = 0;
  CategorySet categories = 0;
  Period period;
  bool include_sensitive = false;
};

struct Decision {
  bool permit = false;
  bool break_glass = false;          // a provider's active break-glass applied
  std::vector<uint32_t> permitting;  // indexes into CitizenPolicy::grants
  std::vector<Reason> reasons;       // one per grant that did not permit
  std::vector<ScopePart> scope;      // one per permitting grant
  void Clear();                      // keeps capacity, for reuse in hot loops
};

// Research use: default deny; opt-out denies all; a grant permits when it is
// active and unexpired, its grantee matches the researcher or study, a
// purpose serves the study's purpose (DUOS v3: HMB by GRU or HMB; DS-X by
// GRU, HMB or DS-X; POA by GRU or POA; GRU by GRU), every condition holds,
// and it shares a category with the study. A request without a researcher or
// study denies, with reason kGrantee for every grant.
void DecideResearch(const CitizenPolicy& policy, const ResearchRequest& request,
                    int64_t now, Decision* out);
// Primary use: grants to this provider or any provider with purpose CC; an
// active break-glass of this provider permits every category (restrictions
// do not apply; sensitive records still need a grant that includes them).
// A primary-use opt-out denies every grant (kOptOut); only break-glass
// then permits, and only if request.break_glass_despite_opt_out.
void DecideProvider(const CitizenPolicy& policy, const ProviderRequest& request,
                    int64_t now, Decision* out);

// Whether a break-glass of the requesting provider may reach this citizen
// at all: always, unless the citizen opted out of primary use and the
// request says the deployment makes that opt-out absolute.
bool BreakGlassReaches(const CitizenPolicy& policy,
                       const ProviderRequest& request);

// What the engine needs to know about one record.
struct RecordFacts {
  std::string_view type;
  std::string_view id;
  Category category = Category::kOther;
  std::optional<int64_t> effective;  // undated records pass period tests
  bool sensitive = false;
  std::span<const std::string> codes;  // "system|code"
};

// True when the decision releases this record: some scope part admits it
// (category, period, sensitivity), no exclude of a permitting grant matches
// it, and, for primary use without break-glass, no restriction hides it.
bool Releases(const CitizenPolicy& policy, const Decision& decision,
              const RecordFacts& record, bool primary_use);

// The UTC day containing `t` as YYYY-MM-DD.
std::string FormatIsoDate(int64_t t);

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_POLICY_H_
