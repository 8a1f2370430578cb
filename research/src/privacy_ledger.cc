#include "tillit/research/privacy_ledger.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include "tillit/storage/database.h"
#include "tillit/vault/vault.h"

namespace tillit::research {
namespace {

constexpr size_t kMaxDescriptionBytes = 500;
constexpr size_t kMaxRequestIdBytes = 200;
constexpr const char* kDefaultCapKey = "default_citizen_cap";

// The first schema. A query keeps its rowid: it orders queries of the same
// second by when they were charged.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS settings (
  key   TEXT    PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS study_budgets (
  study_id TEXT    PRIMARY KEY,
  total    INTEGER NOT NULL,      -- micro-epsilon
  spent    INTEGER NOT NULL       -- micro-epsilon, 0 <= spent <= total
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queries (
  id            TEXT    PRIMARY KEY,
  study_id      TEXT    NOT NULL,
  researcher_id TEXT    NOT NULL,
  time          INTEGER NOT NULL,
  epsilon       INTEGER NOT NULL,
  description   TEXT    NOT NULL,
  contributors  INTEGER NOT NULL,
  request_id    TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS citizen_spend (
  citizen_id TEXT    NOT NULL,
  study_id   TEXT    NOT NULL,
  spent      INTEGER NOT NULL,    -- micro-epsilon
  PRIMARY KEY (citizen_id, study_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS citizen_spend_by_study
  ON citizen_spend (study_id, citizen_id);
CREATE TABLE IF NOT EXISTS citizen_queries (
  citizen_id TEXT NOT NULL,
  query_id   TEXT NOT NULL,
  PRIMARY KEY (citizen_id, query_id)
) WITHOUT ROWID;
)sql";

// The ledger's schema history: step i takes version i to i + 1.
constexpr storage::SchemaStep kSteps[] = {
    // 0 to 1: the first schema.
    [](storage::Database& db) { return db.Exec(kSchemaV1); },
};
static_assert(std::size(kSteps) == PrivacyLedger::kSchemaVersion);
const storage::SchemaHistory kHistory{"privacy ledger", kSteps};

Status MigrateLedger(storage::Database& db) { return db.Migrate(kHistory); }

Status CheckStudyId(std::string_view study_id) {
  if (!vault::IsValidId(study_id, "s_"))
    return Status::InvalidArgument("not a study id");
  return Status::Ok();
}

Status CheckCitizenId(std::string_view citizen_id) {
  if (!vault::IsValidId(citizen_id, "c_"))
    return Status::InvalidArgument("not a citizen id");
  return Status::Ok();
}

Status CheckBudgetRange(int64_t micro, std::string_view what) {
  if (micro < 0 || micro > PrivacyLedger::kMaxBudget) {
    return Status::InvalidArgument(std::string(what) +
                                   " must be between ε 0 and ε " +
                                   FormatEpsilon(PrivacyLedger::kMaxBudget));
  }
  return Status::Ok();
}

Status CheckQuery(const LedgerQuery& q) {
  if (!vault::IsValidId(q.id, "agg_"))
    return Status::InvalidArgument("not an aggregate query id");
  TILLIT_RETURN_IF_ERROR(CheckStudyId(q.study_id));
  if (!vault::IsValidId(q.researcher_id, "r_"))
    return Status::InvalidArgument("not a researcher id");
  if (q.time < 0) return Status::InvalidArgument("query time is negative");
  if (q.epsilon <= 0)
    return Status::InvalidArgument("a query's ε must be more than 0");
  if (q.description.empty() || q.description.size() > kMaxDescriptionBytes) {
    return Status::InvalidArgument(
        "a query's description must be 1 to 500 bytes");
  }
  if (q.request_id.size() > kMaxRequestIdBytes)
    return Status::InvalidArgument("request id is over 200 bytes");
  return Status::Ok();
}

Status CheckContributors(const std::vector<std::string>& contributors) {
  std::vector<std::string_view> sorted;
  sorted.reserve(contributors.size());
  for (const std::string& c : contributors) {
    if (!vault::IsValidId(c, "c_"))
      return Status::InvalidArgument("a contributor is not a citizen id");
    sorted.push_back(c);
  }
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    return Status::InvalidArgument("a contributor is listed twice");
  return Status::Ok();
}

// A query from the columns id, study_id, researcher_id, time, epsilon,
// description, contributors, request_id (in that order).
LedgerQuery ReadQuery(const storage::Statement& st) {
  LedgerQuery q;
  q.id = std::string(st.ColumnText(0));
  q.study_id = std::string(st.ColumnText(1));
  q.researcher_id = std::string(st.ColumnText(2));
  q.time = st.ColumnInt64(3);
  q.epsilon = st.ColumnInt64(4);
  q.description = std::string(st.ColumnText(5));
  q.contributors = st.ColumnInt64(6);
  q.request_id = std::string(st.ColumnText(7));
  return q;
}

// The data directory's ledger: privacy.db, one SQLCipher connection used
// under one mutex.
class SqlCipherLedger final : public PrivacyLedger {
 public:
  explicit SqlCipherLedger(std::unique_ptr<storage::Database> db)
      : db_(std::move(db)) {}

 protected:
  Status DoSetStudyBudget(std::string_view study_id, int64_t total) override
      EXCLUDES(mu_);
  StatusOr<StudyBudget> DoGetStudyBudget(std::string_view study_id) override
      EXCLUDES(mu_);
  Status DoSetDefaultCitizenCap(int64_t cap) override EXCLUDES(mu_);
  StatusOr<std::optional<int64_t>> DoDefaultCitizenCap() override EXCLUDES(mu_);
  StatusOr<std::map<std::string, int64_t>> DoCitizenSpent(
      std::string_view study_id) override EXCLUDES(mu_);
  Status DoCharge(const LedgerQuery& q,
                  const std::vector<std::string>& contributors) override
      EXCLUDES(mu_);
  StatusOr<std::vector<CitizenStudySpend>> DoForCitizen(
      std::string_view citizen_id) override EXCLUDES(mu_);
  Status DoForgetCitizen(std::string_view citizen_id) override EXCLUDES(mu_);
  StatusOr<LedgerRows> DoExportRows() override EXCLUDES(mu_);
  Status DoImportRows(const LedgerRows& rows) override EXCLUDES(mu_);

 private:
  // The study's row read inside the caller's transaction or lock.
  StatusOr<StudyBudget> ReadBudget(std::string_view study_id) REQUIRES(mu_);
  // Charge's checks and writes. REQUIRES: a transaction is open.
  Status ChargeInTransaction(const LedgerQuery& q,
                             const std::vector<std::string>& contributors)
      REQUIRES(mu_);

  Mutex mu_;
  const std::unique_ptr<storage::Database> db_ PT_GUARDED_BY(mu_);
};

}  // namespace

std::string FormatEpsilon(int64_t micro) {
  // Through uint64_t, so INT64_MIN has a magnitude too.
  const uint64_t magnitude = micro < 0 ? 0 - static_cast<uint64_t>(micro)
                                       : static_cast<uint64_t>(micro);
  std::string out = micro < 0 ? "-" : "";
  out += std::to_string(magnitude / 1'000'000);
  uint64_t fraction = magnitude % 1'000'000;
  if (fraction == 0) return out;
  int digits = 6;
  while (fraction % 10 == 0) {
    fraction /= 10;
    --digits;
  }
  const std::string tail = std::to_string(fraction);
  out += '.';
  out.append(static_cast<size_t>(digits) - tail.size(), '0');
  out += tail;
  return out;
}

// ------------------------------------------------------------ PrivacyLedger

Status PrivacyLedger::SetStudyBudget(std::string_view study_id, int64_t total) {
  TILLIT_RETURN_IF_ERROR(CheckStudyId(study_id));
  TILLIT_RETURN_IF_ERROR(CheckBudgetRange(total, "a study's privacy budget"));
  return DoSetStudyBudget(study_id, total);
}

StatusOr<StudyBudget> PrivacyLedger::GetStudyBudget(std::string_view study_id) {
  TILLIT_RETURN_IF_ERROR(CheckStudyId(study_id));
  return DoGetStudyBudget(study_id);
}

Status PrivacyLedger::SetDefaultCitizenCap(int64_t cap) {
  TILLIT_RETURN_IF_ERROR(CheckBudgetRange(cap, "a citizen's cap"));
  return DoSetDefaultCitizenCap(cap);
}

StatusOr<int64_t> PrivacyLedger::DefaultCitizenCap() {
  TILLIT_ASSIGN_OR_RETURN(std::optional<int64_t> cap, DoDefaultCitizenCap());
  if (!cap) return kDefaultCitizenCap;
  if (*cap < 0 || *cap > kMaxBudget) return ImpossibleSpend();
  return *cap;
}

StatusOr<std::map<std::string, int64_t>> PrivacyLedger::CitizenSpent(
    std::string_view study_id) {
  TILLIT_RETURN_IF_ERROR(CheckStudyId(study_id));
  TILLIT_ASSIGN_OR_RETURN(auto spent, DoCitizenSpent(study_id));
  for (const auto& [citizen, s] : spent) {
    if (s <= 0 || s > kMaxBudget) return ImpossibleSpend();
  }
  return spent;
}

Status PrivacyLedger::Charge(const LedgerQuery& q,
                             const std::vector<std::string>& contributors) {
  TILLIT_RETURN_IF_ERROR(CheckQuery(q));
  TILLIT_RETURN_IF_ERROR(CheckContributors(contributors));
  return DoCharge(q, contributors);
}

StatusOr<std::vector<CitizenStudySpend>> PrivacyLedger::ForCitizen(
    std::string_view citizen_id) {
  TILLIT_RETURN_IF_ERROR(CheckCitizenId(citizen_id));
  return DoForCitizen(citizen_id);
}

Status PrivacyLedger::ForgetCitizen(std::string_view citizen_id) {
  TILLIT_RETURN_IF_ERROR(CheckCitizenId(citizen_id));
  return DoForgetCitizen(citizen_id);
}

StatusOr<LedgerRows> PrivacyLedger::ExportRows() { return DoExportRows(); }

Status PrivacyLedger::ImportRows(const LedgerRows& rows) {
  if (rows.default_citizen_cap) {
    TILLIT_RETURN_IF_ERROR(
        CheckBudgetRange(*rows.default_citizen_cap, "a citizen's cap"));
  }
  std::set<std::string_view> studies;
  for (const StudyBudget& b : rows.studies) {
    TILLIT_RETURN_IF_ERROR(CheckStudyId(b.study_id));
    if (!CheckStoredBudget(b).ok()) {
      return Status::InvalidArgument("study " + b.study_id +
                                     ": a budget out of range");
    }
    if (!studies.insert(b.study_id).second) {
      return Status::InvalidArgument("study " + b.study_id + " twice");
    }
  }
  std::set<std::string_view> queries;
  for (const LedgerQuery& q : rows.queries) {
    TILLIT_RETURN_IF_ERROR(CheckQuery(q));
    if (q.contributors < 0) {
      return Status::InvalidArgument("query " + q.id +
                                     ": a negative number of contributors");
    }
    if (!studies.contains(q.study_id)) {
      return Status::InvalidArgument("query " + q.id +
                                     " is of a study without a budget");
    }
    if (!queries.insert(q.id).second) {
      return Status::InvalidArgument("query " + q.id + " twice");
    }
  }
  for (const LedgerRows::Spend& sp : rows.spends) {
    TILLIT_RETURN_IF_ERROR(CheckCitizenId(sp.citizen_id));
    TILLIT_RETURN_IF_ERROR(CheckStudyId(sp.study_id));
    if (sp.spent <= 0 || sp.spent > kMaxBudget) {
      return Status::InvalidArgument("a citizen's spend out of range");
    }
  }
  for (const LedgerRows::Listing& l : rows.listings) {
    TILLIT_RETURN_IF_ERROR(CheckCitizenId(l.citizen_id));
    if (!queries.contains(l.query_id)) {
      return Status::InvalidArgument("a listing of an unknown query");
    }
  }
  return DoImportRows(rows);
}

Status PrivacyLedger::NoBudget(std::string_view study_id) {
  return Status::NotFound("study " + std::string(study_id) +
                          " has no privacy budget");
}

Status PrivacyLedger::BelowSpent(int64_t spent) {
  return Status::FailedPrecondition(
      "the study has already spent ε " + FormatEpsilon(spent) +
      " of its privacy budget; its total cannot be less");
}

Status PrivacyLedger::BudgetSpent(int64_t remaining, int64_t asked) {
  return Status::PermissionDenied(
      "the study's privacy budget is spent: ε " + FormatEpsilon(remaining) +
      " remains, the query asks ε " + FormatEpsilon(asked));
}

Status PrivacyLedger::QueryExists(std::string_view query_id) {
  return Status::AlreadyExists("aggregate query " + std::string(query_id) +
                               " is already in the privacy ledger");
}

Status PrivacyLedger::ImpossibleSpend() {
  return Status::DataLoss(
      "the privacy ledger holds a spend it could not have written; restore "
      "it from a backup");
}

Status PrivacyLedger::CheckStoredBudget(const StudyBudget& b) {
  if (b.total < 0 || b.total > kMaxBudget || b.spent < 0 || b.spent > b.total) {
    return ImpossibleSpend();
  }
  return Status::Ok();
}

std::vector<CitizenStudySpend> PrivacyLedger::GroupByStudy(
    const std::map<std::string, int64_t>& spent,
    std::vector<LedgerQuery> queries_newest_first) {
  std::vector<CitizenStudySpend> out;
  std::map<std::string, size_t, std::less<>> position;
  for (LedgerQuery& q : queries_newest_first) {
    auto [at, added] = position.emplace(q.study_id, out.size());
    if (added) {
      CitizenStudySpend study;
      study.study_id = q.study_id;
      auto s = spent.find(q.study_id);
      if (s != spent.end()) study.spent = s->second;
      out.push_back(std::move(study));
    }
    out[at->second].queries.push_back(std::move(q));
  }
  for (const auto& [study_id, s] : spent) {
    if (!position.contains(study_id)) out.push_back({study_id, s, {}});
  }
  return out;
}

// ---------------------------------------------------------- SqlCipherLedger

StatusOr<std::unique_ptr<PrivacyLedger>> PrivacyLedger::OpenInDirectory(
    const std::string& data_dir, const crypto::KeyDeriver& keys, Env* env) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes key,
      keys.DeriveKey(crypto::KdfContext::kPrivacyLedger, 1));
  return Open(data_dir + "/privacy.db", key, env);
}

StatusOr<std::unique_ptr<PrivacyLedger>> PrivacyLedger::Open(
    const std::string& path, const crypto::SecretBytes& key, Env* env) {
  if (key.size() != 32)
    return Status::InvalidArgument("privacy ledger key must be 32 bytes");
  storage::Database::Options options;
  options.create = true;
  options.env = env;
  auto db = storage::Database::Open(path, &key, options, MigrateLedger);
  if (!db.ok()) return storage::WithOpenContext(db.status(), "privacy ledger");
  return std::unique_ptr<PrivacyLedger>(
      std::make_unique<SqlCipherLedger>(std::move(db).value()));
}

Status PrivacyLedger::CopyDatabase(const std::string& data_dir,
                                   const crypto::KeyDeriver& keys,
                                   const std::string& dest, Env* env) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes key,
      keys.DeriveKey(crypto::KdfContext::kPrivacyLedger, 1));
  storage::Database::Options o;
  o.env = env;
  auto source = storage::Database::Open(data_dir + "/privacy.db", &key, o);
  if (!source.ok())
    return storage::WithOpenContext(source.status(), "privacy ledger");
  return (*source)->CopyTo(dest, &key, o).status();
}

