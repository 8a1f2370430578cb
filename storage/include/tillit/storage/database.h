// Database: one SQLCipher connection, hardened as SPEC §8 requires.
//
// Open() keys the connection with a raw 256-bit key through sqlite3_key (the
// key never appears in SQL text), sets cipher_page_size = 4096, probes the
// first page (a wrong key or a damaged header shows here, as DataLoss),
// then turns on secure_delete, synchronous = FULL, WAL and in-memory
// temporary storage, runs the caller's `setup` (schema creation and
// migrations), syncs the directory of a file it created (SQLite never
// does, so a power cut could lose the new file's entry), and finally installs
// an authorizer that refuses ATTACH, DETACH, PRAGMA, virtual tables and
// extension loading for the rest of the connection's life. Only statements with
// bound parameters are used: no SQL text is ever built from input.
//
// Every kind of database keeps its schema version in the file's header
// (PRAGMA user_version) and describes its history in a SchemaHistory; the
// setup function calls Migrate, which refuses a file newer than this
// program and upgrades an older one a step at a time.
//
// A Database opened without a key is a plain SQLite file (same engine, same
// pipeline); it exists only so benchmarks can measure the cost of
// encryption.
//
// Thread-safety: a Database and its Statements must be used by one thread
// at a time (the owner serialises access).
#ifndef TILLIT_STORAGE_DATABASE_H_
#define TILLIT_STORAGE_DATABASE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

struct sqlite3;
struct sqlite3_stmt;

namespace tillit::storage {

class Database;

// One step of a schema's history: changes the schema from version N to
// N + 1 with constant SQL (no PRAGMA). It runs inside the transaction that
// stamps N + 1, so it is all or nothing.
using SchemaStep = Status (*)(Database& db);

// The schema versions of one kind of database. Version 0 is a file no
// tillit has stamped: a new one, or one made before schema versions
// existed. steps[i] takes version i to i + 1, so the current version is
// steps.size(); the first step creates the first schema with IF NOT EXISTS,
// which also stamps an older tillit's file without changing it.
struct SchemaHistory {
  std::string_view what;              // names the database: "registry"
  std::span<const SchemaStep> steps;  // steps[i]: version i to i + 1
  int64_t current() const { return static_cast<int64_t>(steps.size()); }
};

// The error of opening a database with `context` ("registry") prefixed,
// except Migrate's refusal of a newer file (FailedPrecondition), whose
// message already names the database and its file.
Status WithOpenContext(const Status& s, std::string_view context);

// A prepared statement borrowed from the Database's cache. Parameters are
// numbered from 1, columns from 0. On destruction it is reset and returned.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::span<const uint8_t> blob);
  Statement& BindNull(int index);
  Statement& Bind(int index, const std::optional<int64_t>& value);

  // true: a row is available; false: done. Errors are statuses.
  StatusOr<bool> Step();
  // Runs to completion (rows are discarded) and resets the statement so it
  // can be bound and run again.
  Status Run();
  // Makes the statement ready to run again; bindings are kept.
  void Reset();

  int64_t ColumnInt64(int col) const;
  bool ColumnIsNull(int col) const;
  // Valid until the next Step() or destruction.
  std::string_view ColumnText(int col) const;
  std::span<const uint8_t> ColumnBlob(int col) const;

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Database* db_;
  sqlite3_stmt* stmt_;
  Status bind_status_;
};

class Database {
 public:
  struct Options {
    bool create = false;  // create the file if missing
    // When true, the connection is opened for integrity checking only: no
    // authorizer is installed until IntegrityCheck() has run.
    bool read_only = false;
    int busy_timeout_ms = 10000;
    // WAL pages after which a commit copies the log back into the file.
    // More means fewer, larger checkpoints: fewer rewrites of pages that
    // every commit touches (an append-only log's last pages).
    int wal_autocheckpoint_pages = 1000;  // SQLite's default
    // The most memory the connection's page cache may hold, in KiB
    // (PRAGMA cache_size = -N); 0 keeps SQLite's default of 2,000 KiB. A
    // process that keeps many databases open bounds its memory with this:
    // each connection's cache fills up to the limit as its file grows.
    int cache_kib = 0;
    // Every creation, write, truncation and fsync SQLite makes to the
    // database, its journal and its WAL is announced to `env` first
    // (Env::WillChangeInPlace), which may refuse it: for tests that fail
    // I/O or cut the power. The real Env costs nothing (not interposed).
    Env* env = Env::Default();
  };
  using SetupFn = std::function<Status(Database&)>;

  // `key` must be 32 bytes, or null for a plain (unencrypted) database.
  // Errors: NotFound (no file and !create), DataLoss (wrong key, not a
  // database, or damaged), IoError.
  static StatusOr<std::unique_ptr<Database>> Open(
      const std::string& path, const crypto::SecretBytes* key,
      const Options& options, const SetupFn& setup = nullptr);

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // REQUIRES: `sql` is a compile-time constant of this program.
  StatusOr<Statement> Prepare(const char* sql);
  // Runs constant SQL without parameters (schema, BEGIN/COMMIT).
  Status Exec(const char* sql);

