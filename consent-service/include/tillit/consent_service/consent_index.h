// ConsentIndex: an in-memory copy of the registry's consent index (each
// citizen's active grants without excludes, and their opt-out flag; never
// health data) for counting the cohort of a study without opening any
// citizen's store. Counts are published through FormatCount.
//
// Thread-safety: const methods may be called concurrently; replacing an
// index that others read needs external synchronisation (ConsentService
// holds a lock).
#ifndef TILLIT_CONSENT_SERVICE_CONSENT_INDEX_H_
#define TILLIT_CONSENT_SERVICE_CONSENT_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/consent/policy.h"

namespace tillit::vault {
class Vault;
}  // namespace tillit::vault

namespace tillit::consent {

// A cohort size from the consent index. Counts below 10 are reported as
// "<10" (see FormatCount).
struct Feasibility {
  int64_t cohort_size = 0;
  int64_t citizens = 0;  // citizens in the index
  // For citizens not in the cohort: how often each first-failing clause
  // (of their closest grant) was the reason, e.g. {"purpose": 120}.
  std::map<std::string, int64_t> reasons;
};
// A citizen whose grants permit a study, as the index knows them.
struct Candidate {
  std::string citizen_id;
  std::vector<std::string> grant_ids;  // the permitting grants
  // The smallest `privacy_budget` (micro-ε) a permitting grant names.
  std::optional<int64_t> privacy_budget;
};

// "<10" for 0..9, else the number.
std::string FormatCount(int64_t n);

class ConsentIndex {
 public:
  struct Entry {
    std::string citizen_id;
    CitizenPolicy policy;  // grants without excludes, and the opt-out flag
  };
  ConsentIndex() = default;
  explicit ConsentIndex(std::vector<Entry> entries)
      : entries_(std::move(entries)) {}

  // Reads every consent row of the registry. DataLoss when a grant row
  // does not parse.
  static StatusOr<ConsentIndex> Load(vault::Vault& vault);

  // Counts the citizens whose grants permit `request` at `now`.
  Feasibility Count(const ResearchRequest& request, int64_t now) const;
  // The ids of those citizens, in the index's order (by citizen id).
  std::vector<std::string> Permitted(const ResearchRequest& request,
                                     int64_t now) const;
  // The same citizens, with their permitting grants and caps.
  std::vector<Candidate> PermittedCandidates(const ResearchRequest& request,
                                             int64_t now) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_CONSENT_INDEX_H_
