#include "tillit/pgstore/pg_vault_store.h"

#include <functional>
#include <set>
#include <string>
#include <string_view>
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

// The tables that hold a vault's rows, by the component that creates them
// (its name in tillit_schema). The registry's index version and the schema
// versions are not among them: they describe tables, not a vault.
constexpr std::pair<const char*, const char*> kVaultTables[] = {
    {"citizen stores", "store_heads"},
    {"citizen stores", "store_records"},
    {"citizen stores", "store_versions"},
    {"citizen stores", "store_documents"},
    {"citizen stores", "store_index_rows"},
    {"registry", "citizens"},
    {"registry", "erased"},
    {"registry", "citizen_index"},
    {"registry", "directory"},
    {"registry", "tokens"},
    {"audit log", "audit_rows"},
    {"audit log", "audit_listing"},
    {"audit log", "audit_checkpoints"},
    {"privacy ledger", "ledger_settings"},
    {"privacy ledger", "ledger_studies"},
    {"privacy ledger", "ledger_queries"},
    {"privacy ledger", "ledger_citizen_spend"},
    {"privacy ledger", "ledger_citizen_queries"},
    {"replay cache", "replay_nonces"},
};

// Those of kVaultTables that tillit created in this database: only the
// components tillit_schema records, so a table of the same name that
// another program keeps here is never touched.
StatusOr<std::vector<std::string>> VaultTables(Connection& c) {
  TILLIT_ASSIGN_OR_RETURN(Result r,
                          c.Exec("SELECT component FROM tillit_schema"));
  std::set<std::string, std::less<>> created;
  for (int i = 0; i < r.rows(); ++i) created.emplace(r.Text(i, 0));
  std::vector<std::string> out;
  for (const auto& [component, table] : kVaultTables) {
    if (created.contains(std::string_view(component))) out.emplace_back(table);
  }
  return out;
}

// Whether any of those tables holds a row.
StatusOr<bool> HoldsVaultRows(Connection& c) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> tables, VaultTables(c));
  for (const std::string& table : tables) {
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec("SELECT 1 FROM " + table + " LIMIT 1"));
    if (r.rows() != 0) return true;
  }
  return false;
}

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
  return WriteHeader(header, /*over_rows=*/false);
}

Status PgVaultStore::CreateMigratedHeader(const Header& header) {
  return WriteHeader(header, /*over_rows=*/true);
}

Status PgVaultStore::WriteHeader(const Header& header, bool over_rows) {
  return session_.Transact([&](Connection& c) -> Status {
    // One header at a time, and none while a migration discards rows.
    TILLIT_RETURN_IF_ERROR(
        c.ExecScript("LOCK TABLE vault_header IN EXCLUSIVE MODE"));
    if (!over_rows) {
      TILLIT_ASSIGN_OR_RETURN(bool rows, HoldsVaultRows(c));
      if (rows) {
        TILLIT_ASSIGN_OR_RETURN(Result existing,
                                c.Exec("SELECT 1 FROM vault_header"));
        if (existing.rows() != 0) {
          return Status::AlreadyExists("a vault already exists in this store");
        }
        return Status::FailedPrecondition(
            "the store holds the rows of an unfinished `tillit migrate` and "
            "no vault: run the migration again (it discards them first)");
      }
    }
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
    TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> tables, VaultTables(c));
    int64_t removed = 0;
    for (const std::string& table : tables) {
      TILLIT_ASSIGN_OR_RETURN(Result gone, c.Exec("DELETE FROM " + table));
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
