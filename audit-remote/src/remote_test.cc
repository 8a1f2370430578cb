#include "tillit/audit_remote/remote.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "tillit/vault/vault.h"

namespace tillit::audit {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr char kToken[] = "tlk_auditor";

AuditEntry Entry(int i) {
  AuditEntry e;
  e.time = 1767225600 + i;
  e.actor_kind = "citizen";
  e.actor_id = "c_00000000000000000000000000000001";
  e.action = "records.list";
  e.citizen_id = "c_00000000000000000000000000000001";
  e.decision = "permit";
  e.request_id = "req-" + std::to_string(i);
  return e;
}

// A test server for the three audit routes, backed by a real AuditLog; it
// can be told to lie.
class AuditServer {
 public:
  explicit AuditServer(AuditLog* log) : log_(log) {
    server_.Get("/v1/audit/public-key",
                [this](const httplib::Request&, httplib::Response& res) {
                  res.set_content(log_->verifier_key() + "\n", "text/plain");
                });
    server_.Get("/v1/audit/checkpoint", [this](const httplib::Request& req,
                                               httplib::Response& res) {
      if (!Authorised(req, res)) return;
      res.set_content(checkpoint_override.empty() ? *log_->SignedCheckpoint()
                                                  : checkpoint_override,
                      "text/plain");
    });
    server_.Get("/v1/audit/entries",
                [this](const httplib::Request& req, httplib::Response& res) {
                  if (!Authorised(req, res)) return;
                  ListQuery q;
                  q.after = std::stoll(req.get_param_value("after"));
                  q.limit = std::stoul(req.get_param_value("limit"));
                  auto entries = log_->List(q);
                  json out = {{"entries", json::array()}, {"next", nullptr}};
                  for (const StoredEntry& e : *entries) {
                    if (e.index == skip_index) continue;
                    json j = json::parse(EntryToApiJson(e));
                    if (e.index == alter_index) j["action"] = "records.export";
                    if (e.index == forge_actor_index)
                      j["actor"] = "p_00000000000000000000000000000009";
                    if (strip_actor) j.erase("actor");
                    if (e.index == forge_on_behalf_index)
                      j["on_behalf_of"] = "c_00000000000000000000000000000009";
                    if (e.index == strip_on_behalf_index)
                      j.erase("on_behalf_of");
                    out["entries"].push_back(j);
                  }
                  if (!entries->empty()) out["next"] = entries->back().index;
                  res.set_content(out.dump(), "application/json");
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // 0.11.4 has no wait_until_ready().
    for (int i = 0; i < 2000 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ~AuditServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }

  uint64_t alter_index = UINT64_MAX;
  uint64_t skip_index = UINT64_MAX;
  uint64_t forge_actor_index = UINT64_MAX;
  uint64_t forge_on_behalf_index = UINT64_MAX;
  uint64_t strip_on_behalf_index = UINT64_MAX;
  bool strip_actor = false;
  std::string checkpoint_override;

 private:
  bool Authorised(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") !=
        std::string("Bearer ") + kToken) {
      res.status = 401;
      return false;
    }
    return true;
  }
  AuditLog* log_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

class RemoteVerifyTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kProxyEntry = 1200;
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-remote-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    vault_ = std::move(vault::Vault::Init(o)->vault);
    log_ = std::move(AuditLog::OpenInDirectory(vault_->data_dir(), *vault_))
               .value();
    // 2,500 entries: three pages of 1,000.
    std::vector<AuditEntry> batch;
    for (int i = 0; i < 2500; ++i) batch.push_back(Entry(i));
    // Entry 1200 is a proxy's, made for citizen 1 by citizen 2.
    batch[kProxyEntry].actor_id = "c_00000000000000000000000000000002";
    ASSERT_TRUE(log_->AppendBatch(batch).ok());
    server_ = std::make_unique<AuditServer>(log_.get());
  }
  void TearDown() override {
    server_.reset();
    log_.reset();
    vault_.reset();
    fs::remove_all(dir_);
  }
  RemoteVerifyOptions Options() {
    RemoteVerifyOptions o;
    o.url = server_->url();
    o.token = kToken;
    o.timeout_seconds = 5;
    return o;
  }

  std::string dir_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<AuditLog> log_;
  std::unique_ptr<AuditServer> server_;
};

TEST_F(RemoteVerifyTest, HonestServerVerifies) {
  RemoteVerifyOptions o = Options();
  o.pinned_key = log_->verifier_key();
  auto r = VerifyRemoteLog(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->entries, 2500u);
}

TEST_F(RemoteVerifyTest, ApiJsonIsTheCanonicalEntryPlusIndexAndActor) {
  ListQuery q;
  q.after = 41;
  q.limit = 3;
  auto entries = log_->List(q);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 3u);
  for (const StoredEntry& e : *entries) {
    json j = json::parse(EntryToApiJson(e));
    EXPECT_EQ(j["index"], e.index);
    EXPECT_EQ(j["actor"], "c_00000000000000000000000000000001");
    EXPECT_EQ(j["actor"], j["actor_id"]);
    EXPECT_EQ(j["citizen"], "c_00000000000000000000000000000001");
    j.erase("index");
    j.erase("actor");
    EXPECT_EQ(j.dump(), e.canonical);
  }
  EXPECT_EQ(entries->front().index, 42u);
}

TEST_F(RemoteVerifyTest, ForgedActorIsCaught) {
  // "actor" is not hashed, so the verifier checks it against actor_id.
  server_->forge_actor_index = 700;
  auto r = VerifyRemoteLog(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad_index, 700u) << r->problem;
  EXPECT_NE(r->problem.find("actor"), std::string::npos) << r->problem;
}

TEST_F(RemoteVerifyTest, OnBehalfOfIsShownForAProxyAndCheckedLikeActor) {
  ListQuery q;
  q.after = kProxyEntry - 2;
  q.limit = 2;
  auto entries = log_->List(q);
  ASSERT_TRUE(entries.ok());
  EXPECT_FALSE(
      json::parse(EntryToApiJson((*entries)[0])).contains("on_behalf_of"));
  EXPECT_EQ(json::parse(EntryToApiJson((*entries)[1]))["on_behalf_of"],
            "c_00000000000000000000000000000001");
  auto honest = VerifyRemoteLog(Options());
  ASSERT_TRUE(honest.ok());
  EXPECT_TRUE(honest->ok) << honest->problem;

  server_->forge_on_behalf_index = 300;  // a citizen's own entry
  auto forged = VerifyRemoteLog(Options());
  ASSERT_TRUE(forged.ok());
  EXPECT_FALSE(forged->ok);
  EXPECT_EQ(forged->first_bad_index, 300u);
  EXPECT_NE(forged->problem.find("on_behalf_of"), std::string::npos);

  server_->forge_on_behalf_index = UINT64_MAX;
  server_->strip_on_behalf_index = kProxyEntry;  // hiding the proxy
  auto hidden = VerifyRemoteLog(Options());
  ASSERT_TRUE(hidden.ok());
  EXPECT_FALSE(hidden->ok);
  EXPECT_EQ(hidden->first_bad_index, kProxyEntry);
}

TEST_F(RemoteVerifyTest, EntriesWithoutActorStillVerify) {
  server_->strip_actor = true;
  auto r = VerifyRemoteLog(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->entries, 2500u);
}

TEST_F(RemoteVerifyTest, AlteredEntryIsCaught) {
  server_->alter_index = 1500;
  auto r = VerifyRemoteLog(Options());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
}

TEST_F(RemoteVerifyTest, WithheldEntryIsCaught) {
  server_->skip_index = 1200;
  auto r = VerifyRemoteLog(Options());
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->first_bad_index, 1200u) << r->problem;
}

