// SharedStore: where a vault keeps its rows when several processes (the
// `tillit serve` nodes of a cluster) share them, instead of a data
// directory. pgstore::PgVaultStore keeps them in PostgreSQL.
//
// The vault keeps what it keeps for a data directory: the root keys (a
// file, or a sealed file, on each node, the same on all of them), the key
// hierarchy under them and every rule. The store keeps the rest: the
// master secret's envelope (what vault.json holds in a data directory), the
// registry and the citizens' stores. A vault is given one through
// VaultOptions::shared_store.
//
// What a shared vault does differently, because no node may change what
// the other nodes' key files hold:
// - Root-key rotation is refused (FailedPrecondition): a new key file on one
//   node would leave every other node unable to open the vault.
// - Erasing a citizen destroys the wrapped data key and deletes the
//   citizen's rows, without rotating the root keys; so a backup of the
//   database taken before the erasure, together with the root keys, still
//   opens that citizen's rows (docs/SCALE.md).
// - Rekeying a citizen and the backup copies (CopyRegistry, CopyCitizen)
//   are for data directories (FailedPrecondition): a shared store is backed
//   up by its database's own means.
//
// Thread-safety: implementations are safe to call from any thread.
#ifndef TILLIT_VAULT_SHARED_STORE_H_
#define TILLIT_VAULT_SHARED_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/secret.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/registry.h"

namespace tillit::vault {

class SharedStore {
 public:
  virtual ~SharedStore() = default;

  // What a data directory's vault.json holds.
  struct Header {
    bool sealed = false;  // the root keys are sealed under a passphrase
    // The master secret, sealed under the root keys.
    std::vector<uint8_t> master_envelope;
  };
  // NotFound when no vault was created in the store.
  virtual StatusOr<Header> ReadHeader() = 0;
  // Records the header of a new vault; AlreadyExists when the store already
  // holds one (nothing is changed).
  virtual Status CreateHeader(const Header& header) = 0;

  // The registry. `keys` derives the sub-keys of the master secret the
  // store needs (for its sealed rows); called once, after the header.
  virtual StatusOr<std::unique_ptr<Registry>> OpenRegistry(
      const crypto::KeyDeriver& keys) = 0;

  // The store of `citizen_id` under its data key `dek`. A citizen with no
  // rows has an empty store at generation 0. DataLoss when the store does
  // not open under `dek` or is older than `registry_generation` (rows
  // restored from an older copy). `sink` as for every CitizenStore; null
  // for a citizen not yet registered.
  virtual StatusOr<std::unique_ptr<CitizenStore>> OpenStore(
      const std::string& citizen_id, const crypto::SecretBytes& dek,
      int64_t registry_generation, CitizenStore::GenerationSink sink) = 0;
  // Deletes every row of the citizen's store; Ok if there were none.
  virtual Status DropStore(const std::string& citizen_id) = 0;
  // Whether the store holds any row of the citizen's (false once dropped).
  virtual StatusOr<bool> HasRows(const std::string& citizen_id) = 0;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_SHARED_STORE_H_
