#include "tillit/storage/database.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "env_vfs.h"
#include "tillit/crypto/encoding.h"

namespace tillit::storage {
namespace {

// Refuses what SPEC §8 says a keyed connection must never run again.
int DenyDangerous(void*, int action, const char* arg1, const char* arg2,
                  const char*, const char*) {
  switch (action) {
    case SQLITE_PRAGMA:
      // Reading data_version (ContentVersion) or user_version
      // (SchemaVersion) is harmless; nothing else, and no pragma's writing.
      return arg1 != nullptr && arg2 == nullptr &&
                     (sqlite3_stricmp(arg1, "data_version") == 0 ||
                      sqlite3_stricmp(arg1, "user_version") == 0)
                 ? SQLITE_OK
                 : SQLITE_DENY;
    case SQLITE_ATTACH:
    case SQLITE_DETACH:
    case SQLITE_CREATE_VTABLE:
    case SQLITE_DROP_VTABLE:
      return SQLITE_DENY;
    case SQLITE_FUNCTION: {
      // arg2 is the function name.
      const char* fn = arg2 != nullptr ? arg2 : arg1;
      if (fn != nullptr && (sqlite3_stricmp(fn, "load_extension") == 0 ||
                            sqlite3_stricmp(fn, "fts3_tokenizer") == 0)) {
        return SQLITE_DENY;
      }
      return SQLITE_OK;
    }
    default:
      return SQLITE_OK;
  }
}

bool IsCorruption(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT;
}

// Builds the raw-key string x'<64 hex>' in secure memory, NUL-terminated:
// size() is the literal length + 1.
crypto::SecretBytes RawKeyLiteral(const crypto::SecretBytes& key) {
  const crypto::SecretBytes hex = crypto::HexEncodeSecret(key);
  crypto::SecretBytes lit = crypto::SecretBytes::Allocate(hex.size() + 4);
  uint8_t* p = lit.ExposeSecret();
  p[0] = 'x';
  p[1] = '\'';
  if (!hex.empty()) std::memcpy(p + 2, hex.ExposeSecret(), hex.size());
  p[2 + hex.size()] = '\'';
  // Allocate zero-filled the buffer, so the last byte is the NUL.
  return lit;
}

// The database file's name without its directories, for messages.
std::string FileName(sqlite3* db) {
  const char* path = sqlite3_db_filename(db, "main");
  if (path == nullptr || *path == '\0') return "(temporary database)";
  return std::filesystem::path(path).filename().string();
}

}  // namespace

// ---------------------------------------------------------------- Statement

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Statement::~Statement() {
  if (stmt_ != nullptr) db_->Release(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok())
    bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_, index, text.data(),
                             static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok())
    bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::BindBlob(int index, std::span<const uint8_t> blob) {
  int rc = sqlite3_bind_blob(stmt_, index, blob.data(),
                             static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_.ok())
    bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::BindNull(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok())
    bind_status_ = db_->Error(rc, "bind");
  return *this;
}

Statement& Statement::Bind(int index, const std::optional<int64_t>& value) {
  return value.has_value() ? Bind(index, *value) : BindNull(index);
}

StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  if ((rc & 0xff) == SQLITE_ERROR) {
    // Our statements are constant and were prepared successfully; under
    // SQLCipher 3.4 a page whose HMAC does not verify surfaces here as a
    // generic error.
    return Status::DataLoss(
        "store could not be read: a page is altered or damaged");
  }
  return db_->Error(rc, "statement");
}

Status Statement::Run() {
  for (;;) {
    StatusOr<bool> row = Step();
    if (!row.ok() || !*row) {
      Reset();
      return row.status();
    }
  }
}

void Statement::Reset() {
  sqlite3_reset(stmt_);
  bind_status_ = Status::Ok();
}

int64_t Statement::ColumnInt64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

bool Statement::ColumnIsNull(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

std::string_view Statement::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(n)};
}

