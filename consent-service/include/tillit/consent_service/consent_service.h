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
// from two threads are serialised by SQLite. The in-memory index is
// guarded by index_mu_, held while it is refreshed and counted.
#ifndef TILLIT_CONSENT_SERVICE_CONSENT_SERVICE_H_
#define TILLIT_CONSENT_SERVICE_CONSENT_SERVICE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/clock.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/consent/policy.h"
#include "tillit/consent_service/consent_index.h"
#include "tillit/consent_service/study_definition.h"
#include "tillit/crypto/random.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {

// Counts by category of what a grant would release today, and the
// registered studies it would let in.
struct GrantPreview {
  std::map<std::string, int64_t> by_category;
  int64_t total = 0;
  std::vector<std::string> matching_studies;
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
  StatusOr<Grant> AddGrant(const std::string& citizen_id, std::string_view json,
                           const std::string& id = "");
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
  StatusOr<bool> GetResearchOptOut(const std::string& citizen_id);

  // --- primary-use opt-out (EHDS Art 10): while on, providers' decisions
  // deny (consent::CitizenPolicy::primary_use_opt_out); effective at the
  // next decision, like a revocation.
  Status SetPrimaryUseOptOut(const std::string& citizen_id, bool opted_out);
  StatusOr<bool> GetPrimaryUseOptOut(const std::string& citizen_id);

  // --- break-glass: a reason of 1..1000 bytes; lasts 24 hours (or less
  // with `hours`). `admit`, if given, is called with the citizen's policy
  // as it stands, under the same lock as the write, after the arguments
  // were checked; its error is returned and nothing is written.
  using AdmitFn = std::function<Status(const CitizenPolicy&)>;
  StatusOr<BreakGlass> OpenBreakGlass(const std::string& citizen_id,
                                      const std::string& provider_id,
                                      std::string_view reason, int hours = 24,
                                      const AdmitFn& admit = nullptr);

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
  StatusOr<Feasibility> CountCohort(const std::string& study_id)
      EXCLUDES(index_mu_);
  // The citizens the consent index says could be in the study's cohort
  // (grant metadata only: excludes and criteria are for the caller to
  // apply on each citizen's full policy and records).
  StatusOr<std::vector<std::string>> Candidates(
      const ResearcherProfile& researcher, const Study& study)
      EXCLUDES(index_mu_);
  // The same, with each citizen's permitting grants and privacy cap (for
  // aggregates).
  StatusOr<std::vector<Candidate>> AggregateCandidates(
      const ResearcherProfile& researcher, const Study& study)
      EXCLUDES(index_mu_);

 private:
  // Writes documents and the citizen's full consent-index rows.
  Status WriteWithIndex(vault::CitizenStore& store,
                        std::vector<vault::DocumentWrite> writes,
                        const std::vector<Grant>& grants, bool opted_out);
  // The index as of the registry's current index version, reloaded when
  // that version has changed.
  StatusOr<ConsentIndex*> FreshIndex() REQUIRES(index_mu_);

  vault::Vault* vault_;
  Clock* clock_;
  crypto::Random* rng_;
  vault::DirectStoreAccess direct_;
  vault::StoreAccess* access_;
  Mutex index_mu_;
  ConsentIndex index_ GUARDED_BY(index_mu_);
  int64_t index_version_ GUARDED_BY(index_mu_) = -1;
};

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_CONSENT_SERVICE_H_
