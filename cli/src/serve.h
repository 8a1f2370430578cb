// Running the HTTP API from the command line, shared by `tillit serve` and
// `tillit demo`: the server flags, starting the server with the stop
// signals blocked, and serving until SIGTERM or SIGINT.
//
// Thread-safety: StartServer changes the process's signal mask and
// dispositions; call these from the one thread that runs the verb.
#ifndef TILLIT_CLI_SRC_SERVE_H_
#define TILLIT_CLI_SRC_SERVE_H_

#include <memory>
#include <string>

#include "src/args.h"
#include "src/common.h"
#include "tillit/api/server.h"
#include "tillit/base/status.h"
#include "tillit/vault/vault.h"

namespace tillit::cli {

// The server options of `serve` and `demo` from their flags (the ones a
// verb did not declare are absent). InvalidArgument for a usage error.
Status ServerFlags(const Args& a, const std::string& default_listen,
                   api::ServerOptions* o);

// Blocks SIGTERM and SIGINT in this thread first, so that the server's
// threads (which inherit the mask) never take them and ServeUntilSignal
// can wait for them; they stay blocked afterwards (the process is about to
// exit). A client that goes away must not kill the process: SIGPIPE is
// ignored.
StatusOr<std::unique_ptr<api::Server>> StartServer(
    vault::Vault& vault, const api::ServerOptions& options);

// Waits for SIGTERM or SIGINT, notes which came in the server log (unless
// `quiet`), then stops the server (in-flight requests finish) and says so:
// `stopped` on standard output (standard error with --json, whose output
// is one object). Returns kOk.
int ServeUntilSignal(Io& io, api::Server& server, bool json, bool quiet);
// While it waits, every kReturnMemoryEverySeconds, ServeUntilSignal gives
// the memory that threads freed back to the system (ReturnFreeMemory).
inline constexpr int kReturnMemoryEverySeconds = 10;
void ReturnFreeMemory();

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_SERVE_H_
