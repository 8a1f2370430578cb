#include "tillit/crypto/passphrase.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

SecretBytes Passphrase(std::string_view text) {
  return SecretBytes::CopyFrom(text);
}

Argon2Params FixedParams() {
  Argon2Params params{
      crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, {}};
  for (size_t i = 0; i < params.salt.size(); ++i) {
    params.salt[i] = static_cast<uint8_t>(i);
  }
  return params;
}

TEST(Argon2ParamsTest, NewParamsUseModerateCostAndARandomSalt) {
  DeterministicRandom rng(1);
  const Argon2Params a = NewArgon2Params(rng);
  const Argon2Params b = NewArgon2Params(rng);
  EXPECT_EQ(a.opslimit, crypto_pwhash_OPSLIMIT_MODERATE);
  EXPECT_EQ(a.memlimit, crypto_pwhash_MEMLIMIT_MODERATE);
  EXPECT_NE(a.salt, b.salt);
  const Argon2Params custom = NewArgon2Params(rng, 4, 1 << 20);
  EXPECT_EQ(custom.opslimit, 4u);
  EXPECT_EQ(custom.memlimit, 1u << 20);
}

TEST(Argon2ParamsTest, TestingParamsUseTheMinimumCost) {
  DeterministicRandom a(2);
  DeterministicRandom b(2);
  const Argon2Params p = TestingArgon2Params(a);
  EXPECT_EQ(p.opslimit, crypto_pwhash_OPSLIMIT_MIN);
  EXPECT_EQ(p.memlimit, crypto_pwhash_MEMLIMIT_MIN);
  EXPECT_EQ(p.salt, TestingArgon2Params(b).salt);
}

