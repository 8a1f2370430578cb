// FakeServer: a test stand-in for `tillit serve` whose audit log the test
// controls, so that forks, rollbacks, bad signatures and bad proofs can be
// shown to the bridge on purpose.
//
// It answers POST /v1/enroll (any code), GET /v1/audit/public-key,
// /v1/audit/checkpoint, /v1/audit/proofs/consistency, /v1/me/access-log
// (with proofs), POST /v1/me/records and GET /v1/me/restrictions (with a
// status the test can force). Every /v1/me and /v1/audit request other
// than the public key must carry a valid signature by the enrolled device
// (checked with api/http_signature.h), otherwise 401.
//
// The log's leaves are canonical audit entries about kCitizen; the tree
// served is rebuilt from `leaves` for every request.
//
// Thread-safety: all methods may be called while the server thread runs.
#ifndef TILLIT_MOBILE_BRIDGE_FAKE_SERVER_H_
#define TILLIT_MOBILE_BRIDGE_FAKE_SERVER_H_

#include <httplib.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "tillit/audit/merkle.h"
#include "tillit/base/mutex.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/signing.h"

namespace tillit::bridge::testing {

class FakeServer {
 public:
  static inline const std::string kCitizen = "c_" + std::string(32, 'a');
  static inline const std::string kDevice = "d_" + std::string(32, 'b');

  // `seed` makes the signing keys (equal seeds, equal keys).
  explicit FakeServer(uint64_t seed = 42);
  ~FakeServer();

  std::string url() const { return url_; }
  std::string verifier_key() const;

  // The served log: `count` leaves made from `tag` (leaf i of tag t is the
  // same entry whatever the call, so equal tags give equal prefixes).
  void SetLog(const std::string& tag, int count);
  // Appends `count` leaves made from `tag`.
  void GrowLog(const std::string& tag, int count);
  // Checkpoints signed by another key under the same name.
  void SignWithOtherKey(bool on);
  // Alters the action of the access log's first entry after hashing.
  void TamperAccessLog(bool on);
  // GET /v1/me/restrictions answers this status and error code (0: 200).
  void ForceRestrictions(int status, const std::string& code);

  int requests() const { return requests_.load(); }
  int records_posted() const;
  std::string last_idempotency_key() const;

 private:
  std::string Leaf(const std::string& tag, uint64_t index) const;
  audit::MerkleTree Tree() const REQUIRES(mu_);
  bool SignatureOk(const httplib::Request& req);
  void Routes();

  crypto::DeterministicRandom rng_;
  crypto::SigningKey signer_;
  crypto::SigningKey other_signer_;
  httplib::Server http_;
  std::thread thread_;
  std::string url_;
  std::atomic<int> requests_{0};

  mutable Mutex mu_;
  std::vector<std::string> leaves_ GUARDED_BY(mu_);
  bool other_key_ GUARDED_BY(mu_) = false;
  bool tamper_ GUARDED_BY(mu_) = false;
  int forced_status_ GUARDED_BY(mu_) = 0;
  std::string forced_code_ GUARDED_BY(mu_);
  bool enrolled_ GUARDED_BY(mu_) = false;
  crypto::Ed25519PublicKey device_key_ GUARDED_BY(mu_){};
  std::vector<std::string> idempotency_keys_ GUARDED_BY(mu_);
};

}  // namespace tillit::bridge::testing

#endif  // TILLIT_MOBILE_BRIDGE_FAKE_SERVER_H_
