#include "tillit/crypto/aead.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<AeadKey>);
static_assert(!std::is_copy_assignable_v<AeadKey>);
static_assert(std::is_nothrow_move_constructible_v<AeadKey>);
static_assert(!std::is_default_constructible_v<AeadKey>);

// Fills every request with 0x40, 0x41, 0x42, ...
class CountingRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override {
    std::generate(out.begin(), out.end(), [this] { return next_++; });
  }

 private:
  uint8_t next_ = 0x40;
};

SecretBytes KeyBytes(uint8_t first) {
  SecretBytes k = SecretBytes::Allocate(kAeadKeySize);
  for (size_t i = 0; i < k.size(); ++i) {
    k.ExposeSecret()[i] = static_cast<uint8_t>(first + i);
  }
  return k;
}

AeadKey MakeKey(uint8_t first, uint32_t version) {
  return std::move(AeadKey::Create(KeyBytes(first), version)).value();
}

std::string AsString(const std::vector<uint8_t>& v) {
  return {v.begin(), v.end()};
}

void ExpectDecryptionFailed(const AeadKey& key,
                            std::span<const uint8_t> envelope,
                            std::span<const uint8_t> ad,
                            const std::string& why) {
  StatusOr<std::vector<uint8_t>> open = key.Open(envelope, ad);
  ASSERT_FALSE(open.ok()) << why;
  EXPECT_EQ(open.status().code(), StatusCode::kDataLoss) << why;
  EXPECT_EQ(open.status().message(), "decryption failed") << why;
  StatusOr<SecretBytes> secret = key.OpenSecret(envelope, ad);
  ASSERT_FALSE(secret.ok()) << why;
  EXPECT_EQ(secret.status().code(), StatusCode::kDataLoss) << why;
  EXPECT_EQ(secret.status().message(), "decryption failed") << why;
}

TEST(AeadKeyTest, CreateRequires32ByteKey) {
  for (size_t n : {0u, 16u, 31u, 33u, 64u}) {
    StatusOr<AeadKey> key = AeadKey::Create(SecretBytes::Allocate(n), 1);
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << n;
  }
  StatusOr<AeadKey> key = AeadKey::Create(KeyBytes(0), 9);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->version(), 9u);
}

TEST(AeadKeyTest, RoundTripsPlaintextsOfManySizes) {
  const AeadKey key = MakeKey(0, 1);
  DeterministicRandom rng(1);
  const std::vector<uint8_t> ad = {'c', '_', '1'};
  for (size_t n : {0u, 1u, 15u, 16u, 17u, 64u, 1000u, 65536u}) {
    std::vector<uint8_t> plaintext(n);
    rng.Fill(plaintext);
    const std::vector<uint8_t> envelope = key.Seal(plaintext, ad, rng);
    EXPECT_EQ(envelope.size(), n + kEnvelopeOverhead);
    StatusOr<std::vector<uint8_t>> open = key.Open(envelope, ad);
    ASSERT_TRUE(open.ok()) << n;
    EXPECT_EQ(*open, plaintext);
    StatusOr<SecretBytes> secret = key.OpenSecret(envelope, ad);
    ASSERT_TRUE(secret.ok()) << n;
    EXPECT_TRUE(secret->Equals(SecretBytes::CopyFrom(plaintext)));
  }
}

TEST(AeadKeyTest, EmptyAssociatedDataIsAllowedButBinding) {
  const AeadKey key = MakeKey(0, 1);
  DeterministicRandom rng(2);
  const std::vector<uint8_t> envelope = key.Seal(AsBytes("x"), {}, rng);
  ASSERT_TRUE(key.Open(envelope, {}).ok());
  ExpectDecryptionFailed(key, envelope, AsBytes("c_1"), "AD added");
}

