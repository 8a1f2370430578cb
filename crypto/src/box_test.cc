#include "tillit/crypto/box.h"

#include <gtest/gtest.h>
#include <sodium.h>

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

TEST(SealedBoxTest, RoundTrips) {
  DeterministicRandom rng(4);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  for (std::string_view message :
       {std::string_view(""), std::string_view("x"),
        std::string_view("release rel_123 key material")}) {
    const std::vector<uint8_t> sealed =
        SealedBoxSeal(AsBytes(message), pair.public_key);
    EXPECT_EQ(sealed.size(), message.size() + kSealedBoxOverhead);
    StatusOr<SecretBytes> open = SealedBoxOpen(sealed, pair);
    ASSERT_TRUE(open.ok());
    EXPECT_EQ(View(*open), message);
  }
}

TEST(SealedBoxTest, SealingTwiceGivesDifferentBoxes) {
  DeterministicRandom rng(5);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  EXPECT_NE(SealedBoxSeal(AsBytes("m"), pair.public_key),
            SealedBoxSeal(AsBytes("m"), pair.public_key));
}

TEST(SealedBoxTest, WrongKeyFails) {
  DeterministicRandom rng(6);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  const BoxKeyPair other = BoxKeyPair::Generate(rng);
  const std::vector<uint8_t> sealed =
      SealedBoxSeal(AsBytes("m"), pair.public_key);
  ExpectDecryptionFailed(sealed, other);
  // Right public key, wrong secret key.
  BoxKeyPair mixed{pair.public_key, other.secret_key.Clone()};
  ExpectDecryptionFailed(sealed, mixed);
}

TEST(SealedBoxTest, TruncatedOrExtendedFails) {
  DeterministicRandom rng(7);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  std::vector<uint8_t> sealed =
      SealedBoxSeal(AsBytes("hello"), pair.public_key);
  for (size_t n = 0; n < sealed.size(); ++n) {
    ExpectDecryptionFailed(std::span<const uint8_t>(sealed).first(n), pair);
  }
  sealed.push_back(0);
  ExpectDecryptionFailed(sealed, pair);
}

TEST(SealedBoxTest, AlteredByteFails) {
  DeterministicRandom rng(8);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  const std::vector<uint8_t> sealed =
      SealedBoxSeal(AsBytes("hello"), pair.public_key);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::vector<uint8_t> bad = sealed;
    bad[i] ^= 0x01;
    ExpectDecryptionFailed(bad, pair);
  }
}

TEST(SealedBoxTest, MalformedKeyPairIsInvalidArgument) {
  DeterministicRandom rng(9);
  const BoxKeyPair pair = BoxKeyPair::Generate(rng);
  const std::vector<uint8_t> sealed =
      SealedBoxSeal(AsBytes("m"), pair.public_key);
  BoxKeyPair broken{pair.public_key, SecretBytes::Allocate(31)};
  EXPECT_EQ(SealedBoxOpen(sealed, broken).status().code(),
            StatusCode::kInvalidArgument);
  BoxKeyPair empty{pair.public_key, SecretBytes()};
  EXPECT_EQ(SealedBoxOpen(sealed, empty).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SealedBoxTest, LowOrderRecipientKeyGivesEmptyBox) {
  const std::array<uint8_t, 32> zero{};
  EXPECT_TRUE(SealedBoxSeal(AsBytes("m"), zero).empty());
}

}  // namespace
}  // namespace tillit::crypto
