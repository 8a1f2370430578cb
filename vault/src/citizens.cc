// Vault: creating, opening, checking and erasing citizens' stores, and
// sweeping the files of citizens that were never registered.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <system_error>
#include <utility>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/storage/files.h"
#include "tillit/vault/sqlcipher_citizen_store.h"
#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {

std::string DekAd(std::string_view citizen_id, int64_t version) {
  std::string ad = "tillit/dek/1|";
  ad += citizen_id;
  ad += '|';
  ad += std::to_string(version);
  return ad;
}

namespace {

// A citizen's store is <id>.db with SQLite's companions beside it.
constexpr const char* kStoreFileSuffixes[] = {"", "-wal", "-shm", "-journal"};

// The citizen id a file name belongs to, if it names a store file (or a
// companion of one); empty for every other name.
std::string CitizenOfStoreFile(std::string_view name) {
  for (const char* companion : kStoreFileSuffixes) {
    const std::string suffix = std::string(".db") + companion;
    if (name.size() <= suffix.size() || !name.ends_with(suffix)) continue;
    const std::string_view id = name.substr(0, name.size() - suffix.size());
    if (IsValidId(id, "c_")) return std::string(id);
  }
  return "";
}

}  // namespace

Status RemoveCitizenFiles(Env* env, const std::string& path) {
  for (const char* suffix : kStoreFileSuffixes) {
    TILLIT_RETURN_IF_ERROR(storage::RemoveFileIfExists(path + suffix, env));
  }
  return Status::Ok();
}

StatusOr<OrphanSweep> SweepOrphanedCitizenFiles(Vault& vault, Env* env,
                                                int64_t min_age_seconds) {
  namespace fs = std::filesystem;
  // A shared store's rows are written after the citizen is known (no
  // unregistered files), in another process's keeping.
  if (vault.shared_store() != nullptr) return OrphanSweep{};
  const std::string dir = vault.data_dir() + "/citizens";
  // 1. The store files, by citizen. Listed before the registry is read, so
  //    a citizen registered meanwhile is seen as registered.
  std::map<std::string, std::vector<fs::path>> by_citizen;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec);
       !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string id = CitizenOfStoreFile(it->path().filename().string());
    if (id.empty()) continue;
    // Only regular files: a directory or a link of that name is not ours.
    std::error_code type_ec;
    if (it->symlink_status(type_ec).type() != fs::file_type::regular) continue;
    by_citizen[id].push_back(it->path());
  }
  if (ec == std::errc::no_such_file_or_directory) return OrphanSweep{};
  if (ec) {
    return Status::IoError("cannot list the citizens' directory: " +
                           ec.message());
  }
  // 2. Which of them the registry knows.
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> ids, vault.ListCitizenIds());
  const std::set<std::string> registered(ids.begin(), ids.end());
  // 3. The others, once none of their files was written within the grace
  //    period (a file whose time cannot be read counts as just written).
  const fs::file_time_type cutoff =
      fs::file_time_type::clock::now() - std::chrono::seconds(min_age_seconds);
  OrphanSweep sweep;
  bool removed = false;
  for (const auto& [id, paths] : by_citizen) {
    if (registered.count(id) != 0) continue;
    const bool young = std::any_of(
        paths.begin(), paths.end(), [&cutoff](const fs::path& path) {
          std::error_code time_ec;
          const fs::file_time_type written = fs::last_write_time(path, time_ec);
          return time_ec.value() != 0 || written > cutoff;
        });
    if (young) {
      ++sweep.young;
      continue;
    }
    bool all = true;
    for (const fs::path& path : paths) {
      Status s = env->RemoveFile(path.string());
      if (s.ok()) {
        removed = true;
      } else if (s.code() != StatusCode::kNotFound) {
        all = false;
      }
    }
    if (all) {
      ++sweep.swept;
    } else {
      ++sweep.failed;
    }
  }
  if (removed) TILLIT_RETURN_IF_ERROR(env->SyncDirectory(dir));
  return sweep;
}

// ------------------------------------------------------------------ internals

Status Vault::Internals::RegisterCitizen(
    const std::string& id, const crypto::SecretBytes& dek, int64_t generation,
    const std::optional<crypto::Digest>& patient_key) {
  const std::vector<uint8_t> wrapped = keyring.current().SealSecret(
      dek, crypto::AsBytes(DekAd(id, 1)), *options.rng);
  return registry->AddCitizen(id, options.clock->NowSeconds(), wrapped,
                              generation, patient_key);
}

