#include "http_error.h"

#include <nlohmann/json.hpp>

namespace tillit::api::internal {

using nlohmann::json;

HttpError ToHttpError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return {400, "invalid_argument", status.message()};
    case StatusCode::kUnauthenticated:
      return {401, "unauthenticated", status.message()};
    case StatusCode::kPermissionDenied:
      return {403, "forbidden", status.message()};
    case StatusCode::kNotFound:
      return {404, "not_found", status.message()};
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return {409, "conflict", status.message()};
    case StatusCode::kResourceExhausted:
      return {413, "too_large", status.message()};
    case StatusCode::kIoError:
      // A disk error, a full disk or the database unreachable: the
      // operation was not carried out (every write is one transaction),
      // and the same request can succeed once the fault clears. The
      // message names files or servers; it goes to the server log only.
      return {503, "storage_unavailable",
              "the data could not be stored or read (a disk error or the "
              "database unreachable); nothing was changed; try again later"};
    default:
      // DataLoss, IoError, Internal, ...: the message may name files or
      // SQL; it goes to the server log, never to the client.
      return {500, "internal", "internal error"};
  }
}

std::string ErrorBody(std::string_view code, std::string_view message,
                      std::string_view request_id) {
  return json{
      {"error",
       {{"code", code}, {"message", message}, {"request_id", request_id}}}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

bool IsFhirPath(std::string_view path) {
  return path == "/fhir" || path.substr(0, 6) == "/fhir/";
}

std::string OperationOutcomeBody(int status, std::string_view message,
                                 std::string_view request_id) {
  // R4's issue-type codes for the statuses the server answers.
  std::string_view code = "processing";
  switch (status) {
    case 400:
      code = "invalid";
      break;
    case 401:
      code = "login";
      break;
    case 403:
      code = "forbidden";
      break;
    case 404:
      code = "not-found";
      break;
    case 405:
    case 406:
      code = "not-supported";
      break;
    case 408:
      code = "timeout";
      break;
    case 409:
      code = "conflict";
      break;
    case 413:
    case 414:
      code = "too-costly";
      break;
    case 429:
      code = "throttled";
      break;
    case 503:
      code = "transient";
      break;
    default:
      if (status >= 500) code = "exception";
      break;
  }
  std::string diagnostics(message);
  diagnostics += " (request ";
  diagnostics += request_id;
  diagnostics += ')';
  return json{{"resourceType", "OperationOutcome"},
              {"issue", json::array({{{"severity", "error"},
                                      {"code", code},
                                      {"diagnostics", diagnostics}}})}}
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tillit::api::internal
