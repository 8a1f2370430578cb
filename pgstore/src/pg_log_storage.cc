#include "tillit/pgstore/pg_log_storage.h"

#include <algorithm>
#include <limits>
#include <map>
#include <utility>

#include "fields.h"
#include "schema.h"
#include "sealing.h"

namespace tillit::pgstore {
namespace {

using audit::Hash;
using audit::LogRow;

constexpr std::string_view kSealLabel = "tillit pgstore audit seal v1";
constexpr std::string_view kTagLabel = "tillit pgstore audit tags v1";
constexpr size_t kTagSize = 16;
// The sequencer's advisory lock ("tillit/a").
constexpr int64_t kSequencerLock = 0x74696c6c69742f61;
// Entries in one stored row, as in the data directory's audit.db.
constexpr size_t kMaxRowEntries = 256;
// Rows or checkpoints read a statement while scanning.
constexpr int kScanPage = 256;
// Listing rows inserted a statement (two parameters each).
constexpr size_t kListingPerStatement = 500;

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE audit_rows (
  first   bigint  PRIMARY KEY,  -- index of the row's first entry
  count   integer NOT NULL CHECK (count BETWEEN 1 AND 256),
  leaves  bytea   NOT NULL,     -- count x 32 bytes: each entry's leaf hash
  entries bytea   NOT NULL      -- the framed entries, sealed
);
CREATE TABLE audit_listing (
  tag bytea  NOT NULL,          -- keyed tag of a citizen or an actor id
  idx bigint NOT NULL,
  PRIMARY KEY (tag, idx)
);
CREATE TABLE audit_checkpoints (
  size bigint PRIMARY KEY,
  note text   NOT NULL
);
)sql";

// The row holding entry $1 and every later one before $2: a tile or a
// catch-up may start inside a row.
constexpr const char* kRowsFrom =
    "SELECT first, count, NULL::bytea, leaves FROM audit_rows "
    "WHERE first < $2 AND first >= coalesce((SELECT max(first) FROM "
    "audit_rows WHERE first <= $1), 0) ORDER BY first";

int64_t ToInt64(uint64_t v) {
  return static_cast<int64_t>(
      std::min<uint64_t>(v, std::numeric_limits<int64_t>::max()));
}

}  // namespace

struct PgLogStorage::Keys : internal::SealingKeys {};

StatusOr<std::unique_ptr<PgLogStorage>> PgLogStorage::Open(
    Session* session, const crypto::SecretBytes& key, crypto::Random* rng) {
  TILLIT_ASSIGN_OR_RETURN(
      internal::SealingKeys keys,
      internal::DeriveSealingKeys(key, kSealLabel, kTagLabel, kTagSize));
  TILLIT_RETURN_IF_ERROR(session->Transact([](Connection& c) -> Status {
    // The sequencer reads other nodes' rows after its lock is granted,
    // which only a statement snapshot (read committed) sees; a
    // transaction snapshot would be taken before the lock.
    TILLIT_ASSIGN_OR_RETURN(
        Result iso, c.Exec("SELECT current_setting('transaction_isolation')"));
    if (iso.rows() != 1 || iso.Text(0, 0) != "read committed") {
      return Status::FailedPrecondition(
          "the audit log needs default_transaction_isolation = 'read "
          "committed' on the database");
    }
    return internal::CreateOrCheckSchema(c, "audit log", kSchemaVersion,
                                         kSchemaV1);
  }));
  return std::unique_ptr<PgLogStorage>(new PgLogStorage(
      session, std::make_unique<Keys>(Keys{std::move(keys)}), rng));
}

StatusOr<std::unique_ptr<PgLogStorage>> PgLogStorage::Open(
    std::unique_ptr<Session> session, const crypto::SecretBytes& key,
    crypto::Random* rng) {
  if (session == nullptr) return Status::InvalidArgument("no session");
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<PgLogStorage> log,
                          Open(session.get(), key, rng));
  log->owned_ = std::move(session);
  return log;
}

