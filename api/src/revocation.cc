#include "revocation.h"

#include <nlohmann/json.hpp>

namespace tillit::api::internal {

using nlohmann::json;

StatusOr<std::optional<int64_t>> ReadRevocation(vault::Vault& vault,
                                                std::string_view kind,
                                                const std::string& id) {
  auto text = vault.GetDirectoryEntry(kind, id);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return std::optional<int64_t>();
    return text.status();
  }
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("revoked") ||
      !j["revoked"].is_number_integer()) {
    return Status::DataLoss("a stored revocation (" + std::string(kind) +
                            ") is malformed");
  }
  return std::optional<int64_t>(j["revoked"].get<int64_t>());
}

Status WriteRevocation(vault::Vault& vault, std::string_view kind,
                       const std::string& id, int64_t now,
                       std::string_view already) {
  Status s = vault.PutDirectoryEntry(kind, id, json({{"revoked", now}}).dump());
  if (s.code() == StatusCode::kAlreadyExists)
    return Status::FailedPrecondition(std::string(already));
  return s;
}

}  // namespace tillit::api::internal
