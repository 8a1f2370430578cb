// A care provider's access to a citizen's records (primary use, SPEC §4),
// shared by the provider routes (/v1/patients/…) and the FHIR interface
// (/fhir): the standing a provider has with a citizen now, the audit entry
// of an access, and the one answer for a citizen the provider may not see.
//
// Thread-safety: functions of their arguments (Api is thread-safe).
#ifndef TILLIT_API_SRC_PROVIDER_ACCESS_H_
#define TILLIT_API_SRC_PROVIDER_ACCESS_H_

#include <memory>
#include <string>

#include "tillit/audit/entry.h"
#include "tillit/base/status.h"
#include "tillit/consent/policy.h"
#include "tillit/vault/citizen_store.h"

namespace tillit::api::internal {

class Api;

// NotFound "no such citizen": an unknown citizen, and one the provider may
// not see, answered alike.
Status NoSuchCitizen();

// An entry about a provider's access: purpose clinical care, the
// permitting grants and what the decision may release.
audit::AuditEntry ProviderEntry(std::string action, const std::string& citizen,
                                const consent::CitizenPolicy& policy,
                                const consent::Decision& decision);

// What a provider asks, under the deployment's break-glass setting.
consent::ProviderRequest Ask(Api& api, const std::string& provider,
                             consent::CategorySet categories,
                             const consent::Period& period);

// A provider's standing with a citizen now: the citizen's policy (kept by
// api.policies()) and the decision for every category.
struct Standing {
  std::shared_ptr<const consent::CitizenPolicy> policy;
  consent::Decision decision;
};
StatusOr<Standing> StandingOf(Api& api, vault::CitizenStore& store,
                              const std::string& provider, int64_t now);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_PROVIDER_ACCESS_H_
