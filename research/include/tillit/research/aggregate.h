// Aggregate statistics with differential privacy (SPEC §5 item 5): a
// study's owner asks a question that is answered inside the vault, over the
// permitted data of the study's consenting cohort, and only the noisy
// answer leaves it. docs/PRIVACY.md explains the mechanism and the budget
// rules in words.
//
// Who counts: a candidate from the consent index whose grants cap the
// study's spend (`privacy_budget`, else the operator's default) with no
// room for this query's ε is left out, unread. Every other candidate is
// decided again on their full policy (grants, excludes, sensitivity,
// research opt-out), only the records that decision releases are read, and
// the study's cohort criteria are checked on them, exactly as for a
// release. Each of them is a contributor: their data was examined, and
// whether it met the criteria and the query's filter is what the answer
// could reveal, so each spends the query's ε.
//
// Noise: the discrete Laplace mechanism (research/dp.h), sampled exactly
// from integers with the vault's randomness, scale sensitivity / ε, pure
// ε-DP (δ = 0). A histogram's bins are disjoint, so one citizen moves at
// most one bin by one (sensitivity 1), except by-category counts, where a
// citizen may be in every requested category (sensitivity = the number of
// categories), and the mean, which spends ε/2 on a noisy count and ε/2 on a
// noisy sum of values clamped to the declared bounds.
//
// Budget (research/privacy_ledger.h): the study's total ε, set by the
// operator, must cover the query; the charge, each contributor's spend and
// the query are written in one transaction before the audit entries (one
// per contributor and one for the query); a failure after the charge keeps
// it, so privacy loss is never under-counted. Queries run one at a time in
// a process.
//
// Thread-safety: RunAggregate may be called from many threads (they are
// serialised); the parsing and tally functions are pure.
#ifndef TILLIT_RESEARCH_AGGREGATE_H_
#define TILLIT_RESEARCH_AGGREGATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/random.h"
#include "tillit/research/privacy_ledger.h"
#include "tillit/research/release.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/store_cache.h"

