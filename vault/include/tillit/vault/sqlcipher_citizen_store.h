// SqlCipherCitizenStore: a CitizenStore in one SQLCipher file of the data
// directory (citizens/<id>.db), keyed with the citizen's data key.
//
// The file keeps its generation in its own `meta` table, which the Vault
// compares with the registry's copy on open (a file replaced by an older
// copy is refused). Schema versions: storage::SchemaHistory, kSchemaVersion.
//
// Thread-safety: not thread-safe; one user at a time.
#ifndef TILLIT_VAULT_SQLCIPHER_CITIZEN_STORE_H_
#define TILLIT_VAULT_SQLCIPHER_CITIZEN_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"
#include "tillit/storage/database.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/transfer.h"

namespace tillit::vault {

class SqlCipherCitizenStore final : public CitizenStore, public StoreExport {
 public:
  // The schema version this program writes (PRAGMA user_version).
  static constexpr int64_t kSchemaVersion = 2;

  // The setup function for Database::Open: creates the schema of a new
  // file, upgrades an older one (each step in its own transaction), and
  // refuses a newer one with FailedPrecondition ("citizen store at
  // <id>.db: format N is newer than this tillit supports (M); upgrade
  // tillit").
  static Status Setup(storage::Database& db);
  // A store over a brand-new, empty file opened without Setup: the schema
  // is created and stamped inside the first Put's (or WriteDocuments')
  // transaction, so a new citizen's file is written and synced once.
  static std::unique_ptr<SqlCipherCitizenStore> CreateNew(
      std::string citizen_id, std::unique_ptr<storage::Database> db);
  // Reads the generation stored in an open database.
  static StatusOr<int64_t> ReadGeneration(storage::Database& db);

  SqlCipherCitizenStore(std::string citizen_id,
                        std::unique_ptr<storage::Database> db,
                        int64_t generation, GenerationSink sink);

  int64_t generation() const override { return generation_; }
  StatusOr<PutResult> Put(std::span<const fhir::ParsedResource> resources,
                          std::string_view source, int64_t now) override;
  Status Correct(const fhir::ParsedResource& corrected, std::string_view source,
                 std::string_view note, std::span<const DocumentWrite> writes,
                 const IndexUpdate* index, int64_t now) override;
  StatusOr<std::vector<RecordVersion>> History(std::string_view type,
                                               std::string_view id) override;
  // From Database::ContentVersion: SQLite's data_version and the
  // connection's own changes.
  StatusOr<StoreVersion> ContentVersion() override;
  StatusOr<int64_t> Count() override;
  StatusOr<std::map<std::string, int64_t>> CountByCategory() override;
  StatusOr<std::map<std::string, int64_t>> CountByType() override;
  StatusOr<std::vector<StoredRecord>> List(const RecordFilter& filter) override;
  StatusOr<StoredRecord> Get(std::string_view type,
                             std::string_view id) override;
  Status WriteDocuments(std::span<const DocumentWrite> writes,
                        const IndexUpdate* index, int64_t now) override;
  StatusOr<std::optional<std::string>> GetDocument(
      std::string_view kind, std::string_view key) override;
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListDocuments(
      std::string_view kind) override;
  StatusOr<std::vector<IndexUpdate>> ReadIndexRows() override;
  StatusOr<std::vector<RecordMeta>> ListRecordMeta() override;

  // Every row, read in one transaction (`tillit migrate`).
  StatusOr<StoreRows> ExportRows() override;

  // Writes a copy of the store (one snapshot) re-encrypted under `key` to
  // the new file `dest` through `env`, durable when this returns; on an
  // error no file is left. (Rekeying a citizen: Vault::RekeyCitizen.)
  Status CopyUnderKey(const std::string& dest, const crypto::SecretBytes& key,
                      Env* env);

 private:
  StatusOr<std::map<std::string, int64_t>> CountBy(const char* sql);
  // Copies the current version of (type, id) into its history, superseded
  // now by `source` with `note` (inside the caller's transaction).
  Status Supersede(std::string_view type, std::string_view id,
                   std::string_view source, std::string_view note, int64_t now);
  // The document and index writes of WriteDocuments, inside the caller's
  // transaction.
  Status WriteDocumentsIn(std::span<const DocumentWrite> writes,
                          const IndexUpdate* index, int64_t now);
  // Bumps the generation inside `txn`, commits, then tells the sink.
  Status CommitWrite(storage::Database::Transaction& txn,
                     const IndexUpdate* index);

  std::unique_ptr<storage::Database> db_;
  int64_t generation_;
  GenerationSink sink_;
  bool needs_schema_ = false;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_SQLCIPHER_CITIZEN_STORE_H_
