// The bridge's error codes (tillit_bridge.h) carried in tillit::Status.
//
// A bridge error is a Status whose message is "<code>: <text>", the form
// the C ABI hands to apps, and whose StatusCode is the nearest general
// category. BridgeError() is the one place that writes the prefix and
// CodeOf() the one place that reads it, so callers branch on ErrorCode and
// never on text.
//
// Thread-safety: pure functions.
#ifndef TILLIT_MOBILE_BRIDGE_ERROR_H_
#define TILLIT_MOBILE_BRIDGE_ERROR_H_

#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::bridge {

enum class ErrorCode {
  kInvalidArgument,
  kNotPaired,
  kAlreadyPaired,
  kKeyUnavailable,
  kStorage,
  kNetwork,
  kUnauthenticated,
  kForbidden,
  kNotFound,
  kConflict,
  kTooLarge,
  kRateLimited,
  kAuditUnavailable,
  kBadRequest,
  kServer,
  kLogFork,
  kLogRollback,
  kProofInvalid,
  kInternal,
};

// "log_fork", ... (a static string).
const char* ErrorCodeName(ErrorCode code);
// The code whose name `name` is; nullopt for an unknown name.
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// A non-OK Status with message "<name>: <text>".
Status BridgeError(ErrorCode code, std::string_view text);
// The code of a Status made by BridgeError; kInternal for any other
// non-OK Status (a bug: every failure should have been classified).
// REQUIRES: !status.ok()
ErrorCode CodeOf(const Status& status);
// `status` unchanged when it is a bridge error, otherwise a bridge error
// with code `code` and the status's text: for errors from the other tillit
// libraries (the local database, crypto), classified at the call.
Status AsBridgeError(const Status& status, ErrorCode code);

// The static code string of an error message ("log_fork: ..." gives
// "log_fork"); "internal" for a message without a known code.
const char* ErrorCodeOfMessage(std::string_view message);

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_ERROR_H_
