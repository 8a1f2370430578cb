#include "tillit/pgstore/pg_vault_store.h"

#include <utility>
#include <vector>

#include "schema.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/signing.h"
#include "tillit/pgstore/pg_log_storage.h"
#include "tillit/pgstore/pg_privacy_ledger.h"
#include "tillit/pgstore/pg_registry.h"
#include "tillit/pgstore/pg_replay_cache.h"

namespace tillit::pgstore {
namespace {

// One row: the vault's header. `sealed` says whether the root keys are
// sealed under a passphrase; `master` is the master secret sealed under
// the root keys (nothing a reader can open without them).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE vault_header (
  id int PRIMARY KEY CHECK (id = 1),
  sealed boolean NOT NULL,
  master bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
)sql";

}  // namespace

StatusOr<std::unique_ptr<PgVaultStore>> PgVaultStore::Open(
    const std::string& conninfo, crypto::Random* rng) {
  std::unique_ptr<PgVaultStore> store(new PgVaultStore(conninfo, rng));
  TILLIT_RETURN_IF_ERROR(store->session_.Transact([](Connection& c) {
    return internal::CreateOrCheckSchema(c, "vault header", kSchemaVersion,
                                         kSchemaV1);
  }));
  TILLIT_ASSIGN_OR_RETURN(store->stores_,
                          PgCitizenStores::Open(&store->session_, rng));
  return store;
}

StatusOr<vault::SharedStore::Header> PgVaultStore::ReadHeader() {
  return session_.Run([](Connection& c) -> StatusOr<Header> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec("SELECT sealed, master FROM vault_header WHERE id = 1"));
    if (r.rows() == 0) return Status::NotFound("no vault in this store");
    Header h;
    TILLIT_ASSIGN_OR_RETURN(h.sealed, r.Bool(0, 0));
    const std::span<const uint8_t> master = r.Bytes(0, 1);
    h.master_envelope.assign(master.begin(), master.end());
    return h;
  });
}

Status PgVaultStore::CreateHeader(const Header& header) {
  return session_.Run([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("INSERT INTO vault_header (id, sealed, master) "
                         "VALUES (1, $1 <> 0, $2) ON CONFLICT (id) DO NOTHING",
                         {Param(header.sealed ? int64_t{1} : int64_t{0}),
                          Param(header.master_envelope)}));
    if (r.affected() == 0) {
      return Status::AlreadyExists("a vault already exists in this store");
    }
    return Status::Ok();
  });
}

StatusOr<std::unique_ptr<vault::Registry>> PgVaultStore::OpenRegistry(
    const crypto::KeyDeriver& keys) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes index_key,
                          keys.DeriveKey(crypto::KdfContext::kSharedStore, 1));
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<PgRegistry> registry,
                          PgRegistry::Open(conninfo_, index_key, rng_));
  return std::unique_ptr<vault::Registry>(std::move(registry));
}

StatusOr<std::unique_ptr<vault::CitizenStore>> PgVaultStore::OpenStore(
    const std::string& citizen_id, const crypto::SecretBytes& dek,
    int64_t registry_generation, vault::CitizenStore::GenerationSink sink) {
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<PgCitizenStore> store,
      stores_->OpenStore(citizen_id, dek, registry_generation,
                         std::move(sink)));
  return std::unique_ptr<vault::CitizenStore>(std::move(store));
}

Status PgVaultStore::DropStore(const std::string& citizen_id) {
  return stores_->Drop(citizen_id);
}

StatusOr<bool> PgVaultStore::HasRows(const std::string& citizen_id) {
  return stores_->HasRows(citizen_id);
}

StatusOr<std::unique_ptr<audit::AuditLog>> PgVaultStore::OpenAuditLog(
    const crypto::KeyDeriver& keys) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                          keys.DeriveKey(crypto::KdfContext::kSharedStore, 2));
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<PgLogStorage> storage,
      PgLogStorage::Open(std::make_unique<Session>(conninfo_), key, rng_));
  return audit::AuditLog::OpenOn(std::move(storage), std::move(seed));
}

