// CitizenStore: one citizen's encrypted database (records and settings).
//
// A CitizenStore is opened by Vault::OpenCitizen, which has already checked
// the key and the generation counter. Every write transaction increments
// the store's generation and reports it to the registry (through the sink
// the Vault installed), so a store later replaced by an older copy is
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

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/fhir/fhir.h"

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

// A stamp of a store's contents: equal stamps of the same store mean
// nothing was committed to it in between (by any connection or process).
// Stamps of different stores, or of different openings of one store, never
// compare equal. Opaque: a cache keeps one and compares it, nothing more.
class StoreVersion {
 public:
  StoreVersion() = default;
  explicit StoreVersion(std::array<uint64_t, 3> parts) : parts_(parts) {}
  bool operator==(const StoreVersion&) const = default;

 private:
  std::array<uint64_t, 3> parts_{};
};

// One citizen's store. The data directory's stores are SQLCipher files
// (SqlCipherCitizenStore, sqlcipher_citizen_store.h); what the rest of the
// program needs of any store is this interface.
class CitizenStore {
 public:
  // Called after each committed write with the new generation and, when the
  // write changed a derived index, its new rows. Its error does not undo
  // or fail the write (the store is the truth); the registry catches up
  // when the store is next opened.
  using GenerationSink =
      std::function<Status(int64_t generation, const IndexUpdate* index)>;

  virtual ~CitizenStore() = default;
  CitizenStore(const CitizenStore&) = delete;
  CitizenStore& operator=(const CitizenStore&) = delete;

  const std::string& citizen_id() const { return citizen_id_; }
  // The generation of the last write this store committed or read.
  virtual int64_t generation() const = 0;

  // Stores `resources` in one transaction: all or nothing. With source
  // "import", a record another source wrote (a provider, a correction, the
  // citizen) is kept as it is and counted as unchanged.
  virtual StatusOr<PutResult> Put(
      std::span<const fhir::ParsedResource> resources, std::string_view source,
      int64_t now) = 0;

  // Replaces the stored record with `corrected` (same type and id), keeps
  // the replaced version in the record's history as superseded by `source`
  // with `note`, and writes `writes` and `index` (as WriteDocuments) in the
  // same transaction: all or nothing. NotFound if there is no such record;
  // FailedPrecondition if `corrected` is identical to what is stored.
  virtual Status Correct(const fhir::ParsedResource& corrected,
                         std::string_view source, std::string_view note,
                         std::span<const DocumentWrite> writes,
                         const IndexUpdate* index, int64_t now) = 0;
  // The earlier versions of a record, newest first (empty if it was never
  // replaced). NotFound if there is no such record.
  virtual StatusOr<std::vector<RecordVersion>> History(std::string_view type,
                                                       std::string_view id) = 0;

  // Changes whenever anything is committed to this store: for caching what
  // is derived from it.
  virtual StatusOr<StoreVersion> ContentVersion() = 0;
  virtual StatusOr<int64_t> Count() = 0;
  virtual StatusOr<std::map<std::string, int64_t>> CountByCategory() = 0;
  virtual StatusOr<std::map<std::string, int64_t>> CountByType() = 0;

  // Newest first (by effective date, then insertion order); records
  // without a date come last. InvalidArgument unless 1 <= limit <= 1000.
  virtual StatusOr<std::vector<StoredRecord>> List(
      const RecordFilter& filter) = 0;
  // NotFound if absent.
  virtual StatusOr<StoredRecord> Get(std::string_view type,
                                     std::string_view id) = 0;

  // Writes documents and (optionally) replaces the derived index rows of
  // one kind, in one transaction with a new generation; the Vault then
  // mirrors the index rows into the registry. If the process dies between
  // the two, the next open of this store mirrors them (the rows are kept
  // here too).
  virtual Status WriteDocuments(std::span<const DocumentWrite> writes,
                                const IndexUpdate* index, int64_t now) = 0;
  virtual StatusOr<std::optional<std::string>> GetDocument(
      std::string_view kind, std::string_view key) = 0;
  // (key, value) pairs of one kind, ordered by key.
  virtual StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListDocuments(std::string_view kind) = 0;
  // Every derived index row kept in this store, grouped by kind.
  virtual StatusOr<std::vector<IndexUpdate>> ReadIndexRows() = 0;
  // Every record's metadata, in insertion order (no content).
  virtual StatusOr<std::vector<RecordMeta>> ListRecordMeta() = 0;

 protected:
  explicit CitizenStore(std::string citizen_id)
      : citizen_id_(std::move(citizen_id)) {}

 private:
  const std::string citizen_id_;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_CITIZEN_STORE_H_
