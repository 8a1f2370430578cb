// Fuzz target: FHIR R4 Consent import (consent::GrantFromFhirConsent), the
// mapping of docs/CONSENT.md from a Consent resource to a grant.
//
// A Consent that is accepted must give a grant within the limits of the
// JSON form ("a Consent can never hold what the JSON form refuses"), and
// that grant must come back unchanged from its stored JSON, its consent
// index JSON and its own FHIR Consent.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "grant_checks.h"
#include "tillit/consent/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  StatusOr<consent::Grant> g =
      consent::GrantFromFhirConsent(AsText(data, size));
  if (!g.ok()) return 0;
  CheckGrantLimits(*g);
  CheckGrantRoundTrips(*g, consent::GrantToJson(*g));
  return 0;
}
