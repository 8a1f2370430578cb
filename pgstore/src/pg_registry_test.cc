// The Registry's contract (registry_contract.h) on PostgreSQL: each test
// gets a new database of one private server (testing::PgCluster).
#include "tillit/pgstore/pg_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tillit/crypto/random.h"
#include "tillit/testing/pg_cluster.h"
#include "tillit/testing/registry_contract.h"

namespace tillit::pgstore {
namespace {

// The key every node of a test cluster is given for the consent index.
const crypto::SecretBytes& IndexKey() {
  static const crypto::SecretBytes key =
      crypto::DeterministicRandom(5).Secret(32);
  return key;
}

class PgPlace final : public vault::RegistryPlace {
 public:
  PgPlace() : conninfo_(testing::SharedPgCluster::NewDatabase()) {}
  StatusOr<std::unique_ptr<vault::Registry>> Open() override {
    if (conninfo_.empty()) return Status::Internal("no test database");
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<PgRegistry> r,
                            PgRegistry::Open(conninfo_, IndexKey()));
    return std::unique_ptr<vault::Registry>(std::move(r));
  }
  const std::string conninfo_;
};

using vault::RegistryContractTest;

INSTANTIATE_TEST_SUITE_P(PostgreSql, RegistryContractTest,
                         ::testing::Values(vault::RegistryBackend{
                             "postgresql",
                             [] { return std::make_unique<PgPlace>(); }}),
                         vault::RegistryBackendName);

TEST(PgRegistryTest, TwoRegistriesOnOneDatabaseSeeEachOthersRows) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  auto a = PgRegistry::Open(db, IndexKey());
  auto b =
      PgRegistry::Open(db, IndexKey());  // the schema is there: only checked
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<uint8_t> wrapped = {1};
  ASSERT_TRUE((*a)->AddCitizen("c_1", 1, wrapped, 0, std::nullopt).ok());
  EXPECT_EQ(*(*b)->ListCitizenIds(), std::vector<std::string>{"c_1"});
  EXPECT_EQ((*b)->AddCitizen("c_1", 2, wrapped, 0, std::nullopt).code(),
            StatusCode::kAlreadyExists);
  // A code is redeemed once, whichever node sees it first.
  crypto::Digest hash{};
  hash.fill(3);
  ASSERT_TRUE((*a)->tokens().Insert(hash, "enroll", "c_1", 1, 100).ok());
  EXPECT_TRUE((*b)->tokens().TakeLive(hash, "enroll", 2)->has_value());
  EXPECT_FALSE((*a)->tokens().TakeLive(hash, "enroll", 3)->has_value());
}

TEST(PgRegistryTest, ANewerSchemaIsRefusedAndLeftAlone) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  ASSERT_TRUE(PgRegistry::Open(db, IndexKey()).ok());
  auto c = Connection::Open(db);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Exec("UPDATE tillit_schema SET version = $1 "
                         "WHERE component = 'registry'",
                         {PgRegistry::kSchemaVersion + 1})
                  .ok());
  auto refused = PgRegistry::Open(db, IndexKey());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("newer than this tillit"),
            std::string::npos)
      << refused.status().message();
  auto v = (*c)->Exec("SELECT version FROM tillit_schema");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v->Int64(0, 0), PgRegistry::kSchemaVersion + 1);
}

TEST(PgRegistryTest, AWrongConnectionStringIsAClearError) {
  EXPECT_EQ(
      PgRegistry::Open("host=127.0.0.1 port=1 connect_timeout=2", IndexKey())
          .status()
          .code(),
      StatusCode::kIoError);
  EXPECT_EQ(PgRegistry::Open("not a = = string", IndexKey()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(PgRegistryTest, TheRegistryConnectsAgainAfterTheServerRestarts) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  auto r = PgRegistry::Open(db, IndexKey());
  ASSERT_TRUE(r.ok());
  const std::vector<uint8_t> wrapped = {1};
  ASSERT_TRUE((*r)->AddCitizen("c_1", 1, wrapped, 0, std::nullopt).ok());
  testing::PgCluster& cluster = testing::SharedPgCluster::Get();
  ASSERT_TRUE(cluster.Stop("immediate").ok());
  // While the server is down: IoError, nothing half done.
  EXPECT_EQ((*r)->AddCitizen("c_2", 2, wrapped, 0, std::nullopt).code(),
            StatusCode::kIoError);
  ASSERT_TRUE(cluster.Restart().ok());
  ASSERT_TRUE((*r)->AddCitizen("c_2", 2, wrapped, 0, std::nullopt).ok());
  EXPECT_EQ(*(*r)->ListCitizenIds(), (std::vector<std::string>{"c_1", "c_2"}));
}

TEST(PgRegistryTest, TheConsentIndexIsSealedUnderTheRegistrysKey) {
  std::string name;
  const std::string db = testing::SharedPgCluster::NewDatabase(&name);
  auto r = PgRegistry::Open(db, IndexKey());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::vector<uint8_t> wrapped = {1};
  ASSERT_TRUE((*r)->AddCitizen("c_1", 1, wrapped, 0, std::nullopt).ok());
  const vault::IndexUpdate grants{"grant",
                                  {{"g_psychiatry", "p_clinic-of-psychiatry"}}};
  ASSERT_TRUE((*r)->SetGeneration("c_1", 1, {grants}, false).ok());
  auto rows = (*r)->ReadIndex("grant");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].value, "p_clinic-of-psychiatry");

  // What a database administrator reads: neither the key nor the value.
  auto dump = testing::SharedPgCluster::Get().Dump(name);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_EQ(dump->find("psychiatry"), std::string::npos);
  EXPECT_NE(dump->find("c_1"), std::string::npos);  // ids are not secret

  // A node given another key reads nothing, rather than something wrong.
  crypto::DeterministicRandom other(6);
  auto wrong = PgRegistry::Open(db, other.Secret(32));
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ((*wrong)->ReadIndex("grant").status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(PgRegistry::Open(db, other.Secret(16)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tillit::pgstore
