#include "sqlite_registry.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "tillit/crypto/constant_time.h"
#include "tillit/vault/vault.h"

namespace tillit::vault {
namespace {

// The registry's first schema, exactly as tillit wrote it before schema
// versions (meta.schema is 1 in every such file and is not read: the
// version is the file's user_version).
constexpr const char* kRegistrySchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1);
CREATE TABLE IF NOT EXISTS citizens (
  id          TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL,
  dek_version INTEGER NOT NULL,
  wrapped_dek BLOB    NOT NULL,   -- envelope under the root keys
  pending_dek BLOB,               -- during a rekey: the next DEK, wrapped
  generation  INTEGER NOT NULL,   -- the citizen file may never be older
  patient_key BLOB UNIQUE         -- keyed hash of the source Patient.id
);
CREATE TABLE IF NOT EXISTS erased (
  id        TEXT PRIMARY KEY,
  erased_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS citizen_index (
  citizen_id TEXT NOT NULL,
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,       -- metadata only, never health data
  PRIMARY KEY (citizen_id, kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS citizen_index_by_kind ON citizen_index (kind);
INSERT OR IGNORE INTO meta (key, value) VALUES ('index_version', 0);
CREATE TABLE IF NOT EXISTS directory (
  kind       TEXT    NOT NULL,    -- "researcher", "study", ...
  id         TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  hash       BLOB PRIMARY KEY,    -- keyed hash; the token itself is never kept
  role       TEXT    NOT NULL,
  principal  TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
)sql";

// The registry's schema history: step i takes version i to i + 1. A new
// step is added here with a test on a directory made by
// scripts/make_format_fixture.sh (docs/OPERATIONS.md).
constexpr storage::SchemaStep kRegistrySteps[] = {
    // 0 to 1: the first schema. IF NOT EXISTS: a registry an older tillit
    // made already has it, and is only stamped.
    [](storage::Database& db) { return db.Exec(kRegistrySchemaV1); },
};
static_assert(std::size(kRegistrySteps) == Vault::kRegistrySchemaVersion);
const storage::SchemaHistory kRegistryHistory{"registry", kRegistrySteps};

std::vector<uint8_t> ToVector(std::span<const uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

}  // namespace

StatusOr<std::unique_ptr<SqliteRegistry>> SqliteRegistry::Open(
    const std::string& path, const crypto::SecretBytes& key, bool create,
    Env* env) {
  storage::Database::Options opts;
  opts.create = create;
  opts.env = env;
  auto db = storage::Database::Open(path, &key, opts, [](storage::Database& d) {
    return d.Migrate(kRegistryHistory);
  });
  if (!db.ok()) return storage::WithOpenContext(db.status(), "registry");
  return std::unique_ptr<SqliteRegistry>(
      new SqliteRegistry(std::move(db).value()));
}

SqliteRegistry::SqliteRegistry(std::unique_ptr<storage::Database> db)
    : db_(std::move(db)), tokens_(db_.get(), &mu_) {}

// ------------------------------------------------------------------- citizens

Status SqliteRegistry::AddCitizen(
    const std::string& citizen_id, int64_t created_at,
    std::span<const uint8_t> wrapped_dek, int64_t generation,
    const std::optional<crypto::Digest>& patient_key) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(
          "INSERT INTO citizens (id, created_at, dek_version, wrapped_dek, "
          "generation, patient_key) VALUES (?1, ?2, 1, ?3, ?4, ?5)"));
  st.Bind(1, citizen_id).Bind(2, created_at).BindBlob(3, wrapped_dek);
  st.Bind(4, generation);
  if (patient_key) {
    st.BindBlob(5, *patient_key);
  } else {
    st.BindNull(5);
  }
  return st.Run();
}

StatusOr<std::vector<std::string>> SqliteRegistry::ListCitizenIds() {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT id FROM citizens ORDER BY created_at, id"));
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.ColumnText(0));
  }
  return out;
}

StatusOr<Registry::WrappedKeys> SqliteRegistry::GetKeys(
    const std::string& citizen_id) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT wrapped_dek, dek_version, pending_dek, "
                   "generation FROM citizens WHERE id = ?1"));
  st.Bind(1, citizen_id);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such citizen");
  WrappedKeys keys;
  keys.citizen_id = citizen_id;
  keys.wrapped_dek = ToVector(st.ColumnBlob(0));
  keys.dek_version = st.ColumnInt64(1);
  if (!st.ColumnIsNull(2)) keys.pending_dek = ToVector(st.ColumnBlob(2));
  keys.generation = st.ColumnInt64(3);
  return keys;
}

