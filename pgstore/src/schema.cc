#include "schema.h"

#include <string>

namespace tillit::pgstore::internal {
namespace {

// Taken while a schema is created or checked ("tillit/s" in ASCII).
constexpr int64_t kSchemaLock = 0x74696c6c69742f73;

}  // namespace

Status CreateOrCheckSchema(Connection& c, std::string_view component,
                           int64_t version, const char* script) {
  TILLIT_RETURN_IF_ERROR(
      c.Exec("SELECT pg_advisory_xact_lock($1)", {kSchemaLock}).status());
  TILLIT_RETURN_IF_ERROR(
      c.ExecScript("CREATE TABLE IF NOT EXISTS tillit_schema ("
                   "component text PRIMARY KEY, version bigint NOT NULL)"));
  TILLIT_ASSIGN_OR_RETURN(
      Result v, c.Exec("SELECT version FROM tillit_schema WHERE component = $1",
                       {component}));
  const std::string name(component);
  if (v.rows() == 1) {
    TILLIT_ASSIGN_OR_RETURN(int64_t stored, v.Int64(0, 0));
    if (stored > version) {
      return Status::FailedPrecondition(
          "the database's " + name + " is format " + std::to_string(stored) +
          ", newer than this tillit supports (" + std::to_string(version) +
          "); upgrade tillit");
    }
    if (stored < 1) {
      return Status::DataLoss("the database's " + name + " has no format");
    }
    return Status::Ok();
  }
  TILLIT_RETURN_IF_ERROR(c.ExecScript(script));
  return c
      .Exec("INSERT INTO tillit_schema (component, version) VALUES ($1, $2)",
            {component, version})
      .status();
}

}  // namespace tillit::pgstore::internal
