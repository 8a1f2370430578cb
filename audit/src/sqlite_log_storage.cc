#include "sqlite_log_storage.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <system_error>
#include <utility>

#include "tillit/audit/audit_log.h"
#include "tillit/crypto/encoding.h"

namespace tillit::audit::internal {
namespace {

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
// Rows or checkpoints read a statement when scanning (verification).
constexpr size_t kScanPage = 64;

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
    AppendFramed(entry, &entries);
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

// Reads the row at the statement's current result: (first, count,
// entries or NULL, leaves or NULL).
Status ReadRow(const storage::Statement& st, bool with_entries,
               bool with_leaves, LogRow* row) {
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
    row->bytes.assign(reinterpret_cast<const char*>(blob.data()), blob.size());
    return SplitFramed(static_cast<size_t>(count), row);
  }
  row->items.assign(static_cast<size_t>(count), std::string_view());
  return Status::Ok();
}

// Reads the row that holds entry `idx` into `row`; false when none does.
StatusOr<bool> ReadRowHolding(storage::Database& db, uint64_t idx,
                              LogRow* row) {
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
Status ReadStoredLeaves(storage::Database& db, uint64_t begin, uint64_t end,
                        std::vector<Hash>* out) {
  out->clear();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db.Prepare("SELECT first, count, NULL, leaves FROM batches "
                 "WHERE first < ?2 AND first >= coalesce((SELECT max(first) "
                 "FROM batches WHERE first <= ?1), 0) ORDER BY first"));
  st.Bind(1, static_cast<int64_t>(begin)).Bind(2, static_cast<int64_t>(end));
  LogRow row;
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
class SqliteLogStorage::ListingIndex {
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

  const std::string log_path_;
  const std::string index_path_;
  const crypto::SecretBytes* const key_;  // the store's, which outlives this
  Env* const env_;
  std::atomic<bool> in_use_;
  std::atomic<uint64_t> listed_to_{0};
  Mutex mu_;
  std::unique_ptr<storage::Database> log_ PT_GUARDED_BY(mu_);  // read only
  std::unique_ptr<storage::Database> index_ PT_GUARDED_BY(mu_);
  LogRow cached_ GUARDED_BY(mu_);
};

Status SqliteLogStorage::ListingIndex::Ready() {
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

StatusOr<uint64_t> SqliteLogStorage::ListingIndex::CatchUpLocked() {
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
    LogRow row;
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
            CanonicalField(row.items[i], "citizen");
        const std::string_view actor = CanonicalField(row.items[i], "actor_id");
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

StatusOr<std::string_view> SqliteLogStorage::ListingIndex::EntryAt(
    uint64_t idx) {
  if (cached_.items.empty() || idx < cached_.first || idx >= cached_.end()) {
    StatusOr<bool> found = ReadRowHolding(*log_, idx, &cached_);
    if (!found.ok() || !*found) {
      cached_.items.clear();  // never half a row
      return found.ok() ? GapAt(idx) : found.status();
    }
  }
  return cached_.items[idx - cached_.first];
}

StatusOr<std::vector<StoredEntry>> SqliteLogStorage::ListingIndex::List(
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
    LogRow row;
    while (out.size() < q.limit) {
      TILLIT_ASSIGN_OR_RETURN(bool more, st.Step());
      if (!more) break;
      TILLIT_RETURN_IF_ERROR(ReadRow(st, true, false, &row));
      const size_t n = row.items.size();
      for (size_t k = 0; k < n && out.size() < q.limit; ++k) {
        const size_t i = forward ? k : n - 1 - k;
        const int64_t idx = static_cast<int64_t>(row.first + i);
        if (forward ? idx <= bound : idx >= bound) continue;
        TILLIT_RETURN_IF_ERROR(AddListed(idx, row.items[i], q, &out));
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
    TILLIT_RETURN_IF_ERROR(AddListed(idx, text, q, &out));
  }
  return out;
}

SqliteLogStorage::SqliteLogStorage(Options options)
    : options_(std::move(options)) {}

StatusOr<std::unique_ptr<SqliteLogStorage>> SqliteLogStorage::Open(
    Options options) {
  if (options.db_key.size() != 32) {
    return Status::InvalidArgument("audit keys must be 32 bytes");
  }
  std::unique_ptr<SqliteLogStorage> s(new SqliteLogStorage(std::move(options)));
  storage::Database::Options db_options;
  db_options.create = s->options_.create;
  db_options.env = s->options_.env;
  // Every group commit rewrites the log's last pages; checkpointing every
  // 4 MB copied them back into the file several times a second under load.
  db_options.wal_autocheckpoint_pages = 16384;  // 64 MB of 4 KiB pages
  auto db = storage::Database::Open(s->options_.path, &s->options_.db_key,
                                    db_options, MigrateLog);
  if (!db.ok()) return storage::WithOpenContext(db.status(), "audit log");
  {
    MutexLock lock(&s->db_mu_);
    s->db_ = std::move(db).value();
  }
  const std::string index_path = s->options_.index_path.empty()
                                     ? DefaultIndexPath(s->options_.path)
                                     : s->options_.index_path;
  s->index_ = std::make_unique<ListingIndex>(
      s->options_.path, index_path, &s->options_.db_key, s->options_.env);
  return s;
}

SqliteLogStorage::~SqliteLogStorage() {
  std::thread checkpointer;
  {
    MutexLock lock(&checkpoint_mu_);
    stopping_ = true;
    checkpoint_cv_.Signal();
    checkpointer = std::move(checkpointer_);
  }
  if (checkpointer.joinable()) checkpointer.join();
}

Status SqliteLogStorage::ReadLeaves(uint64_t begin, uint64_t end,
                                    std::vector<Hash>* out) {
  MutexLock lock(&db_mu_);
  return ReadStoredLeaves(*db_, begin, end, out);
}

Status SqliteLogStorage::Append(std::span<const std::string_view> entries,
                                std::span<const Hash> leaves, uint64_t known,
                                std::vector<Hash>* foreign) {
  MutexLock lock(&db_mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  // Another process (the command line while a server runs) may have
  // appended since this log was loaded: the write transaction holds the
  // database's write lock, so read its entries now and number ours after
  // them.
  // From the row holding `known`: a tree loaded in chunks may end inside
  // a row.
  TILLIT_RETURN_IF_ERROR(ReadStoredLeaves(
      *db_, known, std::numeric_limits<int64_t>::max(), foreign));
  const uint64_t first = known + foreign->size();
  TILLIT_ASSIGN_OR_RETURN(storage::Statement insert, db_->Prepare(kInsertRow));
  RowBuilder row;
  row.first = first;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (row.count == kMaxRowEntries)
      TILLIT_RETURN_IF_ERROR(row.Flush(insert, first + i));
    row.Add(entries[i], leaves[i]);
  }
  TILLIT_RETURN_IF_ERROR(row.Flush(insert, 0));
  return txn.Commit();
}

namespace {

// The note stored for `size` in `db`, if any.
StatusOr<std::optional<std::string>> StoredNote(storage::Database& db,
                                                uint64_t size) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db.Prepare("SELECT note FROM checkpoints WHERE size = ?1"));
  st.Bind(1, static_cast<int64_t>(size));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.ColumnText(0)));
}

}  // namespace

StatusOr<std::optional<std::string>> SqliteLogStorage::CheckpointAt(
    uint64_t size) {
  MutexLock lock(&db_mu_);
  return StoredNote(*db_, size);
}

StatusOr<std::string> SqliteLogStorage::StoreCheckpoint(
    uint64_t size, const std::string& note) {
  MutexLock lock(&db_mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement insert,
      db_->Prepare("INSERT OR IGNORE INTO checkpoints (size, note) "
                   "VALUES (?1, ?2)"));
  insert.Bind(1, static_cast<int64_t>(size)).Bind(2, note);
  TILLIT_RETURN_IF_ERROR(insert.Run());
  TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> stored,
                          StoredNote(*db_, size));
  if (!stored) return Status::Internal("audit checkpoint was not stored");
  return *std::move(stored);
}