StatusOr<StudyBudget> SqlCipherLedger::ReadBudget(std::string_view study_id) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(
          "SELECT total, spent FROM study_budgets WHERE study_id = ?1"));
  st.Bind(1, study_id);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return NoBudget(study_id);
  StudyBudget b;
  b.study_id = std::string(study_id);
  b.total = st.ColumnInt64(0);
  b.spent = st.ColumnInt64(1);
  TILLIT_RETURN_IF_ERROR(CheckStoredBudget(b));
  return b;
}

Status SqlCipherLedger::DoSetStudyBudget(std::string_view study_id,
                                         int64_t total) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  StatusOr<StudyBudget> current = ReadBudget(study_id);
  if (current.ok()) {
    if (total < current->spent) return BelowSpent(current->spent);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare(
            "UPDATE study_budgets SET total = ?2 WHERE study_id = ?1"));
    TILLIT_RETURN_IF_ERROR(st.Bind(1, study_id).Bind(2, total).Run());
  } else if (current.status().code() == StatusCode::kNotFound) {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO study_budgets (study_id, total, spent) "
                     "VALUES (?1, ?2, 0)"));
    TILLIT_RETURN_IF_ERROR(st.Bind(1, study_id).Bind(2, total).Run());
  } else {
    return current.status();
  }
  return txn.Commit();
}

