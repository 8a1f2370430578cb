// Pseudonymiser: the per-study pseudonyms of a research release (SPEC §5).
//
// Pseudonyms are keyed hashes under a study key (32 bytes, kept in the
// vault, never released): the same citizen and resource get the same
// pseudonym in every release of one study, and unrelated ones in another
// study. Deidentify (deidentify.h) rewrites ids and references with them.
//
// Construction: BLAKE2b keyed with the study key (crypto::KeyedHasher),
// 16-byte output as 32 lowercase hex characters (a valid FHIR id). The
// input is a sequence of fields, each prefixed with its length as 8 bytes
// little-endian, the first being a domain tag:
//   Citizen:  ("tillit/research/citizen/v1", citizen_id)
//   Resource: ("tillit/research/resource/v1", citizen_id, type, id)
// Changing any of this changes every pseudonym of every study.
//
// Thread-safety: a Pseudonymiser is immutable after Create; its methods may
// be called from several threads at once.
#ifndef TILLIT_RESEARCH_PSEUDONYMISER_H_
#define TILLIT_RESEARCH_PSEUDONYMISER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

#include "tillit/base/status.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/secret.h"

namespace tillit::research {

inline constexpr size_t kStudyKeySize = 32;
inline constexpr size_t kPseudonymSize = 16;  // bytes: 32 hex characters

class Pseudonymiser {
 public:
  // The pseudonyms under `study_key`, which is copied into secure memory.
  // InvalidArgument unless study_key.size() == kStudyKeySize.
  static StatusOr<Pseudonymiser> Create(const crypto::SecretBytes& study_key);

  // The citizen's pseudonym: the id of their Patient resource in the
  // release and the subject of every reference to it.
  std::string Citizen(std::string_view citizen_id) const;
  // The pseudonym of resource `type`/`id` held by `citizen_id` (ids are
  // unique per citizen only, so the citizen is part of the input).
  std::string Resource(std::string_view citizen_id, std::string_view type,
                       std::string_view id) const;

 private:
  explicit Pseudonymiser(crypto::KeyedHasher hasher)
      : hasher_(std::move(hasher)) {}

  crypto::KeyedHasher hasher_;  // kPseudonymSize-byte digests
};

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_PSEUDONYMISER_H_
