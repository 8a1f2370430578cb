// The tag that says where a record came from (SPEC §3): only the vault
// sets it, so whatever a client claims there is replaced.
//
// Thread-safety: stateless.
#ifndef TILLIT_API_SRC_SOURCE_TAG_H_
#define TILLIT_API_SRC_SOURCE_TAG_H_

#include <nlohmann/json.hpp>
#include <string>

#include "tillit/base/status.h"

namespace tillit::api::internal {

inline constexpr char kSourceSystem[] = "https://tillit.health/source";

// Replaces any source tag of `resource` (a JSON object) with the
// provider's: {"system": kSourceSystem, "code": "provider", "display":
// provider}. InvalidArgument, naming `where`, for a resource that is not
// an object or has a malformed meta or meta.tag.
Status TagAsProviders(nlohmann::json& resource, const std::string& provider,
                      const std::string& where);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_SOURCE_TAG_H_
