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

}  // namespace tillit::api

#endif  // TILLIT_API_PRINCIPALS_H_
