#include "tillit/audit/audit_log.h"

#include <algorithm>
#include <future>
#include <iterator>
#include <system_error>
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/kdf.h"

namespace tillit::audit {
namespace {

constexpr size_t kMaxListLimit = 1000;
// Entries in one stored row. A group commit writes one row (or several,
// for more than this); a tile of the tree spans a row or two.
constexpr size_t kMaxRowEntries = 256;
// Unlisted entries after which the next leader brings the listing index
// up to date, and the most entries one index transaction takes. Every
// 16,384 made a burst of ~100 ms of CPU that, at a fixed 5,000 reads/s
// on two cores, queued requests behind it for a p99 of 250 ms; every
// 1,024 costs a few milliseconds at a time.
constexpr uint64_t kIndexEvery = 1024;
constexpr uint64_t kIndexChunk = 32768;
// Entries after which the log's checkpointer copies the WAL into audit.db
// (about 150 group commits, 1,000 WAL pages at 5,000 audited reads/s).
// Left to the automatic checkpoint alone, the commit that crossed 64 MB of
// WAL copied every page back itself: a 70 ms commit every ~15 s that every
// audited request waited on.
constexpr uint64_t kCheckpointEvery = 4096;

// The first schema, exactly as tillit wrote it before schema versions.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS entries (
  idx        INTEGER PRIMARY KEY,   -- 0-based position in the tree
  entry      TEXT    NOT NULL,      -- canonical bytes (hashed as the leaf)
  leaf       BLOB    NOT NULL,      -- SHA-256(0x00 || entry)
  citizen_id TEXT    NOT NULL,
  actor_id   TEXT    NOT NULL,
  time       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_citizen ON entries (citizen_id, idx);
CREATE INDEX IF NOT EXISTS entries_by_actor ON entries (actor_id, idx);
CREATE TABLE IF NOT EXISTS checkpoints (
  size INTEGER PRIMARY KEY,
  note TEXT    NOT NULL
);
)sql";

// Schema 2: entries are stored a row per group commit, with no secondary
// index (the listing index lives in its own file, see ListingIndex). A
// row costs the single writer one b-tree insert for up to 256 entries
// instead of three per entry.
constexpr const char* kRowsTable = R"sql(
CREATE TABLE IF NOT EXISTS batches (
  first   INTEGER PRIMARY KEY,  -- index of the row's first entry
  count   INTEGER NOT NULL,     -- entries in the row, 1 to 256
  leaves  BLOB    NOT NULL,     -- count x 32 bytes: each entry's leaf hash
  entries BLOB    NOT NULL      -- per entry: 4-byte little-endian length, bytes
);
)sql";

Hash ToHash(std::span<const uint8_t> blob) {
  Hash h{};
  if (blob.size() == h.size()) std::copy(blob.begin(), blob.end(), h.begin());
  return h;
}

// One stored row being built: its entries framed, its leaves concatenated.
struct RowBuilder {
  uint64_t first = 0;
  size_t count = 0;
  std::string entries;
  std::string leaves;

  void Add(std::string_view entry, const Hash& leaf) {
    const uint32_t n = static_cast<uint32_t>(entry.size());
    for (int shift = 0; shift < 32; shift += 8)
      entries += static_cast<char>((n >> shift) & 0xff);
    entries += entry;
    leaves.append(reinterpret_cast<const char*>(leaf.data()), leaf.size());
    ++count;
  }
  // Inserts the row (if any) and starts the next at `next_first`.
  Status Flush(storage::Statement& insert, uint64_t next_first) {
    if (count > 0) {
      insert.Bind(1, static_cast<int64_t>(first))
          .Bind(2, static_cast<int64_t>(count))
          .BindBlob(3, crypto::AsBytes(entries))
          .BindBlob(4, crypto::AsBytes(leaves));
      TILLIT_RETURN_IF_ERROR(insert.Run());
    }
    first = next_first;
    count = 0;
    entries.clear();
    leaves.clear();
    return Status::Ok();
  }
};

constexpr const char* kInsertRow =
    "INSERT INTO batches (first, count, entries, leaves) "
    "VALUES (?1, ?2, ?3, ?4)";

Status MalformedRow(uint64_t first) {
  return Status::DataLoss("audit log row at index " + std::to_string(first) +
                          " is malformed; run `tillit audit verify`");
}
Status GapAt(uint64_t index) {
  return Status::DataLoss("audit log has a gap at index " +
                          std::to_string(index) +
                          "; run `tillit audit verify`");
}

// A stored row read back: its entries split out of the framed blob, its
// leaves checked to be one hash per entry.
struct Row {
  uint64_t first = 0;
  std::string entries;  // owns the bytes the views point into
  std::vector<std::string_view> items;
  std::vector<Hash> leaves;

  uint64_t end() const { return first + items.size(); }
};

