// De-identification of one citizen's FHIR resources for a research release
// (SPEC §5): per-study pseudonyms and minimisation. What each resource type
// keeps and loses is listed in docs/RELEASE_FORMAT.md.
//
// Pseudonyms come from a Pseudonymiser (pseudonymiser.h); references are
// rewritten with the same function as ids, so they resolve inside the
// release.
//
// Thread-safety: Deidentify may be called from several threads at once.
#ifndef TILLIT_RESEARCH_DEIDENTIFY_H_
#define TILLIT_RESEARCH_DEIDENTIFY_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/research/pseudonymiser.h"

namespace tillit::research {

// Returns `resource` (one record of `citizen_id`, as stored in the vault)
// minimised and pseudonymised: ids and references replaced, identifying
// and free-text elements removed, birth dates cut to the year, meta
// reduced. `patient_id` is the id of the citizen's own Patient resource in
// the vault: that Patient's id and every reference to it become
// Citizen(citizen_id) (pass it even when the Patient itself is not
// released, so the other records still name the citizen; an empty
// patient_id matches nothing). Other references "Type/id" become
// "Type/" + Resource(citizen_id, Type, id); conditional and absolute
// references are hashed whole, contained ids and "#id" with the type "#";
// references that cannot be pseudonymised are removed.
// InvalidArgument for something that is not a FHIR resource object (no
// valid resourceType, or a non-string id).
StatusOr<nlohmann::json> Deidentify(const nlohmann::json& resource,
                                    std::string_view citizen_id,
                                    std::string_view patient_id,
                                    const Pseudonymiser& pseudonyms);

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_DEIDENTIFY_H_
