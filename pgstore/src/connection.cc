#include "tillit/pgstore/connection.h"

#include <libpq-fe.h>

#include <array>
#include <charconv>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace tillit::pgstore {
namespace {

// Type OIDs (PostgreSQL's pg_type.dat; stable across versions).
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;

constexpr int kBinary = 1;

// One of the arrays PQexecParams reads: on the stack for the few parameters
// nearly every statement has, on the heap beyond that.
template <typename T>
class ParamArray {
 public:
  explicit ParamArray(size_t n)
      : heap_(n > kInline ? n : 0),
        data_(n > kInline ? heap_.data() : inline_.data()) {}
  ParamArray(const ParamArray&) = delete;
  ParamArray& operator=(const ParamArray&) = delete;
  T& operator[](size_t i) { return data_[i]; }
  T* data() { return data_; }

 private:
  static constexpr size_t kInline = 8;
  std::array<T, kInline> inline_{};
  std::vector<T> heap_;
  T* data_;
};

// The first line of a libpq message, without its trailing newline.
std::string FirstLine(const char* message) {
  if (message == nullptr) return "no message";
  std::string_view m(message);
  const size_t end = m.find('\n');
  if (end != std::string_view::npos) m = m.substr(0, end);
  while (!m.empty() && (m.back() == ' ' || m.back() == '\r'))
    m.remove_suffix(1);
  return m.empty() ? "no message" : std::string(m);
}

int64_t ReadBigEndian(const char* p, int len) {
  uint64_t v = 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  // Sign-extend a 2- or 4-byte value.
  if (len < 8 && len > 0 && (static_cast<uint8_t>(p[0]) & 0x80) != 0) {
    v |= ~uint64_t{0} << (8 * len);
  }
  return static_cast<int64_t>(v);
}

}  // namespace

Status StatusFromSqlState(std::string_view sqlstate, std::string_view message) {
  std::string msg = "database: ";
  msg += message;
  if (sqlstate == "23505") return Status::AlreadyExists(msg);
  if (sqlstate.starts_with("23")) return Status::FailedPrecondition(msg);
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return Status::ResourceExhausted(msg);
  }
  if (sqlstate.starts_with("08") || sqlstate == "57P01" ||
      sqlstate == "57P02" || sqlstate == "57P03" ||
      sqlstate.starts_with("53") || sqlstate == "25006") {
    return Status::IoError("the database is unavailable: " +
                           std::string(message));
  }
  return Status::Internal(msg);
}

// ------------------------------------------------------------------- Result

Result::Result(Result&& other) noexcept
    : res_(std::exchange(other.res_, nullptr)) {}

Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (res_ != nullptr) PQclear(res_);
    res_ = std::exchange(other.res_, nullptr);
  }
  return *this;
}

Result::~Result() {
  if (res_ != nullptr) PQclear(res_);
}

int Result::rows() const { return PQntuples(res_); }

int Result::columns() const { return PQnfields(res_); }

int64_t Result::affected() const {
  const char* text = PQcmdTuples(res_);
  int64_t n = 0;
  if (text != nullptr) {
    std::from_chars(text, text + std::strlen(text), n);
  }
  return n;
}

bool Result::IsNull(int row, int col) const {
  return PQgetisnull(res_, row, col) != 0;
}

StatusOr<int64_t> Result::Int64(int row, int col) const {
  if (IsNull(row, col)) return Status::InvalidArgument("the column is NULL");
  const Oid type = PQftype(res_, col);
  const int len = PQgetlength(res_, row, col);
  const int want = type == kInt8Oid   ? 8
                   : type == kInt4Oid ? 4
                   : type == kInt2Oid ? 2
                                      : -1;
  if (want < 0 || len != want) {
    return Status::InvalidArgument("the column is not an integer");
  }
  return ReadBigEndian(PQgetvalue(res_, row, col), len);
}

StatusOr<bool> Result::Bool(int row, int col) const {
  if (IsNull(row, col)) return Status::InvalidArgument("the column is NULL");
  if (PQftype(res_, col) != kBoolOid || PQgetlength(res_, row, col) != 1) {
    return Status::InvalidArgument("the column is not a boolean");
  }
  return PQgetvalue(res_, row, col)[0] != 0;
}

std::string_view Result::Text(int row, int col) const {
  if (IsNull(row, col)) return {};
  return {PQgetvalue(res_, row, col),
          static_cast<size_t>(PQgetlength(res_, row, col))};
}

std::span<const uint8_t> Result::Bytes(int row, int col) const {
  if (IsNull(row, col)) return {};
  return {reinterpret_cast<const uint8_t*>(PQgetvalue(res_, row, col)),
          static_cast<size_t>(PQgetlength(res_, row, col))};
}