TEST(DeriveKeyFromPassphraseTest, MatchesCryptoPwhashArgon2id) {
  const Argon2Params params = FixedParams();
  StatusOr<SecretBytes> key =
      DeriveKeyFromPassphrase(Passphrase("correct horse"), params);
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(key->size(), 32u);
  SecretBytes expected = SecretBytes::Allocate(32);
  ASSERT_EQ(crypto_pwhash(expected.ExposeSecret(), 32, "correct horse", 13,
                          params.salt.data(), params.opslimit, params.memlimit,
                          crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_TRUE(key->Equals(expected));
}

TEST(DeriveKeyFromPassphraseTest, SameInputsSameKey) {
  DeterministicRandom rng(3);
  const Argon2Params params = TestingArgon2Params(rng);
  EXPECT_TRUE(DeriveKeyFromPassphrase(Passphrase("pw"), params)
                  ->Equals(*DeriveKeyFromPassphrase(Passphrase("pw"), params)));
}

TEST(DeriveKeyFromPassphraseTest, WrongPassphraseGivesADifferentKey) {
  DeterministicRandom rng(4);
  const Argon2Params params = TestingArgon2Params(rng);
  const SecretBytes right = *DeriveKeyFromPassphrase(Passphrase("pw"), params);
  EXPECT_FALSE(
      right.Equals(*DeriveKeyFromPassphrase(Passphrase("pW"), params)));
  EXPECT_FALSE(
      right.Equals(*DeriveKeyFromPassphrase(Passphrase("pw "), params)));
}

TEST(DeriveKeyFromPassphraseTest, SaltAndCostChangeTheKey) {
  DeterministicRandom rng(5);
  const Argon2Params params = TestingArgon2Params(rng);
  const SecretBytes key = *DeriveKeyFromPassphrase(Passphrase("pw"), params);
  Argon2Params other_salt = params;
  other_salt.salt[0] ^= 1;
  EXPECT_FALSE(
      key.Equals(*DeriveKeyFromPassphrase(Passphrase("pw"), other_salt)));
  Argon2Params more_ops = params;
  more_ops.opslimit += 1;
  EXPECT_FALSE(
      key.Equals(*DeriveKeyFromPassphrase(Passphrase("pw"), more_ops)));
  Argon2Params more_mem = params;
  more_mem.memlimit *= 2;
  EXPECT_FALSE(
      key.Equals(*DeriveKeyFromPassphrase(Passphrase("pw"), more_mem)));
}

TEST(DeriveKeyFromPassphraseTest, KeySizeIsHonouredWithinBounds) {
  const Argon2Params params = FixedParams();
  for (size_t n : {16u, 32u, 64u}) {
    StatusOr<SecretBytes> key =
        DeriveKeyFromPassphrase(Passphrase("pw"), params, n);
    ASSERT_TRUE(key.ok()) << n;
    EXPECT_EQ(key->size(), n);
  }
  for (size_t n : {0u, 15u, 65u}) {
    EXPECT_EQ(
        DeriveKeyFromPassphrase(Passphrase("pw"), params, n).status().code(),
        StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(DeriveKeyFromPassphraseTest, PassphraseLengthBounds) {
  const Argon2Params params = FixedParams();
  EXPECT_EQ(DeriveKeyFromPassphrase(SecretBytes(), params).status().code(),
            StatusCode::kInvalidArgument);
  SecretBytes longest = SecretBytes::Allocate(kMaxPassphraseSize);
  EXPECT_TRUE(DeriveKeyFromPassphrase(longest, params).ok());
  SecretBytes too_long = SecretBytes::Allocate(kMaxPassphraseSize + 1);
  EXPECT_EQ(DeriveKeyFromPassphrase(too_long, params).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(DeriveKeyFromPassphraseTest, CostOutOfBoundsIsInvalidArgument) {
  const Argon2Params base = FixedParams();
  Argon2Params p = base;
  p.opslimit = crypto_pwhash_OPSLIMIT_MIN - 1;
  EXPECT_EQ(DeriveKeyFromPassphrase(Passphrase("pw"), p).status().code(),
            StatusCode::kInvalidArgument);
  p = base;
  p.opslimit = uint64_t{crypto_pwhash_OPSLIMIT_MAX} + 1;
  EXPECT_EQ(DeriveKeyFromPassphrase(Passphrase("pw"), p).status().code(),
            StatusCode::kInvalidArgument);
  p = base;
  p.memlimit = crypto_pwhash_MEMLIMIT_MIN - 1;
  EXPECT_EQ(DeriveKeyFromPassphrase(Passphrase("pw"), p).status().code(),
            StatusCode::kInvalidArgument);
  p = base;
  p.memlimit = size_t{crypto_pwhash_MEMLIMIT_MAX} + 1;
  EXPECT_EQ(DeriveKeyFromPassphrase(Passphrase("pw"), p).status().code(),
            StatusCode::kInvalidArgument);
}

// The current data-segment size (VmData) of this process, in bytes.
rlim_t CurrentDataSize() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmData:", 0) == 0) {
      return static_cast<rlim_t>(std::strtoull(line.c_str() + 7, nullptr, 10)) *
             1024;
    }
  }
  return 0;
}

// Run in a child: caps the data segment 256 MiB above its current size, asks
// for a 1 GiB memory limit and exits 0 if that gave ResourceExhausted.
[[noreturn]] void DeriveUnderDataLimit() {
  const rlim_t current = CurrentDataSize();
  const rlim_t cap = current + (rlim_t{256} << 20);
  const struct rlimit limit = {cap, cap};
  if (current == 0 || setrlimit(RLIMIT_DATA, &limit) != 0) _exit(2);
  Argon2Params params = FixedParams();
  params.memlimit = size_t{1} << 30;
  StatusOr<SecretBytes> key = DeriveKeyFromPassphrase(Passphrase("pw"), params);
  _exit(key.status().code() == StatusCode::kResourceExhausted ? 0 : 1);
}

TEST(DeriveKeyFromPassphraseDeathTest, OutOfMemoryIsResourceExhausted) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(DeriveUnderDataLimit(), ::testing::ExitedWithCode(0), "");
}

TEST(Argon2SerializationTest, KnownForm) {
  EXPECT_EQ(SerializeArgon2Params(FixedParams()),
            "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0ODw==");
  Argon2Params moderate = FixedParams();
  moderate.opslimit = 3;
  moderate.memlimit = 268435456;
  EXPECT_EQ(SerializeArgon2Params(moderate),
            "argon2id13$ops=3$mem=268435456$salt=AAECAwQFBgcICQoLDA0ODw==");
}

TEST(Argon2SerializationTest, RoundTrips) {
  DeterministicRandom rng(6);
  for (const Argon2Params& params :
       {TestingArgon2Params(rng), NewArgon2Params(rng),
        NewArgon2Params(rng, crypto_pwhash_OPSLIMIT_MAX,
                        crypto_pwhash_MEMLIMIT_MAX)}) {
    const std::string text = SerializeArgon2Params(params);
    StatusOr<Argon2Params> back = ParseArgon2Params(text);
    ASSERT_TRUE(back.ok()) << text;
    EXPECT_EQ(back->opslimit, params.opslimit);
    EXPECT_EQ(back->memlimit, params.memlimit);
    EXPECT_EQ(back->salt, params.salt);
    EXPECT_EQ(SerializeArgon2Params(*back), text);
  }
}

TEST(Argon2SerializationTest, RejectsMalformedText) {
  const std::string salt = "AAECAwQFBgcICQoLDA0ODw==";
  const std::string good = "argon2id13$ops=1$mem=8192$salt=" + salt;
  ASSERT_TRUE(ParseArgon2Params(good).ok());
  const std::string bad[] = {
      "",
      "argon2id13",
      "argon2i13$ops=1$mem=8192$salt=" + salt,    // other algorithm
      "ARGON2ID13$ops=1$mem=8192$salt=" + salt,   // case matters
      "$argon2id13$ops=1$mem=8192$salt=" + salt,  // leading '$'
      good + "$",                                 // trailing field
      good + "$extra=1",
      "argon2id13$mem=8192$ops=1$salt=" + salt,        // reordered
      "argon2id13$ops=1$ops=1$mem=8192$salt=" + salt,  // repeated
      "argon2id13$ops=1$salt=" + salt,                 // missing mem
      "argon2id13$ops=1$mem=8192",                     // missing salt
      "argon2id13$ops=$mem=8192$salt=" + salt,         // empty number
      "argon2id13$ops=01$mem=8192$salt=" + salt,       // leading zero
      "argon2id13$ops=+1$mem=8192$salt=" + salt,       // sign
      "argon2id13$ops=-1$mem=8192$salt=" + salt,
      "argon2id13$ops= 1$mem=8192$salt=" + salt,  // space
      "argon2id13$ops=1 $mem=8192$salt=" + salt,
      "argon2id13$ops=1x$mem=8192$salt=" + salt,
      "argon2id13$ops=0x1$mem=8192$salt=" + salt,
      "argon2id13$ops=0$mem=8192$salt=" + salt,           // below OPSLIMIT_MIN
      "argon2id13$ops=4294967296$mem=8192$salt=" + salt,  // above OPSLIMIT_MAX
      "argon2id13$ops=99999999999999999999999$mem=8192$salt=" +
          salt,                                           // overflow
      "argon2id13$ops=1$mem=8191$salt=" + salt,           // below MEMLIMIT_MIN
      "argon2id13$ops=1$mem=4398046510081$salt=" + salt,  // above MEMLIMIT_MAX
      "argon2id13$ops=1$mem=8192$salt=",                  // empty salt
      "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0O",      // 15 bytes
      "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0ODxA=",  // 17 bytes
      "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0ODw",    // no padding
      "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0ODx==",  // non-canonical
      "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0ODw== ",
      "argon2id13$ops=1$mem=8192$salt=AAECAwQFBgcICQoLDA0ODw==\n",
      "argon2id13$OPS=1$mem=8192$salt=" + salt,
      "argon2id13$ops:1$mem=8192$salt=" + salt,
      "argon2id13 $ops=1$mem=8192$salt=" + salt,
      std::string("argon2id13$ops=1\0$mem=8192$salt=", 32) + salt,  // NUL
  };
  for (const std::string& text : bad) {
    StatusOr<Argon2Params> p = ParseArgon2Params(text);
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

}  // namespace
}  // namespace tillit::crypto
