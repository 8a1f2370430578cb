#include "tillit/crypto/signing.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SigningKey>);
static_assert(!std::is_copy_assignable_v<SigningKey>);
static_assert(std::is_nothrow_move_constructible_v<SigningKey>);

SecretBytes SeedFromHex(std::string_view hex) {
  StatusOr<std::vector<uint8_t>> bytes = HexDecode(hex);
  EXPECT_TRUE(bytes.ok());
  SecretBytes seed = SecretBytes::CopyFrom(*bytes);
  sodium_memzero(bytes->data(), bytes->size());
  return seed;
}

// RFC 8032 section 7.1, TEST 1 and TEST 2.
TEST(SigningKeyTest, Rfc8032KnownAnswers) {
  struct Case {
    const char* seed;
    const char* public_key;
    const char* message;
    const char* signature;
  };
  const Case cases[] = {
      {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
       "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
       "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
  };
  for (const Case& c : cases) {
    StatusOr<SigningKey> key = SigningKey::FromSeed(SeedFromHex(c.seed));
    ASSERT_TRUE(key.ok());
    EXPECT_EQ(HexEncode(key->public_key()), c.public_key);
    const std::vector<uint8_t> message = *HexDecode(c.message);
    const Ed25519Signature signature = key->Sign(message);
    EXPECT_EQ(HexEncode(signature), c.signature);
    EXPECT_TRUE(VerifyEd25519(key->public_key(), message, signature));
  }
}

TEST(SigningKeyTest, FromSeedRejectsOtherSizes) {
  for (size_t n : {0u, 16u, 31u, 33u, 64u}) {
    EXPECT_EQ(SigningKey::FromSeed(SecretBytes::Allocate(n)).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(SigningKeyTest, GenerateIsReproducibleWithDeterministicRandom) {
  DeterministicRandom a(1);
  DeterministicRandom b(1);
  DeterministicRandom c(2);
  const SigningKey ka = SigningKey::Generate(a);
  EXPECT_EQ(ka.public_key(), SigningKey::Generate(b).public_key());
  EXPECT_NE(ka.public_key(), SigningKey::Generate(c).public_key());
  EXPECT_NE(ka.public_key(), SigningKey::Generate(a).public_key());
}

TEST(SigningKeyTest, SignaturesAreDeterministic) {
  DeterministicRandom rng(3);
  const SigningKey key = SigningKey::Generate(rng);
  EXPECT_EQ(key.Sign(AsBytes("checkpoint 1")),
            key.Sign(AsBytes("checkpoint 1")));
  EXPECT_NE(key.Sign(AsBytes("checkpoint 1")),
            key.Sign(AsBytes("checkpoint 2")));
}

TEST(VerifyEd25519Test, RejectsAlteredSignature) {
  DeterministicRandom rng(4);
  const SigningKey key = SigningKey::Generate(rng);
  const Ed25519Signature signature = key.Sign(AsBytes("audit head"));
  ASSERT_TRUE(
      VerifyEd25519(key.public_key(), AsBytes("audit head"), signature));
  for (size_t i = 0; i < signature.size(); ++i) {
    Ed25519Signature bad = signature;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyEd25519(key.public_key(), AsBytes("audit head"), bad))
        << i;
  }
}

TEST(VerifyEd25519Test, RejectsAlteredMessage) {
  DeterministicRandom rng(5);
  const SigningKey key = SigningKey::Generate(rng);
  const std::string message = "audit head";
  const Ed25519Signature signature = key.Sign(AsBytes(message));
  for (size_t i = 0; i < message.size(); ++i) {
    std::string bad = message;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifyEd25519(key.public_key(), AsBytes(bad), signature)) << i;
  }
  EXPECT_FALSE(VerifyEd25519(key.public_key(), AsBytes(""), signature));
  EXPECT_FALSE(
      VerifyEd25519(key.public_key(), AsBytes("audit head "), signature));
}

TEST(VerifyEd25519Test, RejectsWrongKey) {
  DeterministicRandom rng(6);
  const SigningKey key = SigningKey::Generate(rng);
  const SigningKey other = SigningKey::Generate(rng);
  const Ed25519Signature signature = key.Sign(AsBytes("m"));
  EXPECT_FALSE(VerifyEd25519(other.public_key(), AsBytes("m"), signature));
  Ed25519PublicKey altered = key.public_key();
  altered[0] ^= 0x01;
  EXPECT_FALSE(VerifyEd25519(altered, AsBytes("m"), signature));
  EXPECT_FALSE(VerifyEd25519(Ed25519PublicKey{}, AsBytes("m"), signature));
}

TEST(VerifyEd25519Test, RejectsWrongSignatureLength) {
  DeterministicRandom rng(7);
  const SigningKey key = SigningKey::Generate(rng);
  const Ed25519Signature signature = key.Sign(AsBytes("m"));
  std::vector<uint8_t> bytes(signature.begin(), signature.end());
  EXPECT_FALSE(VerifyEd25519(key.public_key(), AsBytes("m"),
                             std::span<const uint8_t>(bytes).first(63)));
  bytes.push_back(0);
  EXPECT_FALSE(VerifyEd25519(key.public_key(), AsBytes("m"), bytes));
  EXPECT_FALSE(VerifyEd25519(key.public_key(), AsBytes("m"), {}));
}

TEST(SigningKeyTest, MovedKeyStillSigns) {
  DeterministicRandom rng(8);
  SigningKey a = SigningKey::Generate(rng);
  const Ed25519PublicKey pk = a.public_key();
  SigningKey b = std::move(a);
  EXPECT_EQ(b.public_key(), pk);
  EXPECT_TRUE(VerifyEd25519(pk, AsBytes("m"), b.Sign(AsBytes("m"))));
}

TEST(Ed25519PublicKeyTest, AcceptsRealKeys) {
  for (std::string_view hex :
       {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"}) {
    StatusOr<Ed25519PublicKey> key = Ed25519PublicKeyFromBytes(*HexDecode(hex));
    ASSERT_TRUE(key.ok()) << hex;
    EXPECT_EQ(HexEncode(*key), hex);
  }
  DeterministicRandom rng(12);
  const SigningKey generated = SigningKey::Generate(rng);
  EXPECT_TRUE(Ed25519PublicKeyFromBytes(generated.public_key()).ok());
}

TEST(Ed25519PublicKeyTest, RefusesPointsThatProveNothing) {
  // The identity and the all-zero encoding (small order), p - 1 (order 2),
  // p (non-canonical), a y with no point, and all ones.
  for (std::string_view hex :
       {"0100000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0200000000000000000000000000000000000000000000000000000000000000",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"}) {
    EXPECT_EQ(Ed25519PublicKeyFromBytes(*HexDecode(hex)).status().code(),
              StatusCode::kInvalidArgument)
        << hex;
  }
}

TEST(Ed25519PublicKeyTest, RefusesOtherSizes) {
  std::vector<uint8_t> bytes = *HexDecode(
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  for (size_t n : {0u, 31u, 33u, 64u}) {
    std::vector<uint8_t> resized = bytes;
    resized.resize(n, 0);
    EXPECT_EQ(Ed25519PublicKeyFromBytes(resized).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

}  // namespace
}  // namespace tillit::crypto