// Reads the row at the statement's current result: (first, count,
// entries or NULL, leaves or NULL).
Status ReadRow(const storage::Statement& st, bool with_entries,
               bool with_leaves, Row* row) {
  row->first = static_cast<uint64_t>(st.ColumnInt64(0));
  const int64_t count = st.ColumnInt64(1);
  if (count < 1 || count > static_cast<int64_t>(kMaxRowEntries))
    return MalformedRow(row->first);
  row->items.clear();
  row->leaves.clear();
  if (with_leaves) {
    const auto blob = st.ColumnBlob(3);
    if (blob.size() != static_cast<size_t>(count) * 32)
      return MalformedRow(row->first);
    for (int64_t i = 0; i < count; ++i)
      row->leaves.push_back(ToHash(blob.subspan(i * 32, 32)));
  }
  if (with_entries) {
    const auto blob = st.ColumnBlob(2);
    row->entries.assign(reinterpret_cast<const char*>(blob.data()),
                        blob.size());
    std::string_view rest = row->entries;
    for (int64_t i = 0; i < count; ++i) {
      if (rest.size() < 4) return MalformedRow(row->first);
      uint32_t n = 0;
      for (int b = 0; b < 4; ++b)
        n |= static_cast<uint32_t>(static_cast<uint8_t>(rest[b])) << (8 * b);
      rest.remove_prefix(4);
      if (rest.size() < n) return MalformedRow(row->first);
      row->items.push_back(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    if (!rest.empty()) return MalformedRow(row->first);
  } else {
    row->items.assign(static_cast<size_t>(count), std::string_view());
  }
  return Status::Ok();
}

// Reads the row that holds entry `idx` into `row`; false when none does.
StatusOr<bool> ReadRowHolding(storage::Database& db, uint64_t idx, Row* row) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db.Prepare("SELECT first, count, entries, leaves FROM batches "
                 "WHERE first <= ?1 ORDER BY first DESC LIMIT 1"));
  st.Bind(1, static_cast<int64_t>(idx));
  TILLIT_ASSIGN_OR_RETURN(bool found, st.Step());
  row->items.clear();
  if (found) {
    Status read = ReadRow(st, true, true, row);
    if (!read.ok()) {
      row->items.clear();
      return read;
    }
  }
  if (found && idx < row->end()) return true;
  row->items.clear();
  return false;
}

// 1 to 2: every entry moves into rows of up to 256, in order; a gap in a
// damaged log starts a new row, so verification still finds it where it
// was. The secondary indexes go with the old table.
Status MoveEntriesIntoRows(storage::Database& db) {
  TILLIT_RETURN_IF_ERROR(db.Exec(kRowsTable));
  {
    // Schema 1 refused such a log at open and verification; moving the
    // rest would drop the evidence with the old table.
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db.Prepare("SELECT count(*) FROM entries WHERE idx < 0"));
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row && st.ColumnInt64(0) > 0) {
      return Status::DataLoss(
          "audit log has entries at negative indexes; it is damaged and was "
          "not upgraded");
    }
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement read,
      db.Prepare("SELECT idx, entry, leaf FROM entries ORDER BY idx"));
  TILLIT_ASSIGN_OR_RETURN(storage::Statement insert, db.Prepare(kInsertRow));
  RowBuilder row;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool more, read.Step());
    if (!more) break;
    const uint64_t idx = static_cast<uint64_t>(read.ColumnInt64(0));
    if (row.count == kMaxRowEntries ||
        (row.count > 0 && idx != row.first + row.count))
      TILLIT_RETURN_IF_ERROR(row.Flush(insert, idx));
    if (row.count == 0) row.first = idx;
    row.Add(read.ColumnText(1), ToHash(read.ColumnBlob(2)));
  }
  TILLIT_RETURN_IF_ERROR(row.Flush(insert, 0));
  return db.Exec("DROP TABLE entries");
}

// The log's schema history: step i takes version i to i + 1. A new step is
// added here with a test on a directory made by
// scripts/make_format_fixture.sh (docs/OPERATIONS.md).
constexpr storage::SchemaStep kSteps[] = {
    // 0 to 1: the first schema. IF NOT EXISTS: a log an older tillit made
    // already has it, and is only stamped.
    [](storage::Database& db) { return db.Exec(kSchemaV1); },
    MoveEntriesIntoRows,
};
static_assert(std::size(kSteps) == AuditLog::kSchemaVersion);
const storage::SchemaHistory kHistory{"audit log", kSteps};

Status MigrateLog(storage::Database& db) { return db.Migrate(kHistory); }

// The stored leaf hashes [begin, end), for the tree to read back a tile.
Status ReadLeaves(storage::Database& db, uint64_t begin, uint64_t end,
                  std::vector<Hash>* out) {
  out->clear();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db.Prepare("SELECT first, count, NULL, leaves FROM batches "
                 "WHERE first < ?2 AND first >= coalesce((SELECT max(first) "
                 "FROM batches WHERE first <= ?1), 0) ORDER BY first"));
  st.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
  Row row;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    TILLIT_RETURN_IF_ERROR(ReadRow(st, false, true, &row));
    for (size_t i = 0; i < row.leaves.size(); ++i) {
      const uint64_t idx = row.first + i;
      if (idx < begin) continue;
      if (idx >= end) break;
      if (idx != begin + out->size()) return GapAt(begin + out->size());
      out->push_back(row.leaves[i]);
    }
  }
  return Status::Ok();
}

StatusOr<crypto::SecretBytes> AuditDbKey(const crypto::KeyDeriver& keys) {
  return keys.DeriveKey(crypto::KdfContext::kAuditDatabase, 1);
}

// The value of `"key":"` in a canonical entry (whose values never hold a
// quote), or empty.
std::string_view CanonicalField(std::string_view entry,
                                std::string_view quoted_key) {
  const size_t at = entry.find(quoted_key);
  if (at == std::string_view::npos) return {};
  entry.remove_prefix(at + quoted_key.size());
  return entry.substr(0, entry.find('"'));
}

