#include "tillit/notify/settings.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace tillit::notify {
namespace {

using nlohmann::json;

constexpr std::pair<Mode, std::string_view> kModes[] = {
    {Mode::kOff, "off"},
    {Mode::kEveryAccess, "every-access"},
    {Mode::kBreakGlassAndProxy, "break-glass-and-proxy"},
    {Mode::kDailyDigest, "daily-digest"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsLoopback(std::string_view host) {
  return host == "127.0.0.1" || host == "localhost" || host == "[::1]";
}

bool HostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

StatusOr<std::array<uint8_t, crypto::kWebPushAuthSize>> ParseAuth(
    std::string_view text) {
  auto bytes = crypto::Base64UrlDecode(text);
  if (!bytes.ok() || bytes->size() != crypto::kWebPushAuthSize) {
    return Status::InvalidArgument("keys.auth: 16 bytes of unpadded base64url");
  }
  std::array<uint8_t, crypto::kWebPushAuthSize> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

StatusOr<crypto::P256PublicKey> ParseP256dh(std::string_view text) {
  auto bytes = crypto::Base64UrlDecode(text);
  if (!bytes.ok()) {
    return Status::InvalidArgument("keys.p256dh: unpadded base64url");
  }
  auto key = crypto::ParseP256PublicKey(*bytes);
  if (!key.ok()) {
    return Status::InvalidArgument(
        "keys.p256dh: an uncompressed P-256 public key");
  }
  return *key;
}

}  // namespace

std::string_view ModeName(Mode mode) {
  for (const auto& [m, name] : kModes) {
    if (m == mode) return name;
  }
  return "off";
}

std::optional<Mode> ParseMode(std::string_view name) {
  for (const auto& [m, n] : kModes) {
    if (n == name) return m;
  }
  return std::nullopt;
}

Access Classify(const audit::AuditEntry& e) {
  if (e.citizen_id.empty() || e.decision == "deny") return Access::kNone;
  // A proxy or guardian: the gate let them in (a refusal is "deny"); their
  // entries carry "none", as the citizen's own do.
  if (e.actor_kind == "citizen") {
    return e.actor_id == e.citizen_id ? Access::kNone : Access::kProxy;
  }
  // A provider or researcher: only what a decision permitted.
  if (e.decision != "permit") return Access::kNone;
  if (e.actor_kind == "provider") {
    return e.action == "break-glass.open" ? Access::kBreakGlass
                                          : Access::kAccess;
  }
  if (e.actor_kind == "researcher") return Access::kAccess;
  return Access::kNone;  // operator, auditor, system
}

std::string_view AccessName(Access access) {
  switch (access) {
    case Access::kAccess:
      return "access";
    case Access::kBreakGlass:
      return "break-glass";
    case Access::kProxy:
      return "proxy";
    case Access::kNone:
      break;
  }
  return "none";
}

bool TellsAtOnce(Mode mode, Access access) {
  switch (mode) {
    case Mode::kEveryAccess:
      return access != Access::kNone;
    case Mode::kBreakGlassAndProxy:
      return access == Access::kBreakGlass || access == Access::kProxy;
    case Mode::kOff:
    case Mode::kDailyDigest:
      break;
  }
  return false;
}

bool PushHosts::Allows(std::string_view scheme, std::string_view host) const {
  const std::string h = Lower(host);
  for (const std::string& allowed : hosts) {
    const bool exact = allowed == h;
    const bool under = allowed.rfind("*.", 0) == 0 &&
                       h.size() > allowed.size() - 1 &&
                       h.compare(h.size() - (allowed.size() - 1),
                                 allowed.size() - 1, allowed, 1) == 0;
    if (!exact && !under) continue;
    if (scheme == "https") return true;
    // Plain http only to a loopback host named exactly.
    if (scheme == "http" && exact && IsLoopback(h)) return true;
  }
  return false;
}

PushHosts DefaultPushHosts() {
  return PushHosts{{"fcm.googleapis.com", "updates.push.services.mozilla.com",
                    "web.push.apple.com", "*.notify.windows.com"}};
}

StatusOr<PushHosts> ParsePushHosts(std::string_view list) {
  PushHosts out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string_view::npos) comma = list.size();
    std::string host = Lower(list.substr(start, comma - start));
    const std::string_view name =
        host.rfind("*.", 0) == 0 ? std::string_view(host).substr(2) : host;
    if (name.empty() || host.size() > 253 ||
        (!std::all_of(name.begin(), name.end(), HostChar) && name != "[::1]")) {
      return Status::InvalidArgument(
          "push hosts: a comma-separated list of host names (\"*.\" for "
          "any host under a domain)");
    }
    out.hosts.push_back(std::move(host));
    start = comma + 1;
  }
  return out;
}

std::string Origin::ToString() const {
  std::string out = scheme + "://" + host;
  if (port != 0) out += ":" + std::to_string(port);
  return out;
}

std::optional<Origin> ParseUrl(std::string_view url) {
  Origin o;
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  o.scheme = Lower(url.substr(0, sep));
  if (o.scheme != "https" && o.scheme != "http") return std::nullopt;
  std::string_view rest = url.substr(sep + 3);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  o.path =
      slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;
  const size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.back() != ']') {
    const std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return std::nullopt;
    }
    o.port = std::stoi(std::string(port));
    if (o.port == 0 || o.port > 65535) return std::nullopt;
    // The origin's standard form leaves the default port out (VAPID's
    // "aud" is compared with it).
    if ((o.scheme == "https" && o.port == 443) ||
        (o.scheme == "http" && o.port == 80)) {
      o.port = 0;
    }
    authority = authority.substr(0, colon);
  }
  o.host = Lower(authority);
  if (o.host.empty() || (!std::all_of(o.host.begin(), o.host.end(), HostChar) &&
                         o.host != "[::1]")) {
    return std::nullopt;
  }
  for (char c : o.path) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return std::nullopt;
    }
  }
  return o;
}

