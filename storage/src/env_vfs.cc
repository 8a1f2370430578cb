#include "env_vfs.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>

namespace tillit::storage {
namespace {

// A VFS for one Env: SQLite's default VFS with announced changes.
struct EnvVfs {
  sqlite3_vfs vfs;    // first member: SQLite passes this pointer back
  sqlite3_vfs* real;  // the default VFS
  Env* env;
  std::string name;
};

// An open file: ours first, the real VFS's file after it.
struct EnvFile {
  sqlite3_file base;  // first member: methods table
  Env* env;
  std::string* path;  // null: untracked (temporary files)
  bool dir_synced_by_sqlite;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

EnvFile* Cast(sqlite3_file* f) { return reinterpret_cast<EnvFile*>(f); }

int Announce(EnvFile* f, Env::InPlaceChange::Kind kind, uint64_t offset,
             uint64_t length, int io_error) {
  if (f->path == nullptr) return SQLITE_OK;
  const int error = f->env->WillChangeInPlace(
      Env::InPlaceChange{kind, *f->path, offset, length});
  if (error == 0) return SQLITE_OK;
  return error == ENOSPC ? SQLITE_FULL : io_error;
}

int Close(sqlite3_file* file) {
  EnvFile* f = Cast(file);
  int rc = SQLITE_OK;
  if (f->real()->pMethods != nullptr)
    rc = f->real()->pMethods->xClose(f->real());
  delete f->path;
  f->path = nullptr;
  return rc;
}

int Read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xRead(f->real(), out, amount, offset);
}

int Write(sqlite3_file* file, const void* data, int amount,
          sqlite3_int64 offset) {
  EnvFile* f = Cast(file);
  if (int rc =
          Announce(f, Env::InPlaceChange::kWrite, static_cast<uint64_t>(offset),
                   static_cast<uint64_t>(amount), SQLITE_IOERR_WRITE);
      rc != SQLITE_OK) {
    return rc;
  }
  return f->real()->pMethods->xWrite(f->real(), data, amount, offset);
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  EnvFile* f = Cast(file);
  if (int rc = Announce(f, Env::InPlaceChange::kTruncate,
                        static_cast<uint64_t>(size), 0, SQLITE_IOERR_TRUNCATE);
      rc != SQLITE_OK) {
    return rc;
  }
  return f->real()->pMethods->xTruncate(f->real(), size);
}

int Sync(sqlite3_file* file, int flags) {
  EnvFile* f = Cast(file);
  if (int rc = Announce(f, Env::InPlaceChange::kSync, 0, 0, SQLITE_IOERR_FSYNC);
      rc != SQLITE_OK) {
    return rc;
  }
  const int rc = f->real()->pMethods->xSync(f->real(), flags);
  if (rc == SQLITE_OK && f->path != nullptr) {
    // SQLite's unix VFS fsyncs the directory with the first sync of a
    // journal or WAL it created; never for the main database file.
    f->env->SyncedInPlace(*f->path, f->dir_synced_by_sqlite);
  }
  return rc;
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xFileSize(f->real(), size);
}
int Lock(sqlite3_file* file, int level) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xLock(f->real(), level);
}
int Unlock(sqlite3_file* file, int level) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xUnlock(f->real(), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xCheckReservedLock(f->real(), out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xFileControl(f->real(), op, arg);
}
int SectorSize(sqlite3_file* file) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xSectorSize(f->real());
}
int DeviceCharacteristics(sqlite3_file* file) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xDeviceCharacteristics(f->real());
}
int ShmMap(sqlite3_file* file, int region, int size, int extend,
           void volatile** out) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xShmMap(f->real(), region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xShmLock(f->real(), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) {
  EnvFile* f = Cast(file);
  f->real()->pMethods->xShmBarrier(f->real());
}
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  EnvFile* f = Cast(file);
  return f->real()->pMethods->xShmUnmap(f->real(), delete_flag);
}

// Version 2: shared memory (WAL) but no memory-mapped I/O, whose writes
// would bypass xWrite.
const sqlite3_io_methods kMethods = {
    2,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    ShmMap,
    ShmLock,
    ShmBarrier,
    ShmUnmap,
    nullptr,
    nullptr,
};