StatusOr<StudyBudget> SqlCipherLedger::DoGetStudyBudget(
    std::string_view study_id) {
  MutexLock lock(&mu_);
  return ReadBudget(study_id);
}

Status SqlCipherLedger::DoSetDefaultCitizenCap(int64_t cap) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(
          "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)"));
  return st.Bind(1, kDefaultCapKey).Bind(2, cap).Run();
}

StatusOr<std::optional<int64_t>> SqlCipherLedger::DoDefaultCitizenCap() {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare("SELECT value FROM settings WHERE key = ?1"));
  st.Bind(1, kDefaultCapKey);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.ColumnInt64(0));
}

StatusOr<std::map<std::string, int64_t>> SqlCipherLedger::DoCitizenSpent(
    std::string_view study_id) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      db_->Prepare(
          "SELECT citizen_id, spent FROM citizen_spend WHERE study_id = ?1"));
  st.Bind(1, study_id);
  std::map<std::string, int64_t> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace(std::string(st.ColumnText(0)), st.ColumnInt64(1));
  }
  return out;
}

Status SqlCipherLedger::DoCharge(const LedgerQuery& q,
                                 const std::vector<std::string>& contributors) {
  MutexLock lock(&mu_);
  // BEGIN IMMEDIATE: the budget is read under the database's write lock,
  // so a charge in another process waits for this one to commit.
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  TILLIT_RETURN_IF_ERROR(ChargeInTransaction(q, contributors));
  return txn.Commit();
}