StatusOr<PushSubscription> ParsePushSubscription(std::string_view text,
                                                 const PushHosts& hosts) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("body: a PushSubscription JSON object");
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "endpoint" && key != "expirationTime" && key != "keys") {
      return Status::InvalidArgument(key + ": unknown field");
    }
  }
  auto endpoint = j.find("endpoint");
  if (endpoint == j.end() || !endpoint->is_string() ||
      endpoint->get_ref<const std::string&>().size() > kMaxEndpointBytes) {
    return Status::InvalidArgument("endpoint: a URL of at most 1024 bytes");
  }
  PushSubscription s;
  s.endpoint = endpoint->get<std::string>();
  std::optional<Origin> origin = ParseUrl(s.endpoint);
  if (!origin) return Status::InvalidArgument("endpoint: not an https URL");
  if (!hosts.Allows(origin->scheme, origin->host)) {
    return Status::InvalidArgument(
        "endpoint: not a push service this server sends to");
  }
  // The scheme's own port, but for a loopback test endpoint (the one host
  // plain http may reach): a port that never answers would hold the one
  // worker that sends for everyone.
  if (origin->port != 0 && !hosts.Allows("http", origin->host)) {
    return Status::InvalidArgument(
        "endpoint: a push service at its standard port");
  }
  auto keys = j.find("keys");
  if (keys == j.end() || !keys->is_object() || !keys->contains("p256dh") ||
      !(*keys)["p256dh"].is_string() || !keys->contains("auth") ||
      !(*keys)["auth"].is_string()) {
    return Status::InvalidArgument("keys: {\"p256dh\", \"auth\"} required");
  }
  TILLIT_ASSIGN_OR_RETURN(s.keys.p256dh,
                          ParseP256dh((*keys)["p256dh"].get<std::string>()));
  TILLIT_ASSIGN_OR_RETURN(s.keys.auth,
                          ParseAuth((*keys)["auth"].get<std::string>()));
  return s;
}

std::string SubscriptionToStoredJson(const PushSubscription& s) {
  json j = {{"id", s.id},
            {"endpoint", s.endpoint},
            {"p256dh", crypto::Base64UrlEncode(s.keys.p256dh)},
            {"auth", crypto::Base64UrlEncode(s.keys.auth)},
            {"created", s.created}};
  if (!s.device.empty()) j["device"] = s.device;
  return j.dump();
}

StatusOr<PushSubscription> SubscriptionFromStoredJson(std::string_view text) {
  const Status bad = Status::DataLoss("stored push subscription is malformed");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad;
  PushSubscription s;
  try {
    s.id = j.at("id").get<std::string>();
    s.endpoint = j.at("endpoint").get<std::string>();
    s.created = j.at("created").get<int64_t>();
    // Absent in subscriptions stored before devices were kept.
    if (j.contains("device")) s.device = j.at("device").get<std::string>();
    auto p256dh = ParseP256dh(j.at("p256dh").get<std::string>());
    auto auth = ParseAuth(j.at("auth").get<std::string>());
    if (!p256dh.ok() || !auth.ok()) return bad;
    s.keys.p256dh = *p256dh;
    s.keys.auth = *auth;
  } catch (const json::exception&) {
    return bad;
  }
  return s;
}

std::string SettingsToStoredJson(const Settings& s) {
  return json{{"mode", ModeName(s.mode)},
              {"digest_from", s.digest_from},
              {"updated", s.updated}}
      .dump();
}

StatusOr<Settings> SettingsFromStoredJson(std::string_view text) {
  const Status bad = Status::DataLoss(
      "stored notification settings are "
      "malformed");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad;
  Settings s;
  try {
    std::optional<Mode> mode = ParseMode(j.at("mode").get<std::string>());
    if (!mode) return bad;
    s.mode = *mode;
    s.digest_from = j.at("digest_from").get<uint64_t>();
    s.updated = j.at("updated").get<int64_t>();
  } catch (const json::exception&) {
    return bad;
  }
  return s;
}

}  // namespace tillit::notify
