// Internal to consent-service/: a researcher's profile as the vault's
// directory keeps it (one JSON object). Not a public header.
//
// Thread-safety: pure functions; safe to call concurrently.
#ifndef TILLIT_CONSENT_SERVICE_SRC_RESEARCHER_JSON_H_
#define TILLIT_CONSENT_SERVICE_SRC_RESEARCHER_JSON_H_

#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {

// {"id", "org_type", "country", "organization", "name", "public_key"}.
std::string ResearcherToJson(const ResearcherProfile& r);
// Reads what ResearcherToJson wrote. InvalidArgument when `json` is not a
// JSON object; DataLoss when id, org_type, country or organization is
// missing or not a string, or org_type is unknown. A profile stored
// without name or public_key reads with them empty.
StatusOr<ResearcherProfile> ResearcherFromJson(std::string_view json);

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_SRC_RESEARCHER_JSON_H_
