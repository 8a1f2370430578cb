// `tillit serve`, and the server plumbing it shares with `tillit demo`
// (serve.h).
#include "src/serve.h"

#include <pthread.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>  // defines __GLIBC__ where it applies
#include <fstream>
#include <optional>
#include <ostream>
#include <set>
#include <string>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "src/config_file.h"
#include "src/verbs.h"
#include "tillit/consent/policy.h"
#include "tillit/fhir/fhir.h"
#include "tillit/http_signature/replay_cache.h"
#include "tillit/notify/settings.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

// HOST:PORT, with an IPv6 host in brackets; port 0..65535. `origin` names
// where the text came from (Args::Origin).
Status ParseListen(const std::string& text, const std::string& origin,
                   std::string* host, int* port) {
  const Status bad = Status::InvalidArgument(
      origin +
      " takes HOST:PORT with a port from 0 to 65535, e.g. "
      "127.0.0.1:8443 or [::1]:8443");
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return bad;
  std::string h = text.substr(0, colon);
  if (h.front() == '[') {
    if (h.size() < 3 || h.back() != ']') return bad;
    h = h.substr(1, h.size() - 2);
    if (h.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return bad;
  } else if (h.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") !=
             std::string::npos) {
    return bad;
  }
  auto p = ParseNumber(text.substr(colon + 1), 0, 0, 65535);
  if (!p) return bad;
  *host = h;
  *port = static_cast<int>(*p);
  return Status::Ok();
}

// The signals that stop a server.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

Status ServerFlags(const Args& a, const std::string& default_listen,
                   api::ServerOptions* o) {
  TILLIT_RETURN_IF_ERROR(ParseListen(a.Get("listen").value_or(default_listen),
                                     a.Origin("listen"), &o->host, &o->port));
  auto threads = ParseNumber(a.Get("threads"), o->threads, 1, 4096);
  if (!threads)
    return Status::InvalidArgument(a.Origin("threads") + ": 1 to 4096");
  o->threads = *threads;
  auto body = ParseNumber(a.Get("max-body"), o->max_body_bytes, 1024,
                          uint64_t{1} << 40);
  if (!body)
    return Status::InvalidArgument(a.Origin("max-body") +
                                   ": 1024 to 2^40 bytes");
  o->max_body_bytes = *body;
  auto cache = ParseNumber(a.Get("cache"), o->store_cache_size, 1, 100000);
  if (!cache)
    return Status::InvalidArgument(a.Origin("cache") + ": 1 to 100000");
  o->store_cache_size = *cache;
  if (auto r = a.Get("rate")) {
    auto rate = ParseNumber(r, 0, 0, 1000000);
    if (!rate) {
      return Status::InvalidArgument(
          a.Origin("rate") +
          ": requests per second per principal, 0 (unlimited) to 1000000");
    }
    o->rate_per_second = static_cast<double>(*rate);
    o->rate_burst = 2.0 * static_cast<double>(*rate);
  }
  if (auto format = a.Get("log-format")) {
    if (*format == "text") {
      o->log_format = api::LogFormat::kText;
    } else if (*format == "json") {
      o->log_format = api::LogFormat::kJson;
    } else {
      return Status::InvalidArgument(a.Origin("log-format") + ": text or json");
    }
  }
  if (auto choice = a.Get("opt-out-break-glass")) {
    if (*choice == "allow") {
      o->break_glass_despite_opt_out = true;
    } else if (*choice == "deny") {
      o->break_glass_despite_opt_out = false;
    } else {
      return Status::InvalidArgument(a.Origin("opt-out-break-glass") +
                                     ": allow or deny");
    }
  }
  if (auto provider = a.Get("rectification-provider")) {
    if (!vault::IsValidId(*provider, "p_")) {
      return Status::InvalidArgument(a.Origin("rectification-provider") +
                                     ": a provider id (p_ and 32 hex digits)");
    }
    o->rectification_provider = *provider;
  }
  if (auto hidden = a.Get("guardian-hidden-categories")) {
    // A comma-separated list of category names, each once.
    o->guardian_hidden_categories = 0;
    size_t at = 0;
    while (at <= hidden->size()) {
      size_t comma = hidden->find(',', at);
      if (comma == std::string::npos) comma = hidden->size();
      const std::optional<fhir::Category> c =
          fhir::ParseCategory(hidden->substr(at, comma - at));
      if (!c || (o->guardian_hidden_categories & consent::CategoryBit(*c))) {
        return Status::InvalidArgument(
            a.Origin("guardian-hidden-categories") +
            ": record category names separated by commas, each once");
      }
      o->guardian_hidden_categories |= consent::CategoryBit(*c);
      at = comma + 1;
    }
  }
  if (auto hosts = a.Get("push-hosts")) {
    auto parsed = notify::ParsePushHosts(*hosts);
    if (!parsed.ok()) {
      return Status::InvalidArgument(a.Origin("push-hosts") + ": " +
                                     parsed.status().message());
    }
    o->notifications.push_hosts = *parsed;
  }
  if (auto subject = a.Get("vapid-subject")) {
    if ((subject->rfind("mailto:", 0) != 0 &&
         subject->rfind("https://", 0) != 0) ||
        subject->size() > 256 ||
        subject->find_first_of(" \"\\") != std::string::npos) {
      return Status::InvalidArgument(
          a.Origin("vapid-subject") +
          ": a mailto: or https: contact for push services");
    }
    o->notifications.vapid_subject = *subject;
  }
  if (auto hook = a.Get("notify-webhook")) {
    if (!notify::ParseUrl(*hook)) {
      return Status::InvalidArgument(a.Origin("notify-webhook") +
                                     ": an http or https URL");
    }
    o->notifications.webhook_url = *hook;
  }
  auto hour =
      ParseNumber(a.Get("digest-hour"), o->notifications.digest_hour, 0, 23);
  if (!hour) {
    return Status::InvalidArgument(a.Origin("digest-hour") +
                                   ": an hour of the day, 0 to 23 (UTC)");
  }
  o->notifications.digest_hour = static_cast<int>(*hour);
  const bool cert = a.Get("tls-cert").has_value();
  const bool key = a.Get("tls-key").has_value();
  if (cert != key) {
    return Status::InvalidArgument(
        a.Origin(cert ? "tls-cert" : "tls-key") + " needs " +
        (cert ? "--tls-key" : "--tls-cert") + " too: both or neither");
  }
  if (cert) {
    o->tls_cert = *a.Get("tls-cert");
    o->tls_key = *a.Get("tls-key");
    if (o->tls_cert.empty() || o->tls_key.empty())
      return Status::InvalidArgument("--tls-cert and --tls-key name files");
  }
  return Status::Ok();
}

// glibc keeps what threads free in its per-thread arenas and gives back to
// the system only what lies at the top of each, so the server's resident
// memory crept up through a 30-minute soak while its live heap stayed flat
// (a heap profile of the whole run: 40 to 43 MB; docs/RELIABILITY.md,
// "Load and soak"). Giving the free pages of every arena back every few
// seconds keeps it nearer the live heap.
void ReturnFreeMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);  // locks one arena at a time, briefly
#endif
}

