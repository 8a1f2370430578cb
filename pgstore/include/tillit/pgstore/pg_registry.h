// PgRegistry: a vault::Registry in PostgreSQL, which every `tillit serve`
// node of a cluster shares: the same rows as a data directory's
// registry.db, in tables tillit creates and versions itself.
//
// What it holds is metadata (ids, wrapped keys, keyed hashes, generations,
// the consent index, the directory), as in registry.db; the data keys are
// wrapped under the root keys before they reach it. The consent index says
// who may see whose data, so its rows are sealed (XChaCha20-Poly1305, bound
// to citizen, kind and row) under a key the caller derives from the root
// keys; only the kind and a keyed tag of each row's key are plain. What
// stays plain otherwise: citizen ids, generations, tombstones, directory
// entries (studies and providers) and the token rows' role and principal.
//
// Schema: `tillit_schema` holds each component's version; opening creates
// the registry's tables, or checks their version, under an advisory lock,
// so nodes that start together do it once. A newer version than this
// program knows is refused with FailedPrecondition.
//
// Errors: the database unreachable (a failover, a restart) is IoError and
// the next call connects again; see pgstore::Connection for the rest.
//
// Thread-safety: safe to call concurrently; one connection, one caller at a
// time.
#ifndef TILLIT_PGSTORE_PG_REGISTRY_H_
#define TILLIT_PGSTORE_PG_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/pgstore/connection.h"
#include "tillit/pgstore/session.h"
#include "tillit/vault/registry.h"
#include "tillit/vault/tokens.h"
#include "tillit/vault/transfer.h"

namespace tillit::pgstore {

class PgRegistry final : public vault::Registry,
                         public vault::RegistryTransfer {
 public:
  // The registry schema version this program writes.
  static constexpr int64_t kSchemaVersion = 1;

  // Connects with `conninfo` (which may name a password file, never hold a
  // password that would be shown) and creates or checks the schema. The
  // consent index is sealed under sub-keys of `index_key` (32 bytes;
  // InvalidArgument otherwise), which every node must be given alike.
  static StatusOr<std::unique_ptr<PgRegistry>> Open(
      const std::string& conninfo, const crypto::SecretBytes& index_key,
      crypto::Random* rng = &crypto::Random::System());
  ~PgRegistry() override;
  PgRegistry(const PgRegistry&) = delete;
  PgRegistry& operator=(const PgRegistry&) = delete;

  Status AddCitizen(const std::string& citizen_id, int64_t created_at,
                    std::span<const uint8_t> wrapped_dek, int64_t generation,
                    const std::optional<crypto::Digest>& patient_key) override;
  StatusOr<std::vector<std::string>> ListCitizenIds() override;
  StatusOr<WrappedKeys> GetKeys(const std::string& citizen_id) override;
  Status SetGeneration(const std::string& citizen_id, int64_t generation,
                       const std::vector<vault::IndexUpdate>& index,
                       bool replace_all_index_rows) override;
  Status SetPendingKey(const std::string& citizen_id,
                       std::span<const uint8_t> wrapped) override;
  Status PromotePendingKey(const std::string& citizen_id,
                           std::optional<int64_t> expected_version) override;
  Status RewrapAllKeys(const Rewrap& rewrap) override;
  Status EraseCitizen(const std::string& citizen_id,
                      int64_t erased_at) override;
  StatusOr<bool> IsErased(const std::string& citizen_id) override;
  StatusOr<std::vector<std::string>> ListErased() override;
  StatusOr<std::optional<std::string>> FindPatient(
      const crypto::Digest& key) override;
  Status LinkPatient(const std::string& citizen_id,
                     const crypto::Digest& key) override;
  StatusOr<std::vector<vault::IndexEntry>> ReadIndex(
      std::string_view kind) override;
  StatusOr<int64_t> IndexVersion() override;
  Status PutDirectoryEntry(std::string_view kind, std::string_view id,
                           std::string_view value, int64_t created_at) override;
  StatusOr<std::string> GetDirectoryEntry(std::string_view kind,
                                          std::string_view id) override;
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListDirectory(
      std::string_view kind) override;
  vault::TokenRepository& tokens() override { return tokens_; }

  // Every row (`tillit migrate`), in one repeatable-read transaction; the
  // orders are byte order, as a data directory's registry gives them.
  StatusOr<vault::RegistryRows> ExportRows() override;
  Status ImportRows(const vault::RegistryRows& rows) override;

 private:
  // The token rows, in the same database and over the same connection.
  class Tokens final : public vault::TokenRepository {
   public:
    explicit Tokens(PgRegistry* registry) : r_(registry) {}
    Status Insert(const crypto::Digest& hash, std::string_view role,
                  std::string_view principal, int64_t created_at,
                  int64_t expires_at) override;
    StatusOr<std::optional<vault::TokenInfo>> FindLive(
        const crypto::Digest& hash, int64_t now) override;
    StatusOr<std::optional<vault::TokenInfo>> TakeLive(
        const crypto::Digest& hash, std::string_view role,
        int64_t now) override;
    Status Revoke(const crypto::Digest& hash, int64_t now) override;
    StatusOr<int64_t> RevokePrincipal(std::string_view principal,
                                      int64_t now) override;

   private:
    PgRegistry* const r_;
  };

  struct IndexKeys;

  PgRegistry(std::string conninfo, std::unique_ptr<IndexKeys> keys,
             crypto::Random* rng);
  // Replaces `updates`' rows (or, with `all_kinds`, every row) of one
  // citizen and bumps the index version, inside the caller's transaction.
  Status ReplaceIndexRows(Connection& c, const std::string& citizen_id,
                          const std::vector<vault::IndexUpdate>& updates,
                          bool all_kinds);
  // The associated data of an index row's sealed key and value.
  static std::vector<uint8_t> IndexAd(std::string_view citizen_id,
                                      std::string_view kind,
                                      std::span<const uint8_t> tag);

  Session session_;
  const std::unique_ptr<IndexKeys> keys_;
  crypto::Random* const rng_;
  Tokens tokens_;
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_PG_REGISTRY_H_
