// Internal to consent-service/: the JSON field readers and writers that the
// study, researcher and restrictions forms share. Not a public header.
//
// Thread-safety: pure functions; safe to call concurrently.
#ifndef TILLIT_CONSENT_SERVICE_SRC_JSON_FIELDS_H_
#define TILLIT_CONSENT_SERVICE_SRC_JSON_FIELDS_H_

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/consent/policy.h"

namespace tillit::consent::service_internal {

// `text` parsed as JSON. When it is not a JSON object, sets `*error` to
// InvalidArgument "<what> must be a JSON object" (and leaves it otherwise).
nlohmann::json ParseObject(std::string_view text, std::string_view what,
                           Status* error);

// InvalidArgument "<where><key>: unknown field" for the first key of the
// object `j` not in `allowed` (the key cut to 64 bytes); Ok otherwise.
Status RejectUnknown(const nlohmann::json& j,
                     const std::set<std::string>& allowed,
                     std::string_view where);

// An array of category names (fhir::ParseCategory) as a set;
// InvalidArgument naming `field` or the element otherwise.
StatusOr<CategorySet> ParseCategoryList(const nlohmann::json& j,
                                        std::string_view field);

// The names of the categories in `set`, in fhir::AllCategories() order.
nlohmann::json CategoryListJson(CategorySet set);

}  // namespace tillit::consent::service_internal

#endif  // TILLIT_CONSENT_SERVICE_SRC_JSON_FIELDS_H_
