// `tillit init`: a new data directory with a root key, an audit log and a
// first operator token.
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>

#include "src/common.h"
#include "src/verbs.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

}  // namespace

const char kInitHelp[] =
    R"(Usage: tillit init [--data DIR] [--key-file FILE] [--passphrase-stdin] [--json]

Creates a data directory (mode 0700) holding a new vault: a random 256-bit
root key in DIR/root.key (mode 0600) or, with --passphrase-stdin, sealed
under the passphrase with Argon2id in DIR/root.sealed; an encrypted
registry; and a first operator (admin) token, printed once.

--json prints {"admin_token": "...", "data_dir": "..."}.
Refuses to touch a directory that already holds a vault or a key file.
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
  auto created = vault::Vault::Init(setup->options);
  if (!created.ok()) return Fail(io, "init", created.status());
  if (Status s = StartAuditLog(*created->vault); !s.ok())
    return Fail(io, "init", s);
  const std::string dir =
      fs::absolute(setup->options.data_dir).lexically_normal().string();
  if (a.Has("json")) {
    io.out << json{{"admin_token", created->admin_token.ExposeSecretText()},
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
           << created->admin_token.ExposeSecretText() << "\n";
  }
  return kOk;
}

}  // namespace tillit::cli
