// Tests of creating and opening a data directory.
#include "tillit/vault/vault.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"
#include "tillit/vault/sqlcipher_citizen_store.h"
#include "vault_internals.h"
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

// --- unregistered citizens' files (a crash between writing a new
// citizen's file and registering it)

constexpr std::chrono::hours kLongAgo{2};  // beyond kOrphanMinAgeSeconds

void Backdate(const std::string& path, std::chrono::seconds age) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - age);
}

// A citizen's store written under a key that was never stored, with no
// registry row, last written `age` ago: what such a crash leaves.
std::string WriteUnregisteredStore(const std::string& data_dir,
                                   crypto::Random& rng,
                                   std::chrono::seconds age) {
  const std::string id = "c_" + rng.Hex(16);
  const std::string path = data_dir + "/citizens/" + id + ".db";
  crypto::SecretBytes dek = rng.Secret(32);
  storage::Database::Options opts;
  opts.create = true;
  EXPECT_TRUE(
      storage::Database::Open(path, &dek, opts, SqlCipherCitizenStore::Setup)
          .ok());
  for (const char* companion : {"", "-wal", "-shm", "-journal"}) {
    if (fs::exists(path + companion)) Backdate(path + companion, age);
  }
  return id;
}

TEST_F(VaultTest, OpenSweepsUnregisteredCitizenFilesAndNothingElse) {
  const std::string data = dir_ / "data";
  std::string imported;
  std::string empty;
  {
    auto vault = InitVault();
    auto imp =
        vault->Import(Bundle("dddddddd-6666", 3).dump(), ImportFormat::kJson);
    ASSERT_TRUE(imp.ok()) << imp.status().ToString();
    imported = imp->citizen_id;
    empty = std::move(vault->CreateCitizen()).value();
  }
  const std::string orphan =
      WriteUnregisteredStore(data, rng_, std::chrono::seconds(kLongAgo));
  const std::string orphan_db = CitizenFile(orphan);
  testing::WriteAll(orphan_db + "-wal", "left by the crash");
  Backdate(orphan_db + "-wal", kLongAgo);
  // A registered citizen's companion (as a rekey's journal) stays.
  const std::string journal = CitizenFile(imported) + "-journal";
  testing::WriteAll(journal, "");
  Backdate(journal, kLongAgo);
  // Names that are not a store file of this vault, and a store file's name
  // on something that is not a regular file.
  const std::string other_id = "c_" + rng_.Hex(16);
  const std::vector<std::string> others = {
      data + "/citizens/notes.txt", data + "/citizens/" + orphan + ".db.bak",
      data + "/citizens/c_NOTANID.db", data + "/citizens/" + other_id,
      data + "/outside.db"};
  for (const std::string& f : others) {
    testing::WriteAll(f, "keep me");
    Backdate(f, kLongAgo);
  }
  const std::string dir_named = data + "/citizens/c_" + rng_.Hex(16) + ".db";
  fs::create_directory(dir_named);
  const std::string link_named = CitizenFile("c_" + rng_.Hex(16));
  fs::create_symlink(data + "/outside.db", link_named);

  auto vault = Vault::Open(Options());
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_FALSE(fs::exists(orphan_db));
  EXPECT_FALSE(fs::exists(orphan_db + "-wal"));
  EXPECT_TRUE(fs::exists(journal));
  for (const std::string& f : others) {
    EXPECT_EQ(testing::ReadAll(f), "keep me") << f;
  }
  EXPECT_TRUE(fs::is_directory(dir_named));
  EXPECT_TRUE(fs::is_symlink(link_named));
  // The real citizens are intact.
  fs::remove(journal);
  std::vector<std::string> ids = std::move((*vault)->ListCitizenIds()).value();
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected = {imported, empty};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ids, expected);
  EXPECT_TRUE((*vault)->VerifyCitizen(imported).ok());
  EXPECT_TRUE((*vault)->VerifyCitizen(empty).ok());
  EXPECT_EQ((*vault)->Summarize(imported)->records, 4);  // Patient + 3
  // Nothing is left to sweep.
  auto again =
      SweepOrphanedCitizenFiles(**vault, Env::Default(), kOrphanMinAgeSeconds);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->swept + again->failed + again->young, 0);
}

