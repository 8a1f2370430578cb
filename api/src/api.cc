#include "api.h"

#include <utility>

#include "route.h"

namespace tillit::api::internal {

Api::Api(vault::Vault* v, const ServerOptions& o,
         std::unique_ptr<audit::AuditLog> log)
    : vault_(*v),
      options_(o),
      server_log_(o.log, o.log_format, o.clock),
      metrics_(RouteTable().size()),
      stores_(v, o.store_cache_size),
      audit_(std::move(log), o.clock, &metrics_, &server_log_),
      consent_(v, o.clock, o.rng, &stores_),
      policies_(o.store_cache_size),
      devices_(v, o.rng) {}

}  // namespace tillit::api::internal
