// Internal to consent/: time text, id shapes, grantee kind names, and the
// one validating reader of the grant JSON form that ParseGrant,
// GrantFromStoredJson and GrantFromFhirConsent share. Not a public header.
#ifndef TILLIT_CONSENT_SRC_POLICY_INTERNAL_H_
#define TILLIT_CONSENT_SRC_POLICY_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/consent/policy.h"

namespace tillit::consent::policy_internal {

// Limits of the grant form (docs/CONSENT.md).
inline constexpr size_t kMaxPurposes = 32;
inline constexpr size_t kMaxConditions = 32;
inline constexpr size_t kMaxExcludes = 32;
inline constexpr size_t kMaxListItems = 64;     // countries, ids, names
inline constexpr size_t kMaxStringBytes = 256;  // any one string field
inline constexpr size_t kMaxDocumentBytes = 1u << 20;
inline constexpr int kMaxJsonDepth = 32;

// The instants the text forms can express: 0001-01-01T00:00:00Z up to
// 9999-12-31T23:59:59Z (a period end may be one day past it, exclusive).
inline constexpr int64_t kMinTime = -62135596800;
inline constexpr int64_t kMaxTime = 253402300799;
inline constexpr int64_t kSecondsPerDay = 86400;

// "YYYY-MM-DDTHH:MM:SSZ". REQUIRES: kMinTime <= t <= kMaxTime.
std::string FormatInstant(int64_t t);
// "YYYY-MM-DD" of the UTC day holding t. REQUIRES: kMinTime <= t <= kMaxTime.
std::string FormatDate(int64_t t);
bool IsDayStart(int64_t t);
// Strict RFC 3339 date-time with "Z" or an offset; fractions are dropped.
std::optional<int64_t> ParseInstant(std::string_view text);
// Strict "YYYY-MM-DD" (start of that day, UTC).
std::optional<int64_t> ParseDate(std::string_view text);

// `prefix` followed by 32 lowercase hex digits: the vault's id shape.
bool IsVaultId(std::string_view id, std::string_view prefix);

// Parses JSON text without exceptions. Refuses more than kMaxDocumentBytes,
// nesting deeper than kMaxJsonDepth and duplicate keys in an object (the
// last one would silently win). Messages start with `what`.
StatusOr<nlohmann::json> ParseJsonText(std::string_view text,
                                       std::string_view what);

// A field name from input, quoted in a message only when short and plain.
std::string QuoteField(std::string_view name);

// The grant JSON form as a value. kNew: a citizen's new grant (dates only in
// data_period, expiry and TS after `now`, id/status/created/revoked
// ignored). kStored: what GrantToJson wrote (id, status, created and revoked
// read; periods may be instants; no checks against `now`).
enum class GrantForm { kNew, kStored };
StatusOr<Grant> GrantFromJsonValue(const nlohmann::json& value, GrantForm form,
                                   int64_t now);
// The stored form; `with_excludes` false gives the consent index form.
nlohmann::ordered_json GrantToJsonValue(const Grant& grant, bool with_excludes);

// Grantee kinds and their names in the grant JSON form.
struct KindName {
  Grantee::Kind kind;
  std::string_view name;
};
inline constexpr KindName kKindNames[] = {
    {Grantee::Kind::kAnyResearcher, "any-researcher"},
    {Grantee::Kind::kResearcher, "researcher"},
    {Grantee::Kind::kOrganization, "organization"},
    {Grantee::Kind::kStudy, "study"},
    {Grantee::Kind::kProvider, "provider"},
    {Grantee::Kind::kAnyProvider, "any-provider"},
};

inline std::string_view KindToName(Grantee::Kind k) {
  for (const KindName& kn : kKindNames) {
    if (kn.kind == k) return kn.name;
  }
  return "";
}

// ε in micro-ε as a JSON number: an integer when whole ("2"), else
// EpsilonToDouble's double, which EpsilonFromDouble reads back exactly.
// REQUIRES: 0 <= micro <= kMaxEpsilonMicro.
nlohmann::ordered_json EpsilonJson(int64_t micro);

// dump() that cannot throw (invalid UTF-8 is replaced).
std::string DumpJson(const nlohmann::ordered_json& value);

}  // namespace tillit::consent::policy_internal

#endif  // TILLIT_CONSENT_SRC_POLICY_INTERNAL_H_
