// Vault: root-key rotation (rewrapping, never rewriting citizen data) and
// re-encryption of one citizen's file under a new data key.
#include <filesystem>
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/vault/sqlcipher_citizen_store.h"
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
  // Every data key, under the current version. (`mu` is held: the caller
  // holds it across the rewrap, which runs inside the registry's lock.)
  TILLIT_RETURN_IF_ERROR(registry->RewrapAllKeys(
      [this, &rng](
          const Registry::WrappedKeys& r) -> StatusOr<Registry::WrappedKeys> {
        mu.AssertHeld();
        Registry::WrappedKeys next = r;
        TILLIT_ASSIGN_OR_RETURN(
            crypto::SecretBytes dek,
            UnwrapDek(r.citizen_id, r.wrapped_dek, r.dek_version));
        next.wrapped_dek = keyring.current().SealSecret(
            dek, crypto::AsBytes(DekAd(r.citizen_id, r.dek_version)), rng);
        if (r.pending_dek) {
          TILLIT_ASSIGN_OR_RETURN(
              crypto::SecretBytes pending,
              UnwrapDek(r.citizen_id, *r.pending_dek, r.dek_version + 1));
          next.pending_dek = keyring.current().SealSecret(
              pending, crypto::AsBytes(DekAd(r.citizen_id, r.dek_version + 1)),
              rng);
        }
        return next;
      }));
  // Forget the old versions.
  keys.DropAllButCurrent();
  TILLIT_RETURN_IF_ERROR(keys.Save(location, rng));
  TILLIT_ASSIGN_OR_RETURN(keyring, keys.MakeKeyring());
  return Status::Ok();
}

Status Vault::RotateRootKeys() {
  if (in_->shared() != nullptr) {
    return Status::FailedPrecondition(
        "the root keys of a shared store are every node's key file: they are "
        "not rotated from one node");
  }
  MutexLock lock(&in_->mu);
  return in_->Rotate();
}

Status Vault::RekeyCitizen(const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  if (in_->shared() != nullptr) {
    return Status::FailedPrecondition(
        "rekeying a citizen's store is for a data directory's files");
  }
  crypto::Random& rng = *in_->options.rng;
  crypto::SecretBytes next = rng.Secret(32);
  int64_t version = 0;
  {
    // Record the next key first, so a crash after the file is rekeyed
    // leaves a key that opens it.
    MutexLock lock(&in_->mu);
    TILLIT_ASSIGN_OR_RETURN(Registry::WrappedKeys keys,
                            in_->registry->GetKeys(citizen_id));
    version = keys.dek_version;
    TILLIT_RETURN_IF_ERROR(in_->registry->SetPendingKey(
        citizen_id,
        in_->keyring.current().SealSecret(
            next, crypto::AsBytes(DekAd(citizen_id, version + 1)), rng)));
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
    TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizenFile(citizen_id));
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
  return in_->registry->PromotePendingKey(citizen_id, version);
}

}  // namespace tillit::vault
