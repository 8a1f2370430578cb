#include "tillit/cli/cli.h"

#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "src/args.h"
#include "tillit/api/principals.h"
#include "tillit/api/server.h"
#include "tillit/audit/audit_log.h"
#include "tillit/audit_remote/remote.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"
#include "tillit/research/sealed.h"
#include "tillit/storage/files.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/vault/vault.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kOk = 0;
constexpr int kFailed = 1;
constexpr int kUsage = 2;
constexpr size_t kMaxPassphrase = 4096;

constexpr const char* kVersion = "tillit 0.1.0";

constexpr const char* kMainHelp =
    R"(tillit — a citizen-controlled health data vault

Usage: tillit <verb> [options]

Verbs:
  init                 create a data directory with a new root key
  import FILE|DIR...   import FHIR R4 bundles, resources or NDJSON
  citizen add          create an empty citizen
  citizen list         list citizens with record counts
  citizen verify [ID]  read every page of citizen stores (integrity check)
  citizen erase ID     crypto-shred a citizen (irreversible)
  audit verify         check the tamper-evident audit log end to end
  audit checkpoint     sign and print the current audit tree head
  keys rotate          rotate the root key, or one citizen's data key
  keygen               make an X25519 key pair for receiving releases
  decrypt FILE         open a research release sealed to your key
  serve                serve the HTTP API until SIGTERM or SIGINT
  researcher add       register a researcher and print their token
  provider add         register a care provider and print their token
  auditor add          register an auditor and print their token
  token revoke         revoke a token, or every token of a principal
  demo                 build a demo vault of synthetic citizens and serve it

Common options:
  --data DIR           data directory (default $TILLIT_DATA or ./tillit-data)
  --key-file FILE      root key file (default $TILLIT_KEY_FILE or DIR/root.key)
  --passphrase-stdin   the root key is sealed under a passphrase read from
                       the first line of standard input
  --json               machine-readable output
  --help               help for a verb, e.g. `tillit import --help`
  --version            print the version

Exit status: 0 on success, 1 when the operation failed, 2 for bad usage.
)";

const std::map<std::string, std::string>& VerbHelp() {
  static const auto* help = new std::map<std::string, std::string>{
      {"init",
       R"(Usage: tillit init [--data DIR] [--key-file FILE] [--passphrase-stdin] [--json]

Creates a data directory (mode 0700) holding a new vault: a random 256-bit
root key in DIR/root.key (mode 0600) or, with --passphrase-stdin, sealed
under the passphrase with Argon2id in DIR/root.sealed; an encrypted
registry; and a first operator (admin) token, printed once.

--json prints {"admin_token": "...", "data_dir": "..."}.
Refuses to touch a directory that already holds a vault or a key file.
)"},
      {"import",
       R"(Usage: tillit import [--data DIR] [--citizen ID] [--json] FILE|DIR...

Imports FHIR R4 JSON: transaction, batch and collection Bundles (urn:uuid:
references are resolved), single resources, and NDJSON (files ending in
.ndjson or .jsonl). A directory imports every *.json, *.ndjson and *.jsonl
file in it. Each file is all or nothing; a bad file is reported and the
others are still imported. The document's Patient names the citizen, who
is created when new; --citizen ID imports into an existing citizen instead
(needed for documents without a Patient).

--json prints {"citizens": [{"citizen_id", "source_patient", "imported",
"by_type"}], "rejected": [{"file", "error"}]}.
Exit status 1 if any file was rejected.
)"},
      {"citizen", R"(Usage:
  tillit citizen add [--data DIR] [--json]
  tillit citizen list [--data DIR] [--json]
  tillit citizen verify [--data DIR] [--json] [ID...]
  tillit citizen erase [--data DIR] --yes ID

add     creates an empty citizen and prints its id and a one-time
        enrollment code (valid 72 hours) that the citizen exchanges for a
        token at POST /v1/enroll; --json prints {"citizen_id",
        "enrollment_code", "expires"}.
list    prints each citizen with record counts; --json prints
        [{"citizen_id", "records", "by_category", "by_type"}].
verify  opens each citizen store (key, rollback check) and reads every page
        (per-page HMAC and structure); all citizens when no ID is given.
erase   destroys the citizen's wrapped data key, rotates the root key so
        older copies of the registry cannot unwrap it, then deletes the
        file. Irreversible; --yes is required.
)"},
      {"keys", R"(Usage: tillit keys rotate [--data DIR] [--citizen ID] [--json]

Without --citizen: adds a new root-key version, rewraps the master secret
and every citizen's data key under it, then forgets the old version.
Citizen files are not rewritten. Keep a backup of the new key file.
With --citizen ID: re-encrypts that citizen's store under a new data key.
)"},
      {"audit", R"(Usage:
  tillit audit verify [--data DIR] [--checkpoint FILE] [--json]
  tillit audit verify --url URL --token T [--key VKEY] [--checkpoint FILE] [--json]
  tillit audit checkpoint [--data DIR]
  tillit audit list [--data DIR] [--citizen ID] [--actor ID] [--limit N] [--json]
  tillit audit public-key [--data DIR]

verify      recomputes the Merkle tree (RFC 6962) from every stored entry,
            checks that indexes are contiguous and every leaf hash, every
            stored checkpoint's Ed25519 signature, its root, and the
            consistency proof between successive checkpoints. With
            --checkpoint FILE it also checks the log against a signed note
            saved earlier (a fork or rollback fails). With --url it fetches
            the entries, the latest checkpoint and the key from a server
            (--key pins the verifier key, as printed by `audit public-key`)
            and checks the same. Exit 0 only when all holds; otherwise
            prints the first bad index.
checkpoint  signs the current tree head and prints the C2SP signed note
            (save it to verify against later).
list        entries, newest first, optionally about one citizen or actor.
public-key  the checkpoint verifier key (C2SP note format).
)"},
      {"keygen", R"(Usage: tillit keygen --out PREFIX

Writes an X25519 key pair for receiving research releases:
PREFIX.pub (base64 public key, one line) and PREFIX.key (base64 secret key,
mode 0600). Refuses to overwrite existing files.
)"},
      {"decrypt",
       R"(Usage: tillit decrypt --key PREFIX.key --out DIR [--json] RELEASE_FILE

Opens a research release sealed to your X25519 key (the PREFIX.key written
by `tillit keygen`, mode 0600) and writes its members (one NDJSON file per
resource type and manifest.json) into DIR, which is created if missing and
must not already hold a file of a member's name. The members are assembled
in a temporary directory beside DIR and moved in only once the whole file
has been authenticated: a file that is altered or truncated anywhere, has
data appended, is sealed to another key or is not a release is refused,
and then nothing is written.

--json prints {"out": DIR, "members": [{"name": "...", "bytes": N}]}.
Exit status 1 when the file is refused (the message says why).
)"},
      {"demo",
       R"(Usage: tillit demo [--data DIR] [--citizens N] [--seed S]
                   [--listen HOST:PORT] [--no-serve] [--quiet] [--json]

Builds a demo vault in DIR (default ./tillit-demo) from N generated
synthetic citizens (default 20, at most 5000) with seed S (default 2026),
registers a demo researcher (with an X25519 key pair written to
DIR/demo-researcher.key and .pub, for `tillit decrypt`; demo keys only),
a study, a provider ("Demo Hospital") and an auditor, records consent
decisions for the new citizens (research grants, study grants, provider
grants, some research opt-outs), and prints what was stored and the
study's cohort size from the consent index. Creates the vault when it does
not exist; running it again re-imports the same data, which changes
nothing.

Every run issues fresh tokens, valid 7 days and shown only then: admin,
one citizen (among those who granted any provider), provider, researcher
and auditor. Then, unless --no-serve, it serves the HTTP API like
`tillit serve` on --listen (default 127.0.0.1:8080; port 0 = any free
port) and prints the URL, `curl` lines to try and three bash lines that
make a research release of the study, download it and open it with
`tillit decrypt` and the demo key, and four that pair a phone with the
mobile bridge's reference app (build/mobile-bridge/tillit-app) using a
one-time enrollment code for the citizen, queue a reading, sync it and
verify the access log, until SIGTERM or Ctrl-C. --quiet logs only errors.
--json prints one object with "url", "tokens", the ids, "curl",
"release", "enrollment_code", "phone" and what was stored, then serves.
)"},
      {"serve",
       R"(Usage: tillit serve [--data DIR] [--listen HOST:PORT]
                    [--tls-cert FILE --tls-key FILE] [--threads N]
                    [--max-body BYTES] [--cache N] [--rate N] [--quiet]
                    [--key-file FILE] [--passphrase-stdin]

Serves the HTTP API (SPEC section 7) on HOST:PORT (default 127.0.0.1:8443;
port 0 picks any free port; IPv6 hosts in brackets, [::1]:8443). Prints
one line `listening on <url>` once it accepts connections, and serves until
SIGTERM or SIGINT; then it stops accepting, finishes the requests in
flight, prints `stopped` and exits 0.

--tls-cert, --tls-key  PEM certificate and key; both or neither (HTTPS)
--threads N            worker threads, 1 to 4096 (default 64)
--max-body BYTES       largest import or push body (default 67108864)
--cache N              citizen stores kept open, 1 to 100000 (default 256)
--rate N               requests per second per principal, burst 2N;
                       0 = unlimited (default 1000)
--quiet                log only errors (default: one line per request on
                       standard error; never bodies, tokens or health data)

Exit status 1 when the vault cannot be opened, the TLS files are unusable
or the address cannot be bound.
)"},
      {"researcher",
       R"(Usage: tillit researcher add --name NAME --organization ORG
                             --org-type TYPE --country CC
                             --public-key FILE.pub [--data DIR] [--json]

Registers a researcher and prints their id and a token (valid 365 days,
shown only now). TYPE is academic, non-profit, public or commercial; CC an
ISO 3166-1 alpha-2 code such as SE; FILE.pub the researcher's X25519
public key as written by `tillit keygen` (research releases are sealed to
it). --json prints {"researcher_id", "token", "expires"}.
)"},
      {"provider",
       R"(Usage: tillit provider add --name NAME [--organization ORG]
                           [--data DIR] [--json]

Registers a care provider and prints their id and a token (valid 365 days,
shown only now). --json prints {"provider_id", "token", "expires"}.
)"},
      {"auditor",
       R"(Usage: tillit auditor add --name NAME [--organization ORG]
                          [--data DIR] [--json]

Registers an auditor (reads the audit log over HTTP) and prints their id
and a token (valid 365 days, shown only now). --json prints
{"auditor_id", "token", "expires"}.
)"},
      {"token",
       R"(Usage:
  tillit token revoke --stdin [--data DIR] [--json]
  tillit token revoke --principal ID [--data DIR] [--json]

--stdin         revokes the token read from the first line of standard
                input (a token is never an argument: it would be kept in
                shell history and shown by ps). With --passphrase-stdin the
                passphrase is the first line and the token the second.
--principal ID  revokes every live token of c_..., p_..., r_..., a_... or
                operator, and prints how many.

Takes effect at once, also for a server running on the same data.
Exit status 1 for a token that was never issued or is already revoked.
--json prints {"revoked": N}.
)"},
  };
  return *help;
}