std::span<const uint8_t> Statement::ColumnBlob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr) return {};
  return {static_cast<const uint8_t*>(p), static_cast<size_t>(n)};
}

// ----------------------------------------------------------------- Database

StatusOr<std::unique_ptr<Database>> Database::Open(
    const std::string& path, const crypto::SecretBytes* key,
    const Options& options, const SetupFn& setup) {
  std::error_code ec;
  if (!options.create && !std::filesystem::exists(path, ec)) {
    return Status::NotFound("database file does not exist");
  }
  if (key != nullptr && key->size() != 32) {
    return Status::InvalidArgument("database key must be 32 bytes");
  }
  if (options.cache_kib < 0) {
    return Status::InvalidArgument("page cache size must not be negative");
  }
  // SQLite counts every allocation under one process-wide mutex unless
  // told not to; with a thread per connection that mutex was the most
  // contended lock in the server. It must be set before SQLite starts
  // (if something started it first, the call fails and nothing changes).
  static std::once_flag memstatus_off;
  std::call_once(memstatus_off,
                 [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
              (options.create ? SQLITE_OPEN_CREATE : 0);
  const bool existed = std::filesystem::exists(path, ec);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, EnvVfsName(options.env));
  std::unique_ptr<Database> db(new Database(raw));
  if (rc != SQLITE_OK) {
    return Status::IoError("cannot open database file");
  }
  // SQLite creates files 0644 (less the umask), and its -wal and -shm
  // files copy the database's mode: owner-only before either exists.
  if (!existed && ::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0) {
    return Status::IoError(
        "cannot restrict the new database file to its owner");
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);

  if (key != nullptr) {
    crypto::SecretBytes lit = RawKeyLiteral(*key);
    rc = sqlite3_key(raw, lit.ExposeSecret(), static_cast<int>(lit.size() - 1));
    if (rc != SQLITE_OK) return Status::Internal("sqlite3_key failed");
    TILLIT_RETURN_IF_ERROR(db->Exec("PRAGMA cipher_page_size = 4096"));
  }
  // Probe, settings and schema. Another connection closing a WAL database
  // (checkpoint, removal of the log) can make these fail with SQLITE_BUSY
  // without SQLite's busy handler being consulted, so they are retried
  // until the busy timeout has passed.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(options.busy_timeout_ms);
  for (int attempt = 0;; ++attempt) {
    Status s = db->Initialise(options, setup);
    if (s.ok()) break;
    if (s.code() != StatusCode::kResourceExhausted ||
        std::chrono::steady_clock::now() >= deadline) {
      return s;
    }
    if (sqlite3_get_autocommit(raw) == 0) {
      sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
  }
  // SQLite syncs a new database file's content, never its directory
  // entry: without this a power cut could lose a file already in use.
  if (!existed) {
    TILLIT_RETURN_IF_ERROR(options.env->SyncDirectory(DirectoryOf(path)));
  }
  if (options.read_only) {
    // Integrity mode: the caller runs only VerifyFile's checks.
    return db;
  }
  sqlite3_set_authorizer(raw, DenyDangerous, nullptr);
  db->guarded_ = true;
  return db;
}

Status Database::Initialise(const Options& options, const SetupFn& setup) {
  // A wrong key or a damaged first page shows on the first read.
  int rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr,
                        nullptr, nullptr);
  if (rc != SQLITE_OK) {
    if (IsCorruption(rc)) {
      return Status::DataLoss(
          "database cannot be opened: wrong key, or the file is damaged or "
          "not a tillit store");
    }
    return Error(rc, "open");
  }
  TILLIT_RETURN_IF_ERROR(Exec("PRAGMA secure_delete = ON"));
  TILLIT_RETURN_IF_ERROR(Exec("PRAGMA temp_store = MEMORY"));
  TILLIT_RETURN_IF_ERROR(Exec("PRAGMA journal_mode = WAL"));
  TILLIT_RETURN_IF_ERROR(Exec("PRAGMA synchronous = FULL"));
  TILLIT_RETURN_IF_ERROR(Exec("PRAGMA foreign_keys = ON"));
  if (options.cache_kib > 0) {
    // A number we format ourselves: not SQL from outside.
    const std::string sql =
        "PRAGMA cache_size = -" + std::to_string(options.cache_kib);
    rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "cache_size");
  }
  rc = sqlite3_wal_autocheckpoint(db_, options.wal_autocheckpoint_pages);
  if (rc != SQLITE_OK) return Error(rc, "wal_autocheckpoint");
  if (!options.read_only && setup) TILLIT_RETURN_IF_ERROR(setup(*this));
  return Status::Ok();
}

