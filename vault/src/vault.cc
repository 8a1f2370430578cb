// Vault: creating and opening a data directory (the registry's schema is in
// sqlite_registry.cc). The other seams are in citizens.cc, rotation.cc,
// import.cc, directory.cc and tokens.cc (the token methods here hand over
// to the TokenStore); what they share is in vault_internals.h.
#include "tillit/vault/vault.h"

#include <cstdint>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/kdf.h"
#include "tillit/storage/files.h"
#include "vault_internals.h"

namespace tillit::vault {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kVaultFormat = "tillit-data-dir";
constexpr int64_t kVaultFormatVersion = Vault::kDataDirFormatVersion;
constexpr size_t kMaxVaultJsonBytes = 64 * 1024;
constexpr int64_t kAdminTokenTtl = 365LL * 24 * 3600;

std::string VaultJsonPath(const std::string& dir) {
  return dir + "/vault.json";
}

// The sub-keys of the master secret, for a shared store's sealed rows.
class MasterDeriver final : public crypto::KeyDeriver {
 public:
  explicit MasterDeriver(const crypto::SecretBytes& master) : master_(master) {}
  StatusOr<crypto::SecretBytes> DeriveKey(crypto::KdfContext context,
                                          uint64_t id) const override {
    return crypto::DeriveSubkey(master_, id, context);
  }

 private:
  const crypto::SecretBytes& master_;
};

StatusOr<RootKeys::Location> LocateKeys(const VaultOptions& o, bool sealed) {
  RootKeys::Location loc;
  loc.env = o.env;
  loc.path =
      o.key_path.value_or(o.data_dir + (sealed ? "/root.sealed" : "/root.key"));
  loc.passphrase = o.passphrase;
  loc.argon2 = o.argon2;
  return loc;
}

}  // namespace

bool IsValidId(std::string_view id, std::string_view prefix) {
  if (id.size() != prefix.size() + 32 ||
      id.substr(0, prefix.size()) != prefix) {
    return false;
  }
  for (char c : id.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status WriteVaultJson(Env* env, const std::string& dir, bool sealed,
                      std::span<const uint8_t> master_envelope) {
  nlohmann::json j = {
      {"format", kVaultFormat},
      {"version", kVaultFormatVersion},
      {"root_keys", sealed ? "sealed" : "file"},
      {"master", crypto::Base64Encode(master_envelope)},
  };
  return storage::WriteFileAtomic(VaultJsonPath(dir), j.dump(2) + "\n", 0600,
                                  env);
}

// ------------------------------------------------------------------ internals

Vault::Internals::Internals(
    const VaultOptions& options, RootKeys::Location location, bool sealed,
    RootKeys keys, crypto::Keyring keyring, crypto::SecretBytes master,
    crypto::SecretBytes patient_index_key, crypto::SecretBytes token_key,
    std::unique_ptr<Registry> registry, SqliteRegistry* sqlite_registry)
    : options(options),
      location(std::move(location)),
      sealed(sealed),
      master(std::move(master)),
      patient_index_key(std::move(patient_index_key)),
      registry(std::move(registry)),
      sqlite_registry(sqlite_registry),
      keys(std::move(keys)),
      keyring(std::move(keyring)),
      tokens(&this->registry->tokens(), std::move(token_key), options.clock,
             options.rng) {}

StatusOr<std::unique_ptr<Vault::Internals>> Vault::Internals::Open(
    const VaultOptions& options, RootKeys::Location location, bool sealed,
    RootKeys keys, crypto::Keyring keyring, crypto::SecretBytes master,
    bool create) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes registry_key,
      crypto::DeriveSubkey(master, 1, crypto::kContextRegistry));
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes patient_index_key,
      crypto::DeriveSubkey(master, 1, crypto::kContextPatientIndex));
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes token_key,
      crypto::DeriveSubkey(master, 1, crypto::kContextTokens));
  std::unique_ptr<Registry> registry;
  SqliteRegistry* sqlite_registry = nullptr;
  if (options.shared_store != nullptr) {
    TILLIT_ASSIGN_OR_RETURN(
        registry, options.shared_store->OpenRegistry(MasterDeriver(master)));
  } else {
    TILLIT_ASSIGN_OR_RETURN(
        std::unique_ptr<SqliteRegistry> opened,
        SqliteRegistry::Open(options.data_dir + "/registry.db", registry_key,
                             create, options.env));
    sqlite_registry = opened.get();
    registry = std::move(opened);
  }
  return std::unique_ptr<Internals>(new Internals(
      options, std::move(location), sealed, std::move(keys), std::move(keyring),
      std::move(master), std::move(patient_index_key), std::move(token_key),
      std::move(registry), sqlite_registry));
}