struct Io {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  bool terminal;  // progress lines only on a terminal
};

int Usage(Io& io, const std::string& verb, const std::string& problem) {
  io.err << "tillit " << verb << ": " << problem << "\n";
  io.err << "Run `tillit " << verb << " --help` for usage.\n";
  return kUsage;
}

int Fail(Io& io, const std::string& verb, const Status& s) {
  io.err << "tillit " << verb << ": " << s.message() << "\n";
  return kFailed;
}

Args& CommonOptions(Args& a) {
  return a.Option("data")
      .Option("key-file")
      .Flag("passphrase-stdin")
      .Flag("json")
      .Flag("help");
}

std::string DataDir(const Args& a,
                    const std::string& fallback = "./tillit-data") {
  if (auto d = a.Get("data")) return *d;
  if (const char* env = std::getenv("TILLIT_DATA"); env && *env) return env;
  return fallback;
}

// Reads the first line of `in` into secure memory.
StatusOr<crypto::SecretBytes> ReadPassphrase(std::istream& in) {
  crypto::SecretBytes buf = crypto::SecretBytes::Allocate(kMaxPassphrase);
  size_t n = 0;
  for (;;) {
    int c = in.get();
    if (c == EOF || c == '\n') break;
    if (n == kMaxPassphrase) {
      return Status::InvalidArgument("passphrase longer than 4096 bytes");
    }
    buf.ExposeSecret()[n++] = static_cast<uint8_t>(c);
  }
  if (n > 0 && buf.ExposeSecret()[n - 1] == '\r') --n;
  if (n == 0)
    return Status::InvalidArgument("empty passphrase on standard input");
  return crypto::SecretBytes::CopyFrom(
      std::span<const uint8_t>(buf.ExposeSecret(), n));
}

// Holds what VaultOptions points to.
struct VaultSetup {
  vault::VaultOptions options;
  std::optional<crypto::SecretBytes> passphrase;
};

StatusOr<VaultSetup> MakeSetup(
    const Args& a, Io& io, const std::string& fallback_dir = "./tillit-data") {
  VaultSetup s;
  s.options.data_dir = DataDir(a, fallback_dir);
  if (auto k = a.Get("key-file")) {
    s.options.key_path = *k;
  } else if (const char* env = std::getenv("TILLIT_KEY_FILE"); env && *env) {
    s.options.key_path = env;
  }
  if (a.Has("passphrase-stdin")) {
    TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes p, ReadPassphrase(io.in));
    s.passphrase = std::move(p);
  }
  return s;
}

StatusOr<std::unique_ptr<vault::Vault>> OpenVault(VaultSetup& s) {
  s.options.passphrase = s.passphrase ? &*s.passphrase : nullptr;
  return vault::Vault::Open(s.options);
}

