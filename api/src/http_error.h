// HttpError: how a Status becomes an HTTP error response, and the one
// shape of every error body: {"error":{"code","message","request_id"}}.
//
// Thread-safety: functions of their arguments only.
#ifndef TILLIT_API_SRC_HTTP_ERROR_H_
#define TILLIT_API_SRC_HTTP_ERROR_H_

#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::api::internal {

struct HttpError {
  int status = 500;
  std::string code;
  std::string message;
};
// InvalidArgument 400 invalid_argument, Unauthenticated 401, PermissionDenied
// 403, NotFound 404, AlreadyExists and FailedPrecondition 409 conflict,
// ResourceExhausted 413 too_large; anything else 500 "internal error" (the
// real message goes to the server log only).
HttpError ToHttpError(const Status& status);
std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id);

// The FHIR interface (paths under /fhir) answers errors as an
// OperationOutcome with one issue: its code fits the HTTP status, its
// diagnostics are the message and the request id.
inline constexpr char kFhirJsonType[] = "application/fhir+json";
bool IsFhirPath(std::string_view path);
std::string OperationOutcomeBody(int status, std::string_view message,
                                 std::string_view request_id);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_HTTP_ERROR_H_
