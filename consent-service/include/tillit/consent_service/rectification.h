// Rectifications: a citizen's requests to correct a record (EHDS Art 6),
// routed to the provider who wrote it, and the provider's decision.
//
// A request is a document in the citizen's encrypted store (kind
// "rectification", key rr_…), with its reason and the proposed resource.
// While it is pending, the citizen's rows of the registry index
// "rectification" name it and its provider (request id → provider id:
// never a reason or any health data), so a provider can list what waits
// for it. An accepted request stores the corrected resource in the same
// transaction that records the decision; the replaced version stays in the
// record's history (vault::CitizenStore::History), superseded by the
// provider with the note "rectification rr_…".
//
// Who decides: a record a provider pushed, that provider; an imported
// record, the provider the operator named for imported records (a national
// choice, RectificationOptions::import_provider; without one, imported
// records cannot be rectified through tillit). Records the citizen entered
// are theirs to correct directly, not through a request.
//
// Thread-safety: safe to call concurrently; each call works on the
// citizen's store under the store access's lock.
#ifndef TILLIT_CONSENT_SERVICE_RECTIFICATION_H_
#define TILLIT_CONSENT_SERVICE_RECTIFICATION_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/clock.h"
#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {

struct RectificationRequest {
  std::string id;  // rr_ and 32 hex digits
  std::string citizen_id;
  std::string record_type;
  std::string record_id;
  std::string reason;
  std::string proposed;       // the citizen's proposed FHIR JSON, or empty
  std::string record_sha256;  // hex SHA-256 of the record when asked
  std::string provider_id;    // who decides
  std::string status;         // "pending", "accepted" or "declined"
  int64_t created_at = 0;
  int64_t decided_at = 0;       // 0 while pending
  std::string decision_reason;  // a decline's reason
};

struct RectificationOptions {
  // The provider (p_…) who answers for imported records; empty: nobody.
  std::string import_provider;
  // Pending requests one citizen may have at once.
  size_t max_pending = 50;
};

class Rectifications {
 public:
  static constexpr size_t kMaxReasonBytes = 1000;
  static constexpr size_t kMaxProposedBytes = 64 * 1024;

  // Not owned; must outlive this. `options.import_provider` must be empty
  // or a provider id (checked by the caller that reads the setting).
  Rectifications(vault::Vault* vault, Clock* clock, crypto::Random* rng,
                 vault::StoreAccess* access, RectificationOptions options);

  // Called under the citizen's lock with what is about to be stored (the
  // caller's audit entry); its error is returned and nothing is stored.
  using AdmitFn = std::function<Status(const RectificationRequest&)>;

  // The citizen asks for (type, id) to be corrected. `reason`: 1..1000
  // bytes, not only white space; `proposed`: empty, or a FHIR resource of the
  // record's type (its id absent or the record's). Errors: InvalidArgument for
  // bad input; NotFound for no such record (or citizen); FailedPrecondition if
  // the citizen entered the record, a request for it is pending, the
  // citizen has max_pending pending requests, or nobody answers for it.
  StatusOr<RectificationRequest> Ask(const std::string& citizen_id,
                                     std::string_view type, std::string_view id,
                                     std::string_view reason,
                                     std::string_view proposed,
                                     const AdmitFn& admit);

  // The citizen's requests, newest first.
  StatusOr<std::vector<RectificationRequest>> ForCitizen(
      const std::string& citizen_id);
  // The pending requests routed to the provider, oldest first.
  StatusOr<std::vector<RectificationRequest>> PendingFor(
      const std::string& provider_id);
  // The citizen a pending request routed to the provider belongs to;
  // NotFound for any other request id.
  StatusOr<std::string> CitizenOf(const std::string& provider_id,
                                  const std::string& request_id);

  // The provider accepts: `corrected` (a FHIR resource of the record's
  // type, its id absent or the record's) replaces the record. Errors:
  // NotFound unless the request is pending and routed to `provider_id`;
  // InvalidArgument for a bad resource; FailedPrecondition if it says
  // what the stored record says (source tags aside), or if the record
  // changed since the citizen asked (the provider declines, and the
  // citizen asks again about what is there now).
  StatusOr<RectificationRequest> Accept(const std::string& provider_id,
                                        const std::string& request_id,
                                        std::string_view corrected,
                                        const AdmitFn& admit);
  // The provider declines with a reason of 1..1000 bytes.
  StatusOr<RectificationRequest> Decline(const std::string& provider_id,
                                         const std::string& request_id,
                                         std::string_view reason,
                                         const AdmitFn& admit);

 private:
  // Runs `decide` on the pending request under the citizen's lock.
  StatusOr<RectificationRequest> Decide(
      const std::string& provider_id, const std::string& request_id,
      const std::function<Status(vault::CitizenStore&, RectificationRequest&)>&
          decide);

  vault::Vault* vault_;
  Clock* clock_;
  crypto::Random* rng_;
  vault::StoreAccess* access_;
  RectificationOptions options_;
};

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_RECTIFICATION_H_
