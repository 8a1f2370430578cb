// Api: the composition root of the HTTP API. One Server holds one Api; the
// Api builds and owns the state that every request shares, and each
// handler (route.h) takes from it only the parts it uses:
//
//   every handler   options(), Now(), audit(): the fail-closed audit trail
//   citizen data    vault(); stores(), the open citizen stores; policies(),
//                   their parsed consent; consent(), grants, restrictions,
//                   studies and researchers; devices(), paired devices;
//                   apps(), SMART apps and the citizens' grants to them;
//                   launches(), SMART launches in progress; bulk(),
//                   Bulk Data export jobs; releases(), research releases
//                   being made;
//                   privacy(), the privacy-budget ledger of aggregates;
//                   rectifications(), requests to correct records;
//                   proxies(), who may act for a citizen; notifier(),
//                   what citizens chose to be told of accesses
//   operations      metrics(), server_log()
//
// What only the server uses to admit a request (rate limiters, the nonces
// of signed requests) is kept by the server, not here.
//
// Thread-safety: every part is safe to use from any thread; which parts an
// Api has never changes.
#ifndef TILLIT_API_SRC_API_H_
#define TILLIT_API_SRC_API_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "audit_trail.h"
#include "bulk.h"
#include "devices.h"
#include "jobs.h"
#include "metrics.h"
#include "server_log.h"
#include "smart.h"
#include "tillit/api/server.h"
#include "tillit/audit/audit_log.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/consent_service/policy_cache.h"
#include "tillit/consent_service/proxies.h"
#include "tillit/consent_service/rectification.h"
#include "tillit/notify/notifier.h"
#include "tillit/research/privacy_ledger.h"
#include "tillit/research/release.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {

// A research release being made (handlers_research.cc): the study it is
// of, and whether it failed because the audit log could not be written
// (its status then answers 503 audit_unavailable).
struct ReleaseJob {
  std::string study_id;
  std::shared_ptr<std::atomic<bool>> audit_failed;
};
using ReleaseJobs = JobTable<ReleaseJob, research::ReleaseInfo>;

class Api {
 public:
  // `vault` is not owned and must outlive the Api.
  Api(vault::Vault* vault, const ServerOptions& options,
      std::unique_ptr<audit::AuditLog> log,
      std::unique_ptr<research::PrivacyLedger> ledger);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  const ServerOptions& options() const { return options_; }
  int64_t Now() const { return options_.clock->NowSeconds(); }
  AuditTrail& audit() { return audit_; }

  vault::Vault& vault() { return vault_; }
  vault::StoreCache& stores() { return stores_; }
  consent::PolicyCache& policies() { return policies_; }
  consent::ConsentService& consent() { return consent_; }
  DeviceRegistry& devices() { return devices_; }
  AppRegistry& apps() { return apps_; }
  LaunchState& launches() { return launches_; }
  BulkExports& bulk() { return bulk_; }
  ReleaseJobs& releases() { return releases_; }
  research::PrivacyLedger& privacy() { return *privacy_; }
  consent::Rectifications& rectifications() { return rectifications_; }
  consent::Proxies& proxies() { return proxies_; }
  notify::Notifier& notifier() { return *notifier_; }
  // Called once, before the server serves (Server::Create); the audit
  // trail then offers it every entry.
  void SetNotifier(std::unique_ptr<notify::Notifier> notifier) {
    notifier_ = std::move(notifier);
    audit_.SetNotifier(notifier_.get());
  }

  Metrics& metrics() { return metrics_; }
  ServerLog& server_log() { return server_log_; }

 private:
  vault::Vault& vault_;
  const ServerOptions options_;
  ServerLog server_log_;
  Metrics metrics_;
  vault::StoreCache stores_;
  AuditTrail audit_;
  consent::ConsentService consent_;
  consent::PolicyCache policies_;
  DeviceRegistry devices_;
  AppRegistry apps_;
  LaunchState launches_;
  std::unique_ptr<research::PrivacyLedger> privacy_;
  consent::Rectifications rectifications_;
  consent::Proxies proxies_;
  // Last: stopped before the stores and the log it reads go.
  std::unique_ptr<notify::Notifier> notifier_;
  // After it: their jobs' threads read the stores and end first.
  BulkExports bulk_;
  ReleaseJobs releases_;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_API_H_
