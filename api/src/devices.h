// Paired devices (docs/MOBILE_BRIDGE.md): the Ed25519 public keys that sign
// a citizen's requests, and the nonces they have already used.
//
// Devices are kept in the vault's directory (kind "device": id, citizen,
// name, public key, time; never a secret). Revocation adds an entry of kind
// "device-revoked" rather than changing the first, so the directory stays
// append-only. A device never changes once paired, so found devices are
// cached; whether one is revoked is read from the vault on every lookup
// (another process may have revoked it), except that a revocation, once
// seen, is remembered.
//
// Thread-safety: DeviceRegistry is safe to use from any
// thread.
#ifndef TILLIT_API_SRC_DEVICES_H_
#define TILLIT_API_SRC_DEVICES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/signing.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {

inline constexpr size_t kMaxDeviceNameBytes = 64;

struct Device {
  std::string id;  // d_ + 32 hex digits
  std::string citizen_id;
  std::string name;
  crypto::Ed25519PublicKey public_key{};
  int64_t created = 0;
  std::optional<int64_t> revoked;
};

// The public key of a device, as sent at pairing: base64 of 32 bytes that
// are a valid Ed25519 point of the main subgroup. InvalidArgument otherwise.
StatusOr<crypto::Ed25519PublicKey> ParseDevicePublicKey(std::string_view text);
// 1 to 64 bytes of UTF-8 without control characters.
Status CheckDeviceName(std::string_view name);

class DeviceRegistry {
 public:
  DeviceRegistry(vault::Vault* vault, crypto::Random* rng)
      : vault_(*vault), rng_(*rng) {}

  // Stores a new device of `citizen_id`. AlreadyExists when the citizen
  // already has a live device with this public key.
  StatusOr<Device> Pair(const std::string& citizen_id,
                        const crypto::Ed25519PublicKey& public_key,
                        const std::string& name, int64_t now);
  // The device, with its revocation; NotFound for an unknown id.
  StatusOr<Device> Find(const std::string& device_id);
  // The citizen's devices, oldest first.
  StatusOr<std::vector<Device>> List(const std::string& citizen_id);
  // NotFound unless the device exists and is the citizen's;
  // FailedPrecondition when it is already revoked.
  StatusOr<Device> Revoke(const std::string& citizen_id,
                          const std::string& device_id, int64_t now);
  // Revokes every live device of the citizen (erasure); returns how many.
  StatusOr<size_t> RevokeAll(const std::string& citizen_id, int64_t now);

 private:
  StatusOr<Device> Load(const std::string& device_id);
  StatusOr<std::optional<int64_t>> LoadRevocation(const std::string& id);

  vault::Vault& vault_;
  crypto::Random& rng_;
  Mutex mu_;
  std::unordered_map<std::string, Device> cache_ GUARDED_BY(mu_);
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_DEVICES_H_