std::string DefaultIndexPath(const std::string& log_path) {
  constexpr std::string_view kDb = ".db";
  if (log_path.size() > kDb.size() &&
      log_path.compare(log_path.size() - kDb.size(), kDb.size(), kDb) == 0)
    return log_path.substr(0, log_path.size() - kDb.size()) + "-index.db";
  return log_path + "-index";
}

constexpr const char* kIndexSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS listing (
  key TEXT    NOT NULL,  -- 'c:' citizen id or 'a:' actor id
  idx INTEGER NOT NULL,
  PRIMARY KEY (key, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
  id         INTEGER PRIMARY KEY CHECK (id = 0),
  indexed_to INTEGER NOT NULL,  -- entries [0, indexed_to) are listed
  last_leaf  BLOB    NOT NULL   -- leaf of entry indexed_to - 1: whose log
);
)sql";
constexpr storage::SchemaStep kIndexSteps[] = {
    [](storage::Database& db) { return db.Exec(kIndexSchemaV1); },
};
const storage::SchemaHistory kIndexHistory{"audit index", kIndexSteps};

}  // namespace

// The listing index: which entries name a citizen or an actor, kept in its
// own database beside the log (audit-index.db) so that writing it never
// holds up the log's writer. It is derived data: it lags the log and is
// brought up to date before every filtered listing, in sorted batches of
// many entries (the log's leader does so every 1,024 entries); after a
// crash, or beside a log it was not made from (its last entry's leaf no
// longer matches), it is rebuilt from the log.
class AuditLog::ListingIndex {
 public:
  // Nothing is opened or created until the first listing or catch-up: a
  // log opened only to append or sign (the command line, a backup's copy)
  // leaves no index beside it.
  ListingIndex(std::string log_path, std::string index_path,
               const crypto::SecretBytes* key, Env* env)
      : log_path_(std::move(log_path)),
        index_path_(std::move(index_path)),
        key_(key),
        env_(env),
        in_use_(env->FileExists(index_path_)) {}

  // Whether appends should keep the index up to date: it has been opened
  // here, or exists from an earlier run. Until something lists, a log is
  // only appended to and no index is made.
  bool in_use() const { return in_use_.load(std::memory_order_relaxed); }
  // How far the index reached when last brought up to date here.
  uint64_t listed_to() const {
    return listed_to_.load(std::memory_order_relaxed);
  }

  // Lists every entry up to the log's end; returns how many are listed.
  StatusOr<uint64_t> CatchUp() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    TILLIT_RETURN_IF_ERROR(Ready());
    return CatchUpLocked();
  }

  StatusOr<std::vector<StoredEntry>> List(const ListQuery& q) EXCLUDES(mu_);

 private:
  Status Ready() REQUIRES(mu_);
  StatusOr<uint64_t> CatchUpLocked() REQUIRES(mu_);
  // The row holding entry `idx`, read through the cache of the last one.
  StatusOr<std::string_view> EntryAt(uint64_t idx) REQUIRES(mu_);
  Status Emit(uint64_t idx, std::string_view text, const ListQuery& q,
              std::vector<StoredEntry>* out) REQUIRES(mu_);

  const std::string log_path_;
  const std::string index_path_;
  const crypto::SecretBytes* const key_;  // the log's, which outlives this
  Env* const env_;
  std::atomic<bool> in_use_;
  std::atomic<uint64_t> listed_to_{0};
  Mutex mu_;
  std::unique_ptr<storage::Database> log_ PT_GUARDED_BY(mu_);  // read only
  std::unique_ptr<storage::Database> index_ PT_GUARDED_BY(mu_);
  Row cached_ GUARDED_BY(mu_);
};

Status AuditLog::ListingIndex::Ready() {
  if (index_ != nullptr) return Status::Ok();
  storage::Database::Options o;
  o.env = env_;
  auto log = storage::Database::Open(log_path_, key_, o);
  if (!log.ok()) return storage::WithOpenContext(log.status(), "audit log");
  o.create = true;
  const auto migrate = [](storage::Database& db) {
    return db.Migrate(kIndexHistory);
  };
  auto db = storage::Database::Open(index_path_, key_, o, migrate);
  if (!db.ok() && (db.status().code() == StatusCode::kDataLoss ||
                   db.status().code() == StatusCode::kFailedPrecondition)) {
    // Derived data that cannot be read (damaged, or another format): made
    // again from the log.
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      if (env_->FileExists(index_path_ + suffix))
        TILLIT_RETURN_IF_ERROR(env_->RemoveFile(index_path_ + suffix));
    }
    db = storage::Database::Open(index_path_, key_, o, migrate);
  }
  if (!db.ok()) return storage::WithOpenContext(db.status(), "audit log index");
  log_ = std::move(log).value();
  index_ = std::move(db).value();
  in_use_.store(true, std::memory_order_relaxed);
  return Status::Ok();
}

