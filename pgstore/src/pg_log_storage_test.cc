// PgLogStorage: the audit log contract on PostgreSQL with every handle a
// node of its own, and what only a shared database can do to a log: show
// its rows to whoever reads a dump, lose commits it had acknowledged, or
// go away in the middle of an append.
#include "tillit/pgstore/pg_log_storage.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/signing.h"
#include "tillit/testing/audit_log_contract.h"
#include "tillit/testing/pg_cluster.h"

namespace tillit::pgstore {
namespace {

const crypto::SecretBytes& LogKey() {
  static const crypto::SecretBytes key =
      crypto::DeterministicRandom(21).Secret(32);
  return key;
}

crypto::SecretBytes SigningSeed() {
  return crypto::DeterministicRandom(22).Secret(32);
}

// A node's log: its own session on `conninfo`, and an AuditLog on it.
StatusOr<std::unique_ptr<audit::AuditLog>> OpenNode(
    const std::string& conninfo) {
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<PgLogStorage> storage,
      PgLogStorage::Open(std::make_unique<Session>(conninfo), LogKey()));
  return audit::AuditLog::OpenOn(std::move(storage), SigningSeed());
}

StatusOr<audit::VerifyReport> VerifyDatabase(const std::string& conninfo,
                                             const std::string& note) {
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<PgLogStorage> storage,
      PgLogStorage::Open(std::make_unique<Session>(conninfo), LogKey()));
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey signer,
                          crypto::SigningKey::FromSeed(SigningSeed()));
  return audit::VerifyLog(*storage, signer.public_key(), note);
}

}  // namespace
}  // namespace tillit::pgstore

namespace tillit::audit {

INSTANTIATE_TEST_SUITE_P(PostgreSQL, AuditLogContractTest,
                         ::testing::Values(AuditLogBackend{
                             "postgresql",
                             [] {
                               const std::string db =
                                   testing::SharedPgCluster::NewDatabase();
                               return AuditLogUnderTest{
                                   [db] { return pgstore::OpenNode(db); },
                                   [db](const std::string& note) {
                                     return pgstore::VerifyDatabase(db, note);
                                   }};
                             }}),
                         AuditLogBackendName);

}  // namespace tillit::audit

namespace tillit::pgstore {
namespace {

using audit::ListQuery;

audit::AuditEntry Read(int n, const std::string& citizen,
                       const std::string& actor) {
  audit::AuditEntry e;
  e.time = 1767225600 + n;
  e.actor_kind = "provider";
  e.actor_id = actor;
  e.action = "records.read";
  e.citizen_id = citizen;
  e.categories = {"discharge-reports"};
  e.decision = "permit";
  e.request_id = "req-" + std::to_string(n);
  return e;
}

// True when `e` is appended; the error, if any, in the failure message.
::testing::AssertionResult AppendOk(audit::AuditLog& log,
                                    const audit::AuditEntry& e) {
  auto index = log.Append(e);
  if (index.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << index.status().ToString();
}

const std::string kCitizen = "c_" + std::string(32, 'c');
const std::string kProvider = "p_" + std::string(32, 'e');

TEST(PgLogStorageTest, TheDatabaseNamesNoCitizenActorOrCategory) {
  std::string name;
  const std::string db = testing::SharedPgCluster::NewDatabase(&name);
  auto log = OpenNode(db);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(AppendOk(**log, Read(i, kCitizen, kProvider)));
  ASSERT_TRUE((*log)->SignedCheckpoint().ok());
  ListQuery q;
  q.citizen_id = kCitizen;
  auto listed = (*log)->List(q);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 20u);

  auto dump = testing::SharedPgCluster::Get().Dump(name);
  ASSERT_TRUE(dump.ok()) << dump.status().ToString();
  const std::string readable = testing::DecodeByteaValues(*dump);
  EXPECT_NE(readable.find("audit_rows"), std::string::npos);  // it is a dump
  for (const std::string& secret :
       {std::string(32, 'c'), std::string(32, 'e'),
        std::string("discharge-reports"), std::string("records.read"),
        std::string("req-7")}) {
    EXPECT_EQ(readable.find(secret), std::string::npos) << secret;
  }

  // A node given another key reads nothing, and says why.
  Session other(db);
  auto wrong =
      PgLogStorage::Open(&other, crypto::DeterministicRandom(5).Secret(32));
  ASSERT_TRUE(wrong.ok());
  ListQuery all;
  EXPECT_EQ((*wrong)->List(all).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(
      PgLogStorage::Open(&other, crypto::DeterministicRandom(5).Secret(16))
          .status()
          .code(),
      StatusCode::kInvalidArgument);
}

// A copy of the database restored from before some acknowledged entries:
// a node that saw them refuses to number new entries over the hole, and
// says what happened; the entries it saw are still in its tree.
TEST(PgLogStorageTest, ALogRolledBackUnderANodeIsRefused) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  auto log = OpenNode(db);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(AppendOk(**log, Read(i, kCitizen, kProvider)));
  Session admin(db);
  ASSERT_TRUE(
      admin
          .Run([](Connection& c) {
            return c.Exec("DELETE FROM audit_rows WHERE first >= 5").status();
          })
          .ok());
  auto next = (*log)->Append(Read(10, kCitizen, kProvider));
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().ToString().find("rolled back"), std::string::npos)
      << next.status().ToString();
  EXPECT_EQ((*log)->size(), 10u);
}

// The database stops while a node appends: every append fails closed
// (Guarded releases nothing), and once the database is back the log goes
// on without a gap, consistent with the checkpoint a client saw before.
TEST(PgLogStorageTest, ADatabaseThatGoesAwayFailsClosedAndComesBackWhole) {
  const std::string db = testing::SharedPgCluster::NewDatabase();
  auto log = OpenNode(db);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE(AppendOk(**log, Read(i, kCitizen, kProvider)));
  auto seen = (*log)->SignedCheckpoint();
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();

  testing::PgCluster& cluster = testing::SharedPgCluster::Get();
  ASSERT_TRUE(cluster.Stop("immediate").ok());
  bool released = false;
  Status refused =
      audit::Guarded(**log, Read(30, kCitizen, kProvider), [&](uint64_t) {
        released = true;
        return Status::Ok();
      });
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(released);
  EXPECT_FALSE((*log)->SignedCheckpoint().ok());
  ASSERT_TRUE(cluster.Restart().ok());

  auto index = (*log)->Append(Read(31, kCitizen, kProvider));
  ASSERT_TRUE(index.ok()) << index.status().ToString();
  EXPECT_EQ(*index, 30u);
  auto report = VerifyDatabase(db, *seen);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
  EXPECT_EQ(report->entries, 31u);
}

// The sequencer relies on read committed; a database set to another
// isolation level is refused at open, not found out by duplicate keys.
TEST(PgLogStorageTest, ADatabaseOfAnotherIsolationLevelIsRefused) {
  std::string name;
  const std::string db = testing::SharedPgCluster::NewDatabase(&name);
  Session admin(db);
  ASSERT_TRUE(admin
                  .Run([&](Connection& c) {
                    return c.ExecScript("ALTER DATABASE " + name +
                                        " SET default_transaction_isolation = "
                                        "'repeatable read'");
                  })
                  .ok());
  auto refused = OpenNode(db);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().ToString().find("read committed"),
            std::string::npos)
      << refused.status().ToString();
}

}  // namespace
}  // namespace tillit::pgstore
