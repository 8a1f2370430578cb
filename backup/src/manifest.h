// The backup manifest's text form and its signature, and the file helpers
// backups and restores share. Private to the backup library.
//
// Thread-safety: pure functions, and file operations on paths the caller
// owns.
#ifndef TILLIT_BACKUP_SRC_MANIFEST_H_
#define TILLIT_BACKUP_SRC_MANIFEST_H_

#include <cstdint>
#include <string>

#include "tillit/backup/backup.h"
#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/signing.h"

namespace tillit::backup {

// The largest manifest read back (a million citizens fit).
inline constexpr size_t kMaxManifestBytes = 512u << 20;

// The manifest as JSON text (the bytes that are signed).
std::string ManifestText(const Manifest& m);
// Parses and checks a manifest: its format and version, and that every
// path is one a backup may hold (no "..", nothing absolute). DataLoss for
// anything else.
StatusOr<Manifest> ParseManifest(const std::string& text);

// The key that signs this vault's backup manifests.
StatusOr<crypto::SigningKey> ManifestSigner(const crypto::KeyDeriver& keys);
// manifest.sig's contents for `text`: the base64 signature and a newline.
std::string SignManifest(const crypto::SigningKey& key,
                         const std::string& text);
// Whether `sig` (manifest.sig's contents) is `signer`'s signature of
// `text`.
bool ManifestSignatureVerifies(const crypto::Ed25519PublicKey& signer,
                               const std::string& text, const std::string& sig);

// Whether `path` is a name a backup may hold: vault.json, registry.db,
// audit.db, privacy.db, root.key, root.sealed, citizens/c_<32 hex>.db,
// releases/rel_<32 hex>.tillit.
bool IsBackupPath(const std::string& path);

// A file's size and SHA-256 (hex).
struct FileDigest {
  uint64_t size = 0;
  std::string sha256;
};
StatusOr<FileDigest> DigestFile(const std::string& path);

// Copies `from` into the new file `to` (mode 0600) through `env`, and
// syncs it; returns the digest of what was copied. On error nothing is
// left at `to`.
StatusOr<FileDigest> CopyFileDurably(const std::string& from,
                                     const std::string& to, Env* env);

// Removes `path` and a database's -wal, -shm and -journal companions
// through `env`; missing files are not an error.
Status RemoveWithCompanions(const std::string& path, Env* env);

}  // namespace tillit::backup

#endif  // TILLIT_BACKUP_SRC_MANIFEST_H_
