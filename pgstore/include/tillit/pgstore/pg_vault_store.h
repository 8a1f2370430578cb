// PgVaultStore: a vault's rows in PostgreSQL (vault::SharedStore), so that
// several `tillit serve` nodes open one vault: the master secret's envelope
// (a data directory's vault.json) in `vault_header`, the registry
// (PgRegistry, on its own connection) and the citizens' stores
// (PgCitizenStores); and what else the nodes share in the same database:
// the audit log (PgLogStorage), the privacy ledger (PgPrivacyLedger) and
// the nonces of signed requests (PgReplayCache).
//
// Keys: the sub-keys of the vault's master secret (which the header holds
// under the root keys) for KdfContext::kSharedStore seal the consent index
// (1), the audit log's entries (2) and the ledger's rows (3); the audit
// log is signed with the data directory's key (kAuditSigning, 1). Every
// node derives them alike.
//
// Thread-safety: safe to call from any thread; the header and the
// citizens' stores share one Session (one statement at a time), and the
// audit log, the ledger and the nonces each have one of their own.
#ifndef TILLIT_PGSTORE_PG_VAULT_STORE_H_
#define TILLIT_PGSTORE_PG_VAULT_STORE_H_

#include <memory>
#include <string>

#include "tillit/audit/audit_log.h"
#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/random.h"
#include "tillit/http_signature/replay_cache.h"
#include "tillit/pgstore/pg_citizen_store.h"
#include "tillit/pgstore/session.h"
#include "tillit/research/privacy_ledger.h"
#include "tillit/vault/shared_store.h"

namespace tillit::pgstore {

class PgVaultStore final : public vault::SharedStore {
 public:
  // The vault header's schema version this program writes.
  static constexpr int64_t kSchemaVersion = 1;

  // Connects with `conninfo` (which may name a password file, never hold a
  // password that would be shown) and creates or checks the header's and
  // the citizens' stores' tables. IoError when the server cannot be
  // reached; FailedPrecondition for tables of a newer version.
  static StatusOr<std::unique_ptr<PgVaultStore>> Open(
      const std::string& conninfo,
      crypto::Random* rng = &crypto::Random::System());
  PgVaultStore(const PgVaultStore&) = delete;
  PgVaultStore& operator=(const PgVaultStore&) = delete;

  StatusOr<Header> ReadHeader() override;
  // AlreadyExists when the store holds a vault; FailedPrecondition when it
  // holds the rows of an unfinished migration and no header (a new vault
  // must not adopt rows under another master secret).
  Status CreateHeader(const Header& header) override;
  StatusOr<std::unique_ptr<vault::Registry>> OpenRegistry(
      const crypto::KeyDeriver& keys) override;
  StatusOr<std::unique_ptr<vault::CitizenStore>> OpenStore(
      const std::string& citizen_id, const crypto::SecretBytes& dek,
      int64_t registry_generation,
      vault::CitizenStore::GenerationSink sink) override;
  Status DropStore(const std::string& citizen_id) override;
  StatusOr<bool> HasRows(const std::string& citizen_id) override;

  // The audit log that every node shares, on a connection of its own;
  // `keys` is the vault (its master secret's sub-keys).
  StatusOr<std::unique_ptr<audit::AuditLog>> OpenAuditLog(
      const crypto::KeyDeriver& keys);
  // audit::VerifyLog on the shared audit log (as VerifyStoredLog on a data
  // directory's audit.db).
  StatusOr<audit::VerifyReport> VerifyAuditLog(
      const crypto::KeyDeriver& keys, const std::string& external_note = "");
  // The privacy ledger that every node shares. Must not outlive this.
  StatusOr<std::unique_ptr<research::PrivacyLedger>> OpenPrivacyLedger(
      const crypto::KeyDeriver& keys);
  // The nonces of signed requests that every node shares. Must not outlive
  // this.
  StatusOr<std::unique_ptr<http_signature::ReplayCache>> OpenReplayCache();

  // --- `tillit migrate`
  // The shared audit log's rows, to copy a data directory's log into
  // (audit::CopyLogRows), on a connection of its own.
  StatusOr<std::unique_ptr<audit::LogStorage>> OpenAuditStorage(
      const crypto::KeyDeriver& keys);
  // Deletes the rows an unfinished migration left: every row of the tables
  // tillit created here (those tillit_schema records; another program's
  // table of the same name is never touched), when the store holds no
  // vault header (FailedPrecondition when it does: a vault is never
  // discarded). Returns how many rows went.
  StatusOr<int64_t> DiscardUnfinished();
  // The header of a vault whose rows a migration has just put in and
  // verified: as CreateHeader, without refusing those rows.
  Status CreateMigratedHeader(const Header& header);

 private:
  // Writes the header under a lock on it; unless `over_rows`, refused when
  // tillit's tables hold rows.
  Status WriteHeader(const Header& header, bool over_rows);

  PgVaultStore(std::string conninfo, crypto::Random* rng)
      : conninfo_(std::move(conninfo)),
        rng_(rng),
        session_(conninfo_),
        ledger_session_(conninfo_),
        nonce_session_(conninfo_) {}

  const std::string conninfo_;  // may name credentials: never shown
  crypto::Random* const rng_;
  Session session_;
  Session ledger_session_;
  Session nonce_session_;
  std::unique_ptr<PgCitizenStores> stores_;
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_PG_VAULT_STORE_H_
