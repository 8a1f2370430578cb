#include "tillit/vault/root_keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tillit/crypto/encoding.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::vault {
namespace {

using testing::TempDir;

class RootKeysTest : public ::testing::Test {
 protected:
  crypto::DeterministicRandom rng_{11};
  TempDir dir_;
  RootKeys::Location FileAt(const std::string& name) {
    RootKeys::Location l;
    l.path = dir_ / name;
    return l;
  }
};

TEST_F(RootKeysTest, KeyFileRoundTripIsPrivateAndOpensWhatItSealed) {
  RootKeys keys = RootKeys::Generate(rng_);
  auto loc = FileAt("root.key");
  ASSERT_TRUE(keys.Save(loc, rng_).ok());
  struct stat st;
  ASSERT_EQ(::stat(loc.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto ring = keys.MakeKeyring();
  ASSERT_TRUE(ring.ok());
  auto env = ring->Seal(crypto::AsBytes("data"), crypto::AsBytes("ad"), rng_);

  auto loaded = RootKeys::Load(loc);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->current_version(), 1u);
  auto ring2 = loaded->MakeKeyring();
  ASSERT_TRUE(ring2.ok());
  auto plain = ring2->Open(env, crypto::AsBytes("ad"));
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(std::string(plain->begin(), plain->end()), "data");
}

TEST_F(RootKeysTest, GroupReadableKeyFileIsRefused) {
  RootKeys keys = RootKeys::Generate(rng_);
  auto loc = FileAt("root.key");
  ASSERT_TRUE(keys.Save(loc, rng_).ok());
  ASSERT_EQ(::chmod(loc.path.c_str(), 0640), 0);
  EXPECT_EQ(RootKeys::Load(loc).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(RootKeysTest, MissingKeyFileIsNotFound) {
  EXPECT_EQ(RootKeys::Load(FileAt("absent")).status().code(),
            StatusCode::kNotFound);
}

TEST_F(RootKeysTest, MalformedKeyFilesAreDataLoss) {
  const std::string good_key =
      crypto::Base64Encode(std::vector<uint8_t>(32, 7));
  const std::string short_key =
      crypto::Base64Encode(std::vector<uint8_t>(16, 7));
  const std::vector<std::string> bad = {
      "",
      "not a key file\n",
      "tillit-root-keys 2\ncurrent 1\nkey 1 " + good_key + "\n",
      "tillit-root-keys 1\ncurrent x\nkey 1 " + good_key + "\n",
      "tillit-root-keys 1\ncurrent 2\nkey 1 " + good_key + "\n",
      "tillit-root-keys 1\ncurrent 1\nkey 1 !!notbase64\n",
      "tillit-root-keys 1\ncurrent 1\nkey 1 " + short_key + "\n",
      "tillit-root-keys 1\ncurrent 1\nkey 1 " + good_key + "\nkey 1 " +
          good_key + "\n",
      "tillit-root-keys 1\ncurrent 1\nkey 0 " + good_key + "\n",
      "tillit-root-keys 1\ncurrent 1\n",
  };
  for (const std::string& text : bad) {
    auto loc = FileAt("bad.key");
    testing::WriteAll(loc.path, text);
    ASSERT_EQ(::chmod(loc.path.c_str(), 0600), 0);
    auto r = RootKeys::Load(loc);
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << text;
  }
}

TEST_F(RootKeysTest, SealedFileNeedsTheRightPassphrase) {
  RootKeys keys = RootKeys::Generate(rng_);
  auto pass = crypto::SecretBytes::CopyFrom(std::string_view("correct horse"));
  auto loc = FileAt("root.sealed");
  loc.passphrase = &pass;
  loc.argon2 = crypto::TestingArgon2Params(rng_);
  ASSERT_TRUE(keys.Save(loc, rng_).ok());
  const std::string text = testing::ReadAll(loc.path);
  EXPECT_EQ(text.rfind("tillit-sealed-root-keys 1\nkdf argon2id13$", 0), 0u);

  auto ok = RootKeys::Load(loc);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();

  auto wrong = crypto::SecretBytes::CopyFrom(std::string_view("wrong horse"));
  loc.passphrase = &wrong;
  EXPECT_EQ(RootKeys::Load(loc).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(RootKeysTest, MalformedSealedFileIsDataLoss) {
  auto pass = crypto::SecretBytes::CopyFrom(std::string_view("pw"));
  auto loc = FileAt("root.sealed");
  loc.passphrase = &pass;
  for (const std::string& text :
       {std::string("tillit-sealed-root-keys 1\n"),
        std::string("tillit-sealed-root-keys 1\nkdf nonsense\nsealed AAAA\n"),
        std::string("something else\nkdf x\nsealed y\n")}) {
    testing::WriteAll(loc.path, text);
    EXPECT_EQ(RootKeys::Load(loc).status().code(), StatusCode::kDataLoss)
        << text;
  }
}

TEST_F(RootKeysTest, RotationKeepsOldVersionsUntilDropped) {
  RootKeys keys = RootKeys::Generate(rng_);
  auto v1 = keys.MakeKeyring();
  ASSERT_TRUE(v1.ok());
  auto env = v1->Seal(crypto::AsBytes("x"), crypto::AsBytes("ad"), rng_);
  EXPECT_EQ(keys.AddVersion(rng_), 2u);
  EXPECT_EQ(keys.version_count(), 2u);
  auto both = keys.MakeKeyring();
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(both->current_version(), 2u);
  EXPECT_TRUE(both->Open(env, crypto::AsBytes("ad")).ok());
  keys.DropAllButCurrent();
  EXPECT_EQ(keys.version_count(), 1u);
  auto only2 = keys.MakeKeyring();
  ASSERT_TRUE(only2.ok());
  EXPECT_FALSE(only2->Open(env, crypto::AsBytes("ad")).ok());
}

}  // namespace
}  // namespace tillit::vault