Status Vault::Internals::Recover() {
  // A shared vault never rotates its root keys and deletes an erased
  // citizen's rows in the erasure itself.
  if (shared() != nullptr) return Status::Ok();
  MutexLock lock(&mu);
  if (keys.version_count() > 1) {
    // A rotation was interrupted: finish it.
    TILLIT_RETURN_IF_ERROR(CompleteRotation());
  }
  // Files of citizens erased while a crash interrupted the deletion.
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> erased,
                          registry->ListErased());
  for (const std::string& id : erased) {
    TILLIT_RETURN_IF_ERROR(RemoveCitizenFiles(options.env, CitizenPath(id)));
  }
  return Status::Ok();
}

std::string Vault::Internals::CitizenPath(const std::string& citizen_id) const {
  return options.data_dir + "/citizens/" + citizen_id + ".db";
}

// ---------------------------------------------------------------------- vault

Vault::Vault(std::unique_ptr<Internals> in)
    : data_dir_(in->options.data_dir), in_(std::move(in)) {}

Vault::~Vault() = default;

StatusOr<Vault::Created> Vault::Init(const VaultOptions& options) {
  SharedStore* const shared = options.shared_store.get();
  std::error_code ec;
  if (shared != nullptr) {
    auto header = shared->ReadHeader();
    if (header.ok()) {
      return Status::AlreadyExists("a vault already exists in this store");
    }
    if (header.status().code() != StatusCode::kNotFound) {
      return header.status();
    }
  } else if (fs::exists(VaultJsonPath(options.data_dir), ec)) {
    return Status::AlreadyExists(
        "a vault already exists in this data directory");
  }
  const bool sealed = options.passphrase != nullptr;
  TILLIT_ASSIGN_OR_RETURN(RootKeys::Location loc, LocateKeys(options, sealed));
  if (fs::exists(loc.path, ec)) {
    return Status::AlreadyExists(
        "a root key file already exists; refusing to overwrite a key");
  }
  TILLIT_RETURN_IF_ERROR(
      storage::EnsurePrivateDirectory(options.data_dir, options.env));
  if (shared == nullptr) {
    TILLIT_RETURN_IF_ERROR(storage::EnsurePrivateDirectory(
        options.data_dir + "/citizens", options.env));
  }

  crypto::Random& rng = *options.rng;
  RootKeys keys = RootKeys::Generate(rng);
  TILLIT_RETURN_IF_ERROR(keys.Save(loc, rng));
  TILLIT_ASSIGN_OR_RETURN(crypto::Keyring keyring, keys.MakeKeyring());
  crypto::SecretBytes master = rng.Secret(32);
  std::vector<uint8_t> master_envelope =
      keyring.current().SealSecret(master, crypto::AsBytes(kMasterAd), rng);
  if (shared != nullptr) {
    Status created = shared->CreateHeader({sealed, std::move(master_envelope)});
    if (!created.ok()) {
      // Another init won the race, or the store failed: the new key file
      // opens nothing.
      (void)storage::RemoveFileIfExists(loc.path, options.env);
      return created;
    }
  } else {
    TILLIT_RETURN_IF_ERROR(
        WriteVaultJson(options.env, options.data_dir, sealed, master_envelope));
  }
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<Internals> in,
      Internals::Open(options, std::move(loc), sealed, std::move(keys),
                      std::move(keyring), std::move(master), /*create=*/true));

  std::unique_ptr<Vault> vault(new Vault(std::move(in)));
  TILLIT_ASSIGN_OR_RETURN(
      IssuedToken admin,
      vault->IssueToken("admin", "operator", kAdminTokenTtl));
  return Created{std::move(vault), std::move(admin)};
}

Env* Vault::env() const { return in_->options.env; }

SharedStore* Vault::shared_store() const { return in_->shared(); }