// The rest of the creep is the number of arenas: glibc makes up to 8 per
// core (16 here) for the 64 workers, and each keeps its own free pieces.
// Four arenas held a 30-minute soak flat without the throughput the
// earlier two cost (docs/RELIABILITY.md). An operator's MALLOC_ARENA_MAX or
// glibc.malloc.arena_max tunable wins.
constexpr int kMallocArenas = 4;
void LimitMallocArenas() {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (std::getenv("MALLOC_ARENA_MAX") != nullptr ||
      (tunables != nullptr &&
       std::string_view(tunables).find("glibc.malloc.arena_max") !=
           std::string_view::npos)) {
    return;
  }
  mallopt(M_ARENA_MAX, kMallocArenas);
#endif
}

StatusOr<std::unique_ptr<api::Server>> StartServer(
    vault::Vault& vault, const api::ServerOptions& options) {
  for (const std::string& f : {options.tls_cert, options.tls_key}) {
    if (f.empty()) continue;
    std::ifstream probe(f);
    if (!probe) return Status::InvalidArgument("cannot read " + f);
  }
  const sigset_t set = StopSignals();
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0)
    return Status::Internal("cannot block SIGTERM and SIGINT");
  // (SIGXFSZ is ignored for every verb in main(): a write past the
  // file-size limit fails with EFBIG, answered 503, and the server stays.)
  std::signal(SIGPIPE, SIG_IGN);
  LimitMallocArenas();  // before the server starts its threads
  TILLIT_ASSIGN_OR_RETURN(auto server, api::Server::Create(&vault, options));
  TILLIT_RETURN_IF_ERROR(server->Start());
  return server;
}

