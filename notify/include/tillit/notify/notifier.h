// Notifier: tells citizens, as they chose (settings.h), that someone
// accessed their data (EHDS Art 9), by Web Push to the browsers they
// subscribed (RFC 8030, encrypted per RFC 8291, the server identified by
// VAPID, RFC 8292) and by a webhook to the region's own notification
// service (Standard Webhooks: "webhook-id", "webhook-timestamp" and an
// Ed25519 "webhook-signature" over id.timestamp.body).
//
// An access is never held up by a notification: the audit trail offers
// each durable entry with Offer(), which only looks the citizen's choice
// up in memory and queues the event (a bounded queue; when it is full the
// event is dropped and counted). One worker thread coalesces a citizen's
// events over a short window, delivers them, and retries a failed
// delivery with exponential backoff under the same id (a receiver that
// sees an id twice has seen one event). Messages carry no health data:
// what happened ("access", "break-glass", "proxy", "digest"), how many
// times, and a link to the access log; the webhook also names the
// citizen and the span of log indexes, so the region can route it.
//
// The settings are documents in the citizen's encrypted store (kind
// "notifications"; subscriptions kind "push-subscription"), and the
// registry index "notify" holds each citizen's mode (no other data), which
// the notifier reads when it starts.
//
// Thread-safety: every method may be called from any thread.
#ifndef TILLIT_NOTIFY_NOTIFIER_H_
#define TILLIT_NOTIFY_NOTIFIER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/audit/entry.h"
#include "tillit/base/clock.h"
#include "tillit/base/status.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/signing.h"
#include "tillit/crypto/web_push.h"
#include "tillit/notify/settings.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::notify {

struct NotifierOptions {
  PushHosts push_hosts = DefaultPushHosts();
  // The contact push services may write to about this server (RFC 8292
  // "sub"): a mailto: or https: URL.
  std::string vapid_subject = "mailto:operator@localhost";
  // The region's notification service, or empty for none (http or https).
  std::string webhook_url;
  // A citizen's events within this many seconds go out as one message.
  int coalesce_seconds = 60;
  // The hour of the day (UTC) the daily digests go out.
  int digest_hour = 8;
  size_t queue_capacity = 10000;
  // Attempts per delivery, the first included; the wait before attempt n
  // (n >= 2) is retry_base_ms * 2^(n-2), at most 10 minutes.
  int max_attempts = 6;
  int64_t retry_base_ms = 2000;
  int timeout_seconds = 5;
  // How often the worker looks at the clock for due work.
  int poll_ms = 500;
  // How often the worker asks whether any node changed a citizen's choice
  // (the vault's index version) and, when one did, reloads every choice.
  // On several nodes over one store, a choice made through another node
  // takes effect here within this time.
  int modes_refresh_ms = 2000;
  // The link in every message: the citizen's access log in the web app.
  std::string link = "/app/#/log";
};

struct NotifierStats {
  uint64_t queued = 0;       // events accepted by Offer
  uint64_t dropped = 0;      // events refused because the queue was full
  uint64_t delivered = 0;    // messages a receiver accepted
  uint64_t retried = 0;      // attempts after a failed one
  uint64_t failed = 0;       // messages given up on
  uint64_t gone = 0;         // subscriptions the push service said are gone
  uint64_t digest_runs = 0;  // daily digest passes made
};

class Notifier {
 public:
  // Reads every citizen's mode from the registry and starts the worker,
  // which reloads them whenever the registry's index changes.
  // The VAPID key and the webhook signing key are derived from the vault's
  // master secret, so they survive restarts and root-key rotations. All
  // pointers are not owned and must outlive the Notifier.
  static StatusOr<std::unique_ptr<Notifier>> Create(
      vault::Vault* vault, vault::StoreAccess* stores, audit::AuditLog* log,
      Clock* clock, crypto::Random* rng, NotifierOptions options);
  ~Notifier();  // stops the worker; what is still queued is not sent
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // An entry that was just made durable at `index`. Never blocks on I/O.
  void Offer(const audit::AuditEntry& entry, uint64_t index);

  // The citizen's settings (the defaults when they never chose).
  StatusOr<Settings> Get(const std::string& citizen_id);
  // Sets the mode; a daily digest counts from `log_size` on.
  StatusOr<Settings> SetMode(const std::string& citizen_id, Mode mode,
                             uint64_t log_size);
  // The citizen's subscriptions, oldest first.
  StatusOr<std::vector<PushSubscription>> Subscriptions(
      const std::string& citizen_id);
  // Adds `s` (from ParsePushSubscription; id and time assigned here, its
  // device set by the caller). The same endpoint again replaces the old
  // subscription's keys and device and keeps its id. FailedPrecondition when
  // the citizen has kMaxPushSubscriptions.
  StatusOr<PushSubscription> Subscribe(const std::string& citizen_id,
                                       PushSubscription s);
  // NotFound unless the citizen has that subscription.
  Status Unsubscribe(const std::string& citizen_id, const std::string& id);
  // Removes every subscription `device_id` made (a revoked device is told
  // of nothing more); how many.
  StatusOr<size_t> UnsubscribeDevice(const std::string& citizen_id,
                                     const std::string& device_id);
  // Forgets an erased citizen (their store is gone with their settings).
  void Forget(const std::string& citizen_id);

  const crypto::P256PublicKey& vapid_public_key() const;
  const crypto::Ed25519PublicKey& webhook_public_key() const;
  bool has_webhook() const;
  NotifierStats stats() const;
  // True once nothing is queued, pending or waiting for a retry (tests).
  bool Idle() const;

  class Impl;

 private:
  explicit Notifier(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The webhook signature's text, as Standard Webhooks writes a public key:
// "whpk_" and the key in base64.
std::string WebhookPublicKeyText(const crypto::Ed25519PublicKey& key);

}  // namespace tillit::notify

#endif  // TILLIT_NOTIFY_NOTIFIER_H_
