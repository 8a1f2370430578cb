// LocalStore: the bridge's state on the device, one SQLCipher database
// (STATE_DIR/bridge.db) keyed with the platform's "queue" key.
//
// It holds the pairing (citizen and device ids, the device's public key and
// its Ed25519 seed *sealed* under the platform's "device-key": see
// device_key.h; this file never sees the seed in the clear), the audit
// verifier key the device trusts, the witness (the last checkpoint it
// verified) and the offline queue of citizen-entered records with their
// idempotency keys. Layout: docs/MOBILE_BRIDGE.md, "Local state".
//
// Durability: the database runs with synchronous = FULL; each method that
// writes commits before it returns, so what a method acknowledged survives
// a crash (SIGKILL, power loss) at any later point.
//
// Errors are bridge errors with code storage.
//
// Thread-safety: not synchronised; the owning Client serialises calls.
#ifndef TILLIT_MOBILE_BRIDGE_LOCAL_STORE_H_
#define TILLIT_MOBILE_BRIDGE_LOCAL_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"
#include "tillit/storage/database.h"
#include "witness.h"

namespace tillit::bridge {

struct PairedDevice {
  std::string citizen_id;
  std::string device_id;
  crypto::Ed25519PublicKey public_key{};
  std::vector<uint8_t> sealed_seed;  // device_key.h envelope
  std::string audit_key;             // verifier key trusted since pairing
  int64_t paired_at = 0;
};

struct QueuedRecord {
  int64_t queue_id = 0;
  std::string idempotency_key;
  std::string resource;  // compact FHIR JSON
};

class LocalStore {
 public:
  // bridge.db's schema version (PRAGMA user_version).
  static constexpr int64_t kSchemaVersion = 1;

  // Opens `dir`/bridge.db, creating the directory (mode 0700) and the
  // database when missing. `queue_key` must be 32 bytes; it is not kept
  // (SQLCipher holds what it derives from it for the connection's life).
  // A wrong key is a storage error. An older database is upgraded; a newer
  // one is a storage error ("bridge state at bridge.db: format N is newer
  // than this tillit supports (M); upgrade tillit") and is left as it is.
  static StatusOr<std::unique_ptr<LocalStore>> Open(
      const std::string& dir, const crypto::SecretBytes& queue_key);

  // The pairing, or nullopt when the device is not paired.
  StatusOr<std::optional<PairedDevice>> LoadDevice();
  // The witnessed checkpoint, or nullopt before the first one.
  StatusOr<std::optional<Witness>> LoadWitness();

  // Stores a new pairing (without a witness yet).
  // REQUIRES: not paired (LoadDevice() is nullopt).
  Status SavePairing(const PairedDevice& device);
  // Replaces the witness (committed before returning).
  Status SaveWitness(const Witness& witness);
  // Forgets the pairing, the witness and the queue in one transaction.
  Status Forget();

  // Appends a record to the queue; returns its queue id.
  StatusOr<int64_t> Enqueue(const std::string& idempotency_key,
                            const std::string& resource, int64_t now);
  // The oldest queued record with a queue id above `after`, if any.
  StatusOr<std::optional<QueuedRecord>> NextQueued(int64_t after);
  // Removes records in one committed transaction.
  Status RemoveQueued(std::span<const int64_t> queue_ids);
  // Notes why the server refused a record (it stays queued).
  Status NoteRefused(int64_t queue_id, const std::string& error);
  StatusOr<int64_t> QueuedCount();

 private:
  explicit LocalStore(std::unique_ptr<storage::Database> db)
      : db_(std::move(db)) {}

  std::unique_ptr<storage::Database> db_;
};

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_LOCAL_STORE_H_
