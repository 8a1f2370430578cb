// Registration of principals: citizens (with a one-time enrollment code),
// researchers, providers and auditors (with a token). Shared by the HTTP
// admin routes and the `tillit citizen|researcher|provider|auditor add`
// verbs, so both validate the same way.
//
// Thread-safety: functions; safe to call concurrently.
#ifndef TILLIT_API_PRINCIPALS_H_
#define TILLIT_API_PRINCIPALS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/random.h"
#include "tillit/vault/vault.h"

namespace tillit::api {

struct NewCitizen {
  std::string citizen_id;
  vault::IssuedToken enrollment_code;  // single use, role "enroll"
};
// Creates an empty citizen and a code the citizen exchanges for a token.
StatusOr<NewCitizen> CreateCitizenWithCode(vault::Vault& vault,
                                           int64_t code_ttl_seconds);
// A new enrollment code for an existing citizen (NotFound otherwise).
StatusOr<vault::IssuedToken> NewEnrollmentCode(vault::Vault& vault,
                                               const std::string& citizen_id,
                                               int64_t code_ttl_seconds);

struct Registration {
  std::string id;  // r_…, p_… or a_…
  vault::IssuedToken token;
};

// Researcher: {"name", "organization", "org_type" (academic, non-profit,
// public, commercial), "country" (ISO 3166-1 alpha-2), "public_key"
// (base64 X25519, 32 bytes, not a low-order point)}. Unknown fields are
// refused. InvalidArgument names the field.
StatusOr<Registration> RegisterResearcher(vault::Vault& vault,
                                          consent::ConsentService& consents,
                                          crypto::Random& rng,
                                          std::string_view json,
                                          int64_t token_ttl_seconds);
// Provider and auditor: {"name", "organization" (optional)}.
StatusOr<Registration> RegisterProvider(vault::Vault& vault,
                                        crypto::Random& rng,
                                        std::string_view json,
                                        int64_t token_ttl_seconds);
StatusOr<Registration> RegisterAuditor(vault::Vault& vault, crypto::Random& rng,
                                       std::string_view json,
                                       int64_t token_ttl_seconds);

// A SMART app (a public client, docs/FHIR.md): a name as providers have
// and 1 to 10 redirect URIs, each an absolute https URL, or an http URL
// on a loopback host (127.0.0.1, [::1], localhost) for apps on the same
// machine; at most 2,000 bytes of printable ASCII without spaces or a
// fragment. InvalidArgument names the problem.
struct RegisteredApp {
  std::string client_id;  // app_ + 32 hex digits
  std::string name;
  std::vector<std::string> redirect_uris;
};
StatusOr<RegisteredApp> RegisterApp(
    vault::Vault& vault, crypto::Random& rng, std::string_view name,
    const std::vector<std::string>& redirect_uris, int64_t now);
// The check RegisterApp makes of one redirect URI.
Status CheckRedirectUri(std::string_view uri);

}  // namespace tillit::api

#endif  // TILLIT_API_PRINCIPALS_H_
