// AeadKey: authenticated encryption of records and wrapped keys.
//
// XChaCha20-Poly1305-IETF with a random 24-byte nonce that the caller never
// sees or chooses. Associated data is mandatory: bind every ciphertext to
// where it belongs (for example the citizen id and the key version) so it
// cannot be moved to another record.
//
// Envelope format (all integers big-endian):
//   offset 0   1 byte    format version, kEnvelopeFormat (0x01)
//   offset 1   4 bytes   key version
//   offset 5   24 bytes  nonce
//   offset 29  n+16      ciphertext of the n-byte plaintext, then the tag
// The AEAD's associated data is the 5 header bytes followed by the caller's
// associated data, so neither the format nor the key version can be altered.
//
// Every way an envelope can fail to open (too short, unknown format, another
// key version, another key, an altered byte, other associated data) gives
// the same Status::DataLoss("decryption failed"): callers learn nothing
// about why.
//
// Thread-safety: an AeadKey is immutable after Create(); its const methods
// may be called from several threads at once (each with its own Random or a
// thread-safe one such as Random::System()).
#ifndef TILLIT_CRYPTO_AEAD_H_
#define TILLIT_CRYPTO_AEAD_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

inline constexpr uint8_t kEnvelopeFormat = 0x01;
inline constexpr size_t kEnvelopeHeaderSize = 5;  // format + key version
inline constexpr size_t kEnvelopeNonceSize = 24;
inline constexpr size_t kEnvelopeTagSize = 16;
// Envelope size = plaintext size + kEnvelopeOverhead.
inline constexpr size_t kEnvelopeOverhead =
    kEnvelopeHeaderSize + kEnvelopeNonceSize + kEnvelopeTagSize;
inline constexpr size_t kAeadKeySize = 32;

// The status of every failed Open: DataLoss "decryption failed".
Status DecryptionFailed();

class AeadKey {
 public:
  // InvalidArgument unless key.size() == kAeadKeySize. Takes ownership of
  // the key bytes.
  static StatusOr<AeadKey> Create(SecretBytes key, uint32_t version);

  AeadKey(const AeadKey&) = delete;
  AeadKey& operator=(const AeadKey&) = delete;
  AeadKey(AeadKey&&) noexcept = default;
  AeadKey& operator=(AeadKey&&) noexcept = default;
  ~AeadKey() = default;

  uint32_t version() const { return version_; }

  // An envelope of `plaintext` bound to `associated_data`, with a fresh
  // nonce from `rng`.
  std::vector<uint8_t> Seal(std::span<const uint8_t> plaintext,
                            std::span<const uint8_t> associated_data,
                            Random& rng) const;
  // As Seal, for a secret plaintext (for example a data key to wrap).
  std::vector<uint8_t> SealSecret(const SecretBytes& plaintext,
                                  std::span<const uint8_t> associated_data,
                                  Random& rng) const;

  // The plaintext of an envelope made by Seal with this key and the same
  // associated data; DecryptionFailed() otherwise.
  StatusOr<std::vector<uint8_t>> Open(
      std::span<const uint8_t> envelope,
      std::span<const uint8_t> associated_data) const;
  // As Open, decrypting straight into secure memory.
  StatusOr<SecretBytes> OpenSecret(
      std::span<const uint8_t> envelope,
      std::span<const uint8_t> associated_data) const;

 private:
  AeadKey(SecretBytes key, uint32_t version)
      : key_(std::move(key)), version_(version) {}

  std::vector<uint8_t> SealBytes(const uint8_t* plaintext, size_t size,
                                 std::span<const uint8_t> associated_data,
                                 Random& rng) const;
  // Decrypts into `out`, which must hold exactly
  // envelope.size() - kEnvelopeOverhead bytes (and at least one byte of
  // storage). Returns false on any failure.
  bool OpenInto(std::span<const uint8_t> envelope,
                std::span<const uint8_t> associated_data, uint8_t* out) const;

  SecretBytes key_;
  uint32_t version_;
};

// The key version an envelope names, without decrypting it; DataLoss
// "decryption failed" when the input cannot be an envelope (too short or an
// unknown format byte).
StatusOr<uint32_t> EnvelopeKeyVersion(std::span<const uint8_t> envelope);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_AEAD_H_
