#include "device_key.h"

#include <string>

#include "error.h"
#include "tillit/crypto/aead.h"
#include "tillit/crypto/encoding.h"

namespace tillit::bridge {
namespace {

constexpr uint32_t kSealVersion = 1;

std::string AssociatedData(std::string_view device_id) {
  std::string ad = "tillit-bridge/device-seed/v1";
  ad += '\0';
  ad += device_id;
  return ad;
}

StatusOr<crypto::AeadKey> SealingKey(const crypto::SecretBytes& platform_key) {
  auto key = crypto::AeadKey::Create(platform_key.Clone(), kSealVersion);
  if (!key.ok()) {
    return BridgeError(ErrorCode::kKeyUnavailable,
                       "the platform's device-key is not 32 bytes");
  }
  return key;
}

}  // namespace

StatusOr<std::vector<uint8_t>> SealDeviceSeed(
    const crypto::SecretBytes& platform_key, const crypto::SecretBytes& seed,
    std::string_view device_id, crypto::Random& rng) {
  if (seed.size() != crypto::kEd25519SeedSize)
    return BridgeError(ErrorCode::kInternal, "the device seed is not 32 bytes");
  TILLIT_ASSIGN_OR_RETURN(crypto::AeadKey key, SealingKey(platform_key));
  const std::string ad = AssociatedData(device_id);
  return key.SealSecret(seed, crypto::AsBytes(ad), rng);
}

StatusOr<crypto::SigningKey> UnsealDeviceKey(
    const crypto::SecretBytes& platform_key,
    const std::vector<uint8_t>& envelope, std::string_view device_id,
    const crypto::Ed25519PublicKey& public_key) {
  TILLIT_ASSIGN_OR_RETURN(crypto::AeadKey key, SealingKey(platform_key));
  const std::string ad = AssociatedData(device_id);
  auto seed = key.OpenSecret(envelope, crypto::AsBytes(ad));
  if (!seed.ok()) {
    return BridgeError(ErrorCode::kKeyUnavailable,
                       "the platform's device-key does not open this "
                       "device's key");
  }
  auto signing = crypto::SigningKey::FromSeed(*seed);
  if (!signing.ok() || signing->public_key() != public_key) {
    return BridgeError(ErrorCode::kKeyUnavailable,
                       "the sealed device key is not the paired one");
  }
  return signing;
}

}  // namespace tillit::bridge
