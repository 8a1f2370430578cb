#include "tillit/notify/notifier.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "tillit/base/mutex.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/kdf.h"

namespace tillit::notify {
namespace {

using nlohmann::json;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::string_view kSettingsKind = "notifications";
constexpr std::string_view kSettingsKey = "settings";
constexpr std::string_view kSubscriptionKind = "push-subscription";
constexpr std::string_view kIndexKind = "notify";
constexpr int64_t kDay = 86400;
constexpr int64_t kMaxRetryWaitMs = 10 * 60 * 1000;

// The first time of day `hour`:00 UTC strictly after `now`.
int64_t NextDigestTime(int64_t now, int hour) {
  const int64_t day_start = now - (now % kDay);
  int64_t t = day_start + int64_t{hour} * 3600;
  while (t <= now) t += kDay;
  return t;
}

// The VAPID key: a P-256 scalar from the vault's master secret (the next
// sub-key in the unlikely case one is not below the group order).
StatusOr<crypto::P256Key> DeriveVapidKey(vault::Vault& vault) {
  for (uint64_t id = 0; id < 16; ++id) {
    TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes scalar,
                            vault.DeriveKey(crypto::KdfContext::kWebPush, id));
    auto key = crypto::P256Key::FromPrivate(scalar);
    if (key.ok()) return key;
  }
  return Status::Internal("no VAPID key could be derived");
}

vault::IndexUpdate IndexFor(Mode mode) {
  vault::IndexUpdate index{std::string(kIndexKind), {}};
  if (mode != Mode::kOff) {
    index.rows.push_back(
        {std::string(kSettingsKey), std::string(ModeName(mode))});
  }
  return index;
}

}  // namespace

std::string WebhookPublicKeyText(const crypto::Ed25519PublicKey& key) {
  return "whpk_" + crypto::Base64Encode(key);
}

class Notifier::Impl {
 public:
  Impl(vault::Vault* vault, vault::StoreAccess* stores, audit::AuditLog* log,
       Clock* clock, crypto::Random* rng, NotifierOptions options,
       crypto::P256Key vapid, crypto::SigningKey webhook_key)
      : vault_(*vault),
        stores_(*stores),
        log_(*log),
        clock_(*clock),
        rng_(*rng),
        options_(std::move(options)),
        vapid_(std::move(vapid)),
        webhook_key_(std::move(webhook_key)) {}

  ~Impl() { Stop(); }

