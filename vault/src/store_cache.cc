#include "tillit/vault/store_cache.h"

#include <utility>
#include <vector>

namespace tillit::vault {

Status DirectStoreAccess::With(const std::string& citizen_id, const Fn& fn) {
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<CitizenStore> store,
                          vault_->OpenCitizen(citizen_id));
  return fn(*store);
}

StoreCache::StoreCache(Vault* vault, size_t capacity)
    : vault_(vault), capacity_(capacity == 0 ? 1 : capacity) {}

StoreCache::~StoreCache() = default;

size_t StoreCache::open_stores() const {
  MutexLock lock(&mu_);
  return slots_.size();
}

std::shared_ptr<StoreCache::Slot> StoreCache::Pin(
    const std::string& citizen_id) {
  std::vector<std::shared_ptr<Slot>> evicted;
  std::shared_ptr<Slot> slot;
  {
    MutexLock lock(&mu_);
    auto it = slots_.find(citizen_id);
    if (it != slots_.end()) {
      slot = it->second.slot;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
    } else {
      slot = std::make_shared<Slot>(citizen_id);
      lru_.push_front(citizen_id);
      slots_.emplace(citizen_id, Entry{slot, lru_.begin()});
    }
    // Evict idle stores, least recently used first. A slot is idle when
    // the map holds the only reference: references are only taken under
    // mu_, so nobody can be about to use it.
    for (auto pos = lru_.end();
         slots_.size() > capacity_ && pos != lru_.begin();) {
      --pos;
      auto found = slots_.find(*pos);
      if (found->second.slot.use_count() != 1) continue;
      evicted.push_back(std::move(found->second.slot));
      slots_.erase(found);
      pos = lru_.erase(pos);
      evictions_.fetch_add(1);
    }
  }
  // The evicted stores close here, outside the lock.
  return slot;
}

void StoreCache::Drop(const std::shared_ptr<Slot>& slot) {
  MutexLock lock(&mu_);
  auto it = slots_.find(slot->citizen_id);
  if (it != slots_.end() && it->second.slot == slot) {
    lru_.erase(it->second.lru);
    slots_.erase(it);
  }
}

Status StoreCache::With(const std::string& citizen_id, const Fn& fn) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  std::shared_ptr<Slot> slot = Pin(citizen_id);
  Status open_failed;
  {
    MutexLock use(&slot->use);
    if (!slot->store) {
      auto opened = vault_->OpenCitizen(citizen_id);
      if (opened.ok()) {
        slot->store = std::move(opened).value();
      } else {
        open_failed = opened.status();
      }
    }
    if (slot->store) return fn(*slot->store);
  }
  // Not opened: forget the slot, outside its lock, so the next call
  // tries again.
  Drop(slot);
  return open_failed;
}

Status StoreCache::Exclusive(const std::string& citizen_id,
                             const std::function<Status()>& fn) {
  std::shared_ptr<Slot> slot = Pin(citizen_id);
  MutexLock use(&slot->use);
  slot->store.reset();  // closes the connection and wipes its key
  Status status = fn();
  Drop(slot);
  return status;
}

}  // namespace tillit::vault
