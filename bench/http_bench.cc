// HTTP load benchmark: a tillit server in one process, a load generator in
// another, over loopback.
//
// The parent builds a vault of generated citizens (each with an
// any-provider clinical-care grant), registers a provider, forks a child
// that serves it with api::Server, then drives it from C keep-alive
// connections (one thread each) for a fixed time per scenario:
//   read-one   provider GET /v1/patients/{c}/records/{type}/{id}
//              (authenticated, consent-checked, audited before answering)
//   list       provider GET /v1/patients/{c}/records?limit=20
//   write      citizen POST /v1/me/records (durable: audit entry and the
//              citizen's store committed before the 201)
// It prints requests/s, p50/p99/p99.9 latency and the error count of each,
// in a closed loop (default) or at a fixed offered rate (--rate).
//
// With --pg the vault is in PostgreSQL instead of a data directory: a
// private server (durable: fsync and synchronous commit on) in a temporary
// directory on loopback, as the tests start theirs. --nodes N (with --pg)
// forks N servers, each with its own directory, a copy of the root key and
// its own connections to the one database, as `tillit serve --store` nodes
// are; the load generator spreads its connections over them round-robin.
// At the end it prints the database's size, what the citizens' stores
// take per record and what the audit log takes per entry.
//
// With --target and --paths it builds no vault and forks no server: the
// same load generator sends plain GETs (Host only, no Authorization) for
// the paths in the file, round-robin, to a server already listening on
// this machine's loopback, and prints one scenario, "get", the same way.
// bench/peers/run.sh drives another server with it (see its README).
//
// Run: ./dev bench, or build/bench/http_bench [--citizens N]
//      [--connections C] [--seconds S] [--threads T]
//      [--only read-one|list|write] [--rate R] [--warmup S]
//      [--pg [--nodes N]]
//  or: build/bench/http_bench --target http://127.0.0.1:PORT --paths FILE
//      [--connections C] [--seconds S] [--rate R] [--warmup S]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "tillit/api/principals.h"
#include "tillit/api/server.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/hardening.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/http_signature/replay_cache.h"
#include "tillit/pgstore/connection.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/testing/pg_cluster.h"
#include "tillit/vault/vault.h"

namespace {

using namespace tillit;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

struct Config {
  int citizens = 200;
  int connections = 64;
  int seconds = 10;
  int threads = 80;  // server workers (>= connections: one per connection)
  std::string only;  // one scenario, or all
  int rate = 0;      // requests/s offered on a fixed schedule; 0: closed loop
  // Seconds driven first and not counted: the first requests open the
  // citizens' vaults (200 take about a second under load), and at a fixed
  // rate the requests queued behind those opens were counted with 1.
  int warmup = 3;
  // The vault in a private PostgreSQL server, served by `nodes` processes.
  bool pg = false;
  int nodes = 1;

  // Another server instead (both or neither): its http://HOST:PORT, and a
  // file of the paths to GET from it, one a line.
  std::string target;
  std::string paths;
};

struct Target {
  std::string citizen;
  std::string citizen_token;
  std::vector<std::string> records;  // "Type/id"
};

struct Setup {
  std::string dir;
  std::string conninfo;  // --pg: the vault's database
  std::string provider_token;
  std::vector<Target> targets;
  // --target: one GET per path of --paths, sent round-robin.
  std::vector<std::string> gets;
};

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "http_bench: %s: %s\n", what.c_str(),
               s.ToString().c_str());
  std::exit(1);
}

// The options of node `node`'s vault: the data directory, or with --pg
// the node's own directory (a copy of the root key) and the database.
vault::VaultOptions NodeOptions(const Setup& setup, int node) {
  vault::VaultOptions vo;
  if (setup.conninfo.empty()) {
    vo.data_dir = setup.dir + "/data";
    return vo;
  }
  vo.data_dir = setup.dir + "/node" + std::to_string(node);
  auto store = pgstore::PgVaultStore::Open(setup.conninfo);
  if (!store.ok()) Die("store", store.status());
  vo.shared_store = std::move(store).value();
  return vo;
}

