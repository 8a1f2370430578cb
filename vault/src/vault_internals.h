// Vault::Internals: the state of an open Vault and the operations that its
// parts share. Private to the vault library; the Vault's methods are
// implemented by seam in vault.cc (open and init), citizens.cc,
// rotation.cc, import.cc and directory.cc (index and directory), the
// tokens by TokenStore (tokens.cc), and the registry's rows by
// SqliteRegistry (sqlite_registry.cc).
//
// Thread-safety: `mu` guards the root keys; the registry has its own lock
// (taken after `mu`); every other member is immutable after construction.
// Methods marked REQUIRES(mu) are called with it held; the others take it
// themselves when they need it.
#ifndef TILLIT_VAULT_VAULT_INTERNALS_H_
#define TILLIT_VAULT_VAULT_INTERNALS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sqlite_registry.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/keyring.h"
#include "tillit/crypto/secret.h"
#include "tillit/fhir/fhir.h"
#include "tillit/storage/database.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/root_keys.h"
#include "tillit/vault/shared_store.h"
#include "tillit/vault/tokens.h"
#include "tillit/vault/vault.h"

namespace tillit::vault {

// The citizen store's schema steps (citizen_store.cc): step i takes version
// i to i + 1. For the tests of an upgrade from an older version.
std::span<const storage::SchemaStep> CitizenStoreSteps();

// Associated data of the master secret's envelope in vault.json.
inline constexpr std::string_view kMasterAd = "tillit/master/1";

// Associated data of a citizen's wrapped data key of `version`
// (citizens.cc).
std::string DekAd(std::string_view citizen_id, int64_t version);

// Removes a citizen's database file and its WAL, shared-memory and
// journal companions (citizens.cc).
Status RemoveCitizenFiles(Env* env, const std::string& path);

// How long an unregistered citizen's files are left alone: another process
// may have written them and be about to register them (the CLI opens the
// vault beside a running server). A creation takes far less from its last
// write to its registry row.
inline constexpr int64_t kOrphanMinAgeSeconds = 3600;

// What SweepOrphanedCitizenFiles found among unregistered citizens' files.
struct OrphanSweep {
  int swept = 0;   // citizens whose files were all removed
  int failed = 0;  // citizens with a file that could not be removed
  int young = 0;   // citizens whose files were written too recently
};

// Removes, through `env`, the store files in DIR/citizens (<id>.db and its
// -wal, -shm and -journal companions, regular files only) of every citizen
// the registry has no row for, unless one of that citizen's files was
// written less than `min_age_seconds` ago (by the file system's clock, not
// VaultOptions::clock); then syncs the directory. Such
// files are left by a crash between writing a new citizen's file and
// registering it: their key was never stored, so nothing can read them.
// Files of registered citizens are never touched (a rekey's journal among
// them); nor is any other name. A file that cannot be removed is counted
// in `failed` and found again by the next sweep. IoError when the
// directory cannot be listed or synced (nothing is lost: the next sweep
// finds what is left).
StatusOr<OrphanSweep> SweepOrphanedCitizenFiles(Vault& vault, Env* env,
                                                int64_t min_age_seconds);

// Writes DIR/vault.json (mode 0600, atomically) with the master secret's
// envelope (vault.cc).
Status WriteVaultJson(Env* env, const std::string& dir, bool sealed,
                      std::span<const uint8_t> master_envelope);

class Vault::Internals {
 public:
  // Derives the sub-keys from `master` and opens the registry (creating
  // it, with its schema, when `create`): registry.db in the data
  // directory, or the shared store's.
  static StatusOr<std::unique_ptr<Internals>> Open(const VaultOptions& options,
                                                   RootKeys::Location location,
                                                   bool sealed, RootKeys keys,
                                                   crypto::Keyring keyring,
                                                   crypto::SecretBytes master,
                                                   bool create);

  Internals(const Internals&) = delete;
  Internals& operator=(const Internals&) = delete;

  // --- vault.cc
  // Finishes what a crash interrupted: a root-key rotation, and the
  // deletion of erased citizens' files (a data directory's; a shared
  // store's erasure is finished by erasing again).
  Status Recover() EXCLUDES(mu);
  std::string CitizenPath(const std::string& citizen_id) const;

