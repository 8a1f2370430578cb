#include "tillit/crypto/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

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

TEST(Sha256HasherTest, AssignmentTakesTheOtherState) {
  Sha256Hasher a;
  a.Update(AsBytes("ab"));
  Sha256Hasher b;
  b.Update(AsBytes("something else entirely"));
  b = a;
  b.Update(AsBytes("c"));
  a.Update(AsBytes("d"));
  EXPECT_EQ(b.Finish(), Sha256(AsBytes("abc")));
  EXPECT_EQ(a.Finish(), Sha256(AsBytes("abd")));
  Sha256Hasher& same = a;
  a.Update(AsBytes("x"));
  a = same;
  EXPECT_EQ(a.Finish(), Sha256(AsBytes("x")));
}

TEST(Sha256Test, EveryThreadHashesAlike) {
  // The one-shot hash keeps a context per thread.
  std::vector<Digest> got(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&got, t] {
      for (int i = 0; i < 1000; ++i) got[t] = Sha256(AsBytes("abc"));
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Digest& d : got)
    EXPECT_EQ(
        Hex(d),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
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

TEST(KeyedHashSecretTest, EqualsKeyedHashInSecureMemory) {
  const SecretBytes key = KeyOfSize(32, 7);
  StatusOr<SecretBytes> secret = KeyedHashSecret(key, AsBytes("study s_1"));
  ASSERT_TRUE(secret.ok());
  const Digest d = *KeyedHash(key, AsBytes("study s_1"));
  EXPECT_EQ(HexEncode(secret->ExposeSecretSpan()), HexEncode(d));
}

TEST(KeyedHashSecretTest, RejectsOtherKeySizes) {
  for (size_t n : {0u, 15u, 65u}) {
    EXPECT_EQ(KeyedHashSecret(KeyOfSize(n), AsBytes("x")).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

SecretBytes CountingKey() {
  SecretBytes k = SecretBytes::Allocate(32);
  for (size_t i = 0; i < k.size(); ++i)
    k.ExposeSecret()[i] = static_cast<uint8_t>(i);
  return k;
}

KeyedHasher HasherOf(SecretBytes key, size_t digest_size) {
  StatusOr<KeyedHasher> h = KeyedHasher::Create(std::move(key), digest_size);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return std::move(h).value();
}

// BLAKE2b keyed with the bytes 00..1f over the length-prefixed fields, as
// libsodium's crypto_generichash (and Python's hashlib.blake2b) give it.
TEST(KeyedHasherTest, KnownAnswers) {
  EXPECT_EQ(HexEncode(HasherOf(CountingKey(), 16).HashFields({"abc"})),
            "e66ff3421a8e899ea521cf234e7c5905");
  EXPECT_EQ(
      HexEncode(HasherOf(CountingKey(), 64).HashFields({"tillit", "", "v1"})),
      "6510b10c90e691758a688af1ade8110b5a7067a2c0dc13e93b75b9962df5018b"
      "83c186326b88e0c4f9d1803191487823b800a77a3bfbc2e0df6e088e293c67bb");
  EXPECT_EQ(HexEncode(HasherOf(CountingKey(), 32).HashFields({})),
            "4e51e7a913fc80137da52880fecca175bf81e117d5c68126dc2774033517ea0d");
}

TEST(KeyedHasherTest, OneFieldIsKeyedHashOfItsEncoding) {
  const KeyedHasher h = HasherOf(KeyOfSize(32, 3), 32);
  EXPECT_EQ(h.digest_size(), 32u);
  const std::string encoded = std::string("\x05\0\0\0\0\0\0\0", 8) + "c_123";
  const Digest expected = *KeyedHash(KeyOfSize(32, 3), AsBytes(encoded));
  EXPECT_EQ(h.HashFields({"c_123"}),
            std::vector<uint8_t>(expected.begin(), expected.end()));
}

TEST(KeyedHasherTest, FieldListsDoNotCollide) {
  const KeyedHasher h = HasherOf(KeyOfSize(32), 16);
  EXPECT_NE(h.HashFields({"ab", "c"}), h.HashFields({"a", "bc"}));
  EXPECT_NE(h.HashFields({}), h.HashFields({""}));
  EXPECT_NE(h.HashFields({""}), h.HashFields({"", ""}));
  EXPECT_EQ(h.HashFields({"a", "b"}), h.HashFields({"a", "b"}));
  EXPECT_EQ(h.HashFields({"a"}).size(), 16u);
}

TEST(KeyedHasherTest, DependsOnKeyAndDigestSize) {
  const std::vector<uint8_t> a =
      HasherOf(KeyOfSize(32, 1), 16).HashFields({"x"});
  EXPECT_NE(a, HasherOf(KeyOfSize(32, 2), 16).HashFields({"x"}));
  // A longer digest is another hash, not an extension of the shorter one.
  const std::vector<uint8_t> b =
      HasherOf(KeyOfSize(32, 1), 32).HashFields({"x"});
  EXPECT_NE(a, std::vector<uint8_t>(b.begin(), b.begin() + 16));
}

TEST(KeyedHasherTest, CopiesAndMovedFromHashersKeepTheKey) {
  KeyedHasher h = HasherOf(KeyOfSize(32), 16);
  const std::vector<uint8_t> expected = h.HashFields({"x"});
  const KeyedHasher copy = h;
  const KeyedHasher moved = std::move(h);
  EXPECT_EQ(copy.HashFields({"x"}), expected);
  EXPECT_EQ(moved.HashFields({"x"}), expected);
  // NOLINTNEXTLINE(bugprone-use-after-move): the contract under test
  EXPECT_EQ(h.HashFields({"x"}), expected);
}

TEST(KeyedHasherTest, RejectsOtherKeyAndDigestSizes) {
  for (size_t n : {0u, 1u, 15u, 65u}) {
    EXPECT_EQ(KeyedHasher::Create(KeyOfSize(n), 32).status().code(),
              StatusCode::kInvalidArgument)
        << n;
    EXPECT_EQ(KeyedHasher::Create(KeyOfSize(32), n).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
  EXPECT_TRUE(KeyedHasher::Create(KeyOfSize(16), 64).ok());
  EXPECT_TRUE(KeyedHasher::Create(KeyOfSize(64), 16).ok());
}

}  // namespace
}  // namespace tillit::crypto
