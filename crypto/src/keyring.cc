#include "tillit/crypto/keyring.h"

#include <string>
#include <utility>

namespace tillit::crypto {

// NOLINTNEXTLINE(performance-unnecessary-value-param): keys are moved out.
StatusOr<Keyring> Keyring::Create(std::vector<AeadKey> keys,
                                  uint32_t current_version) {
  std::map<uint32_t, AeadKey> by_version;
  for (AeadKey& key : keys) {
    const uint32_t version = key.version();
    if (!by_version.try_emplace(version, std::move(key)).second) {
      return Status::InvalidArgument("keyring holds two keys of version " +
                                     std::to_string(version));
    }
  }
  if (by_version.find(current_version) == by_version.end()) {
    return Status::InvalidArgument("keyring has no key of current version " +
                                   std::to_string(current_version));
  }
  return Keyring(std::move(by_version), current_version);
}

std::vector<uint32_t> Keyring::versions() const {
  std::vector<uint32_t> out;
  out.reserve(keys_.size());
  for (const auto& [version, key] : keys_) out.push_back(version);
  return out;
}

bool Keyring::Has(uint32_t version) const { return Find(version) != nullptr; }

const AeadKey& Keyring::current() const { return keys_.at(current_version_); }

const AeadKey* Keyring::Find(uint32_t version) const {
  auto it = keys_.find(version);
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<uint8_t> Keyring::Seal(std::span<const uint8_t> plaintext,
                                   std::span<const uint8_t> associated_data,
                                   Random& rng) const {
  return current().Seal(plaintext, associated_data, rng);
}

std::vector<uint8_t> Keyring::SealSecret(
    const SecretBytes& plaintext, std::span<const uint8_t> associated_data,
    Random& rng) const {
  return current().SealSecret(plaintext, associated_data, rng);
}

StatusOr<std::vector<uint8_t>> Keyring::Open(
    std::span<const uint8_t> envelope,
    std::span<const uint8_t> associated_data) const {
  StatusOr<uint32_t> version = EnvelopeKeyVersion(envelope);
  if (!version.ok()) return DecryptionFailed();
  const AeadKey* key = Find(*version);
  if (key == nullptr) return DecryptionFailed();
  return key->Open(envelope, associated_data);
}

StatusOr<SecretBytes> Keyring::OpenSecret(
    std::span<const uint8_t> envelope,
    std::span<const uint8_t> associated_data) const {
  StatusOr<uint32_t> version = EnvelopeKeyVersion(envelope);
  if (!version.ok()) return DecryptionFailed();
  const AeadKey* key = Find(*version);
  if (key == nullptr) return DecryptionFailed();
  return key->OpenSecret(envelope, associated_data);
}

Status Keyring::Add(AeadKey key) {
  const uint32_t version = key.version();
  if (!keys_.try_emplace(version, std::move(key)).second) {
    return Status::AlreadyExists("keyring already holds key version " +
                                 std::to_string(version));
  }
  return Status::Ok();
}

Status Keyring::SetCurrent(uint32_t version) {
  if (!Has(version)) {
    return Status::NotFound("keyring has no key of version " +
                            std::to_string(version));
  }
  current_version_ = version;
  return Status::Ok();
}

}  // namespace tillit::crypto