EnvVfs* Vfs(sqlite3_vfs* vfs) { return reinterpret_cast<EnvVfs*>(vfs); }

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
         int* out_flags) {
  EnvVfs* v = Vfs(vfs);
  EnvFile* f = Cast(file);
  f->base.pMethods = nullptr;
  f->env = v->env;
  f->path = nullptr;
  f->dir_synced_by_sqlite = false;
  f->real()->pMethods = nullptr;
  const bool tracked =
      name != nullptr &&
      (flags &
       (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) != 0;
  const bool creates =
      tracked && (flags & SQLITE_OPEN_CREATE) != 0 && ::access(name, F_OK) != 0;
  if (tracked) {
    f->path = new (std::nothrow) std::string(name);
    if (f->path == nullptr) return SQLITE_NOMEM;
    f->dir_synced_by_sqlite = creates && (flags & SQLITE_OPEN_MAIN_DB) == 0;
  }
  if (creates && Announce(f, Env::InPlaceChange::kCreate, 0, 0,
                          SQLITE_CANTOPEN) != SQLITE_OK) {
    delete f->path;
    f->path = nullptr;
    return SQLITE_CANTOPEN;
  }
  const int rc = v->real->xOpen(v->real, name, f->real(), flags, out_flags);
  if (rc != SQLITE_OK || f->real()->pMethods == nullptr) {
    if (f->real()->pMethods != nullptr) f->real()->pMethods->xClose(f->real());
    delete f->path;
    f->path = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  EnvVfs* v = Vfs(vfs);
  return v->real->xDelete(v->real, name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  EnvVfs* v = Vfs(vfs);
  return v->real->xAccess(v->real, name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  EnvVfs* v = Vfs(vfs);
  return v->real->xFullPathname(v->real, name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) {
  return Vfs(vfs)->real->xDlOpen(Vfs(vfs)->real, name);
}
void DlError(sqlite3_vfs* vfs, int n, char* out) {
  Vfs(vfs)->real->xDlError(Vfs(vfs)->real, n, out);
}
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Vfs(vfs)->real->xDlSym(Vfs(vfs)->real, handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) {
  Vfs(vfs)->real->xDlClose(Vfs(vfs)->real, handle);
}
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Vfs(vfs)->real->xRandomness(Vfs(vfs)->real, n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) {
  return Vfs(vfs)->real->xSleep(Vfs(vfs)->real, micros);
}
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Vfs(vfs)->real->xCurrentTime(Vfs(vfs)->real, out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Vfs(vfs)->real->xGetLastError(Vfs(vfs)->real, n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* real = Vfs(vfs)->real;
  if (real->iVersion >= 2 && real->xCurrentTimeInt64 != nullptr) {
    return real->xCurrentTimeInt64(real, out);
  }
  double now = 0;
  const int rc = real->xCurrentTime(real, &now);
  *out = static_cast<sqlite3_int64>(now * 86400000.0);
  return rc;
}

}  // namespace

const char* EnvVfsName(Env* env) {
  if (env == nullptr || env == Env::Default()) return nullptr;
  static std::mutex mu;
  // Registered VFSs are never freed: SQLite keeps pointers to them.
  static auto* registered = new std::map<Env*, EnvVfs*>();
  std::lock_guard<std::mutex> lock(mu);
  auto it = registered->find(env);
  if (it != registered->end()) return it->second->name.c_str();
  if (sqlite3_initialize() != SQLITE_OK) return nullptr;
  sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
  if (real == nullptr) return nullptr;
  auto* v = new EnvVfs{};
  char name[48];
  std::snprintf(name, sizeof name, "tillit-env-%p", static_cast<void*>(env));
  v->name = name;
  v->real = real;
  v->env = env;
  sqlite3_vfs& s = v->vfs;
  s.iVersion = 2;
  s.szOsFile = static_cast<int>(sizeof(EnvFile)) + real->szOsFile;
  s.mxPathname = real->mxPathname;
  s.zName = v->name.c_str();
  s.pAppData = nullptr;
  s.xOpen = Open;
  s.xDelete = Delete;
  s.xAccess = Access;
  s.xFullPathname = FullPathname;
  s.xDlOpen = DlOpen;
  s.xDlError = DlError;
  s.xDlSym = DlSym;
  s.xDlClose = DlClose;
  s.xRandomness = Randomness;
  s.xSleep = Sleep;
  s.xCurrentTime = CurrentTime;
  s.xGetLastError = GetLastError;
  s.xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(&s, /*makeDflt=*/0) != SQLITE_OK) {
    delete v;
    return nullptr;
  }
  registered->emplace(env, v);
  return v->name.c_str();
}

}  // namespace tillit::storage