StatusOr<uint64_t> AuditLog::ListingIndex::CatchUpLocked() {
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                            index_->Begin());
    uint64_t indexed_to = 0;
    Hash last_leaf{};
    {
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          index_->Prepare("SELECT indexed_to, last_leaf FROM state"));
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (row) {
        indexed_to = static_cast<uint64_t>(st.ColumnInt64(0));
        last_leaf = ToHash(st.ColumnBlob(1));
      }
    }
    Row row;
    bool reset = false;
    if (indexed_to > 0) {
      // Is this the index of this log? Its last listed entry's leaf must
      // still be there.
      TILLIT_ASSIGN_OR_RETURN(bool found,
                              ReadRowHolding(*log_, indexed_to - 1, &row));
      if (!found || row.leaves[indexed_to - 1 - row.first] != last_leaf) {
        TILLIT_RETURN_IF_ERROR(index_->Exec("DELETE FROM listing"));
        TILLIT_RETURN_IF_ERROR(index_->Exec("DELETE FROM state"));
        indexed_to = 0;
        reset = true;
      }
    }
    // The next rows, a chunk's worth, their (key, index) pairs sorted so
    // that each page of the index is written once per chunk. Read from the
    // row holding indexed_to, whichever way the log's rows are cut.
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement read,
        log_->Prepare("SELECT first, count, entries, leaves FROM batches "
                      "WHERE first >= coalesce((SELECT max(first) FROM "
                      "batches WHERE first <= ?1), 0) ORDER BY first"));
    read.Bind(1, static_cast<int64_t>(indexed_to));
    std::vector<std::pair<std::string, uint64_t>> pairs;
    uint64_t reached = indexed_to;
    while (reached - indexed_to < kIndexChunk) {
      TILLIT_ASSIGN_OR_RETURN(bool more, read.Step());
      if (!more) break;
      TILLIT_RETURN_IF_ERROR(ReadRow(read, true, true, &row));
      if (row.end() <= reached) continue;  // ends where the index does
      if (row.first > reached) return GapAt(reached);
      for (size_t i = reached - row.first; i < row.items.size(); ++i) {
        const std::string_view citizen =
            CanonicalField(row.items[i], "\"citizen\":\"");
        const std::string_view actor =
            CanonicalField(row.items[i], "\"actor_id\":\"");
        if (!citizen.empty())
          pairs.emplace_back("c:" + std::string(citizen), row.first + i);
        if (!actor.empty())
          pairs.emplace_back("a:" + std::string(actor), row.first + i);
      }
      reached = row.end();
      last_leaf = row.leaves.back();
    }
    read.Reset();
    if (reached == indexed_to) {  // nothing new
      if (reset) TILLIT_RETURN_IF_ERROR(txn.Commit());
      listed_to_.store(reached, std::memory_order_relaxed);
      return reached;
    }
    std::sort(pairs.begin(), pairs.end());
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement insert,
        index_->Prepare("INSERT OR IGNORE INTO listing (key, idx) "
                        "VALUES (?1, ?2)"));
    for (const auto& [key, idx] : pairs) {
      insert.Bind(1, key).Bind(2, static_cast<int64_t>(idx));
      TILLIT_RETURN_IF_ERROR(insert.Run());
    }
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement state,
        index_->Prepare("INSERT OR REPLACE INTO state (id, indexed_to, "
                        "last_leaf) VALUES (0, ?1, ?2)"));
    state.Bind(1, static_cast<int64_t>(reached)).BindBlob(2, last_leaf);
    TILLIT_RETURN_IF_ERROR(state.Run());
    TILLIT_RETURN_IF_ERROR(txn.Commit());
    listed_to_.store(reached, std::memory_order_relaxed);
    if (reached - indexed_to < kIndexChunk) return reached;
  }
}

StatusOr<std::string_view> AuditLog::ListingIndex::EntryAt(uint64_t idx) {
  if (cached_.items.empty() || idx < cached_.first || idx >= cached_.end()) {
    StatusOr<bool> found = ReadRowHolding(*log_, idx, &cached_);
    if (!found.ok() || !*found) {
      cached_.items.clear();  // never half a row
      return found.ok() ? GapAt(idx) : found.status();
    }
  }
  return cached_.items[idx - cached_.first];
}

Status AuditLog::ListingIndex::Emit(uint64_t idx, std::string_view text,
                                    const ListQuery& q,
                                    std::vector<StoredEntry>* out) {
  StoredEntry e;
  e.index = idx;
  e.canonical = std::string(text);
  TILLIT_ASSIGN_OR_RETURN(e.entry, ParseCanonicalEntry(e.canonical));
  if (!q.citizen_id.empty() && e.entry.citizen_id != q.citizen_id)
    return Status::Ok();
  if (!q.actor_id.empty() && e.entry.actor_id != q.actor_id)
    return Status::Ok();
  out->push_back(std::move(e));
  return Status::Ok();
}

