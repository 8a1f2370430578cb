// The Registry's contract (registry_contract.h) on the data directory's
// registry, and what only that one does.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "sqlite_registry.h"
#include "tillit/crypto/random.h"
#include "tillit/testing/registry_contract.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::vault {
namespace {

// registry.db in a temporary directory, under a key of the test's own.
class SqlitePlace final : public RegistryPlace {
 public:
  StatusOr<std::unique_ptr<Registry>> Open() override {
    TILLIT_ASSIGN_OR_RETURN(
        std::unique_ptr<SqliteRegistry> r,
        SqliteRegistry::Open(path(), key_, true, Env::Default()));
    return std::unique_ptr<Registry>(std::move(r));
  }
  std::string path() const { return dir_ / "registry.db"; }
  crypto::DeterministicRandom rng_{7};
  tillit::testing::TempDir dir_;
  crypto::SecretBytes key_ = rng_.Secret(32);
};

INSTANTIATE_TEST_SUITE_P(DataDirectory, RegistryContractTest,
                         ::testing::Values(RegistryBackend{
                             "sqlite",
                             [] { return std::make_unique<SqlitePlace>(); }}),
                         RegistryBackendName);

TEST(SqliteRegistryTest, OpensOnlyUnderItsKey) {
  SqlitePlace place;
  {
    auto r = place.Open();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE((*r)->PutDirectoryEntry("study", "s_1", "v", 1).ok());
  }
  crypto::SecretBytes wrong = place.rng_.Secret(32);
  EXPECT_EQ(SqliteRegistry::Open(place.path(), wrong, false, Env::Default())
                .status()
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(SqliteRegistry::Open(place.dir_ / "none.db", place.key_, false,
                                 Env::Default())
                .status()
                .code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace tillit::vault
