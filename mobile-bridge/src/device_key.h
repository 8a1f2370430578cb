// The device's Ed25519 key at rest: its 32-byte seed sealed with
// XChaCha20-Poly1305 (crypto::AeadKey, key version 1) under the platform's
// "device-key", with associated data binding the envelope to the device id
// (so a sealed seed copied to another pairing does not open).
//
// Thread-safety: pure functions.
#ifndef TILLIT_MOBILE_BRIDGE_DEVICE_KEY_H_
#define TILLIT_MOBILE_BRIDGE_DEVICE_KEY_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"

namespace tillit::bridge {

// The envelope of `seed` for `device_id`. REQUIRES: platform_key and seed
// are 32 bytes (else an internal error).
StatusOr<std::vector<uint8_t>> SealDeviceSeed(
    const crypto::SecretBytes& platform_key, const crypto::SecretBytes& seed,
    std::string_view device_id, crypto::Random& rng);

// The signing key sealed in `envelope` for `device_id`; key_unavailable
// when the platform key does not open it (another key, or an envelope that
// was altered or belongs to another device), or when the key it holds is
// not the one the device registered (`public_key`).
StatusOr<crypto::SigningKey> UnsealDeviceKey(
    const crypto::SecretBytes& platform_key,
    const std::vector<uint8_t>& envelope, std::string_view device_id,
    const crypto::Ed25519PublicKey& public_key);

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_DEVICE_KEY_H_
