// Revocations kept in the vault's directory: an entry of a "…-revoked"
// kind per revoked object, {"revoked": <unix seconds>}, added once and
// never changed, so the directory stays append-only (devices.h, smart.h).
//
// Thread-safety: functions of the vault (which is thread-safe).
#ifndef TILLIT_API_SRC_REVOCATION_H_
#define TILLIT_API_SRC_REVOCATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {

// When `id` was revoked, or nullopt; DataLoss for a malformed entry.
StatusOr<std::optional<int64_t>> ReadRevocation(vault::Vault& vault,
                                                std::string_view kind,
                                                const std::string& id);
// Records the revocation at `now`; FailedPrecondition `already` when it is
// revoked already (also by another process meanwhile).
Status WriteRevocation(vault::Vault& vault, std::string_view kind,
                       const std::string& id, int64_t now,
                       std::string_view already);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_REVOCATION_H_