StatusOr<std::pair<std::string, PutResult>> Vault::Internals::CreateCitizen(
    const std::optional<crypto::Digest>& patient_key,
    std::span<const fhir::ParsedResource> resources, std::string_view source,
    const BeforeImportWrite& before_write) {
  crypto::Random& rng = *options.rng;
  const std::string id = "c_" + rng.Hex(16);
  if (before_write) TILLIT_RETURN_IF_ERROR(before_write(id));
  if (shared() != nullptr) {
    return CreateSharedCitizen(id, patient_key, resources, source);
  }
  const std::string path = CitizenPath(id);
  crypto::SecretBytes dek = rng.Secret(32);
  PutResult put;
  int64_t generation = 0;
  {
    storage::Database::Options opts;
    opts.create = true;
    opts.env = options.env;
    opts.cache_kib = options.store_page_cache_kib;
    // With records, the schema is created in the same transaction as
    // they are (one write and sync of the new file).
    auto db = storage::Database::Open(
        path, &dek, opts,
        resources.empty() ? SqlCipherCitizenStore::Setup : nullptr);
    if (!db.ok()) {
      (void)RemoveCitizenFiles(options.env,
                               path);  // best effort: the error wins
      return db.status().WithContext("create citizen store");
    }
    if (!resources.empty()) {
      auto store = SqlCipherCitizenStore::CreateNew(id, std::move(db).value());
      auto r = store->Put(resources, source, options.clock->NowSeconds());
      if (!r.ok()) {
        (void)RemoveCitizenFiles(options.env,
                                 path);  // best effort: the error wins
        return r.status();
      }
      put = std::move(r).value();
      generation = store->generation();
    }
  }
  MutexLock lock(&mu);
  Status s = RegisterCitizen(id, dek, generation, patient_key);
  if (!s.ok()) {
    (void)RemoveCitizenFiles(options.env, path);  // best effort: the error wins
    return s.code() == StatusCode::kAlreadyExists
               ? s
               : s.WithContext("register citizen");
  }
  return std::make_pair(id, std::move(put));
}

StatusOr<std::pair<std::string, PutResult>>
Vault::Internals::CreateSharedCitizen(
    const std::string& id, const std::optional<crypto::Digest>& patient_key,
    std::span<const fhir::ParsedResource> resources, std::string_view source) {
  crypto::SecretBytes dek = options.rng->Secret(32);
  PutResult put;
  int64_t generation = 0;
  if (!resources.empty()) {
    // The rows first, unreadable until the key is registered; removed
    // again when registering fails.
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<CitizenStore> store,
                            shared()->OpenStore(id, dek, 0, nullptr));
    auto r = store->Put(resources, source, options.clock->NowSeconds());
    if (!r.ok()) {
      (void)shared()->DropStore(id);  // best effort: the error wins
      return r.status();
    }
    put = std::move(r).value();
    generation = store->generation();
  }
  MutexLock lock(&mu);
  Status s = RegisterCitizen(id, dek, generation, patient_key);
  if (!s.ok()) {
    if (generation > 0) (void)shared()->DropStore(id);  // the error wins
    return s.code() == StatusCode::kAlreadyExists
               ? s
               : s.WithContext("register citizen");
  }
  return std::make_pair(id, std::move(put));
}

StatusOr<crypto::SecretBytes> Vault::Internals::UnwrapDek(
    const std::string& citizen_id, std::span<const uint8_t> wrapped,
    int64_t dek_version) {
  auto dek = keyring.OpenSecret(
      wrapped, crypto::AsBytes(DekAd(citizen_id, dek_version)));
  if (!dek.ok()) {
    return Status::DataLoss("the citizen's data key cannot be unwrapped");
  }
  return dek;
}

// ---------------------------------------------------------------------- vault

StatusOr<std::string> Vault::CreateCitizen() {
  TILLIT_ASSIGN_OR_RETURN(auto created,
                          in_->CreateCitizen(std::nullopt, {}, ""));
  return created.first;
}

StatusOr<std::vector<std::string>> Vault::ListCitizenIds() {
  return in_->registry->ListCitizenIds();
}