json CountsJson(const std::map<std::string, int64_t>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

json CountsJson(const std::map<std::string, size_t>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// A one-line progress display on a terminal.
class Progress {
 public:
  explicit Progress(Io& io) : io_(io) {}
  void Show(const std::string& line) {
    if (!io_.terminal) return;
    auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    io_.err << "\r\033[K" << line << std::flush;
    shown_ = true;
  }
  void Done() {
    if (shown_) io_.err << "\r\033[K" << std::flush;
  }

 private:
  Io& io_;
  std::chrono::steady_clock::time_point last_{};
  bool shown_ = false;
};

// An audit entry for something the operator did on this machine.
audit::AuditEntry OperatorEntry(std::string_view action,
                                const std::string& citizen_id) {
  audit::AuditEntry e;
  e.time = Clock::System().NowSeconds();
  e.actor_kind = "operator";
  e.actor_id = "operator";
  e.action = std::string(action);
  e.citizen_id = citizen_id;
  e.decision = "none";
  e.request_id = "cli-" + crypto::Random::System().Hex(8);
  return e;
}

// Creates a new vault's audit log with a signed checkpoint of the empty
// tree, so that a log deleted later fails verification instead of looking
// empty.
Status StartAuditLog(vault::Vault& vault) {
  TILLIT_ASSIGN_OR_RETURN(auto log, audit::AuditLog::OpenInDirectory(vault.data_dir(), vault));
  return log->SignedCheckpoint().status();
}

// Appends operator entries to the audit log and signs a checkpoint, as
// every verb that changes the vault does.
Status AuditOperator(vault::Vault& vault,
                     const std::vector<audit::AuditEntry>& entries) {
  TILLIT_ASSIGN_OR_RETURN(auto log, audit::AuditLog::OpenInDirectory(vault.data_dir(), vault));
  for (const audit::AuditEntry& e : entries) {
    TILLIT_RETURN_IF_ERROR(log->Append(e).status());
  }
  return log->SignedCheckpoint().status();
}

// A decimal number from `min` to `max`; `fallback` when absent.
std::optional<uint64_t> ParseNumber(const std::optional<std::string>& s,
                                    uint64_t fallback, uint64_t min,
                                    uint64_t max) {
  if (!s) return fallback;
  if (s->empty() || s->size() > 19 ||
      s->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const uint64_t v = std::stoull(*s);
  if (v < min || v > max) return std::nullopt;
  return v;
}

// HOST:PORT, with an IPv6 host in brackets; port 0..65535.
Status ParseListen(const std::string& text, std::string* host, int* port) {
  const Status bad = Status::InvalidArgument(
      "--listen takes HOST:PORT with a port from 0 to 65535, e.g. "
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

// The server options of `serve` and `demo` from their flags (the ones a
// verb did not declare are absent). InvalidArgument for a usage error.
Status ServerFlags(const Args& a, const std::string& default_listen,
                   api::ServerOptions* o) {
  TILLIT_RETURN_IF_ERROR(ParseListen(a.Get("listen").value_or(default_listen),
                                     &o->host, &o->port));
  auto threads = ParseNumber(a.Get("threads"), o->threads, 1, 4096);
  if (!threads) return Status::InvalidArgument("--threads: 1 to 4096");
  o->threads = *threads;
  auto body = ParseNumber(a.Get("max-body"), o->max_body_bytes, 1024,
                          uint64_t{1} << 40);
  if (!body) return Status::InvalidArgument("--max-body: 1024 to 2^40 bytes");
  o->max_body_bytes = *body;
  auto cache = ParseNumber(a.Get("cache"), o->store_cache_size, 1, 100000);
  if (!cache) return Status::InvalidArgument("--cache: 1 to 100000");
  o->store_cache_size = *cache;
  if (auto r = a.Get("rate")) {
    auto rate = ParseNumber(r, 0, 0, 1000000);
    if (!rate) {
      return Status::InvalidArgument(
          "--rate: requests per second per principal, 0 (unlimited) to "
          "1000000");
    }
    o->rate_per_second = static_cast<double>(*rate);
    o->rate_burst = 2.0 * static_cast<double>(*rate);
  }
  const bool cert = a.Get("tls-cert").has_value();
  const bool key = a.Get("tls-key").has_value();
  if (cert != key)
    return Status::InvalidArgument("--tls-cert and --tls-key go together");
  if (cert) {
    o->tls_cert = *a.Get("tls-cert");
    o->tls_key = *a.Get("tls-key");
    if (o->tls_cert.empty() || o->tls_key.empty())
      return Status::InvalidArgument("--tls-cert and --tls-key name files");
  }
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

// Blocks SIGTERM and SIGINT in this thread first, so that the server's
// threads (which inherit the mask) never take them and ServeUntilSignal
// can wait for them; they stay blocked afterwards (the process is about to
// exit). A client that goes away must not kill the process: SIGPIPE is
// ignored.
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
  std::signal(SIGPIPE, SIG_IGN);
  TILLIT_ASSIGN_OR_RETURN(auto server, api::Server::Create(&vault, options));
  TILLIT_RETURN_IF_ERROR(server->Start());
  return server;
}

// Waits for SIGTERM or SIGINT, then stops the server (in-flight requests
// finish) and says so: `stopped` on standard output (standard error with
// --json, whose output is one object).
int ServeUntilSignal(Io& io, api::Server& server, bool json, bool quiet) {
  const sigset_t set = StopSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  if (!quiet) {
    io.err << "tillit: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
           << " received; finishing the requests in flight\n"
           << std::flush;
  }
  server.Stop();
  (json ? io.err : io.out) << "stopped\n" << std::flush;
  return kOk;
}

// A word bash reads back unchanged: as is when it is plain, otherwise in
// single quotes.
std::string ShellQuote(const std::string& word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "_-./:=@%+,") == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// ---------------------------------------------------------------- init

int CmdInit(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a);
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "init", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("init"), kOk;
  if (!a.positional().empty())
    return Usage(io, "init", "unexpected argument " + a.positional()[0]);
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "init", setup.status());
  setup->options.passphrase = setup->passphrase ? &*setup->passphrase : nullptr;
  auto created = vault::Vault::Init(setup->options);
  if (!created.ok()) return Fail(io, "init", created.status());
  if (Status s = StartAuditLog(*created->vault); !s.ok())
    return Fail(io, "init", s);
  const std::string dir =
      fs::absolute(setup->options.data_dir).lexically_normal().string();
  if (a.Has("json")) {
    io.out << json{{"admin_token", created->admin_token.token},
                   {"data_dir", dir}}
                  .dump()
           << "\n";
  } else {
    io.out << "Created a vault in " << dir << "\n"
           << (setup->passphrase
                   ? "Root key sealed under your passphrase (Argon2id).\n"
                   : "Root key: " +
                         setup->options.key_path.value_or(dir + "/root.key") +
                         " (mode 0600) — back it up and keep it apart from the "
                         "data.\n")
           << "Operator (admin) token, shown only this once:\n  "
           << created->admin_token.token << "\n";
  }
  return kOk;
}

// -------------------------------------------------------------- import

bool IsImportable(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".json" || ext == ".ndjson" || ext == ".jsonl";
}

int CmdImport(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("citizen");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "import", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("import"), kOk;
  if (a.positional().empty())
    return Usage(io, "import", "name at least one FILE or DIR");

  // Expand directories.
  std::vector<std::string> files;
  json rejected = json::array();
  for (const std::string& arg : a.positional()) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      std::vector<std::string> inside;
      for (const auto& e : fs::directory_iterator(arg, ec)) {
        if (e.is_regular_file() && IsImportable(e.path()))
          inside.push_back(e.path().string());
      }
      std::sort(inside.begin(), inside.end());
      if (inside.empty()) {
        rejected.push_back(
            {{"file", arg},
             {"error", "no .json, .ndjson or .jsonl files in directory"}});
      }
      files.insert(files.end(), inside.begin(), inside.end());
    } else {
      files.push_back(arg);
    }
  }

  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "import", setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, "import", v.status());
  auto log = audit::AuditLog::OpenInDirectory((*v)->data_dir(), **v);
  if (!log.ok()) return Fail(io, "import", log.status());

  std::vector<std::string> order;
  std::map<std::string, json> citizens;
  Progress progress(io);
  size_t bytes_total = 0, resources_total = 0;
  const auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    auto text =
        storage::ReadFileLimited(file, setup->options.limits.max_document_bytes);
    StatusOr<vault::ImportOutcome> outcome = text.status();
    if (text.ok()) {
      const std::string ext = fs::path(file).extension().string();
      const auto format = (ext == ".ndjson" || ext == ".jsonl")
                              ? vault::ImportFormat::kNdjson
                              : vault::ImportFormat::kJson;
      outcome = (*v)->Import(*text, format, a.Get("citizen"));
      bytes_total += text->size();
    }
    if (!outcome.ok()) {
      rejected.push_back(
          {{"file", file}, {"error", outcome.status().message()}});
      if (!a.Has("json")) {
        progress.Done();
        io.err << "rejected " << file << ": " << outcome.status().message()
               << "\n";
      }
    } else {
      if (outcome->written > 0) {
        auto logged = (*log)->Append(
            OperatorEntry("records.import", outcome->citizen_id));
        if (!logged.ok()) return Fail(io, "import", logged.status());
      }
      resources_total += outcome->imported;
      auto [it, fresh] = citizens.try_emplace(outcome->citizen_id);
      json& c = it->second;
      if (fresh) {
        order.push_back(outcome->citizen_id);
        c = {{"citizen_id", outcome->citizen_id},
             {"source_patient", outcome->source_patient},
             {"imported", 0},
             {"by_type", json::object()}};
      }
      c["imported"] = c["imported"].get<size_t>() + outcome->imported;
      for (const auto& [type, n] : outcome->by_type) {
        c["by_type"][type] = c["by_type"].value(type, size_t{0}) + n;
      }
      if (!a.Has("json")) {
        progress.Done();
        io.out << file << " -> " << outcome->citizen_id
               << (outcome->created ? " (new)" : "") << ": "
               << outcome->imported << " resources, " << outcome->written
               << " new or changed\n";
      }
    }
    const double secs = std::chrono::duration<double>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    std::ostringstream line;
    line << "importing " << (i + 1) << "/" << files.size() << " files, "
         << bytes_total / (1024 * 1024) << " MiB, " << resources_total
         << " resources";
    if (secs > 0.5)
      line << ", " << static_cast<int>(bytes_total / secs / (1024 * 1024))
           << " MiB/s";
    progress.Show(line.str());
  }
  progress.Done();
  if (a.Has("json")) {
    json list = json::array();
    for (const auto& id : order) list.push_back(citizens[id]);
    io.out << json{{"citizens", list}, {"rejected", rejected}}.dump() << "\n";
  }
  if (auto note = (*log)->SignedCheckpoint(); !note.ok()) {
    return Fail(io, "import", note.status());
  }
  if (!a.Has("json")) {
    io.out << "imported " << resources_total << " resources for "
           << order.size() << " citizen(s); " << rejected.size()
           << " file(s) rejected\n";
  }
  return rejected.empty() ? kOk : kFailed;
}

// ------------------------------------------------------------- citizen

