#include "tillit/crypto/aead.h"

#include <sodium.h>

#include <cstring>

#include "sodium_runtime.h"

namespace tillit::crypto {
namespace {

static_assert(kEnvelopeNonceSize ==
              crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kEnvelopeTagSize == crypto_aead_xchacha20poly1305_ietf_ABYTES);
static_assert(kAeadKeySize == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

constexpr size_t kNonceOffset = kEnvelopeHeaderSize;
constexpr size_t kCiphertextOffset = kEnvelopeHeaderSize + kEnvelopeNonceSize;

// Stands in for the data pointer of an empty plaintext, so libsodium never
// sees a null pointer.
constexpr uint8_t kNoPlaintext[1] = {0};

void WriteHeader(uint32_t version, uint8_t* out) {
  out[0] = kEnvelopeFormat;
  out[1] = static_cast<uint8_t>(version >> 24);
  out[2] = static_cast<uint8_t>(version >> 16);
  out[3] = static_cast<uint8_t>(version >> 8);
  out[4] = static_cast<uint8_t>(version);
}

uint32_t ReadVersion(const uint8_t* header) {
  return (uint32_t{header[1]} << 24) | (uint32_t{header[2]} << 16) |
         (uint32_t{header[3]} << 8) | uint32_t{header[4]};
}

// The AEAD's associated data: the envelope header, then the caller's.
std::vector<uint8_t> FullAssociatedData(
    const uint8_t* header, std::span<const uint8_t> associated_data) {
  std::vector<uint8_t> full(kEnvelopeHeaderSize + associated_data.size());
  std::memcpy(full.data(), header, kEnvelopeHeaderSize);
  if (!associated_data.empty()) {
    std::memcpy(full.data() + kEnvelopeHeaderSize, associated_data.data(),
                associated_data.size());
  }
  return full;
}

bool LooksLikeEnvelope(std::span<const uint8_t> envelope) {
  return envelope.size() >= kEnvelopeOverhead && envelope[0] == kEnvelopeFormat;
}

}  // namespace

Status DecryptionFailed() { return Status::DataLoss("decryption failed"); }

StatusOr<AeadKey> AeadKey::Create(SecretBytes key, uint32_t version) {
  if (key.size() != kAeadKeySize) {
    return Status::InvalidArgument("AEAD key must be 32 bytes");
  }
  internal::EnsureSodium();
  return AeadKey(std::move(key), version);
}

std::vector<uint8_t> AeadKey::Seal(std::span<const uint8_t> plaintext,
                                   std::span<const uint8_t> associated_data,
                                   Random& rng) const {
  return SealBytes(plaintext.data(), plaintext.size(), associated_data, rng);
}

std::vector<uint8_t> AeadKey::SealSecret(
    const SecretBytes& plaintext, std::span<const uint8_t> associated_data,
    Random& rng) const {
  return SealBytes(plaintext.ExposeSecret(), plaintext.size(), associated_data,
                   rng);
}

std::vector<uint8_t> AeadKey::SealBytes(
    const uint8_t* plaintext, size_t size,
    std::span<const uint8_t> associated_data, Random& rng) const {
  std::vector<uint8_t> envelope(kEnvelopeOverhead + size);
  WriteHeader(version_, envelope.data());
  rng.Fill(
      std::span<uint8_t>(envelope.data() + kNonceOffset, kEnvelopeNonceSize));
  const std::vector<uint8_t> ad =
      FullAssociatedData(envelope.data(), associated_data);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      envelope.data() + kCiphertextOffset, &written,
      size == 0 ? kNoPlaintext : plaintext, size, ad.data(), ad.size(), nullptr,
      envelope.data() + kNonceOffset, key_.ExposeSecret());
  return envelope;
}

bool AeadKey::OpenInto(std::span<const uint8_t> envelope,
                       std::span<const uint8_t> associated_data,
                       uint8_t* out) const {
  if (!LooksLikeEnvelope(envelope)) return false;
  if (ReadVersion(envelope.data()) != version_) return false;
  const std::vector<uint8_t> ad =
      FullAssociatedData(envelope.data(), associated_data);
  unsigned long long written = 0;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out, &written, nullptr, envelope.data() + kCiphertextOffset,
             envelope.size() - kCiphertextOffset, ad.data(), ad.size(),
             envelope.data() + kNonceOffset, key_.ExposeSecret()) == 0;
}

StatusOr<std::vector<uint8_t>> AeadKey::Open(
    std::span<const uint8_t> envelope,
    std::span<const uint8_t> associated_data) const {
  if (envelope.size() < kEnvelopeOverhead) return DecryptionFailed();
  std::vector<uint8_t> plaintext(envelope.size() - kEnvelopeOverhead);
  uint8_t scratch[1];
  uint8_t* out = plaintext.empty() ? scratch : plaintext.data();
  if (!OpenInto(envelope, associated_data, out)) return DecryptionFailed();
  return plaintext;
}

StatusOr<SecretBytes> AeadKey::OpenSecret(
    std::span<const uint8_t> envelope,
    std::span<const uint8_t> associated_data) const {
  if (envelope.size() < kEnvelopeOverhead) return DecryptionFailed();
  SecretBytes plaintext =
      SecretBytes::Allocate(envelope.size() - kEnvelopeOverhead);
  uint8_t scratch[1];
  uint8_t* out = plaintext.empty() ? scratch : plaintext.ExposeSecret();
  if (!OpenInto(envelope, associated_data, out)) return DecryptionFailed();
  return plaintext;
}

StatusOr<uint32_t> EnvelopeKeyVersion(std::span<const uint8_t> envelope) {
  if (!LooksLikeEnvelope(envelope)) return DecryptionFailed();
  return ReadVersion(envelope.data());
}

}  // namespace tillit::crypto