Status SqliteRegistry::SetGeneration(const std::string& citizen_id,
                                     int64_t generation,
                                     const std::vector<IndexUpdate>& index,
                                     bool replace_all_index_rows) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  TILLIT_ASSIGN_OR_RETURN(storage::Statement st,
                          db_->Prepare("UPDATE citizens SET generation = ?2 "
                                       "WHERE id = ?1 AND generation < ?2"));
  st.Bind(1, citizen_id).Bind(2, generation);
  TILLIT_RETURN_IF_ERROR(st.Run());
  if (!index.empty() || replace_all_index_rows) {
    TILLIT_RETURN_IF_ERROR(
        ReplaceIndexRows(citizen_id, index, replace_all_index_rows));
  }
  return txn.Commit();
}

// ------------------------------------------------------------------ data keys

Status SqliteRegistry::SetPendingKey(const std::string& citizen_id,
                                     std::span<const uint8_t> wrapped) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement up,
      db_->Prepare("UPDATE citizens SET pending_dek = ?2 WHERE id = ?1"));
  up.Bind(1, citizen_id).BindBlob(2, wrapped);
  TILLIT_RETURN_IF_ERROR(up.Run());
  if (db_->Changes() != 1) return Status::NotFound("no such citizen");
  return Status::Ok();
}

Status SqliteRegistry::PromotePendingKey(
    const std::string& citizen_id, std::optional<int64_t> expected_version) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("UPDATE citizens SET wrapped_dek = pending_dek, "
                   "pending_dek = NULL, dek_version = dek_version + 1 "
                   "WHERE id = ?1 AND pending_dek IS NOT NULL "
                   "AND (?2 IS NULL OR dek_version = ?2)"));
  st.Bind(1, citizen_id).Bind(2, expected_version);
  return st.Run();
}

Status SqliteRegistry::RewrapAllKeys(const Rewrap& rewrap) {
  MutexLock lock(&mu_);
  {
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
    std::vector<WrappedKeys> rows;
    {
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          db_->Prepare("SELECT id, dek_version, wrapped_dek, pending_dek, "
                       "generation FROM citizens"));
      for (;;) {
        TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        WrappedKeys r;
        r.citizen_id = std::string(st.ColumnText(0));
        r.dek_version = st.ColumnInt64(1);
        r.wrapped_dek = ToVector(st.ColumnBlob(2));
        if (!st.ColumnIsNull(3)) r.pending_dek = ToVector(st.ColumnBlob(3));
        r.generation = st.ColumnInt64(4);
        rows.push_back(std::move(r));
      }
    }
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement update,
        db_->Prepare("UPDATE citizens SET wrapped_dek = ?2, "
                     "pending_dek = ?3 WHERE id = ?1"));
    for (const WrappedKeys& r : rows) {
      TILLIT_ASSIGN_OR_RETURN(WrappedKeys next, rewrap(r));
      update.Bind(1, r.citizen_id).BindBlob(2, next.wrapped_dek);
      if (next.pending_dek) {
        update.BindBlob(3, *next.pending_dek);
      } else {
        update.BindNull(3);
      }
      TILLIT_RETURN_IF_ERROR(update.Run());
    }
    TILLIT_RETURN_IF_ERROR(txn.Commit());
  }
  // The old envelopes are in the WAL until it is copied back and reset.
  return db_->Checkpoint();
}

// -------------------------------------------------------------------- erasure

Status SqliteRegistry::EraseCitizen(const std::string& citizen_id,
                                    int64_t erased_at) {
  MutexLock lock(&mu_);
  {
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
    TILLIT_ASSIGN_OR_RETURN(storage::Statement del,
                            db_->Prepare("DELETE FROM citizens WHERE id = ?1"));
    del.Bind(1, citizen_id);
    TILLIT_RETURN_IF_ERROR(del.Run());
    if (db_->Changes() != 1) return Status::NotFound("no such citizen");
    TILLIT_RETURN_IF_ERROR(ReplaceIndexRows(citizen_id, {}, true));
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement tomb,
        db_->Prepare(
            "INSERT OR REPLACE INTO erased (id, erased_at) VALUES (?1, ?2)"));
    tomb.Bind(1, citizen_id).Bind(2, erased_at);
    TILLIT_RETURN_IF_ERROR(tomb.Run());
    TILLIT_RETURN_IF_ERROR(txn.Commit());
  }
  // The wrapped key is in the WAL until it is copied back and reset.
  return db_->Checkpoint();
}

StatusOr<bool> SqliteRegistry::IsErased(const std::string& citizen_id) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Statement st,
                          db_->Prepare("SELECT 1 FROM erased WHERE id = ?1"));
  st.Bind(1, citizen_id);
  return st.Step();
}

StatusOr<std::vector<std::string>> SqliteRegistry::ListErased() {
  MutexLock lock(&mu_);
  std::vector<std::string> out;
  TILLIT_ASSIGN_OR_RETURN(storage::Statement st,
                          db_->Prepare("SELECT id FROM erased ORDER BY id"));
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.ColumnText(0));
  }
  return out;
}

