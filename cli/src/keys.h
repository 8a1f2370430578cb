// The X25519 key files of research releases: PREFIX.key (base64 secret
// key, one line, mode 0600) and PREFIX.pub (base64 public key, one line).
// keys.cc is the one place in the command line that makes, writes and
// reads these keys.
//
// Thread-safety: free functions without shared state.
#ifndef TILLIT_CLI_SRC_KEYS_H_
#define TILLIT_CLI_SRC_KEYS_H_

#include <string>

#include "tillit/base/status.h"

namespace tillit::cli {

// Generates a key pair and writes PREFIX.key and PREFIX.pub (durably).
// Existing files are refused (AlreadyExists), or with `replace` replaced.
// Returns the public key in base64.
StatusOr<std::string> MakeKeyPairFiles(const std::string& prefix, bool replace);

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_KEYS_H_
