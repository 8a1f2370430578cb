// The command line on a PostgreSQL store (--store URL): what a URL may and
// may not hold, `init --store` once per store, and nodes (each with its own
// directory and a copy of the root key) seeing one vault.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "src/cli_fixture.h"
#include "src/common.h"
#include "tillit/pgstore/connection.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/testing/pg_cluster.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST(StoreConnInfoTest, TakesPostgresqlUrls) {
  for (const char* url :
       {"postgresql://tillit@db.example:5432/tillit?sslmode=verify-full",
        "postgres://db.example/tillit",
        "postgresql://h1:5432,h2:5432/tillit?target_session_attrs=read-write",
        "postgresql:///tillit?host=/run/postgresql&passfile=/etc/tillit/"
        "pgpass",
        "postgresql://db/tillit?pass%66ile=%2Fetc%2Ftillit%2Fpgpass"}) {
    auto conninfo = StoreConnInfo(url);
    ASSERT_TRUE(conninfo.ok()) << url << ": " << conninfo.status().ToString();
    EXPECT_EQ(*conninfo, url);
  }
}

TEST(StoreConnInfoTest, RefusesOtherStringsAndPasswordsWithoutEchoingThem) {
  for (const char* url : {"mysql://db/tillit", "/var/lib/tillit",
                          "host=db dbname=tillit", "", "postgresql:"}) {
    auto conninfo = StoreConnInfo(url);
    EXPECT_EQ(conninfo.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(conninfo.status().message().find("postgresql://"),
              std::string::npos)
        << conninfo.status().ToString();
  }
  for (const char* url :
       {"postgresql://tillit:s3cr3t@db/tillit",
        "postgresql://db/tillit?sslmode=require&password=s3cr3t",
        "postgresql://db/tillit?password=s3cr3t",
        "postgresql://db/tillit?sslmode=require&pass%77ord=s3cr3t",
        "postgresql://db/tillit?%70%61%73%73%77%6F%72%64=s3cr3t"}) {
    auto conninfo = StoreConnInfo(url);
    ASSERT_EQ(conninfo.status().code(), StatusCode::kInvalidArgument) << url;
    EXPECT_NE(conninfo.status().message().find("password file"),
              std::string::npos);
    EXPECT_EQ(conninfo.status().message().find("s3cr3t"), std::string::npos);
  }
}

class StoreCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    unsetenv("TILLIT_STORE");
    std::string name;
    ASSERT_FALSE(testing::SharedPgCluster::NewDatabase(&name).empty());
    url_ = "postgresql://tillit@127.0.0.1:" +
           std::to_string(testing::SharedPgCluster::Get().port()) + "/" + name +
           "?connect_timeout=5";
  }
  // A second node: its own directory with a copy of the first's key.
  std::string SecondNode() {
    const std::string node = dir_ + "/node2";
    fs::create_directory(node);
    fs::permissions(node, fs::perms::owner_all);
    fs::copy_file(data_ + "/root.key", node + "/root.key");
    return node;
  }
  std::string url_;
};