namespace {

// What vault.json says: whether the root keys are sealed, and the master
// secret's envelope.
StatusOr<SharedStore::Header> ReadVaultJson(const VaultOptions& options) {
  auto text = storage::ReadFileLimited(VaultJsonPath(options.data_dir),
                                       kMaxVaultJsonBytes);
  if (!text.ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(
          "no vault in this data directory (run `tillit init` first)");
    }
    return text.status();
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  auto field_is = [&](const char* name, auto check) {
    return j.is_object() && j.contains(name) && check(j[name]);
  };
  if (field_is("format",
               [](const nlohmann::json& v) {
                 return v.is_string() && v == kVaultFormat;
               }) &&
      field_is("version", [](const nlohmann::json& v) {
        return v.is_number_integer() && v.get<int64_t>() > kVaultFormatVersion;
      })) {
    std::string msg = "data directory at vault.json: format ";
    msg += std::to_string(j["version"].get<int64_t>());
    msg += " is newer than this tillit supports (";
    msg += std::to_string(kVaultFormatVersion);
    msg += "); upgrade tillit";
    return Status::FailedPrecondition(std::move(msg));
  }
  if (j.is_discarded() ||
      !field_is("format",
                [](const nlohmann::json& v) {
                  return v.is_string() && v == kVaultFormat;
                }) ||
      !field_is("version",
                [](const nlohmann::json& v) {
                  return v.is_number_integer() && v == kVaultFormatVersion;
                }) ||
      !field_is("master",
                [](const nlohmann::json& v) { return v.is_string(); }) ||
      !field_is("root_keys", [](const nlohmann::json& v) {
        return v.is_string() && (v == "sealed" || v == "file");
      })) {
    return Status::DataLoss("vault.json is damaged or of an unknown format");
  }
  auto master_env = crypto::Base64Decode(j["master"].get<std::string>());
  if (!master_env.ok()) return Status::DataLoss("vault.json is damaged");
  return SharedStore::Header{j["root_keys"] == "sealed",
                             std::move(master_env).value()};
}

}  // namespace

StatusOr<SharedStore::Header> Vault::DataDirHeader() const {
  if (in_->shared() != nullptr) {
    return Status::FailedPrecondition(
        "this vault is in a shared store, not a data directory");
  }
  return ReadVaultJson(in_->options);
}

StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& options) {
  SharedStore* const shared = options.shared_store.get();
  StatusOr<SharedStore::Header> header =
      shared != nullptr ? shared->ReadHeader() : ReadVaultJson(options);
  if (!header.ok()) {
    if (shared != nullptr && header.status().code() == StatusCode::kNotFound) {
      return Status::NotFound(
          "no vault in this store (run `tillit init --store` first)");
    }
    return header.status();
  }
  const bool sealed = header->sealed;
  if (sealed && options.passphrase == nullptr) {
    return Status::FailedPrecondition(
        "this vault's root keys are sealed with a passphrase "
        "(pass --passphrase-stdin)");
  }
  if (!sealed && options.passphrase != nullptr) {
    return Status::InvalidArgument(
        "this vault keeps its root keys in a key file, not under a passphrase");
  }
  TILLIT_ASSIGN_OR_RETURN(RootKeys::Location location,
                          LocateKeys(options, sealed));
  auto keys = RootKeys::Load(location);
  if (!keys.ok()) return keys.status().WithContext("root keys");
  TILLIT_ASSIGN_OR_RETURN(crypto::Keyring keyring, keys->MakeKeyring());
  auto master =
      keyring.OpenSecret(header->master_envelope, crypto::AsBytes(kMasterAd));
  if (!master.ok()) {
    return Status::Unauthenticated(
        "the root keys do not open this vault (wrong key file or passphrase)");
  }
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<Internals> in,
      Internals::Open(options, std::move(location), sealed,
                      std::move(keys).value(), std::move(keyring),
                      std::move(master).value(), /*create=*/false));

  std::unique_ptr<Vault> vault(new Vault(std::move(in)));
  TILLIT_RETURN_IF_ERROR(vault->in_->Recover());
  if (shared == nullptr) {
    // Best effort: an unregistered file is unreadable garbage, and what
    // cannot be removed now is found again at the next open.
    (void)SweepOrphanedCitizenFiles(*vault, options.env, kOrphanMinAgeSeconds);
  }
  return vault;
}

uint32_t Vault::root_key_version() const {
  MutexLock lock(&in_->mu);
  return in_->keys.current_version();
}

StatusOr<crypto::SecretBytes> Vault::DeriveKey(crypto::KdfContext context,
                                               uint64_t id) const {
  // The master secret is immutable: no lock.
  return crypto::DeriveSubkey(in_->master, id, context);
}

// -------------------------------------------------------------------- tokens

StatusOr<IssuedToken> Vault::IssueToken(std::string_view role,
                                        std::string_view principal,
                                        int64_t ttl_seconds) {
  return in_->tokens.Issue(role, principal, ttl_seconds);
}

StatusOr<TokenInfo> Vault::VerifyToken(std::string_view token) {
  return in_->tokens.Verify(token);
}

StatusOr<TokenInfo> Vault::RedeemToken(std::string_view token,
                                       std::string_view role) {
  return in_->tokens.Redeem(token, role);
}

Status Vault::RevokeToken(std::string_view token) {
  return in_->tokens.Revoke(token);
}

StatusOr<int64_t> Vault::RevokePrincipalTokens(std::string_view principal) {
  return in_->tokens.RevokePrincipal(principal);
}

}  // namespace tillit::vault
