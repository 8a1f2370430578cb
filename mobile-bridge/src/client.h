// Client: one paired (or not yet paired) device, the C++ core behind
// tillit_bridge.h. Every method returns a Status or the JSON text the
// header documents; errors are bridge errors (error.h) whose code the C
// layer hands to the app.
//
// Keys: the platform's "queue" key is fetched once by Open() to key the
// local database and wiped at once (SQLCipher keeps what it derives from
// it for the connection's life). The platform's "device-key" is fetched,
// used to unseal the device's Ed25519 key, and wiped within each call that
// signs; the unsealed signing key lives in SecretBytes only for that call.
//
// Thread-safety: every public method may be called from any thread; calls
// are serialised by an internal mutex (a call waits for the one in
// progress). The platform key function is called with that mutex held.
// Two Clients must not share a state directory.
#ifndef TILLIT_MOBILE_BRIDGE_CLIENT_H_
#define TILLIT_MOBILE_BRIDGE_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http_channel.h"
#include "local_store.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"
#include "witness.h"

namespace tillit::bridge {

// Fills `key` with the platform secret called `name`; false on failure.
using PlatformKeyFn =
    std::function<bool(std::string_view name, std::span<uint8_t> key)>;

struct ClientOptions {
  std::string base_url;         // required
  std::string state_dir;        // required
  PlatformKeyFn platform_keys;  // required
  int timeout_ms = 10000;
  std::string audit_key;  // pinned verifier key, or "" to pin at pairing
  // Seconds since the epoch (the device's clock; signatures carry it).
  std::function<int64_t()> now;   // default: the system clock
  crypto::Random* rng = nullptr;  // default: Random::System()
};

class Client {
 public:
  // Validates the options, fetches the "queue" key and opens the local
  // state. Does not touch the network.
  static StatusOr<std::unique_ptr<Client>> Open(ClientOptions options);
  // Waits for a call in progress.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  StatusOr<std::string> StatusJson();
  StatusOr<std::string> Pair(std::string_view enrollment_code,
                             std::string_view device_name);
  Status Unpair();

  StatusOr<std::string> ListRecords(const char* query_json);
  StatusOr<std::string> GetRecord(std::string_view type, std::string_view id);
  StatusOr<std::string> AddRecord(const char* resource_json);
  StatusOr<std::string> Export();
  StatusOr<std::string> ListConsents();
  StatusOr<std::string> GrantConsent(const char* grant_json);
  StatusOr<std::string> RevokeConsent(std::string_view grant_id);
  StatusOr<std::string> PreviewConsent(const char* grant_json);
  StatusOr<std::string> GetRestrictions();
  StatusOr<std::string> SetRestrictions(const char* restrictions_json);
  StatusOr<std::string> SetResearchOptOut(bool opted_out);
  StatusOr<std::string> AccessLog(const char* query_json);
  StatusOr<std::string> ListDevices();
  StatusOr<std::string> RevokeDevice(std::string_view device_id);
  // tillit_call. `*http_status` gets the answer's status (0 when none).
  StatusOr<std::string> Call(std::string_view method, std::string_view path,
                             std::string_view body, int* http_status);

  StatusOr<std::string> QueueRecord(const char* resource_json);
  StatusOr<std::string> Sync();

 private:
  Client(ClientOptions options, std::unique_ptr<HttpChannel> http,
         std::unique_ptr<LocalStore> store,
         std::optional<AuditKey> pinned_audit_key);

  // The device's state for a call that needs pairing; not_paired if none.
  // Opens the local store under the platform's "queue" key (at creation).
  Status OpenStore() EXCLUDES(mu_);
  StatusOr<PairedDevice> RequirePaired() REQUIRES(mu_);
  StatusOr<crypto::SecretBytes> PlatformKey(std::string_view name)
      REQUIRES(mu_);
  StatusOr<crypto::SigningKey> UnsealSigningKey(const PairedDevice& device)
      REQUIRES(mu_);
  StatusOr<AuditKey> TrustedAuditKey(const PairedDevice& device) REQUIRES(mu_);

  // One request signed by `key` as device `device_id` (any status).
  StatusOr<HttpResponse> SendSigned(
      const crypto::SigningKey& key, std::string_view device_id,
      std::string_view method, const std::string& target,
      const std::string& body, HeaderList extra_headers = {}) REQUIRES(mu_);
  // A signed call by the paired device; the body of a 2xx answer, the
  // bridge error of any other.
  StatusOr<std::string> SignedCall(std::string_view method,
                                   const std::string& target,
                                   const std::string& body) REQUIRES(mu_);
  // POST /v1/me/records with an idempotency key (any status).
  StatusOr<HttpResponse> PostRecord(const crypto::SigningKey& key,
                                    const PairedDevice& device,
                                    const std::string& resource,
                                    const std::string& idempotency_key)
      REQUIRES(mu_);
  // Checks that `latest` (opened with the trusted key) extends the
  // witness, fetching a consistency proof when needed, and keeps it as the
  // new witness.
  StatusOr<Witness> AdvanceWitness(const crypto::SigningKey& key,
                                   const PairedDevice& device,
                                   const audit::Checkpoint& latest,
                                   const std::string& note) REQUIRES(mu_);
  // Fetches the latest checkpoint and advances the witness to it.
  // The server's latest checkpoint, verified under `audit_key`; its signed
  // note in *note.
  StatusOr<audit::Checkpoint> FetchCheckpoint(const crypto::SigningKey& key,
                                              const std::string& device_id,
                                              const AuditKey& audit_key,
                                              std::string* note) REQUIRES(mu_);
  StatusOr<Witness> WitnessLatest(const crypto::SigningKey& key,
                                  const PairedDevice& device) REQUIRES(mu_);

  Mutex mu_;
  const ClientOptions options_;
  crypto::Random& rng_;
  std::unique_ptr<HttpChannel> http_ PT_GUARDED_BY(mu_);
  std::unique_ptr<LocalStore> store_ PT_GUARDED_BY(mu_);
  const std::optional<AuditKey> pinned_audit_key_;
};

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_CLIENT_H_
