// The `tillit` command, callable in-process.
//
// RunCli parses argv, runs one verb and returns the process exit status:
// 0 on success, 1 when the operation failed, 2 for a usage error. Output
// meant for scripts (--json) goes to `out`; diagnostics and progress go to
// `err`. `in` supplies a passphrase for --passphrase-stdin.
//
// Thread-safety: one call at a time per process (verbs may read the
// environment and install process-wide settings).
#ifndef TILLIT_CLI_CLI_H_
#define TILLIT_CLI_CLI_H_

#include <iosfwd>

namespace tillit::cli {

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           std::istream& in);

}  // namespace tillit::cli

#endif  // TILLIT_CLI_CLI_H_
