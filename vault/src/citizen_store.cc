#include <algorithm>
#include <climits>
#include <iterator>
#include <map>
#include <string>
#include <utility>

#include "tillit/vault/source_tag.h"
#include "tillit/vault/sqlcipher_citizen_store.h"

namespace tillit::vault {
namespace {

constexpr int64_t kNoDate = INT64_MIN;
// The source of imported records (Vault::Import's callers pass it).
constexpr std::string_view kImportSource = "import";

// The first schema, exactly as tillit wrote it before schema versions
// (meta.schema is 1 in every such file and is not read: the version is the
// file's user_version).
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1);
INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', 0);
CREATE TABLE IF NOT EXISTS records (
  seq        INTEGER PRIMARY KEY,
  type       TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  category   TEXT    NOT NULL,
  effective  INTEGER NOT NULL,   -- epoch seconds; INT64_MIN when unknown
  sensitive  INTEGER NOT NULL,
  source     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  codes      TEXT    NOT NULL,   -- "system|code" lines
  resource   TEXT    NOT NULL,
  UNIQUE (type, id)
);
CREATE TABLE IF NOT EXISTS documents (
  kind       TEXT    NOT NULL,
  key        TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS index_rows (
  kind  TEXT NOT NULL,
  key   TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_category
  ON records (category, effective DESC, seq DESC);
CREATE INDEX IF NOT EXISTS records_by_type
  ON records (type, effective DESC, seq DESC);
)sql";

// Version 2: the earlier versions of records (EHDS Art 6 rectification).
// A row is the whole replaced resource, as it was, and who replaced it.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE IF NOT EXISTS record_versions (
  type          TEXT    NOT NULL,
  id            TEXT    NOT NULL,
  version       INTEGER NOT NULL,   -- 1 for the first stored
  source        TEXT    NOT NULL,   -- who wrote this version
  recorded_at   INTEGER NOT NULL,
  superseded_at INTEGER NOT NULL,
  superseded_by TEXT    NOT NULL,   -- the source of the replacement
  note          TEXT    NOT NULL,   -- why, e.g. "rectification rr_..."
  resource      TEXT    NOT NULL,
  UNIQUE (type, id, version)
);
)sql";

}  // namespace

// A citizen store's schema history: step i takes version i to i + 1. A new
// step is added here with a test on a directory made by
// scripts/make_format_fixture.sh (docs/OPERATIONS.md).
constexpr storage::SchemaStep kCitizenStoreSteps[] = {
    // 0 to 1: the first schema. IF NOT EXISTS: a store an older tillit
    // made already has it, and is only stamped.
    [](storage::Database& db) { return db.Exec(kSchemaV1); },
    // 1 to 2: record history.
    [](storage::Database& db) { return db.Exec(kSchemaV2); },
};
static_assert(std::size(kCitizenStoreSteps) ==
              SqlCipherCitizenStore::kSchemaVersion);

std::span<const storage::SchemaStep> CitizenStoreSteps() {
  return kCitizenStoreSteps;
}

namespace {

const storage::SchemaHistory kHistory{"citizen store", kCitizenStoreSteps};

std::string JoinCodes(const std::vector<std::string>& codes) {
  std::string out;
  for (const std::string& c : codes) {
    if (!out.empty()) out += '\n';
    out += c;
  }
  return out;
}

std::vector<std::string> SplitCodes(std::string_view joined) {
  std::vector<std::string> out;
  while (!joined.empty()) {
    size_t nl = joined.find('\n');
    out.emplace_back(joined.substr(0, nl));
    if (nl == std::string_view::npos) break;
    joined.remove_prefix(nl + 1);
  }
  return out;
}

// Binds ?1..?9 of the insert and update statements of Put.
void BindRecord(storage::Statement& st, const fhir::ParsedResource& r,
                std::string_view source, int64_t now) {
  st.Bind(1, r.type)
      .Bind(2, r.id)
      .Bind(3, fhir::CategoryName(r.category))
      .Bind(4, r.effective.value_or(kNoDate))
      .Bind(5, int64_t{r.sensitive ? 1 : 0})
      .Bind(6, source)
      .Bind(7, now)
      .Bind(8, r.json)
      .Bind(9, JoinCodes(r.codes));
}

// Overwrites the stored (type, id) with `r`.
Status Replace(storage::Database& db, const fhir::ParsedResource& r,
               std::string_view source, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement update,
      db.Prepare("UPDATE records SET category = ?3, effective = ?4, "
                 "sensitive = ?5, source = ?6, updated_at = ?7, "
                 "resource = ?8, codes = ?9 WHERE type = ?1 AND id = ?2"));
  BindRecord(update, r, source, now);
  return update.Run();
}