Status Database::VerifyFile(const std::string& path,
                            const crypto::SecretBytes* key) {
  Options options;
  options.read_only = true;
  TILLIT_ASSIGN_OR_RETURN(auto db, Open(path, key, options));
  sqlite3_stmt* stmt = nullptr;
  int rc =
      sqlite3_prepare_v2(db->db_, "PRAGMA integrity_check", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return db->Error(rc, "integrity check");
  Status result;
  for (;;) {
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      if (text == nullptr ||
          std::strcmp(reinterpret_cast<const char*>(text), "ok") != 0) {
        result = Status::DataLoss("integrity check failed: store is damaged");
      }
      continue;
    }
    if (rc != SQLITE_DONE) {
      result = (IsCorruption(rc) || (rc & 0xff) == SQLITE_ERROR)
                   ? Status::DataLoss(
                         "integrity check failed: a page is altered or "
                         "damaged")
                   : db->Error(rc, "integrity check");
    }
    break;
  }
  sqlite3_finalize(stmt);
  return result;
}

Database::~Database() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  if (db_ != nullptr) sqlite3_close_v2(db_);
}

StatusOr<Statement> Database::Prepare(const char* sql) {
  auto it = cache_.find(std::string_view(sql));
  if (it != cache_.end()) {
    sqlite3_stmt* stmt = it->second;
    cache_.erase(it);
    return Statement(this, stmt);
  }
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    if (stmt != nullptr) sqlite3_finalize(stmt);
    return Error(rc, "prepare");
  }
  return Statement(this, stmt);
}

void Database::Release(sqlite3_stmt* stmt) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  // A twin already idle in the cache (the same SQL was prepared twice while
  // in use) is kept; this one is finalised.
  if (!cache_.emplace(std::string(sqlite3_sql(stmt)), stmt).second) {
    sqlite3_finalize(stmt);
  }
}

Status Database::Exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "exec");
  return Status::Ok();
}

StatusOr<Database::Transaction> Database::Begin() {
  TILLIT_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  return Transaction(this);
}

Database::Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_->db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Database::Transaction::Commit() {
  Status s = db_->Exec("COMMIT");
  if (s.ok()) done_ = true;
  return s;
}

Status Database::Rekey(const crypto::SecretBytes& new_key) {
  if (new_key.size() != 32) {
    return Status::InvalidArgument("database key must be 32 bytes");
  }
  // SQLCipher cannot rekey a WAL database in place; switch to a rollback
  // journal for the rewrite and back afterwards. These PRAGMAs are ours, so
  // lift the authorizer for the duration.
  sqlite3_set_authorizer(db_, nullptr, nullptr);
  // SQLite answers a journal-mode change it could not make (the WAL could
  // not be checkpointed or removed: a disk error) with the mode it stayed
  // in, not an error: rekeying a WAL database then leaves pages under two
  // keys. Only a confirmed switch goes on.
  Status s;
  {
    auto st = Prepare("PRAGMA journal_mode = DELETE");
    if (!st.ok()) {
      s = st.status();
    } else {
      auto row = st->Step();
      if (!row.ok()) {
        s = row.status();
      } else if (!*row || st->ColumnText(0) != "delete") {
        s = Status::IoError(
            "rekey: the database could not leave WAL mode (a disk error?); "
            "nothing was changed");
      }
    }
  }
  if (s.ok()) {
    crypto::SecretBytes lit = RawKeyLiteral(new_key);
    int rc = sqlite3_rekey(db_, lit.ExposeSecret(),
                           static_cast<int>(lit.size() - 1));
    if (rc != SQLITE_OK) s = Error(rc, "rekey");
  }
  Status back = Exec("PRAGMA journal_mode = WAL");
  sqlite3_set_authorizer(db_, DenyDangerous, nullptr);
  if (!s.ok()) return s;
  return back;
}

