// TokenStore: the bearer tokens that authenticate the vault's principals
// (operator, citizens, providers, researchers, auditors) and the
// single-use codes (enrollment) that stand for them.
//
// A token is "tlk_" + 64 random hex characters. It is made in secure
// memory and shown once, when issued; a TokenRepository (the registry's
// `tokens` table) keeps only its keyed hash, with role, principal, lifetime
// and revocation time. Lookups are by keyed hash, so
// nothing is ever compared with the secret, and every refusal of a presented
// token says the same thing whatever the reason.
//
// Thread-safety: all methods are safe to call concurrently.
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

// Where token rows are kept, by keyed hash: the registry's `tokens` table
// in a data directory (SqliteTokenRepository). TokenStore makes and checks
// tokens; a repository only keeps rows. Every method is safe to call
// concurrently.
class TokenRepository {
 public:
  virtual ~TokenRepository() = default;

  // AlreadyExists if a row with `hash` exists.
  virtual Status Insert(const crypto::Digest& hash, std::string_view role,
                        std::string_view principal, int64_t created_at,
                        int64_t expires_at) = 0;
  // The token with `hash` if it is unrevoked and expires after `now`.
  virtual StatusOr<std::optional<TokenInfo>> FindLive(
      const crypto::Digest& hash, int64_t now) = 0;
  // In one transaction: the live token with `hash`, if its role is `role`,
  // revoked at `now`; nullopt, and nothing changed, otherwise. Of two
  // concurrent calls for one token, one gets it.
  virtual StatusOr<std::optional<TokenInfo>> TakeLive(
      const crypto::Digest& hash, std::string_view role, int64_t now) = 0;
  // Marks the token revoked at `now`. NotFound for no row; FailedPrecondition
  // when it is already revoked.
  virtual Status Revoke(const crypto::Digest& hash, int64_t now) = 0;
  // Revokes every unrevoked token of `principal` at `now`; returns how many.
  virtual StatusOr<int64_t> RevokePrincipal(std::string_view principal,
                                            int64_t now) = 0;
};

// The `tokens` table of a registry database (created by the Vault's registry
// schema). Every use of `registry` takes `registry_mu`, which serialises the
// connection with its other users (the Vault's own).
class SqliteTokenRepository final : public TokenRepository {
 public:
  // Neither is owned; both must outlive the repository.
  SqliteTokenRepository(storage::Database* registry, Mutex* registry_mu)
      : mu_(registry_mu), registry_(registry) {}

  Status Insert(const crypto::Digest& hash, std::string_view role,
                std::string_view principal, int64_t created_at,
                int64_t expires_at) override EXCLUDES(mu_);
  StatusOr<std::optional<TokenInfo>> FindLive(const crypto::Digest& hash,
                                              int64_t now) override
      EXCLUDES(mu_);
  StatusOr<std::optional<TokenInfo>> TakeLive(const crypto::Digest& hash,
                                              std::string_view role,
                                              int64_t now) override
      EXCLUDES(mu_);
  Status Revoke(const crypto::Digest& hash, int64_t now) override EXCLUDES(mu_);
  StatusOr<int64_t> RevokePrincipal(std::string_view principal,
                                    int64_t now) override EXCLUDES(mu_);

 private:
  StatusOr<std::optional<TokenInfo>> FindLiveLocked(const crypto::Digest& hash,
                                                    int64_t now) REQUIRES(mu_);

  Mutex* const mu_;
  storage::Database* const registry_ PT_GUARDED_BY(mu_);
};

class TokenStore {
 public:
  // `rows` keeps the tokens (not owned; must outlive the store). `key` is
  // the token-hashing key (a sub-key of the vault's master secret).
  // `clock` and `rng` are not owned.
  TokenStore(TokenRepository* rows, crypto::SecretBytes key, Clock* clock,
             crypto::Random* rng);
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

  // InvalidArgument unless ttl_seconds > 0.
  StatusOr<IssuedToken> Issue(std::string_view role, std::string_view principal,
                              int64_t ttl_seconds);
  // The role and principal of a token that exists, has not expired and is
  // not revoked; Unauthenticated otherwise (one message for every case).
  StatusOr<TokenInfo> Verify(std::string_view token);
  // Single use: verifies a token of `role` and revokes it in the same
  // transaction, so two concurrent redemptions cannot both win.
  // Unauthenticated otherwise (one message for every case).
  StatusOr<TokenInfo> Redeem(std::string_view token, std::string_view role);
  // NotFound for a token that was never issued; FailedPrecondition when it
  // is already revoked.
  Status Revoke(std::string_view token);
  // Revokes every live token of a principal; returns how many.
  StatusOr<int64_t> RevokePrincipal(std::string_view principal);

 private:
  // The keyed hash a presented token is stored under, or `refusal` for a
  // string that cannot have been issued.
  StatusOr<crypto::Digest> PresentedHash(std::string_view token,
                                         Status refusal) const;

  TokenRepository* const rows_;
  const crypto::SecretBytes key_;
  Clock* const clock_;
  crypto::Random* const rng_;
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_TOKENS_H_
