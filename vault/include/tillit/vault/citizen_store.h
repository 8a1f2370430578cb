// CitizenStore: one citizen's encrypted database (records and settings).
//
// A CitizenStore is opened by Vault::OpenCitizen, which has already checked
// the key and the generation counter. Every write transaction increments
// the store's generation and reports it to the registry (through the sink
// the Vault installed), so a file later replaced by an older copy is
// refused on open.
//
// Records are FHIR R4 resources, unique by (type, id). Putting an identical
// resource again changes nothing; putting a changed one replaces it, and the
// replaced version is kept in the record's history (EHDS Art 6: a corrected
// record keeps what it said before), read with History.
//
// Thread-safety: not thread-safe; one user at a time.
#ifndef TILLIT_VAULT_CITIZEN_STORE_H_
#define TILLIT_VAULT_CITIZEN_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/fhir/fhir.h"
#include "tillit/storage/database.h"

namespace tillit::vault {

struct StoredRecord {
  int64_t seq = 0;  // insertion order, stable
  std::string type;
  std::string id;
  fhir::Category category = fhir::Category::kOther;
  std::optional<int64_t> effective;
  bool sensitive = false;
  std::string source;  // "import", "citizen", or a provider id
  int64_t updated_at = 0;
  std::string resource;            // FHIR JSON
  std::vector<std::string> codes;  // "system|code"
};

// What policy decisions need about a record, without its content.
struct RecordMeta {
  std::string type;
  std::string id;
  fhir::Category category = fhir::Category::kOther;
  std::optional<int64_t> effective;
  bool sensitive = false;
  std::vector<std::string> codes;  // "system|code"
};

// A small named document kept in the citizen's store (grants, settings):
// `value` nullopt deletes it.
struct DocumentWrite {
  std::string kind;
  std::string key;
  std::optional<std::string> value;
};

// Rows of a registry-side index derived from one citizen's documents
// (metadata only, never health data). An update replaces every row of
// `kind` for the citizen.
struct IndexRow {
  std::string key;
  std::string value;
};
struct IndexUpdate {
  std::string kind;
  std::vector<IndexRow> rows;
};

struct RecordFilter {
  std::optional<fhir::Category> category;
  std::optional<std::string> type;
  std::optional<int64_t> since;  // effective >= since
  std::optional<int64_t> until;  // effective < until
  // Resume after this position (from a previous page); newest first.
  struct Position {
    int64_t effective;  // INT64_MIN for records without a date
    int64_t seq;
  };
  std::optional<Position> after;
  size_t limit = 100;
};

// An earlier version of a record, kept when a write replaced it.
struct RecordVersion {
  int64_t version = 0;        // 1 for the first stored; the current is last+1
  std::string source;         // who wrote this version ("import", ...)
  int64_t recorded_at = 0;    // when this version was stored
  int64_t superseded_at = 0;  // when it was replaced
  std::string superseded_by;  // the source of the version that replaced it
  std::string note;           // why, e.g. "rectification rr_..."; may be empty
  std::string resource;       // FHIR JSON of this version
};

struct PutResult {
  size_t written = 0;                     // new or changed records
  size_t unchanged = 0;                   // identical to what was stored
  std::map<std::string, size_t> by_type;  // written + unchanged, by type
};

class CitizenStore {
 public:
  // Called after each committed write with the new generation and, when the
  // write changed a derived index, its new rows. Its error does not undo
  // or fail the write (the file is the truth); the registry catches up
  // when the file is next opened.
  using GenerationSink =
      std::function<Status(int64_t generation, const IndexUpdate* index)>;

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
  static std::unique_ptr<CitizenStore> CreateNew(
      std::string citizen_id, std::unique_ptr<storage::Database> db);
  CitizenStore(std::string citizen_id, std::unique_ptr<storage::Database> db,
               int64_t generation, GenerationSink sink, int64_t now);

  const std::string& citizen_id() const { return citizen_id_; }
  int64_t generation() const { return generation_; }

  // Stores `resources` in one transaction: all or nothing. With source
  // "import", a record another source wrote (a provider, a correction, the
  // citizen) is kept as it is and counted as unchanged.
  StatusOr<PutResult> Put(std::span<const fhir::ParsedResource> resources,
                          std::string_view source, int64_t now);

  // Replaces the stored record with `corrected` (same type and id), keeps
  // the replaced version in the record's history as superseded by `source`
  // with `note`, and writes `writes` and `index` (as WriteDocuments) in the
  // same transaction: all or nothing. NotFound if there is no such record;
  // FailedPrecondition if `corrected` is identical to what is stored.
  Status Correct(const fhir::ParsedResource& corrected, std::string_view source,
                 std::string_view note, std::span<const DocumentWrite> writes,
                 const IndexUpdate* index, int64_t now);
  // The earlier versions of a record, newest first (empty if it was never
  // replaced). NotFound if there is no such record.
  StatusOr<std::vector<RecordVersion>> History(std::string_view type,
                                               std::string_view id);

  // Changes whenever anything is committed to this store (Database::
  // ContentVersion): for caching what is derived from it.
  StatusOr<storage::Database::Version> ContentVersion() {
    return db_->ContentVersion();
  }
  StatusOr<int64_t> Count();
  StatusOr<std::map<std::string, int64_t>> CountByCategory();
  StatusOr<std::map<std::string, int64_t>> CountByType();

  // Newest first (by effective date, then insertion order); records
  // without a date come last.
  StatusOr<std::vector<StoredRecord>> List(const RecordFilter& filter);
  // NotFound if absent.
  StatusOr<StoredRecord> Get(std::string_view type, std::string_view id);

  // Writes documents and (optionally) replaces the derived index rows of
  // one kind, in one transaction with a new generation; the Vault then
  // mirrors the index rows into the registry. If the process dies between
  // the two, the next open of this store mirrors them (the rows are kept
  // here too).
  Status WriteDocuments(std::span<const DocumentWrite> writes,
                        const IndexUpdate* index, int64_t now);
  StatusOr<std::optional<std::string>> GetDocument(std::string_view kind,
                                                   std::string_view key);
  // (key, value) pairs of one kind, ordered by key.
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListDocuments(
      std::string_view kind);
  // Every derived index row kept in this store, grouped by kind.
  StatusOr<std::vector<IndexUpdate>> ReadIndexRows();
  // Every record's metadata, in insertion order (no content).
  StatusOr<std::vector<RecordMeta>> ListRecordMeta();

  // Writes a copy of the store (one snapshot) re-encrypted under `key` to
  // the new file `dest` through `env`, durable when this returns; on an
  // error no file is left.
  Status CopyUnderKey(const std::string& dest, const crypto::SecretBytes& key,
                      Env* env);

  // Reads the generation stored in an open database.
  static StatusOr<int64_t> ReadGeneration(storage::Database& db);

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

  std::string citizen_id_;
  std::unique_ptr<storage::Database> db_;
  int64_t generation_;
  GenerationSink sink_;
  bool needs_schema_ = false;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_CITIZEN_STORE_H_