Status SqlCipherLedger::ChargeInTransaction(
    const LedgerQuery& q, const std::vector<std::string>& contributors) {
  TILLIT_ASSIGN_OR_RETURN(StudyBudget budget, ReadBudget(q.study_id));
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT 1 FROM queries WHERE id = ?1"));
    st.Bind(1, q.id);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) return QueryExists(q.id);
  }
  if (budget.remaining() < q.epsilon) {
    return BudgetSpent(budget.remaining(), q.epsilon);
  }
  // ReadBudget checked 0 <= spent <= total <= kMaxBudget and epsilon <=
  // remaining, so the sum cannot overflow; checked all the same.
  if (q.epsilon > std::numeric_limits<int64_t>::max() - budget.spent)
    return ImpossibleSpend();
  const int64_t new_spent = budget.spent + q.epsilon;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare(
            "UPDATE study_budgets SET spent = ?2 WHERE study_id = ?1"));
    TILLIT_RETURN_IF_ERROR(st.Bind(1, q.study_id).Bind(2, new_spent).Run());
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO queries (id, study_id, researcher_id, time, "
                     "epsilon, description, contributors, request_id) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    st.Bind(1, q.id)
        .Bind(2, q.study_id)
        .Bind(3, q.researcher_id)
        .Bind(4, q.time)
        .Bind(5, q.epsilon)
        .Bind(6, q.description)
        .Bind(7, static_cast<int64_t>(contributors.size()))
        .Bind(8, q.request_id);
    TILLIT_RETURN_IF_ERROR(st.Run());
  }
  // Each statement is prepared once and run per contributor; the study,
  // the query and ε stay bound.
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement add,
      db_->Prepare("UPDATE citizen_spend SET spent = spent + ?3 "
                   "WHERE citizen_id = ?1 AND study_id = ?2 "
                   "AND spent BETWEEN 1 AND ?4"));
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement first,
      db_->Prepare("INSERT INTO citizen_spend (citizen_id, study_id, spent) "
                   "VALUES (?1, ?2, ?3)"));
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement list,
      db_->Prepare("INSERT INTO citizen_queries (citizen_id, query_id) "
                   "VALUES (?1, ?2)"));
  // A citizen's spend on a study never exceeds the study's spent (both grow
  // together), so it stays within kMaxBudget; the BETWEEN keeps a row that
  // does not (a damaged file) from being added to, and the INSERT below
  // then fails on it.
  add.Bind(2, q.study_id).Bind(3, q.epsilon).Bind(4, kMaxBudget - q.epsilon);
  first.Bind(2, q.study_id).Bind(3, q.epsilon);
  list.Bind(2, q.id);
  for (const std::string& citizen : contributors) {
    TILLIT_RETURN_IF_ERROR(add.Bind(1, citizen).Run());
    if (db_->Changes() == 0) {
      Status inserted = first.Bind(1, citizen).Run();
      if (inserted.code() == StatusCode::kAlreadyExists)
        return ImpossibleSpend();
      TILLIT_RETURN_IF_ERROR(inserted);
    }
    TILLIT_RETURN_IF_ERROR(list.Bind(1, citizen).Run());
  }
  return Status::Ok();
}

