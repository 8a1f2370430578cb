#include "tillit/consent_service/consent_index.h"

#include <optional>

#include "store_layout.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {

using service_internal::kIndexKind;
using service_internal::kOptOutKey;

std::string FormatCount(int64_t n) {
  return n < 10 ? "<10" : std::to_string(n);
}

StatusOr<ConsentIndex> ConsentIndex::Load(vault::Vault& vault) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<vault::IndexEntry> rows,
                          vault.ReadIndex(kIndexKind));
  std::vector<Entry> entries;
  for (const vault::IndexEntry& row : rows) {
    if (entries.empty() || entries.back().citizen_id != row.citizen_id) {
      entries.push_back(Entry{row.citizen_id, {}});
    }
    Entry& e = entries.back();
    if (row.key == kOptOutKey) {
      e.policy.research_opt_out = row.value == "true";
      continue;
    }
    auto grant = GrantFromStoredJson(row.value);
    if (!grant.ok()) return Status::DataLoss("consent index row is malformed");
    e.policy.grants.push_back(std::move(grant).value());
  }
  return ConsentIndex(std::move(entries));
}

Feasibility ConsentIndex::Count(const ResearchRequest& request,
                                int64_t now) const {
  Feasibility f;
  f.citizens = static_cast<int64_t>(entries_.size());
  Decision d;
  for (const Entry& e : entries_) {
    DecideResearch(e.policy, request, now, &d);
    if (d.permit) {
      ++f.cohort_size;
      continue;
    }
    // The reason of the grant that came closest (failed latest).
    std::optional<Clause> best;
    for (const Reason& r : d.reasons) {
      if (!best || static_cast<int>(r.clause) > static_cast<int>(*best))
        best = r.clause;
    }
    ++f.reasons[best ? std::string(ClauseName(*best)) : "no-grant"];
  }
  return f;
}

std::vector<std::string> ConsentIndex::Permitted(const ResearchRequest& request,
                                                 int64_t now) const {
  std::vector<std::string> ids;
  Decision d;
  for (const Entry& e : entries_) {
    DecideResearch(e.policy, request, now, &d);
    if (d.permit) ids.push_back(e.citizen_id);
  }
  return ids;
}

std::vector<Candidate> ConsentIndex::PermittedCandidates(
    const ResearchRequest& request, int64_t now) const {
  std::vector<Candidate> out;
  Decision d;
  for (const Entry& e : entries_) {
    DecideResearch(e.policy, request, now, &d);
    if (!d.permit) continue;
    Candidate c{e.citizen_id, {}, std::nullopt};
    for (uint32_t g : d.permitting) {
      const Grant& grant = e.policy.grants[g];
      c.grant_ids.push_back(grant.id);
      if (grant.privacy_budget &&
          (!c.privacy_budget || *grant.privacy_budget < *c.privacy_budget))
        c.privacy_budget = grant.privacy_budget;
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace tillit::consent
