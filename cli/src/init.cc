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
  auto created = vault::Vault::Init(setup->options);
  if (!created.ok()) return take_back(created.status());
  if (Status s = StartAuditLog(*created->vault); !s.ok()) {
    created->vault.reset();
    return take_back(s);
  }
  const std::string shown = fs::absolute(dir).lexically_normal().string();
  if (a.Has("json")) {
    io.out << json{{"admin_token", created->admin_token.ExposeSecretText()},
                   {"data_dir", shown}}
                  .dump()
           << "\n";
  } else {
    io.out << "Created a vault in " << shown << "\n"
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