int CmdCitizen(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Flag("yes");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "citizen", s.message());
  if (a.Has("help") || a.positional().empty()) {
    if (!a.Has("help"))
      return Usage(io, "citizen",
                   "name a subcommand: add, list, verify or erase");
    return io.out << VerbHelp().at("citizen"), kOk;
  }
  const std::string sub = a.positional()[0];
  const std::vector<std::string> ids(a.positional().begin() + 1,
                                     a.positional().end());
  const std::string verb = "citizen " + sub;
  if (sub != "add" && sub != "list" && sub != "verify" && sub != "erase") {
    return Usage(io, "citizen", "unknown subcommand " + sub);
  }
  if ((sub == "add" || sub == "list") && !ids.empty()) {
    return Usage(io, verb, "unexpected argument " + ids[0]);
  }
  if (sub == "erase" && ids.size() != 1)
    return Usage(io, verb, "name exactly one citizen id");
  if (sub == "erase" && !a.Has("yes")) {
    return Usage(io, verb, "erasure is irreversible; add --yes to confirm");
  }
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, verb, setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;

  if (sub == "add") {
    auto created = api::CreateCitizenWithCode(
        vault, api::ServerOptions{}.enrollment_code_ttl);
    if (!created.ok()) return Fail(io, verb, created.status());
    if (Status s = AuditOperator(
            vault, {OperatorEntry("citizen.create", created->citizen_id)});
        !s.ok()) {
      return Fail(io, verb, s);
    }
    if (a.Has("json")) {
      io.out << json{{"citizen_id", created->citizen_id},
                     {"enrollment_code", created->enrollment_code.token},
                     {"expires", created->enrollment_code.expires_at}}
                    .dump()
             << "\n";
    } else {
      io.out << created->citizen_id << "\n"
             << "enrollment code (single use, valid 72 hours; the citizen "
                "exchanges it at POST /v1/enroll):\n  "
             << created->enrollment_code.token << "\n";
    }
    return kOk;
  }
  if (sub == "list") {
    auto list = vault.ListCitizenIds();
    if (!list.ok()) return Fail(io, verb, list.status());
    json out = json::array();
    for (const std::string& id : *list) {
      auto s = vault.Summarize(id);
      if (!s.ok()) return Fail(io, verb, s.status().WithContext(id));
      if (a.Has("json")) {
        out.push_back({{"citizen_id", id},
                       {"records", s->records},
                       {"by_category", CountsJson(s->by_category)},
                       {"by_type", CountsJson(s->by_type)}});
      } else {
        io.out << id << "  " << s->records << " records";
        for (const auto& [cat, n] : s->by_category)
          io.out << "  " << cat << "=" << n;
        io.out << "\n";
      }
    }
    if (a.Has("json"))
      io.out << out.dump() << "\n";
    else
      io.out << list->size() << " citizen(s)\n";
    return kOk;
  }
  if (sub == "verify") {
    std::vector<std::string> targets = ids;
    if (targets.empty()) {
      auto list = vault.ListCitizenIds();
      if (!list.ok()) return Fail(io, verb, list.status());
      targets = *list;
    }
    json results = json::array();
    int bad = 0;
    Progress progress(io);
    for (size_t i = 0; i < targets.size(); ++i) {
      progress.Show("verifying " + std::to_string(i + 1) + "/" +
                    std::to_string(targets.size()));
      Status s = vault.VerifyCitizen(targets[i]);
      if (!s.ok()) ++bad;
      if (a.Has("json")) {
        json r = {{"citizen_id", targets[i]}, {"ok", s.ok()}};
        if (!s.ok()) r["error"] = s.message();
        results.push_back(r);
      } else if (!s.ok()) {
        progress.Done();
        io.err << targets[i] << ": " << s.message() << "\n";
      }
    }
    progress.Done();
    if (a.Has("json")) {
      io.out << results.dump() << "\n";
    } else {
      io.out << targets.size() - bad << " of " << targets.size()
             << " citizen store(s) verified\n";
    }
    return bad == 0 ? kOk : kFailed;
  }
  // erase: logged first; no log entry, no erasure.
  auto log = audit::AuditLog::OpenInDirectory(vault.data_dir(), vault);
  if (!log.ok()) return Fail(io, verb, log.status());
  if (auto logged = (*log)->Append(OperatorEntry("citizen.erase", ids[0]));
      !logged.ok()) {
    return Fail(io, verb, logged.status());
  }
  Status s = vault.EraseCitizen(ids[0]);
  if (!s.ok()) return Fail(io, verb, s);
  if (auto note = (*log)->SignedCheckpoint(); !note.ok())
    return Fail(io, verb, note.status());
  if (a.Has("json")) {
    io.out << json{{"erased", ids[0]},
                   {"root_key_version", vault.root_key_version()}}
                  .dump()
           << "\n";
  } else {
    io.out << "erased " << ids[0] << "; root key rotated to version "
           << vault.root_key_version() << " (back up the new key file)\n";
  }
  return kOk;
}

// ---------------------------------------------------------------- keys

int CmdKeys(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("citizen");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "keys", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("keys"), kOk;
  if (a.positional().size() != 1 || a.positional()[0] != "rotate") {
    return Usage(io, "keys", "the only subcommand is `rotate`");
  }
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "keys rotate", setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, "keys rotate", v.status());
  if (auto citizen = a.Get("citizen")) {
    Status s = (*v)->RekeyCitizen(*citizen);
    if (!s.ok()) return Fail(io, "keys rotate", s);
    if (a.Has("json"))
      io.out << json{{"rekeyed", *citizen}}.dump() << "\n";
    else
      io.out << "re-encrypted " << *citizen << " under a new data key\n";
    return kOk;
  }
  Status s = (*v)->RotateRootKeys();
  if (!s.ok()) return Fail(io, "keys rotate", s);
  if (a.Has("json")) {
    io.out << json{{"root_key_version", (*v)->root_key_version()}}.dump()
           << "\n";
  } else {
    io.out << "root key rotated to version " << (*v)->root_key_version()
           << "; every data key rewrapped (back up the new key file)\n";
  }
  return kOk;
}

// --------------------------------------------------------------- audit

int CmdAudit(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a)
      .Option("checkpoint")
      .Option("citizen")
      .Option("actor")
      .Option("limit")
      .Option("url")
      .Option("token")
      .Option("key");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "audit", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("audit"), kOk;
  if (a.positional().size() != 1) {
    return Usage(io, "audit",
                 "name a subcommand: verify, checkpoint, list or public-key");
  }
  const std::string sub = a.positional()[0];
  const std::string verb = "audit " + sub;
  if (sub != "verify" && sub != "checkpoint" && sub != "list" &&
      sub != "public-key") {
    return Usage(io, "audit", "unknown subcommand " + sub);
  }
  size_t limit = 100;
  if (auto l = a.Get("limit")) {
    if (l->empty() || l->size() > 4 ||
        l->find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(*l) < 1 || std::stoul(*l) > 1000) {
      return Usage(io, verb, "--limit takes a number from 1 to 1000");
    }
    limit = std::stoul(*l);
  }
  std::string external;
  if (auto f = a.Get("checkpoint")) {
    auto text = storage::ReadFileLimited(*f, 64 * 1024);
    if (!text.ok()) return Fail(io, verb, text.status());
    external = *text;
  }
  StatusOr<std::unique_ptr<vault::Vault>> v =
      Status::NotFound("no vault opened");
  std::optional<VaultSetup> setup;
  const bool remote = a.Get("url").has_value();
  if (remote && sub != "verify")
    return Usage(io, verb, "--url is for `audit verify` only");
  if (remote && !a.Get("token")) return Usage(io, verb, "--url needs --token");
  if (!remote) {
    auto s = MakeSetup(a, io);
    if (!s.ok()) return Fail(io, verb, s.status());
    setup = std::move(s).value();
    v = OpenVault(*setup);
    if (!v.ok()) return Fail(io, verb, v.status());
  }
  if (sub == "verify") {
    StatusOr<audit::VerifyReport> report = Status::Internal("not run");
    if (remote) {
      audit::RemoteVerifyOptions o;
      o.url = *a.Get("url");
      o.token = *a.Get("token");
      o.pinned_key = a.Get("key").value_or("");
      o.saved_note = external;
      report = audit::VerifyRemoteLog(o);
    } else {
      report = audit::VerifyStoredLog((*v)->data_dir(), **v, external);
    }
    if (!report.ok()) return Fail(io, verb, report.status());
    if (a.Has("json")) {
      json j = {{"ok", report->ok},
                {"entries", report->entries},
                {"checkpoints", report->checkpoints}};
      if (report->first_bad_index)
        j["first_bad_index"] = *report->first_bad_index;
      if (!report->ok) j["problem"] = report->problem;
      io.out << j.dump() << "\n";
    } else if (report->ok) {
      io.out << "audit log verified: " << report->entries << " entries, "
             << report->checkpoints
             << " signed checkpoint(s), every signature and "
             << "consistency proof holds\n";
    } else {
      io.out << "audit log does NOT verify: first bad index "
             << *report->first_bad_index << ": " << report->problem << "\n";
    }
    return report->ok ? kOk : kFailed;
  }
  auto log = audit::AuditLog::OpenInDirectory((*v)->data_dir(), **v);
  if (!log.ok()) return Fail(io, verb, log.status());
  if (sub == "checkpoint") {
    auto note = (*log)->SignedCheckpoint();
    if (!note.ok()) return Fail(io, verb, note.status());
    io.out << *note;
    return kOk;
  }
  if (sub == "public-key") {
    io.out << (*log)->verifier_key() << "\n";
    return kOk;
  }
  audit::ListQuery q;
  q.citizen_id = a.Get("citizen").value_or("");
  q.actor_id = a.Get("actor").value_or("");
  q.limit = limit;
  auto entries = (*log)->List(q);
  if (!entries.ok()) return Fail(io, verb, entries.status());
  json out = json::array();
  for (const auto& e : *entries) {
    json j = json::parse(e.canonical);
    j["index"] = e.index;
    if (a.Has("json")) {
      out.push_back(j);
    } else {
      io.out << e.index << "  " << e.entry.time << "  " << e.entry.actor_kind
             << ":" << e.entry.actor_id << "  " << e.entry.action << "  "
             << e.entry.citizen_id << "\n";
    }
  }
  if (a.Has("json")) io.out << out.dump() << "\n";
  return kOk;
}

// -------------------------------------------------------------- keygen

Status WriteNewFile(const std::string& path, std::span<const uint8_t> bytes,
                    mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::AlreadyExists(path + " already exists");
    return Status::IoError("cannot create " + path + ": " +
                           std::strerror(errno));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ::close(fd);
      ::unlink(path.c_str());
      return Status::IoError("cannot write " + path);
    }
    done += static_cast<size_t>(w);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced) return Status::IoError("cannot sync " + path);
  return Status::Ok();
}

// Replaces `path` by a file holding `bytes`: a new file, then a rename.
Status ReplaceFile(const std::string& path, std::span<const uint8_t> bytes,
                   mode_t mode) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  TILLIT_RETURN_IF_ERROR(WriteNewFile(tmp, bytes, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IoError("cannot replace " + path);
  }
  return Status::Ok();
}

