#include "tillit/research/pseudonymiser.h"

#include "tillit/crypto/encoding.h"

namespace tillit::research {
namespace {

// Domain separation: the first field of every hash input.
constexpr std::string_view kCitizenDomain = "tillit/research/citizen/v1";
constexpr std::string_view kResourceDomain = "tillit/research/resource/v1";

}  // namespace

StatusOr<Pseudonymiser> Pseudonymiser::Create(
    const crypto::SecretBytes& study_key) {
  if (study_key.size() != kStudyKeySize) {
    return Status::InvalidArgument("a study key is 32 bytes");
  }
  TILLIT_ASSIGN_OR_RETURN(
      crypto::KeyedHasher hasher,
      crypto::KeyedHasher::Create(study_key.Clone(), kPseudonymSize));
  return Pseudonymiser(std::move(hasher));
}

std::string Pseudonymiser::Citizen(std::string_view citizen_id) const {
  return crypto::HexEncode(hasher_.HashFields({kCitizenDomain, citizen_id}));
}

std::string Pseudonymiser::Resource(std::string_view citizen_id,
                                    std::string_view type,
                                    std::string_view id) const {
  return crypto::HexEncode(
      hasher_.HashFields({kResourceDomain, citizen_id, type, id}));
}

}  // namespace tillit::research
