// The tag that says where a record came from (SPEC §3). Only the vault
// says it, so whatever a body claims under kSourceTagSystem is replaced:
// a citizen cannot pass a record off as a hospital's, nor a provider as
// another's. What the citizen adds is marked as theirs (EHDS Art 5: it
// must not be taken for what a health professional recorded).
//
// Vault::Import tags by its `source`: "import" (the operator's, e.g. a
// region's records) is stored as written; kCitizenSource gets the
// citizen's tag; any other source is a provider id and gets the
// provider's. CitizenStore stores what it is given: the API tags what it
// writes through it (a citizen's record, a provider's correction) itself.
//
// Everything works on JSON text that a parser has accepted and copies
// every other byte as it is, so decimals keep their digits ("1.50" is not
// "1.5" in FHIR).
//
// Thread-safety: stateless.
#ifndef TILLIT_VAULT_SOURCE_TAG_H_
#define TILLIT_VAULT_SOURCE_TAG_H_

#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::vault {

// The source of records the citizen (or someone acting for them) stored.
inline constexpr std::string_view kCitizenSource = "citizen";
// The system of tillit's source tags.
inline constexpr std::string_view kSourceTagSystem =
    "https://tillit.health/source";

// Returns `resource` (the JSON text of one resource object) with every tag
// of kSourceTagSystem in meta.tag removed and the citizen's tag
// {"system":kSourceTagSystem,"code":"citizen","display":"Entered by the
// citizen"} added last; meta is added after "id" when missing. Applying it
// twice gives the same text. InvalidArgument for a meta that is not an
// object, a meta.tag that is not an array, or meta, meta.tag or (when meta
// is added) id given twice. A tag element with any "system" member that is
// kSourceTagSystem is a source tag (a repeated key cannot hide one).
StatusOr<std::string> TagAsCitizens(std::string_view resource);
// The same with the provider's tag: {"system":kSourceTagSystem,"code":
// "provider","display":provider_id}.
StatusOr<std::string> TagAsProviders(std::string_view resource,
                                     std::string_view provider_id);
// TagAsCitizens for kCitizenSource, TagAsProviders otherwise.
StatusOr<std::string> TagBySource(std::string_view resource,
                                  std::string_view source);

// The text of member `key` of the JSON object `object` exactly as written
// (for a resource inside a request body); nullopt when there is none.
// InvalidArgument when it is there twice. REQUIRES: `object` is JSON text
// that a parser accepted (Internal otherwise).
StatusOr<std::optional<std::string_view>> MemberText(std::string_view object,
                                                     std::string_view key);

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_SOURCE_TAG_H_