int ServeUntilSignal(Io& io, api::Server& server, bool json, bool quiet) {
  const sigset_t set = StopSignals();
  int sig = 0;
  for (;;) {
    const timespec wait{kReturnMemoryEverySeconds, 0};
    sig = sigtimedwait(&set, nullptr, &wait);
    if (sig > 0) break;
    if (errno == EAGAIN) ReturnFreeMemory();  // else EINTR: wait again
  }
  if (!quiet) {
    // Through the server log: in its format, and never inside a line that
    // a request still in flight is writing.
    server.LogNotice(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") +
                     " received; finishing the requests in flight");
  }
  server.Stop();
  (json ? io.err : io.out) << "stopped\n" << std::flush;
  return kOk;
}

const char kServeHelp[] =
    R"(Usage: tillit serve [--config FILE] [--data DIR] [--store URL]
                    [--listen HOST:PORT]
                    [--tls-cert FILE --tls-key FILE] [--threads N]
                    [--max-body BYTES] [--cache N] [--rate N] [--quiet]
                    [--log-format text|json]
                    [--opt-out-break-glass allow|deny]
                    [--rectification-provider PROVIDER_ID]
                    [--guardian-hidden-categories LIST]
                    [--push-hosts LIST] [--vapid-subject URL]
                    [--notify-webhook URL] [--digest-hour H]
                    [--key-file FILE] [--passphrase-stdin]

Serves the HTTP API (SPEC section 7) on HOST:PORT (default 127.0.0.1:8443;
port 0 picks any free port; IPv6 hosts in brackets, [::1]:8443). Prints
one line `listening on <url>` once it accepts connections, and serves until
SIGTERM or SIGINT; then it stops accepting, finishes the requests in
flight, prints `stopped` and exits 0.

--config FILE          read these options from FILE first (see below)
--store URL            serve the vault kept in PostgreSQL
                       (postgresql://HOST/DB?sslmode=verify-full...; also
                       $TILLIT_STORE), as every node of a cluster does;
                       DIR then holds this node's key file and files. The
                       password comes from a password file (PGPASSFILE or
                       passfile=FILE in the URL), never the URL
--tls-cert, --tls-key  PEM certificate and key; both or neither (HTTPS)
--threads N            worker threads, 1 to 4096 (default 64)
--max-body BYTES       largest import or push body (default 67108864)
--cache N              citizen stores kept open, 1 to 100000 (default 256)
--rate N               requests per second per principal, burst 2N;
                       0 = unlimited (default 1000)
--quiet                log only errors (default: one line per request on
                       standard error; never bodies, tokens, query strings
                       or health data)
--log-format FORMAT    text (default) or json: one JSON object per line
                       with time, level, request_id, method, route,
                       status and latency_ms, or msg for an error
--opt-out-break-glass CHOICE
                       whether a care provider's break-glass reaches a
                       citizen who opted out of primary use (EHDS Art 10
                       leaves it to national law): allow (default) or
                       deny, which makes the opt-out absolute
--rectification-provider PROVIDER_ID
                       the care provider (p_...) who answers citizens'
                       requests to correct imported records (EHDS Art 6),
                       for example the region's records office; without
                       it such requests are refused (409). A record a
                       provider pushed always goes to that provider
--guardian-hidden-categories LIST
                       record categories a guardian never sees of the
                       person they represent (comma-separated, e.g.
                       prescriptions,lab-results), where national rules
                       hide some of a dependent's data from a legal
                       representative (EHDS Art 4(3)); default none
--push-hosts LIST      the push services citizens' browsers may subscribe
                       through (EHDS Art 9 notifications; comma-separated
                       host names, "*.domain" for any host under it);
                       default: Chrome's, Firefox's, Safari's and Edge's.
                       Always https; http only to a loopback host listed
                       exactly
--vapid-subject URL    the mailto: or https: contact push services may
                       write to about this server (RFC 8292); default
                       mailto:operator@localhost
--notify-webhook URL   the region's notification service: every
                       notification is also POSTed there as JSON, signed
                       as Standard Webhooks' v1a (Ed25519; the key is
                       printed at start), retried with backoff under the
                       same webhook-id; default none
--digest-hour H        the hour of the day (UTC, 0 to 23) daily digests go
                       out; default 8

