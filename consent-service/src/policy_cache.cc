#include "tillit/consent_service/policy_cache.h"

#include <utility>

#include "tillit/consent_service/consent_service.h"

namespace tillit::consent {

StatusOr<std::shared_ptr<const CitizenPolicy>> PolicyCache::Get(
    vault::CitizenStore& store) {
  TILLIT_ASSIGN_OR_RETURN(vault::StoreVersion version, store.ContentVersion());
  {
    MutexLock lock(&mu_);
    auto it = kept_.find(store.citizen_id());
    if (it != kept_.end() && it->second.version == version)
      return it->second.policy;
  }
  TILLIT_ASSIGN_OR_RETURN(CitizenPolicy read,
                          ConsentService::ReadPolicy(store));
  auto policy = std::make_shared<const CitizenPolicy>(std::move(read));
  MutexLock lock(&mu_);
  auto it = kept_.find(store.citizen_id());
  if (it == kept_.end() && kept_.size() >= capacity_ && !kept_.empty()) {
    // Full: let one go. Which one matters little; the next request for
    // it reads the store again.
    kept_.erase(kept_.begin());
  }
  if (capacity_ > 0) kept_[store.citizen_id()] = Kept{version, policy};
  return policy;
}

size_t PolicyCache::size() const {
  MutexLock lock(&mu_);
  return kept_.size();
}

}  // namespace tillit::consent
