// Status and StatusOr<T>: errors as values.
//
// Every fallible operation in tillit returns a Status or a StatusOr<T>.
// Callers branch on code(), never on the message: messages are for people
// and must never contain secrets or health data.
//
// Thread-safety: a const Status/StatusOr may be read from several threads.
#ifndef TILLIT_BASE_STATUS_H_
#define TILLIT_BASE_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tillit {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from a caller; nothing was changed
  kNotFound,            // no such object (or not the caller's)
  kAlreadyExists,       // would create a duplicate
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // missing or bad credentials / keys
  kFailedPrecondition,  // the system is not in a state for this operation
  kDataLoss,            // stored data is corrupt, altered or rolled back
  kIoError,             // the operating system refused a read or write
  kResourceExhausted,   // a size, count or rate limit was hit
  kInternal,            // a bug or an unexpected library failure
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) {
    return {StatusCode::kNotFound, std::move(m)};
  }
  static Status AlreadyExists(std::string m) {
    return {StatusCode::kAlreadyExists, std::move(m)};
  }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status Unauthenticated(std::string m) {
    return {StatusCode::kUnauthenticated, std::move(m)};
  }
  static Status FailedPrecondition(std::string m) {
    return {StatusCode::kFailedPrecondition, std::move(m)};
  }
  static Status DataLoss(std::string m) {
    return {StatusCode::kDataLoss, std::move(m)};
  }
  static Status IoError(std::string m) {
    return {StatusCode::kIoError, std::move(m)};
  }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Internal(std::string m) {
    return {StatusCode::kInternal, std::move(m)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NOT_FOUND: message" (or "OK").
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // REQUIRES: !status.ok()
  // cppcheck-suppress noExplicitConstructor
  StatusOr(Status status) : v_(std::move(status)) {  // NOLINT: implicit
    assert(!std::get<Status>(v_).ok());
    if (std::get<Status>(v_).ok()) {
      v_ = Status::Internal("StatusOr constructed from OK status");
    }
  }
  // cppcheck-suppress noExplicitConstructor
  StatusOr(T value) : v_(std::move(value)) {}  // NOLINT: implicit

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<Status, T> v_;
};

}  // namespace tillit

#define TILLIT_STATUS_CONCAT_INNER_(a, b) a##b
#define TILLIT_STATUS_CONCAT_(a, b) TILLIT_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` yields a non-OK Status.
#define TILLIT_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::tillit::Status tillit_status_ = (expr);        \
    if (!tillit_status_.ok()) return tillit_status_; \
  } while (0)

// `lhs = value of expr`, or returns its Status from the enclosing function.
#define TILLIT_ASSIGN_OR_RETURN(lhs, expr)                                    \
  TILLIT_ASSIGN_OR_RETURN_IMPL_(TILLIT_STATUS_CONCAT_(tillit_sor_, __LINE__), \
                                lhs, expr)
#define TILLIT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()

#endif  // TILLIT_BASE_STATUS_H_
