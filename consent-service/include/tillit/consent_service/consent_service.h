// ConsentService: the citizen's consent decisions, kept in their own vault.
//
// Grants, restrictions, the research opt-out and break-glass records are
// documents in the citizen's encrypted store (authoritative). Every change
// also rewrites the citizen's rows of the registry's consent index (grant
// metadata without excludes, and the opt-out flag: never health data) in
// the same citizen-store transaction; the Vault mirrors those rows into the
// registry and re-mirrors them on the next open if the process died in
// between, so store and index cannot disagree after a crash.
//
// Decisions are always taken on the policy just read from the store: there
// is no decision cache, so a revocation or opt-out governs the very next
// decision. Feasibility counts use the in-memory ConsentIndex, refreshed
// whenever the registry's index version changes.
//
// Thread-safety: safe to call concurrently (the Vault serialises registry
// access; each call opens its own citizen store); writes to one citizen
// from two threads are serialised by SQLite.
#ifndef TILLIT_CONSENT_SERVICE_CONSENT_SERVICE_H_
#define TILLIT_CONSENT_SERVICE_CONSENT_SERVICE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/consent/policy.h"
#include "tillit/crypto/random.h"
#include "tillit/base/status.h"
#include "tillit/base/clock.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {

// Cohort criteria of a study (SPEC §5), all optional, all must hold:
//   {"conditions": ["system|code" or "code", ...],  // any one of them
//    "age": {"min": N, "max": N},   // whole years at the release date,
//                                   // inclusive
//    "sex": "female" | "male" | "other" | "unknown"}  // Patient.gender
struct CohortCriteria {
  std::vector<std::string> conditions;
  std::optional<int> min_age;
  std::optional<int> max_age;
  std::optional<std::string> sex;
  bool empty() const {
    return conditions.empty() && !min_age && !max_age && !sex;
  }
};
// InvalidArgument naming the field for anything else (unknown fields,
// ages outside 0..150, min above max, more than 100 codes).
StatusOr<CohortCriteria> ParseCohortCriteria(std::string_view json);

// Researchers and studies as kept in the vault's directory.
std::string ResearcherToJson(const ResearcherProfile& r);
StatusOr<ResearcherProfile> ResearcherFromJson(std::string_view json);
// A study definition (SPEC §5 step 2): title, purpose (DUO code string or
// {"code","disease"}), categories, data_period, criteria (kept as given),
// ethics_approval, obligations (DUO codes of PUB/COL/RTN/MOR), and the
// optional flags commercial_use and genetic. Unknown fields are refused.
struct StudyDefinition {
  Study study;
  std::string title;
  std::string criteria_json = "{}";  // as given (validated)
  CohortCriteria criteria;
};
StatusOr<StudyDefinition> ParseStudyDefinition(std::string_view json);
std::string StudyToJson(const StudyDefinition& s);

// Counts by category of what a grant would release today, and the
// registered studies it would let in.
struct GrantPreview {
  std::map<std::string, int64_t> by_category;
  int64_t total = 0;
  std::vector<std::string> matching_studies;
};

// A cohort size from the consent index. Counts below 10 are reported as
// "<10" (see FormatCount).
struct Feasibility {
  int64_t cohort_size = 0;
  int64_t citizens = 0;  // citizens in the index
  // For citizens not in the cohort: how often each first-failing clause
  // (of their closest grant) was the reason, e.g. {"purpose": 120}.
  std::map<std::string, int64_t> reasons;
};
// "<10" for 0..9, else the number.
std::string FormatCount(int64_t n);

// An in-memory copy of the consent index for counting cohorts.
class ConsentIndex {
 public:
  struct Entry {
    std::string citizen_id;
    CitizenPolicy policy;  // grants without excludes, and the opt-out flag
  };
  ConsentIndex() = default;
  explicit ConsentIndex(std::vector<Entry> entries)
      : entries_(std::move(entries)) {}

  // Reads every consent row of the registry.
  static StatusOr<ConsentIndex> Load(vault::Vault& vault);

  // Counts the citizens whose grants permit `request` at `now`.
  Feasibility Count(const ResearchRequest& request, int64_t now) const;
  // The ids of those citizens, in the index's order (by citizen id).
  std::vector<std::string> Permitted(const ResearchRequest& request,
                                     int64_t now) const;
  size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

class ConsentService {
 public:
  // `vault`, `clock`, `rng` and `access` are not owned and must outlive the
  // service. Citizen stores are reached through `access` (a server passes
  // its StoreCache); without it, each call opens the store it needs.
  ConsentService(vault::Vault* vault, Clock* clock, crypto::Random* rng,
                 vault::StoreAccess* access = nullptr);