Status Database::Checkpoint() {
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                     nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "checkpoint");
  return Status::Ok();
}

StatusOr<int> Database::CheckpointPassive() {
  int frames = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     &frames, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "checkpoint");
  return frames;
}

StatusOr<std::unique_ptr<Database>> Database::CopyTo(
    const std::string& dest, const crypto::SecretBytes* key,
    Options dest_options) {
  std::error_code ec;
  if (std::filesystem::exists(dest, ec) || ec) {
    return Status::AlreadyExists("the copy's file already exists");
  }
  dest_options.create = true;
  dest_options.read_only = false;
  Env* const env = dest_options.env;
  auto remove_copy = [env, &dest] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
      (void)env->RemoveFile(dest + suffix);
  };
  StatusOr<std::unique_ptr<Database>> copy = Open(dest, key, dest_options);
  if (!copy.ok()) {
    remove_copy();
    return copy.status().WithContext("copy");
  }
  sqlite3_backup* backup =
      sqlite3_backup_init((*copy)->db_, "main", db_, "main");
  if (backup == nullptr) {
    Status s = (*copy)->Error(sqlite3_errcode((*copy)->db_), "copy");
    copy->reset();
    remove_copy();
    return s;
  }
  // All pages in one step: one read transaction on the source, so one
  // snapshot. A writer holding the source's lock makes the step BUSY.
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(dest_options.busy_timeout_ms);
  int rc = SQLITE_OK;
  for (int attempt = 0;; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + attempt % 10));
  }
  const int finish = sqlite3_backup_finish(backup);
  Status s;
  if (rc != SQLITE_DONE) {
    s = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED
            ? Status::ResourceExhausted(
                  "copy: the database stayed busy; try again")
            : (*copy)->Error(rc, "copy");
  } else if (finish != SQLITE_OK) {
    s = (*copy)->Error(finish, "copy");
  }
  if (!s.ok()) {
    copy->reset();
    remove_copy();
    return s;
  }
  return copy;
}

// ----------------------------------------------------------- schema versions

Status WithOpenContext(const Status& s, std::string_view context) {
  if (s.code() == StatusCode::kFailedPrecondition) return s;
  return s.WithContext(context);
}

