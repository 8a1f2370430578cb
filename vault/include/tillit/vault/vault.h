// Vault: one tillit data directory.
//
// Layout (SPEC §2):
//   DIR/vault.json        format, how the root keys are kept, and the master
//                         secret sealed under the root keys
//   DIR/root.key          root keys (mode 0600), unless kept elsewhere or
//   DIR/root.sealed       sealed under a passphrase (Argon2id)
//   DIR/registry.db       SQLCipher: citizens, wrapped data keys, generation
//                         counters, tokens (key derived from the master)
//   DIR/citizens/<id>.db  SQLCipher, one per citizen, keyed with its own
//                         random 256-bit data key (DEK)
//
// Formats: vault.json carries its own version; registry.db and every
// citizen store carry a schema version (storage::SchemaHistory). Opening
// upgrades an older file in place and refuses a newer one with
// FailedPrecondition ("... is newer than this tillit supports ...").
//
// Key hierarchy: root keys (numbered) → wrap the master secret and every
// DEK (XChaCha20-Poly1305, associated data = purpose, citizen id and key
// version); sub-keys for the registry, patient index and token hashing are
// derived from the master with crypto_kdf. Root-key rotation rewraps, it
// never rewrites citizen data.
//
// Erasure destroys the citizen's wrapped DEK, then rotates the root keys
// (so a copy of the registry taken earlier cannot be unwrapped with the
// keys that remain), then deletes the citizen's files.
//
// With VaultOptions::shared_store, the same vault keeps its rows in a
// store that several processes share instead (shared_store.h says what
// differs there).
//
// Opening finishes what a crash interrupted: a root-key rotation, an
// erasure's deletion of files, and (best effort) the removal of citizen
// files the registry has no row for, left by a crash between writing a new
// citizen's file and registering it, once they are an hour old (another
// process may be about to register a newer one).
//
// Thread-safety: all public methods are safe to call concurrently; registry
// access is serialised internally. CitizenStore handles are not shared.
#ifndef TILLIT_VAULT_VAULT_H_
#define TILLIT_VAULT_VAULT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tillit/base/clock.h"
#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/keyring.h"
#include "tillit/crypto/passphrase.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/fhir/fhir.h"
#include "tillit/storage/database.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/registry.h"
#include "tillit/vault/root_keys.h"
#include "tillit/vault/shared_store.h"
#include "tillit/vault/tokens.h"

namespace tillit::vault {

class SharedStore;
class SqlCipherCitizenStore;

struct VaultOptions {
  std::string data_dir = "./tillit-data";
  // The key file (default DIR/root.key) or, with a passphrase, the sealed
  // file (default DIR/root.sealed).
  std::optional<std::string> key_path;
  const crypto::SecretBytes* passphrase = nullptr;  // not owned
  // Argon2id cost for sealing (init and rotation); nullopt: moderate.
  std::optional<crypto::Argon2Params> argon2;
  // Every file the vault writes itself (root keys, vault.json, directories,
  // removals) goes through `env`; SQLCipher files use the OS directly.
  Env* env = Env::Default();
  Clock* clock = &Clock::System();
  crypto::Random* rng = &crypto::Random::System();
  fhir::ImportLimits limits;
  // The page cache of each open citizen store, in KiB. A server keeps up
  // to `serve --cache` stores open, and each cache fills as its store
  // grows, so this bounds the memory that open stores take: 512 KiB holds
  // a typical citizen's whole store; larger ones read the rest through
  // the operating system's file cache, decrypting each page again.
  int store_page_cache_kib = 512;
  // Keep the registry, the citizens' stores and the master secret's
  // envelope in a store that several processes share (shared_store.h, e.g.
  // PostgreSQL) instead of `data_dir`, which then holds only the root keys
  // (by default) and what the process keeps for itself. Null: a data
  // directory.
  std::shared_ptr<SharedStore> shared_store;
};

enum class ImportFormat { kJson, kNdjson };

struct ImportOutcome {
  std::string citizen_id;
  std::string source_patient;  // Patient.id of the document, if any
  bool created = false;        // the citizen was created by this import
  size_t imported = 0;         // resources accepted (new, changed or same)
  size_t written = 0;          // of which new or changed
  std::map<std::string, size_t> by_type;
};

struct CitizenSummary {
  std::string citizen_id;
  int64_t records = 0;
  std::map<std::string, int64_t> by_category;
  std::map<std::string, int64_t> by_type;
};

class Vault final : public crypto::KeyDeriver {
 public:
  // Creates a new data directory (it must not already hold a vault) and
  // returns it opened, with a first operator (admin) token.
  // The formats this program writes: vault.json's "version", and the
  // registry's schema version (PRAGMA user_version of registry.db).
  static constexpr int64_t kDataDirFormatVersion = 1;
  static constexpr int64_t kRegistrySchemaVersion = 1;

