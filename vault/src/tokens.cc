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

// ------------------------------------------------------- the tokens table

Status SqliteTokenRepository::Insert(const crypto::Digest& hash,
                                     std::string_view role,
                                     std::string_view principal,
                                     int64_t created_at, int64_t expires_at) {
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      registry_->Prepare(
          "INSERT INTO tokens (hash, role, principal, "
          "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st.BindBlob(1, hash)
      .Bind(2, role)
      .Bind(3, principal)
      .Bind(4, created_at)
      .Bind(5, expires_at);
  return st.Run();
}

StatusOr<std::optional<TokenInfo>> SqliteTokenRepository::FindLiveLocked(
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

StatusOr<std::optional<TokenInfo>> SqliteTokenRepository::FindLive(
    const crypto::Digest& hash, int64_t now) {
  MutexLock lock(mu_);
  return FindLiveLocked(hash, now);
}

StatusOr<std::optional<TokenInfo>> SqliteTokenRepository::TakeLive(
    const crypto::Digest& hash, std::string_view role, int64_t now) {
  MutexLock lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                          registry_->Begin());
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> found,
                          FindLiveLocked(hash, now));
  if (!found || found->role != role) return std::optional<TokenInfo>();
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up,
        registry_->Prepare(
            "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1"));
    up.BindBlob(1, hash).Bind(2, now);
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  return found;
}

Status SqliteTokenRepository::Revoke(const crypto::Digest& hash, int64_t now) {
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

StatusOr<int64_t> SqliteTokenRepository::RevokePrincipal(
    std::string_view principal, int64_t now) {
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

// ------------------------------------------------------------- TokenStore

TokenStore::TokenStore(TokenRepository* rows, crypto::SecretBytes key,
                       Clock* clock, crypto::Random* rng)
    : rows_(rows), key_(std::move(key)), clock_(clock), rng_(rng) {}

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
  TILLIT_RETURN_IF_ERROR(
      rows_->Insert(hash, role, principal, now, t.expires_at));
  return t;
}

StatusOr<crypto::Digest> TokenStore::PresentedHash(std::string_view token,
                                                   Status refusal) const {
  // Issued tokens are "tlk_" + 64 hex: anything far off that is refused
  // before it is hashed.
  if (token.size() < 8 || token.size() > 256) return refusal;
  return crypto::KeyedHash(key_, crypto::AsBytes(token));
}

StatusOr<TokenInfo> TokenStore::Verify(std::string_view token) {
  const Status bad = Status::Unauthenticated("invalid or expired token");
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash, PresentedHash(token, bad));
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> info,
                          rows_->FindLive(hash, clock_->NowSeconds()));
  if (!info) return bad;
  return std::move(*info);
}

StatusOr<TokenInfo> TokenStore::Redeem(std::string_view token,
                                       std::string_view role) {
  const Status bad = Status::Unauthenticated("invalid or expired code");
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash, PresentedHash(token, bad));
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> info,
                          rows_->TakeLive(hash, role, clock_->NowSeconds()));
  if (!info) return bad;
  return std::move(*info);
}

Status TokenStore::Revoke(std::string_view token) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::Digest hash,
      PresentedHash(token, Status::NotFound("no such token")));
  return rows_->Revoke(hash, clock_->NowSeconds());
}

StatusOr<int64_t> TokenStore::RevokePrincipal(std::string_view principal) {
  return rows_->RevokePrincipal(principal, clock_->NowSeconds());
}

}  // namespace tillit::vault
