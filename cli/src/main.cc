#include <csignal>
#include <iostream>

#include "tillit/cli/cli.h"
#include "tillit/crypto/hardening.h"

int main(int argc, char** argv) {
  // A write that would take a file past the process's file-size limit
  // (RLIMIT_FSIZE) must fail with EFBIG, which SQLite reports as an I/O
  // error and rolls back: under `tillit serve` the request is answered
  // 503 (storage_unavailable or audit_unavailable) and the server keeps
  // serving; any other verb fails with a message and a non-zero status.
  // SIGXFSZ's default action would end the process instead. Ignored here,
  // before any file is written, so that it holds for every verb.
  std::signal(SIGXFSZ, SIG_IGN);
  // Key material must never reach a core dump.
  if (!tillit::crypto::InitCrypto().ok() ||
      !tillit::crypto::DisableCoreDumps().ok()) {
    std::cerr << "tillit: cannot initialise the crypto library safely\n";
    return 1;
  }
  return tillit::cli::RunCli(argc, argv, std::cout, std::cerr, std::cin);
}
