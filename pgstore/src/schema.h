// The versions of tillit's tables in PostgreSQL, one row per component in
// `tillit_schema`, created or checked by whichever node opens first.
#ifndef TILLIT_PGSTORE_SRC_SCHEMA_H_
#define TILLIT_PGSTORE_SRC_SCHEMA_H_

#include <cstdint>
#include <string_view>

#include "tillit/base/status.h"
#include "tillit/pgstore/connection.h"

namespace tillit::pgstore::internal {

// Inside the caller's transaction and under an advisory lock (so nodes that
// start together do it one after the other): runs `script` and records
// `version` for `component` if the component has no tables yet; otherwise
// checks the recorded version. FailedPrecondition for a version newer than
// `version` (this program is older than the database), DataLoss for one
// below 1. `component` names it in the error ("registry").
Status CreateOrCheckSchema(Connection& c, std::string_view component,
                           int64_t version, const char* script);

}  // namespace tillit::pgstore::internal

#endif  // TILLIT_PGSTORE_SRC_SCHEMA_H_
