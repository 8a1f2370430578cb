// `tillit keys rotate`, `tillit keygen` and `tillit decrypt`, and the X25519
// key files they use (keys.h). Every call into the crypto primitives for
// these keys is in this file.
#include "src/keys.h"

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/crypto/box.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"
#include "tillit/research/sealed.h"
#include "tillit/storage/files.h"

namespace tillit::cli {
namespace {

using nlohmann::json;

// Creates `path` (AlreadyExists if it exists) holding `bytes`, synced,
// through `env`. On failure nothing is left at `path`.
Status WriteNewFile(Env* env, const std::string& path,
                    std::span<const uint8_t> bytes, unsigned mode) {
  StatusOr<std::unique_ptr<WritableFile>> file =
      env->NewWritableFile(path, mode, /*exclusive=*/true);
  if (!file.ok()) {
    if (file.status().code() == StatusCode::kAlreadyExists) {
      return Status::AlreadyExists(path + " already exists");
    }
    return Status::IoError("cannot create " + path + ": " +
                           file.status().message());
  }
  std::string step = "cannot write ";
  Status s = (*file)->Append(bytes);
  if (s.ok()) {
    step = "cannot sync ";
    s = (*file)->Sync();
  }
  Status closed = (*file)->Close();
  if (s.ok()) s = closed;
  if (s.ok()) return Status::Ok();
  (void)env->RemoveFile(path);
  return Status::IoError(step + path + ": " + s.message());
}

// Replaces `path` by a file holding `bytes`: a new file, then a rename.
Status ReplaceFile(Env* env, const std::string& path,
                   std::span<const uint8_t> bytes, unsigned mode) {
  return storage::WriteFileAtomic(path, bytes, mode, env)
      .WithContext("cannot replace " + path);
}

// PREFIX.key (base64 secret key, mode 0600) and PREFIX.pub (base64 public
// key), one line each, through `env`, durably. Existing files are refused,
// or with `replace` replaced. PREFIX.key is removed again if PREFIX.pub
// fails, and both if their directory cannot be synced.
Status WriteKeyPair(Env* env, const std::string& prefix,
                    const crypto::BoxKeyPair& pair, bool replace) {
  const std::string pub_path = prefix + ".pub", key_path = prefix + ".key";
  auto write = [env, replace](const std::string& path,
                              std::span<const uint8_t> bytes, unsigned mode) {
    return replace ? ReplaceFile(env, path, bytes, mode)
                   : WriteNewFile(env, path, bytes, mode);
  };
  crypto::SecretBytes secret_b64 = crypto::Base64EncodeSecret(pair.secret_key);
  crypto::SecretBytes secret_line =
      crypto::SecretBytes::Allocate(secret_b64.size() + 1);
  std::memcpy(secret_line.ExposeSecret(), secret_b64.ExposeSecret(),
              secret_b64.size());
  secret_line.ExposeSecret()[secret_b64.size()] = '\n';
  TILLIT_RETURN_IF_ERROR(write(key_path, secret_line.ExposeSecretSpan(), 0600));
  const std::string pub = crypto::Base64Encode(pair.public_key) + "\n";
  if (Status s = write(pub_path, crypto::AsBytes(pub), 0644); !s.ok()) {
    (void)env->RemoveFile(key_path);
    return s;
  }
  if (replace) return Status::Ok();  // each replacement synced its directory
  // The new names are durable only once their directory is synced.
  if (Status s = env->SyncDirectory(DirectoryOf(key_path)); !s.ok()) {
    (void)env->RemoveFile(key_path);
    (void)env->RemoveFile(pub_path);
    return Status::IoError("cannot sync the directory of " + key_path + ": " +
                           s.message());
  }
  return Status::Ok();
}

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
  StatusOr<crypto::BoxKeyPair> pair =
      crypto::BoxKeyPair::FromSecretKey(std::move(secret).value());
  if (!pair.ok()) {
    return Status::InvalidArgument(path + " holds an unusable secret key");
  }
  return pair;
}

}  // namespace

StatusOr<std::string> MakeKeyPairFiles(const std::string& prefix, bool replace,
                                       Env* env) {
  crypto::EnvRandom random(env);
  crypto::BoxKeyPair pair = crypto::BoxKeyPair::Generate(random);
  TILLIT_RETURN_IF_ERROR(WriteKeyPair(env, prefix, pair, replace));
  return crypto::Base64Encode(pair.public_key);
}

// ---------------------------------------------------------------- keys

const char kKeysHelp[] =
    R"(Usage: tillit keys rotate [--data DIR] [--citizen ID] [--json]

Without --citizen: adds a new root-key version, rewraps the master secret
and every citizen's data key under it, then forgets the old version.
Citizen files are not rewritten. Keep a backup of the new key file.
With --citizen ID: re-encrypts that citizen's store under a new data key.
)";

int CmdKeys(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("citizen");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "keys", s.message());
  if (a.Has("help")) return io.out << kKeysHelp, kOk;
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

// -------------------------------------------------------------- keygen

const char kKeygenHelp[] = R"(Usage: tillit keygen --out PREFIX

Writes an X25519 key pair for receiving research releases:
PREFIX.pub (base64 public key, one line) and PREFIX.key (base64 secret key,
mode 0600). Refuses to overwrite existing files.
)";

int CmdKeygen(int argc, char** argv, Io& io) {
  Args a;
  a.Option("out").Flag("help").Flag("json");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "keygen", s.message());
  if (a.Has("help")) return io.out << kKeygenHelp, kOk;
  if (!a.positional().empty())
    return Usage(io, "keygen", "unexpected argument " + a.positional()[0]);
  auto prefix = a.Get("out");
  if (!prefix || prefix->empty())
    return Usage(io, "keygen", "--out PREFIX is required");
  Env* const env = FileEnv();
  const std::string pub_path = *prefix + ".pub", key_path = *prefix + ".key";
  for (const auto& p : {pub_path, key_path}) {
    if (env->FileExists(p))
      return Fail(io, "keygen", Status::AlreadyExists(p + " already exists"));
  }
  auto public_key = MakeKeyPairFiles(*prefix, /*replace=*/false, env);
  if (!public_key.ok()) return Fail(io, "keygen", public_key.status());
  if (a.Has("json")) {
    io.out << json{{"public_key", *public_key},
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

const char kDecryptHelp[] =
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
)";

int CmdDecrypt(int argc, char** argv, Io& io) {
  Args a;
  a.Option("key").Option("out").Flag("json").Flag("help");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "decrypt", s.message());
  if (a.Has("help")) return io.out << kDecryptHelp, kOk;
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
  auto members =
      research::DecryptSealedFile(release, *key, *out_dir, FileEnv());
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

}  // namespace tillit::cli