// PREFIX.key (base64 secret key, mode 0600) and PREFIX.pub (base64 public
// key), one line each. Existing files are refused, or with `replace`
// replaced.
Status WriteKeyPair(const std::string& prefix, const crypto::BoxKeyPair& pair,
                    bool replace) {
  const std::string pub_path = prefix + ".pub", key_path = prefix + ".key";
  auto write = replace ? ReplaceFile : WriteNewFile;
  crypto::SecretBytes secret_b64 = crypto::Base64EncodeSecret(pair.secret_key);
  crypto::SecretBytes secret_line =
      crypto::SecretBytes::Allocate(secret_b64.size() + 1);
  std::memcpy(secret_line.ExposeSecret(), secret_b64.ExposeSecret(),
              secret_b64.size());
  secret_line.ExposeSecret()[secret_b64.size()] = '\n';
  TILLIT_RETURN_IF_ERROR(write(key_path, secret_line.ExposeSecretSpan(), 0600));
  const std::string pub = crypto::Base64Encode(pair.public_key) + "\n";
  if (Status s = write(pub_path, crypto::AsBytes(pub), 0644); !s.ok()) {
    ::unlink(key_path.c_str());
    return s;
  }
  return Status::Ok();
}

int CmdKeygen(int argc, char** argv, Io& io) {
  Args a;
  a.Option("out").Flag("help").Flag("json");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "keygen", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("keygen"), kOk;
  if (!a.positional().empty())
    return Usage(io, "keygen", "unexpected argument " + a.positional()[0]);
  auto prefix = a.Get("out");
  if (!prefix || prefix->empty())
    return Usage(io, "keygen", "--out PREFIX is required");
  const std::string pub_path = *prefix + ".pub", key_path = *prefix + ".key";
  for (const auto& p : {pub_path, key_path}) {
    std::error_code ec;
    if (fs::exists(p, ec))
      return Fail(io, "keygen", Status::AlreadyExists(p + " already exists"));
  }
  crypto::BoxKeyPair pair =
      crypto::BoxKeyPair::Generate(crypto::Random::System());
  if (Status s = WriteKeyPair(*prefix, pair, false); !s.ok())
    return Fail(io, "keygen", s);
  if (a.Has("json")) {
    io.out << json{{"public_key", crypto::Base64Encode(pair.public_key)},
                   {"public_key_file", pub_path},
                   {"secret_key_file", key_path}}
                  .dump()
           << "\n";
  } else {
    io.out << "wrote " << pub_path << " (public) and " << key_path
           << " (secret, mode 0600)\n";
  }
  return kOk;
}

// -------------------------------------------------------------- decrypt

// Reads a PREFIX.key written by WriteKeyPair and derives its public key.
StatusOr<crypto::BoxKeyPair> ReadBoxKeyFile(const std::string& path) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes text,
                          storage::ReadSecretFile(path, 1024));
  const char* chars = reinterpret_cast<const char*>(text.ExposeSecret());
  size_t n = text.size();
  while (n > 0 && (chars[n - 1] == '\n' || chars[n - 1] == '\r')) --n;
  StatusOr<crypto::SecretBytes> secret =
      crypto::Base64DecodeSecret(std::string_view(chars, n));
  if (!secret.ok() || secret->size() != crypto::kBoxSecretKeySize) {
    return Status::InvalidArgument(
        path + " is not a secret key written by `tillit keygen`");
  }
  crypto::BoxKeyPair pair{{}, std::move(secret).value()};
  if (crypto_scalarmult_base(pair.public_key.data(),
                             pair.secret_key.ExposeSecret()) != 0) {
    return Status::InvalidArgument(path + " holds an unusable secret key");
  }
  return pair;
}

int CmdDecrypt(int argc, char** argv, Io& io) {
  Args a;
  a.Option("key").Option("out").Flag("json").Flag("help");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "decrypt", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("decrypt"), kOk;
  auto key_path = a.Get("key");
  if (!key_path || key_path->empty())
    return Usage(io, "decrypt", "--key PREFIX.key is required");
  auto out_dir = a.Get("out");
  if (!out_dir || out_dir->empty())
    return Usage(io, "decrypt", "--out DIR is required");
  if (a.positional().empty())
    return Usage(io, "decrypt", "name the release file to open");
  if (a.positional().size() > 1)
    return Usage(io, "decrypt", "unexpected argument " + a.positional()[1]);
  const std::string& release = a.positional()[0];
  StatusOr<crypto::BoxKeyPair> key = ReadBoxKeyFile(*key_path);
  if (!key.ok()) return Fail(io, "decrypt", key.status());
  auto members = research::DecryptSealedFile(release, *key, *out_dir);
  if (!members.ok()) {
    return Fail(io, "decrypt",
                members.status().WithContext(release + " refused"));
  }
  if (a.Has("json")) {
    json list = json::array();
    for (const auto& m : *members)
      list.push_back({{"name", m.name}, {"bytes", m.size}});
    io.out << json{{"out", *out_dir}, {"members", list}}.dump() << "\n";
  } else {
    io.out << "wrote " << members->size() << " member"
           << (members->size() == 1 ? "" : "s") << " to " << *out_dir << "\n";
    for (const auto& m : *members)
      io.out << "  " << m.name << " (" << m.size << " bytes)\n";
  }
  return kOk;
}

// ------------------------------------------------------- principals

// `tillit researcher|provider|auditor add`: the same validation as the
// admin routes (api/principals.h), then an operator audit entry.
int CmdRegister(int argc, char** argv, Io& io) {
  const std::string kind = argv[1];
  const bool researcher = kind == "researcher";
  Args a;
  CommonOptions(a).Option("name").Option("organization");
  if (researcher) a.Option("org-type").Option("country").Option("public-key");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, kind, s.message());
  if (a.Has("help")) return io.out << VerbHelp().at(kind), kOk;
  if (a.positional().empty() || a.positional()[0] != "add")
    return Usage(io, kind, "the only subcommand is `add`");
  const std::string verb = kind + " add";
  if (a.positional().size() > 1)
    return Usage(io, verb, "unexpected argument " + a.positional()[1]);
  std::vector<std::string> required = {"name"};
  if (researcher) {
    required.insert(required.end(),
                    {"organization", "org-type", "country", "public-key"});
  }
  for (const std::string& r : required) {
    if (!a.Get(r)) return Usage(io, verb, "--" + r + " is required");
  }
  json body = {{"name", *a.Get("name")}};
  if (auto org = a.Get("organization")) body["organization"] = *org;
  if (researcher) {
    body["org_type"] = *a.Get("org-type");
    body["country"] = *a.Get("country");
    auto key = storage::ReadFileLimited(*a.Get("public-key"), 4096);
    if (!key.ok())
      return Fail(io, verb, key.status().WithContext("public_key"));
    std::string line = *key;
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.back())))
      line.pop_back();
    body["public_key"] = line;
  }
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, verb, setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;
  const int64_t ttl = api::ServerOptions{}.principal_token_ttl;
  crypto::Random& rng = crypto::Random::System();
  StatusOr<api::Registration> reg = Status::Internal("not registered");
  const std::string text = body.dump();
  if (researcher) {
    consent::ConsentService consents(&vault, &Clock::System(), &rng);
    reg = api::RegisterResearcher(vault, consents, rng, text, ttl);
  } else if (kind == "provider") {
    reg = api::RegisterProvider(vault, rng, text, ttl);
  } else {
    reg = api::RegisterAuditor(vault, rng, text, ttl);
  }
  if (!reg.ok()) return Fail(io, verb, reg.status());
  if (Status s = AuditOperator(vault, {OperatorEntry(kind + ".register", "")});
      !s.ok()) {
    // Not announced, not usable: the token never leaves this process.
    (void)vault.RevokeToken(reg->token.token);
    return Fail(io, verb, s);
  }
  if (a.Has("json")) {
    io.out << json{{kind + "_id", reg->id},
                   {"token", reg->token.token},
                   {"expires", reg->token.expires_at}}
                  .dump()
           << "\n";
  } else {
    io.out << kind << " " << reg->id << " registered\n"
           << "token (valid 365 days, shown only this once):\n  "
           << reg->token.token << "\n";
  }
  return kOk;
}

// --------------------------------------------------------------- token

constexpr size_t kMaxTokenLine = 1024;

