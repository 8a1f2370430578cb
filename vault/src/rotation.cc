// Vault: root-key rotation (rewrapping, never rewriting citizen data) and
// re-encryption of one citizen's file under a new data key.
#include <filesystem>
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {

Status Vault::Internals::Rotate() {
  crypto::Random& rng = *options.rng;
  keys.AddVersion(rng);
  TILLIT_RETURN_IF_ERROR(keys.Save(location, rng));
  TILLIT_ASSIGN_OR_RETURN(keyring, keys.MakeKeyring());
  return CompleteRotation();
}

Status Vault::Internals::CompleteRotation() {
  crypto::Random& rng = *options.rng;
  // The master secret, under the current version.
  TILLIT_RETURN_IF_ERROR(WriteVaultJson(
      options.env, options.data_dir, sealed,
      keyring.current().SealSecret(master, crypto::AsBytes(kMasterAd), rng)));
  // Every data key, under the current version.
  {
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                            registry->Begin());
    struct Row {
      std::string id;
      int64_t version;
      std::vector<uint8_t> wrapped;
      std::optional<std::vector<uint8_t>> pending;
    };
    std::vector<Row> rows;
    {
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          registry->Prepare("SELECT id, dek_version, wrapped_dek, "
                            "pending_dek FROM citizens"));
      for (;;) {
        TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        Row r{std::string(st.ColumnText(0)),
              st.ColumnInt64(1),
              {st.ColumnBlob(2).begin(), st.ColumnBlob(2).end()},
              std::nullopt};
        if (!st.ColumnIsNull(3)) {
          r.pending.emplace(st.ColumnBlob(3).begin(), st.ColumnBlob(3).end());
        }
        rows.push_back(std::move(r));
      }
    }
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement update,
        registry->Prepare("UPDATE citizens SET wrapped_dek = ?2, "
                          "pending_dek = ?3 WHERE id = ?1"));
    for (const Row& r : rows) {
      TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes dek,
                              UnwrapDek(r.id, r.wrapped, r.version));
      auto rewrapped = keyring.current().SealSecret(
          dek, crypto::AsBytes(DekAd(r.id, r.version)), rng);
      update.Bind(1, r.id).BindBlob(2, rewrapped);
      if (r.pending) {
        TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes next,
                                UnwrapDek(r.id, *r.pending, r.version + 1));
        update.BindBlob(
            3, keyring.current().SealSecret(
                   next, crypto::AsBytes(DekAd(r.id, r.version + 1)), rng));
      } else {
        update.BindNull(3);
      }
      TILLIT_RETURN_IF_ERROR(update.Run());
    }
    TILLIT_RETURN_IF_ERROR(txn.Commit());
    TILLIT_RETURN_IF_ERROR(registry->Checkpoint());
  }
  // Forget the old versions.
  keys.DropAllButCurrent();
  TILLIT_RETURN_IF_ERROR(keys.Save(location, rng));
  TILLIT_ASSIGN_OR_RETURN(keyring, keys.MakeKeyring());
  return Status::Ok();
}

Status Vault::RotateRootKeys() {
  MutexLock lock(&in_->mu);
  return in_->Rotate();
}

Status Vault::RekeyCitizen(const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  crypto::Random& rng = *in_->options.rng;
  crypto::SecretBytes next = rng.Secret(32);
  int64_t version = 0;
  {
    // Record the next key first, so a crash after the file is rekeyed
    // leaves a key that opens it.
    MutexLock lock(&in_->mu);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        in_->registry->Prepare(
            "SELECT dek_version FROM citizens WHERE id = ?1"));
    st.Bind(1, citizen_id);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("no such citizen");
    version = st.ColumnInt64(0);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up,
        in_->registry->Prepare(
            "UPDATE citizens SET pending_dek = ?2 WHERE id = ?1"));
    up.Bind(1, citizen_id)
        .BindBlob(
            2, in_->keyring.current().SealSecret(
                   next, crypto::AsBytes(DekAd(citizen_id, version + 1)), rng));
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  // The store is copied under the new key beside itself, and the copy
  // renamed over it: a crash or a disk error leaves the old file or the new
  // one whole, and the pending key opens the new one. (SQLCipher's rekey
  // in place, refused a write half way, left pages under both keys.)
  Env* const env = in_->options.env;
  const std::string path = in_->CitizenPath(citizen_id);
  const std::string fresh = path + ".rekey";
  TILLIT_RETURN_IF_ERROR(RemoveCitizenFiles(env, fresh));  // a stale copy
  {
    TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
    TILLIT_RETURN_IF_ERROR(store->CopyUnderKey(fresh, next, env));
  }
  // Closing the last connection folded the old file's WAL back into it and
  // removed it; a WAL still there belongs to another connection (a running
  // server), whose writes the copy would not hold.
  std::error_code ec;
  if (std::filesystem::file_size(path + "-wal", ec) > 0 && !ec) {
    (void)RemoveCitizenFiles(env, fresh);
    return Status::FailedPrecondition(
        "the citizen's store is open in another process (a running "
        "server?): stop it, then rekey");
  }
  if (Status s = env->RenameFile(fresh, path); !s.ok()) {
    (void)RemoveCitizenFiles(env, fresh);
    return s;
  }
  TILLIT_RETURN_IF_ERROR(
      env->SyncDirectory(std::filesystem::path(path).parent_path().string()));
  MutexLock lock(&in_->mu);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "UPDATE citizens SET wrapped_dek = pending_dek, pending_dek = NULL, "
          "dek_version = dek_version + 1 WHERE id = ?1 AND dek_version = ?2"));
  st.Bind(1, citizen_id).Bind(2, version);
  return st.Run();
}

}  // namespace tillit::vault