  Status Start() {
    TILLIT_RETURN_IF_ERROR(LoadModes());
    {
      MutexLock lock(&mu_);
      next_digest_ = NextDigestTime(clock_.NowSeconds(), options_.digest_hour);
    }
    worker_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  // Every citizen's mode, as the registry's index holds it. The version is
  // read first: a change that lands while the rows are read makes the next
  // check reload again, never leaves this one stale.
  Status LoadModes() EXCLUDES(mu_) {
    TILLIT_ASSIGN_OR_RETURN(int64_t version, vault_.IndexVersion());
    TILLIT_ASSIGN_OR_RETURN(std::vector<vault::IndexEntry> rows,
                            vault_.ReadIndex(kIndexKind));
    std::unordered_map<std::string, Mode> modes;
    for (const vault::IndexEntry& row : rows) {
      if (std::optional<Mode> m = ParseMode(row.value)) {
        modes[row.citizen_id] = *m;
      }
    }
    MutexLock lock(&mu_);
    // Turned off through another node: what waits here is not sent either.
    std::erase_if(pending_,
                  [&](const auto& p) { return !modes.contains(p.first); });
    std::erase_if(queue_,
                  [&](const Event& e) { return !modes.contains(e.citizen); });
    modes_ = std::move(modes);
    modes_version_ = version;
    return Status::Ok();
  }

  // Reloads the modes when the index changed since they were read. A
  // failure (the store unreachable) keeps the modes there are and tries
  // again at the next refresh.
  void RefreshModes() EXCLUDES(mu_) {
    auto version = vault_.IndexVersion();
    if (!version.ok()) return;
    {
      MutexLock lock(&mu_);
      if (*version == modes_version_) return;
    }
    (void)LoadModes();
  }

  void Stop() {
    {
      MutexLock lock(&mu_);
      if (stopping_) return;
      stopping_ = true;
      wake_.SignalAll();
    }
    if (worker_.joinable()) worker_.join();
  }

  void Offer(const audit::AuditEntry& entry, uint64_t index) {
    const Access access = Classify(entry);
    if (access == Access::kNone) return;
    MutexLock lock(&mu_);
    auto mode = modes_.find(entry.citizen_id);
    if (mode == modes_.end() || !TellsAtOnce(mode->second, access)) return;
    if (queue_.size() >= options_.queue_capacity) {
      ++stats_.dropped;
      return;
    }
    queue_.push_back({entry.citizen_id, access, index, clock_.NowSeconds()});
    ++stats_.queued;
    wake_.Signal();
  }

  StatusOr<Settings> Get(const std::string& citizen) {
    Settings out;
    TILLIT_RETURN_IF_ERROR(
        stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(out, LoadSettings(store));
          return Status::Ok();
        }));
    return out;
  }

  StatusOr<Settings> SetMode(const std::string& citizen, Mode mode,
                             uint64_t log_size) {
    Settings s;
    TILLIT_RETURN_IF_ERROR(
        stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(s, LoadSettings(store));
          const int64_t now = clock_.NowSeconds();
          if (mode == Mode::kDailyDigest && s.mode != Mode::kDailyDigest) {
            s.digest_from = log_size;
          }
          s.mode = mode;
          s.updated = now;
          const vault::IndexUpdate index = IndexFor(mode);
          const std::vector<vault::DocumentWrite> writes = {
              {std::string(kSettingsKind), std::string(kSettingsKey),
               SettingsToStoredJson(s)}};
          TILLIT_RETURN_IF_ERROR(store.WriteDocuments(writes, &index, now));
          // Still with the store: two changes at once leave memory as the
          // store (the worker never takes a store while holding mu_).
          MutexLock lock(&mu_);
          if (mode == Mode::kOff) {
            modes_.erase(citizen);
            // Turned off: what is waiting for them is not sent either.
            pending_.erase(citizen);
            std::erase_if(queue_,
                          [&](const Event& e) { return e.citizen == citizen; });
          } else {
            modes_[citizen] = mode;
          }
          return Status::Ok();
        }));
    return s;
  }

  StatusOr<std::vector<PushSubscription>> Subscriptions(
      const std::string& citizen) {
    std::vector<PushSubscription> out;
    TILLIT_RETURN_IF_ERROR(
        stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(out, LoadSubscriptions(store));
          return Status::Ok();
        }));
    return out;
  }

  StatusOr<PushSubscription> Subscribe(const std::string& citizen,
                                       PushSubscription s) {
    TILLIT_RETURN_IF_ERROR(
        stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(std::vector<PushSubscription> all,
                                  LoadSubscriptions(store));
          auto same = std::find_if(all.begin(), all.end(), [&](const auto& o) {
            return o.endpoint == s.endpoint;
          });
          if (same != all.end()) {
            s.id = same->id;
            s.created = same->created;
          } else if (all.size() >= kMaxPushSubscriptions) {
            return Status::FailedPrecondition(
                "at most 10 push subscriptions: remove one first");
          } else {
            s.id = "ps_" + rng_.Hex(16);
            s.created = clock_.NowSeconds();
          }
          const std::vector<vault::DocumentWrite> writes = {
              {std::string(kSubscriptionKind), s.id,
               SubscriptionToStoredJson(s)}};
          return store.WriteDocuments(writes, nullptr, clock_.NowSeconds());
        }));
    return s;
  }

  Status Unsubscribe(const std::string& citizen, const std::string& id) {
    return stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
      TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> doc,
                              store.GetDocument(kSubscriptionKind, id));
      if (!doc) return Status::NotFound("no such push subscription");
      const std::vector<vault::DocumentWrite> writes = {
          {std::string(kSubscriptionKind), id, std::nullopt}};
      return store.WriteDocuments(writes, nullptr, clock_.NowSeconds());
    });
  }

  StatusOr<size_t> UnsubscribeDevice(const std::string& citizen,
                                     const std::string& device) {
    size_t removed = 0;
    TILLIT_RETURN_IF_ERROR(
        stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(std::vector<PushSubscription> all,
                                  LoadSubscriptions(store));
          std::vector<vault::DocumentWrite> writes;
          for (const PushSubscription& s : all) {
            if (device.empty() || s.device != device) continue;
            writes.push_back(
                {std::string(kSubscriptionKind), s.id, std::nullopt});
          }
          removed = writes.size();
          if (writes.empty()) return Status::Ok();
          return store.WriteDocuments(writes, nullptr, clock_.NowSeconds());
        }));
    return removed;
  }

  void Forget(const std::string& citizen) {
    MutexLock lock(&mu_);
    modes_.erase(citizen);
    pending_.erase(citizen);
    std::erase_if(queue_, [&](const Event& e) { return e.citizen == citizen; });
    std::erase_if(retries_,
                  [&](const auto& r) { return r.second.citizen == citizen; });
  }

  const crypto::P256PublicKey& vapid_public_key() const {
    return vapid_.public_key();
  }
  const crypto::Ed25519PublicKey& webhook_public_key() const {
    return webhook_key_.public_key();
  }
  bool has_webhook() const { return !options_.webhook_url.empty(); }

  NotifierStats stats() const {
    MutexLock lock(&mu_);
    return stats_;
  }

  bool Idle() const {
    MutexLock lock(&mu_);
    return queue_.empty() && pending_.empty() && retries_.empty() && !busy_;
  }

 private:
  struct Event {
    std::string citizen;
    Access access;
    uint64_t index;
    int64_t time;  // when offered: the coalescing window opens then
  };
  // A citizen's events waiting for the end of the coalescing window.
  struct Batch {
    Access strongest = Access::kAccess;
    uint64_t count = 0;
    uint64_t first_index = 0;
    uint64_t last_index = 0;
    int64_t due = 0;
  };
  // One message to one receiver, retried under the same id.
  struct Delivery {
    std::string citizen;
    std::string id;            // nt_…: the event's id
    std::string subscription;  // ps_… for Web Push; empty: the webhook
    std::string body;          // the plaintext payload
    bool urgent = false;
    std::string topic;  // RFC 8030 Topic: "tillit-" and the kind
    int attempt = 0;    // attempts made
  };
  enum class Outcome { kDelivered, kGone, kRetry, kFailed };

  StatusOr<Settings> LoadSettings(vault::CitizenStore& store) {
    TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> doc,
                            store.GetDocument(kSettingsKind, kSettingsKey));
    if (!doc) return Settings{};
    return SettingsFromStoredJson(*doc);
  }

  StatusOr<std::vector<PushSubscription>> LoadSubscriptions(
      vault::CitizenStore& store) {
    TILLIT_ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kSubscriptionKind));
    std::vector<PushSubscription> out;
    for (const auto& [key, value] : docs) {
      TILLIT_ASSIGN_OR_RETURN(PushSubscription s,
                              SubscriptionFromStoredJson(value));
      out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.created != b.created ? a.created < b.created : a.id < b.id;
    });
    return out;
  }

  // Importance for the message when events are coalesced.
  static int Rank(Access a) {
    return a == Access::kBreakGlass ? 3 : a == Access::kProxy ? 2 : 1;
  }

  void Run() {
    MutexLock lock(&mu_);
    while (!stopping_) {
      wake_.WaitUntil(std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(options_.poll_ms));
      if (stopping_) break;
      busy_ = true;
      const int64_t now = clock_.NowSeconds();
      while (!queue_.empty()) {
        Event e = std::move(queue_.front());
        queue_.pop_front();
        auto [it, fresh] = pending_.try_emplace(e.citizen);
        Batch& b = it->second;
        if (fresh) {
          b.first_index = e.index;
          // From the offer, not from when the worker got to it: a slow
          // worker must not stretch the window.
          b.due = e.time + options_.coalesce_seconds;
          b.strongest = e.access;
        }
        if (Rank(e.access) > Rank(b.strongest)) b.strongest = e.access;
        ++b.count;
        b.last_index = std::max(b.last_index, e.index);
        b.first_index = std::min(b.first_index, e.index);
      }
      // Due batches become deliveries; the store is read without the lock.
      std::vector<std::pair<std::string, Batch>> due;
      for (auto it = pending_.begin(); it != pending_.end();) {
        if (it->second.due <= now) {
          due.emplace_back(it->first, it->second);
          it = pending_.erase(it);
        } else {
          ++it;
        }
      }
      const bool digest_due = now >= next_digest_;
      if (digest_due) {
        next_digest_ = NextDigestTime(now, options_.digest_hour);
      }
      std::vector<Delivery> ready;
      const auto steady = std::chrono::steady_clock::now();
      while (!retries_.empty() && retries_.begin()->first <= steady) {
        ready.push_back(std::move(retries_.begin()->second));
        retries_.erase(retries_.begin());
      }
      const bool refresh_due = steady >= next_modes_refresh_;
      if (refresh_due) {
        next_modes_refresh_ =
            steady + std::chrono::milliseconds(options_.modes_refresh_ms);
      }
      mu_.Unlock();
      if (refresh_due) RefreshModes();
      for (auto& [citizen, batch] : due) {
        Announce(citizen, AccessName(batch.strongest), batch.count,
                 batch.first_index, batch.last_index, ready);
      }
      if (digest_due) Digests(now, ready);
      std::vector<Delivery> again;
      for (Delivery& d : ready) {
        if (!Attempt(d)) again.push_back(std::move(d));
      }
      mu_.Lock();
      if (digest_due) ++stats_.digest_runs;
      for (Delivery& d : again) {
        const int64_t wait = std::min<int64_t>(
            kMaxRetryWaitMs,
            options_.retry_base_ms << std::min(d.attempt - 1, 20));
        retries_.emplace(
            std::chrono::steady_clock::now() + std::chrono::milliseconds(wait),
            std::move(d));
      }
      busy_ = false;
    }
  }

  // The deliveries of one message about `citizen`: one per subscription
  // and one to the webhook.
  void Announce(const std::string& citizen, std::string_view kind,
                uint64_t count, uint64_t first_index, uint64_t last_index,
                std::vector<Delivery>& out) {
    const std::string id = "nt_" + rng_.Hex(16);
    const bool urgent = kind == "break-glass" || kind == "proxy";
    const std::string push_body =
        json{{"kind", kind}, {"count", count}, {"url", options_.link}}.dump();
    auto subs = Subscriptions(citizen);
    if (subs.ok()) {
      for (const PushSubscription& s : *subs) {
        out.push_back({citizen, id, s.id, push_body, urgent,
                       "tillit-" + std::string(kind), 0});
      }
    }
    if (has_webhook()) {
      json hook = {{"type", "tillit.access"}, {"id", id},
                   {"citizen", citizen},      {"kind", kind},
                   {"count", count},          {"time", clock_.NowSeconds()},
                   {"url", options_.link}};
      if (kind != "digest") {
        hook["first_index"] = first_index;
        hook["last_index"] = last_index;
      }
      out.push_back({citizen, id, "", hook.dump(), urgent, "", 0});
    }
  }

  // Each citizen on the daily digest with accesses since the last one.
  void Digests(int64_t now, std::vector<Delivery>& out) {
    std::vector<std::string> citizens;
    {
      MutexLock lock(&mu_);
      for (const auto& [citizen, mode] : modes_) {
        if (mode == Mode::kDailyDigest) citizens.push_back(citizen);
      }
    }
    const uint64_t size = log_.size();
    for (const std::string& citizen : citizens) {
      auto settings = Get(citizen);
      if (!settings.ok() || settings->mode != Mode::kDailyDigest) continue;
      uint64_t count = 0;
      audit::ListQuery q;
      q.citizen_id = citizen;
      q.after = static_cast<int64_t>(settings->digest_from) - 1;
      q.limit = 1000;
      bool ok = true;
      while (true) {
        auto page = log_.List(q);
        if (!page.ok()) {
          ok = false;
          break;
        }
        for (const audit::StoredEntry& e : *page) {
          if (e.index >= size) break;
          auto parsed = audit::ParseCanonicalEntry(e.canonical);
          if (parsed.ok() && Classify(*parsed) != Access::kNone) ++count;
        }
        if (page->size() < q.limit || page->back().index + 1 >= size) break;
        q.after = static_cast<int64_t>(page->back().index);
      }
      if (!ok) continue;  // tried again tomorrow, from the same index
      if (count > 0) Announce(citizen, "digest", count, 0, 0, out);
      // A failure here only means tomorrow's digest counts from the same
      // index again.
      (void)stores_.With(citizen, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(Settings s, LoadSettings(store));
        // Changed meanwhile (off and on again): theirs to keep.
        if (s.mode != Mode::kDailyDigest ||
            s.digest_from != settings->digest_from) {
          return Status::Ok();
        }
        s.digest_from = size;
        const vault::IndexUpdate index = IndexFor(s.mode);
        const std::vector<vault::DocumentWrite> writes = {
            {std::string(kSettingsKind), std::string(kSettingsKey),
             SettingsToStoredJson(s)}};
        return store.WriteDocuments(writes, &index, now);
      });
    }
  }

  // One attempt; true when it is settled (delivered, gone or given up).
  bool Attempt(Delivery& d) {
    ++d.attempt;
    {
      MutexLock lock(&mu_);
      if (d.attempt > 1) ++stats_.retried;
      // Turned off (or erased) meanwhile: nothing more is sent. Stopping:
      // what is left is not sent either, so a dead receiver cannot hold
      // up the server's stop.
      if (stopping_ || modes_.find(d.citizen) == modes_.end()) return true;
    }
    Outcome outcome = d.subscription.empty() ? PostWebhook(d) : PostPush(d);
    MutexLock lock(&mu_);
    switch (outcome) {
      case Outcome::kDelivered:
        ++stats_.delivered;
        return true;
      case Outcome::kGone:
        ++stats_.gone;
        return true;
      case Outcome::kFailed:
        ++stats_.failed;
        return true;
      case Outcome::kRetry:
        if (d.attempt >= options_.max_attempts) {
          ++stats_.failed;
          return true;
        }
        return false;
    }
    return true;
  }

  std::unique_ptr<httplib::Client> ClientFor(const Origin& origin) {
    auto client = std::make_unique<httplib::Client>(origin.ToString());
    client->set_connection_timeout(options_.timeout_seconds, 0);
    client->set_read_timeout(options_.timeout_seconds, 0);
    client->set_write_timeout(options_.timeout_seconds, 0);
    client->set_follow_location(false);
    return client;
  }

  static Outcome ByStatus(int status, bool push) {
    if (status >= 200 && status < 300) return Outcome::kDelivered;
    // RFC 8030 §7.3: the subscription has expired or was removed.
    if (push && (status == 404 || status == 410)) return Outcome::kGone;
    if (status == 408 || status == 429 || status >= 500) return Outcome::kRetry;
    // A webhook receiver may be down behind a proxy (a 4xx): retried too.
    return push ? Outcome::kFailed : Outcome::kRetry;
  }

  Outcome PostPush(Delivery& d) {
    // Read again at each attempt: one removed meanwhile gets nothing more.
    std::optional<PushSubscription> sub;
    Status s =
        stores_.With(d.citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(
              std::optional<std::string> doc,
              store.GetDocument(kSubscriptionKind, d.subscription));
          if (!doc) return Status::Ok();
          TILLIT_ASSIGN_OR_RETURN(sub, SubscriptionFromStoredJson(*doc));
          return Status::Ok();
        });
    // A store that cannot be read now is tried again; a subscription that
    // is no longer there was removed meanwhile.
    if (!s.ok()) {
      return s.code() == StatusCode::kNotFound ? Outcome::kGone
                                               : Outcome::kRetry;
    }
    if (!sub) return Outcome::kGone;
    std::optional<Origin> origin = ParseUrl(sub->endpoint);
    // As ParsePushSubscription checked, under today's --push-hosts.
    if (!origin || !options_.push_hosts.Allows(origin->scheme, origin->host) ||
        (origin->port != 0 &&
         !options_.push_hosts.Allows("http", origin->host))) {
      return Outcome::kFailed;
    }
    auto body = crypto::EncryptWebPush(crypto::AsBytes(d.body), sub->keys);
    auto auth = crypto::VapidAuthorization(vapid_, origin->ToString(),
                                           options_.vapid_subject,
                                           clock_.NowSeconds() + 12 * 3600);
    if (!body.ok() || !auth.ok()) return Outcome::kFailed;
    httplib::Headers headers = {
        {"TTL", "86400"},
        {"Content-Encoding", "aes128gcm"},
        {"Urgency", d.urgent ? "high" : "normal"},
        // A newer message of the same kind replaces one the browser has
        // not fetched yet (a break-glass is never replaced by an access).
        {"Topic", d.topic},
        {"Authorization", *auth}};
    auto client = ClientFor(*origin);
    auto res = client->Post(origin->path, headers,
                            reinterpret_cast<const char*>(body->data()),
                            body->size(), "application/octet-stream");
    if (!res) return Outcome::kRetry;
    const Outcome outcome = ByStatus(res->status, true);
    if (outcome == Outcome::kGone) {
      (void)Unsubscribe(d.citizen, d.subscription);
    }
    return outcome;
  }

  Outcome PostWebhook(const Delivery& d) {
    std::optional<Origin> origin = ParseUrl(options_.webhook_url);
    if (!origin) return Outcome::kFailed;
    const std::string timestamp = std::to_string(clock_.NowSeconds());
    const std::string signed_text = d.id + "." + timestamp + "." + d.body;
    const crypto::Ed25519Signature sig =
        webhook_key_.Sign(crypto::AsBytes(signed_text));
    httplib::Headers headers = {
        {"webhook-id", d.id},
        {"webhook-timestamp", timestamp},
        {"webhook-signature", "v1a," + crypto::Base64Encode(sig)}};
    auto client = ClientFor(*origin);
    auto res = client->Post(origin->path, headers, d.body, "application/json");
    if (!res) return Outcome::kRetry;
    return ByStatus(res->status, false);
  }

  vault::Vault& vault_;
  vault::StoreAccess& stores_;
  audit::AuditLog& log_;
  Clock& clock_;
  crypto::Random& rng_;
  const NotifierOptions options_;
  const crypto::P256Key vapid_;
  const crypto::SigningKey webhook_key_;

  mutable Mutex mu_;
  CondVar wake_{&mu_};
  bool stopping_ GUARDED_BY(mu_) = false;
  bool busy_ GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, Mode> modes_ GUARDED_BY(mu_);
  int64_t modes_version_ GUARDED_BY(mu_) = -1;
  SteadyTime next_modes_refresh_ GUARDED_BY(mu_);
  std::deque<Event> queue_ GUARDED_BY(mu_);
  std::map<std::string, Batch> pending_ GUARDED_BY(mu_);
  std::multimap<SteadyTime, Delivery> retries_ GUARDED_BY(mu_);
  int64_t next_digest_ GUARDED_BY(mu_) = 0;
  NotifierStats stats_ GUARDED_BY(mu_);
  std::thread worker_;
};

