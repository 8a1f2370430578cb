#include "api.h"

#include <utility>

#include "route.h"

namespace tillit::api::internal {

Api::Api(vault::Vault* v, const ServerOptions& o,
         std::unique_ptr<audit::AuditLog> log,
         std::unique_ptr<research::PrivacyLedger> ledger)
    : vault_(*v),
      options_(o),
      server_log_(o.log, o.log_format, o.clock),
      metrics_(RouteTable().size()),
      stores_(v, o.store_cache_size),
      audit_(std::move(log), o.clock, &metrics_, &server_log_),
      consent_(v, o.clock, o.rng, &stores_),
      policies_(o.store_cache_size),
      devices_(v, o.rng),
      apps_(v, o.rng),
      launches_(o.rng),
      privacy_(std::move(ledger)),
      rectifications_(
          v, o.clock, o.rng, &stores_,
          consent::RectificationOptions{o.rectification_provider, 50}),
      proxies_(v, o.clock, o.rng, &stores_),
      bulk_(o.clock),
      // Each release keeps a core busy for as long as it runs.
      releases_(o.clock, JobLimits{
                             .max_running = 2,
                             .keep_seconds = 3600,
                             .id_prefix = "rel_",
                             .owner_busy = "a release of yours is being made: "
                                           "wait for it to end",
                             .table_full = "too many releases are being made; "
                                           "retry later",
                         }) {}

}  // namespace tillit::api::internal