// ------------------------------------------------------------ source Patients

StatusOr<std::optional<std::string>> SqliteRegistry::FindPatient(
    const crypto::Digest& key) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT id FROM citizens WHERE patient_key = ?1"));
  st.BindBlob(1, key);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.ColumnText(0)));
}

Status SqliteRegistry::LinkPatient(const std::string& citizen_id,
                                   const crypto::Digest& key) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT id, patient_key FROM citizens WHERE "
                     "id = ?1 OR patient_key = ?2"));
    st.Bind(1, citizen_id).BindBlob(2, key);
    bool found = false;
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (st.ColumnText(0) != citizen_id) {
        return Status::InvalidArgument(
            "the document's Patient belongs to another citizen");
      }
      found = true;
      if (!st.ColumnIsNull(1) &&
          !crypto::ConstantTimeEquals(st.ColumnBlob(1), key)) {
        return Status::InvalidArgument(
            "the citizen is already linked to a different Patient");
      }
    }
    if (!found) return Status::NotFound("no such citizen");
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement link,
      db_->Prepare("UPDATE citizens SET patient_key = ?2 "
                   "WHERE id = ?1 AND patient_key IS NULL"));
  link.Bind(1, citizen_id).BindBlob(2, key);
  TILLIT_RETURN_IF_ERROR(link.Run());
  return txn.Commit();
}

// ---------------------------------------------------------------------- index

Status SqliteRegistry::ReplaceIndexRows(const std::string& citizen_id,
                                        const std::vector<IndexUpdate>& updates,
                                        bool all_kinds) {
  if (all_kinds) {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement del,
        db_->Prepare("DELETE FROM citizen_index WHERE citizen_id = ?1"));
    del.Bind(1, citizen_id);
    TILLIT_RETURN_IF_ERROR(del.Run());
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement del_kind,
      db_->Prepare(
          "DELETE FROM citizen_index WHERE citizen_id = ?1 AND kind = ?2"));
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement add,
      db_->Prepare("INSERT INTO citizen_index (citizen_id, kind, key, "
                   "value) VALUES (?1, ?2, ?3, ?4)"));
  for (const IndexUpdate& u : updates) {
    if (!all_kinds) {
      del_kind.Bind(1, citizen_id).Bind(2, u.kind);
      TILLIT_RETURN_IF_ERROR(del_kind.Run());
    }
    for (const IndexRow& row : u.rows) {
      add.Bind(1, citizen_id)
          .Bind(2, u.kind)
          .Bind(3, row.key)
          .Bind(4, row.value);
      TILLIT_RETURN_IF_ERROR(add.Run());
    }
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement bump,
      db_->Prepare(
          "UPDATE meta SET value = value + 1 WHERE key = 'index_version'"));
  return bump.Run();
}

StatusOr<std::vector<IndexEntry>> SqliteRegistry::ReadIndex(
    std::string_view kind) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT citizen_id, key, value FROM citizen_index "
                   "WHERE kind = ?1 ORDER BY citizen_id, key"));
  st.Bind(1, kind);
  std::vector<IndexEntry> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(IndexEntry{std::string(st.ColumnText(0)),
                             std::string(st.ColumnText(1)),
                             std::string(st.ColumnText(2))});
  }
  return out;
}

StatusOr<int64_t> SqliteRegistry::IndexVersion() {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT value FROM meta WHERE key = 'index_version'"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

// ------------------------------------------------------------------ directory

Status SqliteRegistry::PutDirectoryEntry(std::string_view kind,
                                         std::string_view id,
                                         std::string_view value,
                                         int64_t created_at) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(
          "INSERT INTO directory (kind, id, value, created_at) VALUES (?1, ?2, "
          "?3, ?4)"));
  st.Bind(1, kind).Bind(2, id).Bind(3, value).Bind(4, created_at);
  return st.Run();
}

StatusOr<std::string> SqliteRegistry::GetDirectoryEntry(std::string_view kind,
                                                        std::string_view id) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT value FROM directory WHERE kind = ?1 AND id = ?2"));
  st.Bind(1, kind).Bind(2, id);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such entry");
  return std::string(st.ColumnText(0));
}

StatusOr<std::vector<std::pair<std::string, std::string>>>
SqliteRegistry::ListDirectory(std::string_view kind) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT id, value FROM directory WHERE kind = ?1 "
                   "ORDER BY created_at, id"));
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

// ------------------------------------------------------------------ transfer