PgLogStorage::PgLogStorage(Session* session, std::unique_ptr<Keys> keys,
                           crypto::Random* rng)
    : session_(session), keys_(std::move(keys)), rng_(rng) {}

PgLogStorage::~PgLogStorage() = default;

std::vector<uint8_t> PgLogStorage::ListingTag(char kind,
                                              std::string_view id) const {
  return keys_->tags.HashFields({"listing", std::string_view(&kind, 1), id});
}

std::vector<uint8_t> PgLogStorage::Ad(int64_t first, int64_t count) const {
  internal::FieldWriter w;
  w.Str("audit_rows").Int(first).Int(count);
  return std::move(w.bytes());
}

Status PgLogStorage::ReadRow(const Result& r, int i, bool with_entries,
                             bool with_leaves, LogRow* row) const {
  TILLIT_ASSIGN_OR_RETURN(int64_t first, r.Int64(i, 0));
  TILLIT_ASSIGN_OR_RETURN(int64_t count, r.Int64(i, 1));
  row->first = static_cast<uint64_t>(first);
  row->items.clear();
  row->leaves.clear();
  if (first < 0 || count < 1 || count > static_cast<int64_t>(kMaxRowEntries))
    return audit::MalformedRow(row->first);
  if (with_leaves) {
    const std::span<const uint8_t> blob = r.Bytes(i, 3);
    if (blob.size() != static_cast<size_t>(count) * 32)
      return audit::MalformedRow(row->first);
    row->leaves.resize(static_cast<size_t>(count));
    for (int64_t k = 0; k < count; ++k)
      std::copy_n(blob.begin() + k * 32, 32, row->leaves[k].begin());
  }
  if (!with_entries) {
    row->items.assign(static_cast<size_t>(count), std::string_view());
    return Status::Ok();
  }
  auto plain = keys_->seal.Open(r.Bytes(i, 2), Ad(first, count));
  if (!plain.ok()) {
    return Status::DataLoss("audit log row at index " + std::to_string(first) +
                            " does not open under the log's key");
  }
  row->bytes.assign(reinterpret_cast<const char*>(plain->data()),
                    plain->size());
  return audit::SplitFramed(static_cast<size_t>(count), row);
}

Status PgLogStorage::ReadLeaves(uint64_t begin, uint64_t end,
                                std::vector<Hash>* out) {
  out->clear();
  return session_->Run([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec(kRowsFrom, {ToInt64(begin), ToInt64(end)}));
    LogRow row;
    for (int i = 0; i < r.rows(); ++i) {
      TILLIT_RETURN_IF_ERROR(ReadRow(r, i, false, true, &row));
      for (size_t k = 0; k < row.leaves.size(); ++k) {
        const uint64_t idx = row.first + k;
        if (idx < begin) continue;
        if (idx >= end) break;
        if (idx != begin + out->size())
          return audit::GapAt(begin + out->size());
        out->push_back(row.leaves[k]);
      }
    }
    return Status::Ok();
  });
}

