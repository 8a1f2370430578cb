#include "tillit/crypto/encoding.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace tillit::crypto {
namespace {

std::vector<uint8_t> Bytes(std::string_view s) {
  auto b = AsBytes(s);
  return {b.begin(), b.end()};
}

std::string_view View(const SecretBytes& s) {
  return {reinterpret_cast<const char*>(s.ExposeSecret()), s.size()};
}

TEST(AsBytesTest, ViewsWithoutCopying) {
  std::string_view text = "abc";
  std::span<const uint8_t> bytes = AsBytes(text);
  EXPECT_EQ(bytes.size(), 3u);
  EXPECT_EQ(static_cast<const void*>(bytes.data()),
            static_cast<const void*>(text.data()));
  EXPECT_TRUE(AsBytes("").empty());
}

// RFC 4648 section 10.
struct Vector {
  const char* plain;
  const char* base64;
  const char* hex;
};
constexpr Vector kRfc4648[] = {
    {"", "", ""},
    {"f", "Zg==", "66"},
    {"fo", "Zm8=", "666f"},
    {"foo", "Zm9v", "666f6f"},
    {"foob", "Zm9vYg==", "666f6f62"},
    {"fooba", "Zm9vYmE=", "666f6f6261"},
    {"foobar", "Zm9vYmFy", "666f6f626172"},
};

TEST(Base64Test, KnownAnswers) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(Base64Encode(AsBytes(v.plain)), v.base64) << v.plain;
    StatusOr<std::vector<uint8_t>> d = Base64Decode(v.base64);
    ASSERT_TRUE(d.ok()) << v.base64;
    EXPECT_EQ(*d, Bytes(v.plain));
  }
}

TEST(Base64Test, UsesStandardAlphabet) {
  const std::vector<uint8_t> bytes = {0xfb, 0xff, 0xbf};
  EXPECT_EQ(Base64Encode(bytes), "+/+/");
  EXPECT_EQ(*Base64Decode("+/+/"), bytes);
}

TEST(Base64Test, RoundTripsEveryByteValue) {
  std::vector<uint8_t> all(256);
  for (int i = 0; i < 256; ++i) all[i] = static_cast<uint8_t>(i);
  for (size_t n = 0; n <= all.size(); n += 17) {
    std::span<const uint8_t> part(all.data(), n);
    StatusOr<std::vector<uint8_t>> d = Base64Decode(Base64Encode(part));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, std::vector<uint8_t>(part.begin(), part.end()));
  }
}

// Found by the checkpoint and signature_input fuzz targets: libsodium's
// decoder alone reads some bytes outside the alphabet as letters.
TEST(Base64Test, RejectsEveryByteOutsideTheAlphabet) {
  const std::string good = "XcnaeacGWamtVZy3Ad7Zoqlj0iG+p0lgz+Nw7/RgQyg=";
  ASSERT_TRUE(Base64Decode(good).ok());
  EXPECT_FALSE(
      Base64Decode("XcnaeacGWamtVZy3Ad7Zoql\xc8\x90iG+p0lgz+Nw7/RgQyg=").ok());
  for (int c = 0; c < 256; ++c) {
    const bool alphabet = std::isalnum(c) != 0 || c == '+' || c == '/';
    std::string text = good;
    text[5] = static_cast<char>(c);
    EXPECT_EQ(Base64Decode(text).ok(), alphabet) << "byte " << c;
  }
  EXPECT_FALSE(Base64Decode("Zg=a").ok());  // data after padding
  EXPECT_FALSE(Base64Decode("=Zg=").ok());
}

TEST(Base64Test, RejectsMalformedInput) {
  const char* bad[] = {
      "Zg",          // padding missing
      "Zg=",         // padding short
      "Zg===",       // padding long
      "Zm9v=",       // padding where none belongs
      "Zh==",        // non-zero unused bits (non-canonical)
      "Zm8",         // length not a multiple of 4
      "Zm9vYmFy=",   // trailing padding
      "Zm9v YmFy",   // whitespace is not ignored
      "Zm9vYmFy\n",  // neither is a newline
      " Zm9vYmFy",
      "Zm9-YmFy",  // URL-safe alphabet
      "Zm9_YmFy",   "Zm9v*mFy", "====", "A===", "Zg=A",
      "Zg==Zg==",  // padding in the middle
      "Z",
  };
  for (const char* text : bad) {
    StatusOr<std::vector<uint8_t>> d = Base64Decode(text);
    EXPECT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text;
    StatusOr<SecretBytes> s = Base64DecodeSecret(text);
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(Base64Test, RejectsEmbeddedNul) {
  const std::string text("Zm9v\0mFy", 8);
  EXPECT_EQ(Base64Decode(text).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Base64DecodeSecret(text).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Base64Test, ErrorDoesNotEchoInput) {
  StatusOr<std::vector<uint8_t>> d = Base64Decode("c2VjcmV0!");
  EXPECT_EQ(d.status().message().find("c2VjcmV0"), std::string::npos);
}

TEST(HexTest, KnownAnswers) {
  for (const Vector& v : kRfc4648) {
    EXPECT_EQ(HexEncode(AsBytes(v.plain)), v.hex);
    StatusOr<std::vector<uint8_t>> d = HexDecode(v.hex);
    ASSERT_TRUE(d.ok()) << v.hex;
    EXPECT_EQ(*d, Bytes(v.plain));
  }
  const std::vector<uint8_t> high = {0x00, 0x7f, 0x80, 0xab, 0xff};
  EXPECT_EQ(HexEncode(high), "007f80abff");
}

TEST(HexTest, DecodesUppercase) {
  StatusOr<std::vector<uint8_t>> d = HexDecode("ABff");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (std::vector<uint8_t>{0xab, 0xff}));
}

TEST(HexTest, RejectsMalformedInput) {
  const char* bad[] = {"a",   "abc", "0g",   "g0",    "zz",
                       " 00", "00 ", "0x00", "00:11", "-1"};
  for (const char* text : bad) {
    StatusOr<std::vector<uint8_t>> d = HexDecode(text);
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_EQ(HexDecode(std::string("0\0", 2)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SecretEncodingTest, Base64EncodeSecretMatchesPublicEncoder) {
  for (const Vector& v : kRfc4648) {
    SecretBytes text =
        Base64EncodeSecret(SecretBytes::CopyFrom(std::string_view(v.plain)));
    EXPECT_EQ(View(text), v.base64);  // size excludes any NUL
  }
}

TEST(SecretEncodingTest, HexEncodeSecretMatchesPublicEncoder) {
  for (const Vector& v : kRfc4648) {
    SecretBytes text =
        HexEncodeSecret(SecretBytes::CopyFrom(std::string_view(v.plain)));
    EXPECT_EQ(View(text), v.hex);
  }
  const uint8_t key[] = {0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(View(HexEncodeSecret(SecretBytes::CopyFrom(key))), "deadbeef");
}

TEST(SecretEncodingTest, Base64DecodeSecretRoundTrips) {
  for (const Vector& v : kRfc4648) {
    StatusOr<SecretBytes> d = Base64DecodeSecret(v.base64);
    ASSERT_TRUE(d.ok()) << v.base64;
    EXPECT_EQ(View(*d), v.plain);
  }
  const SecretBytes key = SecretBytes::CopyFrom(
      std::string_view("0123456789abcdef0123456789abcdef"));
  const SecretBytes text = Base64EncodeSecret(key);
  StatusOr<SecretBytes> back = Base64DecodeSecret(View(text));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(key));
}

}  // namespace
}  // namespace tillit::crypto
