// Base64 and hex encodings, for public bytes and for secrets.
//
// Base64 is the standard alphabet with padding (RFC 4648 section 4,
// libsodium's sodium_base64_VARIANT_ORIGINAL). Decoding is strict: no
// whitespace or other character is skipped, padding must be exact and the
// unused bits of the last symbol must be zero, so every byte string has
// exactly one accepted text form. Bad input gives InvalidArgument whose
// message never repeats the input.
//
// The *Secret variants keep the bytes in secure memory (SecretBytes) from
// start to end: nothing is copied into the ordinary heap.
//
// Thread-safety: all functions are pure and may be called from any thread.
#ifndef TILLIT_CRYPTO_ENCODING_H_
#define TILLIT_CRYPTO_ENCODING_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

// The bytes of `text`, viewed without copying. The span lives as long as the
// characters `text` refers to.
std::span<const uint8_t> AsBytes(std::string_view text);

// Padded standard base64 ("foobar" -> "Zm9vYmFy").
std::string Base64Encode(std::span<const uint8_t> bytes);
// The inverse of Base64Encode; InvalidArgument for anything it would not
// produce.
StatusOr<std::vector<uint8_t>> Base64Decode(std::string_view text);

// Lowercase hex, two characters per byte.
std::string HexEncode(std::span<const uint8_t> bytes);
// Accepts an even number of hex digits (either case); InvalidArgument
// otherwise.
StatusOr<std::vector<uint8_t>> HexDecode(std::string_view text);

// The base64 text of `secret` as bytes in secure memory. size() is the text
// length; there is no NUL terminator.
SecretBytes Base64EncodeSecret(const SecretBytes& secret);
// Decodes straight into secure memory. Same rules as Base64Decode. The
// caller remains responsible for wiping `text`.
StatusOr<SecretBytes> Base64DecodeSecret(std::string_view text);
// The lowercase hex text of `secret` as bytes in secure memory, without a
// NUL terminator (for example for SQLCipher's `x'…'` raw keys).
SecretBytes HexEncodeSecret(const SecretBytes& secret);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_ENCODING_H_