Setup Build(const Config& cfg, const std::string& conninfo) {
  Setup out;
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "tillit-httpbench-XXXXXX")
          .string();
  out.dir = mkdtemp(tmpl.data());
  out.conninfo = conninfo;
  vault::VaultOptions vo = NodeOptions(out, 0);
  auto created = vault::Vault::Init(vo);
  if (!created.ok()) Die("init", created.status());
  vault::Vault& v = *created->vault;
  consent::ConsentService consents(&v, &Clock::System(),
                                   &crypto::Random::System());
  const std::string grant = R"({"grantee": {"kind": "any-provider"},
      "purposes": ["DUO:0000043"],
      "categories": ["patient-summary", "prescriptions", "lab-results",
                     "vital-signs", "encounters", "imaging", "other",
                     "dispensations", "discharge-reports", "financial"],
      "include_sensitive": true, "expires": null})";
  for (int i = 0; i < cfg.citizens; ++i) {
    auto imp = v.Import(fhir::GenerateSyntheticBundle(2026, i),
                        vault::ImportFormat::kJson);
    if (!imp.ok()) Die("import", imp.status());
    Target t;
    t.citizen = imp->citizen_id;
    auto g = consents.AddGrant(t.citizen, grant);
    if (!g.ok()) Die("grant", g.status());
    auto store = v.OpenCitizen(t.citizen);
    if (!store.ok()) Die("open", store.status());
    auto meta = (*store)->ListRecordMeta();
    if (!meta.ok()) Die("records", meta.status());
    for (const auto& m : *meta) {
      if (m.type != "Patient") t.records.push_back(m.type + "/" + m.id);
    }
    auto token = v.IssueToken("citizen", t.citizen, 3600);
    if (!token.ok()) Die("token", token.status());
    t.citizen_token = std::string(token->ExposeSecretText());
    out.targets.push_back(std::move(t));
  }
  auto provider = api::RegisterProvider(v, crypto::Random::System(),
                                        R"({"name": "Bench Hospital"})", 3600);
  if (!provider.ok()) Die("provider", provider.status());
  out.provider_token = std::string(provider->token.ExposeSecretText());
  // The other nodes: a directory each with a copy of the root key.
  for (int node = 1; !conninfo.empty() && node < cfg.nodes; ++node) {
    namespace fs = std::filesystem;
    const fs::path dir = out.dir + "/node" + std::to_string(node);
    fs::create_directory(dir);
    fs::permissions(dir, fs::perms::owner_all);
    fs::copy_file(vo.data_dir + "/root.key", dir / "root.key");
  }
  return out;
}

// A child: serve the vault as node `node` until SIGTERM; report the port
// on `fd`.
[[noreturn]] void Serve(const Setup& setup, const Config& cfg, int node,
                        int fd) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto v = vault::Vault::Open(NodeOptions(setup, node));
  if (!v.ok()) Die("open", v.status());
  api::ServerOptions o;
  // A node of a shared vault writes the one audit log, ledger and nonce
  // cache in the database, as `tillit serve --store` does.
  std::unique_ptr<http_signature::ReplayCache> nonces;
  if (auto* shared =
          dynamic_cast<pgstore::PgVaultStore*>((*v)->shared_store())) {
    vault::Vault* vault = v->get();
    o.open_audit_log = [shared, vault] { return shared->OpenAuditLog(*vault); };
    o.open_privacy_ledger = [shared, vault] {
      return shared->OpenPrivacyLedger(*vault);
    };
    auto opened = shared->OpenReplayCache();
    if (!opened.ok()) Die("nonces", opened.status());
    nonces = std::move(opened).value();
    o.replay_cache = nonces.get();
  }
  o.port = 0;
  o.threads = static_cast<size_t>(cfg.threads);
  o.rate_per_second = 1e9;  // the limiter runs, but never refuses
  o.rate_burst = 1e9;
  o.access_log = false;  // errors only, as a busy deployment would
  o.log = &std::cerr;
  auto server = api::Server::Create(v->get(), o);
  if (!server.ok()) Die("server", server.status());
  Status started = (*server)->Start();
  if (!started.ok()) Die("start", started);
  const int port = (*server)->port();
  if (write(fd, &port, sizeof port) != sizeof port) std::exit(1);
  close(fd);
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop();
  std::exit(0);
}

struct Result {
  double seconds = 0;
  uint64_t ok = 0;
  uint64_t errors = 0;
  std::vector<double> latencies_ms;
};

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k =
      std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

enum class Kind { kReadOne, kList, kWrite, kGet };