Status PgLogStorage::Append(std::span<const std::string_view> entries,
                            std::span<const Hash> leaves, uint64_t known,
                            std::vector<Hash>* foreign) {
  if (entries.size() != leaves.size())
    return Status::InvalidArgument("an entry without its leaf");
  foreign->clear();
  if (entries.empty()) return Status::Ok();
  // Framed and tagged before the lock is taken (sealing must wait for the
  // row's position, which the lock decides).
  struct SealedRow {
    size_t begin, end;  // into entries
    std::vector<uint8_t> leaves;
    std::string framed;
  };
  std::vector<SealedRow> rows;
  for (size_t begin = 0; begin < entries.size(); begin += kMaxRowEntries) {
    SealedRow row;
    row.begin = begin;
    row.end = std::min(entries.size(), begin + kMaxRowEntries);
    for (size_t i = row.begin; i < row.end; ++i) {
      audit::AppendFramed(entries[i], &row.framed);
      row.leaves.insert(row.leaves.end(), leaves[i].begin(), leaves[i].end());
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::vector<uint8_t>> tags;  // citizen, actor per entry
  tags.reserve(2 * entries.size());
  for (std::string_view e : entries) {
    const std::string_view citizen = audit::CanonicalField(e, "citizen");
    const std::string_view actor = audit::CanonicalField(e, "actor_id");
    tags.push_back(citizen.empty() ? std::vector<uint8_t>()
                                   : ListingTag('c', citizen));
    tags.push_back(actor.empty() ? std::vector<uint8_t>()
                                 : ListingTag('a', actor));
  }
  return session_->Transact([&](Connection& c) -> Status {
    TILLIT_RETURN_IF_ERROR(
        c.Exec("SELECT pg_advisory_xact_lock($1)", {kSequencerLock}).status());
    // What others appended since this node last looked, and where the log
    // ends: a log that ends before what this node has seen was rolled
    // back (restored from an older copy, or a failover that lost commits
    // a synchronous standby should have had).
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec(kRowsFrom, {ToInt64(known),
                                     std::numeric_limits<int64_t>::max()}));
    LogRow row;
    uint64_t end = 0;
    for (int i = 0; i < r.rows(); ++i) {
      TILLIT_RETURN_IF_ERROR(ReadRow(r, i, false, true, &row));
      // The first row holds `known` (or ends before it); each next one
      // starts where the one before ended.
      if (i == 0 ? row.first > known : row.first != end)
        return audit::GapAt(i == 0 ? known : end);
      for (size_t k = 0; k < row.leaves.size(); ++k) {
        if (row.first + k >= known) foreign->push_back(row.leaves[k]);
      }
      end = row.end();
    }
    if (end < known) {
      return Status::DataLoss("the audit log in the database ends at " +
                              std::to_string(end) + " entries, before the " +
                              std::to_string(known) +
                              " this node has seen: it was rolled back");
    }
    const int64_t first = static_cast<int64_t>(known + foreign->size());
    std::string sql =
        "INSERT INTO audit_rows (first, count, leaves, entries) VALUES ";
    std::vector<std::vector<uint8_t>> sealed;
    sealed.reserve(rows.size());
    std::vector<Param> params;
    params.reserve(4 * rows.size());
    for (const SealedRow& s : rows) {
      const int64_t row_first = first + static_cast<int64_t>(s.begin);
      const int64_t count = static_cast<int64_t>(s.end - s.begin);
      sealed.push_back(keys_->seal.Seal(crypto::AsBytes(s.framed),
                                        Ad(row_first, count), *rng_));
      const size_t n = params.size();
      sql += (n == 0 ? "(" : ", (");
      for (size_t k = 1; k <= 4; ++k)
        sql += (k == 1 ? "$" : ", $") + std::to_string(n + k);
      sql += ")";
      params.insert(params.end(), {Param(row_first), Param(count),
                                   Param(s.leaves), Param(sealed.back())});
    }
    TILLIT_RETURN_IF_ERROR(c.Exec(sql, params).status());
    // The listing, a few hundred rows a statement.
    std::vector<Param> listing;
    std::string lsql;
    auto flush = [&]() -> Status {
      if (listing.empty()) return Status::Ok();
      Status s = c.Exec("INSERT INTO audit_listing (tag, idx) VALUES " + lsql +
                            " ON CONFLICT DO NOTHING",
                        listing)
                     .status();
      listing.clear();
      lsql.clear();
      return s;
    };
    for (size_t i = 0; i < tags.size(); ++i) {
      if (tags[i].empty()) continue;
      const size_t n = listing.size();
      lsql += (n == 0 ? "($" : ", ($") + std::to_string(n + 1) + ", $" +
              std::to_string(n + 2) + ")";
      listing.push_back(Param(tags[i]));
      listing.push_back(Param(first + static_cast<int64_t>(i / 2)));
      if (listing.size() >= 2 * kListingPerStatement)
        TILLIT_RETURN_IF_ERROR(flush());
    }
    return flush();
  });
}

StatusOr<std::optional<std::string>> PgLogStorage::CheckpointAt(uint64_t size) {
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::optional<std::string>> {
        TILLIT_ASSIGN_OR_RETURN(Result r,
                                c.Exec("SELECT note FROM audit_checkpoints "
                                       "WHERE size = $1",
                                       {ToInt64(size)}));
        if (r.rows() == 0) return std::optional<std::string>();
        return std::optional<std::string>(std::string(r.Text(0, 0)));
      });
}

