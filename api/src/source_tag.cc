#include "source_tag.h"

#include <utility>

namespace tillit::api::internal {

using nlohmann::json;

Status TagAsProviders(json& resource, const std::string& provider,
                      const std::string& where) {
  if (!resource.is_object())
    return Status::InvalidArgument(where + ": must be a FHIR resource object");
  json& meta = resource["meta"];
  if (meta.is_null()) meta = json::object();
  if (!meta.is_object())
    return Status::InvalidArgument(where + ": meta must be an object");
  json& tags = meta["tag"];
  if (tags.is_null()) tags = json::array();
  if (!tags.is_array())
    return Status::InvalidArgument(where + ": meta.tag must be an array");
  json kept = json::array();
  for (json& t : tags) {
    const bool source = t.is_object() && t.contains("system") &&
                        t["system"].is_string() && t["system"] == kSourceSystem;
    if (!source) kept.push_back(std::move(t));
  }
  kept.push_back(
      {{"system", kSourceSystem}, {"code", "provider"}, {"display", provider}});
  tags = std::move(kept);
  return Status::Ok();
}

}  // namespace tillit::api::internal