StatusOr<std::unique_ptr<CitizenStore>> Vault::OpenCitizen(
    const std::string& citizen_id) {
  if (in_->shared() != nullptr) return in_->OpenSharedCitizen(citizen_id);
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<SqlCipherCitizenStore> store,
                          OpenCitizenFile(citizen_id));
  return std::unique_ptr<CitizenStore>(std::move(store));
}

StatusOr<std::unique_ptr<CitizenStore>> Vault::Internals::OpenSharedCitizen(
    const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  TILLIT_ASSIGN_OR_RETURN(Registry::WrappedKeys keys,
                          registry->GetKeys(citizen_id));
  crypto::SecretBytes dek;
  {
    MutexLock lock(&mu);
    TILLIT_ASSIGN_OR_RETURN(
        dek, UnwrapDek(citizen_id, keys.wrapped_dek, keys.dek_version));
  }
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<CitizenStore> store,
      shared()->OpenStore(
          citizen_id, dek, keys.generation,
          [this, citizen_id](int64_t g, const IndexUpdate* index) {
            std::vector<IndexUpdate> updates;
            if (index != nullptr) updates.push_back(*index);
            return SetGeneration(citizen_id, g, updates, false);
          }));
  if (store->generation() > keys.generation) {
    // A write committed in the store but the registry missed it: catch up
    // the generation and mirror the index rows the store keeps.
    TILLIT_ASSIGN_OR_RETURN(std::vector<IndexUpdate> rows,
                            store->ReadIndexRows());
    TILLIT_RETURN_IF_ERROR(
        SetGeneration(citizen_id, store->generation(), rows, true));
  }
  return store;
}

StatusOr<std::unique_ptr<SqlCipherCitizenStore>> Vault::OpenCitizenFile(
    const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  if (in_->shared() != nullptr) {
    return Status::FailedPrecondition(
        "a citizen's store is a file only in a data directory");
  }
  crypto::SecretBytes dek;
  std::optional<crypto::SecretBytes> pending;
  int64_t dek_version = 0;
  int64_t registry_generation = 0;
  {
    TILLIT_ASSIGN_OR_RETURN(Registry::WrappedKeys keys,
                            in_->registry->GetKeys(citizen_id));
    dek_version = keys.dek_version;
    registry_generation = keys.generation;
    MutexLock lock(&in_->mu);
    TILLIT_ASSIGN_OR_RETURN(
        dek, in_->UnwrapDek(citizen_id, keys.wrapped_dek, dek_version));
    if (keys.pending_dek) {
      TILLIT_ASSIGN_OR_RETURN(
          crypto::SecretBytes p,
          in_->UnwrapDek(citizen_id, *keys.pending_dek, dek_version + 1));
      pending = std::move(p);
    }
  }
  const std::string path = in_->CitizenPath(citizen_id);
  storage::Database::Options opts;
  opts.env = in_->options.env;
  opts.cache_kib = in_->options.store_page_cache_kib;
  auto db =
      storage::Database::Open(path, &dek, opts, SqlCipherCitizenStore::Setup);
  if (!db.ok() && db.status().code() == StatusCode::kDataLoss && pending) {
    // A rekey committed in the file but not yet in the registry.
    db = storage::Database::Open(path, &*pending, opts,
                                 SqlCipherCitizenStore::Setup);
    if (db.ok()) {
      TILLIT_RETURN_IF_ERROR(
          in_->registry->PromotePendingKey(citizen_id, dek_version));
    }
  }
  if (!db.ok()) {
    if (db.status().code() == StatusCode::kNotFound) {
      return Status::DataLoss("the citizen's store file is missing");
    }
    return storage::WithOpenContext(db.status(), "citizen store");
  }
  TILLIT_ASSIGN_OR_RETURN(int64_t file_generation,
                          SqlCipherCitizenStore::ReadGeneration(**db));
  if (file_generation < registry_generation) {
    return Status::DataLoss(
        "citizen store was rolled back to an older copy (generation " +
        std::to_string(file_generation) + " < " +
        std::to_string(registry_generation) + ")");
  }
  Internals* in = in_.get();
  auto store = std::make_unique<SqlCipherCitizenStore>(
      citizen_id, std::move(db).value(), file_generation,
      [in, citizen_id](int64_t g, const IndexUpdate* index) {
        std::vector<IndexUpdate> updates;
        if (index != nullptr) updates.push_back(*index);
        return in->SetGeneration(citizen_id, g, updates, false);
      });
  if (file_generation > registry_generation) {
    // The last write committed in the file but the registry missed it:
    // catch up the generation and mirror the index rows the file keeps.
    TILLIT_ASSIGN_OR_RETURN(std::vector<IndexUpdate> rows,
                            store->ReadIndexRows());
    TILLIT_RETURN_IF_ERROR(
        in_->SetGeneration(citizen_id, file_generation, rows, true));
  }
  return store;
}