StatusOr<audit::VerifyReport> PgVaultStore::VerifyAuditLog(
    const crypto::KeyDeriver& keys, const std::string& external_note) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                          keys.DeriveKey(crypto::KdfContext::kSharedStore, 2));
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  TILLIT_ASSIGN_OR_RETURN(auto signer, crypto::SigningKey::FromSeed(seed));
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<PgLogStorage> storage,
      PgLogStorage::Open(std::make_unique<Session>(conninfo_), key, rng_));
  return audit::VerifyLog(*storage, signer.public_key(), external_note);
}

StatusOr<std::unique_ptr<audit::LogStorage>> PgVaultStore::OpenAuditStorage(
    const crypto::KeyDeriver& keys) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                          keys.DeriveKey(crypto::KdfContext::kSharedStore, 2));
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<PgLogStorage> storage,
      PgLogStorage::Open(std::make_unique<Session>(conninfo_), key, rng_));
  return std::unique_ptr<audit::LogStorage>(std::move(storage));
}

StatusOr<int64_t> PgVaultStore::DiscardUnfinished() {
  // Every table of tillit's that holds a vault's rows (the registry's
  // index version and the schema versions stay: they describe tables).
  static constexpr const char* kTables[] = {"store_heads",
                                            "store_records",
                                            "store_versions",
                                            "store_documents",
                                            "store_index_rows",
                                            "citizens",
                                            "erased",
                                            "citizen_index",
                                            "directory",
                                            "tokens",
                                            "audit_rows",
                                            "audit_listing",
                                            "audit_checkpoints",
                                            "ledger_settings",
                                            "ledger_studies",
                                            "ledger_queries",
                                            "ledger_citizen_spend",
                                            "ledger_citizen_queries",
                                            "replay_nonces"};
  return session_.Transact([&](Connection& c) -> StatusOr<int64_t> {
    // Holds off an init (its header) until this is done.
    TILLIT_RETURN_IF_ERROR(
        c.ExecScript("LOCK TABLE vault_header IN EXCLUSIVE MODE"));
    TILLIT_ASSIGN_OR_RETURN(Result header,
                            c.Exec("SELECT 1 FROM vault_header"));
    if (header.rows() != 0) {
      return Status::FailedPrecondition(
          "the store holds a vault; nothing of it is discarded");
    }
    int64_t removed = 0;
    for (const char* table : kTables) {
      // Tables of a component never opened do not exist yet.
      TILLIT_ASSIGN_OR_RETURN(
          Result exists, c.Exec("SELECT to_regclass($1) IS NOT NULL", {table}));
      TILLIT_ASSIGN_OR_RETURN(bool present, exists.Bool(0, 0));
      if (!present) continue;
      TILLIT_ASSIGN_OR_RETURN(Result gone,
                              c.Exec(std::string("DELETE FROM ") + table));
      removed += gone.affected();
    }
    return removed;
  });
}

StatusOr<std::unique_ptr<research::PrivacyLedger>>
PgVaultStore::OpenPrivacyLedger(const crypto::KeyDeriver& keys) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key,
                          keys.DeriveKey(crypto::KdfContext::kSharedStore, 3));
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<PgPrivacyLedger> ledger,
                          PgPrivacyLedger::Open(&ledger_session_, key, rng_));
  return std::unique_ptr<research::PrivacyLedger>(std::move(ledger));
}

StatusOr<std::unique_ptr<http_signature::ReplayCache>>
PgVaultStore::OpenReplayCache() {
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<PgReplayCache> cache,
                          PgReplayCache::Open(&nonce_session_));
  return std::unique_ptr<http_signature::ReplayCache>(std::move(cache));
}

}  // namespace tillit::pgstore
