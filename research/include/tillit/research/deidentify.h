// De-identification of one citizen's FHIR resources for a research release
// (SPEC §5): per-study pseudonyms and minimisation. What each resource type
// keeps and loses is listed in docs/RELEASE_FORMAT.md.
//
// Pseudonyms come from a Pseudonymiser (pseudonymiser.h); references are
// rewritten with the same function as ids, so they resolve inside the
// release.
//
// Thread-safety: Deidentify may be called from several threads at once; a
// Deidentifier is used by one thread at a time.
#ifndef TILLIT_RESEARCH_DEIDENTIFY_H_
#define TILLIT_RESEARCH_DEIDENTIFY_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "tillit/base/status.h"
#include "tillit/research/pseudonymiser.h"

namespace tillit::research {

// One citizen's released resources are de-identified by a Deidentifier
// over their stored JSON text: simdjson parses each record and the
// minimised JSON is written straight into the output, without building a
// tree (docs/BENCHMARKS.md, "Research releases").
//
// What is kept: ids and references replaced, identifying and free-text
// elements removed, birth dates cut to the year, meta reduced. `patient_id`
// is the id of the citizen's own Patient resource in the vault: that
// Patient's id and every reference to it become Citizen(citizen_id) (pass
// it even when the Patient itself is not released, so the other records
// still name the citizen; an empty patient_id matches nothing). Other
// references "Type/id" become "Type/" + Resource(citizen_id, Type, id);
// conditional and absolute references are hashed whole, contained ids and
// "#id" with the type "#"; references that cannot be pseudonymised are
// removed. Output objects list their members in byte order of the names.
//
// InvalidArgument for something that is not a FHIR resource object (not
// JSON, no valid resourceType, or a non-string id).
class Deidentifier {
 public:
  // "Type/pseudonym" of each resource in one citizen's part of a release.
  using ReleasedNames = std::unordered_set<std::string>;

  // REQUIRES: the arguments outlive the Deidentifier.
  Deidentifier(std::string_view citizen_id, std::string_view patient_id,
               const Pseudonymiser& pseudonyms)
      : citizen_id_(citizen_id),
        patient_id_(patient_id),
        pseudonyms_(pseudonyms) {}

  // The "Type/pseudonym" the resource `resource_json` has once released.
  StatusOr<std::string> ReleasedName(std::string_view resource_json) const;

  // Appends the de-identified resource to `out` as one line of JSON
  // without its newline; on error nothing is appended. When `released` is
  // not null, a reference to a resource that is not in it is removed (and
  // any object or array left empty by that), so that every reference of a
  // release resolves inside it.
  Status Append(std::string_view resource_json, const ReleasedNames* released,
                std::string* out) const;

 private:
  std::string_view citizen_id_;
  std::string_view patient_id_;
  const Pseudonymiser& pseudonyms_;
  // Pseudonyms already computed, by type + '\0' + id: a citizen's records
  // name the same Patient and Encounters over and over, and each id is
  // needed by ReleasedName and again by Append.
  mutable std::unordered_map<std::string, std::string> pseudonyms_of_;
};

// `resource` de-identified by a Deidentifier (nothing removed as
// dangling): for callers that hold a parsed resource.
StatusOr<nlohmann::json> Deidentify(const nlohmann::json& resource,
                                    std::string_view citizen_id,
                                    std::string_view patient_id,
                                    const Pseudonymiser& pseudonyms);

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_DEIDENTIFY_H_