TEST(AeadKeyTest, SealSecretRoundTrips) {
  const AeadKey key = MakeKey(0, 3);
  DeterministicRandom rng(3);
  const SecretBytes dek = rng.Secret(32);
  const std::vector<uint8_t> wrapped =
      key.SealSecret(dek, AsBytes("c_1|v3"), rng);
  EXPECT_EQ(wrapped.size(), 32 + kEnvelopeOverhead);
  StatusOr<SecretBytes> unwrapped = key.OpenSecret(wrapped, AsBytes("c_1|v3"));
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_TRUE(unwrapped->Equals(dek));
  // Seal and SealSecret make the same kind of envelope.
  StatusOr<std::vector<uint8_t>> open = key.Open(wrapped, AsBytes("c_1|v3"));
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(SecretBytes::CopyFrom(*open).Equals(dek));
  EXPECT_TRUE(key.SealSecret(SecretBytes(), AsBytes("a"), rng).size() ==
              kEnvelopeOverhead);
}

// The documented layout, checked against libsodium directly.
TEST(AeadKeyTest, EnvelopeLayout) {
  const AeadKey key = MakeKey(0x10, 0x01020304);
  CountingRandom rng;
  const std::string ad = "citizen c_42";
  const std::string plaintext = "hello, vault";
  const std::vector<uint8_t> envelope =
      key.Seal(AsBytes(plaintext), AsBytes(ad), rng);
  ASSERT_EQ(envelope.size(), plaintext.size() + kEnvelopeOverhead);

  EXPECT_EQ(envelope[0], 0x01);
  EXPECT_EQ(envelope[1], 0x01);
  EXPECT_EQ(envelope[2], 0x02);
  EXPECT_EQ(envelope[3], 0x03);
  EXPECT_EQ(envelope[4], 0x04);
  for (size_t i = 0; i < kEnvelopeNonceSize; ++i) {
    EXPECT_EQ(envelope[5 + i], 0x40 + i) << i;
  }

  std::vector<uint8_t> full_ad(envelope.begin(), envelope.begin() + 5);
  full_ad.insert(full_ad.end(), ad.begin(), ad.end());
  std::vector<uint8_t> expected(plaintext.size() + kEnvelopeTagSize);
  unsigned long long written = 0;
  const SecretBytes raw = KeyBytes(0x10);
  ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_encrypt(
                expected.data(), &written, AsBytes(plaintext).data(),
                plaintext.size(), full_ad.data(), full_ad.size(), nullptr,
                envelope.data() + 5, raw.ExposeSecret()),
            0);
  EXPECT_EQ(std::vector<uint8_t>(envelope.begin() + 29, envelope.end()),
            expected);
}

TEST(AeadKeyTest, NonceComesFromTheInjectedRandom) {
  const AeadKey key = MakeKey(0, 1);
  DeterministicRandom a(5);
  DeterministicRandom b(5);
  EXPECT_EQ(key.Seal(AsBytes("m"), AsBytes("ad"), a),
            key.Seal(AsBytes("m"), AsBytes("ad"), b));
  // A fresh nonce each time.
  EXPECT_NE(key.Seal(AsBytes("m"), AsBytes("ad"), a),
            key.Seal(AsBytes("m"), AsBytes("ad"), a));
  Random& system = Random::System();
  EXPECT_NE(key.Seal(AsBytes("m"), AsBytes("ad"), system),
            key.Seal(AsBytes("m"), AsBytes("ad"), system));
}

