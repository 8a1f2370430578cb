// Web Push, the crypto of it: message encryption for a browser's push
// subscription (RFC 8291, in RFC 8188's "aes128gcm" content coding) and the
// application server's VAPID identity (RFC 8292), on NIST P-256.
//
// libsodium has no P-256 and no AES-128-GCM, so these few primitives come
// from OpenSSL's libcrypto (already linked for TLS). Private scalars enter
// and leave only as SecretBytes; inside OpenSSL they live in BIGNUMs
// allocated with BN_secure_new and are freed with clearing.
//
// Thread-safety: P256Key is immutable after creation and may be used from
// any thread; the functions are pure (apart from fresh randomness).
#ifndef TILLIT_CRYPTO_WEB_PUSH_H_
#define TILLIT_CRYPTO_WEB_PUSH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

// An uncompressed P-256 point (0x04 || X || Y), as a subscription's
// "p256dh" and a VAPID "k" carry it.
inline constexpr size_t kP256PublicKeySize = 65;
using P256PublicKey = std::array<uint8_t, kP256PublicKeySize>;
// A subscription's "auth" secret (RFC 8291 §3.2).
inline constexpr size_t kWebPushAuthSize = 16;
// The largest plaintext one push message carries: 4,096 bytes of message
// less the 86-byte header, the 16-byte tag and the padding delimiter
// (RFC 8291 §4).
inline constexpr size_t kWebPushMaxPlaintext = 3993;

// A P-256 key pair (ECDH and ECDSA). Move-only.
class P256Key {
 public:
  // A fresh random key (OpenSSL's generator).
  static StatusOr<P256Key> Generate();
  // The key whose private scalar is the 32 big-endian bytes of `scalar`;
  // InvalidArgument unless 0 < scalar < the group order.
  static StatusOr<P256Key> FromPrivate(const SecretBytes& scalar);

  P256Key(P256Key&&) noexcept;
  P256Key& operator=(P256Key&&) noexcept;
  ~P256Key();

  const P256PublicKey& public_key() const { return public_key_; }

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit P256Key(std::unique_ptr<Impl> impl, const P256PublicKey& pub);
  std::unique_ptr<Impl> impl_;
  P256PublicKey public_key_{};
};

// InvalidArgument unless `bytes` is an uncompressed point on P-256.
StatusOr<P256PublicKey> ParseP256PublicKey(std::span<const uint8_t> bytes);

// A browser's push subscription keys: its ECDH public key and auth secret.
struct WebPushReceiver {
  P256PublicKey p256dh{};
  std::array<uint8_t, kWebPushAuthSize> auth{};
};

// The "aes128gcm" body of a push message carrying `plaintext` (at most
// kWebPushMaxPlaintext bytes) to `receiver`, in one 4,096-byte record,
// with a fresh sender key and salt.
StatusOr<std::vector<uint8_t>> EncryptWebPush(
    std::span<const uint8_t> plaintext, const WebPushReceiver& receiver);
// The same with the sender's ephemeral key and salt given (RFC 8291
// Appendix A's test vector fixes both).
StatusOr<std::vector<uint8_t>> EncryptWebPushWith(
    std::span<const uint8_t> plaintext, const WebPushReceiver& receiver,
    const P256Key& sender, std::span<const uint8_t, 16> salt);
// The receiving browser's side: the plaintext of `body` for the holder of
// `receiver_key` and `auth`. InvalidArgument for a malformed body,
// PermissionDenied when it does not decrypt.
StatusOr<std::vector<uint8_t>> DecryptWebPush(
    std::span<const uint8_t> body, const P256Key& receiver_key,
    std::span<const uint8_t, kWebPushAuthSize> auth);

// The value of the "Authorization" header that identifies the application
// server to a push service (RFC 8292 §3): "vapid t=<JWT>, k=<key>", the
// JWT signed with ES256 for `audience` (the push service's origin, e.g.
// "https://push.example.net"), expiring at `expires` (unix seconds), with
// `subject` (a "mailto:" or "https:" contact) as "sub".
StatusOr<std::string> VapidAuthorization(const P256Key& key,
                                         std::string_view audience,
                                         std::string_view subject,
                                         int64_t expires);
// Checks an ES256 JWS (`header.payload.signature`, base64url) against
// `key`; PermissionDenied when the signature does not verify.
Status VerifyEs256Jws(std::string_view jws, const P256PublicKey& key);

// Unpadded URL-safe base64 (RFC 4648 §5), the encoding of Web Push keys
// and JWTs. The decoder refuses padding and the standard alphabet's + and
// /, with InvalidArgument.
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
StatusOr<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_WEB_PUSH_H_
