// End-to-end tests of a cluster: three `tillit serve` processes (nodes)
// sharing one vault in a private PostgreSQL server, each with a data
// directory of its own that holds a copy of the root key; clients spread
// over the nodes by real HTTP, the nodes stopped with real signals.
//
// Each TEST is its own process under ctest (gtest_discover_tests) and so
// starts its own PostgreSQL server: a second or two each, hence few TESTs
// that each check much.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "e2e_process.h"
#include "tillit/testing/pg_cluster.h"

namespace tillit::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kNodes = 3;

// A heart rate the citizen enters (vital signs); `k` makes its time and
// value its own.
json HeartRate(int k) {
  char when[64];
  std::snprintf(when, sizeof when, "2024-05-%02dT%02d:%02d:00Z", 1 + k / 1440,
                k / 60 % 24, k % 60);
  return {
      {"resourceType", "Observation"},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/observation-category"},
            {"code", "vital-signs"}}}}}}},
      {"code",
       {{"coding", {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
      {"effectiveDateTime", when},
      {"valueQuantity", {{"value", 50 + k % 50}, {"unit", "/min"}}}};
}

// The tree size a signed checkpoint names (its second line); 0 if none.
uint64_t CheckpointSize(const std::string& note) {
  const size_t first = note.find('\n');
  const size_t end = note.find('\n', first + 1);
  if (first == std::string::npos || end == std::string::npos) return 0;
  const std::string line = note.substr(first + 1, end - first - 1);
  if (line.empty() || line.size() > 19 ||
      line.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoull(line);
}

class ClusterTest : public ::testing::Test {
 protected:
  struct Citizen {
    std::string id, token;
  };

  // A vault made with `tillit init --store` and served by kNodes nodes.
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-cluster-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    children_ = std::make_unique<ChildProcesses>(dir_);
    auto started = PgCluster::Start();
    ASSERT_TRUE(started.ok())
        << "no PostgreSQL for the cluster: " << started.status().ToString();
    pg_ = std::move(started).value();
    const Status created = pg_->CreateDatabase("vault");
    ASSERT_TRUE(created.ok()) << created.ToString();
    // Trust authentication on loopback: the URL needs no password.
    store_ = "postgresql://tillit@127.0.0.1:" + std::to_string(pg_->port()) +
             "/vault?connect_timeout=5";

    Result init = children_->Run(
        {"init", "--store", store_, "--data", NodeDir(0), "--json"});
    ASSERT_EQ(init.code, 0) << init.err;
    const json made = json::parse(init.out, nullptr, false);
    ASSERT_TRUE(made.is_object()) << init.out;
    EXPECT_EQ(made.value("store", false), true) << init.out;
    admin_ = made.value("admin_token", "");
    ASSERT_TRUE(StartsWith(admin_, "tlk_")) << init.out;
    // The database holds the vault; the directory only the root key.
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(NodeDir(0)))
      files.push_back(e.path().filename().string());
    EXPECT_EQ(files, std::vector<std::string>{"root.key"});
    for (int n = 1; n < kNodes; ++n) {
      ASSERT_EQ(::mkdir(NodeDir(n).c_str(), 0700), 0) << NodeDir(n);
      std::error_code ec;
      fs::copy_file(NodeDir(0) + "/root.key", NodeDir(n) + "/root.key", ec);
      ASSERT_FALSE(ec) << ec.message();
      fs::permissions(NodeDir(n) + "/root.key",
                      fs::perms::owner_read | fs::perms::owner_write,
                      fs::perm_options::replace, ec);
      ASSERT_FALSE(ec) << ec.message();
    }

    // Started together, as a cluster's nodes may be: the first to reach
    // the store makes the tables it lacks while the others wait.
    for (int n = 0; n < kNodes; ++n) {
      nodes_[n] =
          &children_->Spawn({"serve", "--store", store_, "--data", NodeDir(n),
                             "--listen", "127.0.0.1:0", "--quiet"});
    }
    for (int n = 0; n < kNodes; ++n) {
      urls_[n] = ListeningUrl(*nodes_[n]);
      ASSERT_TRUE(StartsWith(urls_[n], "http://127.0.0.1:"))
          << "node " << n << Logs();
    }
  }

  void TearDown() override {
    children_.reset();  // the nodes first: they hold connections
    pg_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string NodeDir(int n) const {
    return dir_ + "/node" + std::to_string(n);
  }

  // Every node's standard error (only errors: --quiet), for a failure.
  std::string Logs() const {
    std::string all;
    for (int n = 0; n < kNodes; ++n) {
      if (nodes_[n] == nullptr) continue;
      all += "\nnode " + std::to_string(n) +
             " stderr: " + ReadAll(nodes_[n]->err_path);
    }
    return all;
  }

  // Registers a provider or an auditor (`kind`) through node `n`; its id
  // and token, empty after a failure.
  std::pair<std::string, std::string> Register(const std::string& kind, int n) {
    Reply r = Call(urls_[n], "POST", "/v1/admin/" + kind + "s", admin_,
                   R"({"name": "Cluster test"})");
    EXPECT_EQ(r.status, 201) << r.body << Logs();
    const json j = r.Json();
    if (r.status != 201 || !j.is_object()) return {};
    return {j.value(kind + "_id", ""), j.value("token", "")};
  }

  // A citizen the operator creates through node `made`, who enrolls
  // through node `enrolled`; empty after a failure.
  Citizen NewCitizen(int made, int enrolled) {
    Reply c = Call(urls_[made], "POST", "/v1/admin/citizens", admin_, "{}");
    EXPECT_EQ(c.status, 201) << c.body << Logs();
    const json created = c.Json();
    if (c.status != 201 || !created.is_object()) return {};
    Reply e = Call(
        urls_[enrolled], "POST", "/v1/enroll", "",
        json{{"enrollment_code", created.value("enrollment_code", "")}}.dump());
    EXPECT_EQ(e.status, 200) << e.body << Logs();
    const json enrolled_as = e.Json();
    if (e.status != 200 || !enrolled_as.is_object()) return {};
    return {created.value("citizen_id", ""), enrolled_as.value("token", "")};
  }

  // SIGTERM to every node: each finishes and exits 0.
  void StopNodes() {
    for (int n = 0; n < kNodes; ++n) {
      EXPECT_EQ(Stop(*nodes_[n]), 0) << "node " << n << Logs();
      EXPECT_EQ(ReadRest(*nodes_[n]), "stopped\n") << "node " << n;
    }
  }

  std::string dir_, store_, admin_;
  std::unique_ptr<PgCluster> pg_;
  std::unique_ptr<ChildProcesses> children_;
  Child* nodes_[kNodes] = {};
  std::string urls_[kNodes];
};

// Clients spread over the nodes, several at once and two per citizen,
// each writing through one node and reading the record back at once
// through another. Afterwards every node lists exactly the acknowledged
// records, and all nodes show one audit log that verifies.
TEST_F(ClusterTest, EveryNodeServesWhatAnyNodeWroteAndShowsOneAuditLog) {
  constexpr int kCitizens = 3, kClients = 2 * kCitizens, kWrites = 10;
  std::vector<Citizen> citizens;
  for (int i = 0; i < kCitizens; ++i) {
    citizens.push_back(NewCitizen(i % kNodes, (i + 1) % kNodes));
    ASSERT_FALSE(citizens.back().token.empty());
  }
  const std::string auditor = Register("auditor", 2).second;
  ASSERT_FALSE(auditor.empty());

  // Client t writes for citizen t % kCitizens; what it saw acknowledged.
  std::vector<std::vector<std::string>> acknowledged(kClients);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      const Citizen& c = citizens[t % kCitizens];
      for (int i = 0; i < kWrites; ++i) {
        const int to = (t + i) % kNodes, from = (t + i + 1) % kNodes;
        Reply w = Call(urls_[to], "POST", "/v1/me/records", c.token,
                       HeartRate(t * kWrites + i).dump());
        const json written = w.Json();
        if (w.status != 201 || !written.is_object()) {
          ADD_FAILURE() << "client " << t << ", write " << i << " through node "
                        << to << ": " << w.status << " " << w.body;
          return;
        }
        const std::string id = written.value("id", "");
        acknowledged[t].push_back(id);
        Reply r = Call(urls_[from], "GET", "/v1/me/records/Observation/" + id,
                       c.token);
        EXPECT_EQ(r.status, 200)
            << "written through node " << to << ", read through node " << from
            << ": " << r.body;
        EXPECT_EQ(r.body, w.body) << "node " << from;
      }
    });
  }
  for (std::thread& c : clients) c.join();
  ASSERT_FALSE(HasFailure()) << Logs();

  // Every acknowledged write, once, through every node; ids unique.
  std::set<std::string> every_id;
  size_t writes = 0;
  for (int i = 0; i < kCitizens; ++i) {
    std::set<std::string> theirs;
    for (int t = i; t < kClients; t += kCitizens) {
      theirs.insert(acknowledged[t].begin(), acknowledged[t].end());
      every_id.insert(acknowledged[t].begin(), acknowledged[t].end());
      writes += acknowledged[t].size();
    }
    for (int n = 0; n < kNodes; ++n) {
      Reply list =
          Call(urls_[n], "GET", "/v1/me/records?limit=1000", citizens[i].token);
      ASSERT_EQ(list.status, 200) << "node " << n << ": " << list.body;
      json page = list.Json();
      ASSERT_TRUE(page.is_object() && page["records"].is_array()) << list.body;
      EXPECT_TRUE(page["next"].is_null()) << list.body;
      std::set<std::string> listed;
      for (const json& r : page["records"]) listed.insert(r.value("id", ""));
      EXPECT_EQ(listed.size(), page["records"].size())
          << "node " << n << " lists a record twice";
      EXPECT_EQ(listed, theirs) << "citizen " << i << " through node " << n;
    }
  }
  EXPECT_EQ(writes, size_t{kClients * kWrites});
  EXPECT_EQ(every_id.size(), writes) << "an id was given twice";

  // One log. The last access goes through node 0, so the size its
  // checkpoint names is past what nodes 1 and 2 have appended or read
  // themselves: each must still prove inclusion at that size, and sign
  // (or return) the same checkpoint.
  ASSERT_EQ(
      Call(urls_[0], "GET", "/v1/me/records?limit=1", citizens[0].token).status,
      200);
  Reply head = Call(urls_[0], "GET", "/v1/audit/checkpoint", auditor);
  ASSERT_EQ(head.status, 200) << head.body;
  const uint64_t size = CheckpointSize(head.body);
  ASSERT_GE(size, uint64_t{2 * kClients * kWrites}) << head.body;
  const std::string proof_path =
      "/v1/audit/proofs/inclusion?index=" + std::to_string(size - 1) +
      "&size=" + std::to_string(size);
  Reply proof = Call(urls_[0], "GET", proof_path, auditor);
  ASSERT_EQ(proof.status, 200) << proof.body;
  for (int n = 1; n < kNodes; ++n) {
    Reply other = Call(urls_[n], "GET", proof_path, auditor);
    EXPECT_EQ(other.status, 200) << "node " << n << ": " << other.body;
    EXPECT_EQ(other.Json(), proof.Json()) << "node " << n;
    Reply note = Call(urls_[n], "GET", "/v1/audit/checkpoint", auditor);
    EXPECT_EQ(note.status, 200) << "node " << n << ": " << note.body;
    EXPECT_EQ(note.body, head.body) << "node " << n;
  }

  // `tillit audit verify --url` against each node. Listing entries is
  // itself audited, so each verification also sees those of the
  // verifications before it, made through the other nodes.
  uint64_t seen = size;
  for (int n = 0; n < kNodes; ++n) {
    Result v = children_->Run(
        {"audit", "verify", "--url", urls_[n], "--token", auditor, "--json"});
    ASSERT_EQ(v.code, 0) << "node " << n << ": " << v.out << v.err << Logs();
    const json report = json::parse(v.out, nullptr, false);
    ASSERT_TRUE(report.is_object()) << v.out;
    EXPECT_EQ(report.value("ok", false), true) << v.out;
    const uint64_t entries = report.value("entries", uint64_t{0});
    EXPECT_GT(entries, seen) << "node " << n << ": " << v.out;
    seen = entries;
  }
  StopNodes();
}