StatusOr<LedgerRows> SqlCipherLedger::DoExportRows() {
  MutexLock lock(&mu_);
  // One snapshot (the write lock, rolled back: nothing is written).
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  LedgerRows out;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT value FROM settings WHERE key = ?1"));
    st.Bind(1, kDefaultCapKey);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) out.default_citizen_cap = st.ColumnInt64(0);
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT study_id, total, spent FROM study_budgets "
                     "ORDER BY study_id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.studies.push_back({std::string(st.ColumnText(0)), st.ColumnInt64(1),
                             st.ColumnInt64(2)});
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT id, study_id, researcher_id, time, epsilon, "
                     "description, contributors, request_id FROM queries "
                     "ORDER BY rowid"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.queries.push_back(ReadQuery(st));
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT citizen_id, study_id, spent FROM citizen_spend "
                     "ORDER BY citizen_id, study_id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.spends.push_back({std::string(st.ColumnText(0)),
                            std::string(st.ColumnText(1)), st.ColumnInt64(2)});
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT citizen_id, query_id FROM citizen_queries "
                     "ORDER BY citizen_id, query_id"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      out.listings.push_back(
          {std::string(st.ColumnText(0)), std::string(st.ColumnText(1))});
    }
  }
  return out;
}

Status SqlCipherLedger::DoImportRows(const LedgerRows& rows) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT (SELECT count(*) FROM study_budgets) + "
                     "(SELECT count(*) FROM queries) + "
                     "(SELECT count(*) FROM citizen_spend) + "
                     "(SELECT count(*) FROM citizen_queries)"));
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row || st.ColumnInt64(0) != 0) {
      return Status::FailedPrecondition(
          "the privacy ledger is not empty; rows are only imported into a "
          "new one");
    }
  }
  if (rows.default_citizen_cap) {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)"));
    TILLIT_RETURN_IF_ERROR(
        st.Bind(1, kDefaultCapKey).Bind(2, *rows.default_citizen_cap).Run());
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO study_budgets (study_id, total, spent) "
                     "VALUES (?1, ?2, ?3)"));
    for (const StudyBudget& b : rows.studies) {
      TILLIT_RETURN_IF_ERROR(
          st.Bind(1, b.study_id).Bind(2, b.total).Bind(3, b.spent).Run());
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO queries (id, study_id, researcher_id, time, "
                     "epsilon, description, contributors, request_id) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
    for (const LedgerQuery& q : rows.queries) {
      st.Bind(1, q.id)
          .Bind(2, q.study_id)
          .Bind(3, q.researcher_id)
          .Bind(4, q.time)
          .Bind(5, q.epsilon)
          .Bind(6, q.description)
          .Bind(7, q.contributors)
          .Bind(8, q.request_id);
      TILLIT_RETURN_IF_ERROR(st.Run());
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO citizen_spend (citizen_id, study_id, spent) "
                     "VALUES (?1, ?2, ?3)"));
    for (const LedgerRows::Spend& sp : rows.spends) {
      TILLIT_RETURN_IF_ERROR(st.Bind(1, sp.citizen_id)
                                 .Bind(2, sp.study_id)
                                 .Bind(3, sp.spent)
                                 .Run());
    }
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("INSERT INTO citizen_queries (citizen_id, query_id) "
                     "VALUES (?1, ?2)"));
    for (const LedgerRows::Listing& l : rows.listings) {
      TILLIT_RETURN_IF_ERROR(
          st.Bind(1, l.citizen_id).Bind(2, l.query_id).Run());
    }
  }
  return txn.Commit();
}

