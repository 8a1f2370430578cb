// The citizen routes (SPEC §7, /v1/me/...), in three files: the records
// and their export (handlers_citizen_records.cc); consents, restrictions
// and the research opt-out (handlers_citizen_consents.cc); the access log,
// paired devices and erasure (handlers_citizen_account.cc).
// handlers_citizen.cc holds the route table and the helpers below.
//
// The citizen is the token's principal on /v1/me/…; a proxy or guardian
// uses the same handlers through /v1/citizens/{citizen_id}/… once the
// proxy gate admitted them (proxy_gate.h), and then sees and writes only
// what their authorisation covers (Call::Shows, Call::Covers, CheckShown).
// Every route that touches the citizen's data writes its audit entry before
// anything is released or changed (fail closed). Reads are computed first
// and released only once the entry is durable; writes are validated first
// (so bad input writes no entry) and applied only once it is durable.
//
// Thread-safety: handlers run concurrently, each on its own Call.
#ifndef TILLIT_API_SRC_HANDLERS_CITIZEN_H_
#define TILLIT_API_SRC_HANDLERS_CITIZEN_H_

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tillit/audit/entry.h"
#include "tillit/base/status.h"
#include "tillit/consent/policy.h"
#include "tillit/fhir/fhir.h"
#include "tillit/vault/citizen_store.h"

namespace tillit::api::internal {

class Api;
class Call;

namespace citizen {

// Pages of records and of the access log.
inline constexpr size_t kDefaultLimit = 100;
inline constexpr size_t kMaxLimit = 1000;

// An entry about the data of the call's citizen (Call::citizen()).
audit::AuditEntry Entry(std::string action, const Call& call);

// What the consent engine needs to know about a record (a StoredRecord, a
// RecordMeta or a ParsedResource); it refers to `r`, which must outlive it.
template <typename Record>
consent::RecordFacts Facts(const Record& r) {
  consent::RecordFacts f;
  f.type = r.type;
  f.id = r.id;
  f.category = r.category;
  f.effective = r.effective;
  f.sensitive = r.sensitive;
  f.codes = r.codes;
  return f;
}
// For a proxy (Call::acting()): NotFound when the record is hidden from
// them (sensitive or restricted), else PermissionDenied when the
// authorisation does not cover its category; Ok for the citizen.
Status CheckShown(const Call& call, const vault::StoredRecord& r);

std::vector<std::string> CategoryNames(const std::set<fhir::Category>& set);
std::vector<std::string> CategoryNames(consent::CategorySet set);

// Canonical decimal integers only: digits, an optional leading '-' for
// signed values, nothing else.
template <typename Int>
std::optional<Int> ParseInteger(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  Int v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Where the call's records are: /v1/me/records, or for a proxy
// /v1/citizens/{citizen_id}/records.
std::string RecordsPath(const Call& call);

// The "limit" query parameter: 1 to kMaxLimit, kDefaultLimit if absent.
StatusOr<size_t> LimitParam(const Call& call);

// handlers_citizen_records.cc
Status Summary(Api& api, Call& call);
Status Import(Api& api, Call& call);
Status ListRecords(Api& api, Call& call);
Status AddRecord(Api& api, Call& call);
Status ReadRecord(Api& api, Call& call);
Status CorrectRecord(Api& api, Call& call);
Status RecordHistory(Api& api, Call& call);
Status Export(Api& api, Call& call);

// handlers_citizen_consents.cc
Status ListConsents(Api& api, Call& call);
Status AddConsent(Api& api, Call& call);
Status PreviewConsent(Api& api, Call& call);
Status RevokeConsent(Api& api, Call& call);
Status GetRestrictions(Api& api, Call& call);
Status PutRestrictions(Api& api, Call& call);
Status GetOptOut(Api& api, Call& call);
Status PutOptOut(Api& api, Call& call);
Status GetPrimaryOptOut(Api& api, Call& call);
Status PutPrimaryOptOut(Api& api, Call& call);
// GET /v1/me/privacy-budget: what aggregate queries spent of my privacy.
Status PrivacyBudget(Api& api, Call& call);

// handlers_citizen_account.cc
Status AccessLog(Api& api, Call& call);
Status ListDevices(Api& api, Call& call);
Status NewPairingCode(Api& api, Call& call);
Status RevokeDevice(Api& api, Call& call);
Status Erase(Api& api, Call& call);

}  // namespace citizen
}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_HANDLERS_CITIZEN_H_