// The next request of a scenario, as bytes on the wire.
std::string NextRequest(const Setup& setup, Kind kind, std::mt19937_64& rng,
                        uint64_t n) {
  if (kind == Kind::kGet) return setup.gets[n % setup.gets.size()];
  const Target& t = setup.targets[rng() % setup.targets.size()];
  if (kind == Kind::kWrite) {
    json obs = {
        {"resourceType", "Observation"},
        {"status", "final"},
        {"category",
         {{{"coding",
            {{{"system",
               "http://terminology.hl7.org/CodeSystem/observation-category"},
              {"code", "vital-signs"}}}}}}},
        {"code",
         {{"coding", {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
        {"effectiveDateTime", "2026-11-23T08:00:00Z"},
        {"valueQuantity",
         {{"value", 60 + static_cast<int>(n % 40)}, {"unit", "/min"}}}};
    const std::string body = obs.dump();
    return "POST /v1/me/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Authorization: Bearer " +
           t.citizen_token +
           "\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  std::string path = "/v1/patients/" + t.citizen + "/records";
  if (kind == Kind::kReadOne) {
    path += "/" + t.records[rng() % t.records.size()];
  } else {
    path += "?limit=20";
  }
  return "GET " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
         "Bearer " +
         setup.provider_token + "\r\n\r\n";
}

// One keep-alive connection of the load generator.
struct Conn {
  int fd = -1;
  std::string out;  // the request being sent
  size_t sent = 0;
  std::string in;  // what has arrived of its response
  SteadyClock::time_point t0;
  bool busy = false;  // a request is in flight
};

int Connect(sockaddr_in addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int yes = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// The length of a chunked body that starts at `at` in `in`, through its
// last chunk and the empty trailer: 0 while incomplete, -1 if malformed.
long ChunkedLength(const std::string& in, size_t at) {
  size_t pos = at;
  for (;;) {
    const size_t line_end = in.find("\r\n", pos);
    if (line_end == std::string::npos) return 0;
    char* end = nullptr;
    const unsigned long size = std::strtoul(in.c_str() + pos, &end, 16);
    if (end == in.c_str() + pos) return -1;
    if (size == 0) {
      // Trailer fields, none expected, then an empty line.
      const size_t trailer_end = in.compare(line_end, 4, "\r\n\r\n") == 0
                                     ? line_end
                                     : in.find("\r\n\r\n", line_end);
      if (trailer_end == std::string::npos) return 0;
      return static_cast<long>(trailer_end + 4 - at);
    }
    if (size > in.size()) return 0;
    pos = line_end + 2 + size + 2;  // the data and its CRLF
    if (in.size() < pos) return 0;
    if (in.compare(pos - 2, 2, "\r\n") != 0) return -1;
  }
}

// How a response in `in` stands: incomplete (0), complete (its length in
// bytes), or unparseable (-1). Sets `status` and `close` when complete.
long ResponseLength(const std::string& in, int* status, bool* close_after) {
  const size_t head_end = in.find("\r\n\r\n");
  if (head_end == std::string::npos) return in.size() > 65536 ? -1 : 0;
  if (in.compare(0, 9, "HTTP/1.1 ") != 0) return -1;
  *status = std::atoi(in.c_str() + 9);
  std::string head = in.substr(0, head_end);
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  *close_after = head.find("\r\nconnection: close") != std::string::npos;
  const size_t cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) {
    // tillit's routes never chunk; another server (--target) may.
    if (head.find("\r\ntransfer-encoding: chunked") == std::string::npos) {
      return -1;
    }
    const long body = ChunkedLength(in, head_end + 4);
    return body > 0 ? static_cast<long>(head_end + 4) + body : body;
  }
  const long body = std::atol(head.c_str() + cl + 17);
  const size_t total = head_end + 4 + static_cast<size_t>(body);
  return in.size() >= total ? static_cast<long>(total) : 0;
}

// Drives `connections` keep-alive connections from one thread with epoll
// for cfg.seconds. One thread keeps the load generator's share of the 2
// cores small and its latency its own.
// Closed loop (rate 0, as wrk does): each connection sends its next
// request as soon as the last answer arrived, so the server is always
// saturated and latency is mostly queueing (64 / throughput on average).
// Fixed rate (as wrk2 does): request k is due at start + k / rate and goes
// out on the next idle connection; its latency counts from when it was
// due, so time spent waiting for a connection is not hidden.
Result Drive(const Setup& setup, const Config& cfg,
             const std::vector<sockaddr_in>& servers, Kind kind) {
  Result r;
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(cfg.connections));
  std::mt19937_64 rng(static_cast<uint64_t>(kind) * 7919 + 1);
  uint64_t n = 0;
  uint64_t reported = 0;
  auto fail = [&](const std::string& why) {
    ++r.errors;
    if (++reported <= 3) std::fprintf(stderr, "error: %s\n", why.c_str());
  };
  auto open = [&](size_t i) {
    Conn& c = conns[i];
    c.fd = Connect(servers[i % servers.size()]);
    if (c.fd < 0) return false;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
    return true;
  };
  auto reopen = [&](size_t i) {
    epoll_ctl(ep, EPOLL_CTL_DEL, conns[i].fd, nullptr);
    close(conns[i].fd);
    conns[i].busy = false;
    return open(i);
  };
  auto send_next = [&](size_t i, SteadyClock::time_point due) {
    Conn& c = conns[i];
    c.out = NextRequest(setup, kind, rng, n++);
    c.sent = 0;
    c.in.clear();
    c.busy = true;
    c.t0 = due;
  };
  // Fixed rate: connections free to send, oldest first, so that every
  // connection stays in use (one left idle would meet the server's
  // keep-alive timeout).
  std::deque<size_t> idle;
  for (size_t i = 0; i < conns.size(); ++i) {
    if (!open(i)) {
      std::fprintf(stderr, "http_bench: cannot connect\n");
      std::exit(1);
    }
  }
  const auto start = SteadyClock::now();
  // The warm-up opens the citizens' vaults (a key derivation each) and
  // fills the caches; requests started in it are driven but not counted.
  const auto counted_from = start + std::chrono::seconds(cfg.warmup);
  const auto stop_at = counted_from + std::chrono::seconds(cfg.seconds);
  // After the deadline no new request starts; those in flight may finish.
  const auto give_up_at = stop_at + std::chrono::seconds(30);
  bool stopping = false;
  char buf[65536];
  // Sends what is left of a connection's request, takes in what has
  // arrived, and when its answer is complete starts the next request
  // (edge-triggered: everything is drained until the kernel says EAGAIN).
  auto pump = [&](size_t i) {
    for (;;) {
      Conn& c = conns[i];
      if (!c.busy) return;
      bool broken = false;
      while (c.sent < c.out.size()) {
        const ssize_t w = send(c.fd, c.out.data() + c.sent,
                               c.out.size() - c.sent, MSG_NOSIGNAL);
        if (w > 0) {
          c.sent += static_cast<size_t>(w);
        } else {
          broken = errno != EAGAIN;
          break;
        }
      }
      for (;;) {
        const ssize_t got = recv(c.fd, buf, sizeof buf, 0);
        if (got > 0) {
          c.in.append(buf, static_cast<size_t>(got));
          continue;
        }
        if (got == 0 || errno != EAGAIN) broken = true;
        break;
      }
      int status = 0;
      bool close_after = false;
      const long len = ResponseLength(c.in, &status, &close_after);
      if (len > 0) {
        const double ms =
            std::chrono::duration<double, std::milli>(SteadyClock::now() - c.t0)
                .count();
        if (status >= 200 && status < 300) {
          if (c.t0 >= counted_from) {
            ++r.ok;
            r.latencies_ms.push_back(ms);
          }
        } else {
          fail(std::to_string(status) + " " +
               c.in.substr(c.in.find("\r\n\r\n") + 4, 200));
        }
        c.busy = false;
        if ((close_after || broken) && !reopen(i)) std::exit(1);
      } else if (len < 0 || broken) {
        fail(len < 0 ? "unparseable response"
                     : "the server closed the connection");
        if (!reopen(i)) std::exit(1);
      } else {
        return;  // wait for more
      }
      if (stopping) return;
      if (cfg.rate > 0) {
        idle.push_back(i);
        return;
      }
      send_next(i, SteadyClock::now());
    }
  };
  const auto interval =
      std::chrono::nanoseconds(cfg.rate > 0 ? 1000000000LL / cfg.rate : 0);
  auto due = start;
  for (size_t i = 0; i < conns.size(); ++i) {
    if (cfg.rate > 0) {
      idle.push_back(i);
    } else {
      send_next(i, SteadyClock::now());
      pump(i);
    }
  }
  std::vector<epoll_event> events(conns.size());
  for (;;) {
    const auto now = SteadyClock::now();
    if (!stopping && now >= stop_at) stopping = true;
    // Fixed rate: send every request that is due, while connections are
    // free; the rest wait (and their wait counts in their latency).
    while (cfg.rate > 0 && !stopping && due <= now && !idle.empty()) {
      const size_t i = idle.front();
      idle.pop_front();
      send_next(i, due);
      due += interval;
      pump(i);
    }
    if (stopping) {
      bool any = false;
      for (const Conn& c : conns) any = any || c.busy;
      if (!any) break;
      if (now >= give_up_at) {
        for (const Conn& c : conns) {
          if (c.busy) fail("no answer within 30 s");
        }
        break;
      }
    }
    const int k = epoll_wait(ep, events.data(), static_cast<int>(events.size()),
                             cfg.rate > 0 ? 1 : 100);
    for (int e = 0; e < k; ++e) pump(events[static_cast<size_t>(e)].data.u64);
  }
  r.seconds =
      std::chrono::duration<double>(SteadyClock::now() - counted_from).count();
  for (Conn& c : conns) close(c.fd);
  close(ep);
  return r;
}

bool ParseInt(const char* s, int lo, int hi, int* out) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return false;
  *out = static_cast<int>(v);
  return true;
}

// --target: http://HOST[:PORT][/], HOST an IPv4 address in 127.0.0.0/8 or
// "localhost" (a load test stays on this machine). Sets the address and
// the Host header's value (HOST[:PORT] as given).
bool ParseTarget(const std::string& url, sockaddr_in* addr,
                 std::string* authority) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) return false;
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return false;
  const size_t colon = rest.find(':');
  std::string host = rest.substr(0, colon);
  int port = 80;
  if (colon != std::string::npos &&
      !ParseInt(rest.c_str() + colon + 1, 1, 65535, &port)) {
    return false;
  }
  *addr = sockaddr_in{};
  addr->sin_family = AF_INET;
  addr->sin_port = htons(static_cast<uint16_t>(port));
  if (host == "localhost") {
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else if (inet_pton(AF_INET, host.c_str(), &addr->sin_addr) != 1 ||
             (ntohl(addr->sin_addr.s_addr) >> 24) != 127) {
    return false;
  }
  *authority = rest;
  return true;
}

// A plain GET of `path`: Host, no other header (HTTP/1.1 keeps the
// connection open).
std::string GetRequest(const std::string& path, const std::string& host) {
  return "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
}

// --paths: one request path a line ("/..."; blank lines and lines starting
// with '#' skipped), each made into a plain GET. Exits on a bad file.
std::vector<std::string> ReadGets(const std::string& file,
                                  const std::string& authority) {
  std::ifstream in(file);
  if (!in) {
    std::fprintf(stderr, "http_bench: cannot read %s\n", file.c_str());
    std::exit(2);
  }
  std::vector<std::string> gets;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const bool printable =
        std::all_of(line.begin(), line.end(),
                    [](unsigned char c) { return c > ' ' && c < 0x7f; });
    if (line[0] != '/' || !printable) {
      std::fprintf(stderr,
                   "http_bench: %s:%d: not a request path (\"/...\", no "
                   "spaces)\n",
                   file.c_str(), number);
      std::exit(2);
    }
    gets.push_back(GetRequest(line, authority));
  }
  if (gets.empty()) {
    std::fprintf(stderr, "http_bench: %s has no paths\n", file.c_str());
    std::exit(2);
  }
  return gets;
}

void PrintHeader() {
  std::printf("%-10s %10s %9s %9s %9s %9s %8s\n", "scenario", "requests",
              "req/s", "p50 ms", "p99 ms", "p99.9 ms", "errors");
}

void PrintRate(const Config& cfg) {
  if (cfg.rate > 0) {
    std::printf(
        "fixed rate: %d requests/s offered; latency from when each "
        "was due\n",
        cfg.rate);
  } else {
    std::printf("closed loop: each connection sends again on its answer\n");
  }
}

// Runs one scenario and prints its line; returns its error count.
uint64_t RunScenario(const Setup& setup, const Config& cfg,
                     const std::vector<sockaddr_in>& servers, const char* name,
                     Kind kind) {
  Result r = Drive(setup, cfg, servers, kind);
  std::printf("%-10s %10llu %9.0f %9.2f %9.2f %9.2f %8llu\n", name,
              static_cast<unsigned long long>(r.ok), r.ok / r.seconds,
              Percentile(r.latencies_ms, 50), Percentile(r.latencies_ms, 99),
              Percentile(r.latencies_ms, 99.9),
              static_cast<unsigned long long>(r.errors));
  std::fflush(stdout);
  return r.errors;
}

// --target: the same load generator against a server already running.
int DriveExternal(const Config& cfg) {
  sockaddr_in server{};
  std::string authority;
  if (!ParseTarget(cfg.target, &server, &authority)) {
    std::fprintf(stderr,
                 "http_bench: --target takes http://HOST[:PORT], HOST in "
                 "127.0.0.0/8 or localhost\n");
    return 2;
  }
  Setup setup;
  setup.gets = ReadGets(cfg.paths, authority);
  std::printf(
      "target %s: %zu paths GET round-robin, %d connections, %d s after "
      "%d s not counted\n",
      cfg.target.c_str(), setup.gets.size(), cfg.connections, cfg.seconds,
      cfg.warmup);
  PrintRate(cfg);
  PrintHeader();
  return RunScenario(setup, cfg, {server}, "get", Kind::kGet) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&](int lo, int hi, int* out) {
      if (i + 1 >= argc || !ParseInt(argv[++i], lo, hi, out)) {
        std::fprintf(stderr, "http_bench: %s takes a number %d..%d\n",
                     a.c_str(), lo, hi);
        std::exit(2);
      }
    };
    if (a == "--citizens")
      next(1, 100000, &cfg.citizens);
    else if (a == "--connections")
      next(1, 1024, &cfg.connections);
    else if (a == "--seconds")
      next(1, 3600, &cfg.seconds);
    else if (a == "--threads")
      next(1, 4096, &cfg.threads);
    else if (a == "--rate")
      next(1, 1000000, &cfg.rate);
    else if (a == "--warmup")
      next(0, 3600, &cfg.warmup);
    else if (a == "--nodes")
      next(1, 16, &cfg.nodes);
    else if (a == "--pg")
      cfg.pg = true;
    else if (a == "--target" && i + 1 < argc)
      cfg.target = argv[++i];
    else if (a == "--paths" && i + 1 < argc)
      cfg.paths = argv[++i];
    else if (a == "--only" && i + 1 < argc &&
             (std::string(argv[i + 1]) == "read-one" ||
              std::string(argv[i + 1]) == "list" ||
              std::string(argv[i + 1]) == "write"))
      cfg.only = argv[++i];
    else if (a == "--help") {
      std::printf(
          "usage: http_bench [--citizens N] [--connections C] "
          "[--seconds S] [--threads T]\n"
          "                  [--only read-one|list|write] "
          "[--rate R] [--warmup S]\n"
          "                  [--pg [--nodes N]]\n"
          "  --pg: the vault in a private PostgreSQL server (durable), "
          "served by N\n"
          "  nodes (default 1) with connections spread over them\n"
          "       http_bench --target http://127.0.0.1:PORT --paths FILE\n"
          "                  [--connections C] [--seconds S] [--rate R] "
          "[--warmup S]\n"
          "  --target: GET each path of FILE (one a line) round-robin from "
          "a server\n"
          "  already listening on loopback, instead of building a vault and "
          "serving it\n");
      return 0;
    } else {
      std::fprintf(stderr, "http_bench: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  if (cfg.target.empty() != cfg.paths.empty()) {
    std::fprintf(stderr, "http_bench: --target and --paths go together\n");
    return 2;
  }
  if (cfg.nodes > 1 && !cfg.pg) {
    std::fprintf(stderr,
                 "http_bench: --nodes needs --pg (one data directory "
                 "has one server)\n");
    return 2;
  }
  if (!cfg.target.empty()) {
    if (!cfg.only.empty() || cfg.citizens != Config{}.citizens ||
        cfg.threads != Config{}.threads || cfg.pg) {
      std::fprintf(stderr,
                   "http_bench: --only, --citizens, --threads and --pg are "
                   "for tillit's own server, not --target\n");
      return 2;
    }
    return DriveExternal(cfg);
  }
  if (!crypto::InitCrypto().ok()) return 1;
  std::unique_ptr<testing::PgCluster> pg;
  std::string conninfo;
  if (cfg.pg) {
    std::fprintf(stderr, "starting PostgreSQL...\n");
    auto started = testing::PgCluster::Start(/*durable=*/true);
    if (!started.ok()) Die("postgresql", started.status());
    pg = std::move(started).value();
    Status made = pg->CreateDatabase("tillit");
    if (!made.ok()) Die("database", made);
    conninfo = pg->ConnInfo("tillit");
  }
  std::fprintf(stderr, "building %d citizens...\n", cfg.citizens);
  Setup setup = Build(cfg, conninfo);
  std::vector<pid_t> children;
  std::vector<sockaddr_in> servers;
  std::string ports;
  for (int node = 0; node < cfg.nodes; ++node) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    const pid_t child = fork();
    if (child == 0) {
      close(fds[0]);
      Serve(setup, cfg, node, fds[1]);
    }
    close(fds[1]);
    int port = 0;
    if (read(fds[0], &port, sizeof port) != sizeof port) {
      std::fprintf(stderr, "http_bench: server %d did not start\n", node + 1);
      for (pid_t c : children) kill(c, SIGTERM);
      return 1;
    }
    close(fds[0]);
    children.push_back(child);
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(static_cast<uint16_t>(port));
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    servers.push_back(server);
    ports += (ports.empty() ? "" : ",") + std::to_string(port);
  }
  std::printf(
      "%s; %d server%s on port%s %s; %d citizens, %d connections, %d s "
      "per scenario after %d s not counted, %d threads per server\n",
      cfg.pg ? "PostgreSQL (durable)" : "data directory", cfg.nodes,
      cfg.nodes == 1 ? "" : "s", cfg.nodes == 1 ? "" : "s", ports.c_str(),
      cfg.citizens, cfg.connections, cfg.seconds, cfg.warmup, cfg.threads);
  PrintRate(cfg);
  PrintHeader();
  uint64_t errors = 0;
  for (auto [name, kind] :
       {std::pair{"read-one", Kind::kReadOne}, std::pair{"list", Kind::kList},
        std::pair{"write", Kind::kWrite}}) {
    if (!cfg.only.empty() && cfg.only != name) continue;
    errors += RunScenario(setup, cfg, servers, name, kind);
  }
  bool clean = true;
  for (pid_t child : children) kill(child, SIGTERM);
  for (pid_t child : children) {
    int status = 0;
    waitpid(child, &status, 0);
    clean = clean && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  if (cfg.pg) {
    // What a deployment sizes its database by: the citizens' stores per
    // record and the audit log per entry (tables, indexes and TOAST).
    auto conn = pgstore::Connection::Open(conninfo);
    if (!conn.ok()) Die("size", conn.status());
    auto size = (*conn)->Exec(
        "SELECT pg_database_size(current_database()), "
        "(SELECT count(*) FROM store_records), "
        "(SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY["
        "'store_heads', 'store_records', 'store_versions', "
        "'store_documents', 'store_index_rows']::regclass[]) AS t)::bigint, "
        "(SELECT coalesce(sum(count), 0) FROM audit_rows)::bigint, "
        "(SELECT sum(pg_total_relation_size(t)) FROM unnest(ARRAY["
        "'audit_rows', 'audit_listing', 'audit_checkpoints']::regclass[]) "
        "AS t)::bigint");
    if (!size.ok()) Die("size", size.status());
    int64_t v[5] = {};
    for (int col = 0; col < 5; ++col) {
      auto got = size->Int64(0, col);
      if (!got.ok()) Die("size", got.status());
      v[col] = *got;
    }
    auto per = [](int64_t bytes, int64_t n) {
      return n > 0 ? static_cast<double>(bytes) / static_cast<double>(n) : 0.0;
    };
    std::printf(
        "database: %.1f MB; citizens' stores %.1f MB for %lld records "
        "(%.0f bytes a record); audit log %.1f MB for %lld entries (%.0f "
        "bytes an entry)\n",
        static_cast<double>(v[0]) / 1e6, static_cast<double>(v[2]) / 1e6,
        static_cast<long long>(v[1]), per(v[2], v[1]),
        static_cast<double>(v[4]) / 1e6, static_cast<long long>(v[3]),
        per(v[4], v[3]));
  }
  std::filesystem::remove_all(setup.dir);
  return errors == 0 && clean ? 0 : 1;
}
