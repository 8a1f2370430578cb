#include "tillit/crypto/kdf.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"

namespace tillit::crypto {
namespace {

SecretBytes Master() {
  DeterministicRandom rng(11);
  return rng.Secret(32);
}

TEST(DeriveSubkeyTest, MatchesCryptoKdf) {
  const SecretBytes master = Master();
  StatusOr<SecretBytes> k = DeriveSubkey(master, 7, kContextRegistry);
  ASSERT_TRUE(k.ok());
  ASSERT_EQ(k->size(), 32u);
  uint8_t expected[32];
  ASSERT_EQ(crypto_kdf_derive_from_key(expected, sizeof(expected), 7,
                                       "tlregist", master.ExposeSecret()),
            0);
  EXPECT_TRUE(k->Equals(SecretBytes::CopyFrom(expected)));
  sodium_memzero(expected, sizeof(expected));
}

TEST(DeriveSubkeyTest, IsDeterministic) {
  EXPECT_TRUE(DeriveSubkey(Master(), 1, kContextTokens)
                  ->Equals(*DeriveSubkey(Master(), 1, kContextTokens)));
}

TEST(DeriveSubkeyTest, ContextsAndIdsGiveUnrelatedKeys) {
  const SecretBytes master = Master();
  const KdfContext contexts[] = {
      KdfContext::kRegistry,      KdfContext::kAuditSigning,
      KdfContext::kAuditDatabase, KdfContext::kPseudonyms,
      KdfContext::kTokens,        KdfContext::kPatientIndex,
      KdfContext::kIdempotency,   KdfContext::kStudyKeys,
      KdfContext::kPrivacyLedger, KdfContext::kBackupSigning,
      KdfContext::kWebPush,       KdfContext::kWebhookSigning,
      KdfContext::kSharedStore};
  std::set<std::string> seen;
  for (KdfContext context : contexts) {
    EXPECT_EQ(KdfContextLabel(context).size(), 8u);
    for (uint64_t id : {0u, 1u, 2u}) {
      StatusOr<SecretBytes> k = DeriveSubkey(master, id, context);
      ASSERT_TRUE(k.ok());
      seen.insert(HexEncode(k->ExposeSecretSpan()));
    }
  }
  EXPECT_EQ(seen.size(), 39u);
}

TEST(DeriveSubkeyTest, DifferentMastersGiveDifferentKeys) {
  DeterministicRandom rng(12);
  const SecretBytes other = rng.Secret(32);
  EXPECT_FALSE(DeriveSubkey(Master(), 1, kContextPseudonyms)
                   ->Equals(*DeriveSubkey(other, 1, kContextPseudonyms)));
}

TEST(DeriveSubkeyTest, AcceptsSubkeySizesFrom16To64) {
  for (size_t n : {16u, 24u, 32u, 64u}) {
    StatusOr<SecretBytes> k = DeriveSubkey(Master(), 1, kContextTokens, n);
    ASSERT_TRUE(k.ok()) << n;
    EXPECT_EQ(k->size(), n);
  }
}

TEST(DeriveSubkeyTest, RejectsBadSubkeySizes) {
  for (size_t n : {0u, 1u, 15u, 65u, 1024u}) {
    EXPECT_EQ(DeriveSubkey(Master(), 1, kContextTokens, n).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(DeriveSubkeyTest, RejectsBadMasterSizes) {
  DeterministicRandom rng(13);
  for (size_t n : {0u, 16u, 31u, 33u, 64u}) {
    EXPECT_EQ(DeriveSubkey(rng.Secret(n), 1, kContextTokens).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(DeriveSubkeyTest, RejectsBadContexts) {
  for (int value : {-1, 13, 99}) {
    EXPECT_EQ(DeriveSubkey(Master(), 1, static_cast<KdfContext>(value))
                  .status()
                  .code(),
              StatusCode::kInvalidArgument)
        << value;
  }
}

TEST(DeriveSubkeyTest, LabelsAreEightDistinctCharacters) {
  std::set<std::string_view> seen;
  for (int value = 0; value < 13; ++value) {
    const std::string_view label =
        KdfContextLabel(static_cast<KdfContext>(value));
    EXPECT_EQ(label.size(), kKdfContextSize) << value;
    EXPECT_TRUE(seen.insert(label).second) << label;
  }
}

// Stored data is keyed by these labels: a change would lock it out.
TEST(DeriveSubkeyTest, LabelsNeverChange) {
  const std::pair<KdfContext, std::string_view> expected[] = {
      {KdfContext::kRegistry, "tlregist"},
      {KdfContext::kAuditSigning, "tlaudsig"},
      {KdfContext::kAuditDatabase, "tlauditd"},
      {KdfContext::kPseudonyms, "tlpseudo"},
      {KdfContext::kTokens, "tltokens"},
      {KdfContext::kPatientIndex, "tlpatidx"},
      {KdfContext::kIdempotency, "idempkey"},
      {KdfContext::kStudyKeys, "studykey"},
      {KdfContext::kPrivacyLedger, "tlprivcy"},
      {KdfContext::kBackupSigning, "tlbackup"},
      {KdfContext::kWebPush, "tlwebpsh"},
      {KdfContext::kWebhookSigning, "tlwebhok"},
      {KdfContext::kSharedStore, "tlshared"}};
  for (const auto& [context, label] : expected) {
    EXPECT_EQ(KdfContextLabel(context), label);
  }
}

}  // namespace
}  // namespace tillit::crypto