TEST_F(VaultTest, ARecentlyWrittenUnregisteredFileWaitsForItsCreator) {
  InitVault();
  // Another process may be about to register it.
  const std::string orphan =
      WriteUnregisteredStore(dir_ / "data", rng_, std::chrono::minutes(10));
  {
    auto vault = Vault::Open(Options());
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    EXPECT_TRUE(fs::exists(CitizenFile(orphan)));
    auto sweep = SweepOrphanedCitizenFiles(**vault, Env::Default(),
                                           kOrphanMinAgeSeconds);
    ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
    EXPECT_EQ(sweep->young, 1);
    EXPECT_EQ(sweep->swept, 0);
  }
  Backdate(CitizenFile(orphan), kLongAgo);
  ASSERT_TRUE(Vault::Open(Options()).ok());
  EXPECT_FALSE(fs::exists(CitizenFile(orphan)));
}

TEST_F(VaultTest, ASweepThatCannotRemoveIsRetriedAtTheNextOpen) {
  tillit::testing::FaultInjectionEnv env;
  VaultOptions o = Options();
  o.env = &env;
  std::string citizen;
  {
    auto created = Vault::Init(o);
    ASSERT_TRUE(created.ok());
    citizen = std::move(created->vault->CreateCitizen()).value();
  }
  const std::string orphan = WriteUnregisteredStore(
      dir_ / "data", rng_, std::chrono::seconds(kLongAgo));
  env.FailAll(tillit::testing::FaultOp::kRemove, EIO);
  {
    // Sweeping is best effort: the vault opens, the file stays.
    auto vault = Vault::Open(o);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    EXPECT_TRUE(fs::exists(CitizenFile(orphan)));
    EXPECT_TRUE((*vault)->VerifyCitizen(citizen).ok());
    auto sweep = SweepOrphanedCitizenFiles(**vault, &env, kOrphanMinAgeSeconds);
    ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
    EXPECT_EQ(sweep->failed, 1);
    EXPECT_EQ(sweep->swept, 0);
  }
  env.ClearFaults();
  const int syncs = env.Count(tillit::testing::FaultOp::kSyncDirectory);
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  EXPECT_FALSE(fs::exists(CitizenFile(orphan)));
  EXPECT_GT(env.Count(tillit::testing::FaultOp::kSyncDirectory), syncs);
  EXPECT_TRUE((*vault)->VerifyCitizen(citizen).ok());
}

TEST_F(VaultTest, ASweepReportsADirectoryItCannotListOrSync) {
  tillit::testing::FaultInjectionEnv env;
  VaultOptions o = Options();
  o.env = &env;
  ASSERT_TRUE(Vault::Init(o).ok());
  auto vault = Vault::Open(o);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  // The removal is not made durable: IoError, and the next sweep has
  // nothing left to do.
  const std::string orphan = WriteUnregisteredStore(
      dir_ / "data", rng_, std::chrono::seconds(kLongAgo));
  env.FailAll(tillit::testing::FaultOp::kSyncDirectory, EIO);
  EXPECT_EQ(SweepOrphanedCitizenFiles(**vault, &env, kOrphanMinAgeSeconds)
                .status()
                .code(),
            StatusCode::kIoError);
  EXPECT_FALSE(fs::exists(CitizenFile(orphan)));
  env.ClearFaults();
  EXPECT_TRUE(
      SweepOrphanedCitizenFiles(**vault, &env, kOrphanMinAgeSeconds).ok());
  // No citizens' directory: nothing to sweep. Something else in its place:
  // IoError, and the vault still opens.
  const std::string citizens = dir_ / "data/citizens";
  fs::remove_all(citizens);
  auto none = SweepOrphanedCitizenFiles(**vault, &env, kOrphanMinAgeSeconds);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->swept + none->failed + none->young, 0);
  testing::WriteAll(citizens, "not a directory");
  EXPECT_EQ(SweepOrphanedCitizenFiles(**vault, &env, kOrphanMinAgeSeconds)
                .status()
                .code(),
            StatusCode::kIoError);
  vault->reset();
  EXPECT_TRUE(Vault::Open(o).ok());
}

}  // namespace
}  // namespace tillit::vault
