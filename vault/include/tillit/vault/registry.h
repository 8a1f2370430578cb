// Registry: what a vault keeps besides the citizens' own stores: who the
// citizens are, their data keys wrapped under the root keys, the generation
// each store may never fall below, the keyed hashes of source Patient ids,
// the tombstones of erased citizens, the index rows mirrored from citizens'
// stores, the directory of principals and studies, and the tokens. Metadata
// only: never a record, never a key in the clear.
//
// A data directory's registry is registry.db (SqliteRegistry, private to
// the vault). The Vault does the cryptography (wrapping, keyed hashes) and
// the registry keeps rows; each method is one transaction.
//
// Thread-safety: every method is safe to call concurrently.
#ifndef TILLIT_VAULT_REGISTRY_H_
#define TILLIT_VAULT_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/hash.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/tokens.h"

namespace tillit::vault {

// One row of the registry's citizen index: derived from a citizen's
// documents, metadata only.
struct IndexEntry {
  std::string citizen_id;
  std::string key;
  std::string value;
};

class Registry {
 public:
  // A citizen's data keys as kept: wrapped under the root keys.
  struct WrappedKeys {
    std::string citizen_id;
    int64_t dek_version = 0;
    std::vector<uint8_t> wrapped_dek;
    // During a rekey: the next data key (version dek_version + 1), wrapped.
    std::optional<std::vector<uint8_t>> pending_dek;
    int64_t generation = 0;  // the citizen's store may never be older
  };

  virtual ~Registry() = default;

  // --- citizens
  // A new citizen with data key version 1. AlreadyExists when `patient_key`
  // is already another citizen's.
  virtual Status AddCitizen(
      const std::string& citizen_id, int64_t created_at,
      std::span<const uint8_t> wrapped_dek, int64_t generation,
      const std::optional<crypto::Digest>& patient_key) = 0;
  // Every registered citizen, oldest first.
  virtual StatusOr<std::vector<std::string>> ListCitizenIds() = 0;
  // NotFound for an unknown (or erased) citizen.
  virtual StatusOr<WrappedKeys> GetKeys(const std::string& citizen_id) = 0;
  // Raises the citizen's generation to `generation` (never lowers it) and,
  // in the same transaction, replaces the index rows of `index`'s kinds
  // (with `replace_all_index_rows`, every kind of the citizen's rows).
  virtual Status SetGeneration(const std::string& citizen_id,
                               int64_t generation,
                               const std::vector<IndexUpdate>& index,
                               bool replace_all_index_rows) = 0;

  // --- data keys
  // Keeps `wrapped` as the citizen's pending (next) data key. NotFound for
  // an unknown citizen.
  virtual Status SetPendingKey(const std::string& citizen_id,
                               std::span<const uint8_t> wrapped) = 0;
  // Makes the pending key the current one (dek_version + 1), if the
  // current version is still `expected_version` (any, when nullopt).
  virtual Status PromotePendingKey(const std::string& citizen_id,
                                   std::optional<int64_t> expected_version) = 0;
  // In one transaction, replaces every citizen's wrapped keys with what
  // `rewrap` makes of them (root-key rotation). An error from `rewrap`
  // changes nothing. A registry that can also drop its own copies of the
  // replaced envelopes does (registry.db checkpoints its WAL); a copy kept
  // anyway (a database's old row versions, a backup) opens only with the
  // root-key version the rotation retires.
  using Rewrap = std::function<StatusOr<WrappedKeys>(const WrappedKeys&)>;
  virtual Status RewrapAllKeys(const Rewrap& rewrap) = 0;

  // --- erasure
  // In one transaction: forgets the citizen (and their wrapped keys and
  // index rows) and keeps a tombstone. NotFound for an unknown citizen.
  // The Vault then rotates the root keys, so that a copy of the wrapped key
  // kept anywhere cannot be opened (see RewrapAllKeys).
  virtual Status EraseCitizen(const std::string& citizen_id,
                              int64_t erased_at) = 0;
  // Whether a tombstone was kept for `citizen_id`.
  virtual StatusOr<bool> IsErased(const std::string& citizen_id) = 0;
  virtual StatusOr<std::vector<std::string>> ListErased() = 0;

  // --- source Patients (keyed hashes of their ids)
  // The citizen registered for this Patient key, if any.
  virtual StatusOr<std::optional<std::string>> FindPatient(
      const crypto::Digest& key) = 0;
  // Links the Patient `key` to a citizen, or checks it is already theirs.
  // NotFound for an unknown citizen; InvalidArgument when the Patient or
  // the citizen is linked elsewhere.
  virtual Status LinkPatient(const std::string& citizen_id,
                             const crypto::Digest& key) = 0;

  // --- the index mirrored from citizens' documents
  // Rows of one kind, ordered by citizen and key.
  virtual StatusOr<std::vector<IndexEntry>> ReadIndex(
      std::string_view kind) = 0;
  // Moves with every change of the index.
  virtual StatusOr<int64_t> IndexVersion() = 0;

  // --- the directory of principals and studies
  // AlreadyExists for a (kind, id) already there.
  virtual Status PutDirectoryEntry(std::string_view kind, std::string_view id,
                                   std::string_view value,
                                   int64_t created_at) = 0;
  // NotFound if absent.
  virtual StatusOr<std::string> GetDirectoryEntry(std::string_view kind,
                                                  std::string_view id) = 0;
  // (id, value) of one kind, oldest first.
  virtual StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListDirectory(std::string_view kind) = 0;

  // --- tokens, kept by keyed hash
  virtual TokenRepository& tokens() = 0;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_REGISTRY_H_
