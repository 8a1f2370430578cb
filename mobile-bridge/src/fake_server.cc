#include "fake_server.h"

#include <nlohmann/json.hpp>
#include <set>

#include "tillit/audit/checkpoint.h"
#include "tillit/audit/entry.h"
#include "tillit/crypto/encoding.h"
#include "tillit/http_signature/http_signature.h"

namespace tillit::bridge::testing {
namespace {

using nlohmann::json;

constexpr const char* kKeyName = "fake-log";
constexpr const char* kOrigin = "tillit.test/fake-log";

void Error(httplib::Response& res, int status, const std::string& code,
           const std::string& message) {
  res.status = status;
  res.set_header("X-Request-Id", "fake0001");
  res.set_content(
      json{{"error",
            {{"code", code}, {"message", message}, {"request_id", "fake0001"}}}}
          .dump(),
      "application/json");
}

json Hexes(const std::vector<audit::Hash>& hashes) {
  json out = json::array();
  for (const audit::Hash& h : hashes) out.push_back(crypto::HexEncode(h));
  return out;
}

}  // namespace

FakeServer::FakeServer(uint64_t seed)
    : rng_(seed),
      signer_(crypto::SigningKey::Generate(rng_)),
      other_signer_(crypto::SigningKey::Generate(rng_)) {
  Routes();
  const int port = http_.bind_to_any_port("127.0.0.1");
  url_ = "http://127.0.0.1:" + std::to_string(port);
  thread_ = std::thread([this] { http_.listen_after_bind(); });
  while (!http_.is_running()) std::this_thread::yield();
}

FakeServer::~FakeServer() {
  http_.stop();
  thread_.join();
}

std::string FakeServer::verifier_key() const {
  return audit::VerifierKey(kKeyName, signer_.public_key());
}

std::string FakeServer::Leaf(const std::string& tag, uint64_t index) const {
  audit::AuditEntry e;
  e.time = 1700000000 + static_cast<int64_t>(index);
  e.actor_kind = "citizen";
  e.actor_id = kCitizen;
  e.action = "test." + tag;
  e.citizen_id = kCitizen;
  e.decision = "none";
  e.request_id = "r" + std::to_string(index);
  return *audit::CanonicalEntry(e);
}

void FakeServer::SetLog(const std::string& tag, int count) {
  MutexLock lock(&mu_);
  leaves_.clear();
  for (int i = 0; i < count; ++i) leaves_.push_back(Leaf(tag, leaves_.size()));
}

void FakeServer::GrowLog(const std::string& tag, int count) {
  MutexLock lock(&mu_);
  for (int i = 0; i < count; ++i) leaves_.push_back(Leaf(tag, leaves_.size()));
}

void FakeServer::SignWithOtherKey(bool on) {
  MutexLock lock(&mu_);
  other_key_ = on;
}

void FakeServer::TamperAccessLog(bool on) {
  MutexLock lock(&mu_);
  tamper_ = on;
}

void FakeServer::ForceRestrictions(int status, const std::string& code) {
  MutexLock lock(&mu_);
  forced_status_ = status;
  forced_code_ = code;
}

int FakeServer::records_posted() const {
  MutexLock lock(&mu_);
  return static_cast<int>(idempotency_keys_.size());
}

std::string FakeServer::last_idempotency_key() const {
  MutexLock lock(&mu_);
  return idempotency_keys_.empty() ? "" : idempotency_keys_.back();
}

audit::MerkleTree FakeServer::Tree() const {
  audit::MerkleTree tree;
  for (const std::string& leaf : leaves_)
    tree.Append(audit::LeafHash(crypto::AsBytes(leaf)));
  return tree;
}

bool FakeServer::SignatureOk(const httplib::Request& req) {
  MutexLock lock(&mu_);
  if (!enrolled_) return false;
  auto received =
      http_signature::ParseSignature(req.get_header_value("Signature-Input"),
                                     req.get_header_value("Signature"));
  if (!received.ok() || received->params.keyid != kDevice) return false;
  const std::string digest = req.get_header_value("Content-Digest");
  if (!http_signature::ContentDigestMatches(digest, req.body)) return false;
  return http_signature::VerifyRequestSignature(
      device_key_, *received, {req.method, req.target, digest});
}

void FakeServer::Routes() {
  // Counted before routing; signatures are checked in the handlers, once
  // cpp-httplib has read the body.
  http_.set_pre_routing_handler(
      [this](const httplib::Request&, httplib::Response&) {
        ++requests_;
        return httplib::Server::HandlerResponse::Unhandled;
      });
  auto signed_only = [this](httplib::Server::Handler handler) {
    return
        [this, handler](const httplib::Request& req, httplib::Response& res) {
          if (!SignatureOk(req)) {
            return Error(res, 401, "unauthenticated", "bad signature");
          }
          handler(req, res);
        };
  };
  http_.Post("/v1/enroll", [this](const httplib::Request& req,
                                  httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    auto pk = crypto::Base64Decode(body.value("device_public_key", ""));
    if (!body.is_object() || !pk.ok() || pk->size() != 32 ||
        body.value("device_name", "").empty()) {
      return Error(res, 400, "invalid_argument", "bad enrollment");
    }
    MutexLock lock(&mu_);
    std::copy(pk->begin(), pk->end(), device_key_.begin());
    enrolled_ = true;
    res.status = 201;
    res.set_content(
        json{{"citizen_id", kCitizen}, {"device_id", kDevice}}.dump(),
        "application/json");
  });
  http_.Get("/v1/audit/public-key",
            [this](const httplib::Request&, httplib::Response& res) {
              res.set_content(verifier_key() + "\n", "text/plain");
            });
  http_.Get(
      "/v1/audit/checkpoint",
      signed_only([this](const httplib::Request&, httplib::Response& res) {
        MutexLock lock(&mu_);
        audit::MerkleTree tree = Tree();
        const audit::Checkpoint c{kOrigin, tree.size(), tree.Root()};
        res.set_content(audit::SignCheckpoint(
                            c, kKeyName, other_key_ ? other_signer_ : signer_),
                        "text/plain");
      }));
  http_.Get(
      "/v1/audit/proofs/consistency",
      signed_only([this](const httplib::Request& req, httplib::Response& res) {
        MutexLock lock(&mu_);
        audit::MerkleTree tree = Tree();
        const uint64_t from = std::stoull(req.get_param_value("from"));
        const uint64_t to = std::stoull(req.get_param_value("to"));
        auto proof = tree.ConsistencyProof(from, to);
        if (!proof.ok())
          return Error(res, 400, "invalid_argument", "bad sizes");
        res.set_content(
            json{{"from", from}, {"to", to}, {"hashes", Hexes(*proof)}}.dump(),
            "application/json");
      }));
  http_.Get(
      "/v1/me/access-log",
      signed_only([this](const httplib::Request& req, httplib::Response& res) {
        if (req.get_param_value("proofs") != "true")
          return Error(res, 400, "invalid_argument", "the fake needs proofs");
        MutexLock lock(&mu_);
        audit::MerkleTree tree = Tree();
        const audit::Checkpoint c{kOrigin, tree.size(), tree.Root()};
        json entries = json::array();
        for (uint64_t i = tree.size(); i-- > 0;) {
          json e = json::parse(leaves_[i]);
          e["index"] = i;
          e["actor"] = e["actor_id"];
          e["inclusion_proof"] = Hexes(*tree.InclusionProof(i, tree.size()));
          entries.push_back(e);
        }
        if (tamper_ && !entries.empty()) entries[0]["action"] = "test.tampered";
        res.set_content(
            json{{"entries", entries},
                 {"next", nullptr},
                 {"tree_size", tree.size()},
                 {"checkpoint",
                  audit::SignCheckpoint(c, kKeyName,
                                        other_key_ ? other_signer_ : signer_)}}
                .dump(),
            "application/json");
      }));
  http_.Post(
      "/v1/me/records",
      signed_only([this](const httplib::Request& req, httplib::Response& res) {
        json r = json::parse(req.body, nullptr, false);
        if (!r.is_object() || r.contains("reject"))
          return Error(res, 400, "invalid_argument", "the fake refuses it");
        std::string key = req.get_header_value("Idempotency-Key");
        {
          MutexLock lock(&mu_);
          idempotency_keys_.push_back(key);
        }
        r["id"] = "fake";
        res.status = 201;
        res.set_content(r.dump(), "application/fhir+json");
      }));
  http_.Get("/v1/me/restrictions", signed_only([this](const httplib::Request&,
                                                      httplib::Response& res) {
              MutexLock lock(&mu_);
              if (forced_status_ != 0) {
                return Error(res, forced_status_, forced_code_, "forced");
              }
              res.set_content(R"({"categories":[]})", "application/json");
            }));
  http_.Post(
      "/v1/me/consents/preview",
      signed_only([](const httplib::Request& req, httplib::Response& res) {
        // Echoes what arrived, so the test sees the bytes sent.
        res.set_content(req.body, "application/json");
      }));
  http_.Post(
      "/v1/echo",
      signed_only([](const httplib::Request& req, httplib::Response& res) {
        res.set_content(json{{"length", req.get_header_value("Content-Length")},
                             {"target", req.target}}
                            .dump(),
                        "application/json");
      }));
}

}  // namespace tillit::bridge::testing