int CmdToken(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Flag("stdin").Option("principal");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "token", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("token"), kOk;
  if (a.positional().size() != 1 || a.positional()[0] != "revoke")
    return Usage(io, "token", "the only subcommand is `revoke`");
  const std::string verb = "token revoke";
  const auto principal = a.Get("principal");
  if (a.Has("stdin") == principal.has_value())
    return Usage(io, verb, "give exactly one of --stdin and --principal ID");
  if (principal && *principal != "operator" &&
      !vault::IsValidId(*principal, "c_") &&
      !vault::IsValidId(*principal, "p_") &&
      !vault::IsValidId(*principal, "r_") &&
      !vault::IsValidId(*principal, "a_")) {
    return Usage(io, verb,
                 "--principal takes an id (c_..., p_..., r_..., a_...) or "
                 "operator");
  }
  auto setup = MakeSetup(a, io);  // the passphrase, if any, comes first
  if (!setup.ok()) return Fail(io, verb, setup.status());
  std::string token;
  if (a.Has("stdin")) {
    for (;;) {
      const int c = io.in.get();
      if (c == EOF || c == '\n') break;
      if (token.size() == kMaxTokenLine)
        return Fail(io, verb, Status::NotFound("no such token"));
      token += static_cast<char>(c);
    }
    while (!token.empty() &&
           std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    while (!token.empty() &&
           std::isspace(static_cast<unsigned char>(token.front())))
      token.erase(0, 1);
    if (token.empty()) {
      return Fail(io, verb,
                  Status::InvalidArgument("no token on standard input"));
    }
  }
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;
  int64_t revoked = 0;
  std::string citizen;
  if (principal) {
    auto n = vault.RevokePrincipalTokens(*principal);
    if (!n.ok()) return Fail(io, verb, n.status());
    revoked = *n;
    if (principal->rfind("c_", 0) == 0) citizen = *principal;
  } else {
    // Whose token it was, while it is still live (for the citizen's own
    // access log).
    if (auto info = vault.VerifyToken(token);
        info.ok() && info->principal.rfind("c_", 0) == 0) {
      citizen = info->principal;
    }
    Status s = vault.RevokeToken(token);
    if (s.code() == StatusCode::kNotFound)
      return Fail(io, verb, Status::NotFound("no such token"));
    if (s.code() == StatusCode::kFailedPrecondition) {
      return Fail(io, verb,
                  Status::FailedPrecondition("the token is already revoked"));
    }
    if (!s.ok()) return Fail(io, verb, s);
    revoked = 1;
  }
  if (revoked > 0) {
    if (Status s =
            AuditOperator(vault, {OperatorEntry("token.revoke", citizen)});
        !s.ok()) {
      io.err << "tillit " << verb << ": revoked " << revoked
             << " token(s), but the audit log could not be written\n";
      return Fail(io, verb, s);
    }
  }
  if (a.Has("json")) {
    io.out << json{{"revoked", revoked}}.dump() << "\n";
  } else {
    io.out << "revoked " << revoked << " token(s)\n";
  }
  return kOk;
}

// --------------------------------------------------------------- serve

int CmdServe(int argc, char** argv, Io& io) {
  Args a;
  a.Option("data")
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
      .Flag("quiet");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "serve", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("serve"), kOk;
  if (!a.positional().empty())
    return Usage(io, "serve", "unexpected argument " + a.positional()[0]);
  api::ServerOptions o;
  if (Status s = ServerFlags(a, "127.0.0.1:8443", &o); !s.ok())
    return Usage(io, "serve", s.message());
  o.log = &io.err;
  o.access_log = !a.Has("quiet");
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "serve", setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, "serve", v.status());
  auto server = StartServer(**v, o);
  if (!server.ok()) return Fail(io, "serve", server.status());
  io.out << "listening on " << (*server)->url() << "\n" << std::flush;
  return ServeUntilSignal(io, **server, false, a.Has("quiet"));
}

// ---------------------------------------------------------------- demo

constexpr int64_t kDemoTokenTtl = 7LL * 24 * 3600;
constexpr const char* kDemoProvider = "Demo Hospital";
constexpr const char* kDemoAuditor = "Demo Auditor";

struct DemoConsent {
  std::string researcher_id;
  std::string study_id;
  // Set when the researcher was registered in this run.
  std::optional<vault::IssuedToken> researcher_token;
  int grants_added = 0;
  int opted_out = 0;
  consent::Feasibility cohort;
};

// The demo's researcher (with a real X25519 key pair written to
// KEY_PREFIX.key and .pub) and study, made once, and consent decisions for
// the citizens created in this run: most grant research use of their vital
// signs and lab results, some only to this study, some grant their care
// providers, and one in ten opts out of research. What it does is added to
// `audit`.
StatusOr<DemoConsent> SetUpDemoConsent(
    vault::Vault& vault, consent::ConsentService& consents,
    const std::string& key_prefix,
    const std::vector<std::pair<uint64_t, std::string>>& new_citizens,
    std::vector<audit::AuditEntry>* audit) {
  DemoConsent out;
  TILLIT_ASSIGN_OR_RETURN(auto studies, consents.ListStudies());
  if (studies.empty()) {
    crypto::Random& rng = crypto::Random::System();
    crypto::BoxKeyPair pair = crypto::BoxKeyPair::Generate(rng);
    TILLIT_RETURN_IF_ERROR(WriteKeyPair(key_prefix, pair, true));
    const json body = {{"name", "Demo Researcher"},
                       {"organization", "Karolinska Institutet"},
                       {"org_type", "academic"},
                       {"country", "SE"},
                       {"public_key", crypto::Base64Encode(pair.public_key)}};
    TILLIT_ASSIGN_OR_RETURN(
        api::Registration researcher,
        api::RegisterResearcher(vault, consents, rng, body.dump(),
                                kDemoTokenTtl));
    out.researcher_token = researcher.token;
    audit->push_back(OperatorEntry("researcher.register", ""));
    TILLIT_ASSIGN_OR_RETURN(
        consent::StudyDefinition study,
        consent::ParseStudyDefinition(
            R"({"title": "Blood pressure and HbA1c in primary care",
                "purpose": "DUO:0000006",
                "categories": ["vital-signs", "lab-results"],
                "data_period": {"start": "2015-01-01", "end": null},
                "ethics_approval": "EPM 2026-01234",
                "obligations": ["DUO:0000019"]})"));
    study.study.researcher_id = researcher.id;
    TILLIT_ASSIGN_OR_RETURN(auto stored,
                            consents.RegisterStudy(std::move(study)));
    audit::AuditEntry e = OperatorEntry("study.create", "");
    e.study_id = stored.study.id;
    audit->push_back(e);
    studies.push_back(std::move(stored));
  }
  out.study_id = studies.front().study.id;
  out.researcher_id = studies.front().study.researcher_id;
  for (const auto& [index, citizen] : new_citizens) {
    std::string grant;
    switch (index % 4) {
      case 0:
      case 1:
        grant = R"({"grantee": {"kind": "any-researcher"},
                    "purposes": ["DUO:0000006"],
                    "conditions": [{"code": "DUO:0000046"},
                                   {"code": "DUO:0000022", "countries": ["SE", "NO", "FI", "DK"]}],
                    "categories": ["vital-signs", "lab-results", "patient-summary"],
                    "data_period": {"start": "2015-01-01", "end": null},
                    "expires": null})";
        break;
      case 2:
        grant =
            R"({"grantee": {"kind": "study", "id": ")" + out.study_id + R"("},
                    "purposes": ["DUO:0000042"],
                    "categories": ["vital-signs", "lab-results"],
                    "expires": null})";
        break;
      default:
        grant = R"({"grantee": {"kind": "any-provider"},
                    "purposes": ["DUO:0000043"],
                    "categories": ["patient-summary", "prescriptions", "lab-results",
                                   "vital-signs", "encounters"],
                    "expires": null})";
        break;
    }
    TILLIT_ASSIGN_OR_RETURN(consent::Grant added,
                            consents.AddGrant(citizen, grant));
    audit::AuditEntry e = OperatorEntry("consent.grant", citizen);
    e.grant_ids = {added.id};
    audit->push_back(e);
    ++out.grants_added;
    if (index % 10 == 9) {
      TILLIT_RETURN_IF_ERROR(consents.SetResearchOptOut(citizen, true));
      audit->push_back(OperatorEntry("research-opt-out.update", citizen));
      ++out.opted_out;
    }
  }
  TILLIT_ASSIGN_OR_RETURN(out.cohort, consents.CountCohort(out.study_id));
  return out;
}

// A citizen with an active any-provider grant (so that the provider's curl
// line returns records): one given such a grant in this run, else the
// first in the vault that has one, else the first citizen.
StatusOr<std::string> DemoCitizen(
    vault::Vault& vault, consent::ConsentService& consents,
    const std::vector<std::pair<uint64_t, std::string>>& new_citizens) {
  for (const auto& [index, citizen] : new_citizens) {
    if (index % 4 == 3) return citizen;
  }
  TILLIT_ASSIGN_OR_RETURN(auto ids, vault.ListCitizenIds());
  if (ids.empty()) return Status::NotFound("the demo vault has no citizens");
  for (const std::string& id : ids) {
    TILLIT_ASSIGN_OR_RETURN(auto grants, consents.ListGrants(id));
    for (const consent::Grant& g : grants) {
      if (g.grantee.kind == consent::Grantee::Kind::kAnyProvider &&
          g.status == consent::Grant::Status::kActive && !g.revoked_at) {
        return id;
      }
    }
  }
  return ids.front();
}

// The id of the directory entry of `kind` named `name`, if any.
StatusOr<std::optional<std::string>> FindByName(vault::Vault& vault,
                                                std::string_view kind,
                                                const std::string& name) {
  TILLIT_ASSIGN_OR_RETURN(auto entries, vault.ListDirectory(kind));
  for (const auto& [id, value] : entries) {
    json j = json::parse(value, nullptr, false);
    if (j.is_object() && j.value("name", "") == name)
      return std::optional<std::string>(id);
  }
  return std::optional<std::string>();
}