TEST(AeadKeyTest, EveryOpenFailureLooksTheSame) {
  const AeadKey key = MakeKey(0, 7);
  DeterministicRandom rng(6);
  const std::vector<uint8_t> ad = {'c', '_', '1'};
  const std::vector<uint8_t> good = key.Seal(AsBytes("secret record"), ad, rng);
  ASSERT_TRUE(key.Open(good, ad).ok());

  ExpectDecryptionFailed(key, {}, ad, "empty");
  ExpectDecryptionFailed(
      key, std::span<const uint8_t>(good.data(), kEnvelopeOverhead - 1), ad,
      "shorter than any envelope");
  ExpectDecryptionFailed(key,
                         std::span<const uint8_t>(good.data(), good.size() - 1),
                         ad, "truncated");
  ExpectDecryptionFailed(
      key, std::span<const uint8_t>(good.data(), kEnvelopeHeaderSize), ad,
      "header only");
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  ExpectDecryptionFailed(key, longer, ad, "extended");

  for (uint8_t format : {0x00, 0x02, 0xff}) {
    std::vector<uint8_t> bad = good;
    bad[0] = format;
    ExpectDecryptionFailed(key, bad, ad, "format " + std::to_string(format));
  }
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80}) {
      std::vector<uint8_t> bad = good;
      bad[i] ^= mask;
      ExpectDecryptionFailed(key, bad, ad, "flipped byte " + std::to_string(i));
    }
  }

  ExpectDecryptionFailed(key, good, AsBytes("c_2"), "other AD");
  ExpectDecryptionFailed(key, good, {}, "AD missing");
  ExpectDecryptionFailed(key, good, AsBytes("c_1 "), "AD extended");

  ExpectDecryptionFailed(MakeKey(1, 7), good, ad, "other key, same version");
  ExpectDecryptionFailed(MakeKey(0, 8), good, ad,
                         "same key bytes, other version");
}

TEST(AeadKeyTest, KeyVersionCannotBeRewritten) {
  // Two versions sharing key bytes: only the bound header stops the swap.
  const AeadKey v1 = MakeKey(0, 1);
  const AeadKey v2 = MakeKey(0, 2);
  DeterministicRandom rng(7);
  std::vector<uint8_t> envelope = v1.Seal(AsBytes("m"), AsBytes("ad"), rng);
  envelope[4] = 2;
  ASSERT_EQ(*EnvelopeKeyVersion(envelope), 2u);
  ExpectDecryptionFailed(v2, envelope, AsBytes("ad"), "rewritten version");
}

TEST(AeadKeyTest, FailureStatusEqualsDecryptionFailed) {
  const AeadKey key = MakeKey(0, 1);
  const Status expected = DecryptionFailed();
  EXPECT_EQ(expected.code(), StatusCode::kDataLoss);
  EXPECT_EQ(expected.message(), "decryption failed");
  EXPECT_EQ(key.Open({}, {}).status().ToString(), expected.ToString());
}

TEST(AeadKeyTest, MovedKeyStillWorks) {
  AeadKey a = MakeKey(0, 4);
  DeterministicRandom rng(8);
  const std::vector<uint8_t> envelope =
      a.Seal(AsBytes("m"), AsBytes("ad"), rng);
  AeadKey b = std::move(a);
  EXPECT_EQ(b.version(), 4u);
  StatusOr<std::vector<uint8_t>> open = b.Open(envelope, AsBytes("ad"));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(AsString(*open), "m");
}

TEST(EnvelopeKeyVersionTest, ReadsBigEndianVersion) {
  DeterministicRandom rng(9);
  for (uint32_t version : {0u, 1u, 0x01020304u, 0xffffffffu}) {
    const std::vector<uint8_t> envelope =
        MakeKey(0, version).Seal(AsBytes("m"), AsBytes("ad"), rng);
    StatusOr<uint32_t> v = EnvelopeKeyVersion(envelope);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(*v, version);
  }
}

TEST(EnvelopeKeyVersionTest, RejectsWhatCannotBeAnEnvelope) {
  DeterministicRandom rng(10);
  std::vector<uint8_t> envelope =
      MakeKey(0, 1).Seal(AsBytes(""), AsBytes("ad"), rng);
  ASSERT_TRUE(EnvelopeKeyVersion(envelope).ok());
  const std::vector<uint8_t> short_one(envelope.begin(), envelope.end() - 1);
  envelope[0] = 0x02;
  for (const auto& bad : {short_one, envelope, std::vector<uint8_t>()}) {
    StatusOr<uint32_t> v = EnvelopeKeyVersion(bad);
    EXPECT_EQ(v.status().code(), StatusCode::kDataLoss);
    EXPECT_EQ(v.status().message(), "decryption failed");
  }
}

}  // namespace
}  // namespace tillit::crypto
