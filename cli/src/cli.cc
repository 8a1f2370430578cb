#include "tillit/cli/cli.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "src/args.h"
#include "tillit/audit/audit_log.h"
#include "tillit/audit/remote.h"
#include "tillit/consent/consent_service.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"
#include "tillit/vault/files.h"
#include "tillit/vault/synthetic.h"
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
  demo                 build a demo vault of generated synthetic citizens

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

add     creates an empty citizen and prints its id.
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
      {"demo",
       R"(Usage: tillit demo [--data DIR] [--citizens N] [--seed S] [--json]

Builds a demo vault in DIR (default ./tillit-demo) from N generated
synthetic citizens (default 20, at most 5000) with seed S (default 2026),
registers a demo researcher and study, records consent decisions for the
new citizens (research grants, study grants, provider grants, some research
opt-outs), and prints what was stored and the study's cohort size from the
consent index. Creates the vault when it does not exist; running it again
re-imports the same data, which changes nothing.
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
  e.time = vault::Clock::System().NowSeconds();
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
  TILLIT_ASSIGN_OR_RETURN(auto log, audit::AuditLog::OpenForVault(vault));
  return log->SignedCheckpoint().status();
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
  auto log = audit::AuditLog::OpenForVault(**v);
  if (!log.ok()) return Fail(io, "import", log.status());

  std::vector<std::string> order;
  std::map<std::string, json> citizens;
  Progress progress(io);
  size_t bytes_total = 0, resources_total = 0;
  const auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& file = files[i];
    auto text =
        vault::ReadFileLimited(file, setup->options.limits.max_document_bytes);
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
    auto id = vault.CreateCitizen();
    if (!id.ok()) return Fail(io, verb, id.status());
    if (a.Has("json")) {
      io.out << json{{"citizen_id", *id}}.dump() << "\n";
    } else {
      io.out << *id << "\n";
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
  auto log = audit::AuditLog::OpenForVault(vault);
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
    auto text = vault::ReadFileLimited(*f, 64 * 1024);
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
      report = audit::VerifyStoredLog(**v, external);
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
  auto log = audit::AuditLog::OpenForVault(**v);
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
  crypto::SecretBytes secret_b64 = crypto::Base64EncodeSecret(pair.secret_key);
  crypto::SecretBytes secret_line =
      crypto::SecretBytes::Allocate(secret_b64.size() + 1);
  std::memcpy(secret_line.ExposeSecret(), secret_b64.ExposeSecret(),
              secret_b64.size());
  secret_line.ExposeSecret()[secret_b64.size()] = '\n';
  if (Status s = WriteNewFile(key_path, secret_line.ExposeSecretSpan(), 0600);
      !s.ok()) {
    return Fail(io, "keygen", s);
  }
  const std::string pub = crypto::Base64Encode(pair.public_key) + "\n";
  if (Status s = WriteNewFile(pub_path, crypto::AsBytes(pub), 0644); !s.ok()) {
    ::unlink(key_path.c_str());
    return Fail(io, "keygen", s);
  }
  if (a.Has("json")) {
    io.out << json{{"public_key", pub.substr(0, pub.size() - 1)},
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

// ---------------------------------------------------------------- demo

struct DemoConsent {
  std::string researcher_id;
  std::string study_id;
  int grants_added = 0;
  int opted_out = 0;
  consent::Feasibility cohort;
};

// The demo's researcher and study (made once), and consent decisions for
// the citizens created in this run: most grant research use of their vital
// signs and lab results, some only to this study, some grant their care
// providers, and one in ten opts out of research.
StatusOr<DemoConsent> SetUpDemoConsent(
    consent::ConsentService& consents,
    const std::vector<std::pair<uint64_t, std::string>>& new_citizens) {
  DemoConsent out;
  TILLIT_ASSIGN_OR_RETURN(auto studies, consents.ListStudies());
  if (studies.empty()) {
    consent::ResearcherProfile researcher{
        "r_" + crypto::Random::System().Hex(16), consent::OrgType::kAcademic,
        "SE", "Karolinska Institutet"};
    TILLIT_RETURN_IF_ERROR(consents.RegisterResearcher(researcher));
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
    TILLIT_RETURN_IF_ERROR(consents.AddGrant(citizen, grant).status());
    ++out.grants_added;
    if (index % 10 == 9) {
      TILLIT_RETURN_IF_ERROR(consents.SetResearchOptOut(citizen, true));
      ++out.opted_out;
    }
  }
  TILLIT_ASSIGN_OR_RETURN(out.cohort, consents.CountCohort(out.study_id));
  return out;
}

int CmdDemo(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("citizens").Option("seed");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "demo", s.message());
  if (a.Has("help")) return io.out << VerbHelp().at("demo"), kOk;
  if (!a.positional().empty())
    return Usage(io, "demo", "unexpected argument " + a.positional()[0]);
  auto number = [](const std::optional<std::string>& s, uint64_t fallback,
                   uint64_t max) -> std::optional<uint64_t> {
    if (!s) return fallback;
    if (s->empty() || s->size() > 19 ||
        s->find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    uint64_t v = std::stoull(*s);
    if (v > max) return std::nullopt;
    return v;
  };
  auto count = number(a.Get("citizens"), 20, 5000);
  if (!count || *count == 0)
    return Usage(io, "demo", "--citizens takes a number from 1 to 5000");
  auto seed = number(a.Get("seed"), 2026, UINT64_MAX);
  if (!seed) return Usage(io, "demo", "--seed takes a non-negative number");

  auto setup = MakeSetup(a, io, "./tillit-demo");
  if (!setup.ok()) return Fail(io, "demo", setup.status());
  setup->options.passphrase = setup->passphrase ? &*setup->passphrase : nullptr;
  std::unique_ptr<vault::Vault> vault;
  std::optional<std::string> admin_token;
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
      admin_token = created->admin_token.token;
    } else {
      return Fail(io, "demo", opened.status());
    }
  }
  Progress progress(io);
  size_t resources = 0, bytes = 0, written = 0;
  std::map<std::string, size_t> by_type;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::pair<uint64_t, std::string>> new_citizens;
  for (uint64_t i = 0; i < *count; ++i) {
    const std::string bundle = vault::GenerateSyntheticBundle(*seed, i);
    auto outcome = vault->Import(bundle, vault::ImportFormat::kJson);
    if (!outcome.ok()) return Fail(io, "demo", outcome.status());
    if (outcome->created) new_citizens.emplace_back(i, outcome->citizen_id);
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
  consent::ConsentService consents(vault.get(), &vault::Clock::System(),
                                   &crypto::Random::System());
  auto demo = SetUpDemoConsent(consents, new_citizens);
  if (!demo.ok()) return Fail(io, "demo", demo.status());
  auto ids = vault->ListCitizenIds();
  if (!ids.ok()) return Fail(io, "demo", ids.status());
  std::map<std::string, int64_t> by_category;
  for (const auto& id : *ids) {
    auto s = vault->Summarize(id);
    if (!s.ok()) return Fail(io, "demo", s.status());
    for (const auto& [c, n] : s->by_category) by_category[c] += n;
  }
  const std::string dir =
      fs::absolute(setup->options.data_dir).lexically_normal().string();
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
    if (admin_token) j["admin_token"] = *admin_token;
    io.out << j.dump() << "\n";
    return kOk;
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
  if (admin_token)
    io.out << "  operator (admin) token, shown once: " << *admin_token << "\n";
  io.out << "Try:\n"
         << "  tillit citizen list --data " << dir << "\n"
         << "  tillit citizen verify --data " << dir << "\n"
         << "  tillit import --data " << dir << " ../shared/fixtures/synthea\n";
  return kOk;
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
          {"init", CmdInit},   {"import", CmdImport}, {"citizen", CmdCitizen},
          {"keys", CmdKeys},   {"keygen", CmdKeygen}, {"demo", CmdDemo},
          {"audit", CmdAudit},
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
