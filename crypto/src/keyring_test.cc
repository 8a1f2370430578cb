#include "tillit/crypto/keyring.h"

#include <gtest/gtest.h>

#include <type_traits>
#include <vector>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<Keyring>);
static_assert(!std::is_copy_assignable_v<Keyring>);
static_assert(std::is_move_constructible_v<Keyring>);

AeadKey MakeKey(uint64_t seed, uint32_t version) {
  DeterministicRandom rng(seed);
  return std::move(AeadKey::Create(rng.Secret(kAeadKeySize), version)).value();
}

std::vector<AeadKey> Keys(std::initializer_list<uint32_t> versions) {
  std::vector<AeadKey> keys;
  for (uint32_t v : versions) keys.push_back(MakeKey(100 + v, v));
  return keys;
}

Keyring MakeKeyring(std::initializer_list<uint32_t> versions,
                    uint32_t current) {
  return std::move(Keyring::Create(Keys(versions), current)).value();
}

void ExpectDecryptionFailed(const Keyring& ring,
                            std::span<const uint8_t> envelope,
                            std::span<const uint8_t> ad) {
  StatusOr<std::vector<uint8_t>> open = ring.Open(envelope, ad);
  EXPECT_EQ(open.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(open.status().message(), "decryption failed");
  StatusOr<SecretBytes> secret = ring.OpenSecret(envelope, ad);
  EXPECT_EQ(secret.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(secret.status().message(), "decryption failed");
}

TEST(KeyringTest, CreateListsVersionsAndCurrent) {
  const Keyring ring = MakeKeyring({3, 1, 2}, 2);
  EXPECT_EQ(ring.current_version(), 2u);
  EXPECT_EQ(ring.current().version(), 2u);
  EXPECT_EQ(ring.versions(), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_TRUE(ring.Has(1));
  EXPECT_TRUE(ring.Has(3));
  EXPECT_FALSE(ring.Has(4));
  EXPECT_FALSE(ring.Has(0));
}

TEST(KeyringTest, CreateRejectsDuplicateVersions) {
  std::vector<AeadKey> keys;
  keys.push_back(MakeKey(1, 5));
  keys.push_back(MakeKey(2, 5));
  StatusOr<Keyring> ring = Keyring::Create(std::move(keys), 5);
  EXPECT_EQ(ring.status().code(), StatusCode::kInvalidArgument);
}

TEST(KeyringTest, CreateRejectsMissingCurrent) {
  EXPECT_EQ(Keyring::Create(Keys({1, 2}), 3).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(Keyring::Create({}, 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(KeyringTest, SealsWithCurrentAndOpensAnyHeldVersion) {
  DeterministicRandom rng(1);
  Keyring ring = MakeKeyring({1}, 1);
  const std::vector<uint8_t> old_envelope =
      ring.Seal(AsBytes("old"), AsBytes("ad"), rng);
  EXPECT_EQ(*EnvelopeKeyVersion(old_envelope), 1u);

  // Rotate: add version 2 and make it current.
  ASSERT_TRUE(ring.Add(MakeKey(102, 2)).ok());
  ASSERT_TRUE(ring.SetCurrent(2).ok());
  EXPECT_EQ(ring.current_version(), 2u);
  const std::vector<uint8_t> new_envelope =
      ring.Seal(AsBytes("new"), AsBytes("ad"), rng);
  EXPECT_EQ(*EnvelopeKeyVersion(new_envelope), 2u);

  StatusOr<std::vector<uint8_t>> old_open =
      ring.Open(old_envelope, AsBytes("ad"));
  ASSERT_TRUE(old_open.ok());
  EXPECT_EQ(std::string(old_open->begin(), old_open->end()), "old");
  StatusOr<std::vector<uint8_t>> new_open =
      ring.Open(new_envelope, AsBytes("ad"));
  ASSERT_TRUE(new_open.ok());
  EXPECT_EQ(std::string(new_open->begin(), new_open->end()), "new");
}

TEST(KeyringTest, MatchesTheUnderlyingKey) {
  DeterministicRandom rng(2);
  const Keyring ring = MakeKeyring({1, 2}, 2);
  const AeadKey v1 = MakeKey(101, 1);
  const std::vector<uint8_t> envelope =
      v1.Seal(AsBytes("m"), AsBytes("ad"), rng);
  EXPECT_TRUE(ring.Open(envelope, AsBytes("ad")).ok());
  const std::vector<uint8_t> sealed =
      ring.Seal(AsBytes("m"), AsBytes("ad"), rng);
  EXPECT_TRUE(ring.current().Open(sealed, AsBytes("ad")).ok());
}

TEST(KeyringTest, SealSecretOpenSecretRoundTrip) {
  DeterministicRandom rng(3);
  const Keyring ring = MakeKeyring({1, 2}, 1);
  const SecretBytes dek = rng.Secret(32);
  const std::vector<uint8_t> wrapped =
      ring.SealSecret(dek, AsBytes("c_1"), rng);
  StatusOr<SecretBytes> back = ring.OpenSecret(wrapped, AsBytes("c_1"));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->Equals(dek));
}

TEST(KeyringTest, UnknownVersionFailsLikeAnyOtherBadEnvelope) {
  DeterministicRandom rng(4);
  const Keyring ring = MakeKeyring({1, 2}, 2);
  const std::vector<uint8_t> foreign =
      MakeKey(109, 9).Seal(AsBytes("m"), AsBytes("ad"), rng);
  ExpectDecryptionFailed(ring, foreign, AsBytes("ad"));
}

TEST(KeyringTest, OtherFailuresLookTheSame) {
  DeterministicRandom rng(5);
  const Keyring ring = MakeKeyring({1, 2}, 2);
  std::vector<uint8_t> envelope = ring.Seal(AsBytes("m"), AsBytes("ad"), rng);
  ExpectDecryptionFailed(ring, {}, AsBytes("ad"));
  ExpectDecryptionFailed(
      ring, std::span<const uint8_t>(envelope.data(), kEnvelopeOverhead - 1),
      AsBytes("ad"));
  ExpectDecryptionFailed(ring, envelope, AsBytes("other"));
  std::vector<uint8_t> wrong_format = envelope;
  wrong_format[0] = 2;
  ExpectDecryptionFailed(ring, wrong_format, AsBytes("ad"));
  // Relabelled to another held version.
  std::vector<uint8_t> relabelled = envelope;
  relabelled[4] = 1;
  ExpectDecryptionFailed(ring, relabelled, AsBytes("ad"));
  envelope.back() ^= 1;
  ExpectDecryptionFailed(ring, envelope, AsBytes("ad"));
}

TEST(KeyringTest, AddRejectsHeldVersion) {
  Keyring ring = MakeKeyring({1}, 1);
  Status s = ring.Add(MakeKey(7, 1));
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ring.versions(), (std::vector<uint32_t>{1}));
  // The original key is still the one held.
  DeterministicRandom rng(6);
  const std::vector<uint8_t> envelope =
      MakeKey(101, 1).Seal(AsBytes("m"), AsBytes("ad"), rng);
  EXPECT_TRUE(ring.Open(envelope, AsBytes("ad")).ok());
}

TEST(KeyringTest, SetCurrentRejectsUnknownVersion) {
  Keyring ring = MakeKeyring({1, 2}, 1);
  EXPECT_EQ(ring.SetCurrent(3).code(), StatusCode::kNotFound);
  EXPECT_EQ(ring.current_version(), 1u);
}

TEST(KeyringTest, MovedKeyringKeepsKeys) {
  DeterministicRandom rng(7);
  Keyring a = MakeKeyring({1, 2}, 2);
  const std::vector<uint8_t> envelope =
      a.Seal(AsBytes("m"), AsBytes("ad"), rng);
  Keyring b = std::move(a);
  EXPECT_EQ(b.current_version(), 2u);
  EXPECT_TRUE(b.Open(envelope, AsBytes("ad")).ok());
}

}  // namespace
}  // namespace tillit::crypto
