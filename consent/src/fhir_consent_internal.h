// Internal to consent/: the FHIR vocabulary (code systems, extension URLs,
// policy URIs and the grantee actor table) that GrantToFhirConsent writes
// and GrantFromFhirConsent reads, kept in one place so the two stay in step.
// Constants only; no state. Not a public header.
#ifndef TILLIT_CONSENT_SRC_FHIR_CONSENT_INTERNAL_H_
#define TILLIT_CONSENT_SRC_FHIR_CONSENT_INTERNAL_H_

#include <string_view>

#include "tillit/consent/policy.h"

namespace tillit::consent::fhir_consent_internal {

inline constexpr std::string_view kScopeSystem =
    "http://terminology.hl7.org/CodeSystem/consentscope";
inline constexpr std::string_view kLoinc = "http://loinc.org";
inline constexpr std::string_view kRoleSystem =
    "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
inline constexpr std::string_view kDuoSystem =
    "http://purl.obolibrary.org/obo/duo";
inline constexpr std::string_view kCategorySystem =
    "https://tillit.health/category";
inline constexpr std::string_view kTillitPrefix = "https://tillit.health/";
// Extensions: https://tillit.health/fhir/StructureDefinition/<name>.
inline constexpr std::string_view kExtCondition =
    "https://tillit.health/fhir/StructureDefinition/duo-condition";
inline constexpr std::string_view kExtDisease =
    "https://tillit.health/fhir/StructureDefinition/duo-disease";
inline constexpr std::string_view kExtIncludeSensitive =
    "https://tillit.health/fhir/StructureDefinition/include-sensitive";
// valueDecimal: ε (Grant::privacy_budget / kMicroPerEpsilon).
inline constexpr std::string_view kExtPrivacyBudget =
    "https://tillit.health/fhir/StructureDefinition/privacy-budget";
inline constexpr std::string_view kExtRevokedAt =
    "https://tillit.health/fhir/StructureDefinition/revoked-at";
inline constexpr std::string_view kTillitPolicy =
    "https://tillit.health/fhir/consent-policy/grant-v1";
inline constexpr std::string_view kDuoPolicy =
    "http://purl.obolibrary.org/obo/duo.owl";

// Grantee kinds and the identifier system of their actor reference. The
// kinds without an id use the kind name as the identifier value.
struct ActorSystem {
  Grantee::Kind kind;
  std::string_view system;
  std::string_view type;  // Reference.type, informational
};
inline constexpr ActorSystem kActorSystems[] = {
    {Grantee::Kind::kAnyResearcher, "https://tillit.health/grantee", ""},
    {Grantee::Kind::kResearcher, "https://tillit.health/researcher",
     "Practitioner"},
    {Grantee::Kind::kOrganization, "https://tillit.health/organization",
     "Organization"},
    {Grantee::Kind::kStudy, "https://tillit.health/study", "ResearchStudy"},
    {Grantee::Kind::kProvider, "https://tillit.health/provider", ""},
    {Grantee::Kind::kAnyProvider, "https://tillit.health/grantee", ""},
};

}  // namespace tillit::consent::fhir_consent_internal

#endif  // TILLIT_CONSENT_SRC_FHIR_CONSENT_INTERNAL_H_
