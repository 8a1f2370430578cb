// Internal to research: who of a study's candidates is in its cohort, and
// what of their data the study may use. Shared by releases and aggregates,
// so that both apply exactly the same rules: the citizen's full policy
// decides (grants, excludes, sensitivity, opt-out), only the records that
// decision releases are read, and the study's cohort criteria are checked
// on those records alone.
#ifndef TILLIT_RESEARCH_SRC_COHORT_H_
#define TILLIT_RESEARCH_SRC_COHORT_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/audit/entry.h"
#include "tillit/base/status.h"
#include "tillit/consent/policy.h"
#include "tillit/consent_service/study_definition.h"
#include "tillit/vault/citizen_store.h"

namespace tillit::research::internal {

// One citizen as a study may see them.
struct CohortMember {
  bool in_cohort = false;  // permitted and the criteria hold
  consent::CitizenPolicy policy;
  consent::Decision decision;
  std::vector<vault::StoredRecord> released;  // only what the grants permit
  std::string patient_id;                     // the released Patient's id
  std::optional<nlohmann::json> patient;      // the released Patient
};

// Decides the citizen on their full policy, reads what the decision
// releases, and checks the study's criteria on that.
Status ReadCohortMember(vault::CitizenStore& store,
                        const consent::ResearcherProfile& researcher,
                        const consent::StudyDefinition& study, int64_t now,
                        CohortMember* out);

// Whole years from a FHIR date ("YYYY", "YYYY-MM" or "YYYY-MM-DD") to the
// UTC day of `now`; nullopt for anything else. A partial date counts from
// its latest possible day, so an age is never overstated.
std::optional<int> AgeAt(std::string_view birth, int64_t now);

// Whether `wanted` ("system|code", or a bare code matching any system) is
// among `codes`.
bool CodeMatches(const std::string& wanted,
                 const std::vector<std::string>& codes);

// The audit entry of `researcher` using `study` (`action`, e.g.
// "research.release") for `citizen`, or for the study as a whole when
// `citizen` is empty; its decision is "permit".
audit::AuditEntry ResearchEntry(std::string action,
                                const consent::ResearcherProfile& researcher,
                                const consent::StudyDefinition& study,
                                std::string citizen, int64_t now,
                                const std::string& request_id);

// "YYYY-MM-DDTHH:MM:SSZ".
std::string IsoTime(int64_t t);

}  // namespace tillit::research::internal

#endif  // TILLIT_RESEARCH_SRC_COHORT_H_
