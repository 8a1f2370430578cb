// The privacy-budget ledger of differentially private aggregates (SPEC §5
// item 5): how much ε each study may spend, how much it has spent, and how
// much each citizen's data has spent on each study, with the queries (in
// words) that spent it.
//
// ε is always an exact fixed-point integer of millionths ("micro-ε":
// 500000 is ε 0.5); composition is plain integer addition, so there is no
// rounding and no drift. No floating point is used anywhere here.
//
// Budgets: the operator sets a study's total (0 to ε 100); each query
// spends its ε from it, and a query asking more than remains is refused.
// Each citizen also has a lifetime cap per study (their grant may name one;
// otherwise the operator's default, DefaultCitizenCap): the ledger records
// what each citizen's data has spent, and the caller leaves out of a query
// every citizen whose spend plus the query's ε would pass their cap (the
// ledger does not know the grants' caps).
//
// Where it is kept: the data directory's DATA_DIR/privacy.db (Open,
// OpenInDirectory), SQLCipher under the vault's sub-key
// KdfContext::kPrivacyLedger number 1, mode 0600, schema version in its
// header (kSchemaVersion; a newer file is refused and left as it is); or,
// for servers sharing a vault, PostgreSQL (pgstore::PgPrivacyLedger). The
// public methods check their arguments here, once for every backend, and
// the backend (the protected Do* methods) keeps the rows; both pass one
// contract suite (research/testing/tillit/testing/privacy_ledger_contract.h).
//
// Thread-safety: a PrivacyLedger is safe from any thread. A charge reads
// and writes the study's budget in one transaction that holds the study
// against other writers (BEGIN IMMEDIATE on the file, a row lock in
// PostgreSQL), so ledgers in several processes cannot overspend either.
#ifndef TILLIT_RESEARCH_PRIVACY_LEDGER_H_
#define TILLIT_RESEARCH_PRIVACY_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/secret.h"

namespace tillit::research {

// One aggregate query as the ledger keeps it (no health data).
struct LedgerQuery {
  std::string id;             // agg_… (vault::IsValidId(id, "agg_"))
  std::string study_id;       // s_…
  std::string researcher_id;  // r_…
  int64_t time = 0;           // seconds since the epoch, >= 0
  int64_t epsilon = 0;        // micro-ε, > 0
  std::string description;    // the query in words, 1 to 500 bytes
  int64_t contributors = 0;   // set by Charge from the list
  std::string request_id;     // at most 200 bytes; may be empty
  bool operator==(const LedgerQuery&) const = default;
};

// A study's budget, in micro-ε.
struct StudyBudget {
  std::string study_id;
  int64_t total = 0;
  int64_t spent = 0;
  int64_t remaining() const { return total - spent; }
  bool operator==(const StudyBudget&) const = default;
};

// What one citizen's data has spent on one study, in micro-ε, and the
// queries that spent it, newest first.
struct CitizenStudySpend {
  std::string study_id;
  int64_t spent = 0;
  std::vector<LedgerQuery> queries;
};

// Every row of a ledger, for moving it into another backend (`tillit
// migrate`): amounts, queries and who contributed, as they are.
struct LedgerRows {
  struct Spend {
    std::string citizen_id;
    std::string study_id;
    int64_t spent = 0;
    bool operator==(const Spend&) const = default;
  };
  struct Listing {
    std::string citizen_id;
    std::string query_id;
    bool operator==(const Listing&) const = default;
  };
  std::optional<int64_t> default_citizen_cap;  // nullopt: never set
  std::vector<StudyBudget> studies;            // by study id
  std::vector<LedgerQuery> queries;            // in the order charged
  std::vector<Spend> spends;                   // by citizen, then study
  std::vector<Listing> listings;               // by citizen, then query
  bool operator==(const LedgerRows&) const = default;
};

class PrivacyLedger {
 public:
  inline static constexpr int64_t kSchemaVersion = 1;
  // ε 1 until the operator sets another default.
  inline static constexpr int64_t kDefaultCitizenCap = 1'000'000;
  // The largest study total and citizen cap: ε 100.
  inline static constexpr int64_t kMaxBudget = 100'000'000;

  // Opens DATA_DIR/privacy.db (created when missing) under
  // keys.DeriveKey(KdfContext::kPrivacyLedger, 1).
  static StatusOr<std::unique_ptr<PrivacyLedger>> OpenInDirectory(
      const std::string& data_dir, const crypto::KeyDeriver& keys,
      Env* env = Env::Default());
  // Opens (or creates) the ledger at `path` under the 32-byte `key`.
  // Errors: InvalidArgument (key size), DataLoss (wrong key, damaged),
  // FailedPrecondition (a file newer than kSchemaVersion; nothing is
  // written), IoError.
  // SQLite's file changes are announced to `env`.
  static StatusOr<std::unique_ptr<PrivacyLedger>> Open(
      const std::string& path, const crypto::SecretBytes& key,
      Env* env = Env::Default());
  // Copies DATA_DIR/privacy.db as one consistent snapshot into the new
  // file `dest`, encrypted as it is, through `env`
  // (storage::Database::CopyTo).
  static Status CopyDatabase(const std::string& data_dir,
                             const crypto::KeyDeriver& keys,
                             const std::string& dest, Env* env);

