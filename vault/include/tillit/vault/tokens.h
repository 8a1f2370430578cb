// TokenStore: the bearer tokens that authenticate the vault's principals
// (operator, citizens, providers, researchers, auditors) and the
// single-use codes (enrollment) that stand for them.
//
// A token is "tlk_" + 64 random hex characters. It is made in secure
// memory and shown once, when issued; the registry's `tokens` table (created
// by the Vault's registry schema) keeps only its keyed hash, with role,
// principal, lifetime and revocation time. Lookups are by keyed hash, so
// nothing is ever compared with the secret, and every refusal of a presented
// token says the same thing whatever the reason.
//
// Thread-safety: all methods are safe to call concurrently. Each takes the
// registry mutex it was given, which serialises every use of the registry
// connection (the Vault's own included).
#ifndef TILLIT_VAULT_TOKENS_H_
#define TILLIT_VAULT_TOKENS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/clock.h"
#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/storage/database.h"

namespace tillit::vault {

// A freshly issued token. Move-only: the text is held in SecretBytes and
// only its keyed hash is stored.
struct IssuedToken {
  crypto::SecretBytes token;  // "tlk_" + 64 hex characters, no NUL
  int64_t expires_at = 0;

  // The token's text, for the one place it leaves the process (the CLI's
  // output, an HTTP response body) and for tests that present it. Valid
  // while `token` lives and is not moved from.
  std::string_view ExposeSecretText() const {
    return {reinterpret_cast<const char*>(token.ExposeSecret()), token.size()};
  }
};

// What a valid token stands for.
struct TokenInfo {
  std::string role;       // "admin", "citizen", "provider", "researcher",
                          // "auditor", "enroll", ...
  std::string principal;  // c_…, p_…, r_…, a_…, or "operator"
  int64_t expires_at = 0;
};

class TokenStore {
 public:
  // `registry` holds the `tokens` table and is guarded by `registry_mu`;
  // neither is owned and both must outlive the store. `key` is the
  // token-hashing key (a sub-key of the vault's master secret). `clock`
  // and `rng` are not owned.
  TokenStore(storage::Database* registry, Mutex* registry_mu,
             crypto::SecretBytes key, Clock* clock, crypto::Random* rng);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // InvalidArgument unless ttl_seconds > 0.
  StatusOr<IssuedToken> Issue(std::string_view role, std::string_view principal,
                              int64_t ttl_seconds) EXCLUDES(mu_);
  // The role and principal of a token that exists, has not expired and is
  // not revoked; Unauthenticated otherwise (one message for every case).
  StatusOr<TokenInfo> Verify(std::string_view token) EXCLUDES(mu_);
  // Single use: verifies a token of `role` and revokes it in the same
  // registry transaction, so two concurrent redemptions cannot both win.
  // Unauthenticated otherwise (one message for every case).
  StatusOr<TokenInfo> Redeem(std::string_view token, std::string_view role)
      EXCLUDES(mu_);
  // NotFound for a token that was never issued; FailedPrecondition when it
  // is already revoked.
  Status Revoke(std::string_view token) EXCLUDES(mu_);
  // Revokes every live token of a principal; returns how many.
  StatusOr<int64_t> RevokePrincipal(std::string_view principal) EXCLUDES(mu_);

 private:
  // The keyed hash a presented token is stored under, or `refusal` for a
  // string that cannot have been issued.
  StatusOr<crypto::Digest> PresentedHash(std::string_view token,
                                         Status refusal) const;
  // The live (unrevoked, unexpired) token with this keyed hash, if any.
  StatusOr<std::optional<TokenInfo>> FindLive(const crypto::Digest& hash,
                                              int64_t now) REQUIRES(mu_);

  Mutex* const mu_;
  storage::Database* const registry_ PT_GUARDED_BY(mu_);
  const crypto::SecretBytes key_;
  Clock* const clock_;
  crypto::Random* const rng_;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_TOKENS_H_
