// De-identification of one citizen's FHIR resources for a research release
// (SPEC §5): per-study pseudonyms and minimisation. What each resource type
// keeps and loses is listed in docs/RELEASE_FORMAT.md.
//
// Pseudonyms are keyed hashes under a study key (32 bytes, kept in the
// vault, never released): the same citizen and resource get the same
// pseudonym in every release of one study, and unrelated ones in another
// study. References are rewritten with the same function as ids, so they
// resolve inside the release.
//
// Construction: BLAKE2b (libsodium crypto_generichash) keyed with the study
// key, 16-byte output as 32 lowercase hex characters (a valid FHIR id).
// The input is a sequence of fields, each prefixed with its length as 8
// bytes little-endian, the first being a domain tag:
//   Citizen:  ("tillit/research/citizen/v1", citizen_id)
//   Resource: ("tillit/research/resource/v1", citizen_id, type, id)
//

// Thread-safety: a Pseudonymiser is immutable after construction; its
// methods and Deidentify may be called from several threads.
#ifndef TILLIT_RESEARCH_DEIDENTIFY_H_
#define TILLIT_RESEARCH_DEIDENTIFY_H_

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tillit/crypto/secret.h"
#include "tillit/base/status.h"

namespace tillit::research {

class Pseudonymiser {
 public:
  // `study_key` must be 32 bytes; it is copied into secure memory. Any other
  // size is a programming error and throws std::invalid_argument.
  explicit Pseudonymiser(const crypto::SecretBytes& study_key);

  // The citizen's pseudonym: the id of their Patient resource in the
  // release and the subject of every reference to it.
  std::string Citizen(std::string_view citizen_id) const;
  // The pseudonym of resource `type`/`id` held by `citizen_id` (ids are
  // unique per citizen only, so the citizen is part of the input).
  std::string Resource(std::string_view citizen_id, std::string_view type,
                       std::string_view id) const;

 private:
  crypto::SecretBytes key_;
};

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
