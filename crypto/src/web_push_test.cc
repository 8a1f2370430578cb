#include "tillit/crypto/web_push.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

// RFC 8291 Appendix A: the sender's and receiver's keys, salt and auth
// secret, and the message the RFC says they make.
constexpr char kPlaintext[] = "When I grow up, I want to be a watermelon";
constexpr char kAsPrivate[] = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr char kAsPublic[] =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wE"
    "qKK6PBru3jl7A8";
constexpr char kUaPrivate[] = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
constexpr char kUaPublic[] =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZG"
    "H6SRpkNtoIAiw4";
constexpr char kSalt[] = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr char kAuth[] = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr char kBody[] =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgD"
    "ll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt"
    "2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

std::vector<uint8_t> B64(const char* text) {
  auto bytes = Base64UrlDecode(text);
  EXPECT_TRUE(bytes.ok()) << text;
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

P256Key KeyOf(const char* private_b64) {
  std::vector<uint8_t> d = B64(private_b64);
  auto key = P256Key::FromPrivate(SecretBytes::CopyFrom(d));
  EXPECT_TRUE(key.ok()) << key.status().ToString();
  return std::move(*key);
}

WebPushReceiver Receiver() {
  WebPushReceiver r;
  std::vector<uint8_t> pub = B64(kUaPublic);
  std::vector<uint8_t> auth = B64(kAuth);
  std::copy(pub.begin(), pub.end(), r.p256dh.begin());
  std::copy(auth.begin(), auth.end(), r.auth.begin());
  return r;
}

TEST(WebPushTest, PublicKeysAreDerivedFromThePrivateOnes) {
  EXPECT_EQ(Base64UrlEncode(KeyOf(kAsPrivate).public_key()), kAsPublic);
  EXPECT_EQ(Base64UrlEncode(KeyOf(kUaPrivate).public_key()), kUaPublic);
}

TEST(WebPushTest, EncryptionMatchesRfc8291AppendixA) {
  P256Key sender = KeyOf(kAsPrivate);
  std::vector<uint8_t> salt = B64(kSalt);
  auto body = EncryptWebPushWith(AsBytes(kPlaintext), Receiver(), sender,
                                 std::span<const uint8_t, 16>(salt.data(), 16));
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  EXPECT_EQ(Base64UrlEncode(*body), kBody);
}

TEST(WebPushTest, TheReceiverDecryptsTheRfcMessageAndAFreshOne) {
  P256Key receiver = KeyOf(kUaPrivate);
  const WebPushReceiver r = Receiver();
  auto plain = DecryptWebPush(B64(kBody), receiver, r.auth);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(std::string(plain->begin(), plain->end()), kPlaintext);

  // A fresh sender key and salt each time: two messages differ.
  auto one = EncryptWebPush(AsBytes("someone looked"), r);
  auto two = EncryptWebPush(AsBytes("someone looked"), r);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_NE(*one, *two);
  auto back = DecryptWebPush(*one, receiver, r.auth);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(std::string(back->begin(), back->end()), "someone looked");
}

TEST(WebPushTest, TamperedOrMisaddressedMessagesDoNotDecrypt) {
  P256Key receiver = KeyOf(kUaPrivate);
  const WebPushReceiver r = Receiver();
  std::vector<uint8_t> body = B64(kBody);
  body.back() ^= 1;
  EXPECT_EQ(DecryptWebPush(body, receiver, r.auth).status().code(),
            StatusCode::kPermissionDenied);
  std::array<uint8_t, kWebPushAuthSize> other_auth = r.auth;
  other_auth[0] ^= 1;
  EXPECT_EQ(DecryptWebPush(B64(kBody), receiver, other_auth).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(DecryptWebPush(std::vector<uint8_t>(40, 0), receiver, r.auth)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(WebPushTest, BadKeysAndOversizedMessagesAreRefused) {
  std::vector<uint8_t> pub = B64(kUaPublic);
  pub[64] ^= 1;  // off the curve
  EXPECT_EQ(ParseP256PublicKey(pub).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseP256PublicKey(std::vector<uint8_t>(33, 2)).ok());
  EXPECT_EQ(P256Key::FromPrivate(SecretBytes::Allocate(32)).status().code(),
            StatusCode::kInvalidArgument);  // zero
  EXPECT_EQ(P256Key::FromPrivate(SecretBytes::Allocate(31)).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<uint8_t> n_or_more(32, 0xff);  // beyond the group order
  EXPECT_EQ(
      P256Key::FromPrivate(SecretBytes::CopyFrom(n_or_more)).status().code(),
      StatusCode::kInvalidArgument);
  std::string big(kWebPushMaxPlaintext + 1, 'x');
  EXPECT_EQ(EncryptWebPush(AsBytes(big), Receiver()).status().code(),
            StatusCode::kInvalidArgument);
  std::string max(kWebPushMaxPlaintext, 'x');
  auto body = EncryptWebPush(AsBytes(max), Receiver());
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->size(), 4096u);  // RFC 8291 §4: at most 4,096 bytes
}

TEST(WebPushTest, VapidHeaderCarriesAnEs256JwtForTheAudience) {
  auto key = P256Key::Generate();
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto header = VapidAuthorization(*key, "https://push.example.net",
                                   "mailto:ops@example.org", 1767225600);
  ASSERT_TRUE(header.ok()) << header.status().ToString();
  ASSERT_EQ(header->rfind("vapid t=", 0), 0u) << *header;
  const size_t comma = header->find(", k=");
  ASSERT_NE(comma, std::string::npos);
  const std::string jwt = header->substr(8, comma - 8);
  EXPECT_EQ(header->substr(comma + 4), Base64UrlEncode(key->public_key()));
  ASSERT_TRUE(VerifyEs256Jws(jwt, key->public_key()).ok());
  const size_t dot = jwt.find('.');
  auto claims = Base64UrlDecode(jwt.substr(dot + 1, jwt.rfind('.') - dot - 1));
  ASSERT_TRUE(claims.ok());
  const nlohmann::json c =
      nlohmann::json::parse(std::string(claims->begin(), claims->end()));
  EXPECT_EQ(c["aud"], "https://push.example.net");
  EXPECT_EQ(c["exp"], 1767225600);
  EXPECT_EQ(c["sub"], "mailto:ops@example.org");
  // Another key, or another byte, does not verify.
  auto other = P256Key::Generate();
  EXPECT_EQ(VerifyEs256Jws(jwt, other->public_key()).code(),
            StatusCode::kPermissionDenied);
  std::string forged = jwt;
  forged[10] = forged[10] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyEs256Jws(forged, key->public_key()).ok());
}

TEST(WebPushTest, Base64UrlIsUnpaddedAndStrict) {
  const uint8_t bytes[] = {0xfb, 0xff, 0xfe};
  EXPECT_EQ(Base64UrlEncode(bytes), "-__-");
  EXPECT_EQ(Base64UrlEncode(AsBytes("a")), "YQ");
  EXPECT_EQ(*Base64UrlDecode("YQ"), std::vector<uint8_t>{'a'});
  for (const char* bad : {"YQ==", "+/+/", "Y", "Y!"}) {
    EXPECT_EQ(Base64UrlDecode(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace tillit::crypto
