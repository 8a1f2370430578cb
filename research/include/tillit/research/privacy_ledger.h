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
// File: DATA_DIR/privacy.db, SQLCipher under the vault's sub-key
// KdfContext::kPrivacyLedger number 1, mode 0600, schema version in its
// header (kSchemaVersion; a newer file is refused and left as it is).
//
// Thread-safety: a PrivacyLedger is safe from any thread (its connection
// is used under one mutex). Charge runs in one BEGIN IMMEDIATE transaction,
// so ledgers in several processes over one file cannot overspend either.
#ifndef TILLIT_RESEARCH_PRIVACY_LEDGER_H_
#define TILLIT_RESEARCH_PRIVACY_LEDGER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tillit/base/env.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/crypto/kdf.h"
#include "tillit/crypto/secret.h"
#include "tillit/storage/database.h"

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
};

// A study's budget, in micro-ε.
struct StudyBudget {
  std::string study_id;
  int64_t total = 0;
  int64_t spent = 0;
  int64_t remaining() const { return total - spent; }
};

// What one citizen's data has spent on one study, in micro-ε, and the
// queries that spent it, newest first.
struct CitizenStudySpend {
  std::string study_id;
  int64_t spent = 0;
  std::vector<LedgerQuery> queries;
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

  ~PrivacyLedger();
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

  // Erasure: removes the citizen's rows (spend and listing of queries) and
  // copies the write-ahead log back into the file so no copy of them
  // remains there; the studies' totals and the queries stay.
  // InvalidArgument for a malformed id.
  Status ForgetCitizen(std::string_view citizen_id);

 private:
  explicit PrivacyLedger(std::unique_ptr<storage::Database> db)
      : db_(std::move(db)) {}
  // The study's row read inside the caller's transaction or lock.
  StatusOr<StudyBudget> ReadBudget(std::string_view study_id) REQUIRES(mu_);
  // Charge's checks and writes. REQUIRES: a transaction is open.
  Status ChargeInTransaction(const LedgerQuery& q,
                             const std::vector<std::string>& contributors)
      REQUIRES(mu_);

  Mutex mu_;
  const std::unique_ptr<storage::Database> db_ PT_GUARDED_BY(mu_);
};

// The shortest exact decimal of a micro-ε value: "0.5", "2", "0.000001",
// "-1.25".
std::string FormatEpsilon(int64_t micro);

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_PRIVACY_LEDGER_H_