StatusOr<std::vector<StoredEntry>> SqliteLogStorage::List(const ListQuery& q) {
  StatusOr<std::vector<StoredEntry>> out = index_->List(q);
  // A filtered listing brought the index up to date: the next appends
  // count from there.
  MutexLock lock(&state_mu_);
  indexed_hint_ = std::max(indexed_hint_, index_->listed_to());
  return out;
}

Status SqliteLogStorage::Scan(const std::function<Status(LogRow&)>& fn) {
  // A page at a time, `fn` called without the connection's lock (it may
  // read leaves back). Paged by the last row's start, not by where it
  // ends: a row missing between two is seen as the gap it is.
  int64_t after = -1;
  for (;;) {
    std::vector<LogRow> page;
    Status read;  // the rows before a bad one are still handed over
    {
      MutexLock lock(&db_mu_);
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          db_->Prepare("SELECT first, count, entries, leaves FROM batches "
                       "WHERE first > ?1 ORDER BY first LIMIT ?2"));
      st.Bind(1, after).Bind(2, static_cast<int64_t>(kScanPage));
      while (read.ok()) {
        StatusOr<bool> more = st.Step();
        if (!more.ok() || !*more) {
          read = more.status();
          break;
        }
        LogRow row;
        read = ReadRow(st, true, true, &row);
        if (read.ok()) page.push_back(std::move(row));
      }
    }
    for (LogRow& row : page) {
      after = static_cast<int64_t>(row.first);
      TILLIT_RETURN_IF_ERROR(fn(row));
    }
    TILLIT_RETURN_IF_ERROR(read);
    if (page.size() < kScanPage) return Status::Ok();
  }
}

