#include "devices.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <tuple>

#include "revocation.h"
#include "tillit/crypto/constant_time.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/signing.h"

namespace tillit::api::internal {
namespace {

using nlohmann::json;

constexpr std::string_view kDeviceKind = "device";
constexpr std::string_view kRevokedKind = "device-revoked";

StatusOr<Device> DeviceFromJson(std::string_view text) {
  const Status bad = Status::DataLoss("a stored device is malformed");
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() ||
      !j.contains("citizen_id") || !j["citizen_id"].is_string() ||
      !j.contains("name") || !j["name"].is_string() ||
      !j.contains("public_key") || !j["public_key"].is_string() ||
      !j.contains("created") || !j["created"].is_number_integer()) {
    return bad;
  }
  Device d;
  d.id = j["id"].get<std::string>();
  d.citizen_id = j["citizen_id"].get<std::string>();
  d.name = j["name"].get<std::string>();
  d.created = j["created"].get<int64_t>();
  auto key = crypto::Base64Decode(j["public_key"].get<std::string>());
  if (!key.ok() || key->size() != d.public_key.size()) return bad;
  std::copy(key->begin(), key->end(), d.public_key.begin());
  return d;
}

}  // namespace

StatusOr<crypto::Ed25519PublicKey> ParseDevicePublicKey(std::string_view text) {
  const Status bad = Status::InvalidArgument(
      "device_public_key: base64 of a 32-byte Ed25519 public key");
  auto bytes = crypto::Base64Decode(text);
  if (!bytes.ok() ||
      bytes->size() != std::tuple_size_v<crypto::Ed25519PublicKey>) {
    return bad;
  }
  // Rejects small-order and non-canonical points: a key any signature
  // could match must never stand for a citizen.
  auto key = crypto::Ed25519PublicKeyFromBytes(*bytes);
  if (!key.ok()) {
    return Status::InvalidArgument(
        "device_public_key: not a usable Ed25519 public key");
  }
  return *key;
}

Status CheckDeviceName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDeviceNameBytes) {
    return Status::InvalidArgument(
        "device_name: 1 to " + std::to_string(kMaxDeviceNameBytes) + " bytes");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f)
      return Status::InvalidArgument(
          "device_name: control characters are not allowed");
  }
  // Valid UTF-8: the name is shown to the citizen and stored as JSON
  // (whose strict serialisation refuses anything else).
  try {
    (void)json(std::string(name)).dump();
  } catch (const json::exception&) {
    return Status::InvalidArgument("device_name: must be UTF-8 text");
  }
  return Status::Ok();
}

StatusOr<Device> DeviceRegistry::Pair(const std::string& citizen_id,
                                      const crypto::Ed25519PublicKey& key,
                                      const std::string& name, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<Device> existing, List(citizen_id));
  for (const Device& d : existing) {
    if (!d.revoked && crypto::ConstantTimeEquals(d.public_key, key)) {
      return Status::AlreadyExists("this device key is already paired");
    }
  }
  Device d;
  d.id = "d_" + rng_.Hex(16);
  d.citizen_id = citizen_id;
  d.name = name;
  d.public_key = key;
  d.created = now;
  const json stored = {{"id", d.id},
                       {"citizen_id", d.citizen_id},
                       {"name", d.name},
                       {"public_key", crypto::Base64Encode(d.public_key)},
                       {"created", d.created}};
  TILLIT_RETURN_IF_ERROR(
      vault_.PutDirectoryEntry(kDeviceKind, d.id, stored.dump()));
  MutexLock lock(&mu_);
  cache_[d.id] = d;
  return d;
}

StatusOr<Device> DeviceRegistry::Load(const std::string& device_id) {
  if (!vault::IsValidId(device_id, "d_"))
    return Status::NotFound("no such device");
  {
    MutexLock lock(&mu_);
    auto it = cache_.find(device_id);
    if (it != cache_.end()) return it->second;
  }
  auto text = vault_.GetDirectoryEntry(kDeviceKind, device_id);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound)
      return Status::NotFound("no such device");
    return text.status();
  }
  TILLIT_ASSIGN_OR_RETURN(Device d, DeviceFromJson(*text));
  if (d.id != device_id)
    return Status::DataLoss("a stored device is malformed");
  MutexLock lock(&mu_);
  cache_[d.id] = d;
  return d;
}

StatusOr<std::optional<int64_t>> DeviceRegistry::LoadRevocation(
    const std::string& id) {
  return ReadRevocation(vault_, kRevokedKind, id);
}

StatusOr<Device> DeviceRegistry::Find(const std::string& device_id) {
  TILLIT_ASSIGN_OR_RETURN(Device d, Load(device_id));
  if (d.revoked) return d;
  TILLIT_ASSIGN_OR_RETURN(d.revoked, LoadRevocation(d.id));
  if (d.revoked) {
    MutexLock lock(&mu_);
    cache_[d.id].revoked = d.revoked;
  }
  return d;
}

StatusOr<std::vector<Device>> DeviceRegistry::List(
    const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(auto all, vault_.ListDirectory(kDeviceKind));
  std::vector<Device> out;
  for (const auto& [id, text] : all) {
    TILLIT_ASSIGN_OR_RETURN(Device d, DeviceFromJson(text));
    if (d.citizen_id != citizen_id) continue;
    TILLIT_ASSIGN_OR_RETURN(d.revoked, LoadRevocation(d.id));
    out.push_back(std::move(d));
  }
  return out;
}

StatusOr<Device> DeviceRegistry::Revoke(const std::string& citizen_id,
                                        const std::string& device_id,
                                        int64_t now) {
  auto found = Find(device_id);
  if (!found.ok()) return found.status();
  Device d = std::move(found).value();
  if (d.citizen_id != citizen_id) return Status::NotFound("no such device");
  if (d.revoked)
    return Status::FailedPrecondition("the device is already revoked");
  TILLIT_RETURN_IF_ERROR(WriteRevocation(vault_, kRevokedKind, d.id, now,
                                         "the device is already revoked"));
  d.revoked = now;
  MutexLock lock(&mu_);
  cache_[d.id] = d;
  return d;
}

StatusOr<size_t> DeviceRegistry::RevokeAll(const std::string& citizen_id,
                                           int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<Device> devices, List(citizen_id));
  size_t revoked = 0;
  for (const Device& d : devices) {
    if (d.revoked) continue;
    auto r = Revoke(citizen_id, d.id, now);
    if (!r.ok() && r.status().code() != StatusCode::kFailedPrecondition)
      return r.status();
    if (r.ok()) ++revoked;
  }
  return revoked;
}

}  // namespace tillit::api::internal