StatusOr<CitizenSummary> Vault::Summarize(const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
  CitizenSummary s;
  s.citizen_id = citizen_id;
  TILLIT_ASSIGN_OR_RETURN(s.records, store->Count());
  TILLIT_ASSIGN_OR_RETURN(s.by_category, store->CountByCategory());
  TILLIT_ASSIGN_OR_RETURN(s.by_type, store->CountByType());
  return s;
}

Status Vault::VerifyCitizen(const std::string& citizen_id) {
  // Opening checks key, first page and generation; then every page.
  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
  if (in_->shared() != nullptr) {
    // Every sealed row: each record's metadata and resource, and each
    // document, opens under the citizen's key.
    TILLIT_RETURN_IF_ERROR(store->ListRecordMeta().status());
    RecordFilter page;
    page.limit = 1000;
    while (true) {
      TILLIT_ASSIGN_OR_RETURN(std::vector<StoredRecord> records,
                              store->List(page));
      if (records.size() < page.limit) break;
      const StoredRecord& last = records.back();
      page.after = RecordFilter::Position{
          last.effective.value_or(std::numeric_limits<int64_t>::min()),
          last.seq};
    }
    TILLIT_RETURN_IF_ERROR(store->ReadIndexRows().status());
    return Status::Ok();
  }
  store.reset();
  TILLIT_ASSIGN_OR_RETURN(Internals::Dek dek, in_->CurrentDek(citizen_id));
  return storage::Database::VerifyFile(in_->CitizenPath(citizen_id), &dek.key);
}

StatusOr<Vault::Internals::Dek> Vault::Internals::CurrentDek(
    const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(Registry::WrappedKeys keys,
                          registry->GetKeys(citizen_id));
  Dek dek;
  dek.version = keys.dek_version;
  MutexLock lock(&mu);
  TILLIT_ASSIGN_OR_RETURN(dek.key,
                          UnwrapDek(citizen_id, keys.wrapped_dek, dek.version));
  return dek;
}

Status Vault::EraseCitizen(const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  MutexLock lock(&in_->mu);
  // 1. Destroy the wrapped data key (crypto-shredding). An erasure whose
  //    key destruction committed but whose later steps failed (a disk
  //    error) is finished instead.
  bool finishing = false;
  {
    auto registered = in_->registry->GetKeys(citizen_id);
    if (registered.status().code() == StatusCode::kNotFound) {
      // Unfinished: a tombstone, and the file not yet removed (the last
      // step), or a shared store's rows not yet dropped. Anything else is
      // unknown or already gone.
      TILLIT_ASSIGN_OR_RETURN(bool erased, in_->registry->IsErased(citizen_id));
      if (erased && in_->shared() != nullptr) {
        TILLIT_ASSIGN_OR_RETURN(finishing, in_->shared()->HasRows(citizen_id));
      } else if (erased) {
        finishing = in_->options.env->FileExists(in_->CitizenPath(citizen_id));
      }
      if (!finishing) return Status::NotFound("no such citizen");
    } else if (!registered.ok()) {
      return registered.status();
    }
  }
  if (!finishing) {
    TILLIT_RETURN_IF_ERROR(in_->registry->EraseCitizen(
        citizen_id, in_->options.clock->NowSeconds()));
  }
  if (in_->shared() != nullptr) {
    // Another node's key file cannot be rotated from here (shared_store.h):
    // the rows go, and the wrapped key is already gone.
    return in_->shared()->DropStore(citizen_id);
  }
  // 2. Rotate the root keys so an older copy of the registry, which still
  //    holds the wrapped key, cannot be opened with the keys that remain.
  TILLIT_RETURN_IF_ERROR(in_->Rotate());
  // 3. Delete the file.
  return RemoveCitizenFiles(in_->options.env, in_->CitizenPath(citizen_id));
}

}  // namespace tillit::vault
