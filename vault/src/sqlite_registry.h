// SqliteRegistry: the Registry of a data directory, registry.db
// (SQLCipher, keyed with a sub-key of the vault's master secret). Its
// schema and migrations are in sqlite_registry.cc. Private to the vault.
//
// Thread-safety: one internal mutex serialises every use of the connection
// (the token rows' included). Never call it with the mutex held.
#ifndef TILLIT_VAULT_SQLITE_REGISTRY_H_
#define TILLIT_VAULT_SQLITE_REGISTRY_H_

#include <memory>
#include <string>
#include <vector>

#include "tillit/base/env.h"
#include "tillit/base/mutex.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/crypto/secret.h"
#include "tillit/storage/database.h"
#include "tillit/vault/registry.h"
#include "tillit/vault/tokens.h"
#include "tillit/vault/transfer.h"

namespace tillit::vault {

class SqliteRegistry final : public Registry, public RegistryTransfer {
 public:
  // Opens `path` under `key` (creating it when `create`), upgrading an older
  // schema and refusing a newer one (storage::SchemaHistory "registry").
  static StatusOr<std::unique_ptr<SqliteRegistry>> Open(
      const std::string& path, const crypto::SecretBytes& key, bool create,
      Env* env);
  SqliteRegistry(const SqliteRegistry&) = delete;
  SqliteRegistry& operator=(const SqliteRegistry&) = delete;

  Status AddCitizen(const std::string& citizen_id, int64_t created_at,
                    std::span<const uint8_t> wrapped_dek, int64_t generation,
                    const std::optional<crypto::Digest>& patient_key) override
      EXCLUDES(mu_);
  StatusOr<std::vector<std::string>> ListCitizenIds() override EXCLUDES(mu_);
  StatusOr<WrappedKeys> GetKeys(const std::string& citizen_id) override
      EXCLUDES(mu_);
  Status SetGeneration(const std::string& citizen_id, int64_t generation,
                       const std::vector<IndexUpdate>& index,
                       bool replace_all_index_rows) override EXCLUDES(mu_);
  Status SetPendingKey(const std::string& citizen_id,
                       std::span<const uint8_t> wrapped) override EXCLUDES(mu_);
  Status PromotePendingKey(const std::string& citizen_id,
                           std::optional<int64_t> expected_version) override
      EXCLUDES(mu_);
  Status RewrapAllKeys(const Rewrap& rewrap) override EXCLUDES(mu_);
  Status EraseCitizen(const std::string& citizen_id, int64_t erased_at) override
      EXCLUDES(mu_);
  StatusOr<bool> IsErased(const std::string& citizen_id) override EXCLUDES(mu_);
  StatusOr<std::vector<std::string>> ListErased() override EXCLUDES(mu_);
  StatusOr<std::optional<std::string>> FindPatient(
      const crypto::Digest& key) override EXCLUDES(mu_);
  Status LinkPatient(const std::string& citizen_id,
                     const crypto::Digest& key) override EXCLUDES(mu_);
  StatusOr<std::vector<IndexEntry>> ReadIndex(std::string_view kind) override
      EXCLUDES(mu_);
  StatusOr<int64_t> IndexVersion() override EXCLUDES(mu_);
  Status PutDirectoryEntry(std::string_view kind, std::string_view id,
                           std::string_view value, int64_t created_at) override
      EXCLUDES(mu_);
  StatusOr<std::string> GetDirectoryEntry(std::string_view kind,
                                          std::string_view id) override
      EXCLUDES(mu_);
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListDirectory(
      std::string_view kind) override EXCLUDES(mu_);
  TokenRepository& tokens() override { return tokens_; }

  StatusOr<RegistryRows> ExportRows() override EXCLUDES(mu_);
  Status ImportRows(const RegistryRows& rows) override EXCLUDES(mu_);

  // One consistent snapshot of registry.db written to `dest` under `key`
  // (SQLite's online backup; Database::CopyTo), opened.
  StatusOr<std::unique_ptr<storage::Database>> CopyTo(
      const std::string& dest, const crypto::SecretBytes& key,
      const storage::Database::Options& out) EXCLUDES(mu_);

 private:
  explicit SqliteRegistry(std::unique_ptr<storage::Database> db);
  // Replaces `updates`' rows (or, with `all_kinds`, every row) of one
  // citizen and bumps the index version, inside the caller's transaction.
  Status ReplaceIndexRows(const std::string& citizen_id,
                          const std::vector<IndexUpdate>& updates,
                          bool all_kinds) REQUIRES(mu_);

  Mutex mu_;
  const std::unique_ptr<storage::Database> db_ PT_GUARDED_BY(mu_);
  SqliteTokenRepository tokens_;  // in db_, under mu_
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_SQLITE_REGISTRY_H_