StatusOr<std::vector<StoredEntry>> AuditLog::ListingIndex::List(
    const ListQuery& q) {
  MutexLock lock(&mu_);
  TILLIT_RETURN_IF_ERROR(Ready());
  // Oldest first after a position, or newest first (before a position).
  const bool forward = q.after.has_value();
  const int64_t bound =
      forward ? *q.after
              : (q.before ? static_cast<int64_t>(
                                std::min<uint64_t>(*q.before, INT64_MAX))
                          : INT64_MAX);
  std::vector<StoredEntry> out;
  if (forward && bound == INT64_MAX) return out;  // nothing comes after
  if (q.citizen_id.empty() && q.actor_id.empty()) {
    // Straight from the log's rows.
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        log_->Prepare(forward
                          ? "SELECT first, count, entries, NULL FROM batches "
                            "WHERE first >= coalesce((SELECT max(first) FROM "
                            "batches WHERE first <= ?1), 0) ORDER BY first"
                          : "SELECT first, count, entries, NULL FROM batches "
                            "WHERE first < ?1 ORDER BY first DESC"));
    st.Bind(1, forward ? bound + 1 : bound);
    Row row;
    while (out.size() < q.limit) {
      TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) break;
      TILLIT_RETURN_IF_ERROR(ReadRow(st, true, false, &row));
      const size_t n = row.items.size();
      for (size_t k = 0; k < n && out.size() < q.limit; ++k) {
        const size_t i = forward ? k : n - 1 - k;
        const int64_t idx = static_cast<int64_t>(row.first + i);
        if (forward ? idx <= bound : idx >= bound) continue;
        TILLIT_RETURN_IF_ERROR(Emit(idx, row.items[i], q, &out));
      }
    }
    return out;
  }
  TILLIT_RETURN_IF_ERROR(CatchUpLocked().status());
  const std::string key =
      q.citizen_id.empty() ? "a:" + q.actor_id : "c:" + q.citizen_id;
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      index_->Prepare(forward ? "SELECT idx FROM listing WHERE key = ?1 AND "
                                "idx > ?2 ORDER BY idx ASC"
                              : "SELECT idx FROM listing WHERE key = ?1 AND "
                                "idx < ?2 ORDER BY idx DESC"));
  st.Bind(1, key).Bind(2, bound);
  while (out.size() < q.limit) {
    TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    const uint64_t idx = static_cast<uint64_t>(st.ColumnInt64(0));
    TILLIT_ASSIGN_OR_RETURN(std::string_view text, EntryAt(idx));
    TILLIT_RETURN_IF_ERROR(Emit(idx, text, q, &out));
  }
  return out;
}

AuditLog::AuditLog(Options options) : options_(std::move(options)) {}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(Options options) {
  if (options.db_key.size() != 32 || options.signing_seed.size() != 32) {
    return Status::InvalidArgument("audit keys must be 32 bytes");
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  TILLIT_ASSIGN_OR_RETURN(
      auto signer, crypto::SigningKey::FromSeed(log->options_.signing_seed));
  log->signer_.emplace(std::move(signer));
  storage::Database::Options db_options;
  db_options.create = true;
  db_options.env = log->options_.env;
  // Every group commit rewrites the log's last pages; checkpointing every
  // 4 MB copied them back into the file several times a second under load.
  db_options.wal_autocheckpoint_pages = 16384;  // 64 MB of 4 KiB pages
  auto db = storage::Database::Open(log->options_.path, &log->options_.db_key,
                                    db_options, MigrateLog);
  if (!db.ok()) return storage::WithOpenContext(db.status(), "audit log");
  TILLIT_RETURN_IF_ERROR(log->Load(std::move(db).value()));
  const std::string index_path = log->options_.index_path.empty()
                                     ? DefaultIndexPath(log->options_.path)
                                     : log->options_.index_path;
  log->index_ = std::make_unique<ListingIndex>(
      log->options_.path, index_path, &log->options_.db_key, log->options_.env);
  return log;
}

Status AuditLog::Load(std::unique_ptr<storage::Database> db) {
  MutexLock write_lock(&write_mu_);
  MutexLock lock(&mu_);
  db_ = std::move(db);
  // The tree keeps whole tiles' hashes and reads a tile's leaves back for
  // a proof (under write_mu_, which every caller that may read holds):
  // memory stays ~0.25 bytes per entry, not 64.
  tree_ =
      MerkleTree([this](uint64_t begin, uint64_t end, std::vector<Hash>* out) {
        write_mu_.AssertHeld();
        return ReadLeaves(*db_, begin, end, out);
      });
  // Load the tree. A gap means the log was damaged: refuse to append to it.
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT first, count, NULL, leaves FROM batches "
                   "ORDER BY first"));
  Row row;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
    if (!more) break;
    TILLIT_RETURN_IF_ERROR(ReadRow(st, false, true, &row));
    if (row.first != tree_.size()) return GapAt(tree_.size());
    for (const Hash& leaf : row.leaves) tree_.Append(leaf);
  }
  checkpoint_hint_ = tree_.size();
  return Status::Ok();
}

StatusOr<std::unique_ptr<AuditLog>> AuditLog::OpenInDirectory(
    const std::string& data_dir, const crypto::KeyDeriver& keys, Env* env) {
  Options o;
  o.path = data_dir + "/audit.db";
  o.env = env;
  TILLIT_ASSIGN_OR_RETURN(o.db_key, AuditDbKey(keys));
  TILLIT_ASSIGN_OR_RETURN(o.signing_seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  return Open(std::move(o));
}

Status AuditLog::CopyDatabase(const std::string& data_dir,
                              const crypto::KeyDeriver& keys,
                              const std::string& dest, Env* env) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key, AuditDbKey(keys));
  storage::Database::Options o;
  o.env = env;
  auto source = storage::Database::Open(data_dir + "/audit.db", &key, o);
  if (!source.ok())
    return storage::WithOpenContext(source.status(), "audit log");
  return (*source)->CopyTo(dest, &key, o).status();
}

AuditLog::~AuditLog() {
  std::thread checkpointer;
  {
    MutexLock lock(&checkpoint_mu_);
    stopping_ = true;
    checkpoint_cv_.Signal();
    checkpointer = std::move(checkpointer_);
  }
  if (checkpointer.joinable()) checkpointer.join();
}

bool AuditLog::WantCheckpoint() {
  MutexLock lock(&checkpoint_mu_);
  if (stopping_) return false;
  checkpoint_wanted_ = true;
  if (checkpointer_.joinable()) {
    checkpoint_cv_.Signal();
    return true;
  }
  try {
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
  } catch (const std::system_error&) {
    // No thread to be had: the automatic checkpoint copies the WAL.
    checkpoint_wanted_ = false;
    return false;
  }
  return true;
}

