#include "local_store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iterator>

#include "error.h"

namespace tillit::bridge {
namespace {

// The first schema, exactly as the bridge wrote it before schema versions.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS device (
  singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
  citizen_id  TEXT NOT NULL,
  device_id   TEXT NOT NULL,
  public_key  BLOB NOT NULL,
  sealed_seed BLOB NOT NULL,
  audit_key   TEXT NOT NULL,
  paired_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS witness (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  origin    TEXT NOT NULL,
  size      INTEGER NOT NULL,
  root      BLOB NOT NULL,
  note      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS queue (
  queue_id        INTEGER PRIMARY KEY AUTOINCREMENT,
  idempotency_key TEXT NOT NULL UNIQUE,
  resource        TEXT NOT NULL,
  queued_at       INTEGER NOT NULL,
  last_error      TEXT
);
)sql";

// bridge.db's schema history: step i takes version i to i + 1.
constexpr storage::SchemaStep kSteps[] = {
    // 0 to 1: the first schema. IF NOT EXISTS: a state directory an older
    // bridge made already has it, and is only stamped.
    [](storage::Database& db) { return db.Exec(kSchemaV1); },
};
static_assert(std::size(kSteps) == LocalStore::kSchemaVersion);
const storage::SchemaHistory kHistory{"bridge state", kSteps};

Status Storage(const Status& s) {
  return AsBridgeError(s, ErrorCode::kStorage);
}

#define STORE_TRY(expr)                                     \
  do {                                                      \
    ::tillit::Status store_status_ = (expr);                \
    if (!store_status_.ok()) return Storage(store_status_); \
  } while (0)

#define STORE_ASSIGN(lhs, expr) \
  STORE_ASSIGN_IMPL_(TILLIT_STATUS_CONCAT_(store_sor_, __LINE__), lhs, expr)
#define STORE_ASSIGN_IMPL_(tmp, lhs, expr)     \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return Storage(tmp.status()); \
  lhs = std::move(tmp).value()

}  // namespace

StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(
    const std::string& dir, const crypto::SecretBytes& queue_key) {
  if (dir.empty())
    return BridgeError(ErrorCode::kInvalidArgument, "state_dir: required");
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return BridgeError(ErrorCode::kStorage,
                       "cannot create the state directory (" +
                           std::string(std::strerror(errno)) + ")");
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return BridgeError(ErrorCode::kStorage,
                       "the state directory is not a directory");
  }
  storage::Database::Options options;
  options.create = true;
  STORE_ASSIGN(std::unique_ptr<storage::Database> db,
               storage::Database::Open(
                   dir + "/bridge.db", &queue_key, options,
                   [](storage::Database& d) { return d.Migrate(kHistory); }));
  return std::unique_ptr<LocalStore>(new LocalStore(std::move(db)));
}

StatusOr<std::optional<PairedDevice>> LocalStore::LoadDevice() {
  STORE_ASSIGN(storage::Statement st,
               db_->Prepare("SELECT citizen_id, device_id, public_key, "
                            "sealed_seed, audit_key, paired_at FROM device"));
  STORE_ASSIGN(bool row, st.Step());
  if (!row) return std::optional<PairedDevice>();
  PairedDevice d;
  d.citizen_id = std::string(st.ColumnText(0));
  d.device_id = std::string(st.ColumnText(1));
  std::span<const uint8_t> pk = st.ColumnBlob(2);
  if (pk.size() != d.public_key.size())
    return BridgeError(ErrorCode::kStorage, "the stored public key is damaged");
  std::copy(pk.begin(), pk.end(), d.public_key.begin());
  std::span<const uint8_t> sealed = st.ColumnBlob(3);
  d.sealed_seed.assign(sealed.begin(), sealed.end());
  d.audit_key = std::string(st.ColumnText(4));
  d.paired_at = st.ColumnInt64(5);
  return std::optional<PairedDevice>(std::move(d));
}

StatusOr<std::optional<Witness>> LocalStore::LoadWitness() {
  STORE_ASSIGN(storage::Statement st,
               db_->Prepare("SELECT origin, size, root, note FROM witness"));
  STORE_ASSIGN(bool row, st.Step());
  if (!row) return std::optional<Witness>();
  Witness w;
  w.checkpoint.origin = std::string(st.ColumnText(0));
  w.checkpoint.size = static_cast<uint64_t>(st.ColumnInt64(1));
  std::span<const uint8_t> root = st.ColumnBlob(2);
  if (root.size() != w.checkpoint.root.size())
    return BridgeError(ErrorCode::kStorage, "the stored witness is damaged");
  std::copy(root.begin(), root.end(), w.checkpoint.root.begin());
  w.note = std::string(st.ColumnText(3));
  return std::optional<Witness>(std::move(w));
}

