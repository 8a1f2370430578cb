#include "tillit/crypto/box.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<BoxKeyPair>);
static_assert(std::is_move_constructible_v<BoxKeyPair>);

std::string_view View(const SecretBytes& s) {
  return {reinterpret_cast<const char*>(s.ExposeSecret()), s.size()};
}

std::vector<uint8_t> Hex(std::string_view text) { return *HexDecode(text); }

X25519PublicKey PublicKeyOf(std::string_view hex) {
  X25519PublicKey key;
  const std::vector<uint8_t> bytes = Hex(hex);
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

// RFC 7748 section 6.1.
constexpr std::string_view kAliceSecret =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
constexpr std::string_view kAlicePublic =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";
constexpr std::string_view kBobSecret =
    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb";
constexpr std::string_view kBobPublic =
    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";

BoxKeyPair PairOf(std::string_view secret_hex) {
  const std::vector<uint8_t> secret = Hex(secret_hex);
  return *BoxKeyPair::FromSecretKey(SecretBytes::CopyFrom(secret));
}

std::vector<uint8_t> Seal(std::string_view message, const X25519PublicKey& pk) {
  StatusOr<std::vector<uint8_t>> sealed = SealedBoxSeal(AsBytes(message), pk);
  EXPECT_TRUE(sealed.ok()) << sealed.status().ToString();
  return sealed.ok() ? *sealed : std::vector<uint8_t>();
}

void ExpectDecryptionFailed(std::span<const uint8_t> sealed,
                            const BoxKeyPair& pair) {
  StatusOr<SecretBytes> open = SealedBoxOpen(sealed, pair);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(open.status().message(), "decryption failed");
}

TEST(BoxKeyPairTest, GenerateIsReproducibleWithDeterministicRandom) {
  DeterministicRandom a(1);
  DeterministicRandom b(1);
  DeterministicRandom c(2);
  const BoxKeyPair pa = BoxKeyPair::Generate(a);
  const BoxKeyPair pb = BoxKeyPair::Generate(b);
  EXPECT_EQ(pa.public_key, pb.public_key);
  EXPECT_TRUE(pa.secret_key.Equals(pb.secret_key));
  EXPECT_NE(pa.public_key, BoxKeyPair::Generate(c).public_key);
  EXPECT_NE(pa.public_key, BoxKeyPair::Generate(a).public_key);
}

TEST(BoxKeyPairTest, PublicKeyBelongsToSecretKey) {
  DeterministicRandom rng(3);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  ASSERT_EQ(pair.secret_key.size(), kBoxSecretKeySize);
  std::array<uint8_t, 32> derived;
  ASSERT_EQ(
      crypto_scalarmult_base(derived.data(), pair.secret_key.ExposeSecret()),
      0);
  EXPECT_EQ(derived, pair.public_key);
}

TEST(BoxKeyPairTest, FromSecretKeyDerivesThePublicKeyOfRfc7748) {
  const BoxKeyPair alice = PairOf(kAliceSecret);
  EXPECT_EQ(alice.public_key, PublicKeyOf(kAlicePublic));
  EXPECT_EQ(HexEncode(alice.secret_key.ExposeSecretSpan()), kAliceSecret);
  EXPECT_EQ(PairOf(kBobSecret).public_key, PublicKeyOf(kBobPublic));
}

TEST(BoxKeyPairTest, FromSecretKeyMatchesGenerate) {
  DeterministicRandom rng(10);
  const BoxKeyPair generated = BoxKeyPair::Generate(rng);
  StatusOr<BoxKeyPair> derived =
      BoxKeyPair::FromSecretKey(generated.secret_key.Clone());
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(derived->public_key, generated.public_key);
  EXPECT_TRUE(derived->secret_key.Equals(generated.secret_key));
}

TEST(BoxKeyPairTest, FromSecretKeyRefusesOtherSizes) {
  for (size_t n : {0u, 1u, 31u, 33u, 64u}) {
    StatusOr<BoxKeyPair> pair =
        BoxKeyPair::FromSecretKey(SecretBytes::Allocate(n));
    ASSERT_FALSE(pair.ok()) << n;
    EXPECT_EQ(pair.status().code(), StatusCode::kInvalidArgument) << n;
  }
}

TEST(X25519PublicKeyTest, AcceptsRealKeys) {
  DeterministicRandom rng(11);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  StatusOr<X25519PublicKey> key = X25519PublicKeyFromBytes(pair.public_key);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, pair.public_key);
  EXPECT_TRUE(X25519PublicKeyFromBytes(Hex(kAlicePublic)).ok());
  EXPECT_TRUE(X25519PublicKeyFromBytes(Hex(kBobPublic)).ok());
}