StatusOr<std::unique_ptr<Notifier>> Notifier::Create(
    vault::Vault* vault, vault::StoreAccess* stores, audit::AuditLog* log,
    Clock* clock, crypto::Random* rng, NotifierOptions options) {
  if (options.digest_hour < 0 || options.digest_hour > 23) {
    return Status::InvalidArgument("digest hour: 0 to 23 (UTC)");
  }
  if (options.coalesce_seconds < 0 || options.queue_capacity == 0 ||
      options.max_attempts < 1 || options.retry_base_ms < 1 ||
      options.retry_base_ms > kMaxRetryWaitMs || options.timeout_seconds < 1 ||
      options.poll_ms < 1 || options.modes_refresh_ms < 1) {
    return Status::InvalidArgument("notifier options out of range");
  }
  // Both go into JSON the worker writes: printable ASCII, so it never
  // throws there.
  for (const std::string* text : {&options.vapid_subject, &options.link}) {
    if (text->empty() || text->size() > 256 ||
        !std::all_of(text->begin(), text->end(),
                     [](char c) { return c > 0x20 && c < 0x7f; })) {
      return Status::InvalidArgument(
          "vapid subject and link: printable ASCII, 1 to 256 bytes");
    }
  }
  if (!options.webhook_url.empty() && !ParseUrl(options.webhook_url)) {
    return Status::InvalidArgument("webhook: an http or https URL");
  }
  TILLIT_ASSIGN_OR_RETURN(crypto::P256Key vapid, DeriveVapidKey(*vault));
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes seed,
      vault->DeriveKey(crypto::KdfContext::kWebhookSigning, 0));
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey webhook_key,
                          crypto::SigningKey::FromSeed(seed));
  auto impl =
      std::make_unique<Impl>(vault, stores, log, clock, rng, std::move(options),
                             std::move(vapid), std::move(webhook_key));
  TILLIT_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<Notifier>(new Notifier(std::move(impl)));
}

