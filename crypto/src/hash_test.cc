#include "tillit/crypto/hash.h"

#include <gtest/gtest.h>

#include <string>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

std::string Hex(const Digest& d) { return HexEncode(d); }

// FIPS 180-2 appendix B and the empty string.
TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256(AsBytes(""))),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(AsBytes(
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, OneMillionAs) {
  Sha256Hasher h;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(AsBytes(chunk));
  EXPECT_EQ(Hex(h.Finish()),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256HasherTest, PiecesMatchOneShot) {
  const std::string text = "the quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Sha256Hasher h;
    h.Update(AsBytes(std::string_view(text).substr(0, cut)));
    h.Update(AsBytes(std::string_view(text).substr(cut)));
    EXPECT_EQ(h.Finish(), Sha256(AsBytes(text))) << cut;
  }
}

TEST(Sha256HasherTest, FinishResets) {
  Sha256Hasher h;
  h.Update(AsBytes("abc"));
  EXPECT_EQ(h.Finish(), Sha256(AsBytes("abc")));
  EXPECT_EQ(h.Finish(), Sha256(AsBytes("")));
  h.Update(AsBytes("abc"));
  EXPECT_EQ(h.Finish(), Sha256(AsBytes("abc")));
}

TEST(Sha256HasherTest, CopyContinuesIndependently) {
  Sha256Hasher prefix;
  prefix.Update(AsBytes("ab"));
  Sha256Hasher copy = prefix;
  copy.Update(AsBytes("c"));
  prefix.Update(AsBytes("d"));
  EXPECT_EQ(copy.Finish(), Sha256(AsBytes("abc")));
  EXPECT_EQ(prefix.Finish(), Sha256(AsBytes("abd")));
}

SecretBytes KeyOfSize(size_t n, uint8_t fill = 0x42) {
  SecretBytes k = SecretBytes::Allocate(n);
  for (size_t i = 0; i < n; ++i) k.ExposeSecret()[i] = fill;
  return k;
}

TEST(KeyedHashTest, MatchesBlake2bWithA32ByteOutput) {
  const SecretBytes key = KeyOfSize(32);
  StatusOr<Digest> d = KeyedHash(key, AsBytes("c_123"));
  ASSERT_TRUE(d.ok());
  Digest expected;
  ASSERT_EQ(crypto_generichash(expected.data(), expected.size(),
                               AsBytes("c_123").data(), 5, key.ExposeSecret(),
                               key.size()),
            0);
  EXPECT_EQ(*d, expected);
}

TEST(KeyedHashTest, DependsOnKeyAndMessage) {
  const Digest a = *KeyedHash(KeyOfSize(32, 1), AsBytes("c_123"));
  EXPECT_EQ(a, *KeyedHash(KeyOfSize(32, 1), AsBytes("c_123")));
  EXPECT_NE(a, *KeyedHash(KeyOfSize(32, 2), AsBytes("c_123")));
  EXPECT_NE(a, *KeyedHash(KeyOfSize(32, 1), AsBytes("c_124")));
  EXPECT_NE(a, Sha256(AsBytes("c_123")));
}

TEST(KeyedHashTest, AcceptsKeySizesFrom16To64) {
  for (size_t n : {16u, 17u, 32u, 63u, 64u}) {
    EXPECT_TRUE(KeyedHash(KeyOfSize(n), AsBytes("x")).ok()) << n;
  }
}

TEST(KeyedHashTest, RejectsOtherKeySizes) {
  for (size_t n : {0u, 1u, 15u, 65u, 128u}) {
    StatusOr<Digest> d = KeyedHash(KeyOfSize(n), AsBytes("x"));
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << n;
  }
}

}  // namespace
}  // namespace tillit::crypto
