// StoreAccess and StoreCache: how services reach citizen stores.
//
// A CitizenStore is one user at a time. StoreAccess runs a function with
// exclusive use of one citizen's store. DirectStoreAccess opens the store
// for the call and closes it afterwards (the command line). StoreCache
// keeps at most `capacity` stores open, with their SQLCipher keys, and
// closes the least recently used idle one when it needs room: closing a
// SQLCipher connection wipes its key material, and the data key itself was
// wiped when the store was opened, so an evicted citizen leaves no key in
// memory.
//
// Functions run under a per-citizen lock: two calls for one citizen are
// serialised, calls for different citizens run in parallel. A function must
// not call back into the same StoreAccess for the same citizen.
//
// Thread-safety: all methods are safe to call concurrently.
#ifndef TILLIT_VAULT_STORE_CACHE_H_
#define TILLIT_VAULT_STORE_CACHE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/vault.h"

namespace tillit::vault {

class StoreAccess {
 public:
  using Fn = std::function<Status(CitizenStore&)>;
  virtual ~StoreAccess() = default;
  // NotFound for an unknown or erased citizen; the errors of
  // Vault::OpenCitizen; otherwise what `fn` returns.
  virtual Status With(const std::string& citizen_id, const Fn& fn) = 0;
};

// Opens the store for every call.
class DirectStoreAccess final : public StoreAccess {
 public:
  explicit DirectStoreAccess(Vault* vault) : vault_(vault) {}
  Status With(const std::string& citizen_id, const Fn& fn) override;

 private:
  Vault* vault_;
};

class StoreCache final : public StoreAccess {
 public:
  // `vault` is not owned; capacity >= 1.
  StoreCache(Vault* vault, size_t capacity);
  ~StoreCache() override;

  Status With(const std::string& citizen_id, const Fn& fn) override;
  // Waits until nobody uses the citizen's store, then closes it and keeps
  // it closed while `fn` runs (for erasure).
  Status Exclusive(const std::string& citizen_id,
                   const std::function<Status()>& fn);

  size_t open_stores() const EXCLUDES(mu_);
  uint64_t evictions() const { return evictions_.load(); }
  size_t capacity() const { return capacity_; }

 private:
  // One citizen's store, open or not. Shared by the map and by the calls
  // that use it; idle when the map holds the only reference.
  struct Slot {
    explicit Slot(std::string id) : citizen_id(std::move(id)) {}
    const std::string citizen_id;
    Mutex use;  // held while a function runs on the store
    std::unique_ptr<CitizenStore> store GUARDED_BY(use);
  };
  struct Entry {
    std::shared_ptr<Slot> slot;
    std::list<std::string>::iterator lru;  // position in lru_
  };
  // The citizen's slot, created if needed and marked most recently used;
  // closes idle stores beyond capacity.
  std::shared_ptr<Slot> Pin(const std::string& citizen_id) EXCLUDES(mu_);
  // Forgets `slot` if the map still holds it.
  void Drop(const std::shared_ptr<Slot>& slot) EXCLUDES(mu_);

  Vault* vault_;
  const size_t capacity_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Entry> slots_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // most recently used first
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace tillit::vault

#endif  // TILLIT_VAULT_STORE_CACHE_H_
