// PgPrivacyLedger: the PrivacyLedger contract with two nodes on one
// database, and what the database shows of who contributed.
#include "tillit/pgstore/pg_privacy_ledger.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "tillit/crypto/random.h"
#include "tillit/testing/pg_cluster.h"
#include "tillit/testing/privacy_ledger_contract.h"

namespace tillit::pgstore {
namespace {

const crypto::SecretBytes& LedgerKey() {
  static const crypto::SecretBytes key =
      crypto::DeterministicRandom(8).Secret(32);
  return key;
}

// One node: its own session and ledger (the session outlives the ledger).
struct Node {
  explicit Node(const std::string& conninfo) : session(conninfo) {
    auto l = PgPrivacyLedger::Open(&session, LedgerKey());
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    if (l.ok()) ledger = std::move(l).value();
  }
  Session session;
  std::unique_ptr<PgPrivacyLedger> ledger;
};

std::shared_ptr<research::PrivacyLedger> NodeLedger(
    const std::string& conninfo) {
  auto node = std::make_shared<Node>(conninfo);
  if (node->ledger == nullptr) return nullptr;
  return std::shared_ptr<research::PrivacyLedger>(node, node->ledger.get());
}

}  // namespace
}  // namespace tillit::pgstore

namespace tillit::research {

INSTANTIATE_TEST_SUITE_P(PostgreSQL, PrivacyLedgerContractTest,
                         ::testing::Values(PrivacyLedgerBackend{
                             "postgresql",
                             [] {
                               const std::string db =
                                   testing::SharedPgCluster::NewDatabase();
                               return std::make_pair(pgstore::NodeLedger(db),
                                                     pgstore::NodeLedger(db));
                             }}),
                         PrivacyLedgerBackendName);

}  // namespace tillit::research

namespace tillit::pgstore {
namespace {

TEST(PgPrivacyLedgerTest, TheDatabaseDoesNotSayWhoseDataAQueryUsed) {
  std::string name;
  Node node(testing::SharedPgCluster::NewDatabase(&name));
  ASSERT_NE(node.ledger, nullptr);
  const std::string study = "s_" + std::string(32, '1');
  const std::string citizen = "c_" + std::string(32, 'c');
  ASSERT_TRUE(node.ledger->SetStudyBudget(study, 5'000'000).ok());
  research::LedgerQuery q;
  q.id = "agg_" + std::string(32, 'a');
  q.study_id = study;
  q.researcher_id = "r_" + std::string(32, 'b');
  q.time = 100;
  q.epsilon = 1'000'000;
  q.description = "count of citizens with HIV, by region";
  ASSERT_TRUE(node.ledger->Charge(q, {citizen}).ok());
  EXPECT_EQ(node.ledger->CitizenSpent(study)->count(citizen), 1u);

  auto dump = testing::SharedPgCluster::Get().Dump(name);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  EXPECT_NE(dump->find(q.description), std::string::npos);  // plain, by design
  EXPECT_EQ(dump->find(citizen), std::string::npos);
  EXPECT_EQ(dump->find(std::string(32, 'c')), std::string::npos);

  // A node given another key cannot name the contributors.
  Session other(testing::SharedPgCluster::Get().ConnInfo(name));
  crypto::DeterministicRandom rng(9);
  auto wrong = PgPrivacyLedger::Open(&other, rng.Secret(32));
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ((*wrong)->CitizenSpent(study).status().code(),
            StatusCode::kDataLoss);
  EXPECT_TRUE((*wrong)->ForCitizen(citizen)->empty());
  EXPECT_EQ(PgPrivacyLedger::Open(&other, rng.Secret(16)).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tillit::pgstore
