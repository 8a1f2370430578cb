#include "tillit/http_signature/http_signature.h"

#include <charconv>

#include "tillit/crypto/constant_time.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"

namespace tillit::http_signature {
namespace {

constexpr std::string_view kCovered =
    R"(("@method" "@path" "@query" "content-digest"))";

bool IsTokenChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool IsTokenText(std::string_view s, size_t min, size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s) {
    if (!IsTokenChar(c)) return false;
  }
  return true;
}

// The part of the Signature-Input value after "tillit=".
std::string ParamsValue(const SignatureParams& p) {
  return std::string(kCovered) + ";created=" + std::to_string(p.created) +
         ";keyid=\"" + p.keyid + "\";nonce=\"" + p.nonce + "\";alg=\"ed25519\"";
}

// Reads `name=` then a value up to the next ';' (or the end).
bool TakeParam(std::string_view& rest, std::string_view name,
               std::string_view* value) {
  if (rest.empty() || rest[0] != ';') return false;
  rest.remove_prefix(1);
  if (rest.substr(0, name.size()) != name || rest.size() <= name.size() ||
      rest[name.size()] != '=') {
    return false;
  }
  rest.remove_prefix(name.size() + 1);
  const size_t end = rest.find(';');
  *value = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return true;
}

bool Unquote(std::string_view quoted, std::string_view* out) {
  if (quoted.size() < 2 || quoted.front() != '"' || quoted.back() != '"')
    return false;
  *out = quoted.substr(1, quoted.size() - 2);
  return true;
}

}  // namespace

std::string ContentDigest(std::string_view body) {
  const crypto::Digest d = crypto::Sha256(crypto::AsBytes(body));
  return "sha-256=:" + crypto::Base64Encode(d) + ":";
}

bool ContentDigestMatches(std::string_view field, std::string_view body) {
  const std::string expected = ContentDigest(body);
  return crypto::ConstantTimeEquals(crypto::AsBytes(field),
                                    crypto::AsBytes(expected));
}

std::string SignatureInputField(const SignatureParams& params) {
  return std::string(kSignatureLabel) + "=" + ParamsValue(params);
}

std::string SignatureBase(const RequestParts& request,
                          const SignatureParams& params) {
  const size_t q = request.target.find('?');
  const std::string_view path = request.target.substr(0, q);
  const std::string_view query = q == std::string_view::npos
                                     ? std::string_view("?")
                                     : request.target.substr(q);
  std::string base;
  base.reserve(256 + request.target.size());
  base += "\"@method\": ";
  base += request.method;
  base += "\n\"@path\": ";
  base += path;
  base += "\n\"@query\": ";
  base += query;
  base += "\n\"content-digest\": ";
  base += request.content_digest;
  base += "\n\"@signature-params\": ";
  base += ParamsValue(params);
  return base;
}

SignedFields SignRequest(const crypto::SigningKey& key, std::string_view method,
                         std::string_view target, std::string_view body,
                         const SignatureParams& params) {
  SignedFields out;
  out.content_digest = ContentDigest(body);
  out.signature_input = SignatureInputField(params);
  const std::string base =
      SignatureBase({method, target, out.content_digest}, params);
  const crypto::Ed25519Signature sig = key.Sign(crypto::AsBytes(base));
  out.signature =
      std::string(kSignatureLabel) + "=:" + crypto::Base64Encode(sig) + ":";
  return out;
}

StatusOr<ReceivedSignature> ParseSignature(std::string_view signature_input,
                                           std::string_view signature) {
  auto bad = [](std::string_view why) {
    return Status::InvalidArgument("Signature-Input: " + std::string(why));
  };
  const std::string label_eq = std::string(kSignatureLabel) + "=";
  if (signature_input.substr(0, label_eq.size()) != label_eq)
    return bad("one signature labelled \"tillit\" is expected");
  std::string_view rest = signature_input.substr(label_eq.size());
  if (rest.substr(0, kCovered.size()) != kCovered) {
    return bad(
        "the covered components must be (\"@method\" \"@path\" \"@query\" "
        "\"content-digest\")");
  }
  rest.remove_prefix(kCovered.size());

  ReceivedSignature out;
  std::string_view created, keyid, nonce, alg;
  if (!TakeParam(rest, "created", &created) ||
      !TakeParam(rest, "keyid", &keyid) || !TakeParam(rest, "nonce", &nonce) ||
      !TakeParam(rest, "alg", &alg) || !rest.empty()) {
    return bad("the parameters must be created, keyid, nonce and alg");
  }
  auto [end, ec] = std::from_chars(
      created.data(), created.data() + created.size(), out.params.created);
  if (ec != std::errc() || end != created.data() + created.size() ||
      created.empty() || created.size() > 12 || out.params.created < 0 ||
      (created.size() > 1 && created[0] == '0')) {
    return bad("created must be a non-negative integer");
  }
  std::string_view text;
  if (!Unquote(keyid, &text) || !IsTokenText(text, 1, kMaxKeyIdSize))
    return bad("keyid must be a quoted device id");
  out.params.keyid = std::string(text);
  if (!Unquote(nonce, &text) ||
      !IsTokenText(text, kMinNonceSize, kMaxNonceSize)) {
    return bad("nonce must be a quoted string of 16 to 64 of A-Z a-z 0-9 _ -");
  }
  out.params.nonce = std::string(text);
  if (alg != "\"ed25519\"") return bad("alg must be \"ed25519\"");
  // One canonical spelling only.
  if (SignatureInputField(out.params) != signature_input)
    return bad("not in canonical form");

  const std::string sig_prefix = label_eq + ":";
  if (signature.size() < sig_prefix.size() + 1 ||
      signature.substr(0, sig_prefix.size()) != sig_prefix ||
      signature.back() != ':') {
    return Status::InvalidArgument(
        "Signature: one signature labelled \"tillit\" is expected");
  }
  auto bytes = crypto::Base64Decode(signature.substr(
      sig_prefix.size(), signature.size() - sig_prefix.size() - 1));
  if (!bytes.ok() || bytes->size() != out.signature.size()) {
    return Status::InvalidArgument(
        "Signature: must be 64 bytes of base64 between colons");
  }
  std::copy(bytes->begin(), bytes->end(), out.signature.begin());
  return out;
}

bool VerifyRequestSignature(const crypto::Ed25519PublicKey& public_key,
                            const ReceivedSignature& received,
                            const RequestParts& request) {
  const std::string base = SignatureBase(request, received.params);
  return crypto::VerifyEd25519(public_key, crypto::AsBytes(base),
                               received.signature);
}

}  // namespace tillit::http_signature