TEST_F(RemoteVerifyTest, ForkAgainstASavedCheckpointIsCaught) {
  // A head this auditor saved earlier, signed by the same key, that the
  // served log does not contain: the log forked (or was rolled back and
  // rewritten) since.
  auto seed = vault_->DeriveKey(crypto::KdfContext::kAuditSigning, 1);
  auto signer = crypto::SigningKey::FromSeed(*seed);
  RemoteVerifyOptions o = Options();
  o.saved_note = SignCheckpoint({log_->origin(), 2500, LeafHash({})},
                                log_->key_name(), *signer);
  auto r = VerifyRemoteLog(o);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_NE(r->problem.find("saved checkpoint"), std::string::npos)
      << r->problem;
  // The genuine head saved earlier passes.
  o.saved_note = *log_->SignedCheckpoint();
  EXPECT_TRUE(VerifyRemoteLog(o)->ok);
}

TEST_F(RemoteVerifyTest, WrongPinnedKeyAndBadTokenAreRefused) {
  RemoteVerifyOptions o = Options();
  o.pinned_key =
      "tillit-audit+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  EXPECT_EQ(VerifyRemoteLog(o).status().code(), StatusCode::kUnauthenticated);
  o = Options();
  o.token = "wrong";
  EXPECT_EQ(VerifyRemoteLog(o).status().code(), StatusCode::kUnauthenticated);
  o = Options();
  o.url = "http://127.0.0.1:1";
  EXPECT_EQ(VerifyRemoteLog(o).status().code(), StatusCode::kIoError);
}

}  // namespace
}  // namespace tillit::audit