StoredRecord ReadRow(const storage::Statement& st) {
  StoredRecord r;
  r.seq = st.ColumnInt64(0);
  r.type = std::string(st.ColumnText(1));
  r.id = std::string(st.ColumnText(2));
  r.category =
      fhir::ParseCategory(st.ColumnText(3)).value_or(fhir::Category::kOther);
  int64_t eff = st.ColumnInt64(4);
  if (eff != kNoDate) r.effective = eff;
  r.sensitive = st.ColumnInt64(5) != 0;
  r.source = std::string(st.ColumnText(6));
  r.updated_at = st.ColumnInt64(7);
  r.resource = std::string(st.ColumnText(8));
  r.codes = SplitCodes(st.ColumnText(9));
  return r;
}

}  // namespace

Status SqlCipherCitizenStore::Setup(storage::Database& db) {
  return db.Migrate(kHistory);
}

std::unique_ptr<SqlCipherCitizenStore> SqlCipherCitizenStore::CreateNew(
    std::string citizen_id, std::unique_ptr<storage::Database> db) {
  auto store = std::make_unique<SqlCipherCitizenStore>(
      std::move(citizen_id), std::move(db), 0, nullptr);
  store->needs_schema_ = true;
  return store;
}

SqlCipherCitizenStore::SqlCipherCitizenStore(
    std::string citizen_id, std::unique_ptr<storage::Database> db,
    int64_t generation, GenerationSink sink)
    : CitizenStore(std::move(citizen_id)),
      db_(std::move(db)),
      generation_(generation),
      sink_(std::move(sink)) {}

StatusOr<StoreVersion> SqlCipherCitizenStore::ContentVersion() {
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Version v, db_->ContentVersion());
  return StoreVersion({v.connection, static_cast<uint64_t>(v.others),
                       static_cast<uint64_t>(v.own)});
}

StatusOr<int64_t> SqlCipherCitizenStore::ReadGeneration(storage::Database& db) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db.Prepare("SELECT value FROM meta WHERE key = 'generation'"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::DataLoss("citizen store has no generation");
  return st.ColumnInt64(0);
}

StatusOr<PutResult> SqlCipherCitizenStore::Put(
    std::span<const fhir::ParsedResource> resources, std::string_view source,
    int64_t now) {
  PutResult result;
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  if (needs_schema_) {
    TILLIT_RETURN_IF_ERROR(db_->MigrateInTransaction(kHistory));
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement insert,
        db_->Prepare(
            "INSERT OR IGNORE INTO records (type, id, category, effective, "
            "sensitive, source, created_at, updated_at, resource, codes) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8, ?9)"));
    for (const fhir::ParsedResource& r : resources) {
      BindRecord(insert, r, source, now);
      TILLIT_RETURN_IF_ERROR(insert.Run());
      ++result.by_type[r.type];
      if (db_->Changes() == 1) {
        ++result.written;
        continue;
      }
      // Already stored: identical resources are not written again. The
      // operator's import never replaces what a provider or a correction
      // wrote (a re-import must not undo an accepted rectification), but
      // does replace the citizen's copy of a region's record (same type and
      // id, brought in by the citizen first; theirs stays in the history).
      // The citizen's import replaces only the citizen's own records.
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement existing,
          db_->Prepare("SELECT resource, source FROM records WHERE type = ?1 "
                       "AND id = ?2"));
      existing.Bind(1, r.type).Bind(2, r.id);
      TILLIT_ASSIGN_OR_RETURN(bool row, existing.Step());
      const std::string_view stored_by = row ? existing.ColumnText(1) : "";
      const bool keep =
          (source == kImportSource && stored_by != kImportSource &&
           stored_by != kCitizenSource) ||
          (source == kCitizenSource && stored_by != kCitizenSource);
      if (row && (existing.ColumnText(0) == r.json || keep)) {
        ++result.unchanged;
        continue;
      }
      TILLIT_RETURN_IF_ERROR(Supersede(r.type, r.id, source, "", now));
      TILLIT_RETURN_IF_ERROR(Replace(*db_, r, source, now));
      ++result.written;
    }
  }
  if (result.written == 0) return result;  // nothing changed: no new generation
  TILLIT_RETURN_IF_ERROR(CommitWrite(txn, nullptr));
  return result;
}

