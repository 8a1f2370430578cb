// Backups of a data directory (`tillit backup`, `tillit backup verify`,
// `tillit restore`).
//
// A backup is a directory laid out as a data directory (vault.json,
// registry.db, audit.db, privacy.db, citizens/<id>.db, releases/*.tillit)
// plus manifest.json and its signature manifest.sig:
//  - taken online: each database is one consistent snapshot (SQLite's
//    online backup) while a server goes on writing; the registry is copied
//    first, so no citizen file is older than the generation the copied
//    registry records for it;
//  - encrypted exactly as the data is: every page is re-encrypted under the
//    same key on its way, never written in plaintext; no root key unless
//    asked for (BackupOptions::include_key_file);
//  - described by the manifest: time, every file with size and SHA-256,
//    each citizen's generation, the root-key version, the audit log's tree
//    size and a signed checkpoint of it; signed with a key derived from the
//    vault's master secret (KdfContext::kBackupSigning);
//  - incremental: taken again into the same directory, a citizen store
//    whose generation is unchanged and a release already there are kept,
//    not copied. The old manifest is withdrawn first, so a backup stopped
//    half way has no manifest and is never taken for valid.
//
// Restoring checks everything first (signature, every file's size and
// hash, nothing missing or extra), rebuilds the data directory beside the
// target, opens it with the root keys, verifies every citizen store and
// the audit log (not older than the backup's checkpoint, nor than a
// checkpoint the operator saved), and only then renames it into place.
//
// Erasure: every erasure replaces the root keys. A backup taken before it
// opens only with the key file of its day; with today's keys nothing in it
// can be decrypted, the erased citizen's store included (docs/OPERATIONS.md,
// Backups).
//
// Thread-safety: each call is independent; none may share an output
// directory with another running at the same time.
#ifndef TILLIT_BACKUP_BACKUP_H_
#define TILLIT_BACKUP_BACKUP_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"
#include "tillit/vault/vault.h"

namespace tillit::backup {

inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kSignatureFile[] = "manifest.sig";
inline constexpr int kManifestVersion = 1;

// Called as work goes on: what is being done, and how far (done of total
// files).
using ProgressFn =
    std::function<void(const std::string& what, size_t done, size_t total)>;

struct BackupOptions {
  std::string out_dir;  // created when missing
  // Also copies the root keys (the key file, or the sealed file): only on
  // purpose, since with it the backup alone opens everything.
  bool include_key_file = false;
  Env* env = Env::Default();  // every file of the backup goes through it
  ProgressFn progress;
};

struct BackupReport {
  size_t files = 0;    // in the manifest
  size_t copied = 0;   // written by this backup
  size_t skipped = 0;  // kept from the previous backup (incremental)
  uint64_t bytes = 0;  // of all the files in the manifest
  uint64_t bytes_copied = 0;
  size_t citizens = 0;
  uint64_t audit_entries = 0;
  uint32_t root_key_version = 0;
  bool key_included = false;
};

// Takes a backup of the open `vault` into options.out_dir.
// FailedPrecondition when the root keys changed during the backup (an
// erasure or rotation by a running server): take it again.
StatusOr<BackupReport> TakeBackup(vault::Vault& vault,
                                  const BackupOptions& options);

struct ManifestFile {
  std::string path;  // relative to the backup directory
  uint64_t size = 0;
  std::string sha256;  // hex
};

struct Manifest {
  int64_t created = 0;  // Unix seconds
  std::string tillit_version;
  uint32_t root_key_version = 0;
  bool sealed = false;  // the root keys are sealed under a passphrase
  // The name of the root-key file inside the backup, or empty.
  std::string key_file;
  // Whether the vault kept its root keys in its data directory (a restore
  // then puts the key file it is given there too).
  bool key_in_data_dir = false;
  std::vector<ManifestFile> files;
  struct Citizen {
    std::string id;
    int64_t generation = 0;
    // The version of the data key the store is encrypted under: a rekey
    // (`tillit keys rotate --citizen`) changes it, not the generation.
    int64_t dek_version = 0;
  };
  std::vector<Citizen> citizens;
  uint64_t audit_tree_size = 0;
  std::string audit_checkpoint;  // a signed note of the audit log
  std::string signer;            // base64 Ed25519 public key
};

struct CheckReport {
  Manifest manifest;
  uint64_t bytes = 0;  // hashed
};

// Checks a backup without keys: the manifest's signature (by the key it
// names, or by `expected_signer` when given), then every file's size and
// SHA-256, and that no file is missing or extra. The first problem found
// is the error (DataLoss), naming the file.
StatusOr<CheckReport> CheckBackup(const std::string& dir,
                                  const std::optional<crypto::Ed25519PublicKey>&
                                      expected_signer = std::nullopt,
                                  const ProgressFn& progress = nullptr);

struct RestoreOptions {
  std::string from;  // the backup
  std::string to;    // the new data directory: missing or empty
  // The root keys, when the backup holds none: a key file, or a sealed
  // file with `passphrase`.
  std::optional<std::string> key_path;
  const crypto::SecretBytes* passphrase = nullptr;  // not owned
  // A signed checkpoint of the audit log the operator saved earlier: a
  // backup whose log is older than it is refused as a rollback.
  std::string saved_checkpoint;
  Env* env = Env::Default();
  ProgressFn progress;
};

struct RestoreReport {
  Manifest manifest;
  size_t citizens = 0;  // opened and verified
  uint64_t audit_entries = 0;
  uint64_t bytes = 0;
};

// Restores a backup into options.to (see the top of this file); nothing
// is left at `to` on any error. FailedPrecondition for a non-empty target;
// Unauthenticated when the keys do not open the backup.
StatusOr<RestoreReport> Restore(const RestoreOptions& options);

// Everything Restore checks, done in a scratch directory beside the backup
// that is removed afterwards: `options.to` is ignored. Without keys (no
// key_path and none in the backup), only CheckBackup; FailedPrecondition
// then if a saved checkpoint was given (it needs the keys).
StatusOr<RestoreReport> VerifyBackup(const RestoreOptions& options);

}  // namespace tillit::backup

#endif  // TILLIT_BACKUP_BACKUP_H_