StatusOr<std::string> PgLogStorage::StoreCheckpoint(uint64_t size,
                                                    const std::string& note) {
  return session_->Run([&](Connection& c) -> StatusOr<std::string> {
    // Two nodes signing one size store one note: the first.
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec("WITH stored AS (INSERT INTO audit_checkpoints (size, note) "
               "VALUES ($1, $2) ON CONFLICT (size) DO NOTHING RETURNING note) "
               "SELECT note FROM stored UNION ALL SELECT note FROM "
               "audit_checkpoints WHERE size = $1",
               {ToInt64(size), note}));
    if (r.rows() > 0) return std::string(r.Text(0, 0));
    // Another node's insert of this size committed while ours waited on
    // it: the statement's snapshot is older than that row, a new
    // statement's is not.
    TILLIT_ASSIGN_OR_RETURN(Result again,
                            c.Exec("SELECT note FROM audit_checkpoints "
                                   "WHERE size = $1",
                                   {ToInt64(size)}));
    if (again.rows() == 0) return Status::Internal("checkpoint was not stored");
    return std::string(again.Text(0, 0));
  });
}

StatusOr<std::vector<audit::StoredEntry>> PgLogStorage::List(
    const audit::ListQuery& q) {
  const bool forward = q.after.has_value();
  const int64_t bound = forward
                            ? *q.after
                            : (q.before ? ToInt64(*q.before)
                                        : std::numeric_limits<int64_t>::max());
  std::vector<audit::StoredEntry> out;
  if (forward && bound == std::numeric_limits<int64_t>::max()) return out;
  const int64_t limit = static_cast<int64_t>(q.limit);
  return session_->Run([&](Connection& c)
                           -> StatusOr<std::vector<audit::StoredEntry>> {
    LogRow row;
    if (q.citizen_id.empty() && q.actor_id.empty()) {
      // Every row holds at least one entry: `limit` rows (one more
      // forward, whose first row may end at the bound) are enough.
      TILLIT_ASSIGN_OR_RETURN(
          Result r,
          c.Exec(forward ? "SELECT first, count, entries, NULL::bytea "
                           "FROM audit_rows WHERE first >= coalesce(("
                           "SELECT max(first) FROM audit_rows WHERE "
                           "first <= $1), 0) ORDER BY first LIMIT $2"
                         : "SELECT first, count, entries, NULL::bytea "
                           "FROM audit_rows WHERE first < $1 "
                           "ORDER BY first DESC LIMIT $2",
                 {forward ? bound + 1 : bound, limit + 1}));
      for (int i = 0; i < r.rows() && out.size() < q.limit; ++i) {
        TILLIT_RETURN_IF_ERROR(ReadRow(r, i, true, false, &row));
        const size_t n = row.items.size();
        for (size_t k = 0; k < n && out.size() < q.limit; ++k) {
          const size_t j = forward ? k : n - 1 - k;
          const int64_t idx = static_cast<int64_t>(row.first + j);
          if (forward ? idx <= bound : idx >= bound) continue;
          TILLIT_RETURN_IF_ERROR(audit::AddListed(idx, row.items[j], q, &out));
        }
      }
      return out;
    }
    const std::vector<uint8_t> tag = q.citizen_id.empty()
                                         ? ListingTag('a', q.actor_id)
                                         : ListingTag('c', q.citizen_id);
    // Each listed index with the row that holds it, in one round trip.
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec(forward ? "SELECT r.first, r.count, r.entries, NULL::bytea, "
                         "l.idx FROM (SELECT idx FROM audit_listing WHERE "
                         "tag = $1 AND idx > $2 ORDER BY idx LIMIT $3) l "
                         "CROSS JOIN LATERAL (SELECT first, count, entries "
                         "FROM audit_rows WHERE first <= l.idx ORDER BY first "
                         "DESC LIMIT 1) r ORDER BY l.idx"
                       : "SELECT r.first, r.count, r.entries, NULL::bytea, "
                         "l.idx FROM (SELECT idx FROM audit_listing WHERE "
                         "tag = $1 AND idx < $2 ORDER BY idx DESC LIMIT $3) l "
                         "CROSS JOIN LATERAL (SELECT first, count, entries "
                         "FROM audit_rows WHERE first <= l.idx ORDER BY first "
                         "DESC LIMIT 1) r ORDER BY l.idx DESC",
               {tag, bound, limit}));
    bool have = false;
    for (int i = 0; i < r.rows(); ++i) {
      TILLIT_ASSIGN_OR_RETURN(int64_t idx, r.Int64(i, 4));
      TILLIT_ASSIGN_OR_RETURN(int64_t first, r.Int64(i, 0));
      if (!have || row.first != static_cast<uint64_t>(first)) {
        have = false;
        TILLIT_RETURN_IF_ERROR(ReadRow(r, i, true, false, &row));
        have = true;
      }
      if (static_cast<uint64_t>(idx) >= row.end())
        return audit::GapAt(static_cast<uint64_t>(idx));
      TILLIT_RETURN_IF_ERROR(audit::AddListed(
          static_cast<uint64_t>(idx),
          row.items[static_cast<uint64_t>(idx) - row.first], q, &out));
    }
    return out;
  });
}