Status SqliteLogStorage::ScanCheckpoints(
    const std::function<Status(uint64_t, const std::string&)>& fn) {
  // As Scan: `fn` reads the tree back, which takes the connection's lock.
  int64_t after = -1;
  for (;;) {
    std::vector<std::pair<uint64_t, std::string>> page;
    {
      MutexLock lock(&db_mu_);
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          db_->Prepare("SELECT size, note FROM checkpoints WHERE size > ?1 "
                       "ORDER BY size LIMIT ?2"));
      st.Bind(1, after).Bind(2, static_cast<int64_t>(kScanPage));
      for (;;) {
        TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        page.emplace_back(static_cast<uint64_t>(st.ColumnInt64(0)),
                          std::string(st.ColumnText(1)));
      }
    }
    for (const auto& [size, note] : page) {
      after = static_cast<int64_t>(size);
      TILLIT_RETURN_IF_ERROR(fn(size, note));
    }
    if (page.size() < kScanPage) return Status::Ok();
  }
}

void SqliteLogStorage::AfterAppend(uint64_t size) {
  // Every 1,024 entries, one caller (after its own are durable) brings
  // the listing index up to date, outside the log's locks: the next group
  // commits go on meanwhile.
  bool index_now = false;
  bool checkpoint_now = false;
  {
    MutexLock lock(&state_mu_);
    if (!checkpoint_hint_set_) {
      checkpoint_hint_set_ = true;
      checkpoint_hint_ = size;
    }
    index_now =
        !indexing_ && index_->in_use() && size >= indexed_hint_ + kIndexEvery;
    if (index_now) indexing_ = true;
    checkpoint_now =
        !checkpointing_ && size >= checkpoint_hint_ + kCheckpointEvery;
    if (checkpoint_now) {
      checkpointing_ = true;
      checkpoint_target_ = size;
    }
  }
  if (checkpoint_now && !WantCheckpoint()) {
    MutexLock lock(&state_mu_);
    checkpointing_ = false;
  }
  if (index_now) {
    StatusOr<uint64_t> listed = index_->CatchUp();
    MutexLock lock(&state_mu_);
    // On failure, tried again after as many more (and before every
    // filtered listing, which reports the error).
    indexed_hint_ = listed.ok() ? *listed : size;
    indexing_ = false;
  }
}

bool SqliteLogStorage::WantCheckpoint() {
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

void SqliteLogStorage::CheckpointLoop() {
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
      MutexLock lock(&state_mu_);
      reached = checkpoint_target_;
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
      MutexLock hold(&db_mu_);
      (void)db->CheckpointPassive();
    }
    MutexLock lock(&state_mu_);
    checkpoint_hint_ = reached;
    checkpointing_ = false;
  }
}

}  // namespace tillit::audit::internal
