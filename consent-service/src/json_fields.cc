#include "json_fields.h"

#include <string>

#include "tillit/fhir/fhir.h"

namespace tillit::consent::service_internal {

using nlohmann::json;

json ParseObject(std::string_view text, std::string_view what, Status* error) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error =
        Status::InvalidArgument(std::string(what) + " must be a JSON object");
  }
  return j;
}

Status RejectUnknown(const json& j, const std::set<std::string>& allowed,
                     std::string_view where) {
  for (const auto& [key, value] : j.items()) {
    if (allowed.count(key) == 0) {
      std::string name = key.size() > 64 ? key.substr(0, 64) + "…" : key;
      return Status::InvalidArgument(std::string(where) + name +
                                     ": unknown field");
    }
  }
  return Status::Ok();
}

StatusOr<CategorySet> ParseCategoryList(const json& j, std::string_view field) {
  if (!j.is_array())
    return Status::InvalidArgument(std::string(field) + ": must be an array");
  CategorySet set = 0;
  size_t i = 0;
  for (const auto& c : j) {
    const std::string where =
        std::string(field) + "[" + std::to_string(i++) + "]";
    if (!c.is_string())
      return Status::InvalidArgument(where + ": must be a string");
    auto cat = fhir::ParseCategory(c.get<std::string>());
    if (!cat) return Status::InvalidArgument(where + ": unknown category");
    set |= CategoryBit(*cat);
  }
  return set;
}

json CategoryListJson(CategorySet set) {
  json out = json::array();
  for (Category c : fhir::AllCategories()) {
    if (set & CategoryBit(c)) out.push_back(std::string(fhir::CategoryName(c)));
  }
  return out;
}

}  // namespace tillit::consent::service_internal