StatusOr<int64_t> Database::SchemaVersion() {
  TILLIT_ASSIGN_OR_RETURN(Statement st, Prepare("PRAGMA user_version"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("PRAGMA user_version returned nothing");
  return st.ColumnInt64(0);
}

Status Database::CheckSchemaVersion(const SchemaHistory& history,
                                    int64_t version) const {
  if (version >= 0 && version <= history.current()) return Status::Ok();
  std::string msg(history.what);
  msg += " at ";
  msg += FileName(db_);
  msg += ": format ";
  msg += std::to_string(version);
  if (version < 0) {
    msg += " is not a tillit format";
    return Status::DataLoss(std::move(msg));
  }
  msg += " is newer than this tillit supports (";
  msg += std::to_string(history.current());
  msg += "); upgrade tillit";
  return Status::FailedPrecondition(std::move(msg));
}

Status Database::WriteSchemaVersion(int64_t version) {
  // A pragma takes no bound parameters. `version` is a step number of this
  // program's own history, never input.
  std::string sql = "PRAGMA user_version = ";
  sql += std::to_string(version);
  if (guarded_) sqlite3_set_authorizer(db_, nullptr, nullptr);
  Status s = Exec(sql.c_str());
  if (guarded_) sqlite3_set_authorizer(db_, DenyDangerous, nullptr);
  return s;
}

Status Database::RunSchemaStep(const SchemaHistory& history, int64_t version) {
  Status s = history.steps[static_cast<size_t>(version)](*this);
  if (!s.ok()) {
    std::string context(history.what);
    context += " at ";
    context += FileName(db_);
    context += ": upgrading format ";
    context += std::to_string(version);
    context += " to ";
    context += std::to_string(version + 1);
    return s.WithContext(context);
  }
  return WriteSchemaVersion(version + 1);
}

Status Database::Migrate(const SchemaHistory& history) {
  TILLIT_ASSIGN_OR_RETURN(int64_t version, SchemaVersion());
  TILLIT_RETURN_IF_ERROR(CheckSchemaVersion(history, version));
  while (version < history.current()) {
    TILLIT_ASSIGN_OR_RETURN(Transaction txn, Begin());
    // Read again under the write lock: another connection may have
    // upgraded the file since.
    TILLIT_ASSIGN_OR_RETURN(version, SchemaVersion());
    TILLIT_RETURN_IF_ERROR(CheckSchemaVersion(history, version));
    if (version == history.current()) break;  // rolled back: nothing written
    TILLIT_RETURN_IF_ERROR(RunSchemaStep(history, version));
    TILLIT_RETURN_IF_ERROR(txn.Commit());
    ++version;
  }
  return Status::Ok();
}

Status Database::MigrateInTransaction(const SchemaHistory& history) {
  if (sqlite3_get_autocommit(db_) != 0) {
    return Status::Internal("MigrateInTransaction outside a transaction");
  }
  TILLIT_ASSIGN_OR_RETURN(int64_t version, SchemaVersion());
  TILLIT_RETURN_IF_ERROR(CheckSchemaVersion(history, version));
  for (; version < history.current(); ++version) {
    TILLIT_RETURN_IF_ERROR(RunSchemaStep(history, version));
  }
  return Status::Ok();
}

int64_t Database::LastInsertRowId() const {
  return sqlite3_last_insert_rowid(db_);
}

int Database::Changes() const { return sqlite3_changes(db_); }

int64_t Database::PageCacheBytes() const {
  int current = 0;
  int highwater = 0;
  if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_USED, &current, &highwater,
                        0) != SQLITE_OK) {
    return 0;
  }
  return current;
}

Database::Database(sqlite3* db)
    : db_(db), serial_([] {
        static std::atomic<uint64_t> next{1};
        return next.fetch_add(1, std::memory_order_relaxed);
      }()) {}

StatusOr<Database::Version> Database::ContentVersion() {
  TILLIT_ASSIGN_OR_RETURN(Statement st, Prepare("PRAGMA data_version"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Internal("PRAGMA data_version returned nothing");
  return Version{serial_, st.ColumnInt64(0), sqlite3_total_changes(db_)};
}

Status Database::Error(int rc, std::string_view what) const {
  std::string msg(what);
  msg += ": ";
  msg += sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  if (IsCorruption(rc)) return Status::DataLoss(msg);
  if (primary == SQLITE_AUTH) return Status::PermissionDenied(msg);
  if (primary == SQLITE_CONSTRAINT) return Status::AlreadyExists(msg);
  if (primary == SQLITE_FULL || primary == SQLITE_IOERR ||
      primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY) {
    return Status::IoError(msg);
  }
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
    return Status::ResourceExhausted(msg);
  }
  if (primary == SQLITE_TOOBIG || primary == SQLITE_NOMEM) {
    return Status::ResourceExhausted(msg);
  }
  return Status::Internal(msg);
}

}  // namespace tillit::storage
