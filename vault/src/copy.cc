// Copies of the vault's files for backups: the registry with vault.json,
// and citizen stores, each one consistent snapshot (SQLite's online
// backup), encrypted exactly as the originals.
#include <string>
#include <vector>

#include "tillit/storage/files.h"
#include "tillit/vault/sqlcipher_citizen_store.h"
#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {
namespace {

constexpr size_t kMaxVaultJsonBytes = 64 * 1024;

Status NoCopiesOfSharedStores() {
  return Status::FailedPrecondition(
      "`tillit backup` copies a data directory; a shared store is backed up "
      "by its database's own means");
}

}  // namespace

StatusOr<std::vector<Vault::CopiedCitizen>> Vault::CopyRegistry(
    const std::string& dest_dir, Env* env) {
  if (in_->shared() != nullptr) return NoCopiesOfSharedStores();
  const std::string vault_json = data_dir_ + "/vault.json";
  TILLIT_ASSIGN_OR_RETURN(
      std::string before,
      storage::ReadFileLimited(vault_json, kMaxVaultJsonBytes));
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes registry_key,
      crypto::DeriveSubkey(in_->master, 1, crypto::kContextRegistry));
  storage::Database::Options out;
  out.env = env;
  std::vector<CopiedCitizen> citizens;
  {
    // Under `mu`, so no root-key rotation (which holds it from vault.json
    // to the last rewrapped key) runs while the registry is copied.
    MutexLock lock(&in_->mu);
    TILLIT_ASSIGN_OR_RETURN(
        auto copy, in_->sqlite_registry->CopyTo(dest_dir + "/registry.db",
                                                registry_key, out));
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        copy->Prepare("SELECT id, generation, dek_version FROM citizens "
                      "ORDER BY id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      citizens.push_back({std::string(st.ColumnText(0)), st.ColumnInt64(1),
                          st.ColumnInt64(2)});
    }
  }
  // vault.json holds the master secret wrapped under the root keys that
  // also wrap the registry's data keys: the two must be of one version.
  TILLIT_ASSIGN_OR_RETURN(
      std::string after,
      storage::ReadFileLimited(vault_json, kMaxVaultJsonBytes));
  if (after != before) {
    return Status::FailedPrecondition(
        "the root keys were replaced while the registry was copied (an "
        "erasure or a key rotation); take the copy again");
  }
  TILLIT_RETURN_IF_ERROR(
      storage::WriteFileAtomic(dest_dir + "/vault.json", after, 0600, env));
  return citizens;
}

StatusOr<int64_t> Vault::CopyCitizen(const std::string& citizen_id,
                                     int64_t dek_version,
                                     const std::string& dest, Env* env) {
  if (in_->shared() != nullptr) return NoCopiesOfSharedStores();
  // Opening finishes a rekey the registry missed and checks that the file
  // is not older than the registry says.
  { TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id)); }
  TILLIT_ASSIGN_OR_RETURN(Internals::Dek dek, in_->CurrentDek(citizen_id));
  if (dek.version != dek_version) {
    return Status::FailedPrecondition(
        "the citizen's store was rekeyed while it was copied; take the copy "
        "again");
  }
  storage::Database::Options opts;
  opts.env = in_->options.env;
  TILLIT_ASSIGN_OR_RETURN(
      auto source,
      storage::Database::Open(in_->CitizenPath(citizen_id), &dek.key, opts));
  storage::Database::Options out;
  out.env = env;
  TILLIT_ASSIGN_OR_RETURN(auto copy, source->CopyTo(dest, &dek.key, out));
  return SqlCipherCitizenStore::ReadGeneration(*copy);
}

StatusOr<int64_t> Vault::CitizenGeneration(const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
  return store->generation();
}

std::string Vault::root_key_path() const { return in_->location.path; }

bool Vault::sealed() const { return in_->sealed; }

}  // namespace tillit::vault