struct DemoPrincipal {
  std::string id;
  vault::IssuedToken token;
};

// The demo's provider or auditor: registered on the first run, a fresh
// token on later ones.
StatusOr<DemoPrincipal> DemoRegistrant(vault::Vault& vault,
                                       std::string_view kind,
                                       const std::string& name,
                                       const std::string& organization,
                                       std::vector<audit::AuditEntry>* audit) {
  TILLIT_ASSIGN_OR_RETURN(auto existing, FindByName(vault, kind, name));
  if (existing) {
    TILLIT_ASSIGN_OR_RETURN(vault::IssuedToken token,
                            vault.IssueToken(kind, *existing, kDemoTokenTtl));
    return DemoPrincipal{*existing, token};
  }
  const std::string body =
      json{{"name", name}, {"organization", organization}}.dump();
  crypto::Random& rng = crypto::Random::System();
  TILLIT_ASSIGN_OR_RETURN(
      api::Registration r,
      kind == "provider"
          ? api::RegisterProvider(vault, rng, body, kDemoTokenTtl)
          : api::RegisterAuditor(vault, rng, body, kDemoTokenTtl));
  audit->push_back(OperatorEntry(std::string(kind) + ".register", ""));
  return DemoPrincipal{r.id, r.token};
}

// The `curl` lines (and an audit verification) to paste into bash.
json DemoTryLines(const std::string& url, const std::string& tillit,
                  const std::map<std::string, DemoPrincipal>& p,
                  const std::string& study_id) {
  auto get = [&](const std::string& who, const std::string& path) {
    std::string line = "curl -sS";
    if (!who.empty())
      line +=
          " -H " + ShellQuote("Authorization: Bearer " + p.at(who).token.token);
    return line + " " + ShellQuote(url + path);
  };
  json curl = json::array(
      {get("", "/healthz"), get("citizen", "/v1/me/records?limit=2"),
       get("provider",
           "/v1/patients/" + p.at("citizen").id + "/records?limit=2"),
       get("researcher", "/v1/studies/" + study_id + "/feasibility"),
       get("auditor", "/v1/audit/entries?limit=5"),
       get("auditor", "/v1/audit/checkpoint")});
  return {
      {"curl", curl},
      {"verify", ShellQuote(tillit) + " audit verify --url " + ShellQuote(url) +
                     " --token " + ShellQuote(p.at("auditor").token.token)}};
}

// Three bash lines: make a release of the demo study, download it, open it
// with the demo researcher's key.
json DemoReleaseLines(const std::string& url, const std::string& tillit,
                      const std::string& dir, const std::string& token,
                      const std::string& study_id) {
  const std::string auth = ShellQuote("Authorization: Bearer " + token);
  const std::string releases = url + "/v1/studies/" + study_id + "/releases";
  const std::string file = dir + "/release.tillit";
  return json::array(
      {"rid=$(curl -sS -H " + auth +
           " -H 'Content-Type: application/json' -d '{}' " +
           ShellQuote(releases) +
           R"sh( | sed -n 's/.*"id":"\(rel_[0-9a-f]*\)".*/\1/p'))sh",
       "curl -sS -H " + auth + " -o " + ShellQuote(file) + " " +
           ShellQuote(releases + "/") + "\"$rid\"",
       ShellQuote(tillit) + " decrypt --key " +
           ShellQuote(dir + "/demo-researcher.key") + " --out " +
           ShellQuote(dir + "/release-") + "\"$rid\" " + ShellQuote(file)});
}

// Lines that pair a phone with the reference citizen app of the mobile
// bridge (mobile-bridge/examples), record a reading offline, sync it and
// verify the access log. The app is looked for beside the build's `tillit`
// (build/cli/tillit → build/mobile-bridge/tillit-app). Each run gets a
// phone state directory of its own (a phone pairs once), beside one shared
// stand-in for the platform keychain.
json DemoPhoneLines(const std::string& url, const std::string& tillit,
                    const std::string& dir, const std::string& code) {
  std::string app = "tillit-app";
  if (tillit.find('/') != std::string::npos) {
    const fs::path beside =
        fs::path(tillit).parent_path().parent_path() / "mobile-bridge" /
        "tillit-app";
    if (fs::exists(beside)) app = beside.string();
  }
  const std::string run = ShellQuote(app) + " --url " + ShellQuote(url) +
                          " --state " +
                          ShellQuote(dir + "/phone-" +
                                     crypto::Random::System().Hex(4)) +
                          " --keys " + ShellQuote(dir + "/phone-keychain");
  return json::array(
      {run + " pair " + ShellQuote(code) + " 'Demo phone'",
       run + " queue " +
           ShellQuote(R"({"resourceType":"Observation","status":"final",)"
                      R"("code":{"coding":[{"system":"http://loinc.org",)"
                      R"("code":"8867-4","display":"Heart rate"}]},)"
                      R"("effectiveDateTime":"2026-11-23T08:00:00Z",)"
                      R"("valueQuantity":{"value":62,"unit":"/min"}})"),
       run + " sync", run + " log --verify"});
}

