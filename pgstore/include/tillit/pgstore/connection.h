// pgstore::Connection: one libpq connection to PostgreSQL, with every
// statement parameterised and every error a Status that says what happened
// without SQL text, values or credentials.
//
// Parameters travel in libpq's binary format (integers as int8, bytes as
// bytea) or as text; results come back in binary format, read by column
// type. Nothing is ever spliced into SQL text.
//
// Errors (SQLSTATE classes):
//   23505 unique violation                   AlreadyExists
//   other 23 (integrity)                     FailedPrecondition
//   40001, 40P01 (serialisation, deadlock)   ResourceExhausted (retry)
//   08, 57P01-57P03, 53, 25006 (no server,   IoError ("the database is
//     shutdown, out of resources, a standby)   unavailable: ...")
//   anything else                            Internal
// A connection string libpq cannot parse is InvalidArgument; a server that
// cannot be reached is IoError.
//
// Thread-safety: not thread-safe; one user at a time (as a libpq PGconn).
#ifndef TILLIT_PGSTORE_CONNECTION_H_
#define TILLIT_PGSTORE_CONNECTION_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tillit/base/status.h"

struct pg_conn;
struct pg_result;

namespace tillit::pgstore {

// A statement parameter: SQL NULL, an int8, text, or bytea. Holds views:
// what it points to must outlive the call it is passed to.
class Param {
 public:
  Param() = default;               // NULL
  Param(int64_t v) : value_(v) {}  // NOLINT(google-explicit-constructor)
  Param(int v) : value_(static_cast<int64_t>(v)) {}  // NOLINT
  Param(std::string_view text) : value_(text) {}     // NOLINT
  Param(const std::string& text)                     // NOLINT
      : value_(std::string_view(text)) {}
  Param(const char* text) : value_(std::string_view(text)) {}  // NOLINT
  Param(std::span<const uint8_t> bytes) : value_(bytes) {}     // NOLINT
  Param(const std::vector<uint8_t>& bytes)                     // NOLINT
      : value_(std::span<const uint8_t>(bytes)) {}

  static Param Null() { return Param(); }

 private:
  friend class Connection;
  std::variant<std::monostate, int64_t, std::string_view,
               std::span<const uint8_t>>
      value_;
};

// SQL text: a string literal or a std::string, already NUL-terminated as
// libpq wants it, so a statement is never copied to be run.
class Sql {
 public:
  Sql(const char* text) : text_(text) {}                 // NOLINT
  Sql(const std::string& text) : text_(text.c_str()) {}  // NOLINT
  const char* c_str() const { return text_; }

 private:
  const char* text_;
};

// The rows a statement returned (binary format). Move-only.
class Result {
 public:
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  ~Result();

  int rows() const;
  int columns() const;
  // Rows a data-changing statement touched (INSERT, UPDATE, DELETE).
  int64_t affected() const;

  bool IsNull(int row, int col) const;
  // A bigint, integer or smallint column; InvalidArgument for another type
  // or NULL.
  StatusOr<int64_t> Int64(int row, int col) const;
  // A boolean column.
  StatusOr<bool> Bool(int row, int col) const;
  // A text (or varchar, name) column's bytes; empty for NULL.
  std::string_view Text(int row, int col) const;
  // A bytea column's bytes; empty for NULL.
  std::span<const uint8_t> Bytes(int row, int col) const;

 private:
  friend class Connection;
  explicit Result(pg_result* res) : res_(res) {}
  pg_result* res_;
};

class Connection {
 public:
  // Connects with a libpq connection string or URI ("host=... dbname=..."
  // or "postgresql://host/db?sslmode=verify-full"). A password belongs in
  // a password file (PGPASSFILE or passfile=), not here. The session runs
  // in UTC with standard-conforming strings.
  static StatusOr<std::unique_ptr<Connection>> Open(
      const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement with `params` as $1, $2, ...; its rows, if any.
  StatusOr<Result> Exec(Sql sql, std::initializer_list<Param> params = {});
  StatusOr<Result> Exec(Sql sql, std::span<const Param> params);
  // Runs statements without parameters (a schema script), for their
  // effect only.
  Status ExecScript(Sql sql);

  // False once the server has gone away; a new Connection is then needed.
  bool ok() const;
  // The server's version as libpq reports it (150004 for 15.4).
  int server_version() const;

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  // The Status for a failed result (or a null one), taking it.
  Status ErrorOf(pg_result* res, std::string_view what) const;

  pg_conn* conn_;
};

// BEGIN now; ROLLBACK when destroyed unless Commit() succeeded. Move-only.
class Transaction {
 public:
  static StatusOr<Transaction> Begin(Connection& conn);
  Transaction(Transaction&& other) noexcept
      : conn_(std::exchange(other.conn_, nullptr)) {}
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;  // null once committed or rolled back
};

// The Status for a SQLSTATE and a server message (the mapping above);
// exposed for its tests.
Status StatusFromSqlState(std::string_view sqlstate, std::string_view message);

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_CONNECTION_H_
