// Moving a data directory's vault into a shared store (`tillit migrate`):
// the registry's rows as they are (wrapped keys, keyed hashes), then each
// citizen's store under its data key, then a comparison of both.
#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tillit/vault/sqlcipher_citizen_store.h"
#include "tillit/vault/transfer.h"
#include "tillit/vault/vault.h"
#include "vault_internals.h"

namespace tillit::vault {
namespace {

// Whether the copy's registry holds the data directory's rows. Each
// citizen's generation is left out: the copy's registry takes the
// generation of the store (a store may be ahead of the registry it came
// from, which catches up when the store is opened), compared with the
// stores. DataLoss naming the first difference.
Status CompareRegistries(const RegistryRows& ours, const RegistryRows& theirs) {
  auto differ = [](const std::string& what) {
    return Status::DataLoss(
        "the copy's registry differs from the data directory's: " + what);
  };
  if (ours.citizens.size() != theirs.citizens.size()) {
    return differ("another number of citizens");
  }
  for (size_t i = 0; i < ours.citizens.size(); ++i) {
    RegistryRows::Citizen expected = ours.citizens[i];
    expected.generation = theirs.citizens[i].generation;
    if (expected != theirs.citizens[i]) {
      return differ("the keys or Patient link of citizen " + expected.id);
    }
  }
  if (ours.erased != theirs.erased) return differ("the tombstones");
  if (ours.directory != theirs.directory) return differ("the directory");
  if (ours.tokens != theirs.tokens) return differ("the tokens");
  return Status::Ok();
}

void Report(const Vault::CopyObserver& progress, std::string_view stage,
            uint64_t done, uint64_t total) {
  if (progress) progress({stage, done, total});
}

// The data directory's registry and the shared store's, both able to hand
// over and take in rows.
struct Registries {
  RegistryTransfer* from = nullptr;
  std::unique_ptr<Registry> target;
  RegistryTransfer* into = nullptr;
};

StatusOr<Registries> OpenRegistries(bool shared, Registry* source,
                                    SharedStore& to,
                                    const crypto::KeyDeriver& keys) {
  if (shared) {
    return Status::FailedPrecondition(
        "this vault is already in a shared store");
  }
  Registries r;
  r.from = dynamic_cast<RegistryTransfer*>(source);
  if (r.from == nullptr) return Status::Internal("the registry cannot export");
  TILLIT_ASSIGN_OR_RETURN(r.target, to.OpenRegistry(keys));
  r.into = dynamic_cast<RegistryTransfer*>(r.target.get());
  if (r.into == nullptr) {
    return Status::FailedPrecondition(
        "the store cannot take in or hand over a registry's rows");
  }
  return r;
}

}  // namespace

Status Vault::CopyIntoShared(SharedStore& to, const CopyObserver& progress) {
  TILLIT_ASSIGN_OR_RETURN(
      Registries registries,
      OpenRegistries(in_->shared() != nullptr, in_->registry.get(), to, *this));
  Registry* const target = registries.target.get();
  TILLIT_ASSIGN_OR_RETURN(RegistryRows rows, registries.from->ExportRows());
  for (const RegistryRows::Citizen& c : rows.citizens) {
    if (c.pending_dek) {
      return Status::FailedPrecondition(
          "citizen " + c.id + " has an unfinished rekey; run `tillit keys " +
          "rotate --citizen " + c.id + "` first");
    }
  }
  const uint64_t total = rows.citizens.size();
  Report(progress, "registry", 0, 1);
  TILLIT_RETURN_IF_ERROR(registries.into->ImportRows(rows));
  Report(progress, "registry", 1, 1);

  uint64_t done = 0;
  Report(progress, "citizens", done, total);
  for (const RegistryRows::Citizen& c : rows.citizens) {
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<SqlCipherCitizenStore> file,
                            OpenCitizenFile(c.id));
    auto store_rows = file->ExportRows();
    if (!store_rows.ok()) return store_rows.status().WithContext(c.id);
    file.reset();
    TILLIT_ASSIGN_OR_RETURN(Internals::Dek dek, in_->CurrentDek(c.id));
    if (dek.version != c.dek_version) {
      return Status::FailedPrecondition(
          "citizen " + c.id + " was rekeyed during the copy; run it again");
    }
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<CitizenStore> store,
                            to.OpenStore(c.id, dek.key, 0, nullptr));
    auto* importer = dynamic_cast<StoreImport*>(store.get());
    if (importer == nullptr) {
      return Status::FailedPrecondition(
          "the store cannot take in a citizen's rows");
    }
    Status imported = importer->ImportRows(*store_rows);
    if (!imported.ok()) return imported.WithContext(c.id);
    // The registry's generation and index as the store has them.
    TILLIT_RETURN_IF_ERROR(target->SetGeneration(c.id, store_rows->generation,
                                                 store_rows->index, true));
    Report(progress, "citizens", ++done, total);
  }
  return Status::Ok();
}

