#include "tillit/vault/tokens.h"

#include <cstring>
#include <utility>

#include "tillit/crypto/encoding.h"

namespace tillit::vault {
namespace {

constexpr std::string_view kTokenPrefix = "tlk_";
constexpr size_t kTokenRandomBytes = 32;  // 64 hex characters

// "tlk_" + the hex of kTokenRandomBytes from `rng`, built in secure memory.
crypto::SecretBytes NewTokenText(crypto::Random& rng) {
  const crypto::SecretBytes hex =
      crypto::HexEncodeSecret(rng.Secret(kTokenRandomBytes));
  crypto::SecretBytes text =
      crypto::SecretBytes::Allocate(kTokenPrefix.size() + hex.size());
  std::memcpy(text.ExposeSecret(), kTokenPrefix.data(), kTokenPrefix.size());
  std::memcpy(text.ExposeSecret() + kTokenPrefix.size(), hex.ExposeSecret(),
              hex.size());
  return text;
}

}  // namespace

TokenStore::TokenStore(storage::Database* registry, Mutex* registry_mu,
                       crypto::SecretBytes key, Clock* clock,
                       crypto::Random* rng)
    : mu_(registry_mu),
      registry_(registry),
      key_(std::move(key)),
      clock_(clock),
      rng_(rng) {}

StatusOr<IssuedToken> TokenStore::Issue(std::string_view role,
                                        std::string_view principal,
                                        int64_t ttl_seconds) {
  if (ttl_seconds <= 0)
    return Status::InvalidArgument("token lifetime must be positive");
  IssuedToken t;
  t.token = NewTokenText(*rng_);
  const int64_t now = clock_->NowSeconds();
  t.expires_at = now + ttl_seconds;
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash,
                          crypto::KeyedHash(key_, t.token.ExposeSecretSpan()));
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      registry_->Prepare(
          "INSERT INTO tokens (hash, role, principal, "
          "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st.BindBlob(1, hash)
      .Bind(2, role)
      .Bind(3, principal)
      .Bind(4, now)
      .Bind(5, t.expires_at);
  TILLIT_RETURN_IF_ERROR(st.Run());
  return t;
}

StatusOr<crypto::Digest> TokenStore::PresentedHash(std::string_view token,
                                                   Status refusal) const {
  // Issued tokens are "tlk_" + 64 hex: anything far off that is refused
  // before it is hashed.
  if (token.size() < 8 || token.size() > 256) return refusal;
  return crypto::KeyedHash(key_, crypto::AsBytes(token));
}

StatusOr<std::optional<TokenInfo>> TokenStore::FindLive(
    const crypto::Digest& hash, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      registry_->Prepare("SELECT role, principal, expires_at FROM tokens "
                         "WHERE hash = ?1 AND revoked_at IS NULL"));
  st.BindBlob(1, hash);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.ColumnInt64(2) <= now) return std::optional<TokenInfo>();
  return std::optional<TokenInfo>(TokenInfo{std::string(st.ColumnText(0)),
                                            std::string(st.ColumnText(1)),
                                            st.ColumnInt64(2)});
}

StatusOr<TokenInfo> TokenStore::Verify(std::string_view token) {
  const Status bad = Status::Unauthenticated("invalid or expired token");
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash, PresentedHash(token, bad));
  const int64_t now = clock_->NowSeconds();
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> info, FindLive(hash, now));
  if (!info) return bad;
  return std::move(*info);
}

StatusOr<TokenInfo> TokenStore::Redeem(std::string_view token,
                                       std::string_view role) {
  const Status bad = Status::Unauthenticated("invalid or expired code");
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash, PresentedHash(token, bad));
  const int64_t now = clock_->NowSeconds();
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                          registry_->Begin());
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> found, FindLive(hash, now));
  if (!found || found->role != role) return bad;
  TokenInfo info = std::move(*found);
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up,
        registry_->Prepare(
            "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1"));
    up.BindBlob(1, hash).Bind(2, now);
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  return info;
}

Status TokenStore::Revoke(std::string_view token) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::Digest hash,
      PresentedHash(token, Status::NotFound("no such token")));
  const int64_t now = clock_->NowSeconds();
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      registry_->Prepare("SELECT revoked_at FROM tokens WHERE hash = ?1"));
  st.BindBlob(1, hash);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such token");
  if (!st.ColumnIsNull(0))
    return Status::FailedPrecondition("the token is already revoked");
  st.Reset();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement up,
      registry_->Prepare("UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1"));
  up.BindBlob(1, hash).Bind(2, now);
  return up.Run();
}

StatusOr<int64_t> TokenStore::RevokePrincipal(std::string_view principal) {
  const int64_t now = clock_->NowSeconds();
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                          registry_->Begin());
  int64_t n = 0;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        registry_->Prepare("SELECT count(*) FROM tokens WHERE principal "
                           "= ?1 AND revoked_at IS NULL"));
    st.Bind(1, principal);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) n = st.ColumnInt64(0);
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up,
        registry_->Prepare("UPDATE tokens SET revoked_at = ?2 WHERE "
                           "principal = ?1 AND revoked_at IS NULL"));
    up.Bind(1, principal).Bind(2, now);
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  return n;
}

}  // namespace tillit::vault