void AuditLog::CheckpointLoop() {
  std::unique_ptr<storage::Database> db;
  for (;;) {
    {
      MutexLock lock(&checkpoint_mu_);
      while (!checkpoint_wanted_ && !stopping_) checkpoint_cv_.Wait();
      if (stopping_) return;
      checkpoint_wanted_ = false;
    }
    uint64_t reached;
    {
      MutexLock lock(&mu_);
      reached = tree_.size();
    }
    if (db == nullptr) {
      storage::Database::Options o;
      o.env = options_.env;
      auto opened = storage::Database::Open(options_.path, &options_.db_key, o);
      if (opened.ok()) db = std::move(opened).value();
    }
    // Most of the WAL is copied while group commits go on; the last few
    // frames with the writer held off (a few milliseconds, mostly the
    // file's fsync), so that its next commit finds the WAL fully copied
    // and starts it again from the beginning: the WAL never grows to the
    // automatic checkpoint's threshold, whose copy would run inside a
    // commit. A failure (busy: another connection's checkpoint is
    // running) costs nothing but time: the WAL keeps every entry, and the
    // next request or the automatic checkpoint copies what this one did
    // not.
    if (db != nullptr && db->CheckpointPassive().ok()) {
      MutexLock hold(&write_mu_);
      (void)db->CheckpointPassive();
    }
    MutexLock lock(&mu_);
    checkpoint_hint_ = reached;
    checkpointing_ = false;
  }
}

void AuditLog::FailWriteForTesting(int nth) {
  MutexLock lock(&mu_);
  fail_nth_ = nth;
}

Status AuditLog::WriteBatch(const std::vector<Pending*>& batch, uint64_t known,
                            std::vector<Hash>* foreign) {
  MutexLock lock(&write_mu_);
  {
    MutexLock state(&mu_);
    if (fail_nth_ > 0 && --fail_nth_ == 0) {
      return Status::IoError("audit write failed (injected)");
    }
  }
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  // Another process (the command line while a server runs) may have
  // appended since this log was loaded: the write transaction holds the
  // database's write lock, so read its entries now and number ours after
  // them.
  foreign->clear();
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT first, count, NULL, leaves FROM batches "
                     "WHERE first >= ?1 ORDER BY first"));
    st.Bind(1, static_cast<int64_t>(known));
    Row row;
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) break;
      TILLIT_RETURN_IF_ERROR(ReadRow(st, false, true, &row));
      if (row.first != known + foreign->size())
        return GapAt(known + foreign->size());
      foreign->insert(foreign->end(), row.leaves.begin(), row.leaves.end());
    }
  }
  const uint64_t first = known + foreign->size();
  TILLIT_ASSIGN_OR_RETURN(storage::Statement insert, db_->Prepare(kInsertRow));
  RowBuilder row;
  row.first = first;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (row.count == kMaxRowEntries)
      TILLIT_RETURN_IF_ERROR(row.Flush(insert, first + i));
    row.Add(batch[i]->canonical, batch[i]->leaf);
  }
  TILLIT_RETURN_IF_ERROR(row.Flush(insert, 0));
  return txn.Commit();
}

StatusOr<uint64_t> AuditLog::Append(const AuditEntry& entry) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint64_t> indexes,
                          AppendBatch(std::span<const AuditEntry>(&entry, 1)));
  return indexes.front();
}

StatusOr<std::vector<uint64_t>> AuditLog::AppendBatch(
    std::span<const AuditEntry> entries) {
  if (entries.empty()) return std::vector<uint64_t>{};
  // Each caller sleeps on its own slot, and a leader wakes only the
  // callers it wrote for and the one that leads next, after releasing mu_:
  // waking every waiter after each commit, or waking them under mu_, had
  // dozens of threads contend for one mutex only to go back to sleep.
  std::vector<Pending> mine(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    mine[i].entry = &entries[i];
    TILLIT_ASSIGN_OR_RETURN(mine[i].canonical, CanonicalEntry(entries[i]));
    mine[i].leaf = LeafHash(crypto::AsBytes(mine[i].canonical));
  }
  // Pending::done and ::status are written by the leader under mu_.
  auto all_done = [&mine] {
    for (const Pending& p : mine) {
      if (!p.done) return false;
    }
    return true;
  };
  mu_.Lock();
  Waker* wake;
  if (free_wakers_.empty()) {
    wake = &wakers_.emplace_back();
  } else {
    wake = free_wakers_.back();
    free_wakers_.pop_back();
  }
  for (Pending& p : mine) {
    p.wake = wake;
    queue_.push_back(&p);
  }
  std::vector<Waker*> to_wake;
  while (!all_done()) {
    if (leader_active_) {
      const uint32_t seen = wake->seq.load(std::memory_order_acquire);
      mu_.Unlock();
      wake->seq.wait(seen, std::memory_order_acquire);
      mu_.Lock();
      continue;
    }
    // Lead one group commit: everything queued so far, one transaction.
    leader_active_ = true;
    std::vector<Pending*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    const uint64_t known = tree_.size();
    std::vector<Hash> foreign;
    mu_.Unlock();
    Status written = WriteBatch(batch, known, &foreign);
    mu_.Lock();
    if (written.ok()) {
      for (const Hash& h : foreign) tree_.Append(h);
    }
    const uint64_t first = known + foreign.size();
    to_wake.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      Pending* p = batch[i];
      if (written.ok()) {
        tree_.Append(p->leaf);
        p->index = first + i;
      }
      p->status = written;
      p->done = true;
      if (p->wake != wake && (to_wake.empty() || to_wake.back() != p->wake))
        to_wake.push_back(p->wake);
    }
    leader_active_ = false;
    // Whoever queued first while we wrote leads the next commit, woken
    // last: the callers woken before it queue again meanwhile, and their
    // entries share its commit.
    if (!queue_.empty() && queue_.front()->wake != wake)
      to_wake.push_back(queue_.front()->wake);
    for (Waker* w : to_wake) w->seq.fetch_add(1, std::memory_order_release);
    mu_.Unlock();
    for (Waker* w : to_wake) w->seq.notify_one();
    mu_.Lock();
  }
  free_wakers_.push_back(wake);
  // Every 1,024 entries, one caller (after its own are durable) brings
  // the listing index up to date, outside the log's locks: the next group
  // commits go on meanwhile.
  const bool index_now = !indexing_ && index_->in_use() &&
                         tree_.size() >= indexed_hint_ + kIndexEvery;
  if (index_now) indexing_ = true;
  const bool checkpoint_now =
      !checkpointing_ && tree_.size() >= checkpoint_hint_ + kCheckpointEvery;
  if (checkpoint_now) checkpointing_ = true;
  mu_.Unlock();
  if (checkpoint_now && !WantCheckpoint()) {
    MutexLock lock(&mu_);
    checkpointing_ = false;
  }
  if (index_now) {
    StatusOr<uint64_t> listed = index_->CatchUp();
    MutexLock lock(&mu_);
    // On failure, tried again after as many more (and before every
    // filtered listing, which reports the error).
    indexed_hint_ = listed.ok() ? *listed : tree_.size();
    indexing_ = false;
  }
  std::vector<uint64_t> indexes;
  indexes.reserve(mine.size());
  for (const Pending& p : mine) {
    if (!p.status.ok()) return p.status.WithContext("audit append");
    indexes.push_back(p.index);
  }
  return indexes;
}

