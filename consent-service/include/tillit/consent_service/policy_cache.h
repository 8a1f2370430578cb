// PolicyCache: parsed policies of citizens, each kept while nothing has
// been committed to its store since it was read (by any connection or
// process), so a busy server does not re-read and re-parse a citizen's
// grants on every request. At most `capacity` policies are kept.
//
// Thread-safety: safe to call concurrently; one internal lock guards the
// kept policies and is not held while a store is read.
#ifndef TILLIT_CONSENT_SERVICE_POLICY_CACHE_H_
#define TILLIT_CONSENT_SERVICE_POLICY_CACHE_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "tillit/base/mutex.h"
#include "tillit/base/status.h"
#include "tillit/base/thread_annotations.h"
#include "tillit/consent/policy.h"
#include "tillit/vault/citizen_store.h"

namespace tillit::consent {

class PolicyCache {
 public:
  explicit PolicyCache(size_t capacity) : capacity_(capacity) {}
  PolicyCache(const PolicyCache&) = delete;
  PolicyCache& operator=(const PolicyCache&) = delete;

  // The policy in `store`, which the caller holds: the kept one if the
  // store is unchanged, else read now (ConsentService::ReadPolicy).
  StatusOr<std::shared_ptr<const CitizenPolicy>> Get(vault::CitizenStore& store)
      EXCLUDES(mu_);

  size_t size() const EXCLUDES(mu_);

 private:
  struct Kept {
    vault::StoreVersion version;
    std::shared_ptr<const CitizenPolicy> policy;
  };
  const size_t capacity_;
  mutable Mutex mu_;
  std::map<std::string, Kept, std::less<>> kept_ GUARDED_BY(mu_);
};

}  // namespace tillit::consent

#endif  // TILLIT_CONSENT_SERVICE_POLICY_CACHE_H_
