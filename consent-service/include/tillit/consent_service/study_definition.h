// StudyDefinition: a study as a researcher defines it (SPEC §5 step 2) and
// as the vault's directory keeps it, with its cohort criteria; the JSON
// form is read and written here.
//
// Thread-safety: the types are values; the functions are pure and may be
// called concurrently.
#ifndef TILLIT_CONSENT_SERVICE_STUDY_DEFINITION_H_
#define TILLIT_CONSENT_SERVICE_STUDY_DEFINITION_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {

// Cohort criteria of a study (SPEC §5), all optional, all must hold:
//   {"conditions": ["system|code" or "code", ...],  // any one of them
//    "age": {"min": N, "max": N},   // whole years at the release date,
//                                   // inclusive
//    "sex": "female" | "male" | "other" | "unknown"}  // Patient.gender
struct CohortCriteria {
  std::vector<std::string> conditions;
  std::optional<int> min_age;
  std::optional<int> max_age;
  std::optional<std::string> sex;
  bool empty() const {
    return conditions.empty() && !min_age && !max_age && !sex;
  }
};
// InvalidArgument naming the field for anything else (unknown fields,
// ages outside 0..150, min above max, more than 100 codes).
StatusOr<CohortCriteria> ParseCohortCriteria(std::string_view json);

// A study definition (SPEC §5 step 2): title, purpose (DUO code string or
// {"code","disease"}), categories, data_period, criteria (kept as given),
// ethics_approval, obligations (DUO codes of PUB/COL/RTN/MOR), and the
// optional flags commercial_use and genetic. Unknown fields are refused.
struct StudyDefinition {
  Study study;
  std::string title;
  std::string criteria_json = "{}";  // as given (validated)
  CohortCriteria criteria;
};
// InvalidArgument naming the field for anything that is not a valid study
// definition; "id" and "researcher_id" are read when present.
StatusOr<StudyDefinition> ParseStudyDefinition(std::string_view json);
// The form ParseStudyDefinition reads, with "id" and "researcher_id".
std::string StudyToJson(const StudyDefinition& s);

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_STUDY_DEFINITION_H_