StatusOr<std::vector<CitizenStudySpend>> SqlCipherLedger::DoForCitizen(
    std::string_view citizen_id) {
  MutexLock lock(&mu_);
  // One transaction, so the spends and the queries listed agree.
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
  std::map<std::string, int64_t> spent;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare("SELECT study_id, spent FROM citizen_spend "
                     "WHERE citizen_id = ?1"));
    st.Bind(1, citizen_id);
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      const int64_t s = st.ColumnInt64(1);
      if (s <= 0 || s > kMaxBudget) return ImpossibleSpend();
      spent.emplace(std::string(st.ColumnText(0)), s);
    }
  }
  std::vector<LedgerQuery> queries;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        db_->Prepare(
            "SELECT q.id, q.study_id, q.researcher_id, q.time, q.epsilon, "
            "q.description, q.contributors, q.request_id "
            "FROM citizen_queries AS cq JOIN queries AS q "
            "ON q.id = cq.query_id WHERE cq.citizen_id = ?1 "
            "ORDER BY q.time DESC, q.rowid DESC"));
    st.Bind(1, citizen_id);
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      queries.push_back(ReadQuery(st));
    }
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  return GroupByStudy(spent, std::move(queries));
}

Status SqlCipherLedger::DoForgetCitizen(std::string_view citizen_id) {
  MutexLock lock(&mu_);
  {
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, db_->Begin());
    for (const char* sql :
         {"DELETE FROM citizen_spend WHERE citizen_id = ?1",
          "DELETE FROM citizen_queries WHERE citizen_id = ?1"}) {
      TILLIT_ASSIGN_OR_RETURN(storage::Statement st, db_->Prepare(sql));
      TILLIT_RETURN_IF_ERROR(st.Bind(1, citizen_id).Run());
    }
    TILLIT_RETURN_IF_ERROR(txn.Commit());
  }
  // secure_delete overwrote the rows in the file's pages; the log still
  // holds the pages as they were.
  return db_->Checkpoint();
}

}  // namespace tillit::research
