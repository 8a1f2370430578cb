// PgLogStorage: the audit log of a cluster of `tillit serve` nodes, in
// PostgreSQL (audit::LogStorage). Every node opens an audit::AuditLog on
// it (AuditLog::OpenOn) and appends; one order holds across nodes.
//
// The sequencer: an append takes a transaction-scoped advisory lock, reads
// the leaves of entries other nodes appended since this node last looked,
// numbers its own after them and commits; the lock is held only for that
// transaction, so nodes take turns per group commit, not per entry. The
// entry is acknowledged after the commit, which with a synchronous standby
// configured (synchronous_standby_names) means on the standby too.
//
// What the database holds: rows of up to 256 entries (as the data
// directory's audit.db does), each row's entries sealed with
// XChaCha20-Poly1305 under a sub-key of `key` and bound to the row's
// position, their leaf hashes in the clear (they are published in proofs);
// which entries name a citizen or an actor as keyed BLAKE2b tags under a
// second sub-key, never the ids; and the signed checkpoints, which hold
// only sizes and roots.
//
// Thread-safety: safe to call concurrently (through the session's lock).
#ifndef TILLIT_PGSTORE_PG_LOG_STORAGE_H_
#define TILLIT_PGSTORE_PG_LOG_STORAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/audit/log_storage.h"
#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/pgstore/session.h"

namespace tillit::pgstore {

class PgLogStorage final : public audit::LogStorage {
 public:
  static constexpr int64_t kSchemaVersion = 1;

  // Creates or checks the log's tables through `session` (which must
  // outlive it; a session of the log's own keeps reads of other stores
  // from waiting behind its commits). `key` (32 bytes, every node the
  // same) seals the entries and keys the listing tags.
  static StatusOr<std::unique_ptr<PgLogStorage>> Open(
      Session* session, const crypto::SecretBytes& key,
      crypto::Random* rng = &crypto::Random::System());
  // As above, on a session of the log's own, which it keeps.
  static StatusOr<std::unique_ptr<PgLogStorage>> Open(
      std::unique_ptr<Session> session, const crypto::SecretBytes& key,
      crypto::Random* rng = &crypto::Random::System());
  ~PgLogStorage() override;

  Status ReadLeaves(uint64_t begin, uint64_t end,
                    std::vector<audit::Hash>* out) override;
  Status Append(std::span<const std::string_view> entries,
                std::span<const audit::Hash> leaves, uint64_t known,
                std::vector<audit::Hash>* foreign) override;
  StatusOr<std::optional<std::string>> CheckpointAt(uint64_t size) override;
  StatusOr<std::string> StoreCheckpoint(uint64_t size,
                                        const std::string& note) override;
  StatusOr<std::vector<audit::StoredEntry>> List(
      const audit::ListQuery& q) override;
  Status Scan(const std::function<Status(audit::LogRow&)>& fn) override;
  Status ScanCheckpoints(
      const std::function<Status(uint64_t, const std::string&)>& fn) override;

 private:
  struct Keys;
  PgLogStorage(Session* session, std::unique_ptr<Keys> keys,
               crypto::Random* rng);
  std::vector<uint8_t> ListingTag(char kind, std::string_view id) const;
  std::vector<uint8_t> Ad(int64_t first, int64_t count) const;
  // Reads a row from the columns (first, count, entries, leaves) of row
  // `i` of `r`; entries and leaves only when asked.
  Status ReadRow(const Result& r, int i, bool with_entries, bool with_leaves,
                 audit::LogRow* row) const;

  std::unique_ptr<Session> owned_;  // when the log has its own
  Session* const session_;
  const std::unique_ptr<Keys> keys_;
  crypto::Random* const rng_;
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_PG_LOG_STORAGE_H_