  // --- citizens.cc
  // Creates a new citizen file (schema, and `resources` if any, in one
  // transaction), then registers it. The file is written first: a crash in
  // between leaves an unregistered file whose key was never stored, which
  // nothing can read (Vault::Open sweeps it: SweepOrphanedCitizenFiles).
  // AlreadyExists when `patient_key` was registered concurrently.
  StatusOr<std::pair<std::string, PutResult>> CreateCitizen(
      const std::optional<crypto::Digest>& patient_key,
      std::span<const fhir::ParsedResource> resources, std::string_view source,
      const BeforeImportWrite& before_write = nullptr) EXCLUDES(mu);
  // CreateCitizen in the shared store: the rows of `resources`, if any,
  // then the registry's row.
  StatusOr<std::pair<std::string, PutResult>> CreateSharedCitizen(
      const std::string& id, const std::optional<crypto::Digest>& patient_key,
      std::span<const fhir::ParsedResource> resources, std::string_view source)
      EXCLUDES(mu);
  // OpenCitizen in the shared store: the registry's generation is its
  // floor, and a write the registry missed is caught up.
  StatusOr<std::unique_ptr<CitizenStore>> OpenSharedCitizen(
      const std::string& citizen_id) EXCLUDES(mu);
  // Registers a citizen whose file already exists. AlreadyExists when
  // `patient_key` is already registered.
  Status RegisterCitizen(const std::string& id, const crypto::SecretBytes& dek,
                         int64_t generation,
                         const std::optional<crypto::Digest>& patient_key)
      REQUIRES(mu);
  // DataLoss when the root keys do not open `wrapped`.
  StatusOr<crypto::SecretBytes> UnwrapDek(const std::string& citizen_id,
                                          std::span<const uint8_t> wrapped,
                                          int64_t dek_version) REQUIRES(mu);
  // The citizen's data key as the registry holds it now, and its version.
  // NotFound for an unknown id.
  struct Dek {
    crypto::SecretBytes key;
    int64_t version = 0;
  };
  StatusOr<Dek> CurrentDek(const std::string& citizen_id) EXCLUDES(mu);
  // Records a citizen file's new generation and, in the same registry
  // transaction, mirrors its index rows (Registry::SetGeneration).
  Status SetGeneration(const std::string& citizen_id, int64_t generation,
                       const std::vector<IndexUpdate>& index,
                       bool replace_all_index_rows) {
    return registry->SetGeneration(citizen_id, generation, index,
                                   replace_all_index_rows);
  }

  // --- rotation.cc
  // Adds a root-key version and completes the rotation to it.
  Status Rotate() REQUIRES(mu);
  // Rewraps the master secret and every data key under the current
  // root-key version, then forgets the others.
  Status CompleteRotation() REQUIRES(mu);

  const VaultOptions options;
  const RootKeys::Location location;
  const bool sealed;  // the root keys are sealed under a passphrase
  const crypto::SecretBytes master;
  const crypto::SecretBytes patient_index_key;

  // The shared store (VaultOptions::shared_store), or null for a data
  // directory.
  SharedStore* shared() const { return options.shared_store.get(); }

  // Its own lock; taken after `mu` when both are held.
  const std::unique_ptr<Registry> registry;
  // The same registry, for a data directory; null for a shared store.
  SqliteRegistry* const sqlite_registry;
  Mutex mu;
  RootKeys keys GUARDED_BY(mu);
  crypto::Keyring keyring GUARDED_BY(mu);  // over `keys`
  TokenStore tokens;                       // over registry->tokens()

 private:
  Internals(const VaultOptions& options, RootKeys::Location location,
            bool sealed, RootKeys keys, crypto::Keyring keyring,
            crypto::SecretBytes master, crypto::SecretBytes patient_index_key,
            crypto::SecretBytes token_key, std::unique_ptr<Registry> registry,
            SqliteRegistry* sqlite_registry);
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_VAULT_INTERNALS_H_
