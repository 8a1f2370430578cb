// Tests of creating and opening a data directory.
#include "tillit/vault/vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>

#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

TEST_F(VaultTest, InitCreatesAPrivateLayoutAndAnAdminToken) {
  auto created = Vault::Init(Options());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string_view token = created->admin_token.ExposeSecretText();
  EXPECT_EQ(token.rfind("tlk_", 0), 0u);
  EXPECT_EQ(token.size(), 4u + 64u);
  for (const char* f : {"vault.json", "root.key", "registry.db"}) {
    EXPECT_TRUE(fs::exists(dir_ / ("data/" + std::string(f)))) << f;
  }
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "data/root.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // The token itself is never stored.
  created->vault.reset();
  for (const auto& e : fs::recursive_directory_iterator(dir_ / "data")) {
    if (e.is_regular_file()) {
      EXPECT_EQ(testing::ReadAll(e.path()).find(token.substr(4)),
                std::string::npos)
          << e.path();
    }
  }
}

TEST_F(VaultTest, InitTwiceIsRefused) {
  InitVault();
  auto again = Vault::Init(Options());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
}

TEST_F(VaultTest, InitRefusesToOverwriteAnExistingKeyFile) {
  fs::create_directories(dir_ / "data");
  testing::WriteAll(dir_ / "data/root.key", "precious");
  auto created = Vault::Init(Options());
  EXPECT_EQ(created.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(testing::ReadAll(dir_ / "data/root.key"), "precious");
}

TEST_F(VaultTest, OpenWithoutVaultIsNotFound) {
  EXPECT_EQ(Vault::Open(Options()).status().code(), StatusCode::kNotFound);
}

TEST_F(VaultTest, DamagedVaultJsonIsDataLoss) {
  InitVault();
  for (const char* text : {"{\"format\": 3}", "[]", "not json",
                           "{\"format\": \"tillit-data-dir\", \"version\": 1, "
                           "\"root_keys\": \"file\", \"master\": \"@@@\"}",
                           "{\"format\": \"tillit-data-dir\", \"version\": 1, "
                           "\"root_keys\": \"usb\", \"master\": \"AAAA\"}"}) {
    testing::WriteAll(dir_ / "data/vault.json", text);
    EXPECT_EQ(Vault::Open(Options()).status().code(), StatusCode::kDataLoss)
        << text;
  }
}

TEST_F(VaultTest, WrongRootKeyIsRefused) {
  InitVault();
  // Another vault's key file in place of ours.
  TempDir other;
  VaultOptions o2 = Options();
  o2.data_dir = other / "data";
  ASSERT_TRUE(Vault::Init(o2).ok());
  fs::copy_file(other / "data/root.key", dir_ / "data/root.key",
                fs::copy_options::overwrite_existing);
  auto opened = Vault::Open(Options());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, PassphraseSealedVault) {
  auto pass =
      crypto::SecretBytes::CopyFrom(std::string_view("a long passphrase"));
  VaultOptions o = Options();
  o.passphrase = &pass;
  o.argon2 = crypto::TestingArgon2Params(rng_);
  ASSERT_TRUE(Vault::Init(o).ok());
  EXPECT_TRUE(fs::exists(dir_ / "data/root.sealed"));
  EXPECT_FALSE(fs::exists(dir_ / "data/root.key"));

  VaultOptions none = Options();
  EXPECT_EQ(Vault::Open(none).status().code(), StatusCode::kFailedPrecondition);
  auto wrong = crypto::SecretBytes::CopyFrom(std::string_view("not it"));
  VaultOptions bad = o;
  bad.passphrase = &wrong;
  EXPECT_EQ(Vault::Open(bad).status().code(), StatusCode::kUnauthenticated);
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  ASSERT_TRUE((*vault)->RotateRootKeys().ok());
  vault->reset();
  EXPECT_TRUE(Vault::Open(o).ok());
}

TEST_F(VaultTest, KeyFileVaultRefusesAPassphrase) {
  InitVault();
  auto pass = crypto::SecretBytes::CopyFrom(std::string_view("pw"));
  VaultOptions o = Options();
  o.passphrase = &pass;
  EXPECT_EQ(Vault::Open(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(IdTest, RecognisesVaultIds) {
  EXPECT_TRUE(IsValidId("c_0123456789abcdef0123456789abcdef", "c_"));
  EXPECT_FALSE(IsValidId("c_0123456789ABCDEF0123456789abcdef", "c_"));
  EXPECT_FALSE(IsValidId("p_0123456789abcdef0123456789abcdef", "c_"));
  EXPECT_FALSE(IsValidId("c_0123", "c_"));
  EXPECT_FALSE(IsValidId("c_../../etc/passwd00000000000000000", "c_"));
}

// The vault writes its own files through the injected Env.
TEST_F(VaultTest, InitThatCannotWriteTheRootKeyLeavesNoVault) {
  tillit::testing::FaultInjectionEnv env;
  env.FailNth(tillit::testing::FaultOp::kSync, 1, ENOSPC);
  VaultOptions o = Options();
  o.env = &env;
  auto created = Vault::Init(o);
  ASSERT_EQ(created.status().code(), StatusCode::kIoError);
  EXPECT_NE(created.status().message().find("No space left on device"),
            std::string::npos)
      << created.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "data/root.key"));
  EXPECT_FALSE(fs::exists(dir_ / "data/root.key.tmp"));
  EXPECT_FALSE(fs::exists(dir_ / "data/vault.json"));
  // Nothing half-made stands in the way of a second attempt.
  EXPECT_TRUE(Vault::Init(Options()).ok());
}

TEST_F(VaultTest, AnInitializedVaultSurvivesAPowerCut) {
  tillit::testing::FaultInjectionEnv env;
  VaultOptions o = Options();
  o.env = &env;
  ASSERT_TRUE(Vault::Init(o).ok());
  EXPECT_GE(env.Count(tillit::testing::FaultOp::kSyncDirectory), 2);
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_TRUE(Vault::Open(Options()).ok());
}

TEST_F(VaultTest, ErasureRemovesFilesThroughTheEnv) {
  tillit::testing::FaultInjectionEnv env;
  VaultOptions o = Options();
  o.env = &env;
  auto created = Vault::Init(o);
  ASSERT_TRUE(created.ok());
  auto id = created->vault->CreateCitizen();
  ASSERT_TRUE(id.ok());
  env.FailAll(tillit::testing::FaultOp::kRemove, EIO);
  EXPECT_EQ(created->vault->EraseCitizen(*id).code(), StatusCode::kIoError);
  EXPECT_TRUE(fs::exists(CitizenFile(*id)));
  env.ClearFaults();
}

}  // namespace
}  // namespace tillit::vault
