// The SQLite VFS that lets an Env see SQLite's own file changes.
//
// SQLite does its own I/O. For the real Env nothing is interposed: the
// database opens on SQLite's default VFS. For any other Env (a test's
// FaultInjectionEnv), EnvVfsName(env) registers, once per Env, a VFS that
// wraps the default one: reads, locks and shared memory go straight
// through, while every creation, write, truncation and fsync of the main
// database, its journal and its WAL is first announced to the Env
// (Env::WillChangeInPlace), which may refuse it with an errno (mapped to
// SQLITE_FULL for ENOSPC, an SQLITE_IOERR_* code otherwise).
//
// Thread-safety: safe from any thread.
#ifndef TILLIT_STORAGE_SRC_ENV_VFS_H_
#define TILLIT_STORAGE_SRC_ENV_VFS_H_

#include "tillit/base/env.h"

namespace tillit::storage {

// The VFS name to open a database with for `env`; nullptr for the real
// Env (SQLite's default VFS). The VFS stays registered for the process's
// life. REQUIRES: `env` outlives every connection opened with the name.
const char* EnvVfsName(Env* env);

}  // namespace tillit::storage

#endif  // TILLIT_STORAGE_SRC_ENV_VFS_H_
