// Moving a vault from one store to another (`tillit migrate`): every row a
// registry or a citizen's store keeps, as plain values, and the interfaces
// of the stores that can hand them over or take them in.
//
// What moves is what the rows hold, byte for byte where it is key material
// or a keyed hash: wrapped data keys stay wrapped under the same root keys,
// token and Patient hashes stay the hashes of the same master secret, so
// the vault that takes them in opens them with the same key file. Record
// contents and documents are plain here (a citizen's store seals or
// encrypts them again under the same data key as it takes them in), in
// ordinary memory as every read of a store returns them, and only for as
// long as one citizen's copy and comparison take.
//
// Thread-safety: as the store implementing the interface.
#ifndef TILLIT_VAULT_TRANSFER_H_
#define TILLIT_VAULT_TRANSFER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/hash.h"
#include "tillit/vault/citizen_store.h"

namespace tillit::vault {

// Every row of a registry but the index mirrored from the citizens' stores
// (which the stores carry, and which the registry takes from them).
struct RegistryRows {
  struct Citizen {
    std::string id;
    int64_t created_at = 0;
    int64_t dek_version = 0;
    std::vector<uint8_t> wrapped_dek;
    std::optional<std::vector<uint8_t>> pending_dek;
    int64_t generation = 0;
    std::optional<crypto::Digest> patient_key;
    bool operator==(const Citizen&) const = default;
  };
  struct Tombstone {
    std::string id;
    int64_t erased_at = 0;
    bool operator==(const Tombstone&) const = default;
  };
  struct DirectoryEntry {
    std::string kind;
    std::string id;
    std::string value;
    int64_t created_at = 0;
    bool operator==(const DirectoryEntry&) const = default;
  };
  struct Token {
    crypto::Digest hash{};
    std::string role;
    std::string principal;
    int64_t created_at = 0;
    int64_t expires_at = 0;
    std::optional<int64_t> revoked_at;
    bool operator==(const Token&) const = default;
  };
  // Each list in a fixed order (citizens and tombstones by id, the
  // directory by kind and id, tokens by hash), so that two registries
  // holding the same rows export equal values.
  std::vector<Citizen> citizens;
  std::vector<Tombstone> erased;
  std::vector<DirectoryEntry> directory;
  std::vector<Token> tokens;
  bool operator==(const RegistryRows&) const = default;
};

// A registry that can hand over and take in every row.
class RegistryTransfer {
 public:
  virtual ~RegistryTransfer() = default;
  // One consistent read of every row.
  virtual StatusOr<RegistryRows> ExportRows() = 0;
  // Into a registry that holds no citizen, tombstone, directory entry or
  // token (FailedPrecondition otherwise), in one transaction: nothing is
  // kept on an error.
  virtual Status ImportRows(const RegistryRows& rows) = 0;
};

// Everything one citizen's store holds that a read returns (a data
// directory's file also keeps each record's first-stored time, which no
// read returns and PostgreSQL's store does not keep).
struct StoreRows {
  struct Record {
    // Without `seq`, which each store numbers itself; the order of
    // `records` is the insertion order.
    StoredRecord record;
    // Earlier versions, oldest first (version 1, 2, ...).
    std::vector<RecordVersion> versions;
  };
  struct Document {
    std::string kind;
    std::string key;
    std::string value;
    int64_t updated_at = 0;
    bool operator==(const Document&) const = default;
  };
  int64_t generation = 0;
  std::vector<Record> records;      // insertion order
  std::vector<Document> documents;  // by kind, then key
  std::vector<IndexUpdate> index;   // by kind; each kind's rows by key
};

// Whether two stores' rows say the same: every field of every record (seq
// aside), version, document and index row, and the generation. On a
// difference, `what` (if given) names the first one found.
bool SameStoreRows(const StoreRows& a, const StoreRows& b,
                   std::string* what = nullptr);

// A citizen's store that can hand over every row.
class StoreExport {
 public:
  virtual ~StoreExport() = default;
  // One consistent read of the whole store.
  virtual StatusOr<StoreRows> ExportRows() = 0;
};

// A citizen's store that can take in every row.
class StoreImport {
 public:
  virtual ~StoreImport() = default;
  // Into a store never written (FailedPrecondition otherwise), in one
  // transaction, leaving it at rows.generation. Its generation sink is not
  // told: the caller brings the registry up to the same generation and
  // index.
  virtual Status ImportRows(const StoreRows& rows) = 0;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_TRANSFER_H_
