// Fuzz target: a citizen's new consent grant in the JSON form of SPEC §4
// (consent::ParseGrant, what POST /v1/me/consents reads), and the stored
// form a vault reads back (consent::GrantFromStoredJson).
//
// An accepted grant must satisfy the limits of docs/CONSENT.md, its expiry
// and TS time limit must lie after `now`, and it must come back unchanged
// from every form it is written in: stored JSON, the consent index's JSON,
// FHIR Consent, and its own stored form given again as a new grant.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "grant_checks.h"
#include "tillit/consent/policy.h"

namespace {

// 2026-01-01T00:00:00Z: a fixed `now`, so every run decides the same.
constexpr int64_t kNow = 1767225600;
constexpr char kGrantId[] = "g_0123456789abcdef0123456789abcdef";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  const std::string_view text = AsText(data, size);

  StatusOr<consent::Grant> parsed = consent::ParseGrant(text, kNow);
  if (parsed.ok()) {
    consent::Grant g = *std::move(parsed);
    // What ParseGrant promises about a new grant.
    TILLIT_FUZZ_CHECK(g.id.empty());
    TILLIT_FUZZ_CHECK(g.status == consent::Grant::Status::kActive);
    TILLIT_FUZZ_CHECK(g.created_at == kNow);
    TILLIT_FUZZ_CHECK(!g.revoked_at.has_value());
    TILLIT_FUZZ_CHECK(!g.expires || *g.expires > kNow);
    CheckGrantLimits(g);
    for (const consent::Condition& c : g.conditions) {
      if (c.code == consent::ConditionCode::kTS) {
        TILLIT_FUZZ_CHECK(*c.until > kNow);
      }
    }

    // The vault assigns the id when it stores the grant.
    g.id = kGrantId;
    const std::string stored = consent::GrantToJson(g);
    CheckGrantRoundTrips(g, stored);
    // The stored form is accepted as a new grant (stored fields ignored).
    StatusOr<consent::Grant> again = consent::ParseGrant(stored, kNow);
    TILLIT_FUZZ_CHECK(again.ok());
    again->id = kGrantId;
    TILLIT_FUZZ_CHECK(consent::GrantToJson(*again) == stored);
  }

  // The same bytes as a stored grant (a damaged or hostile store).
  StatusOr<consent::Grant> stored = consent::GrantFromStoredJson(text);
  if (stored.ok()) {
    CheckGrantLimits(*stored);
    CheckGrantRoundTrips(*stored, consent::GrantToJson(*stored));
  }
  return 0;
}