namespace {

Status WriteWitness(storage::Database& db, const Witness& w) {
  STORE_ASSIGN(storage::Statement st,
               db.Prepare("INSERT OR REPLACE INTO witness "
                          "(singleton, origin, size, root, note) "
                          "VALUES (1, ?1, ?2, ?3, ?4)"));
  st.Bind(1, w.checkpoint.origin)
      .Bind(2, static_cast<int64_t>(w.checkpoint.size))
      .BindBlob(3, w.checkpoint.root)
      .Bind(4, w.note);
  STORE_TRY(st.Run());
  return Status::Ok();
}

}  // namespace

Status LocalStore::SavePairing(const PairedDevice& d) {
  STORE_ASSIGN(storage::Database::Transaction txn, db_->Begin());
  {
    STORE_ASSIGN(storage::Statement st,
                 db_->Prepare("INSERT INTO device (singleton, citizen_id, "
                              "device_id, public_key, sealed_seed, audit_key, "
                              "paired_at) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)"));
    st.Bind(1, d.citizen_id)
        .Bind(2, d.device_id)
        .BindBlob(3, d.public_key)
        .BindBlob(4, d.sealed_seed)
        .Bind(5, d.audit_key)
        .Bind(6, d.paired_at);
    STORE_TRY(st.Run());
  }
  STORE_TRY(txn.Commit());
  return Status::Ok();
}

Status LocalStore::SaveWitness(const Witness& w) {
  STORE_ASSIGN(storage::Database::Transaction txn, db_->Begin());
  TILLIT_RETURN_IF_ERROR(WriteWitness(*db_, w));
  STORE_TRY(txn.Commit());
  return Status::Ok();
}

Status LocalStore::Forget() {
  STORE_ASSIGN(storage::Database::Transaction txn, db_->Begin());
  STORE_TRY(db_->Exec("DELETE FROM queue"));
  STORE_TRY(db_->Exec("DELETE FROM witness"));
  STORE_TRY(db_->Exec("DELETE FROM device"));
  STORE_TRY(txn.Commit());
  // secure_delete overwrote the freed pages; copy the WAL back so the old
  // pages do not linger in it either.
  STORE_TRY(db_->Checkpoint());
  return Status::Ok();
}

StatusOr<int64_t> LocalStore::Enqueue(const std::string& idempotency_key,
                                      const std::string& resource,
                                      int64_t now) {
  STORE_ASSIGN(storage::Database::Transaction txn, db_->Begin());
  {
    STORE_ASSIGN(storage::Statement st,
                 db_->Prepare("INSERT INTO queue (idempotency_key, resource, "
                              "queued_at) VALUES (?1, ?2, ?3)"));
    st.Bind(1, idempotency_key).Bind(2, resource).Bind(3, now);
    STORE_TRY(st.Run());
  }
  const int64_t id = db_->LastInsertRowId();
  STORE_TRY(txn.Commit());
  return id;
}

StatusOr<std::optional<QueuedRecord>> LocalStore::NextQueued(int64_t after) {
  STORE_ASSIGN(storage::Statement st,
               db_->Prepare("SELECT queue_id, idempotency_key, resource "
                            "FROM queue WHERE queue_id > ?1 "
                            "ORDER BY queue_id LIMIT 1"));
  st.Bind(1, after);
  STORE_ASSIGN(bool row, st.Step());
  if (!row) return std::optional<QueuedRecord>();
  QueuedRecord r;
  r.queue_id = st.ColumnInt64(0);
  r.idempotency_key = std::string(st.ColumnText(1));
  r.resource = std::string(st.ColumnText(2));
  return std::optional<QueuedRecord>(std::move(r));
}

Status LocalStore::RemoveQueued(std::span<const int64_t> queue_ids) {
  if (queue_ids.empty()) return Status::Ok();
  STORE_ASSIGN(storage::Database::Transaction txn, db_->Begin());
  {
    STORE_ASSIGN(storage::Statement st,
                 db_->Prepare("DELETE FROM queue WHERE queue_id = ?1"));
    for (int64_t id : queue_ids) {
      st.Bind(1, id);
      STORE_TRY(st.Run());
    }
  }
  STORE_TRY(txn.Commit());
  return Status::Ok();
}

Status LocalStore::NoteRefused(int64_t queue_id, const std::string& error) {
  STORE_ASSIGN(storage::Statement st,
               db_->Prepare("UPDATE queue SET last_error = ?2 "
                            "WHERE queue_id = ?1"));
  st.Bind(1, queue_id).Bind(2, error);
  STORE_TRY(st.Run());
  return Status::Ok();
}

StatusOr<int64_t> LocalStore::QueuedCount() {
  STORE_ASSIGN(storage::Statement st,
               db_->Prepare("SELECT COUNT(*) FROM queue"));
  STORE_ASSIGN(bool row, st.Step());
  if (!row) return BridgeError(ErrorCode::kStorage, "cannot count the queue");
  return st.ColumnInt64(0);
}

}  // namespace tillit::bridge
