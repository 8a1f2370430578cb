// Process set-up for code that holds keys: initialise libsodium and keep key
// material out of core dumps. Call both once at start-up, before any key is
// loaded.
//
// Thread-safety: InitCrypto may be called from any thread and any number of
// times. DisableCoreDumps changes process-wide state; call it from one
// thread at start-up.
#ifndef TILLIT_CRYPTO_HARDENING_H_
#define TILLIT_CRYPTO_HARDENING_H_

#include "tillit/base/status.h"

namespace tillit::crypto {

// sodium_init(). Internal if libsodium cannot initialise (no usable
// randomness source).
Status InitCrypto();

// Sets the core-file size limit to zero (soft and hard) and marks the
// process not dumpable (PR_SET_DUMPABLE 0, which also stops other processes
// of the same user from ptrace-attaching or reading /proc/<pid>/mem).
// IoError naming the failed call and errno text on failure.
Status DisableCoreDumps();

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_HARDENING_H_
