#include <iostream>

#include "tillit/cli/cli.h"
#include "tillit/crypto/hardening.h"

int main(int argc, char** argv) {
  // Key material must never reach a core dump.
  if (!tillit::crypto::InitCrypto().ok() ||
      !tillit::crypto::DisableCoreDumps().ok()) {
    std::cerr << "tillit: cannot initialise the crypto library safely\n";
    return 1;
  }
  return tillit::cli::RunCli(argc, argv, std::cout, std::cerr, std::cin);
}