uint64_t AuditLog::size() const {
  MutexLock lock(&mu_);
  return tree_.size();
}

StatusOr<std::string> AuditLog::SignedCheckpoint() {
  Checkpoint cp;
  {
    MutexLock lock(&mu_);
    cp.origin = options_.origin;
    cp.size = tree_.size();
    cp.root = tree_.size() == 0 ? EmptyRoot() : tree_.Root();
  }
  MutexLock lock(&write_mu_);
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT note FROM checkpoints WHERE size = ?1"));
    st.Bind(1, static_cast<int64_t>(cp.size));
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) return std::string(st.ColumnText(0));
  }
  std::string note = SignCheckpoint(cp, options_.key_name, *signer_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement insert,
      db_->Prepare("INSERT INTO checkpoints (size, note) VALUES (?1, ?2)"));
  insert.Bind(1, static_cast<int64_t>(cp.size)).Bind(2, note);
  TILLIT_RETURN_IF_ERROR(insert.Run());
  return note;
}

StatusOr<std::vector<Hash>> AuditLog::InclusionProof(uint64_t index,
                                                     uint64_t size) const {
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  return tree_.InclusionProof(index, size);
}

StatusOr<std::vector<Hash>> AuditLog::ConsistencyProof(uint64_t from,
                                                       uint64_t to) const {
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  return tree_.ConsistencyProof(from, to);
}

StatusOr<Hash> AuditLog::RootAt(uint64_t size) const {
  MutexLock read_lock(&write_mu_);  // the tree may read a tile back
  MutexLock lock(&mu_);
  if (size == 0) return EmptyRoot();
  return tree_.RootAt(size);
}

const crypto::Ed25519PublicKey& AuditLog::public_key() const {
  return signer_->public_key();
}

std::string AuditLog::verifier_key() const {
  return VerifierKey(options_.key_name, signer_->public_key());
}

StatusOr<std::vector<StoredEntry>> AuditLog::List(const ListQuery& q) {
  if (q.limit == 0 || q.limit > kMaxListLimit) {
    return Status::InvalidArgument("limit must be between 1 and 1000");
  }
  StatusOr<std::vector<StoredEntry>> out = index_->List(q);
  // A filtered listing brought the index up to date: the next appends
  // count from there.
  MutexLock lock(&mu_);
  indexed_hint_ = std::max(indexed_hint_, index_->listed_to());
  return out;
}

// ---------------------------------------------------------------- verification

