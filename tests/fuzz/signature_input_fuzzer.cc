// Fuzz target: the RFC 9421 Signature-Input and Signature fields of a paired
// device's request (http_signature::ParseSignature), which the server reads
// before it knows who is calling.
//
// The bytes up to the first newline are the Signature-Input field, the rest
// the Signature field (header values hold no newline). The parser promises
// one canonical spelling: what it accepts must be exactly what
// SignatureInputField and the Signature form write for the parsed values.
// The parsed parameters, used to sign a fixed request with a fixed test
// key, must give fields that parse and verify.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"
#include "tillit/http_signature/http_signature.h"

namespace tillit::fuzz {
namespace {

const crypto::SigningKey& TestKey() {
  static const crypto::SigningKey* const key = [] {
    std::vector<uint8_t> seed(32, 0x42);
    StatusOr<crypto::SigningKey> k =
        crypto::SigningKey::FromSeed(crypto::SecretBytes::CopyFrom(seed));
    TILLIT_FUZZ_CHECK(k.ok());
    return new crypto::SigningKey(*std::move(k));
  }();
  return *key;
}

bool IsToken(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace
}  // namespace tillit::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  namespace hs = tillit::http_signature;
  const std::string_view text = AsText(data, size);
  const size_t newline = text.find('\n');
  const std::string_view input = text.substr(0, newline);
  const std::string_view signature = newline == std::string_view::npos
                                         ? std::string_view()
                                         : text.substr(newline + 1);

  StatusOr<hs::ReceivedSignature> got = hs::ParseSignature(input, signature);
  if (!got.ok()) {
    TILLIT_FUZZ_CHECK(got.status().code() == StatusCode::kInvalidArgument);
    return 0;
  }
  const hs::SignatureParams& params = got->params;
  TILLIT_FUZZ_CHECK(params.created >= 0);
  TILLIT_FUZZ_CHECK(IsToken(params.keyid, 1, hs::kMaxKeyIdSize));
  TILLIT_FUZZ_CHECK(
      IsToken(params.nonce, hs::kMinNonceSize, hs::kMaxNonceSize));
  // One spelling only.
  TILLIT_FUZZ_CHECK(hs::SignatureInputField(params) == input);
  TILLIT_FUZZ_CHECK(std::string(hs::kSignatureLabel) +
                        "=:" + crypto::Base64Encode(got->signature) + ":" ==
                    signature);

  // The fixed request, signed under the parsed parameters, verifies; the
  // received signature is checked against it like the server would.
  const std::string_view method = "POST";
  const std::string_view target = "/v1/me/records?limit=10";
  const std::string_view body = R"({"resourceType":"Observation"})";
  const hs::SignedFields fields =
      hs::SignRequest(TestKey(), method, target, body, params);
  TILLIT_FUZZ_CHECK(hs::ContentDigestMatches(fields.content_digest, body));
  StatusOr<hs::ReceivedSignature> ours =
      hs::ParseSignature(fields.signature_input, fields.signature);
  TILLIT_FUZZ_CHECK(ours.ok());
  const hs::RequestParts request = {method, target, fields.content_digest};
  TILLIT_FUZZ_CHECK(
      hs::VerifyRequestSignature(TestKey().public_key(), *ours, request));
  (void)hs::VerifyRequestSignature(TestKey().public_key(), *got, request);
  return 0;
}