int CmdDemo(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a)
      .Option("citizens")
      .Option("seed")
      .Option("listen")
      .Flag("no-serve")
      .Flag("quiet");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "demo", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("demo"), kOk;
  if (!a.positional().empty())
    return Usage(io, "demo", "unexpected argument " + a.positional()[0]);
  auto count = ParseNumber(a.Get("citizens"), 20, 1, 5000);
  if (!count)
    return Usage(io, "demo", "--citizens takes a number from 1 to 5000");
  auto seed = ParseNumber(a.Get("seed"), 2026, 0, UINT64_MAX);
  if (!seed) return Usage(io, "demo", "--seed takes a non-negative number");
  const bool serve = !a.Has("no-serve");
  if (!serve && (a.Get("listen") || a.Has("quiet")))
    return Usage(io, "demo",
                 "--listen and --quiet are for serving; drop "
                 "--no-serve");
  api::ServerOptions server_options;
  if (Status s = ServerFlags(a, "127.0.0.1:8080", &server_options); !s.ok())
    return Usage(io, "demo", s.message());
  server_options.log = &io.err;
  server_options.access_log = !a.Has("quiet");
  std::string tillit = "tillit";
  if (std::string_view(argv[0]).find('/') != std::string_view::npos)
    tillit = fs::absolute(argv[0]).lexically_normal().string();

  auto setup = MakeSetup(a, io, "./tillit-demo");
  if (!setup.ok()) return Fail(io, "demo", setup.status());
  setup->options.passphrase = setup->passphrase ? &*setup->passphrase : nullptr;
  std::unique_ptr<vault::Vault> vault;
  {
    auto opened = vault::Vault::Open(setup->options);
    if (opened.ok()) {
      vault = std::move(opened).value();
    } else if (opened.status().code() == StatusCode::kNotFound) {
      auto created = vault::Vault::Init(setup->options);
      if (!created.ok()) return Fail(io, "demo", created.status());
      if (Status s = StartAuditLog(*created->vault); !s.ok())
        return Fail(io, "demo", s);
      vault = std::move(created->vault);
      // Never shown (the demo prints a 7-day admin token instead), so it
      // must not stay valid.
      if (Status s = vault->RevokeToken(created->admin_token.token); !s.ok())
        return Fail(io, "demo", s);
    } else {
      return Fail(io, "demo", opened.status());
    }
  }
  const std::string dir =
      fs::absolute(setup->options.data_dir).lexically_normal().string();
  Progress progress(io);
  size_t resources = 0, bytes = 0, written = 0;
  std::map<std::string, size_t> by_type;
  std::vector<audit::AuditEntry> audit;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::pair<uint64_t, std::string>> new_citizens;
  for (uint64_t i = 0; i < *count; ++i) {
    const std::string bundle = fhir::GenerateSyntheticBundle(*seed, i);
    auto outcome = vault->Import(bundle, vault::ImportFormat::kJson);
    if (!outcome.ok()) return Fail(io, "demo", outcome.status());
    if (outcome->created) new_citizens.emplace_back(i, outcome->citizen_id);
    if (outcome->written > 0)
      audit.push_back(OperatorEntry("records.import", outcome->citizen_id));
    resources += outcome->imported;
    written += outcome->written;
    bytes += bundle.size();
    for (const auto& [t, n] : outcome->by_type) by_type[t] += n;
    progress.Show("generating and importing citizen " + std::to_string(i + 1) +
                  "/" + std::to_string(*count));
  }
  progress.Done();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();

  // Consent, principals and fresh tokens. Tokens issued in this run are
  // revoked again if the run fails before printing them.
  std::map<std::string, DemoPrincipal> principals;
  auto fail = [&](const Status& s) {
    for (const auto& [role, p] : principals) {
      (void)vault->RevokeToken(p.token.token);
    }
    return Fail(io, "demo", s);
  };
  consent::ConsentService consents(vault.get(), &Clock::System(),
                                   &crypto::Random::System());
  const std::string key_prefix = dir + "/demo-researcher";
  auto demo =
      SetUpDemoConsent(*vault, consents, key_prefix, new_citizens, &audit);
  if (!demo.ok()) return Fail(io, "demo", demo.status());
  if (demo->researcher_token) {
    principals["researcher"] = {demo->researcher_id, *demo->researcher_token};
  } else {
    auto t =
        vault->IssueToken("researcher", demo->researcher_id, kDemoTokenTtl);
    if (!t.ok()) return fail(t.status());
    principals["researcher"] = {demo->researcher_id, *t};
  }
  auto provider =
      DemoRegistrant(*vault, "provider", kDemoProvider, "Demo Region", &audit);
  if (!provider.ok()) return fail(provider.status());
  principals["provider"] = *provider;
  auto auditor = DemoRegistrant(*vault, "auditor", kDemoAuditor,
                                "Demo Supervisory Authority", &audit);
  if (!auditor.ok()) return fail(auditor.status());
  principals["auditor"] = *auditor;
  auto citizen = DemoCitizen(*vault, consents, new_citizens);
  if (!citizen.ok()) return fail(citizen.status());
  auto citizen_token = vault->IssueToken("citizen", *citizen, kDemoTokenTtl);
  if (!citizen_token.ok()) return fail(citizen_token.status());
  principals["citizen"] = {*citizen, *citizen_token};
  audit.push_back(OperatorEntry("citizen.enroll", *citizen));
  // A one-time code to pair a phone with the same citizen.
  std::optional<vault::IssuedToken> phone_code;
  if (serve) {
    auto code = api::NewEnrollmentCode(*vault, *citizen, kDemoTokenTtl);
    if (!code.ok()) return fail(code.status());
    phone_code = *code;
    audit.push_back(OperatorEntry("citizen.enrollment-code", *citizen));
  }
  auto admin = vault->IssueToken("admin", "operator", kDemoTokenTtl);
  if (!admin.ok()) return fail(admin.status());
  principals["admin"] = {"operator", *admin};
  if (Status s = AuditOperator(*vault, audit); !s.ok()) return fail(s);

  auto ids = vault->ListCitizenIds();
  if (!ids.ok()) return fail(ids.status());
  std::map<std::string, int64_t> by_category;
  for (const auto& id : *ids) {
    auto s = vault->Summarize(id);
    if (!s.ok()) return fail(s.status());
    for (const auto& [c, n] : s->by_category) by_category[c] += n;
  }

  std::unique_ptr<api::Server> server;
  std::string url;
  json try_lines;
  if (serve) {
    auto started_server = StartServer(*vault, server_options);
    if (!started_server.ok()) return fail(started_server.status());
    server = std::move(started_server).value();
    url = server->url();
    try_lines = DemoTryLines(url, tillit, principals, demo->study_id);
  }
  const bool have_keys = fs::exists(key_prefix + ".key");
  if (serve && have_keys) {
    try_lines["release"] =
        DemoReleaseLines(url, tillit, dir, principals["researcher"].token.token,
                         demo->study_id);
  }

  if (serve) {
    try_lines["phone"] = DemoPhoneLines(url, tillit, dir, phone_code->token);
  }

  if (a.Has("json")) {
    json j = {{"data_dir", dir},
              {"citizens", ids->size()},
              {"resources_imported", resources},
              {"resources_written", written},
              {"by_type", CountsJson(by_type)},
              {"by_category", CountsJson(by_category)}};
    j["researcher_id"] = demo->researcher_id;
    j["study_id"] = demo->study_id;
    j["grants_added"] = demo->grants_added;
    j["cohort_size"] = consent::FormatCount(demo->cohort.cohort_size);
    j["citizen_id"] = principals["citizen"].id;
    j["provider_id"] = principals["provider"].id;
    j["auditor_id"] = principals["auditor"].id;
    json tokens = json::object();
    for (const auto& [role, p] : principals) tokens[role] = p.token.token;
    j["tokens"] = tokens;
    j["tokens_expire"] = principals["admin"].token.expires_at;
    if (have_keys) {
      j["researcher_key_file"] = key_prefix + ".key";
      j["researcher_public_key_file"] = key_prefix + ".pub";
    }
    if (serve) {
      j["url"] = url;
      j["curl"] = try_lines["curl"];
      j["verify"] = try_lines["verify"];
      if (try_lines.contains("release")) j["release"] = try_lines["release"];
      j["enrollment_code"] = phone_code->token;
      j["phone"] = try_lines["phone"];
    }
    io.out << j.dump() << "\n" << std::flush;
    return serve ? ServeUntilSignal(io, *server, true, a.Has("quiet")) : kOk;
  }
  io.out << "tillit demo vault: " << dir << "\n"
         << "  " << *count << " synthetic citizens generated (seed " << *seed
         << "), " << resources << " FHIR resources (" << bytes / 1024
         << " KiB) imported in " << static_cast<int>(secs * 1000) << " ms; "
         << written << " new or changed\n"
         << "  " << ids->size()
         << " citizens in the vault, each in its own encrypted "
         << "SQLCipher file under " << dir << "/citizens/\n"
         << "  records by category:\n";
  for (const auto& [c, n] : by_category)
    io.out << "    " << c << ": " << n << "\n";
  io.out << "  resources by type:\n";
  for (const auto& [t, n] : by_type) io.out << "    " << t << ": " << n << "\n";
  io.out << "  consent: " << demo->grants_added << " grants and "
         << demo->opted_out << " research opt-outs added this run\n"
         << "  study " << demo->study_id
         << " (HMB, vital-signs + lab-results) of "
         << "researcher " << demo->researcher_id << ": cohort "
         << consent::FormatCount(demo->cohort.cohort_size) << " of "
         << demo->cohort.citizens << " citizens in the consent index\n";
  io.out << "Tokens, valid 7 days and shown only now (each run makes new "
            "ones):\n"
         << "  admin       " << principals["admin"].token.token << "\n"
         << "  citizen     " << principals["citizen"].token.token << "  ("
         << principals["citizen"].id << ")\n"
         << "  provider    " << principals["provider"].token.token << "  ("
         << principals["provider"].id << ", " << kDemoProvider << ")\n"
         << "  researcher  " << principals["researcher"].token.token << "  ("
         << principals["researcher"].id;
  if (have_keys) {
    io.out << "; demo key pair " << key_prefix << ".key and .pub";
  }
  io.out << ")\n"
         << "  auditor     " << principals["auditor"].token.token << "  ("
         << principals["auditor"].id << ")\n";
  if (!serve) {
    io.out << "Serve it with:\n  " << ShellQuote(tillit) << " serve --data "
           << ShellQuote(dir) << " --listen 127.0.0.1:8080\n";
    return kOk;
  }
  io.out << "listening on " << url << "\n"
         << "Try (bash):\n";
  for (const auto& line : try_lines["curl"])
    io.out << "  " << line.get<std::string>() << "\n";
  io.out << "  " << try_lines["verify"].get<std::string>() << "\n";
  if (try_lines.contains("release")) {
    io.out << "Make, download and open a research release (bash):\n";
    for (const auto& line : try_lines["release"])
      io.out << "  " << line.get<std::string>() << "\n";
  }
  io.out << "Pair a phone with the reference citizen app (mobile bridge; "
            "bash):\n";
  for (const auto& line : try_lines["phone"])
    io.out << "  " << line.get<std::string>() << "\n";
  io.out << "Serving until Ctrl-C or SIGTERM.\n" << std::flush;
  return ServeUntilSignal(io, *server, false, a.Has("quiet"));
}

}  // namespace

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           std::istream& in) {
  Io io{out, err, in, &err == &std::cerr && ::isatty(STDERR_FILENO) == 1};
  if (argc < 2) {
    err << kMainHelp;
    return kUsage;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    if (verb == "help" && argc > 2) {
      auto it = VerbHelp().find(argv[2]);
      if (it != VerbHelp().end()) return out << it->second, kOk;
    }
    return out << kMainHelp, kOk;
  }
  if (verb == "--version" || verb == "version")
    return out << kVersion << "\n", kOk;
  static const std::map<std::string, std::function<int(int, char**, Io&)>>
      kVerbs = {
          {"init", CmdInit},           {"import", CmdImport},
          {"citizen", CmdCitizen},     {"keys", CmdKeys},
          {"keygen", CmdKeygen},       {"decrypt", CmdDecrypt},
          {"demo", CmdDemo},           {"audit", CmdAudit},
          {"serve", CmdServe},         {"token", CmdToken},
          {"researcher", CmdRegister}, {"provider", CmdRegister},
          {"auditor", CmdRegister},
      };
  auto it = kVerbs.find(verb);
  if (it == kVerbs.end()) {
    err << "tillit: unknown verb `" << verb << "`\n\n" << kMainHelp;
    return kUsage;
  }
  try {
    return it->second(argc, argv, io);
  } catch (const std::bad_alloc&) {
    err << "tillit " << verb << ": out of memory\n";
    return kFailed;
  } catch (const std::exception&) {
    // Library exception text may quote input; never print it.
    err << "tillit " << verb << ": internal error\n";
    return kFailed;
  }
}

}  // namespace tillit::cli
