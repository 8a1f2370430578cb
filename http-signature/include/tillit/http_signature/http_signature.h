// HTTP Message Signatures (RFC 9421) as tillit's paired devices use them,
// with the Content-Digest field of RFC 9530. Shared by the server, which
// verifies, and the mobile bridge, which signs.
//
// A signed request carries three fields:
//
//   Content-Digest: sha-256=:<base64 SHA-256 of the body>:
//   Signature-Input: tillit=("@method" "@path" "@query" "content-digest")
//                    ;created=<unix seconds>;keyid="<device id>"
//                    ;nonce="<16 to 64 of A-Z a-z 0-9 _ ->";alg="ed25519"
//   Signature: tillit=:<base64 Ed25519 signature>:
//
// (Signature-Input is one line; it is folded here.) The body's digest is
// sent even for an empty body. The signature is over the signature base of
// RFC 9421 section 2.5:
//
//   "@method": POST
//   "@path": /v1/me/records
//   "@query": ?limit=10
//   "content-digest": sha-256=:...:
//   "@signature-params": ("@method" ... );created=...;...;alg="ed25519"
//
// lines joined by "\n" with no newline at the end. @path and @query are the
// request target exactly as sent (no decoding); @query is "?" alone when
// there is no query. Only this one covered set, this parameter order and
// one signature labelled "tillit" are accepted: the parser re-serialises
// what it read and refuses anything that is not byte-for-byte canonical,
// so there is a single way to write a valid signature.
//
// Thread-safety: pure functions.
#ifndef TILLIT_HTTP_SIGNATURE_HTTP_SIGNATURE_H_
#define TILLIT_HTTP_SIGNATURE_HTTP_SIGNATURE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/crypto/signing.h"

namespace tillit::http_signature {

inline constexpr std::string_view kSignatureLabel = "tillit";
inline constexpr size_t kMinNonceSize = 16;
inline constexpr size_t kMaxNonceSize = 64;
inline constexpr size_t kMaxKeyIdSize = 64;

struct SignatureParams {
  int64_t created = 0;  // seconds since the epoch
  std::string keyid;    // the device id (d_…)
  std::string nonce;    // unique per request from this device
};

// The covered parts of one request.
struct RequestParts {
  std::string_view method;          // "GET", "POST", ...
  std::string_view target;          // path and query as sent: /v1/x?a=b
  std::string_view content_digest;  // the Content-Digest field's value
};

// "sha-256=:<base64>:" for `body`.
std::string ContentDigest(std::string_view body);
// True when `field` is exactly ContentDigest(body) (compared in constant
// time over equal lengths).
bool ContentDigestMatches(std::string_view field, std::string_view body);

// The Signature-Input field's value for `params` (label included).
std::string SignatureInputField(const SignatureParams& params);
// The signature base (RFC 9421 section 2.5) over `request` and `params`.
std::string SignatureBase(const RequestParts& request,
                          const SignatureParams& params);

struct SignedFields {
  std::string content_digest;
  std::string signature_input;
  std::string signature;
};
// The three fields for a request with `method`, `target` and `body`.
SignedFields SignRequest(const crypto::SigningKey& key, std::string_view method,
                         std::string_view target, std::string_view body,
                         const SignatureParams& params);

struct ReceivedSignature {
  SignatureParams params;
  crypto::Ed25519Signature signature{};
};
// Parses the Signature-Input and Signature fields. InvalidArgument, with
// the reason, for anything but the one canonical form described above
// (other labels, covered components or parameters, a missing or extra
// parameter, a keyid or nonce outside its alphabet or length, a signature
// that is not 64 bytes of base64).
StatusOr<ReceivedSignature> ParseSignature(std::string_view signature_input,
                                           std::string_view signature);
// True when `received.signature` is `public_key`'s signature of the base
// of `request` under `received.params`.
bool VerifyRequestSignature(const crypto::Ed25519PublicKey& public_key,
                            const ReceivedSignature& received,
                            const RequestParts& request);

}  // namespace tillit::http_signature

#endif  // TILLIT_HTTP_SIGNATURE_HTTP_SIGNATURE_H_