TEST_F(StoreCliTest, NodesWithACopyOfTheKeySeeOneVault) {
  Result init = Tillit({"init", "--store", url_, "--data", data_, "--json"});
  ASSERT_EQ(init.code, 0) << init.err;
  const json created = json::parse(init.out);
  EXPECT_EQ(created["store"], true);
  EXPECT_TRUE(fs::exists(data_ + "/root.key"));
  // The node's directory holds the key, no vault files.
  EXPECT_FALSE(fs::exists(data_ + "/registry.db"));
  EXPECT_FALSE(fs::exists(data_ + "/vault.json"));
  EXPECT_FALSE(fs::exists(data_ + "/audit.db"));

  const std::string node2 = SecondNode();
  Result add =
      Tillit({"citizen", "add", "--store", url_, "--data", node2, "--json"});
  ASSERT_EQ(add.code, 0) << add.err;
  const std::string id = json::parse(add.out)["citizen_id"];

  // $TILLIT_STORE names the store as --store does.
  setenv("TILLIT_STORE", url_.c_str(), 1);
  Result list = Tillit({"citizen", "list", "--data", data_, "--json"});
  unsetenv("TILLIT_STORE");
  ASSERT_EQ(list.code, 0) << list.err;
  const json citizens = json::parse(list.out);
  ASSERT_EQ(citizens.size(), 1u) << list.out;
  EXPECT_EQ(citizens[0]["citizen_id"], id);

  // One audit log: the creation made through node 2 verifies from node 1.
  Result verify =
      Tillit({"audit", "verify", "--store", url_, "--data", data_, "--json"});
  ASSERT_EQ(verify.code, 0) << verify.err << verify.out;
  const json report = json::parse(verify.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_GE(report["entries"].get<int64_t>(), 1);

  // Without the store the same directory is no vault.
  Result plain = Tillit({"citizen", "list", "--data", node2});
  EXPECT_EQ(plain.code, 1);
}

TEST_F(StoreCliTest, ASecondInitOfTheStoreIsRefused) {
  ASSERT_EQ(Tillit({"init", "--store", url_, "--data", data_}).code, 0);
  const std::string other = dir_ + "/other";
  Result again = Tillit({"init", "--store", url_, "--data", other});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists in this store"), std::string::npos)
      << again.err;
  EXPECT_FALSE(fs::exists(other + "/root.key"));
}

TEST_F(StoreCliTest, WhatOnlyADataDirectoryDoesIsRefused) {
  ASSERT_EQ(Tillit({"init", "--store", url_, "--data", data_}).code, 0);
  Result rotate = Tillit({"keys", "rotate", "--store", url_, "--data", data_});
  EXPECT_EQ(rotate.code, 1);
  EXPECT_NE(rotate.err.find("every node's key file"), std::string::npos)
      << rotate.err;
  Result backup = Tillit(
      {"backup", "--store", url_, "--data", data_, "--out", dir_ + "/backup"});
  EXPECT_EQ(backup.code, 1);
  EXPECT_NE(backup.err.find("database's own means"), std::string::npos)
      << backup.err;
  EXPECT_FALSE(fs::exists(dir_ + "/backup"));
}

TEST_F(StoreCliTest, AStoreOfANewerTillitIsRefusedUnchanged) {
  ASSERT_EQ(Tillit({"init", "--store", url_, "--data", data_}).code, 0);
  auto conn = pgstore::Connection::Open(url_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE(
      (*conn)
          ->ExecScript("UPDATE tillit_schema SET version = version + 100")
          .ok());
  Result add = Tillit({"citizen", "add", "--store", url_, "--data", data_});
  EXPECT_EQ(add.code, 1);
  EXPECT_NE(add.err.find("newer than this tillit supports"), std::string::npos)
      << add.err;
  EXPECT_NE(add.err.find("upgrade tillit"), std::string::npos) << add.err;
  // Nothing was written: with the formats put back, the vault is empty.
  ASSERT_TRUE(
      (*conn)
          ->ExecScript("UPDATE tillit_schema SET version = version - 100")
          .ok());
  Result list =
      Tillit({"citizen", "list", "--store", url_, "--data", data_, "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out).size(), 0u) << list.out;
}

TEST_F(StoreCliTest, MigrateMovesADataDirectoryWithItsLogAndLedger) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Tillit({"citizen", "add", "--data", data_}).code, 0);
  }
  const json added =
      json::parse(Tillit({"citizen", "add", "--data", data_, "--json"}).out);
  ASSERT_EQ(Tillit({"citizen", "erase", added["citizen_id"].get<std::string>(),
                    "--data", data_, "--yes"})
                .code,
            0);
  ASSERT_EQ(Tillit({"study", "budget", "--data", data_, "--default-citizen-cap",
                    "2.5"})
                .code,
            0);
  // A checkpoint an auditor kept before the move.
  Result checkpoint = Tillit({"audit", "checkpoint", "--data", data_});
  ASSERT_EQ(checkpoint.code, 0) << checkpoint.err;
  const std::string note = dir_ + "/checkpoint.txt";
  std::ofstream(note) << checkpoint.out;
  Result before = Tillit({"citizen", "list", "--data", data_, "--json"});
  ASSERT_EQ(before.code, 0) << before.err;
  Result log = Tillit({"audit", "verify", "--data", data_, "--json"});
  ASSERT_EQ(log.code, 0) << log.err;
  const int64_t entries = json::parse(log.out)["entries"].get<int64_t>();
  ASSERT_GT(entries, 0);

  Result moved = Tillit({"migrate", "--from", data_, "--to", url_, "--json"});
  ASSERT_EQ(moved.code, 0) << moved.err;
  const json report = json::parse(moved.out);
  EXPECT_EQ(report["verified"], true);
  EXPECT_EQ(report["citizens"], 3);
  EXPECT_EQ(report["audit_entries"].get<int64_t>(), entries);
  EXPECT_EQ(report["discarded_rows"], 0);

  // A node with a copy of the key serves the same vault, and the log
  // verifies against the checkpoint taken before the move.
  const std::string node = SecondNode();
  Result after =
      Tillit({"citizen", "list", "--store", url_, "--data", node, "--json"});
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_EQ(json::parse(after.out), json::parse(before.out));
  Result verify = Tillit({"audit", "verify", "--store", url_, "--data", node,
                          "--checkpoint", note, "--json"});
  ASSERT_EQ(verify.code, 0) << verify.err << verify.out;
  EXPECT_EQ(json::parse(verify.out)["ok"], true);
  EXPECT_EQ(json::parse(verify.out)["entries"].get<int64_t>(), entries);
  Result cap = Tillit({"study", "budget", "--store", url_, "--data", node,
                       "--default-citizen-cap", "--json"});
  ASSERT_EQ(cap.code, 0) << cap.err;
  EXPECT_NE(cap.out.find("2.5"), std::string::npos) << cap.out;

  // A store that holds a vault is refused, unchanged, and never discarded.
  Result again = Tillit({"migrate", "--from", data_, "--to", url_});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already holds a vault"), std::string::npos)
      << again.err;
  auto store = pgstore::PgVaultStore::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->DiscardUnfinished().status().code(),
            StatusCode::kFailedPrecondition);
  Result still =
      Tillit({"citizen", "list", "--store", url_, "--data", node, "--json"});
  ASSERT_EQ(still.code, 0) << still.err;
  EXPECT_EQ(json::parse(still.out), json::parse(before.out));
}

