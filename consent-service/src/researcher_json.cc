#include "researcher_json.h"

#include <nlohmann/json.hpp>

#include "json_fields.h"

namespace tillit::consent {
namespace {
using nlohmann::json;
using service_internal::ParseObject;
}  // namespace

std::string ResearcherToJson(const ResearcherProfile& r) {
  return json{{"id", r.id},
              {"org_type", std::string(OrgTypeName(r.org_type))},
              {"country", r.country},
              {"organization", r.organization},
              {"name", r.name},
              {"public_key", r.public_key}}
      .dump();
}

StatusOr<ResearcherProfile> ResearcherFromJson(std::string_view text) {
  Status error;
  json j = ParseObject(text, "researcher", &error);
  TILLIT_RETURN_IF_ERROR(error);
  ResearcherProfile r;
  if (!j.contains("id") || !j["id"].is_string() || !j.contains("org_type") ||
      !j["org_type"].is_string() || !j.contains("country") ||
      !j["country"].is_string() || !j.contains("organization") ||
      !j["organization"].is_string()) {
    return Status::DataLoss("stored researcher is malformed");
  }
  auto type = ParseOrgType(j["org_type"].get<std::string>());
  if (!type) return Status::DataLoss("stored researcher is malformed");
  r.id = j["id"];
  r.org_type = *type;
  r.country = j["country"];
  r.organization = j["organization"];
  // Profiles written before names and keys were kept have neither.
  if (j.contains("name") && j["name"].is_string()) r.name = j["name"];
  if (j.contains("public_key") && j["public_key"].is_string())
    r.public_key = j["public_key"];
  return r;
}

}  // namespace tillit::consent