StatusOr<RegistryRows> SqliteRegistry::ExportRows() {
  MutexLock lock(&mu_);
  RegistryRows out;
  // One snapshot (the write lock, rolled back: nothing is written).
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT id, created_at, dek_version, wrapped_dek, "
                     "pending_dek, generation, patient_key FROM citizens "
                     "ORDER BY id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      RegistryRows::Citizen c;
      c.id = std::string(st.ColumnText(0));
      c.created_at = st.ColumnInt64(1);
      c.dek_version = st.ColumnInt64(2);
      const auto wrapped = st.ColumnBlob(3);
      c.wrapped_dek.assign(wrapped.begin(), wrapped.end());
      if (!st.ColumnIsNull(4)) {
        const auto pending = st.ColumnBlob(4);
        c.pending_dek.emplace(pending.begin(), pending.end());
      }
      c.generation = st.ColumnInt64(5);
      if (!st.ColumnIsNull(6)) {
        const auto key = st.ColumnBlob(6);
        if (key.size() != crypto::Digest().size()) {
          return Status::DataLoss("registry: a Patient key of the wrong size");
        }
        c.patient_key.emplace();
        std::copy(key.begin(), key.end(), c.patient_key->begin());
      }
      out.citizens.push_back(std::move(c));
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT id, erased_at FROM erased ORDER BY id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.erased.push_back({std::string(st.ColumnText(0)), st.ColumnInt64(1)});
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT kind, id, value, created_at FROM directory "
                     "ORDER BY kind, id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.directory.push_back(
          {std::string(st.ColumnText(0)), std::string(st.ColumnText(1)),
           std::string(st.ColumnText(2)), st.ColumnInt64(3)});
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT hash, role, principal, created_at, expires_at, "
                     "revoked_at FROM tokens ORDER BY hash"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      RegistryRows::Token t;
      const auto hash = st.ColumnBlob(0);
      if (hash.size() != t.hash.size()) {
        return Status::DataLoss("registry: a token hash of the wrong size");
      }
      std::copy(hash.begin(), hash.end(), t.hash.begin());
      t.role = std::string(st.ColumnText(1));
      t.principal = std::string(st.ColumnText(2));
      t.created_at = st.ColumnInt64(3);
      t.expires_at = st.ColumnInt64(4);
      if (!st.ColumnIsNull(5)) t.revoked_at = st.ColumnInt64(5);
      out.tokens.push_back(std::move(t));
    }
  }
  return out;
}

Status SqliteRegistry::ImportRows(const RegistryRows& rows) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT (SELECT count(*) FROM citizens) + "
                     "(SELECT count(*) FROM erased) + "
                     "(SELECT count(*) FROM directory) + "
                     "(SELECT count(*) FROM tokens)"));
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.ColumnInt64(0) != 0) {
      return Status::FailedPrecondition(
          "the registry is not empty; rows are only imported into a new one");
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO citizens (id, created_at, dek_version, "
                     "wrapped_dek, pending_dek, generation, patient_key) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
    for (const RegistryRows::Citizen& c : rows.citizens) {
      st.Bind(1, c.id).Bind(2, c.created_at).Bind(3, c.dek_version);
      st.BindBlob(4, c.wrapped_dek);
      if (c.pending_dek) {
        st.BindBlob(5, *c.pending_dek);
      } else {
        st.BindNull(5);
      }
      st.Bind(6, c.generation);
      if (c.patient_key) {
        st.BindBlob(7, *c.patient_key);
      } else {
        st.BindNull(7);
      }
      TILLIT_RETURN_IF_ERROR(st.Run());
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO erased (id, erased_at) VALUES (?1, ?2)"));
    for (const RegistryRows::Tombstone& t : rows.erased) {
      st.Bind(1, t.id).Bind(2, t.erased_at);
      TILLIT_RETURN_IF_ERROR(st.Run());
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO directory (kind, id, value, created_at) "
                     "VALUES (?1, ?2, ?3, ?4)"));
    for (const RegistryRows::DirectoryEntry& d : rows.directory) {
      st.Bind(1, d.kind).Bind(2, d.id).Bind(3, d.value).Bind(4, d.created_at);
      TILLIT_RETURN_IF_ERROR(st.Run());
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare(
            "INSERT INTO tokens (hash, role, principal, created_at, "
            "expires_at, revoked_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    for (const RegistryRows::Token& t : rows.tokens) {
      st.BindBlob(1, t.hash).Bind(2, t.role).Bind(3, t.principal);
      st.Bind(4, t.created_at).Bind(5, t.expires_at).Bind(6, t.revoked_at);
      TILLIT_RETURN_IF_ERROR(st.Run());
    }
  }
  return txn.Commit();
}

// ----------------------------------------------------------------------- copy

StatusOr<std::unique_ptr<storage::Database>> SqliteRegistry::CopyTo(
    const std::string& dest, const crypto::SecretBytes& key,
    const storage::Database::Options& out) {
  MutexLock lock(&mu_);
  return db_->CopyTo(dest, &key, out);
}

}  // namespace tillit::vault
