// Vault: the registry-side index derived from citizens' documents, and the
// directory of registered principals and studies (no health data).
#include <utility>

#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {

Status Vault::Internals::ReplaceIndexRows(
    const std::string& citizen_id, const std::vector<IndexUpdate>& updates,
    bool all_kinds) {
  if (all_kinds) {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement del,
        registry->Prepare("DELETE FROM citizen_index WHERE citizen_id = ?1"));
    del.Bind(1, citizen_id);
    TILLIT_RETURN_IF_ERROR(del.Run());
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement del_kind,
      registry->Prepare(
          "DELETE FROM citizen_index WHERE citizen_id = ?1 AND kind = ?2"));
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement add,
      registry->Prepare("INSERT INTO citizen_index (citizen_id, kind, key, "
                        "value) VALUES (?1, ?2, ?3, ?4)"));
  for (const IndexUpdate& u : updates) {
    if (!all_kinds) {
      del_kind.Bind(1, citizen_id).Bind(2, u.kind);
      TILLIT_RETURN_IF_ERROR(del_kind.Run());
    }
    for (const IndexRow& row : u.rows) {
      add.Bind(1, citizen_id)
          .Bind(2, u.kind)
          .Bind(3, row.key)
          .Bind(4, row.value);
      TILLIT_RETURN_IF_ERROR(add.Run());
    }
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement bump,
      registry->Prepare(
          "UPDATE meta SET value = value + 1 WHERE key = 'index_version'"));
  return bump.Run();
}

// --------------------------------------------------------------------- index

StatusOr<std::vector<IndexEntry>> Vault::ReadIndex(std::string_view kind) {
  MutexLock lock(&in_->mu);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare("SELECT citizen_id, key, value FROM citizen_index "
                             "WHERE kind = ?1 ORDER BY citizen_id, key"));
  st.Bind(1, kind);
  std::vector<IndexEntry> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(IndexEntry{std::string(st.ColumnText(0)),
                             std::string(st.ColumnText(1)),
                             std::string(st.ColumnText(2))});
  }
  return out;
}

StatusOr<int64_t> Vault::IndexVersion() {
  MutexLock lock(&in_->mu);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "SELECT value FROM meta WHERE key = 'index_version'"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

// ----------------------------------------------------------------- directory

Status Vault::PutDirectoryEntry(std::string_view kind, std::string_view id,
                                std::string_view value) {
  MutexLock lock(&in_->mu);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "INSERT INTO directory (kind, id, value, created_at) VALUES (?1, ?2, "
          "?3, ?4)"));
  st.Bind(1, kind).Bind(2, id).Bind(3, value).Bind(
      4, in_->options.clock->NowSeconds());
  return st.Run();
}

StatusOr<std::string> Vault::GetDirectoryEntry(std::string_view kind,
                                               std::string_view id) {
  MutexLock lock(&in_->mu);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "SELECT value FROM directory WHERE kind = ?1 AND id = ?2"));
  st.Bind(1, kind).Bind(2, id);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such entry");
  return std::string(st.ColumnText(0));
}

StatusOr<std::vector<std::pair<std::string, std::string>>> Vault::ListDirectory(
    std::string_view kind) {
  MutexLock lock(&in_->mu);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare("SELECT id, value FROM directory WHERE kind = ?1 "
                             "ORDER BY created_at, id"));
  st.Bind(1, kind);
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(std::string(st.ColumnText(0)),
                     std::string(st.ColumnText(1)));
  }
  return out;
}

}  // namespace tillit::vault