TEST_F(StoreCliTest, AnUnfinishedMigrationLeavesNoVaultAndIsRunAgain) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  ASSERT_EQ(Tillit({"citizen", "add", "--data", data_}).code, 0);
  ASSERT_EQ(Tillit({"migrate", "--from", data_, "--to", url_}).code, 0);
  // As if the run had stopped before its last step, the header.
  auto conn = pgstore::Connection::Open(url_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)->ExecScript("DELETE FROM vault_header").ok());
  const std::string node = SecondNode();
  Result none = Tillit({"citizen", "list", "--store", url_, "--data", node});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no vault in this store"), std::string::npos)
      << none.err;
  // A new vault does not adopt those rows (under another master secret).
  const std::string fresh = dir_ + "/fresh";
  Result init = Tillit({"init", "--store", url_, "--data", fresh});
  EXPECT_EQ(init.code, 1);
  EXPECT_NE(init.err.find("unfinished `tillit migrate`"), std::string::npos)
      << init.err;
  EXPECT_FALSE(fs::exists(fresh + "/root.key"));

  Result moved = Tillit({"migrate", "--from", data_, "--to", url_, "--json"});
  ASSERT_EQ(moved.code, 0) << moved.err;
  EXPECT_GT(json::parse(moved.out)["discarded_rows"].get<int64_t>(), 0);
  Result list =
      Tillit({"citizen", "list", "--store", url_, "--data", node, "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  EXPECT_EQ(json::parse(list.out).size(), 1u);
}

TEST_F(StoreCliTest, MigrateRefusesWhatItCannotMove) {
  EXPECT_EQ(Tillit({"migrate", "--to", url_}).code, 2);
  EXPECT_EQ(Tillit({"migrate", "--from", data_}).code, 2);
  EXPECT_EQ(Tillit({"migrate", "--from", data_, "--to", url_, "extra"}).code,
            2);
  Result nothing = Tillit({"migrate", "--from", data_, "--to", url_});
  EXPECT_EQ(nothing.code, 1);
  EXPECT_NE(nothing.err.find("tillit init"), std::string::npos) << nothing.err;

  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  Result password = Tillit({"migrate", "--from", data_, "--to",
                            "postgresql://tillit:s3cr3t@127.0.0.1/x"});
  EXPECT_EQ(password.code, 1);
  EXPECT_NE(password.err.find("password file"), std::string::npos)
      << password.err;
  EXPECT_EQ(password.err.find("s3cr3t"), std::string::npos);
  Result nowhere =
      Tillit({"migrate", "--from", data_, "--to",
              "postgresql://tillit@127.0.0.1:1/x?connect_timeout=2"});
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_NE(nowhere.err.find("store"), std::string::npos) << nowhere.err;
  // A key file that does not open the vault.
  ASSERT_EQ(Tillit({"init", "--data", dir_ + "/other"}).code, 0);
  Result wrong = Tillit({"migrate", "--from", data_, "--to", url_, "--key-file",
                         dir_ + "/other/root.key"});
  EXPECT_EQ(wrong.code, 1);
  // None of these left a vault, or a row, in the store.
  auto store = pgstore::PgVaultStore::Open(url_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->ReadHeader().status().code(), StatusCode::kNotFound);
  auto left = (*store)->DiscardUnfinished();
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_EQ(*left, 0);

  // Another program's table that bears a name tillit uses is left alone:
  // the move fails (tillit cannot make its own), the table keeps its row.
  auto conn = pgstore::Connection::Open(url_);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  ASSERT_TRUE((*conn)
                  ->ExecScript("CREATE TABLE tokens (note text); "
                               "INSERT INTO tokens VALUES ('theirs')")
                  .ok());
  Result clash = Tillit({"migrate", "--from", data_, "--to", url_});
  EXPECT_EQ(clash.code, 1);
  auto kept = (*conn)->Exec("SELECT note FROM tokens");
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  ASSERT_EQ(kept->rows(), 1);
  EXPECT_EQ(kept->Text(0, 0), "theirs");
}

TEST_F(StoreCliTest, ABadOrUnreachableStoreIsAClearError) {
  Result password =
      Tillit({"init", "--store", "postgresql://tillit:s3cr3t@127.0.0.1/x",
              "--data", data_});
  EXPECT_EQ(password.code, 1);
  EXPECT_NE(password.err.find("password file"), std::string::npos)
      << password.err;
  EXPECT_EQ(password.err.find("s3cr3t"), std::string::npos);
  EXPECT_FALSE(fs::exists(data_ + "/root.key"));

  Result nowhere = Tillit(
      {"init", "--store", "postgresql://tillit@127.0.0.1:1/x?connect_timeout=2",
       "--data", data_});
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_NE(nowhere.err.find("store"), std::string::npos) << nowhere.err;
  EXPECT_FALSE(fs::exists(data_ + "/root.key"));
}

}  // namespace
}  // namespace tillit::cli