Status Vault::VerifySharedCopy(SharedStore& to, const CopyObserver& progress) {
  TILLIT_ASSIGN_OR_RETURN(
      Registries registries,
      OpenRegistries(in_->shared() != nullptr, in_->registry.get(), to, *this));
  Registry* const target = registries.target.get();
  TILLIT_ASSIGN_OR_RETURN(RegistryRows ours, registries.from->ExportRows());
  TILLIT_ASSIGN_OR_RETURN(RegistryRows theirs, registries.into->ExportRows());
  TILLIT_RETURN_IF_ERROR(CompareRegistries(ours, theirs));

  const uint64_t total = ours.citizens.size();
  uint64_t done = 0;
  std::set<std::string> kinds;  // of index rows, to compare the mirrors
  Report(progress, "verify", done, total);
  for (size_t i = 0; i < ours.citizens.size(); ++i) {
    const std::string& id = ours.citizens[i].id;
    TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<SqlCipherCitizenStore> file,
                            OpenCitizenFile(id));
    TILLIT_ASSIGN_OR_RETURN(StoreRows mine, file->ExportRows());
    file.reset();
    TILLIT_ASSIGN_OR_RETURN(Internals::Dek dek, in_->CurrentDek(id));
    TILLIT_ASSIGN_OR_RETURN(
        std::unique_ptr<CitizenStore> store,
        to.OpenStore(id, dek.key, theirs.citizens[i].generation, nullptr));
    auto* exporter = dynamic_cast<StoreExport*>(store.get());
    if (exporter == nullptr) {
      return Status::FailedPrecondition(
          "the store cannot export a citizen's rows");
    }
    TILLIT_ASSIGN_OR_RETURN(StoreRows copied, exporter->ExportRows());
    std::string what;
    if (!SameStoreRows(mine, copied, &what)) {
      return Status::DataLoss("the copy of citizen " + id +
                              " differs from the data directory's: " + what);
    }
    if (theirs.citizens[i].generation != copied.generation) {
      return Status::DataLoss(
          "the copy's registry has another generation "
          "for citizen " +
          id + " than its store");
    }
    for (const IndexUpdate& u : mine.index) kinds.insert(u.kind);
    Report(progress, "verify", ++done, total);
  }
  for (const std::string& kind : kinds) {
    TILLIT_ASSIGN_OR_RETURN(std::vector<IndexEntry> a,
                            in_->registry->ReadIndex(kind));
    TILLIT_ASSIGN_OR_RETURN(std::vector<IndexEntry> b, target->ReadIndex(kind));
    const bool same = a.size() == b.size() &&
                      std::equal(a.begin(), a.end(), b.begin(),
                                 [](const auto& x, const auto& y) {
                                   return x.citizen_id == y.citizen_id &&
                                          x.key == y.key && x.value == y.value;
                                 });
    if (!same) {
      return Status::DataLoss("the copy's registry index of kind " + kind +
                              " differs from the data directory's");
    }
  }
  return Status::Ok();
}

}  // namespace tillit::vault