namespace tillit::research {

enum class AggregateKind : uint8_t {
  kCount,        // "count": citizens
  kAgeSex,       // "age_sex": citizens by age band and sex
  kCategories,   // "categories": citizens with records, by category
  kLatestValue,  // "latest_value": citizens by their latest value, in bins
  kMean,         // "mean": the mean of the latest value, clamped to bounds
};

struct AggregateQuery {
  AggregateKind kind = AggregateKind::kCount;
  int64_t epsilon = 0;  // micro-ε, 0.01..10 ε
  // Only citizens with a permitted Condition of this code ("system|code",
  // or a bare code of any system) are counted.
  std::optional<std::string> condition;
  // kAgeSex: lower edges of the age bands, ascending, the first 0.
  std::vector<int> age_bands;
  // kLatestValue, kMean: the Observation code whose latest value counts.
  std::string code;
  // kLatestValue: bin edges, ascending ("< e1", "e1 to e2", …, "≥ en").
  std::vector<double> bins;
  // kMean: values are clamped to [lower, upper].
  double lower = 0;
  double upper = 0;
};

inline constexpr int64_t kMinQueryEpsilon = 10'000;      // ε 0.01
inline constexpr int64_t kMaxQueryEpsilon = 10'000'000;  // ε 10
inline constexpr int kMeanSteps = 1000;  // the mean's values, quantised

// The JSON form (docs/PRIVACY.md, /openapi.json):
//   {"query": "count" | "age_sex" | "categories" | "latest_value" | "mean",
//    "epsilon": 0.5, "condition": "http://snomed.info/sct|44054006",
//    "age_bands": [0, 18, 40, 65], "code": "http://loinc.org|4548-4",
//    "bins": [5.7, 6.5], "bounds": [0, 20]}
// InvalidArgument naming the field for anything else: an unknown query or
// field, a field the query does not take, ε outside 0.01..10 or with more
// than 6 decimals, more than 20 age bands or 50 bins, edges not ascending,
// bounds not finite or lower ≥ upper.
StatusOr<AggregateQuery> ParseAggregateQuery(std::string_view json);
std::string AggregateQueryToJson(const AggregateQuery& q);
// The query in words, e.g. "number of citizens by age band and sex, among
// those with condition 44054006".
std::string DescribeQuery(const AggregateQuery& q,
                          const consent::StudyDefinition& study);

// One cell of the answer.
struct CellSpec {
  std::string label;  // e.g. "female, 18-29", "lab-results", ">=6.5", "sum"
  std::map<std::string, std::string> key;  // {"sex": …, "age_band": …}, …
  int64_t sensitivity = 1;
  int64_t epsilon = 0;  // micro-ε spent on this cell's noise
};
// The cells of a query's answer, in order (the same for every cohort).
std::vector<CellSpec> Cells(const AggregateQuery& q,
                            const consent::StudyDefinition& study);
// The largest L1 change of the true answer (as a vector over Cells) that
// adding or removing one citizen can make, per ε share: for every query
// but kMean one number for all cells; for kMean {count: 1, sum: 1000}.
int64_t Sensitivity(const AggregateQuery& q,
                    const consent::StudyDefinition& study);

// One contributor's part of the true answer: one value per cell.
using Contribution = std::vector<int64_t>;
// What a cohort member adds, from their released records only.
Contribution Contribute(const AggregateQuery& q,
                        const consent::StudyDefinition& study,
                        const std::vector<vault::StoredRecord>& released,
                        int64_t now);
// Whether the query needs the citizens' stores (else the consent index
// alone answers it: a count without filter for a study without criteria).
bool NeedsStores(const AggregateQuery& q,
                 const consent::StudyDefinition& study);

// The cap on what one study may spend of a citizen's data: the smallest
// `privacy_budget` named by a grant that permits the study, else
// `default_cap`.
int64_t CitizenCap(const consent::CitizenPolicy& policy,
                   const consent::Decision& decision, int64_t default_cap);

struct AggregateCell {
  CellSpec spec;
  int64_t value = 0;         // true count + noise (may be negative)
  int64_t error_bound = 0;   // 95 %: |noise| ≤ this with probability 0.95
  bool below_noise = false;  // value < error_bound
};

struct AggregateResult {
  std::string id;  // agg_…
  std::string study_id;
  AggregateQuery query;
  std::string description;
  int64_t time = 0;
  std::vector<AggregateCell> cells;
  std::optional<double> mean;  // kMean: from the noisy sum and count
  int64_t left_out = 0;        // citizens without room (never shown: exact)
  StudyBudget budget;          // after this query
  // The query's own audit entry. Not for the researcher: the log's growth
  // is per candidate, but its indexes are not theirs to see.
  uint64_t audit_index = 0;
};

struct AggregateInput {
  const consent::StudyDefinition* study = nullptr;         // not owned
  const consent::ResearcherProfile* researcher = nullptr;  // not owned
  AggregateQuery query;
  // ConsentService::AggregateCandidates: the citizens the consent index
  // permits, each with the cap their permitting grants name.
  std::vector<consent::Candidate> candidates;
  std::string id;  // agg_…, new
  int64_t now = 0;
  std::string request_id;
  crypto::Random* rng = nullptr;  // the noise; not owned, not null
};

// Answers one query. PermissionDenied when the study has no budget or too
// little left (nothing is spent); the errors of the ledger and of `audit`.
// Audit entries: one per candidate ("permit" when their data was used and
// charged, "deny" when their cap had no room) and one for the query.
StatusOr<AggregateResult> RunAggregate(vault::StoreAccess& stores,
                                       PrivacyLedger& ledger,
                                       const AggregateInput& input,
                                       const AuditBatch& audit);

// Erasure: removes the citizen's rows from the ledger, never while a query
// that may charge them runs in this process.
Status ForgetAggregateParticipation(PrivacyLedger& ledger,
                                    std::string_view citizen_id);

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_AGGREGATE_H_
