// `tillit init`: a new data directory with a root key, an audit log and a
// first operator token.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "src/common.h"
#include "src/verbs.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

}  // namespace

const char kInitHelp[] =
    R"(Usage: tillit init [--data DIR] [--store URL] [--key-file FILE]
                   [--passphrase-stdin] [--json]

Creates a data directory (mode 0700) holding a new vault: a random 256-bit
root key in DIR/root.key (mode 0600) or, with --passphrase-stdin, sealed
under the passphrase with Argon2id in DIR/root.sealed; an encrypted
registry; and a first operator (admin) token, printed once.

--store URL creates the vault in PostgreSQL instead (a postgresql:// URL,
also $TILLIT_STORE; the password from a password file, PGPASSFILE or
passfile=FILE in the URL, never the URL; sslmode=verify-full for TLS).
DIR then holds only the root key, which every node that serves the vault
needs a copy of.

--json prints {"admin_token": "...", "data_dir": "...", "store": false}.
Refuses to touch a directory or a store that already holds a vault, or a
key file.
)";

int CmdInit(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a);
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "init", s.message());
  if (a.Has("help")) return io.out << kInitHelp, kOk;
  if (!a.positional().empty())
    return Usage(io, "init", "unexpected argument " + a.positional()[0]);
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "init", setup.status());
  setup->options.passphrase = setup->passphrase ? &*setup->passphrase : nullptr;
  // What a failed init takes back (a disk error half way): the directory
  // when it was new or empty, and a key file it wrote elsewhere. Without
  // that, the same command would then refuse to run on what was left.
  const std::string& dir = setup->options.data_dir;
  std::error_code ec;
  const bool dir_was_empty = !fs::exists(dir, ec) || fs::is_empty(dir, ec);
  const std::optional<std::string>& key = setup->options.key_path;
  const bool key_was_there = key && fs::exists(*key, ec);
  auto take_back = [&](const Status& s) {
    if (s.code() != StatusCode::kAlreadyExists &&
        s.code() != StatusCode::kFailedPrecondition) {
      if (dir_was_empty) {
        for (const auto& e : fs::directory_iterator(dir, ec))
          fs::remove_all(e.path(), ec);
      }
      if (key && !key_was_there) fs::remove(*key, ec);
    }
    return Fail(io, "init", s);
  };
  const bool shared = setup->options.shared_store != nullptr;
  auto created = vault::Vault::Init(setup->options);
  if (!created.ok()) return take_back(created.status());
  if (Status s = StartAuditLog(*created->vault); !s.ok()) {
    created->vault.reset();
    // The store holds the new vault now, and its key is the file: keep it.
    if (shared) {
      return Fail(io, "init",
                  s.WithContext("the vault was created, but its audit log "
                                "could not be started (`tillit serve` starts "
                                "it)"));
    }
    return take_back(s);
  }
  const std::string shown = fs::absolute(dir).lexically_normal().string();
  if (a.Has("json")) {
    io.out << json{{"admin_token", created->admin_token.ExposeSecretText()},
                   {"data_dir", shown},
                   {"store", shared}}
                  .dump()
           << "\n";
  } else {
    io.out << (shared ? "Created a vault in the PostgreSQL store; this node's "
                        "directory is "
                      : "Created a vault in ")
           << shown << "\n"
           << (shared && !setup->passphrase
                   ? "Every node that serves it needs a copy of the root "
                     "key.\n"
                   : "")
           << (setup->passphrase
                   ? "Root key sealed under your passphrase (Argon2id).\n"
                   : "Root key: " +
                         setup->options.key_path.value_or(shown + "/root.key") +
                         " (mode 0600) — back it up and keep it apart from the "
                         "data.\n")
           << "Operator (admin) token, shown only this once:\n  "
           << created->admin_token.ExposeSecretText() << "\n";
  }
  return kOk;
}

}  // namespace tillit::cli
