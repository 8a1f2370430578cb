// Proxies: the people a citizen authorised to act for them, and the
// guardians an operator recorded (EHDS Art 4(2)-(3)); the rules and the
// decision are tillit/consent/proxy.h.
//
// An authorisation is a document in the represented citizen's encrypted
// store (kind "proxy", key px_… or gd_…), so it is part of the citizen's
// policy (ConsentService::ReadPolicy) and a revocation governs the very
// next decision, like a grant's. While it is neither revoked nor ended,
// the citizen's rows of the registry index "proxy" name it and who acts
// (authorisation id → proxy citizen id: no scope, no health data), so a
// proxy can find the citizens they act for.
//
// Thread-safety: safe to call concurrently; each change works on the
// citizen's store under the store access's lock.
#ifndef TILLIT_CONSENT_SERVICE_PROXIES_H_
#define TILLIT_CONSENT_SERVICE_PROXIES_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "tillit/base/clock.h"
#include "tillit/base/status.h"
#include "tillit/consent/proxy.h"
#include "tillit/crypto/random.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::consent {

class Proxies {
 public:
  // Authorisations a citizen may hold at once (active or scheduled).
  static constexpr size_t kMaxLive = 20;

  // Not owned; must outlive this.
  Proxies(vault::Vault* vault, Clock* clock, crypto::Random* rng,
          vault::StoreAccess* access);

  // Called under the citizen's lock with what is about to be stored (the
  // caller writes its audit entry); its error is returned and nothing is
  // stored.
  using AdmitFn = std::function<Status(const ProxyAuthorisation&)>;

  // The citizen authorises `a.proxy_id` (a from ParseProxy; the id is
  // assigned here). InvalidArgument when the proxy is the citizen or no
  // citizen of this vault; FailedPrecondition when that person already
  // holds a live authorisation from the citizen, or the citizen holds
  // kMaxLive; NotFound for an unknown citizen.
  StatusOr<ProxyAuthorisation> Authorise(const std::string& citizen_id,
                                         ProxyAuthorisation a,
                                         const AdmitFn& admit);
  // Replaces the scope of a live proxy authorisation with `scope`'s
  // access, categories, purpose, end and inclusions (from ParseProxy with
  // for_change). NotFound for no such authorisation of the citizen;
  // FailedPrecondition for a guardianship (the operator's) or one that
  // is revoked or expired.
  StatusOr<ProxyAuthorisation> Change(const std::string& citizen_id,
                                      const std::string& id,
                                      const ProxyAuthorisation& scope,
                                      const AdmitFn& admit);
  // Revokes a proxy authorisation; the same errors as Change.
  StatusOr<ProxyAuthorisation> Revoke(const std::string& citizen_id,
                                      const std::string& id,
                                      const AdmitFn& admit);
  // Every authorisation of the citizen, guardianships included, newest
  // first.
  StatusOr<std::vector<ProxyAuthorisation>> List(const std::string& citizen_id);

  // The citizens `proxy_id` may act for now, with the authorisation.
  struct Represented {
    std::string citizen_id;
    ProxyAuthorisation authorisation;
  };
  StatusOr<std::vector<Represented>> RepresentedBy(const std::string& proxy_id);

  // The operator records a guardianship. NotFound naming the guardian or
  // the citizen when either is no citizen of this vault.
  StatusOr<ProxyAuthorisation> RecordGuardianship(const Guardianship& g,
                                                  const AdmitFn& admit);
  // The operator ends one early (a court's decision); NotFound for no
  // such live guardianship. Returns it with the citizen it was for, whom
  // `admit` is told too.
  using EndAdmitFn = std::function<Status(const std::string& citizen_id,
                                          const ProxyAuthorisation&)>;
  StatusOr<Represented> EndGuardianship(const std::string& id,
                                        const EndAdmitFn& admit);

 private:
  // Runs `change` on the citizen's authorisation `id` under the lock and
  // stores it with the citizen's refreshed index rows.
  StatusOr<ProxyAuthorisation> Update(
      const std::string& citizen_id, const std::string& id,
      const std::function<Status(ProxyAuthorisation&)>& change,
      const AdmitFn& admit);
  Status CheckCitizen(const std::string& id, const char* what);

  vault::Vault* vault_;
  Clock* clock_;
  crypto::Random* rng_;
  vault::StoreAccess* access_;
};

// The authorisations stored in a citizen's store (for ReadPolicy).
StatusOr<std::vector<ProxyAuthorisation>> ReadProxies(
    vault::CitizenStore& store);

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_PROXIES_H_