Notifier::Notifier(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Notifier::~Notifier() = default;

void Notifier::Offer(const audit::AuditEntry& entry, uint64_t index) {
  impl_->Offer(entry, index);
}
StatusOr<Settings> Notifier::Get(const std::string& citizen_id) {
  return impl_->Get(citizen_id);
}
StatusOr<Settings> Notifier::SetMode(const std::string& citizen_id, Mode mode,
                                     uint64_t log_size) {
  return impl_->SetMode(citizen_id, mode, log_size);
}
StatusOr<std::vector<PushSubscription>> Notifier::Subscriptions(
    const std::string& citizen_id) {
  return impl_->Subscriptions(citizen_id);
}
StatusOr<PushSubscription> Notifier::Subscribe(const std::string& citizen_id,
                                               PushSubscription s) {
  return impl_->Subscribe(citizen_id, std::move(s));
}
Status Notifier::Unsubscribe(const std::string& citizen_id,
                             const std::string& id) {
  return impl_->Unsubscribe(citizen_id, id);
}
StatusOr<size_t> Notifier::UnsubscribeDevice(const std::string& citizen_id,
                                             const std::string& device_id) {
  return impl_->UnsubscribeDevice(citizen_id, device_id);
}
void Notifier::Forget(const std::string& citizen_id) {
  impl_->Forget(citizen_id);
}
const crypto::P256PublicKey& Notifier::vapid_public_key() const {
  return impl_->vapid_public_key();
}
const crypto::Ed25519PublicKey& Notifier::webhook_public_key() const {
  return impl_->webhook_public_key();
}
bool Notifier::has_webhook() const { return impl_->has_webhook(); }
NotifierStats Notifier::stats() const { return impl_->stats(); }
bool Notifier::Idle() const { return impl_->Idle(); }

}  // namespace tillit::notify