// --------------------------------------------------------------- Connection

StatusOr<std::unique_ptr<Connection>> Connection::Open(
    const std::string& conninfo) {
  // libpq's own message for a bad string may quote a piece of it (a
  // password among them): it is not passed on.
  char* parse_error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &parse_error);
  if (options == nullptr) {
    if (parse_error != nullptr) PQfreemem(parse_error);
    return Status::InvalidArgument(
        "the database connection string is not a valid libpq keyword list "
        "or postgresql:// URI");
  }
  PQconninfoFree(options);
  pg_conn* conn = PQconnectdb(conninfo.c_str());
  if (conn == nullptr) {
    return Status::ResourceExhausted("out of memory for a connection");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    Status s = Status::IoError("the database is unavailable: " +
                               FirstLine(PQerrorMessage(conn)));
    PQfinish(conn);
    return s;
  }
  // The server's notices (a shutdown's warning, ...) are not printed: a
  // library writes nothing to stderr, and a notice may quote a value.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(new Connection(conn));
}

Connection::~Connection() { PQfinish(conn_); }

bool Connection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

int Connection::server_version() const { return PQserverVersion(conn_); }

Status Connection::ErrorOf(pg_result* res, std::string_view what) const {
  const char* state =
      res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = res != nullptr
                            ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                            : nullptr;
  Status s;
  if (state != nullptr) {
    s = StatusFromSqlState(state, primary != nullptr ? primary : "no message");
  } else if (PQstatus(conn_) != CONNECTION_OK) {
    // The server went away (libpq reports it without a SQLSTATE).
    s = Status::IoError("the database is unavailable: " +
                        FirstLine(PQerrorMessage(conn_)));
  } else {
    s = Status::Internal("database: " + FirstLine(PQerrorMessage(conn_)));
  }
  if (res != nullptr) PQclear(res);
  return s.WithContext(what);
}

StatusOr<Result> Connection::Exec(Sql sql,
                                  std::initializer_list<Param> params) {
  return Exec(sql, std::span<const Param>(params.begin(), params.size()));
}

StatusOr<Result> Connection::Exec(Sql sql, std::span<const Param> params) {
  const size_t n = params.size();
  ParamArray<Oid> types(n);
  ParamArray<const char*> values(n);
  ParamArray<int> lengths(n);
  ParamArray<int> formats(n);
  ParamArray<std::array<char, 8>> ints(n);
  for (size_t i = 0; i < n; ++i) {
    const auto& v = params[i].value_;
    formats[i] = kBinary;
    if (const auto* x = std::get_if<int64_t>(&v)) {
      uint64_t u = static_cast<uint64_t>(*x);
      for (int b = 7; b >= 0; --b) {
        ints[i][b] = static_cast<char>(u & 0xff);
        u >>= 8;
      }
      types[i] = kInt8Oid;
      values[i] = ints[i].data();
      lengths[i] = 8;
    } else if (const auto* t = std::get_if<std::string_view>(&v)) {
      types[i] = kTextOid;
      values[i] = t->empty() ? "" : t->data();
      lengths[i] = static_cast<int>(t->size());
    } else if (const auto* b = std::get_if<std::span<const uint8_t>>(&v)) {
      types[i] = kByteaOid;
      values[i] = b->empty() ? "" : reinterpret_cast<const char*>(b->data());
      lengths[i] = static_cast<int>(b->size());
    }
  }
  pg_result* res =
      PQexecParams(conn_, sql.c_str(), static_cast<int>(n), types.data(),
                   values.data(), lengths.data(), formats.data(), kBinary);
  const ExecStatusType st =
      res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return ErrorOf(res, "statement");
  }
  return Result(res);
}

Status Connection::ExecScript(Sql sql) {
  pg_result* res = PQexec(conn_, sql.c_str());
  const ExecStatusType st =
      res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return ErrorOf(res, "script");
  }
  PQclear(res);
  return Status::Ok();
}

// -------------------------------------------------------------- Transaction

StatusOr<Transaction> Transaction::Begin(Connection& conn) {
  TILLIT_RETURN_IF_ERROR(conn.ExecScript("BEGIN"));
  return Transaction(&conn);
}

Transaction::~Transaction() {
  // A failed rollback leaves nothing behind either: the server ends the
  // transaction when the connection goes.
  if (conn_ != nullptr && conn_->ok()) (void)conn_->ExecScript("ROLLBACK");
}

Status Transaction::Commit() {
  Connection* conn = std::exchange(conn_, nullptr);
  if (conn == nullptr) return Status::Internal("the transaction is over");
  return conn->ExecScript("COMMIT");
}

}  // namespace tillit::pgstore
