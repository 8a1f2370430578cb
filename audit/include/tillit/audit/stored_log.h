// The data directory's audit log as rows (audit.db), for moving them into
// another store (`tillit migrate`): the entries keep their bytes, leaves
// and indexes, and the signed checkpoints their notes, so the tree, its
// roots and every proof handed out before stay what they were.
#ifndef TILLIT_AUDIT_STORED_LOG_H_
#define TILLIT_AUDIT_STORED_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tillit/audit/log_storage.h"
#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"

namespace tillit::audit {

// DATA_DIR/audit.db under its key from `keys`, as a LogStorage; never
// created (NotFound-like errors when there is none).
StatusOr<std::unique_ptr<LogStorage>> OpenStoredLogStorage(
    const std::string& data_dir, const crypto::KeyDeriver& keys);

// The note of the largest checkpoint `storage` holds; nullopt for none.
StatusOr<std::optional<std::string>> LatestCheckpoint(LogStorage& storage);

// Appends every entry of `from`, in order and with its leaf, to `to`, which
// must hold none (FailedPrecondition otherwise), then stores every
// checkpoint note of `from` in `to`. `progress` (may be empty) is told the
// entries copied so far. Returns how many entries were copied. An error
// leaves `to` with a prefix of `from`'s entries: copy into a fresh store.
StatusOr<uint64_t> CopyLogRows(LogStorage& from, LogStorage& to,
                               const std::function<void(uint64_t)>& progress);

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_STORED_LOG_H_
