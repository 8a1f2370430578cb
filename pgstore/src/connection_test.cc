// Tests of pgstore::Connection against a private PostgreSQL server
// (testing::SharedPgCluster), a new database for each test.
#include "tillit/pgstore/connection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tillit/testing/pg_cluster.h"

namespace tillit::pgstore {
namespace {

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = &testing::SharedPgCluster::Get();
    const std::string db = testing::SharedPgCluster::NewDatabase();
    ASSERT_FALSE(db.empty());
    auto conn = Connection::Open(db);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    conn_ = std::move(conn).value();
    ASSERT_TRUE(conn_
                    ->ExecScript("CREATE TABLE t (id text PRIMARY KEY, "
                                 "n bigint, b bytea)")
                    .ok());
  }
  void TearDown() override {
    if (!cluster_->running()) {
      ASSERT_TRUE(cluster_->Restart().ok());
    }
  }

  testing::PgCluster* cluster_ = nullptr;
  std::unique_ptr<Connection> conn_;
};

TEST_F(ConnectionTest, AStatementTakesMoreParametersThanFitOnTheStack) {
  // Twelve parameters of every kind: past the eight kept on the stack.
  const std::vector<uint8_t> bytes = {7, 0, 9};
  std::vector<Param> params;
  for (int64_t i = 1; i <= 10; ++i) params.emplace_back(i * 1000);
  params.emplace_back("eleven");
  params.emplace_back(bytes);
  auto r = conn_->Exec(
      "SELECT $1::bigint + $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 + $10, "
      "$11::text, $12::bytea",
      params);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r->Int64(0, 0), 55000);
  EXPECT_EQ(r->Text(0, 1), "eleven");
  const auto got = r->Bytes(0, 2);
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), bytes);
}

TEST_F(ConnectionTest, ValuesTravelAsParametersAndComeBackAsStored) {
  const std::string hostile = "x'); DROP TABLE t; --";
  const std::vector<uint8_t> bytes = {0, 1, 0xff, 0, 0x27};
  ASSERT_TRUE(conn_
                  ->Exec("INSERT INTO t (id, n, b) VALUES ($1, $2, $3)",
                         {hostile, int64_t{-1234567890123}, bytes})
                  .ok());
  ASSERT_TRUE(conn_
                  ->Exec("INSERT INTO t (id, n, b) VALUES ($1, $2, $3)",
                         {"empty", Param::Null(), Param::Null()})
                  .ok());
  auto r = conn_->Exec("SELECT id, n, b FROM t WHERE id = $1", {hostile});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows(), 1);
  EXPECT_EQ(r->Text(0, 0), hostile);
  EXPECT_EQ(*r->Int64(0, 1), -1234567890123);
  const auto got = r->Bytes(0, 2);
  EXPECT_EQ(std::vector<uint8_t>(got.begin(), got.end()), bytes);

  auto e = conn_->Exec("SELECT n, b, count(*) OVER () FROM t WHERE id = $1",
                       {"empty"});
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->IsNull(0, 0));
  EXPECT_EQ(e->Int64(0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(e->Bytes(0, 1).empty());
  EXPECT_EQ(*e->Int64(0, 2), 1);  // count(*) is a bigint

  auto small =
      conn_->Exec("SELECT $1::integer, (-5)::smallint, true", {int64_t{42}});
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(*small->Int64(0, 0), 42);
  EXPECT_EQ(*small->Int64(0, 1), -5);
  EXPECT_EQ(*small->Bool(0, 2), true);
  EXPECT_EQ(small->Bool(0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Int64(0, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ConnectionTest, ADuplicateKeyIsAlreadyExistsWithoutTheValue) {
  ASSERT_TRUE(
      conn_->Exec("INSERT INTO t (id) VALUES ($1)", {"secret-id"}).ok());
  auto again = conn_->Exec("INSERT INTO t (id) VALUES ($1)", {"secret-id"});
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status().message().find("secret-id"), std::string::npos)
      << again.status().message();
  auto affected =
      conn_->Exec("UPDATE t SET n = 1 WHERE id = $1", {"secret-id"});
  ASSERT_TRUE(affected.ok());
  EXPECT_EQ(affected->affected(), 1);
}

TEST_F(ConnectionTest, ARolledBackTransactionLeavesNothing) {
  ASSERT_TRUE(conn_->ExecScript("BEGIN").ok());
  ASSERT_TRUE(conn_->Exec("INSERT INTO t (id) VALUES ($1)", {"a"}).ok());
  ASSERT_TRUE(conn_->ExecScript("ROLLBACK").ok());
  auto n = conn_->Exec("SELECT count(*) FROM t");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n->Int64(0, 0), 0);
}

TEST_F(ConnectionTest, BadSqlIsInternalAndTheConnectionStaysUsable) {
  auto bad = conn_->Exec("SELEC 1");
  EXPECT_EQ(bad.status().code(), StatusCode::kInternal);
  EXPECT_TRUE(conn_->ok());
  EXPECT_TRUE(conn_->Exec("SELECT 1").ok());
  EXPECT_GE(conn_->server_version(), 150000);
}

TEST_F(ConnectionTest, AnUnparsableConnectionStringIsRefusedWithoutEchoingIt) {
  auto c = Connection::Open("host=127.0.0.1 password=hunter2 =oops");
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(Connection::Open("postgresql://[bad").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ConnectionTest, NoServerIsIoErrorWithoutThePassword) {
  // A port nothing listens on (the cluster's own, once it is stopped).
  ASSERT_TRUE(cluster_->Stop().ok());
  auto c = Connection::Open(cluster_->ConnInfo() + " password=hunter2");
  EXPECT_EQ(c.status().code(), StatusCode::kIoError);
  EXPECT_NE(c.status().message().find("unavailable"), std::string::npos)
      << c.status().message();
  EXPECT_EQ(c.status().message().find("hunter2"), std::string::npos);
  ASSERT_TRUE(cluster_->Restart().ok());
}

TEST_F(ConnectionTest, AServerThatGoesAwayMidSessionIsIoError) {
  ASSERT_TRUE(conn_->Exec("SELECT 1").ok());
  ASSERT_TRUE(cluster_->Stop("immediate").ok());
  auto r = conn_->Exec("SELECT 1");
  EXPECT_EQ(r.status().code(), StatusCode::kIoError) << r.status().ToString();
  EXPECT_FALSE(conn_->ok());
  ASSERT_TRUE(cluster_->Restart().ok());
  auto again = Connection::Open(cluster_->ConnInfo());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->Exec("SELECT 1").ok());
}

TEST(StatusFromSqlStateTest, MapsTheClassesCallersBranchOn) {
  EXPECT_EQ(StatusFromSqlState("23505", "dup").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusFromSqlState("23503", "fk").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusFromSqlState("40001", "serial").code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusFromSqlState("40P01", "deadlock").code(),
            StatusCode::kResourceExhausted);
  for (const char* gone : {"08006", "57P01", "57P03", "53100", "25006"}) {
    EXPECT_EQ(StatusFromSqlState(gone, "m").code(), StatusCode::kIoError)
        << gone;
  }
  EXPECT_EQ(StatusFromSqlState("42601", "syntax").code(),
            StatusCode::kInternal);
}

}  // namespace
}  // namespace tillit::pgstore