TEST(X25519PublicKeyTest, RefusesSmallOrderPoints) {
  // The points of order 1, 2, 4 and 8, and the non-canonical encodings
  // p - 1, p and p + 1 of small-order points.
  for (std::string_view bad : {
           "0000000000000000000000000000000000000000000000000000000000000000",
           "0100000000000000000000000000000000000000000000000000000000000000",
           "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
           "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
           "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
           "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
           "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
       }) {
    StatusOr<X25519PublicKey> key = X25519PublicKeyFromBytes(Hex(bad));
    ASSERT_FALSE(key.ok()) << bad;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(SealedBoxSeal(AsBytes("m"), PublicKeyOf(bad)).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(X25519PublicKeyTest, RefusesOtherSizes) {
  const std::vector<uint8_t> alice = Hex(kAlicePublic);
  for (size_t n : {0u, 1u, 31u, 33u, 64u}) {
    std::vector<uint8_t> bytes = alice;
    bytes.resize(n, 0x09);
    EXPECT_EQ(X25519PublicKeyFromBytes(bytes).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(SealedBoxTest, OpensABoxLibsodiumMade) {
  // crypto_box_seal("sealed to Alice") for RFC 7748's Alice, made once with
  // libsodium 1.0.18: boxes made before keep opening.
  const std::vector<uint8_t> sealed =
      Hex("c48b8b96fca7b1d490631651145ffc3718df3b516f6c80ff33213d35d2991a6f"
          "9022b64ea06420f0931e349be1b201158267597607f40f8c6b76b1c5c42b0a");
  StatusOr<SecretBytes> open = SealedBoxOpen(sealed, PairOf(kAliceSecret));
  ASSERT_TRUE(open.ok()) << open.status().ToString();
  EXPECT_EQ(View(*open), "sealed to Alice");
  ExpectDecryptionFailed(sealed, PairOf(kBobSecret));
}

TEST(SealedBoxTest, RoundTrips) {
  DeterministicRandom rng(4);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  for (std::string_view message :
       {std::string_view(""), std::string_view("x"),
        std::string_view("release rel_123 key material")}) {
    const std::vector<uint8_t> sealed = Seal(message, pair.public_key);
    EXPECT_EQ(sealed.size(), message.size() + kSealedBoxOverhead);
    StatusOr<SecretBytes> open = SealedBoxOpen(sealed, pair);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(View(*open), message);
  }
}

TEST(SealedBoxTest, SealingTwiceGivesDifferentBoxes) {
  DeterministicRandom rng(5);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  EXPECT_NE(Seal("m", pair.public_key), Seal("m", pair.public_key));
}

TEST(SealedBoxTest, WrongKeyFails) {
  DeterministicRandom rng(6);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  const BoxKeyPair other = BoxKeyPair::Generate(rng);
  const std::vector<uint8_t> sealed = Seal("m", pair.public_key);
  ExpectDecryptionFailed(sealed, other);
  // Right public key, wrong secret key.
  BoxKeyPair mixed{pair.public_key, other.secret_key.Clone()};
  ExpectDecryptionFailed(sealed, mixed);
}

TEST(SealedBoxTest, TruncatedOrExtendedFails) {
  DeterministicRandom rng(7);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  std::vector<uint8_t> sealed = Seal("hello", pair.public_key);
  for (size_t n = 0; n < sealed.size(); ++n) {
    ExpectDecryptionFailed(std::span<const uint8_t>(sealed).first(n), pair);
  }
  sealed.push_back(0);
  ExpectDecryptionFailed(sealed, pair);
}

TEST(SealedBoxTest, AlteredByteFails) {
  DeterministicRandom rng(8);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  const std::vector<uint8_t> sealed = Seal("hello", pair.public_key);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::vector<uint8_t> bad = sealed;
    bad[i] ^= 0x01;
    ExpectDecryptionFailed(bad, pair);
  }
}

TEST(SealedBoxTest, MalformedKeyPairIsInvalidArgument) {
  DeterministicRandom rng(9);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  const std::vector<uint8_t> sealed = Seal("m", pair.public_key);
  BoxKeyPair broken{pair.public_key, SecretBytes::Allocate(31)};
  EXPECT_EQ(SealedBoxOpen(sealed, broken).status().code(),
            StatusCode::kInvalidArgument);
  BoxKeyPair empty{pair.public_key, SecretBytes()};
  EXPECT_EQ(SealedBoxOpen(sealed, empty).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SealedBoxTest, LowOrderRecipientKeyIsInvalidArgument) {
  const X25519PublicKey zero{};
  StatusOr<std::vector<uint8_t>> sealed = SealedBoxSeal(AsBytes("m"), zero);
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tillit::crypto
