// Vault: the registry-side index derived from citizens' documents, and the
// directory of registered principals and studies (no health data), kept
// by the Registry.
#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {

StatusOr<std::vector<IndexEntry>> Vault::ReadIndex(std::string_view kind) {
  return in_->registry->ReadIndex(kind);
}

StatusOr<int64_t> Vault::IndexVersion() {
  return in_->registry->IndexVersion();
}

Status Vault::PutDirectoryEntry(std::string_view kind, std::string_view id,
                                std::string_view value) {
  return in_->registry->PutDirectoryEntry(kind, id, value,
                                          in_->options.clock->NowSeconds());
}

StatusOr<std::string> Vault::GetDirectoryEntry(std::string_view kind,
                                               std::string_view id) {
  return in_->registry->GetDirectoryEntry(kind, id);
}

StatusOr<std::vector<std::pair<std::string, std::string>>> Vault::ListDirectory(
    std::string_view kind) {
  return in_->registry->ListDirectory(kind);
}

}  // namespace tillit::vault
