// Tests of root-key rotation and citizen rekeying.
#include <gtest/gtest.h>

#include <filesystem>

#include "tillit/testing/temp_dir.h"
#include "tillit/vault/root_keys.h"
#include "tillit/vault/vault.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

TEST_F(VaultTest, RootKeyRotationRewrapsWithoutTouchingCitizenFiles) {
  auto vault = InitVault();
  auto imp = vault->Import(Bundle("12121212-9999").dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  const std::string before = testing::ReadAll(CitizenFile(imp->citizen_id));
  const std::string old_key = testing::ReadAll(dir_ / "data/root.key");
  ASSERT_TRUE(vault->RotateRootKeys().ok());
  EXPECT_EQ(vault->root_key_version(), 2u);
  EXPECT_EQ(testing::ReadAll(CitizenFile(imp->citizen_id)), before);
  EXPECT_EQ(*(*vault->OpenCitizen(imp->citizen_id))->Count(), 4);
  vault.reset();
  // The new key file opens the vault; the old one no longer does.
  ASSERT_TRUE(Vault::Open(Options()).ok());
  testing::WriteAll(dir_ / "data/root.key", old_key);
  EXPECT_EQ(Vault::Open(Options()).status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, InterruptedRotationIsCompletedOnOpen) {
  std::string id;
  {
    auto vault = InitVault();
    id = vault->Import(Bundle("13131313-aaaa").dump(), ImportFormat::kJson)
             ->citizen_id;
  }
  // Simulate a crash right after the new version was written.
  RootKeys::Location loc;
  loc.path = dir_ / "data/root.key";
  auto keys = RootKeys::Load(loc);
  ASSERT_TRUE(keys.ok());
  keys->AddVersion(rng_);
  ASSERT_TRUE(keys->Save(loc, rng_).ok());

  auto vault = Vault::Open(Options());
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_EQ((*vault)->root_key_version(), 2u);
  EXPECT_EQ(RootKeys::Load(loc)->version_count(), 1u);
  EXPECT_EQ(*(*(*vault)->OpenCitizen(id))->Count(), 4);
}

TEST_F(VaultTest, RekeyCitizenReencryptsTheFile) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("14141414-bbbb", 20).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  vault.reset();
  const std::string before = testing::ReadAll(CitizenFile(imp->citizen_id));
  vault = std::move(Vault::Open(Options())).value();
  ASSERT_TRUE(vault->RekeyCitizen(imp->citizen_id).ok());
  EXPECT_EQ(vault->RekeyCitizen("c_nope").code(), StatusCode::kNotFound);
  vault.reset();
  const std::string after = testing::ReadAll(CitizenFile(imp->citizen_id));
  ASSERT_GE(after.size(), 4096u);
  EXPECT_NE(before.substr(0, 4096), after.substr(0, 4096));
  vault = std::move(Vault::Open(Options())).value();
  EXPECT_EQ(*(*vault->OpenCitizen(imp->citizen_id))->Count(), 21);
  EXPECT_TRUE(vault->VerifyCitizen(imp->citizen_id).ok());
}

// The rekey replaces the file: a store another process is writing to (a
// running server) is refused, and stays readable under its old key.
TEST_F(VaultTest, RekeyRefusesAStoreAnotherConnectionIsWriting) {
  auto vault = InitVault();
  auto imp =
      vault->Import(Bundle("15151515-bbbb", 4).dump(), ImportFormat::kJson);
  ASSERT_TRUE(imp.ok());
  auto server = Vault::Open(Options());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  auto held = (*server)->OpenCitizen(imp->citizen_id);
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(
      (*server)
          ->Import(Bundle("15151515-bbbb", 6).dump(), ImportFormat::kJson)
          .ok());
  Status s = vault->RekeyCitizen(imp->citizen_id);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find("stop it"), std::string::npos);
  EXPECT_FALSE(
      std::filesystem::exists(CitizenFile(imp->citizen_id) + ".rekey"));
  held->reset();
  server->reset();
  EXPECT_TRUE(vault->VerifyCitizen(imp->citizen_id).ok());
  EXPECT_EQ(*(*vault->OpenCitizen(imp->citizen_id))->Count(), 7);
}

}  // namespace
}  // namespace tillit::vault
