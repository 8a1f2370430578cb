// Tests of the registry's index mirror and the directory.
#include <gtest/gtest.h>

#include "tillit/testing/temp_dir.h"
#include "tillit/vault/vault.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

TEST_F(VaultTest, DocumentsAndTheirIndexAreMirroredIntoTheRegistry) {
  auto vault = InitVault();
  const std::string id = *vault->CreateCitizen();
  {
    auto store = std::move(vault->OpenCitizen(id)).value();
    const int64_t before = store->generation();
    IndexUpdate index{"consent", {{"g_1", "meta-1"}, {"g_2", "meta-2"}}};
    std::vector<DocumentWrite> writes = {{"grant", "g_1", "{\"a\":1}"},
                                         {"grant", "g_2", "{\"b\":2}"}};
    ASSERT_TRUE(store->WriteDocuments(writes, &index, kNow).ok());
    EXPECT_EQ(store->generation(), before + 1);
    EXPECT_EQ(*store->GetDocument("grant", "g_1"),
              std::optional<std::string>("{\"a\":1}"));
    EXPECT_FALSE(store->GetDocument("grant", "g_9")->has_value());
    EXPECT_EQ(store->ListDocuments("grant")->size(), 2u);
    // Deleting a document and replacing the index.
    std::vector<DocumentWrite> del = {{"grant", "g_2", std::nullopt}};
    IndexUpdate smaller{"consent", {{"g_1", "meta-1b"}}};
    ASSERT_TRUE(store->WriteDocuments(del, &smaller, kNow).ok());
    EXPECT_EQ(store->ListDocuments("grant")->size(), 1u);
  }
  const int64_t version = *vault->IndexVersion();
  auto rows = vault->ReadIndex("consent");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].citizen_id, id);
  EXPECT_EQ((*rows)[0].key, "g_1");
  EXPECT_EQ((*rows)[0].value, "meta-1b");
  EXPECT_TRUE(vault->ReadIndex("other")->empty());
  // Erasure removes the citizen's rows.
  ASSERT_TRUE(vault->EraseCitizen(id).ok());
  EXPECT_TRUE(vault->ReadIndex("consent")->empty());
  EXPECT_GT(*vault->IndexVersion(), version);
}

TEST_F(VaultTest, IndexMissedByACrashIsMirroredOnTheNextOpen) {
  std::string id;
  {
    auto vault = InitVault();
    id = *vault->CreateCitizen();
  }
  // The registry as it was before the write...
  const std::string registry = testing::ReadAll(dir_ / "data/registry.db");
  {
    auto vault = std::move(Vault::Open(Options())).value();
    auto store = std::move(vault->OpenCitizen(id)).value();
    IndexUpdate index{"consent", {{"g_1", "meta"}}};
    std::vector<DocumentWrite> writes = {{"grant", "g_1", "{}"}};
    ASSERT_TRUE(store->WriteDocuments(writes, &index, kNow).ok());
  }
  // ...as if the process had died after the citizen's commit and before
  // the registry's.
  testing::WriteAll(dir_ / "data/registry.db", registry);
  auto vault = std::move(Vault::Open(Options())).value();
  EXPECT_TRUE(vault->ReadIndex("consent")->empty());
  ASSERT_TRUE(vault->OpenCitizen(id).ok());
  auto rows = vault->ReadIndex("consent");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value, "meta");
}

TEST_F(VaultTest, DirectoryEntries) {
  auto vault = InitVault();
  ASSERT_TRUE(vault->PutDirectoryEntry("study", "s_1", "{\"t\":1}").ok());
  EXPECT_EQ(vault->PutDirectoryEntry("study", "s_1", "{}").code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(vault->PutDirectoryEntry("study", "s_2", "{\"t\":2}").ok());
  EXPECT_EQ(*vault->GetDirectoryEntry("study", "s_1"), "{\"t\":1}");
  EXPECT_EQ(vault->GetDirectoryEntry("study", "s_3").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(vault->GetDirectoryEntry("researcher", "s_1").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(vault->ListDirectory("study")->size(), 2u);
}

}  // namespace
}  // namespace tillit::vault