  // BEGIN IMMEDIATE ... COMMIT. Rolled back unless Commit() succeeds.
  class Transaction {
   public:
    ~Transaction();
    Status Commit();
    Transaction(Transaction&& o) noexcept : db_(o.db_), done_(o.done_) {
      o.done_ = true;
    }

   private:
    friend class Database;
    explicit Transaction(Database* db) : db_(db) {}
    Database* db_;
    bool done_ = false;
  };
  StatusOr<Transaction> Begin();

  // The file's schema version (PRAGMA user_version); 0 when never stamped.
  StatusOr<int64_t> SchemaVersion();
  // Brings the file to `history`'s current version: each missing step runs
  // in its own transaction, which also stamps the version it reaches, so a
  // failing step leaves the file at the version before it. A file already
  // current is not written. Meant for Open's `setup`.
  // Errors: FailedPrecondition for a file newer than `history` ("<what> at
  // <file name>: format N is newer than this tillit supports (M); upgrade
  // tillit"), nothing written; DataLoss for a negative version; a step's
  // own error, with the versions it was between.
  Status Migrate(const SchemaHistory& history);
  // As Migrate, but every missing step runs inside the caller's
  // transaction: for a new file whose schema is written with its first
  // data. REQUIRES: a transaction is open (else Internal).
  Status MigrateInTransaction(const SchemaHistory& history);

  // Re-encrypts every page under `new_key` (sqlite3_rekey).
  Status Rekey(const crypto::SecretBytes& new_key);
  // Reads every page and checks the b-tree structure and, through
  // SQLCipher's per-page HMAC, that no page was altered. Runs as part of
  // Open's setup phase only (before the authorizer), so call it through
  // Options::read_only + VerifyFile().
  static Status VerifyFile(const std::string& path,
                           const crypto::SecretBytes* key);

  // Copies WAL content back into the file and truncates the WAL, so pages
  // overwritten by secure_delete do not linger in the log.
  Status Checkpoint();
  // Copies what it can of the WAL back into the file without waiting for
  // (or blocking) other connections' readers and writers, and returns how
  // many frames the WAL holds; the WAL starts again at the next write once
  // every frame has been copied. For a connection of its own beside a busy
  // writer, so that the writer's automatic checkpoint finds little left.
  StatusOr<int> CheckpointPassive();

  // Copies this database, as one consistent snapshot (SQLite's online
  // backup: other connections and processes go on writing), into a new
  // file at `dest` encrypted under `key` (this database's own key, or
  // another: every page is decrypted on reading and encrypted under `key`
  // on writing, in memory only, never to a file in plaintext). The new
  // file goes through `dest_options.env` and is durable when this
  // returns; it is returned open (in WAL mode; closing it folds the WAL
  // back into the file). AlreadyExists when `dest` exists; on any other
  // error the new file is removed. ResourceExhausted when writers kept
  // the source busy for the busy timeout.
  StatusOr<std::unique_ptr<Database>> CopyTo(const std::string& dest,
                                             const crypto::SecretBytes* key,
                                             Options dest_options);

  int64_t LastInsertRowId() const;
  int Changes() const;
  // Bytes the connection's page cache holds now (bounded by
  // Options::cache_kib plus SQLite's bookkeeping per page).
  int64_t PageCacheBytes() const;

  // A stamp that changes whenever anything is committed to the database:
  // by this connection (SQLite's total changes), or by another connection
  // or process (PRAGMA data_version). Stamps of different Database objects
  // never compare equal. Lets a caller keep something derived from the
  // contents until they change.
  struct Version {
    uint64_t connection = 0;
    int64_t others = 0;
    int64_t own = 0;
    bool operator==(const Version&) const = default;
  };
  StatusOr<Version> ContentVersion();

  // Maps a SQLite result code to a Status without leaking SQL text.
  Status Error(int rc, std::string_view what) const;

 private:
  explicit Database(sqlite3* db);
  // The probe, connection settings and `setup`, run before the authorizer.
  Status Initialise(const Options& options, const SetupFn& setup);
  void Release(sqlite3_stmt* stmt);
  // OK for 0 <= version <= history.current(); the refusals of Migrate.
  Status CheckSchemaVersion(const SchemaHistory& history,
                            int64_t version) const;
  // Runs history.steps[version] and stamps version + 1.
  // REQUIRES: inside a transaction.
  Status RunSchemaStep(const SchemaHistory& history, int64_t version);
  // PRAGMA user_version = version, past the authorizer.
  Status WriteSchemaVersion(int64_t version);
  friend class Statement;

  sqlite3* db_;
  bool guarded_ = false;   // the authorizer is installed
  const uint64_t serial_;  // unique in this process, for Version
  // Idle prepared statements by SQL text.
  std::map<std::string, sqlite3_stmt*, std::less<>> cache_;
};

}  // namespace tillit::storage

#endif  // TILLIT_STORAGE_DATABASE_H_
