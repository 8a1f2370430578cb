// The X25519 key files of research releases: PREFIX.key (base64 secret
// key, one line, mode 0600) and PREFIX.pub (base64 public key, one line).
// keys.cc is the one place in the command line that makes, writes and
// reads these keys.
//
// Thread-safety: free functions without shared state.
#ifndef TILLIT_CLI_SRC_KEYS_H_
#define TILLIT_CLI_SRC_KEYS_H_

#include <string>

#include "tillit/base/env.h"
#include "tillit/base/status.h"

namespace tillit::cli {

// Generates a key pair from `env`'s randomness and writes PREFIX.key and
// PREFIX.pub through `env`, each fsynced. Existing files are refused
// (AlreadyExists), or with `replace` replaced. On an error no partial file
// is left, nor a new PREFIX.key without its PREFIX.pub. Returns the public
// key in base64. REQUIRES: `env` is not null.
StatusOr<std::string> MakeKeyPairFiles(const std::string& prefix, bool replace,
                                       Env* env = Env::Default());

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_KEYS_H_
