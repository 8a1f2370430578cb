// What a citizen chose to be told of accesses to their data (EHDS Art 9,
// SPEC §13), the browsers they subscribed for Web Push, and which audit
// entries count as an access to tell of.
//
// Thread-safety: values and pure functions.
#ifndef TILLIT_NOTIFY_SETTINGS_H_
#define TILLIT_NOTIFY_SETTINGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/audit/entry.h"
#include "tillit/base/status.h"
#include "tillit/crypto/web_push.h"

namespace tillit::notify {

enum class Mode {
  kOff,                 // nothing (the default)
  kEveryAccess,         // each access by someone else, as it happens
  kBreakGlassAndProxy,  // only break-glass sessions and proxies' accesses
  kDailyDigest,         // once a day, how many accesses there were
};
// "off", "every-access", "break-glass-and-proxy", "daily-digest".
std::string_view ModeName(Mode mode);
std::optional<Mode> ParseMode(std::string_view name);

// What an audit entry is, for telling the citizen it concerns.
enum class Access {
  kNone,        // not an access by someone else (the citizen's own, a
                // denial, the operator's or an auditor's work)
  kAccess,      // a provider or researcher was let in
  kBreakGlass,  // a provider opened a break-glass session
  kProxy,       // a proxy or guardian acted for the citizen
};
Access Classify(const audit::AuditEntry& entry);
// "access", "break-glass", "proxy" ("none" for kNone).
std::string_view AccessName(Access access);
// Whether a citizen who chose `mode` is told of `access` as it happens
// (a daily digest tells of none of them at once).
bool TellsAtOnce(Mode mode, Access access);

// A browser's Web Push subscription (the W3C PushSubscription's JSON).
struct PushSubscription {
  std::string id;  // ps_ + 32 hex digits
  std::string endpoint;
  crypto::WebPushReceiver keys;
  int64_t created = 0;
  // The paired device (d_…) whose signed request subscribed it: revoking
  // the device removes it. Empty when a bearer token subscribed it.
  std::string device;
};
// At most this many subscriptions per citizen.
inline constexpr size_t kMaxPushSubscriptions = 10;
inline constexpr size_t kMaxEndpointBytes = 1024;

// Which push services the server will send to: hosts named exactly, or
// "*.example.net" for any host under that domain. Sending goes over https;
// plain http only to a loopback host listed exactly (a test's endpoint).
struct PushHosts {
  std::vector<std::string> hosts;
  bool Allows(std::string_view scheme, std::string_view host) const;
};
// The hosts of the browsers' push services (Chrome's, Firefox's, Safari's,
// Edge's), the default of `tillit serve --push-hosts`.
PushHosts DefaultPushHosts();
// A comma-separated list; InvalidArgument for an empty or malformed entry.
StatusOr<PushHosts> ParsePushHosts(std::string_view list);

// Parses a W3C PushSubscription JSON ({"endpoint", "expirationTime",
// "keys": {"p256dh", "auth"}}). InvalidArgument, naming the field, for a
// malformed one or an endpoint whose scheme and host `hosts` does not
// allow. The id and time are left for the caller.
StatusOr<PushSubscription> ParsePushSubscription(std::string_view json,
                                                 const PushHosts& hosts);
// The scheme and host of an https URL ("https://push.example.net/x" →
// {"https", "push.example.net"}); nullopt for anything else.
struct Origin {
  std::string scheme;
  std::string host;
  int port = 0;  // 0: the scheme's default
  std::string path;
  // "https://host[:port]", the VAPID audience.
  std::string ToString() const;
};
std::optional<Origin> ParseUrl(std::string_view url);

// The stored forms (documents in the citizen's store).
std::string SubscriptionToStoredJson(const PushSubscription& s);
StatusOr<PushSubscription> SubscriptionFromStoredJson(std::string_view json);

struct Settings {
  Mode mode = Mode::kOff;
  // The daily digest counts entries from this audit index on.
  uint64_t digest_from = 0;
  int64_t updated = 0;
};
std::string SettingsToStoredJson(const Settings& s);
StatusOr<Settings> SettingsFromStoredJson(std::string_view json);

}  // namespace tillit::notify

#endif  // TILLIT_NOTIFY_SETTINGS_H_