Status SqlCipherCitizenStore::Supersede(std::string_view type,
                                        std::string_view id,
                                        std::string_view source,
                                        std::string_view note, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement keep,
      db_->Prepare(
          "INSERT INTO record_versions (type, id, version, source, "
          "recorded_at, superseded_at, superseded_by, note, resource) "
          "SELECT type, id, (SELECT coalesce(max(version), 0) + 1 FROM "
          "record_versions WHERE type = ?1 AND id = ?2), source, updated_at, "
          "?3, ?4, ?5, resource FROM records WHERE type = ?1 AND id = ?2"));
  keep.Bind(1, type).Bind(2, id).Bind(3, now).Bind(4, source).Bind(5, note);
  TILLIT_RETURN_IF_ERROR(keep.Run());
  if (db_->Changes() != 1) return Status::NotFound("no such record");
  return Status::Ok();
}

Status SqlCipherCitizenStore::Correct(const fhir::ParsedResource& corrected,
                                      std::string_view source,
                                      std::string_view note,
                                      std::span<const DocumentWrite> writes,
                                      const IndexUpdate* index, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  if (needs_schema_) {
    TILLIT_RETURN_IF_ERROR(db_->MigrateInTransaction(kHistory));
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement existing,
        db_->Prepare("SELECT resource FROM records WHERE type = ?1 AND "
                     "id = ?2"));
    existing.Bind(1, corrected.type).Bind(2, corrected.id);
    TILLIT_ASSIGN_OR_RETURN(bool row, existing.Step());
    if (!row) return Status::NotFound("no such record");
    if (existing.ColumnText(0) == corrected.json) {
      return Status::FailedPrecondition(
          "the correction is identical to the stored record");
    }
  }
  TILLIT_RETURN_IF_ERROR(
      Supersede(corrected.type, corrected.id, source, note, now));
  TILLIT_RETURN_IF_ERROR(Replace(*db_, corrected, source, now));
  TILLIT_RETURN_IF_ERROR(WriteDocumentsIn(writes, index, now));
  return CommitWrite(txn, index);
}

StatusOr<std::vector<RecordVersion>> SqlCipherCitizenStore::History(
    std::string_view type, std::string_view id) {
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement exists,
        db_->Prepare("SELECT 1 FROM records WHERE type = ?1 AND id = ?2"));
    exists.Bind(1, type).Bind(2, id);
    TILLIT_ASSIGN_OR_RETURN(bool row, exists.Step());
    if (!row) return Status::NotFound("no such record");
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT version, source, recorded_at, superseded_at, "
                   "superseded_by, note, resource FROM record_versions "
                   "WHERE type = ?1 AND id = ?2 ORDER BY version DESC"));
  st.Bind(1, type).Bind(2, id);
  std::vector<RecordVersion> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    RecordVersion v;
    v.version = st.ColumnInt64(0);
    v.source = std::string(st.ColumnText(1));
    v.recorded_at = st.ColumnInt64(2);
    v.superseded_at = st.ColumnInt64(3);
    v.superseded_by = std::string(st.ColumnText(4));
    v.note = std::string(st.ColumnText(5));
    v.resource = std::string(st.ColumnText(6));
    out.push_back(std::move(v));
  }
  return out;
}

Status SqlCipherCitizenStore::CommitWrite(storage::Database::Transaction& txn,
                                          const IndexUpdate* index) {
  // Read inside the write transaction: another handle on the same file
  // (the CLI while a server runs) may have moved the generation on.
  int64_t current = generation_;
  if (!needs_schema_) {
    TILLIT_ASSIGN_OR_RETURN(current, ReadGeneration(*db_));
  }
  const int64_t next = std::max(current, generation_) + 1;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement gen,
        db_->Prepare("UPDATE meta SET value = ?1 WHERE key = 'generation'"));
    gen.Bind(1, next);
    TILLIT_RETURN_IF_ERROR(gen.Run());
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  needs_schema_ = false;
  generation_ = next;
  // The write is committed in the citizen's file, which is the truth. If
  // the registry cannot take its copy of the generation and index rows (a
  // disk error), the write still happened and is reported as done: the
  // registry catches up from the file when it is next opened
  // (Vault::OpenCitizen). Until then a lost index row can only leave the
  // citizen out of a research candidate list (decisions read the file).
  if (sink_) (void)sink_(next, index);
  return Status::Ok();
}

Status SqlCipherCitizenStore::WriteDocuments(
    std::span<const DocumentWrite> writes, const IndexUpdate* index,
    int64_t now) {
  if (writes.empty() && index == nullptr) return Status::Ok();
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  if (needs_schema_) {
    TILLIT_RETURN_IF_ERROR(db_->MigrateInTransaction(kHistory));
  }
  TILLIT_RETURN_IF_ERROR(WriteDocumentsIn(writes, index, now));
  return CommitWrite(txn, index);
}

