#include "tillit/http_signature/http_signature.h"

#include <gtest/gtest.h>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"

namespace tillit::http_signature {
namespace {

SignatureParams Params() {
  SignatureParams p;
  p.created = 1795000000;
  p.keyid = "d_0123456789abcdef0123456789abcdef";
  p.nonce = "00112233445566778899aabbccddeeff";
  return p;
}

crypto::SigningKey Key() {
  crypto::SecretBytes seed = crypto::SecretBytes::Allocate(32);
  for (size_t i = 0; i < 32; ++i)
    seed.ExposeSecret()[i] = static_cast<uint8_t>(i);
  return std::move(crypto::SigningKey::FromSeed(seed)).value();
}

TEST(ContentDigest, MatchesRfc9530Example) {
  // RFC 9530 section 2, example body {"hello": "world"}.
  EXPECT_EQ(ContentDigest("{\"hello\": \"world\"}"),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
  EXPECT_EQ(ContentDigest(""),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
  EXPECT_TRUE(ContentDigestMatches(ContentDigest("abc"), "abc"));
  EXPECT_FALSE(ContentDigestMatches(ContentDigest("abc"), "abd"));
  EXPECT_FALSE(ContentDigestMatches("sha-256=:x:", "abc"));
}

TEST(SignatureBase, IsTheRfc9421Form) {
  const std::string base = SignatureBase(
      {"POST", "/v1/me/records?x=1%202", "sha-256=:AA==:"}, Params());
  EXPECT_EQ(base,
            "\"@method\": POST\n"
            "\"@path\": /v1/me/records\n"
            "\"@query\": ?x=1%202\n"
            "\"content-digest\": sha-256=:AA==:\n"
            "\"@signature-params\": (\"@method\" \"@path\" \"@query\" "
            "\"content-digest\");created=1795000000;"
            "keyid=\"d_0123456789abcdef0123456789abcdef\";"
            "nonce=\"00112233445566778899aabbccddeeff\";alg=\"ed25519\"");
  // No query: "?" alone.
  EXPECT_NE(
      SignatureBase({"GET", "/v1/me", "d"}, Params()).find("\"@query\": ?\n"),
      std::string::npos);
}

TEST(SignRequest, VerifiesAndCatchesEveryChange) {
  const crypto::SigningKey key = Key();
  const std::string body = R"({"resourceType":"Observation"})";
  SignedFields f = SignRequest(key, "POST", "/v1/me/records", body, Params());
  EXPECT_EQ(f.content_digest, ContentDigest(body));
  auto parsed = ParseSignature(f.signature_input, f.signature);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->params.keyid, Params().keyid);
  EXPECT_EQ(parsed->params.nonce, Params().nonce);
  EXPECT_EQ(parsed->params.created, Params().created);
  const RequestParts good{"POST", "/v1/me/records", f.content_digest};
  EXPECT_TRUE(VerifyRequestSignature(key.public_key(), *parsed, good));

  RequestParts other = good;
  other.method = "PUT";
  EXPECT_FALSE(VerifyRequestSignature(key.public_key(), *parsed, other));
  other = good;
  other.target = "/v1/me/consents";
  EXPECT_FALSE(VerifyRequestSignature(key.public_key(), *parsed, other));
  other = good;
  other.target = "/v1/me/records?limit=1";
  EXPECT_FALSE(VerifyRequestSignature(key.public_key(), *parsed, other));
  const std::string digest = ContentDigest("{}");
  other = good;
  other.content_digest = digest;
  EXPECT_FALSE(VerifyRequestSignature(key.public_key(), *parsed, other));
  // Other parameters than those signed.
  ReceivedSignature later = *parsed;
  later.params.created += 1;
  EXPECT_FALSE(VerifyRequestSignature(key.public_key(), later, good));
  // Another key.
  const crypto::SigningKey stranger =
      crypto::SigningKey::Generate(crypto::Random::System());
  EXPECT_FALSE(VerifyRequestSignature(stranger.public_key(), *parsed, good));
}

TEST(ParseSignature, RefusesEveryOtherForm) {
  const crypto::SigningKey key = Key();
  SignedFields f = SignRequest(key, "GET", "/v1/me", "", Params());
  const std::string in = f.signature_input;
  auto replaced = [&](const std::string& from, const std::string& to) {
    std::string s = in;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  const std::vector<std::string> bad_inputs = {
      "",
      replaced("tillit=", "sig1="),
      replaced("tillit=", "tillit= "),
      replaced("\"@query\" ", ""),
      replaced("(\"@method\"", "(\"@authority\" \"@method\""),
      replaced(";alg=\"ed25519\"", ""),
      replaced(";alg=\"ed25519\"", ";alg=\"rsa-pss-sha512\""),
      replaced(";alg=\"ed25519\"", ";alg=\"ed25519\";expires=1"),
      replaced("created=1795000000", "created=01795000000"),
      replaced("created=1795000000", "created=-1"),
      replaced("created=1795000000", "created=17950000x0"),
      replaced("created=1795000000", "created=\"1795000000\""),
      replaced("00112233445566778899aabbccddeeff", "0011223344"),
      replaced("00112233445566778899aabbccddeeff", "0011223344556677 8899"),
      replaced("00112233445566778899aabbccddeeff", std::string(65, 'a')),
      replaced("keyid=\"d_0123456789abcdef0123456789abcdef\"",
               "keyid=d_0123456789abcdef0123456789abcdef"),
      replaced("keyid=\"d_0123456789abcdef0123456789abcdef\"",
               "keyid=\"d/01\""),
      replaced(";keyid=\"d_0123456789abcdef0123456789abcdef\";nonce="
               "\"00112233445566778899aabbccddeeff\"",
               ";nonce=\"00112233445566778899aabbccddeeff\";keyid=\"d_"
               "0123456789abcdef0123456789abcdef\""),
      in + ", other=(\"@method\")",
  };
  for (const std::string& s : bad_inputs) {
    EXPECT_FALSE(ParseSignature(s, f.signature).ok()) << s;
  }
  const std::string sig = f.signature;
  const std::vector<std::string> bad_signatures = {
      "",
      "tillit=::",
      "sig1" + sig.substr(6),
      sig.substr(0, sig.size() - 1),
      "tillit=:" + crypto::Base64Encode(std::vector<uint8_t>(63, 1)) + ":",
      "tillit=:" + crypto::Base64Encode(std::vector<uint8_t>(65, 1)) + ":",
      "tillit=:not base64!:",
  };
  for (const std::string& s : bad_signatures) {
    EXPECT_FALSE(ParseSignature(in, s).ok()) << s;
  }
  EXPECT_TRUE(ParseSignature(in, sig).ok());
}

}  // namespace
}  // namespace tillit::http_signature