// A citizen's grant to a care provider, made through one node and revoked
// through another, is refused by the third at the very next request, in
// every order of the three, though each node had just served under it:
// no node answers from a copy of the grants that another node's
// revocation does not reach (SPEC §4).
TEST_F(ClusterTest, AGrantRevokedThroughOneNodeIsRefusedByEveryNodeAtOnce) {
  const auto [provider_id, provider] = Register("provider", 0);
  ASSERT_FALSE(provider.empty());
  const Citizen c = NewCitizen(1, 2);
  ASSERT_FALSE(c.token.empty());
  Reply w =
      Call(urls_[0], "POST", "/v1/me/records", c.token, HeartRate(0).dump());
  ASSERT_EQ(w.status, 201) << w.body << Logs();
  const std::string records = "/v1/patients/" + c.id + "/records";
  const std::string grant = json{
      {"grantee", {{"kind", "provider"}, {"id", provider_id}}},
      {"purposes", {"DUO:0000043"}},
      {"categories", {"vital-signs"}},
      {"expires", nullptr}}.dump();

  // (granted through, revoked through, read through)
  const int orders[][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                           {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
  for (const auto& order : orders) {
    const int granted = order[0], revoked = order[1], reading = order[2];
    const std::string how = "granted through node " + std::to_string(granted) +
                            ", revoked through node " +
                            std::to_string(revoked) + ": ";
    Reply g = Call(urls_[granted], "POST", "/v1/me/consents", c.token, grant);
    ASSERT_EQ(g.status, 201) << how << g.body << Logs();
    const std::string id = g.Json().value("id", "");
    for (int n = 0; n < kNodes; ++n) {
      Reply r = Call(urls_[n], "GET", records, provider);
      ASSERT_EQ(r.status, 200) << how << "node " << n << ": " << r.body;
      json page = r.Json();
      ASSERT_TRUE(page.is_object() && page["records"].is_array()) << r.body;
      EXPECT_EQ(page["records"].size(), 1u) << how << "node " << n;
    }
    Reply d = Call(urls_[revoked], "DELETE", "/v1/me/consents/" + id, c.token);
    ASSERT_EQ(d.status, 200) << how << d.body << Logs();
    Reply next = Call(urls_[reading], "GET", records, provider);
    EXPECT_EQ(next.status, 404)
        << how << "read through node " << reading << ": " << next.body;
    for (int n = 0; n < kNodes; ++n) {
      EXPECT_EQ(Call(urls_[n], "GET", records, provider).status, 404)
          << how << "node " << n;
    }
  }

  // The citizen sees every grant, each revoked, through any node.
  for (int n = 0; n < kNodes; ++n) {
    Reply list = Call(urls_[n], "GET", "/v1/me/consents", c.token);
    ASSERT_EQ(list.status, 200) << "node " << n << ": " << list.body;
    json consents = list.Json();
    ASSERT_TRUE(consents.is_object() && consents["consents"].is_array())
        << list.body;
    EXPECT_EQ(consents["consents"].size(), std::size(orders)) << list.body;
    for (const json& g : consents["consents"])
      EXPECT_EQ(g.value("status", ""), "revoked") << "node " << n;
  }
  StopNodes();
}

}  // namespace
}  // namespace tillit::testing