The configuration file (the Debian package's is /etc/tillit/tillit.conf)
holds `key = value` lines, blank lines and `#` comment lines. A key is an
option's name without the dashes (listen, data, store, key-file, tls-cert,
tls-key, threads, max-body, cache, rate, log-format,
opt-out-break-glass, rectification-provider,
guardian-hidden-categories, push-hosts, vapid-subject, notify-webhook,
digest-hour); a flag (quiet,
passphrase-stdin) takes true or false. Values are written without quotes;
each key once. The file acts as if its lines were flags written before the
command line's: a flag on the command line wins, and the file's data and
key-file win over $TILLIT_DATA and $TILLIT_KEY_FILE. It must be valid on
its own, also where the command line overrides it. No secret belongs in
it; it must be a regular file that its group and others cannot write.

Exit status 2 for a bad flag or value, or a configuration file that is
missing, unreadable, writable by others, or has an unknown key, a repeated
key, a bad value or a line that is not `key = value` (the message names
the line). Exit status 1 when the vault cannot be opened, the TLS files
are unusable or the address cannot be bound.
)";

namespace {

// The options and flags of `tillit serve`; all but these are also the keys
// of its configuration file.
Args ServeArgs() {
  Args a;
  a.Option("config")
      .Option("data")
      .Option("store")
      .Option("key-file")
      .Flag("passphrase-stdin")
      .Flag("help")
      .Option("listen")
      .Option("tls-cert")
      .Option("tls-key")
      .Option("threads")
      .Option("max-body")
      .Option("cache")
      .Option("rate")
      .Option("log-format")
      .Option("opt-out-break-glass")
      .Option("rectification-provider")
      .Option("guardian-hidden-categories")
      .Option("push-hosts")
      .Option("vapid-subject")
      .Option("notify-webhook")
      .Option("digest-hour")
      .Flag("quiet");
  return a;
}
// Takes --config FILE into `a`. The file must be valid on its own, also
// where the command line overrides it: the next start may not.
Status ApplyConfigFile(const std::string& path, Args& a) {
  const std::set<std::string> not_keys = {"config", "help"};
  TILLIT_ASSIGN_OR_RETURN(ConfigFile file, LoadConfigFile(path));
  Args alone = ServeArgs();
  TILLIT_RETURN_IF_ERROR(alone.ApplyConfig(file, not_keys));
  api::ServerOptions unused;
  TILLIT_RETURN_IF_ERROR(ServerFlags(alone, "127.0.0.1:8443", &unused));
  return a.ApplyConfig(file, not_keys);
}

}  // namespace

int CmdServe(int argc, char** argv, Io& io) {
  Args a = ServeArgs();
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "serve", s.message());
  if (a.Has("help")) return io.out << kServeHelp, kOk;
  if (!a.positional().empty())
    return Usage(io, "serve", "unexpected argument " + a.positional()[0]);
  if (auto path = a.Get("config")) {
    if (Status s = ApplyConfigFile(*path, a); !s.ok())
      return Usage(io, "serve", s.message());
  }
  api::ServerOptions o;
  if (Status s = ServerFlags(a, "127.0.0.1:8443", &o); !s.ok())
    return Usage(io, "serve", s.message());
  o.log = &io.err;
  o.access_log = !a.Has("quiet");
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "serve", setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, "serve", v.status());
  // A node of a shared vault writes the audit log, the privacy ledger and
  // the nonces of signed requests that every node shares.
  std::unique_ptr<http_signature::ReplayCache> nonces;
  if (pgstore::PgVaultStore* shared = PgStoreOf(**v)) {
    vault::Vault* vault = v->get();
    o.open_audit_log = [shared, vault] { return shared->OpenAuditLog(*vault); };
    o.open_privacy_ledger = [shared, vault] {
      return shared->OpenPrivacyLedger(*vault);
    };
    auto opened = shared->OpenReplayCache();
    if (!opened.ok()) return Fail(io, "serve", opened.status());
    nonces = std::move(opened).value();
    o.replay_cache = nonces.get();
  }
  auto server = StartServer(**v, o);
  if (!server.ok()) return Fail(io, "serve", server.status());
  io.out << "listening on " << (*server)->url() << "\n" << std::flush;
  if (!o.notifications.webhook_url.empty()) {
    (*server)->LogNotice("webhooks to " + o.notifications.webhook_url +
                         " are signed with " + (*server)->webhook_public_key());
  }
  return ServeUntilSignal(io, **server, false, a.Has("quiet"));
}

}  // namespace tillit::cli