Status PgLogStorage::Scan(const std::function<Status(LogRow&)>& fn) {
  // A page at a time, `fn` called outside the session's lock. Paged by
  // the last row's start, not by where it ends: a row missing between
  // two is seen as the gap it is.
  int64_t after = -1;
  for (;;) {
    std::vector<LogRow> page;
    Status read;  // the rows before a bad one are still handed over
    TILLIT_RETURN_IF_ERROR(session_->Run([&](Connection& c) -> Status {
      TILLIT_ASSIGN_OR_RETURN(
          Result r, c.Exec("SELECT first, count, entries, leaves FROM "
                           "audit_rows WHERE first > $1 ORDER BY first "
                           "LIMIT $2",
                           {after, kScanPage}));
      for (int i = 0; i < r.rows() && read.ok(); ++i) {
        LogRow row;
        read = ReadRow(r, i, true, true, &row);
        if (read.ok()) page.push_back(std::move(row));
      }
      return Status::Ok();
    }));
    for (LogRow& row : page) {
      after = static_cast<int64_t>(row.first);
      TILLIT_RETURN_IF_ERROR(fn(row));
    }
    TILLIT_RETURN_IF_ERROR(read);
    if (page.size() < static_cast<size_t>(kScanPage)) return Status::Ok();
  }
}

Status PgLogStorage::ScanCheckpoints(
    const std::function<Status(uint64_t, const std::string&)>& fn) {
  int64_t after = -1;
  for (;;) {
    std::vector<std::pair<uint64_t, std::string>> page;
    TILLIT_RETURN_IF_ERROR(session_->Run([&](Connection& c) -> Status {
      TILLIT_ASSIGN_OR_RETURN(
          Result r, c.Exec("SELECT size, note FROM audit_checkpoints WHERE "
                           "size > $1 ORDER BY size LIMIT $2",
                           {after, kScanPage}));
      for (int i = 0; i < r.rows(); ++i) {
        TILLIT_ASSIGN_OR_RETURN(int64_t size, r.Int64(i, 0));
        page.emplace_back(static_cast<uint64_t>(size),
                          std::string(r.Text(i, 1)));
      }
      return Status::Ok();
    }));
    for (const auto& [size, note] : page) {
      after = static_cast<int64_t>(size);
      TILLIT_RETURN_IF_ERROR(fn(size, note));
    }
    if (page.size() < static_cast<size_t>(kScanPage)) return Status::Ok();
  }
}

}  // namespace tillit::pgstore
