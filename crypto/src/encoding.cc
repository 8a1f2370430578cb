#include "tillit/crypto/encoding.h"

#include <sodium.h>

#include <cstring>

#include "sodium_runtime.h"

namespace tillit::crypto {
namespace {

constexpr int kVariant = sodium_base64_VARIANT_ORIGINAL;

Status BadBase64() { return Status::InvalidArgument("malformed base64"); }
Status BadHex() { return Status::InvalidArgument("malformed hex"); }

// The decoded size of a padded base64 text, or false if its length cannot
// be that of one. A non-empty text always gives a size of at least 1.
bool Base64DecodedSize(std::string_view text, size_t* size) {
  if (text.size() % 4 != 0) return false;
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  *size = text.size() / 4 * 3 - padding;
  return true;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Decodes all of `text` into exactly `size` bytes at `out`. Every character
// is checked here first: libsodium's decoder takes some bytes outside the
// alphabet (0xC8 0x90, found by fuzzing) for letters, which would give one
// value many spellings.
bool Base64DecodeInto(std::string_view text, uint8_t* out, size_t size) {
  size_t data_chars = text.size();
  while (data_chars > 0 && text.size() - data_chars < 2 &&
         text[data_chars - 1] == '=') {
    --data_chars;
  }
  for (size_t i = 0; i < data_chars; ++i) {
    if (!IsBase64Char(text[i])) return false;
  }
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, size, text.data(), text.size(), nullptr, &written,
                        &end, kVariant) != 0) {
    return false;
  }
  return end == text.data() + text.size() && written == size;
}

}  // namespace

std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::string Base64Encode(std::span<const uint8_t> bytes) {
  if (bytes.empty()) return {};
  internal::EnsureSodium();
  const size_t with_nul = sodium_base64_ENCODED_LEN(bytes.size(), kVariant);
  std::string out(with_nul, '\0');
  sodium_bin2base64(out.data(), with_nul, bytes.data(), bytes.size(), kVariant);
  out.resize(with_nul - 1);
  return out;
}

StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  size_t size = 0;
  if (!Base64DecodedSize(text, &size)) return BadBase64();
  if (text.empty()) return std::vector<uint8_t>();
  internal::EnsureSodium();
  std::vector<uint8_t> out(size);
  if (!Base64DecodeInto(text, out.data(), size)) return BadBase64();
  return out;
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0f]);
  }
  return out;
}

StatusOr<std::vector<uint8_t>> HexDecode(std::string_view text) {
  if (text.size() % 2 != 0) return BadHex();
  if (text.empty()) return std::vector<uint8_t>();
  internal::EnsureSodium();
  const size_t size = text.size() / 2;
  std::vector<uint8_t> out(size);
  size_t written = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(out.data(), size, text.data(), text.size(), nullptr,
                     &written, &end) != 0 ||
      end != text.data() + text.size() || written != size) {
    return BadHex();
  }
  return out;
}

SecretBytes Base64EncodeSecret(const SecretBytes& secret) {
  if (secret.empty()) return SecretBytes();
  internal::EnsureSodium();
  const size_t with_nul = sodium_base64_ENCODED_LEN(secret.size(), kVariant);
  SecretBytes buffer = SecretBytes::Allocate(with_nul);
  sodium_bin2base64(reinterpret_cast<char*>(buffer.ExposeSecret()), with_nul,
                    secret.ExposeSecret(), secret.size(), kVariant);
  return SecretBytes::CopyFrom(buffer.ExposeSecretSpan().first(with_nul - 1));
}

StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text) {
  size_t size = 0;
  if (!Base64DecodedSize(text, &size)) return BadBase64();
  if (text.empty()) return SecretBytes();
  internal::EnsureSodium();
  SecretBytes out = SecretBytes::Allocate(size);
  if (!Base64DecodeInto(text, out.ExposeSecret(), size)) return BadBase64();
  return out;
}

SecretBytes HexEncodeSecret(const SecretBytes& secret) {
  if (secret.empty()) return SecretBytes();
  internal::EnsureSodium();
  const size_t with_nul = secret.size() * 2 + 1;
  SecretBytes buffer = SecretBytes::Allocate(with_nul);
  sodium_bin2hex(reinterpret_cast<char*>(buffer.ExposeSecret()), with_nul,
                 secret.ExposeSecret(), secret.size());
  return SecretBytes::CopyFrom(buffer.ExposeSecretSpan().first(with_nul - 1));
}

}  // namespace tillit::crypto