Status SqlCipherCitizenStore::WriteDocumentsIn(
    std::span<const DocumentWrite> writes, const IndexUpdate* index,
    int64_t now) {
  for (const DocumentWrite& w : writes) {
    if (w.value) {
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement put,
          db_->Prepare("INSERT OR REPLACE INTO documents (kind, key, value, "
                       "updated_at) VALUES (?1, ?2, ?3, ?4)"));
      put.Bind(1, w.kind).Bind(2, w.key).Bind(3, *w.value).Bind(4, now);
      TILLIT_RETURN_IF_ERROR(put.Run());
    } else {
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement del,
          db_->Prepare("DELETE FROM documents WHERE kind = ?1 AND key = ?2"));
      del.Bind(1, w.kind).Bind(2, w.key);
      TILLIT_RETURN_IF_ERROR(del.Run());
    }
  }
  if (index != nullptr) {
    // The registry's mirror is rebuilt from these rows after a crash.
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement clear,
        db_->Prepare("DELETE FROM index_rows WHERE kind = ?1"));
    clear.Bind(1, index->kind);
    TILLIT_RETURN_IF_ERROR(clear.Run());
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement add,
        db_->Prepare(
            "INSERT INTO index_rows (kind, key, value) VALUES (?1, ?2, ?3)"));
    for (const IndexRow& row : index->rows) {
      add.Bind(1, index->kind).Bind(2, row.key).Bind(3, row.value);
      TILLIT_RETURN_IF_ERROR(add.Run());
    }
  }
  return Status::Ok();
}

StatusOr<std::optional<std::string>> SqlCipherCitizenStore::GetDocument(
    std::string_view kind, std::string_view key) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT value FROM documents WHERE kind = ?1 AND key = ?2"));
  st.Bind(1, kind).Bind(2, key);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.ColumnText(0)));
}

StatusOr<std::vector<std::pair<std::string, std::string>>>
SqlCipherCitizenStore::ListDocuments(std::string_view kind) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT key, value FROM documents WHERE kind = ?1 "
                   "ORDER BY key"));
  st.Bind(1, kind);
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(std::string(st.ColumnText(0)),
                     std::string(st.ColumnText(1)));
  }
  return out;
}

StatusOr<std::vector<IndexUpdate>> SqlCipherCitizenStore::ReadIndexRows() {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT kind, key, value FROM index_rows ORDER BY kind"));
  std::vector<IndexUpdate> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    if (out.empty() || out.back().kind != st.ColumnText(0)) {
      out.push_back(IndexUpdate{std::string(st.ColumnText(0)), {}});
    }
    out.back().rows.push_back(
        IndexRow{std::string(st.ColumnText(1)), std::string(st.ColumnText(2))});
  }
  return out;
}

StatusOr<std::vector<RecordMeta>> SqlCipherCitizenStore::ListRecordMeta() {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT type, id, category, effective, sensitive, codes "
                   "FROM records ORDER BY seq"));
  std::vector<RecordMeta> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    RecordMeta m;
    m.type = std::string(st.ColumnText(0));
    m.id = std::string(st.ColumnText(1));
    m.category =
        fhir::ParseCategory(st.ColumnText(2)).value_or(fhir::Category::kOther);
    int64_t eff = st.ColumnInt64(3);
    if (eff != kNoDate) m.effective = eff;
    m.sensitive = st.ColumnInt64(4) != 0;
    m.codes = SplitCodes(st.ColumnText(5));
    out.push_back(std::move(m));
  }
  return out;
}