  // --- grants (NotFound for an unknown citizen or another citizen's grant)
  // `id`, if given, is the grant's id (from NewGrantId: the server names
  // the grant in its audit entry before storing it); AlreadyExists if the
  // citizen has a grant with that id.
  StatusOr<Grant> AddGrant(const std::string& citizen_id,
                           std::string_view json, const std::string& id = "");
  std::string NewGrantId();
  // FailedPrecondition when already revoked.
  StatusOr<Grant> RevokeGrant(const std::string& citizen_id,
                              const std::string& grant_id);
  StatusOr<std::vector<Grant>> ListGrants(const std::string& citizen_id);
  StatusOr<GrantPreview> PreviewGrant(const std::string& citizen_id,
                                      std::string_view json);

  // --- restrictions: {"categories": [...], "records": ["Type/id", ...]}
  StatusOr<Restrictions> GetRestrictions(const std::string& citizen_id);
  StatusOr<Restrictions> SetRestrictions(const std::string& citizen_id,
                                         std::string_view json);
  static std::string RestrictionsToJson(const Restrictions& r);
  // The validation SetRestrictions applies, alone (nothing is stored).
  static StatusOr<Restrictions> ParseRestrictions(std::string_view json);

  // --- research opt-out
  Status SetResearchOptOut(const std::string& citizen_id, bool opted_out);

  // --- break-glass: a reason of 1..1000 bytes; lasts 24 hours (or less
  // with `hours`).
  StatusOr<BreakGlass> OpenBreakGlass(const std::string& citizen_id,
                                      const std::string& provider_id,
                                      std::string_view reason, int hours = 24);

  // The citizen's whole policy, read now from their store.
  StatusOr<CitizenPolicy> LoadPolicy(const std::string& citizen_id);
  // The same, from a store the caller already holds.
  static StatusOr<CitizenPolicy> ReadPolicy(vault::CitizenStore& store);

  // --- directory
  Status RegisterResearcher(const ResearcherProfile& researcher);
  StatusOr<ResearcherProfile> GetResearcher(const std::string& id);
  // Assigns the study id (s_…) and stores it.
  StatusOr<StudyDefinition> RegisterStudy(StudyDefinition study);
  StatusOr<StudyDefinition> GetStudy(const std::string& id);
  StatusOr<std::vector<StudyDefinition>> ListStudies();

  // Cohort size of a registered study, from the consent index only.
  StatusOr<Feasibility> CountCohort(const std::string& study_id);
  // The citizens the consent index says could be in the study's cohort
  // (grant metadata only: excludes and criteria are for the caller to
  // apply on each citizen's full policy and records).
  StatusOr<std::vector<std::string>> Candidates(
      const ResearcherProfile& researcher, const Study& study);

 private:
  // Writes documents and the citizen's full consent-index rows.
  Status WriteWithIndex(vault::CitizenStore& store,
                        std::vector<vault::DocumentWrite> writes,
                        const std::vector<Grant>& grants, bool opted_out);
  StatusOr<ConsentIndex*> FreshIndex();

  vault::Vault* vault_;
  Clock* clock_;
  crypto::Random* rng_;
  vault::DirectStoreAccess direct_;
  vault::StoreAccess* access_;
  std::mutex index_mu_;
  ConsentIndex index_;
  int64_t index_version_ = -1;
};

// Parsed policies of citizens, each kept while nothing has been committed
// to its store since it was read (by any connection or process), so a
// busy server does not re-read and re-parse a citizen's grants on every
// request. At most `capacity` policies are kept. Thread-safe.
class PolicyCache {
 public:
  explicit PolicyCache(size_t capacity) : capacity_(capacity) {}
  PolicyCache(const PolicyCache&) = delete;
  PolicyCache& operator=(const PolicyCache&) = delete;

  // The policy in `store`, which the caller holds: the kept one if the
  // store is unchanged, else read now (ConsentService::ReadPolicy).
  StatusOr<std::shared_ptr<const CitizenPolicy>> Get(
      vault::CitizenStore& store);

  size_t size() const;

 private:
  struct Kept {
    storage::Database::Version version;
    std::shared_ptr<const CitizenPolicy> policy;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::map<std::string, Kept, std::less<>> kept_;
};

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_CONSENT_SERVICE_H_