  virtual ~PrivacyLedger() = default;
  PrivacyLedger(const PrivacyLedger&) = delete;
  PrivacyLedger& operator=(const PrivacyLedger&) = delete;

  // Operator: sets the study's total. InvalidArgument for a malformed id or
  // a total outside 0..kMaxBudget; FailedPrecondition when `total` is less
  // than the study has already spent (the message says how much that is).
  Status SetStudyBudget(std::string_view study_id, int64_t total);
  // NotFound when the operator never set one; InvalidArgument for a
  // malformed id.
  StatusOr<StudyBudget> GetStudyBudget(std::string_view study_id);

  // The cap of a citizen whose grant names none. InvalidArgument outside
  // 0..kMaxBudget.
  Status SetDefaultCitizenCap(int64_t cap);
  // kDefaultCitizenCap until SetDefaultCitizenCap is called.
  StatusOr<int64_t> DefaultCitizenCap();

  // Micro-ε spent by each citizen's data on the study; citizens with none
  // are absent. InvalidArgument for a malformed id.
  StatusOr<std::map<std::string, int64_t>> CitizenSpent(
      std::string_view study_id);

  // Records query `q` over `contributors` (citizen ids, each once), in one
  // transaction: the study's spent and each contributor's spend on the
  // study grow by q.epsilon, and the query is stored (with contributors =
  // contributors.size()) and listed for each contributor. Nothing is
  // written on any error:
  //   InvalidArgument  a malformed query (ids, epsilon <= 0, time < 0,
  //                    description empty or over 500 bytes, request id over
  //                    200 bytes), a malformed or repeated contributor;
  //   NotFound         the study has no budget;
  //   PermissionDenied "the study's privacy budget is spent: ε X remains,
  //                    the query asks ε Y" when remaining < q.epsilon;
  //   AlreadyExists    q.id was used before.
  // REQUIRES: the caller has left out every contributor over their cap.
  Status Charge(const LedgerQuery& q,
                const std::vector<std::string>& contributors);

  // The citizen's view: every study their data was used for in an
  // aggregate, with the spend and the queries (newest first); the study
  // whose newest query is newest comes first. InvalidArgument for a
  // malformed id.
  StatusOr<std::vector<CitizenStudySpend>> ForCitizen(
      std::string_view citizen_id);

  // Erasure: removes the citizen's rows (spend and listing of queries), so
  // that no copy of them remains in the backend's live storage; the
  // studies' totals and the queries stay. InvalidArgument for a malformed
  // id.
  Status ForgetCitizen(std::string_view citizen_id);

  // Every row, read in one transaction.
  StatusOr<LedgerRows> ExportRows();
  // Into a ledger that holds no study, query or spend (FailedPrecondition
  // otherwise), in one transaction; InvalidArgument, and nothing written,
  // for rows this ledger could not have written (amounts out of range, a
  // malformed id, a listing of an unknown query).
  Status ImportRows(const LedgerRows& rows);

 protected:
  PrivacyLedger() = default;

  // The backend's half of each public method, called with arguments
  // already checked (ids well formed, amounts in range, contributors
  // distinct). Their errors are the public methods'; the helpers below
  // give every backend the same words.
  virtual Status DoSetStudyBudget(std::string_view study_id, int64_t total) = 0;
  virtual StatusOr<StudyBudget> DoGetStudyBudget(std::string_view study_id) = 0;
  virtual Status DoSetDefaultCitizenCap(int64_t cap) = 0;
  // Empty when never set.
  virtual StatusOr<std::optional<int64_t>> DoDefaultCitizenCap() = 0;
  virtual StatusOr<std::map<std::string, int64_t>> DoCitizenSpent(
      std::string_view study_id) = 0;
  virtual Status DoCharge(const LedgerQuery& q,
                          const std::vector<std::string>& contributors) = 0;
  virtual StatusOr<std::vector<CitizenStudySpend>> DoForCitizen(
      std::string_view citizen_id) = 0;
  virtual Status DoForgetCitizen(std::string_view citizen_id) = 0;
  virtual StatusOr<LedgerRows> DoExportRows() = 0;
  virtual Status DoImportRows(const LedgerRows& rows) = 0;

  // NotFound: the study has no budget.
  static Status NoBudget(std::string_view study_id);
  // FailedPrecondition: a total below what the study spent.
  static Status BelowSpent(int64_t spent);
  // PermissionDenied: the query asks more than remains.
  static Status BudgetSpent(int64_t remaining, int64_t asked);
  // AlreadyExists: the query id was charged before.
  static Status QueryExists(std::string_view query_id);
  // DataLoss: a stored amount the ledger could not have written.
  static Status ImpossibleSpend();
  // Checks a stored budget row (0 <= spent <= total <= kMaxBudget).
  static Status CheckStoredBudget(const StudyBudget& b);
  // The citizen's view from their spends and their queries, newest first
  // (as ForCitizen returns it).
  static std::vector<CitizenStudySpend> GroupByStudy(
      const std::map<std::string, int64_t>& spent,
      std::vector<LedgerQuery> queries_newest_first);
};

// The shortest exact decimal of a micro-ε value: "0.5", "2", "0.000001",
// "-1.25".
std::string FormatEpsilon(int64_t micro);

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_PRIVACY_LEDGER_H_
