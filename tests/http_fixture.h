// A real tillit server on a loopback port, for the HTTP tests: a fresh
// vault in a temporary directory, the server started on it, and a client
// that speaks to it over real HTTP.
#ifndef TILLIT_TESTS_HTTP_FIXTURE_H_
#define TILLIT_TESTS_HTTP_FIXTURE_H_

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/api/server.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/random.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/vault/vault.h"

namespace tillit::testing {

using nlohmann::json;

struct Reply {
  int status = 0;  // 0: no response (connection error)
  std::string body;
  httplib::Headers headers;
  json Json() const { return json::parse(body, nullptr, false); }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  // The error code of an error body, or "" if the body is not one.
  std::string ErrorCode() const {
    json j = Json();
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object())
      return "";
    const json& e = j["error"];
    if (!e.contains("code") || !e.contains("message") ||
        !e.contains("request_id"))
      return "";
    return e["code"].get<std::string>();
  }
};

struct Principal {
  std::string id;
  std::string token;
};

class HttpTest : public ::testing::Test {
 protected:
  // Override to change limits before the server starts.
  virtual void Configure(api::ServerOptions&) {}
  // The Env every file of the vault, the audit log and releases goes
  // through; override to inject faults.
  virtual Env* FileEnv() { return Env::Default(); }

  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tillit-http-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions vo;
    vo.data_dir = dir_ + "/data";
    vo.env = FileEnv();
    auto created = vault::Vault::Init(vo);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    admin_ = std::string(created->admin_token.ExposeSecretText());
    consents_ = std::make_unique<consent::ConsentService>(
        vault_.get(), &Clock::System(), &crypto::Random::System());
    StartServer();
  }

  void StartServer() {
    api::ServerOptions o;
    o.port = 0;
    o.threads = 8;
    o.log = &log_;
    Configure(o);
    auto server = api::Server::Create(vault_.get(), o);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    ASSERT_TRUE(server_->Start().ok());
  }

  void StopServer() {
    if (server_) server_->Stop();
    server_.reset();
  }

  void TearDown() override {
    StopServer();
    consents_.reset();
    vault_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<httplib::Client> Client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    c->set_read_timeout(30, 0);
    return c;
  }

  static Reply From(const httplib::Result& r) {
    Reply out;
    if (!r) return out;
    out.status = r->status;
    out.body = r->body;
    out.headers = r->headers;
    return out;
  }
  static httplib::Headers Auth(const std::string& token) {
    if (token.empty()) return {};
    return {{"Authorization", "Bearer " + token}};
  }

  Reply Get(const std::string& path, const std::string& token = "") const {
    return From(Client()->Get(path.c_str(), Auth(token)));
  }
  Reply Delete(const std::string& path, const std::string& token = "",
               const std::string& body = "") const {
    return From(
        Client()->Delete(path.c_str(), Auth(token), body, "application/json"));
  }
  Reply Post(const std::string& path, const std::string& body,
             const std::string& token = "",
             const char* type = "application/json") const {
    return From(Client()->Post(path.c_str(), Auth(token), body, type));
  }
  Reply Put(const std::string& path, const std::string& body,
            const std::string& token = "") const {
    return From(
        Client()->Put(path.c_str(), Auth(token), body, "application/json"));
  }

  // --- principals, made through the public routes
  Principal NewCitizen() {
    Reply c = Post("/v1/admin/citizens", "{}", admin_);
    EXPECT_EQ(c.status, 201) << c.body;
    Reply e =
        Post("/v1/enroll",
             json{{"enrollment_code", c.Json()["enrollment_code"]}}.dump());
    EXPECT_EQ(e.status, 200) << e.body;
    return {e.Json()["citizen_id"], e.Json()["token"]};
  }
  Principal NewProvider(const std::string& name = "Sahlgrenska") {
    Reply r = Post("/v1/admin/providers", json{{"name", name}}.dump(), admin_);
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.Json()["provider_id"], r.Json()["token"]};
  }
  Principal NewAuditor() {
    Reply r = Post("/v1/admin/auditors", json{{"name", "IVO"}}.dump(), admin_);
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.Json()["auditor_id"], r.Json()["token"]};
  }
  Principal NewResearcher(const std::string& org_type = "academic",
                          const std::string& country = "SE") {
    crypto::BoxKeyPair pair =
        crypto::BoxKeyPair::Generate(crypto::Random::System());
    json body = {{"name", "Ada"},
                 {"organization", "Karolinska Institutet"},
                 {"org_type", org_type},
                 {"country", country},
                 {"public_key", crypto::Base64Encode(pair.public_key)}};
    Reply r = Post("/v1/admin/researchers", body.dump(), admin_);
    EXPECT_EQ(r.status, 201) << r.body;
    return {r.Json()["researcher_id"], r.Json()["token"]};
  }
  // --- the audit log
  // The entries about `citizen`, as an auditor reads them, oldest first.
  std::vector<json> AuditFor(const std::string& citizen,
                             const std::string& auditor_token) const {
    Reply r =
        Get("/v1/audit/entries?limit=1000&citizen=" + citizen, auditor_token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json> out;
    const json body = r.Json();
    for (const json& e : body["entries"]) out.push_back(e);
    return out;
  }
  // How many entries the log holds.
  uint64_t AuditSize() const { return Get("/healthz").Json()["audit_entries"]; }
  // A generated synthetic patient's bundle (FHIR transaction).
  // BASE64URL(SHA-256(verifier)): a SMART app's PKCE S256 challenge.
  static std::string PkceChallenge(std::string_view verifier) {
    std::string b =
        crypto::Base64Encode(crypto::Sha256(crypto::AsBytes(verifier)));
    while (!b.empty() && b.back() == '=') b.pop_back();
    for (char& c : b) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    return b;
  }
  static std::string SyntheticBundle(uint64_t index, uint64_t seed = 11) {
    return fhir::GenerateSyntheticBundle(seed, index);
  }

  std::string dir_;
  std::unique_ptr<vault::Vault> vault_;
  // For setting up grants and restrictions directly, beside the server.
  std::unique_ptr<consent::ConsentService> consents_;
  std::unique_ptr<api::Server> server_;
  std::string admin_;
  // Written by the server threads: read it only after StopServer().
  std::ostringstream log_;
};

}  // namespace tillit::testing

#endif  // TILLIT_TESTS_HTTP_FIXTURE_H_