StatusOr<int64_t> SqlCipherCitizenStore::Count() {
  TILLIT_ASSIGN_OR_RETURN(storage::Statement st,
                          db_->Prepare("SELECT count(*) FROM records"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

StatusOr<std::map<std::string, int64_t>> SqlCipherCitizenStore::CountBy(
    const char* sql) {
  std::map<std::string, int64_t> out;
  TILLIT_ASSIGN_OR_RETURN(storage::Statement st, db_->Prepare(sql));
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out[std::string(st.ColumnText(0))] = st.ColumnInt64(1);
  }
  return out;
}

StatusOr<std::map<std::string, int64_t>>
SqlCipherCitizenStore::CountByCategory() {
  return CountBy("SELECT category, count(*) FROM records GROUP BY category");
}

StatusOr<std::map<std::string, int64_t>> SqlCipherCitizenStore::CountByType() {
  return CountBy("SELECT type, count(*) FROM records GROUP BY type");
}

StatusOr<std::vector<StoredRecord>> SqlCipherCitizenStore::List(
    const RecordFilter& f) {
  if (f.limit == 0 || f.limit > 1000) {
    return Status::InvalidArgument("limit must be between 1 and 1000");
  }
  // One constant statement; absent filters are bound as NULL and disabled
  // by the IS NULL tests.
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(
          "SELECT seq, type, id, category, effective, sensitive, source, "
          "updated_at, resource, codes FROM records "
          "WHERE (?1 IS NULL OR category = ?1) "
          "AND (?2 IS NULL OR type = ?2) "
          "AND (?3 IS NULL OR effective >= ?3) "
          "AND (?4 IS NULL OR effective < ?4) "
          "AND (?5 IS NULL OR effective < ?5 OR (effective = ?5 AND seq < ?6)) "
          "ORDER BY effective DESC, seq DESC LIMIT ?7"));
  if (f.category) {
    st.Bind(1, fhir::CategoryName(*f.category));
  } else {
    st.BindNull(1);
  }
  if (f.type) {
    st.Bind(2, std::string_view(*f.type));
  } else {
    st.BindNull(2);
  }
  st.Bind(3, f.since).Bind(4, f.until);
  if (f.after) {
    st.Bind(5, f.after->effective).Bind(6, f.after->seq);
  } else {
    st.BindNull(5).BindNull(6);
  }
  st.Bind(7, static_cast<int64_t>(f.limit));
  std::vector<StoredRecord> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(ReadRow(st));
  }
  return out;
}

StatusOr<StoredRecord> SqlCipherCitizenStore::Get(std::string_view type,
                                                  std::string_view id) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT seq, type, id, category, effective, sensitive, "
                   "source, updated_at, resource, codes FROM records "
                   "WHERE type = ?1 AND id = ?2"));
  st.Bind(1, type).Bind(2, id);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such record");
  return ReadRow(st);
}

StatusOr<StoreRows> SqlCipherCitizenStore::ExportRows() {
  StoreRows out;
  out.generation = generation_;
  if (needs_schema_) return out;  // a new file: nothing written yet
  // One snapshot: the write lock keeps other handles' writes out while
  // every table is read (rolled back at the end, nothing being written).
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  TILLIT_ASSIGN_OR_RETURN(out.generation, ReadGeneration(*db_));
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT seq, type, id, category, effective, sensitive, "
                     "source, updated_at, resource, codes FROM records "
                     "ORDER BY seq"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      StoreRows::Record r;
      r.record = ReadRow(st);
      r.record.seq = 0;
      out.records.push_back(std::move(r));
    }
  }
  {
    // Each record's earlier versions, oldest first, matched by (type, id).
    std::map<std::pair<std::string, std::string>, size_t> at;
    for (size_t i = 0; i < out.records.size(); ++i) {
      at[{out.records[i].record.type, out.records[i].record.id}] = i;
    }
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT type, id, version, source, recorded_at, "
                     "superseded_at, superseded_by, note, resource "
                     "FROM record_versions ORDER BY type, id, version"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      auto it = at.find(
          {std::string(st.ColumnText(0)), std::string(st.ColumnText(1))});
      if (it == at.end()) {
        return Status::DataLoss("citizen store of " + citizen_id() +
                                ": a version of a record it does not hold");
      }
      RecordVersion v;
      v.version = st.ColumnInt64(2);
      v.source = std::string(st.ColumnText(3));
      v.recorded_at = st.ColumnInt64(4);
      v.superseded_at = st.ColumnInt64(5);
      v.superseded_by = std::string(st.ColumnText(6));
      v.note = std::string(st.ColumnText(7));
      v.resource = std::string(st.ColumnText(8));
      out.records[it->second].versions.push_back(std::move(v));
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT kind, key, value, updated_at FROM documents "
                     "ORDER BY kind, key"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.documents.push_back(
          {std::string(st.ColumnText(0)), std::string(st.ColumnText(1)),
           std::string(st.ColumnText(2)), st.ColumnInt64(3)});
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare(
            "SELECT kind, key, value FROM index_rows ORDER BY kind, key"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (out.index.empty() || out.index.back().kind != st.ColumnText(0)) {
        out.index.push_back(IndexUpdate{std::string(st.ColumnText(0)), {}});
      }
      out.index.back().rows.push_back(IndexRow{std::string(st.ColumnText(1)),
                                               std::string(st.ColumnText(2))});
    }
  }
  return out;
}

Status SqlCipherCitizenStore::CopyUnderKey(const std::string& dest,
                                           const crypto::SecretBytes& key,
                                           Env* env) {
  storage::Database::Options o;
  o.env = env;
  return db_->CopyTo(dest, &key, o).status();
}

}  // namespace tillit::vault