StatusOr<VerifyReport> VerifyStoredLog(const std::string& data_dir,
                                       const crypto::KeyDeriver& keys,
                                       const std::string& external_note) {
  VerifyReport report;
  auto mark = [&](uint64_t index, std::string problem) {
    report.ok = false;
    report.first_bad_index = index;
    report.problem = std::move(problem);
  };
  auto fail = [&](uint64_t index,
                  std::string problem) -> StatusOr<VerifyReport> {
    mark(index, std::move(problem));
    return report;
  };
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes key, AuditDbKey(keys));
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes seed,
                          keys.DeriveKey(crypto::kContextAuditSigning, 1));
  TILLIT_ASSIGN_OR_RETURN(auto signer, crypto::SigningKey::FromSeed(seed));
  const crypto::Ed25519PublicKey pk = signer.public_key();
  const std::string path = data_dir + "/audit.db";
  auto db = storage::Database::Open(path, &key, {}, MigrateLog);
  if (!db.ok()) return storage::WithOpenContext(db.status(), "audit log");

  // 1. Every entry: contiguous, its stored leaf hash recomputed. (Entries
  //    are parsed strictly when listed; the signed tree is what proves they
  //    are unaltered.) The tree reads tiles back from the (checked) stored
  //    leaves for the checkpoints' roots and proofs.
  storage::Database& stored = **db;
  MerkleTree tree(
      [&stored](uint64_t begin, uint64_t end, std::vector<Hash>* out) {
        return ReadLeaves(stored, begin, end, out);
      });
  //    Reading (decryption) and hashing take about as long as each other:
  //    a chunk of entries is hashed on a second thread while the next is
  //    read.
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        (*db)->Prepare("SELECT first, count, entries, leaves FROM batches "
                       "ORDER BY first"));
    using Chunk = std::vector<std::unique_ptr<Row>>;
    struct Hashed {
      std::vector<Hash> leaves;  // up to the first that does not match
      std::optional<uint64_t> bad;
    };
    auto hash = [](Chunk chunk) {
      Hashed out;
      for (const auto& row : chunk) {
        for (size_t i = 0; i < row->items.size(); ++i) {
          const Hash leaf = LeafHash(crypto::AsBytes(row->items[i]));
          if (leaf != row->leaves[i]) {
            out.bad = row->first + i;
            return out;
          }
          out.leaves.push_back(leaf);
        }
      }
      return out;
    };
    std::future<Hashed> hashing;
    // Adds the chunk being hashed to the tree; false at a leaf mismatch.
    auto settle = [&]() -> bool {
      if (!hashing.valid()) return true;
      Hashed h = hashing.get();
      for (const Hash& leaf : h.leaves) tree.Append(leaf);
      if (!h.bad) return true;
      mark(*h.bad,
           "entry " + std::to_string(*h.bad) + " does not match its leaf hash");
      return false;
    };
    // A chunk: 16,384 entries (64 full rows), however the rows are cut.
    constexpr size_t kChunkEntries = 16384;
    uint64_t expected = 0;  // the index the next row must start at
    for (;;) {
      Chunk chunk;
      size_t entries = 0;
      std::optional<std::string> problem;
      bool end = false;
      while (entries < kChunkEntries) {
        TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
        if (!more) {
          end = true;
          break;
        }
        if (static_cast<uint64_t>(st.ColumnInt64(0)) != expected) {
          problem = "entry " + std::to_string(expected) + " is missing";
          break;
        }
        auto row = std::make_unique<Row>();
        if (!ReadRow(st, true, true, row.get()).ok()) {
          problem = "the row of entries from index " +
                    std::to_string(expected) + " is malformed";
          break;
        }
        expected = row->end();
        entries += row->items.size();
        chunk.push_back(std::move(row));
      }
      if (!settle()) return report;
      if (!chunk.empty())
        // On its own thread, or in settle() if no thread can be started.
        hashing = std::async(std::launch::async | std::launch::deferred, hash,
                             std::move(chunk));
      if (problem || end) {
        if (!settle()) return report;
        if (problem) return fail(expected, *problem);
        break;
      }
    }
  }
  report.entries = tree.size();

  // 2. Every checkpoint: signature, root at its size, consistency with the
  //    previous one.
  std::optional<Checkpoint> previous;
  auto check_note = [&](const std::string& note,
                        std::string_view what) -> StatusOr<bool> {
    auto cp = OpenCheckpoint(note, "tillit-audit", pk);
    const uint64_t good = previous ? previous->size : 0;
    if (!cp.ok()) {
      mark(good, std::string(what) + ": signature or format does not verify");
      return false;
    }
    if (cp->size > tree.size()) {
      mark(tree.size(), std::string(what) + " covers " +
                            std::to_string(cp->size) +
                            " entries but the log holds " +
                            std::to_string(tree.size()) + " (truncated)");
      return false;
    }
    const Hash root = cp->size == 0 ? EmptyRoot() : *tree.RootAt(cp->size);
    if (root != cp->root) {
      mark(good, "entries from index " + std::to_string(good) + " to " +
                     std::to_string(cp->size - 1) + " do not match " +
                     std::string(what) +
                     " (altered, removed, inserted or reordered)");
      return false;
    }
    if (previous && previous->size > 0 && cp->size >= previous->size) {
      auto proof = tree.ConsistencyProof(previous->size, cp->size);
      if (!proof.ok() || !VerifyConsistency(previous->size, cp->size, *proof,
                                            previous->root, cp->root)) {
        mark(good, std::string(what) +
                       " is not consistent with the previous checkpoint");
        return false;
      }
    }
    previous = *cp;
    return true;
  };
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        (*db)->Prepare("SELECT size, note FROM checkpoints ORDER BY size"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const std::string note(st.ColumnText(1));
      TILLIT_ASSIGN_OR_RETURN(
          bool good, check_note(note, "checkpoint of size " +
                                          std::to_string(st.ColumnInt64(0))));
      if (!good) return report;
      ++report.checkpoints;
    }
  }
  if (!external_note.empty()) {
    auto cp = OpenCheckpoint(external_note, "tillit-audit", pk);
    if (!cp.ok())
      return fail(0,
                  "the given checkpoint does not verify with this log's key");
    previous.reset();
    TILLIT_ASSIGN_OR_RETURN(bool good,
                            check_note(external_note, "the given checkpoint"));
    if (!good) return report;
  }
  report.ok = true;
  return report;
}

}  // namespace tillit::audit
