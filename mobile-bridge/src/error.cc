#include "error.h"

#include <array>
#include <utility>

namespace tillit::bridge {
namespace {

struct CodeInfo {
  ErrorCode code;
  const char* name;
  StatusCode status;
};

constexpr std::array<CodeInfo, 19> kCodes = {{
    {ErrorCode::kInvalidArgument, "invalid_argument",
     StatusCode::kInvalidArgument},
    {ErrorCode::kNotPaired, "not_paired", StatusCode::kFailedPrecondition},
    {ErrorCode::kAlreadyPaired, "already_paired",
     StatusCode::kFailedPrecondition},
    {ErrorCode::kKeyUnavailable, "key_unavailable",
     StatusCode::kUnauthenticated},
    {ErrorCode::kStorage, "storage", StatusCode::kIoError},
    {ErrorCode::kNetwork, "network", StatusCode::kIoError},
    {ErrorCode::kUnauthenticated, "unauthenticated",
     StatusCode::kUnauthenticated},
    {ErrorCode::kForbidden, "forbidden", StatusCode::kPermissionDenied},
    {ErrorCode::kNotFound, "not_found", StatusCode::kNotFound},
    {ErrorCode::kConflict, "conflict", StatusCode::kAlreadyExists},
    {ErrorCode::kTooLarge, "too_large", StatusCode::kResourceExhausted},
    {ErrorCode::kRateLimited, "rate_limited", StatusCode::kResourceExhausted},
    {ErrorCode::kAuditUnavailable, "audit_unavailable",
     StatusCode::kFailedPrecondition},
    {ErrorCode::kBadRequest, "bad_request", StatusCode::kInvalidArgument},
    {ErrorCode::kServer, "server", StatusCode::kInternal},
    {ErrorCode::kLogFork, "log_fork", StatusCode::kDataLoss},
    {ErrorCode::kLogRollback, "log_rollback", StatusCode::kDataLoss},
    {ErrorCode::kProofInvalid, "proof_invalid", StatusCode::kDataLoss},
    {ErrorCode::kInternal, "internal", StatusCode::kInternal},
}};

const CodeInfo& InfoOf(ErrorCode code) {
  for (const CodeInfo& info : kCodes) {
    if (info.code == code) return info;
  }
  return kCodes.back();  // kInternal
}

// The text before the first ": ", if the message has one.
std::optional<std::string_view> Prefix(std::string_view message) {
  const size_t colon = message.find(": ");
  if (colon == std::string_view::npos) return std::nullopt;
  return message.substr(0, colon);
}

}  // namespace

const char* ErrorCodeName(ErrorCode code) { return InfoOf(code).name; }

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (const CodeInfo& info : kCodes) {
    if (name == info.name) return info.code;
  }
  return std::nullopt;
}

Status BridgeError(ErrorCode code, std::string_view text) {
  const CodeInfo& info = InfoOf(code);
  std::string message = info.name;
  message += ": ";
  message += text;
  return Status(info.status, std::move(message));
}

ErrorCode CodeOf(const Status& status) {
  if (std::optional<std::string_view> prefix = Prefix(status.message())) {
    if (std::optional<ErrorCode> code = ErrorCodeFromName(*prefix)) {
      // Only a Status BridgeError made has the matching category too.
      if (InfoOf(*code).status == status.code()) return *code;
    }
  }
  return ErrorCode::kInternal;
}

Status AsBridgeError(const Status& status, ErrorCode code) {
  if (status.ok()) return status;
  if (std::optional<std::string_view> prefix = Prefix(status.message())) {
    if (std::optional<ErrorCode> known = ErrorCodeFromName(*prefix)) {
      if (InfoOf(*known).status == status.code()) return status;
    }
  }
  return BridgeError(code, status.ToString());
}

const char* ErrorCodeOfMessage(std::string_view message) {
  if (std::optional<std::string_view> prefix = Prefix(message)) {
    if (std::optional<ErrorCode> code = ErrorCodeFromName(*prefix)) {
      return ErrorCodeName(*code);
    }
  }
  return ErrorCodeName(ErrorCode::kInternal);
}

}  // namespace tillit::bridge
