// Small file-system primitives the vault builds on: atomic replacement,
// bounded reads, and reads straight into secure memory. Every write goes
// through an Env (default Env::Default()), so tests can fail it or cut the
// power under it; reads go to the operating system directly.
//
// Thread-safety: stateless; safe from any thread (two writers of one path
// must be serialised by the caller).
#ifndef TILLIT_STORAGE_FILES_H_
#define TILLIT_STORAGE_FILES_H_

#include <cstdint>
#include <span>
#include <string>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

namespace tillit::storage {

// Writes `bytes` to `path` through a temporary file that is fsync'ed,
// renamed over `path`, and followed by an fsync of the directory; readers
// see the old or the new content, never a mix. The file gets `mode`.
// On any error the old content is left in place and the temporary file is
// removed.
Status WriteFileAtomic(const std::string& path, std::span<const uint8_t> bytes,
                       unsigned mode, Env* env = Env::Default());
Status WriteFileAtomic(const std::string& path, std::string_view bytes,
                       unsigned mode, Env* env = Env::Default());

// Reads a whole file of at most `max_bytes` (NotFound, ResourceExhausted,
// IoError).
StatusOr<std::string> ReadFileLimited(const std::string& path,
                                      size_t max_bytes);

// Reads a whole file of at most `max_bytes` into secure memory. Refuses a
// file readable or writable by group or others (FailedPrecondition).
StatusOr<crypto::SecretBytes> ReadSecretFile(const std::string& path,
                                             size_t max_bytes);

// Creates a directory (and parents) with mode 0700 if it does not exist.
Status EnsurePrivateDirectory(const std::string& path,
                              Env* env = Env::Default());

// Removes a file if present; NotFound is not an error.
Status RemoveFileIfExists(const std::string& path, Env* env = Env::Default());

}  // namespace tillit::storage

#endif  // TILLIT_STORAGE_FILES_H_