  struct Created;
  static StatusOr<Created> Init(const VaultOptions& options);
  static StatusOr<std::unique_ptr<Vault>> Open(const VaultOptions& options);
  ~Vault();

  const std::string& data_dir() const { return data_dir_; }
  // The shared store the vault keeps its rows in (VaultOptions), or null
  // for a data directory.
  SharedStore* shared_store() const;
  // The Env every file of the vault goes through (VaultOptions::env); the
  // audit log and the privacy ledger of its directory use it too.
  Env* env() const;

  // --- citizens
  StatusOr<std::string> CreateCitizen();
  StatusOr<std::vector<std::string>> ListCitizenIds();
  StatusOr<CitizenSummary> Summarize(const std::string& citizen_id);
  // NotFound for an unknown (or erased) id; DataLoss for a wrong key,
  // damaged file or a file older than the registry's generation;
  // FailedPrecondition for a store in a newer format
  // (SqlCipherCitizenStore::Setup).
  StatusOr<std::unique_ptr<CitizenStore>> OpenCitizen(
      const std::string& citizen_id);
  // Reads every page of the citizen's file (HMAC and structure check).
  Status VerifyCitizen(const std::string& citizen_id);
  // Destroys the citizen's wrapped data key, rotates the root keys and
  // removes the file. If a disk error stopped an earlier erasure after the
  // key was destroyed, a second call finishes it. NotFound for an unknown
  // or already erased id.
  Status EraseCitizen(const std::string& citizen_id);

  // --- import (SPEC §3): atomic per document. Without `citizen_id`, the
  // document's Patient names the citizen (created when new).
  //
  // `before_write`, if given, is called with the citizen's id once the
  // document is parsed and its citizen known (for a new citizen, the id it
  // will have), before anything is written: an error from it is returned
  // and nothing is changed. It lets a caller write an audit entry first.
  // When a concurrent import registers the same new Patient first, it is
  // called again with that citizen's id.
  using BeforeImportWrite = std::function<Status(const std::string&)>;
  StatusOr<ImportOutcome> Import(
      std::string_view bytes, ImportFormat format,
      const std::optional<std::string>& citizen_id = std::nullopt,
      std::string_view source = "import",
      const BeforeImportWrite& before_write = nullptr);
  // The citizen whose linked Patient (the Patient of the documents
  // imported for them) has the FHIR id `patient_id`: the registry keeps only
  // a keyed hash of it. NotFound when no citizen's Patient has it.
  StatusOr<std::string> FindCitizenByPatient(std::string_view patient_id);

  // --- keys
  // Adds a root-key version, rewraps the master secret and every DEK, and
  // forgets the old version.
  Status RotateRootKeys();
  // Re-encrypts one citizen's file under a new DEK.
  Status RekeyCitizen(const std::string& citizen_id);
  uint32_t root_key_version() const;
  // A sub-key of the master secret for another module (e.g. the audit log's
  // database key and signing seed).
  StatusOr<crypto::SecretBytes> DeriveKey(crypto::KdfContext context,
                                          uint64_t id) const override;

