// LogStorage: where an AuditLog keeps its entries and checkpoints. The
// AuditLog in front of it owns what every store shares: group commit, the
// Merkle tree, proofs and signing. A store owns the rows, their order
// across every process or node that appends, listing by citizen and actor,
// and its own housekeeping.
//
// Two stores exist: the data directory's SQLCipher file (audit.db, the
// default, opened by AuditLog::Open) and PostgreSQL for many nodes
// (pgstore::PgLogStorage).
//
// Every store keeps the same rules: an append is durable when Append
// returns; entries are numbered without gaps, in one order that every
// appender sees; a stored checkpoint is never replaced.
#ifndef TILLIT_AUDIT_LOG_STORAGE_H_
#define TILLIT_AUDIT_LOG_STORAGE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/audit/entry.h"
#include "tillit/audit/merkle.h"
#include "tillit/base/status.h"

namespace tillit::audit {

struct StoredEntry {
  uint64_t index = 0;
  std::string canonical;  // the bytes that were hashed
  AuditEntry entry;
};

struct ListQuery {
  // Entries with index > after, oldest first (-1: from the beginning);
  // without it, newest first.
  std::optional<int64_t> after;
  std::optional<uint64_t> before;  // entries with index < before (newest first)
  std::string citizen_id;          // filter, or empty
  std::string actor_id;            // filter, or empty
  size_t limit = 100;              // 1..1000
};

// Entries [first, end()) as stored: each one's canonical bytes (views into
// `bytes`) and leaf hash.
struct LogRow {
  LogRow() = default;
  // A moved row's items view its new `bytes` (a short string's buffer
  // moves with it).
  LogRow(LogRow&& other) noexcept { *this = std::move(other); }
  LogRow& operator=(LogRow&& other) noexcept {
    const char* const base = other.bytes.data();
    first = other.first;
    bytes = std::move(other.bytes);
    items = std::move(other.items);
    leaves = std::move(other.leaves);
    for (std::string_view& item : items) {
      if (!item.empty())
        item =
            std::string_view(bytes.data() + (item.data() - base), item.size());
    }
    return *this;
  }
  LogRow(const LogRow&) = delete;
  LogRow& operator=(const LogRow&) = delete;

  uint64_t first = 0;
  std::string bytes;                    // owns what `items` views
  std::vector<std::string_view> items;  // empty views when read without
  std::vector<Hash> leaves;             // empty when read without

  uint64_t end() const { return first + items.size(); }
};

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  // ---- Called by the AuditLog one at a time (under its write lock).

  // The leaves of the entries in [begin, end) that the log holds, in
  // order: fewer than asked at the log's end, DataLoss at a gap. The tree
  // reads its tiles back with it, and a log loads itself in chunks.
  virtual Status ReadLeaves(uint64_t begin, uint64_t end,
                            std::vector<Hash>* out) = 0;
  // Durably stores `entries` (canonical bytes, with their leaves) after
  // whatever the log holds. The caller knows of `known` entries; holding
  // the log's write lock across every appender (process or node), the
  // store puts the leaves of those others appended from `known` on into
  // `foreign` and numbers these after them: the first gets index
  // known + foreign->size(). Nothing is stored on error.
  virtual Status Append(std::span<const std::string_view> entries,
                        std::span<const Hash> leaves, uint64_t known,
                        std::vector<Hash>* foreign) = 0;
  // The note stored for a tree of `size` entries, if any.
  virtual StatusOr<std::optional<std::string>> CheckpointAt(uint64_t size) = 0;
  // Stores `note` for `size` unless one is stored for it already; returns
  // the note stored for `size` (the earlier one, if any).
  virtual StatusOr<std::string> StoreCheckpoint(uint64_t size,
                                                const std::string& note) = 0;

  // ---- Safe from any thread, without the AuditLog's locks.

  // Entries as ListQuery says; `q` is already checked (limit 1..1000).
  virtual StatusOr<std::vector<StoredEntry>> List(const ListQuery& q) = 0;
  // Every row from the beginning, in order, read with entries and leaves
  // (verification). `fn` may move from the row; its error stops the scan.
  // A row that cannot be read is DataLoss.
  virtual Status Scan(const std::function<Status(LogRow&)>& fn) = 0;
  // Every stored checkpoint, by size.
  virtual Status ScanCheckpoints(
      const std::function<Status(uint64_t size, const std::string& note)>&
          fn) = 0;
  // Housekeeping after appends that reach `size` entries are durable, run
  // by the appending caller outside the AuditLog's locks.
  virtual void AfterAppend(uint64_t size) { (void)size; }
};

// ---- For stores.

// The stored framing of a row's entries: per entry, its length as 4 bytes
// little-endian, then its bytes.
void AppendFramed(std::string_view entry, std::string* out);
// Splits row->bytes into `count` framed entries (row->items). DataLoss
// naming the row when the bytes are not exactly that.
Status SplitFramed(size_t count, LogRow* row);
// The value of `"key":"` in a canonical entry (whose values never hold a
// quote), or empty: `field` is "citizen" or "actor_id".
std::string_view CanonicalField(std::string_view entry, std::string_view field);
// Parses entry `index` and adds it to `out` if it passes q's filters.
Status AddListed(uint64_t index, std::string_view canonical, const ListQuery& q,
                 std::vector<StoredEntry>* out);
// The errors every store gives for a damaged log.
Status MalformedRow(uint64_t first);
Status GapAt(uint64_t index);

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_LOG_STORAGE_H_