  // --- copies for backups (vault/src/copy.cc): the files as they are,
  // encrypted under the same keys, written through `env`.
  // Copies registry.db (one snapshot, SQLite's online backup) to
  // DEST_DIR/registry.db and vault.json to DEST_DIR/vault.json, a pair
  // under one root-key version. Aborted when another process replaced the
  // root keys meanwhile (an erasure or rotation): take the copy again.
  // Returns the copy's citizens: id, generation and data-key version.
  struct CopiedCitizen {
    std::string id;
    int64_t generation = 0;
    int64_t dek_version = 0;
  };
  StatusOr<std::vector<CopiedCitizen>> CopyRegistry(const std::string& dest_dir,
                                                    Env* env);
  // Copies the citizen's store (one snapshot) to `dest`, a new file;
  // returns the copy's generation. NotFound for an unknown or erased id;
  // FailedPrecondition when the store is no longer under data-key version
  // `dek_version` (rekeyed since the registry was copied: the copy would
  // not open with the registry's key).
  StatusOr<int64_t> CopyCitizen(const std::string& citizen_id,
                                int64_t dek_version, const std::string& dest,
                                Env* env);
  // The generation of the citizen's file (opening it catches the registry
  // up with a write it missed).
  StatusOr<int64_t> CitizenGeneration(const std::string& citizen_id);
  // --- moving into a shared store (`tillit migrate`; vault/src/migrate.cc)
  // What this data directory's vault.json holds: the header a shared store
  // keeps instead, to be written there last, once everything else is in.
  // FailedPrecondition for a vault that is itself in a shared store.
  StatusOr<SharedStore::Header> DataDirHeader() const;
  struct CopyProgress {
    std::string_view stage;  // "registry", "citizens", "verify"
    uint64_t done = 0;
    uint64_t total = 0;
  };
  using CopyObserver = std::function<void(const CopyProgress&)>;
  // Copies this data directory's registry (citizens with their wrapped
  // keys, tombstones, directory, tokens) and every citizen's store into
  // `to`, which holds no vault and no rows (FailedPrecondition otherwise),
  // under the same keys: the same key file opens the copy. Not the header
  // (DataDirHeader), the audit log or the privacy ledger, which the
  // caller moves. A citizen whose rekey is unfinished is refused.
  Status CopyIntoShared(SharedStore& to, const CopyObserver& progress);
  // Reads this vault and `to` back and compares them: every registry row,
  // the index mirrored from the stores, and every citizen's store, record
  // by record. DataLoss naming the first difference.
  Status VerifySharedCopy(SharedStore& to, const CopyObserver& progress);

  // Where the root keys are kept: the key file or the sealed file.
  std::string root_key_path() const;
  bool sealed() const;

  // --- derived indexes (e.g. the consent index: grant metadata only)
  // Every row of `kind`, ordered by citizen and key.
  StatusOr<std::vector<IndexEntry>> ReadIndex(std::string_view kind);
  // Grows with every change of any index row; a reader that cached rows
  // compares it to know whether to reload.
  StatusOr<int64_t> IndexVersion();

  // --- directory of registered principals and studies (no health data)
  // Adds an entry; AlreadyExists for an existing (kind, id).
  Status PutDirectoryEntry(std::string_view kind, std::string_view id,
                           std::string_view value);
  StatusOr<std::string> GetDirectoryEntry(std::string_view kind,
                                          std::string_view id);
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListDirectory(
      std::string_view kind);

  // --- tokens (stored as keyed hashes): see TokenStore in tokens.h.
  StatusOr<IssuedToken> IssueToken(std::string_view role,
                                   std::string_view principal,
                                   int64_t ttl_seconds);
  // The role and principal of a token that exists, has not expired and is
  // not revoked; Unauthenticated otherwise (one message for every case).
  // The lookup is by keyed hash, so nothing is compared with the secret.
  StatusOr<TokenInfo> VerifyToken(std::string_view token);
  // Single use: verifies a token of `role` and revokes it in the same
  // registry transaction, so two concurrent redemptions cannot both win.
  StatusOr<TokenInfo> RedeemToken(std::string_view token,
                                  std::string_view role);
  // NotFound for a token that was never issued; FailedPrecondition when it
  // is already revoked.
  Status RevokeToken(std::string_view token);
  // Revokes every live token of a principal; returns how many.
  StatusOr<int64_t> RevokePrincipalTokens(std::string_view principal);

 private:
  // The state of an open vault and the operations its parts share
  // (vault/src/vault_internals.h).
  class Internals;

  explicit Vault(std::unique_ptr<Internals> in);
  // OpenCitizen, as the data directory's own kind of store (for rekeying,
  // which copies the file).
  StatusOr<std::unique_ptr<SqlCipherCitizenStore>> OpenCitizenFile(
      const std::string& citizen_id);

  const std::string data_dir_;
  const std::unique_ptr<Internals> in_;
};

struct Vault::Created {
  std::unique_ptr<Vault> vault;
  IssuedToken admin_token;
};

// True if `id` looks like a vault-issued id with `prefix` ("c_", "p_", …).
bool IsValidId(std::string_view id, std::string_view prefix);

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_VAULT_H_
