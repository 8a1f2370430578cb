#include "tillit/vault/vault.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "tillit/crypto/aead.h"
#include "tillit/crypto/constant_time.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/kdf.h"
#include "tillit/storage/files.h"

namespace tillit::vault {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kVaultFormat = "tillit-data-dir";
constexpr int kVaultFormatVersion = 1;
constexpr std::string_view kMasterAd = "tillit/master/1";
constexpr size_t kMaxVaultJsonBytes = 64 * 1024;
constexpr int64_t kAdminTokenTtl = 365LL * 24 * 3600;

constexpr const char* kRegistrySchema = R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS meta (
  key   TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1);
CREATE TABLE IF NOT EXISTS citizens (
  id          TEXT PRIMARY KEY,
  created_at  INTEGER NOT NULL,
  dek_version INTEGER NOT NULL,
  wrapped_dek BLOB    NOT NULL,   -- envelope under the root keys
  pending_dek BLOB,               -- during a rekey: the next DEK, wrapped
  generation  INTEGER NOT NULL,   -- the citizen file may never be older
  patient_key BLOB UNIQUE         -- keyed hash of the source Patient.id
);
CREATE TABLE IF NOT EXISTS erased (
  id        TEXT PRIMARY KEY,
  erased_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS citizen_index (
  citizen_id TEXT NOT NULL,
  kind       TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,       -- metadata only, never health data
  PRIMARY KEY (citizen_id, kind, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS citizen_index_by_kind ON citizen_index (kind);
INSERT OR IGNORE INTO meta (key, value) VALUES ('index_version', 0);
CREATE TABLE IF NOT EXISTS directory (
  kind       TEXT    NOT NULL,    -- "researcher", "study", ...
  id         TEXT    NOT NULL,
  value      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
  hash       BLOB PRIMARY KEY,    -- keyed hash; the token itself is never kept
  role       TEXT    NOT NULL,
  principal  TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
COMMIT;
)sql";

std::string DekAd(std::string_view citizen_id, int64_t version) {
  std::string ad = "tillit/dek/1|";
  ad += citizen_id;
  ad += '|';
  ad += std::to_string(version);
  return ad;
}

std::string NewId(crypto::Random& rng, std::string_view prefix) {
  return std::string(prefix) + rng.Hex(16);
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

struct Vault::Internals {
  VaultOptions options;
  RootKeys::Location location;
  std::optional<RootKeys> keys;
  std::optional<crypto::Keyring> keyring;
  crypto::SecretBytes master;
  crypto::SecretBytes patient_index_key;
  crypto::SecretBytes token_key;
  std::unique_ptr<storage::Database> registry;
  bool sealed = false;
};

namespace {

// Removes a citizen's database file and its WAL, shared-memory and
// journal companions.
Status RemoveCitizenFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    TILLIT_RETURN_IF_ERROR(storage::RemoveFileIfExists(path + suffix));
  }
  return Status::Ok();
}

std::string VaultJsonPath(const std::string& dir) {
  return dir + "/vault.json";
}

Status WriteVaultJson(const std::string& dir, bool sealed,
                      std::span<const uint8_t> master_envelope) {
  nlohmann::json j = {
      {"format", kVaultFormat},
      {"version", kVaultFormatVersion},
      {"root_keys", sealed ? "sealed" : "file"},
      {"master", crypto::Base64Encode(master_envelope)},
  };
  return storage::WriteFileAtomic(VaultJsonPath(dir), j.dump(2) + "\n", 0600);
}

StatusOr<RootKeys::Location> LocateKeys(const VaultOptions& o, bool sealed) {
  RootKeys::Location loc;
  loc.path =
      o.key_path.value_or(o.data_dir + (sealed ? "/root.sealed" : "/root.key"));
  loc.passphrase = o.passphrase;
  loc.argon2 = o.argon2;
  return loc;
}

// Derives the sub-keys and opens the registry.
Status OpenRegistry(Vault::Internals* in, const std::string& dir, bool create) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes registry_key,
      crypto::DeriveSubkey(in->master, 1, crypto::kContextRegistry));
  TILLIT_ASSIGN_OR_RETURN(
      in->patient_index_key,
      crypto::DeriveSubkey(in->master, 1, crypto::kContextPatientIndex));
  TILLIT_ASSIGN_OR_RETURN(
      in->token_key,
      crypto::DeriveSubkey(in->master, 1, crypto::kContextTokens));
  storage::Database::Options opts;
  opts.create = create;
  auto db = storage::Database::Open(dir + "/registry.db", &registry_key, opts,
                           [](storage::Database& d) { return d.Exec(kRegistrySchema); });
  if (!db.ok()) return db.status().WithContext("registry");
  in->registry = std::move(db).value();
  return Status::Ok();
}
}  // namespace

Vault::Vault(std::unique_ptr<Internals> in)
    : data_dir_(in->options.data_dir), in_(std::move(in)) {}

Vault::~Vault() = default;

StatusOr<Vault::Created> Vault::Init(const VaultOptions& options) {
  std::error_code ec;
  if (fs::exists(VaultJsonPath(options.data_dir), ec)) {
    return Status::AlreadyExists(
        "a vault already exists in this data directory");
  }
  const bool sealed = options.passphrase != nullptr;
  TILLIT_ASSIGN_OR_RETURN(RootKeys::Location loc, LocateKeys(options, sealed));
  if (fs::exists(loc.path, ec)) {
    return Status::AlreadyExists(
        "a root key file already exists; refusing to overwrite a key");
  }
  TILLIT_RETURN_IF_ERROR(storage::EnsurePrivateDirectory(options.data_dir));
  TILLIT_RETURN_IF_ERROR(
      storage::EnsurePrivateDirectory(options.data_dir + "/citizens"));

  crypto::Random& rng = *options.rng;
  auto in = std::make_unique<Internals>();
  in->options = options;
  in->location = loc;
  in->sealed = sealed;
  in->keys = RootKeys::Generate(rng);
  TILLIT_RETURN_IF_ERROR(in->keys->Save(loc, rng));
  TILLIT_ASSIGN_OR_RETURN(in->keyring, in->keys->MakeKeyring());
  in->master = rng.Secret(32);
  TILLIT_RETURN_IF_ERROR(
      WriteVaultJson(options.data_dir, sealed,
                     in->keyring->current().SealSecret(
                         in->master, crypto::AsBytes(kMasterAd), rng)));
  TILLIT_RETURN_IF_ERROR(OpenRegistry(in.get(), options.data_dir, true));

  std::unique_ptr<Vault> vault(new Vault(std::move(in)));
  TILLIT_ASSIGN_OR_RETURN(
      IssuedToken admin,
      vault->IssueToken("admin", "operator", kAdminTokenTtl));
  return Created{std::move(vault), std::move(admin)};
}

StatusOr<std::unique_ptr<Vault>> Vault::Open(const VaultOptions& options) {
  auto text =
      storage::ReadFileLimited(VaultJsonPath(options.data_dir), kMaxVaultJsonBytes);
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
  const bool sealed = j["root_keys"] == "sealed";
  if (sealed && options.passphrase == nullptr) {
    return Status::FailedPrecondition(
        "this vault's root keys are sealed with a passphrase "
        "(pass --passphrase-stdin)");
  }
  if (!sealed && options.passphrase != nullptr) {
    return Status::InvalidArgument(
        "this vault keeps its root keys in a key file, not under a passphrase");
  }
  auto master_env = crypto::Base64Decode(j["master"].get<std::string>());
  if (!master_env.ok()) return Status::DataLoss("vault.json is damaged");

  auto in = std::make_unique<Internals>();
  in->options = options;
  in->sealed = sealed;
  TILLIT_ASSIGN_OR_RETURN(in->location, LocateKeys(options, sealed));
  auto keys = RootKeys::Load(in->location);
  if (!keys.ok()) return keys.status().WithContext("root keys");
  in->keys = std::move(keys).value();
  TILLIT_ASSIGN_OR_RETURN(in->keyring, in->keys->MakeKeyring());
  auto master =
      in->keyring->OpenSecret(*master_env, crypto::AsBytes(kMasterAd));
  if (!master.ok()) {
    return Status::Unauthenticated(
        "the root keys do not open this vault (wrong key file or passphrase)");
  }
  in->master = std::move(master).value();
  TILLIT_RETURN_IF_ERROR(OpenRegistry(in.get(), options.data_dir, false));

  std::unique_ptr<Vault> vault(new Vault(std::move(in)));
  {
    std::lock_guard<std::mutex> lock(vault->mu_);
    if (vault->in_->keys->version_count() > 1) {
      // A rotation was interrupted: finish it.
      TILLIT_RETURN_IF_ERROR(vault->CompleteRotation());
    }
    // Files of citizens erased while a crash interrupted the deletion.
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st, vault->in_->registry->Prepare("SELECT id FROM erased"));
    for (;;) {
      TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      TILLIT_RETURN_IF_ERROR(RemoveCitizenFiles(
          vault->CitizenPath(std::string(st.ColumnText(0)))));
    }
  }
  return vault;
}

std::string Vault::CitizenPath(const std::string& citizen_id) const {
  return data_dir_ + "/citizens/" + citizen_id + ".db";
}

uint32_t Vault::root_key_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_->keys->current_version();
}

StatusOr<crypto::SecretBytes> Vault::DeriveKey(crypto::KdfContext context,
                                               uint64_t id) const {
  std::lock_guard<std::mutex> lock(mu_);
  return crypto::DeriveSubkey(in_->master, id, context);
}

// ------------------------------------------------------------------ citizens

namespace {

// Registers a citizen whose file already exists. REQUIRES: mu held.
// AlreadyExists when `patient_key` is already registered.
Status RegisterCitizenLocked(Vault::Internals* in, const std::string& id,
                             const crypto::SecretBytes& dek, int64_t generation,
                             const std::optional<crypto::Digest>& patient_key) {
  std::vector<uint8_t> wrapped = in->keyring->current().SealSecret(
      dek, crypto::AsBytes(DekAd(id, 1)), *in->options.rng);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in->registry->Prepare(
          "INSERT INTO citizens (id, created_at, dek_version, wrapped_dek, "
          "generation, patient_key) VALUES (?1, ?2, 1, ?3, ?4, ?5)"));
  st.Bind(1, id).Bind(2, in->options.clock->NowSeconds()).BindBlob(3, wrapped);
  st.Bind(4, generation);
  if (patient_key) {
    st.BindBlob(5, *patient_key);
  } else {
    st.BindNull(5);
  }
  return st.Run();
}

// Creates a new citizen file (schema, and `resources` if any, in one
// transaction), then registers it. The file is written first: a crash in
// between leaves an unregistered file whose key was never stored, which
// nothing can read. AlreadyExists when `patient_key` was registered
// concurrently.
StatusOr<std::pair<std::string, PutResult>> CreateCitizenWith(
    Vault::Internals* in, std::mutex& mu, const std::string& data_dir,
    const std::optional<crypto::Digest>& patient_key,
    std::span<const fhir::ParsedResource> resources, std::string_view source,
    const Vault::BeforeImportWrite& before_write = nullptr) {
  crypto::Random& rng = *in->options.rng;
  const std::string id = NewId(rng, "c_");
  if (before_write) TILLIT_RETURN_IF_ERROR(before_write(id));
  const std::string path = data_dir + "/citizens/" + id + ".db";
  crypto::SecretBytes dek = rng.Secret(32);
  PutResult put;
  int64_t generation = 0;
  {
    storage::Database::Options opts;
    opts.create = true;
    // With records, the schema is created in the same transaction as
    // they are (one write and sync of the new file).
    auto db = storage::Database::Open(path, &dek, opts,
                             resources.empty() ? CitizenStore::Setup : nullptr);
    if (!db.ok()) {
      (void)RemoveCitizenFiles(path);  // best effort: the error wins
      return db.status().WithContext("create citizen store");
    }
    if (!resources.empty()) {
      auto store = CitizenStore::CreateNew(id, std::move(db).value());
      auto r = store->Put(resources, source, in->options.clock->NowSeconds());
      if (!r.ok()) {
        (void)RemoveCitizenFiles(path);  // best effort: the error wins
        return r.status();
      }
      put = std::move(r).value();
      generation = store->generation();
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  Status s = RegisterCitizenLocked(in, id, dek, generation, patient_key);
  if (!s.ok()) {
    (void)RemoveCitizenFiles(path);  // best effort: the error wins
    return s.code() == StatusCode::kAlreadyExists
               ? s
               : s.WithContext("register citizen");
  }
  return std::make_pair(id, std::move(put));
}

}  // namespace

StatusOr<std::string> Vault::CreateCitizen() {
  TILLIT_ASSIGN_OR_RETURN(
      auto created,
      CreateCitizenWith(in_.get(), mu_, data_dir_, std::nullopt, {}, ""));
  return created.first;
}

StatusOr<std::vector<std::string>> Vault::ListCitizenIds() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st, in_->registry->Prepare(
                        "SELECT id FROM citizens ORDER BY created_at, id"));
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(st.ColumnText(0));
  }
  return out;
}

StatusOr<crypto::SecretBytes> Vault::UnwrapDek(const std::string& citizen_id,
                                               std::span<const uint8_t> wrapped,
                                               int64_t dek_version) {
  auto dek = in_->keyring->OpenSecret(
      wrapped, crypto::AsBytes(DekAd(citizen_id, dek_version)));
  if (!dek.ok()) {
    return Status::DataLoss("the citizen's data key cannot be unwrapped");
  }
  return dek;
}

namespace {

// Replaces `update`'s rows (or, with `all_kinds`, every row) of one citizen
// in the registry mirror. REQUIRES: mu held, inside a transaction.
Status ReplaceIndexRowsLocked(storage::Database& registry, const std::string& citizen_id,
                              const std::vector<IndexUpdate>& updates,
                              bool all_kinds) {
  if (all_kinds) {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement del,
        registry.Prepare("DELETE FROM citizen_index WHERE citizen_id = ?1"));
    del.Bind(1, citizen_id);
    TILLIT_RETURN_IF_ERROR(del.Run());
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement del_kind,
      registry.Prepare(
          "DELETE FROM citizen_index WHERE citizen_id = ?1 AND kind = ?2"));
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement add,
      registry.Prepare("INSERT INTO citizen_index (citizen_id, kind, key, "
                       "value) VALUES (?1, ?2, ?3, ?4)"));
  for (const IndexUpdate& u : updates) {
    if (!all_kinds) {
      del_kind.Bind(1, citizen_id).Bind(2, u.kind);
      TILLIT_RETURN_IF_ERROR(del_kind.Run());
    }
    for (const IndexRow& row : u.rows) {
      add.Bind(1, citizen_id)
          .Bind(2, u.kind)
          .Bind(3, row.key)
          .Bind(4, row.value);
      TILLIT_RETURN_IF_ERROR(add.Run());
    }
  }
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement bump,
      registry.Prepare(
          "UPDATE meta SET value = value + 1 WHERE key = 'index_version'"));
  return bump.Run();
}

}  // namespace

Status Vault::SetGeneration(const std::string& citizen_id, int64_t generation,
                            const std::vector<IndexUpdate>& index,
                            bool replace_all_index_rows) {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, in_->registry->Begin());
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare("UPDATE citizens SET generation = ?2 "
                             "WHERE id = ?1 AND generation < ?2"));
  st.Bind(1, citizen_id).Bind(2, generation);
  TILLIT_RETURN_IF_ERROR(st.Run());
  if (!index.empty() || replace_all_index_rows) {
    TILLIT_RETURN_IF_ERROR(ReplaceIndexRowsLocked(
        *in_->registry, citizen_id, index, replace_all_index_rows));
  }
  return txn.Commit();
}

StatusOr<std::unique_ptr<CitizenStore>> Vault::OpenCitizen(
    const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  crypto::SecretBytes dek;
  std::optional<crypto::SecretBytes> pending;
  int64_t dek_version = 0;
  int64_t registry_generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        in_->registry->Prepare("SELECT wrapped_dek, dek_version, pending_dek, "
                               "generation FROM citizens WHERE id = ?1"));
    st.Bind(1, citizen_id);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("no such citizen");
    dek_version = st.ColumnInt64(1);
    registry_generation = st.ColumnInt64(3);
    TILLIT_ASSIGN_OR_RETURN(
        dek, UnwrapDek(citizen_id, st.ColumnBlob(0), dek_version));
    if (!st.ColumnIsNull(2)) {
      TILLIT_ASSIGN_OR_RETURN(
          crypto::SecretBytes p,
          UnwrapDek(citizen_id, st.ColumnBlob(2), dek_version + 1));
      pending = std::move(p);
    }
  }
  const std::string path = CitizenPath(citizen_id);
  auto db = storage::Database::Open(path, &dek, {}, CitizenStore::Setup);
  if (!db.ok() && db.status().code() == StatusCode::kDataLoss && pending) {
    // A rekey committed in the file but not yet in the registry.
    db = storage::Database::Open(path, &*pending, {}, CitizenStore::Setup);
    if (db.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st, in_->registry->Prepare(
                            "UPDATE citizens SET wrapped_dek = pending_dek, "
                            "pending_dek = NULL, "
                            "dek_version = dek_version + 1 WHERE id = ?1"));
      st.Bind(1, citizen_id);
      TILLIT_RETURN_IF_ERROR(st.Run());
    }
  }
  if (!db.ok()) {
    if (db.status().code() == StatusCode::kNotFound) {
      return Status::DataLoss("the citizen's store file is missing");
    }
    return db.status().WithContext("citizen store");
  }
  TILLIT_ASSIGN_OR_RETURN(int64_t file_generation,
                          CitizenStore::ReadGeneration(**db));
  if (file_generation < registry_generation) {
    return Status::DataLoss(
        "citizen store was rolled back to an older copy (generation " +
        std::to_string(file_generation) + " < " +
        std::to_string(registry_generation) + ")");
  }
  auto store = std::make_unique<CitizenStore>(
      citizen_id, std::move(db).value(), file_generation,
      [this, citizen_id](int64_t g, const IndexUpdate* index) {
        std::vector<IndexUpdate> updates;
        if (index != nullptr) updates.push_back(*index);
        return SetGeneration(citizen_id, g, updates, false);
      },
      in_->options.clock->NowSeconds());
  if (file_generation > registry_generation) {
    // The last write committed in the file but the registry missed it:
    // catch up the generation and mirror the index rows the file keeps.
    TILLIT_ASSIGN_OR_RETURN(std::vector<IndexUpdate> rows,
                            store->ReadIndexRows());
    TILLIT_RETURN_IF_ERROR(
        SetGeneration(citizen_id, file_generation, rows, true));
  }
  return store;
}

StatusOr<CitizenSummary> Vault::Summarize(const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
  CitizenSummary s;
  s.citizen_id = citizen_id;
  TILLIT_ASSIGN_OR_RETURN(s.records, store->Count());
  TILLIT_ASSIGN_OR_RETURN(s.by_category, store->CountByCategory());
  TILLIT_ASSIGN_OR_RETURN(s.by_type, store->CountByType());
  return s;
}

Status Vault::VerifyCitizen(const std::string& citizen_id) {
  // Opening checks key, first page and generation; then every page.
  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
  store.reset();
  crypto::SecretBytes dek;
  {
    std::lock_guard<std::mutex> lock(mu_);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        in_->registry->Prepare(
            "SELECT wrapped_dek, dek_version FROM citizens WHERE id = ?1"));
    st.Bind(1, citizen_id);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("no such citizen");
    TILLIT_ASSIGN_OR_RETURN(
        dek, UnwrapDek(citizen_id, st.ColumnBlob(0), st.ColumnInt64(1)));
  }
  return storage::Database::VerifyFile(CitizenPath(citizen_id), &dek);
}

Status Vault::EraseCitizen(const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  std::lock_guard<std::mutex> lock(mu_);
  {
    // 1. Destroy the wrapped data key (crypto-shredding).
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, in_->registry->Begin());
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement del,
        in_->registry->Prepare("DELETE FROM citizens WHERE id = ?1"));
    del.Bind(1, citizen_id);
    TILLIT_RETURN_IF_ERROR(del.Run());
    if (in_->registry->Changes() != 1)
      return Status::NotFound("no such citizen");
    TILLIT_RETURN_IF_ERROR(
        ReplaceIndexRowsLocked(*in_->registry, citizen_id, {}, true));
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement tomb,
        in_->registry->Prepare(
            "INSERT OR REPLACE INTO erased (id, erased_at) VALUES (?1, ?2)"));
    tomb.Bind(1, citizen_id).Bind(2, in_->options.clock->NowSeconds());
    TILLIT_RETURN_IF_ERROR(tomb.Run());
    TILLIT_RETURN_IF_ERROR(txn.Commit());
    TILLIT_RETURN_IF_ERROR(in_->registry->Checkpoint());
  }
  // 2. Rotate the root keys so an older copy of the registry, which still
  //    holds the wrapped key, cannot be opened with the keys that remain.
  crypto::Random& rng = *in_->options.rng;
  in_->keys->AddVersion(rng);
  TILLIT_RETURN_IF_ERROR(in_->keys->Save(in_->location, rng));
  TILLIT_ASSIGN_OR_RETURN(in_->keyring, in_->keys->MakeKeyring());
  TILLIT_RETURN_IF_ERROR(CompleteRotation());
  // 3. Delete the file.
  return RemoveCitizenFiles(CitizenPath(citizen_id));
}

// ---------------------------------------------------------------------- keys

Status Vault::CompleteRotation() {
  crypto::Random& rng = *in_->options.rng;
  // The master secret, under the current version.
  TILLIT_RETURN_IF_ERROR(
      WriteVaultJson(data_dir_, in_->sealed,
                     in_->keyring->current().SealSecret(
                         in_->master, crypto::AsBytes(kMasterAd), rng)));
  // Every data key, under the current version.
  {
    TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn, in_->registry->Begin());
    struct Row {
      std::string id;
      int64_t version;
      std::vector<uint8_t> wrapped;
      std::optional<std::vector<uint8_t>> pending;
    };
    std::vector<Row> rows;
    {
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          in_->registry->Prepare("SELECT id, dek_version, wrapped_dek, "
                                 "pending_dek FROM citizens"));
      for (;;) {
        TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        Row r{std::string(st.ColumnText(0)),
              st.ColumnInt64(1),
              {st.ColumnBlob(2).begin(), st.ColumnBlob(2).end()},
              std::nullopt};
        if (!st.ColumnIsNull(3)) {
          r.pending.emplace(st.ColumnBlob(3).begin(), st.ColumnBlob(3).end());
        }
        rows.push_back(std::move(r));
      }
    }
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement update,
        in_->registry->Prepare("UPDATE citizens SET wrapped_dek = ?2, "
                               "pending_dek = ?3 WHERE id = ?1"));
    for (const Row& r : rows) {
      TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes dek,
                              UnwrapDek(r.id, r.wrapped, r.version));
      auto rewrapped = in_->keyring->current().SealSecret(
          dek, crypto::AsBytes(DekAd(r.id, r.version)), rng);
      update.Bind(1, r.id).BindBlob(2, rewrapped);
      if (r.pending) {
        TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes next,
                                UnwrapDek(r.id, *r.pending, r.version + 1));
        update.BindBlob(
            3, in_->keyring->current().SealSecret(
                   next, crypto::AsBytes(DekAd(r.id, r.version + 1)), rng));
      } else {
        update.BindNull(3);
      }
      TILLIT_RETURN_IF_ERROR(update.Run());
    }
    TILLIT_RETURN_IF_ERROR(txn.Commit());
    TILLIT_RETURN_IF_ERROR(in_->registry->Checkpoint());
  }
  // Forget the old versions.
  in_->keys->DropAllButCurrent();
  TILLIT_RETURN_IF_ERROR(in_->keys->Save(in_->location, rng));
  TILLIT_ASSIGN_OR_RETURN(in_->keyring, in_->keys->MakeKeyring());
  return Status::Ok();
}

Status Vault::RotateRootKeys() {
  std::lock_guard<std::mutex> lock(mu_);
  crypto::Random& rng = *in_->options.rng;
  in_->keys->AddVersion(rng);
  TILLIT_RETURN_IF_ERROR(in_->keys->Save(in_->location, rng));
  TILLIT_ASSIGN_OR_RETURN(in_->keyring, in_->keys->MakeKeyring());
  return CompleteRotation();
}

Status Vault::RekeyCitizen(const std::string& citizen_id) {
  if (!IsValidId(citizen_id, "c_")) return Status::NotFound("no such citizen");
  crypto::Random& rng = *in_->options.rng;
  crypto::SecretBytes next = rng.Secret(32);
  int64_t version = 0;
  {
    // Record the next key first, so a crash after the file is rekeyed
    // leaves a key that opens it.
    std::lock_guard<std::mutex> lock(mu_);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st, in_->registry->Prepare(
                          "SELECT dek_version FROM citizens WHERE id = ?1"));
    st.Bind(1, citizen_id);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return Status::NotFound("no such citizen");
    version = st.ColumnInt64(0);
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up,
        in_->registry->Prepare(
            "UPDATE citizens SET pending_dek = ?2 WHERE id = ?1"));
    up.Bind(1, citizen_id)
        .BindBlob(
            2, in_->keyring->current().SealSecret(
                   next, crypto::AsBytes(DekAd(citizen_id, version + 1)), rng));
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(citizen_id));
  TILLIT_RETURN_IF_ERROR(store->Rekey(next));
  store.reset();
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "UPDATE citizens SET wrapped_dek = pending_dek, pending_dek = NULL, "
          "dek_version = dek_version + 1 WHERE id = ?1 AND dek_version = ?2"));
  st.Bind(1, citizen_id).Bind(2, version);
  return st.Run();
}

// -------------------------------------------------------------------- import

StatusOr<std::optional<std::string>> Vault::FindPatient(
    const crypto::Digest& key) {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare("SELECT id FROM citizens WHERE patient_key = ?1"));
  st.BindBlob(1, key);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(st.ColumnText(0)));
}

StatusOr<ImportOutcome> Vault::Import(
    std::string_view bytes, ImportFormat format,
    const std::optional<std::string>& citizen_id, std::string_view source,
    const BeforeImportWrite& before_write) {
  auto parsed = format == ImportFormat::kNdjson
                    ? fhir::ParseFhirNdjson(bytes, in_->options.limits)
                    : fhir::ParseFhirDocument(bytes, in_->options.limits);
  if (!parsed.ok()) return parsed.status();
  fhir::ParsedDocument& doc = *parsed;
  if (doc.resources.empty()) {
    return Status::InvalidArgument("the document holds no resources");
  }

  ImportOutcome out;
  if (doc.patient_index)
    out.source_patient = doc.resources[*doc.patient_index].id;
  if (citizen_id) {
    if (!IsValidId(*citizen_id, "c_"))
      return Status::NotFound("no such citizen");
    out.citizen_id = *citizen_id;
    if (before_write) TILLIT_RETURN_IF_ERROR(before_write(out.citizen_id));
    if (!out.source_patient.empty()) {
      // Link the Patient to this citizen, or check it is already theirs.
      TILLIT_ASSIGN_OR_RETURN(
          crypto::Digest key,
          crypto::KeyedHash(in_->patient_index_key,
                            crypto::AsBytes(out.source_patient)));
      std::lock_guard<std::mutex> lock(mu_);
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement st,
          in_->registry->Prepare("SELECT id, patient_key FROM citizens WHERE "
                                 "id = ?1 OR patient_key = ?2"));
      st.Bind(1, *citizen_id).BindBlob(2, key);
      bool found = false;
      for (;;) {
        TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        if (st.ColumnText(0) != *citizen_id) {
          return Status::InvalidArgument(
              "the document's Patient belongs to another citizen");
        }
        found = true;
        if (!st.ColumnIsNull(1) &&
            !crypto::ConstantTimeEquals(st.ColumnBlob(1), key)) {
          return Status::InvalidArgument(
              "the citizen is already linked to a different Patient");
        }
      }
      if (!found) return Status::NotFound("no such citizen");
      TILLIT_ASSIGN_OR_RETURN(
          storage::Statement link,
          in_->registry->Prepare("UPDATE citizens SET patient_key = ?2 "
                                 "WHERE id = ?1 AND patient_key IS NULL"));
      link.Bind(1, *citizen_id).BindBlob(2, key);
      TILLIT_RETURN_IF_ERROR(link.Run());
    }
  } else {
    if (out.source_patient.empty()) {
      return Status::InvalidArgument(
          "the document has no Patient resource, so it names no citizen; "
          "import it into an existing citizen instead");
    }
    TILLIT_ASSIGN_OR_RETURN(
        crypto::Digest key,
        crypto::KeyedHash(in_->patient_index_key,
                          crypto::AsBytes(out.source_patient)));
    // A new Patient becomes a new citizen in two durable steps (file, then
    // registry). A concurrent import of the same Patient makes the
    // registration fail; the second attempt then finds it.
    for (int attempt = 0; attempt < 2 && out.citizen_id.empty(); ++attempt) {
      TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                              FindPatient(key));
      if (existing) {
        if (before_write) TILLIT_RETURN_IF_ERROR(before_write(*existing));
        out.citizen_id = *existing;
        break;
      }
      auto created = CreateCitizenWith(in_.get(), mu_, data_dir_, key,
                                       doc.resources, source, before_write);
      if (created.ok()) {
        out.citizen_id = created->first;
        out.created = true;
        out.imported = doc.resources.size();
        out.written = created->second.written;
        out.by_type = std::move(created->second.by_type);
        return out;
      }
      if (created.status().code() != StatusCode::kAlreadyExists)
        return created.status();
    }
    if (out.citizen_id.empty())
      return Status::Internal("citizen registration raced");
  }

  TILLIT_ASSIGN_OR_RETURN(auto store, OpenCitizen(out.citizen_id));
  TILLIT_ASSIGN_OR_RETURN(
      PutResult stored,
      store->Put(doc.resources, source, in_->options.clock->NowSeconds()));
  out.imported = doc.resources.size();
  out.written = stored.written;
  out.by_type = std::move(stored.by_type);
  return out;
}

// ------------------------------------------------------- index and directory

StatusOr<std::vector<IndexEntry>> Vault::ReadIndex(std::string_view kind) {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare("SELECT citizen_id, key, value FROM citizen_index "
                             "WHERE kind = ?1 ORDER BY citizen_id, key"));
  st.Bind(1, kind);
  std::vector<IndexEntry> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.push_back(IndexEntry{std::string(st.ColumnText(0)),
                             std::string(st.ColumnText(1)),
                             std::string(st.ColumnText(2))});
  }
  return out;
}

StatusOr<int64_t> Vault::IndexVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st, in_->registry->Prepare(
                        "SELECT value FROM meta WHERE key = 'index_version'"));
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  return row ? st.ColumnInt64(0) : 0;
}

Status Vault::PutDirectoryEntry(std::string_view kind, std::string_view id,
                                std::string_view value) {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "INSERT INTO directory (kind, id, value, created_at) VALUES (?1, ?2, "
          "?3, ?4)"));
  st.Bind(1, kind).Bind(2, id).Bind(3, value).Bind(
      4, in_->options.clock->NowSeconds());
  return st.Run();
}

StatusOr<std::string> Vault::GetDirectoryEntry(std::string_view kind,
                                               std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare(
          "SELECT value FROM directory WHERE kind = ?1 AND id = ?2"));
  st.Bind(1, kind).Bind(2, id);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such entry");
  return std::string(st.ColumnText(0));
}

StatusOr<std::vector<std::pair<std::string, std::string>>> Vault::ListDirectory(
    std::string_view kind) {
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      in_->registry->Prepare("SELECT id, value FROM directory WHERE kind = ?1 "
                             "ORDER BY created_at, id"));
  st.Bind(1, kind);
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    out.emplace_back(std::string(st.ColumnText(0)),
                     std::string(st.ColumnText(1)));
  }
  return out;
}

// -------------------------------------------------------------------- tokens

StatusOr<IssuedToken> Vault::IssueToken(std::string_view role,
                                        std::string_view principal,
                                        int64_t ttl_seconds) {
  if (ttl_seconds <= 0)
    return Status::InvalidArgument("token lifetime must be positive");
  IssuedToken t;
  t.token = "tlk_" + in_->options.rng->Hex(32);
  const int64_t now = in_->options.clock->NowSeconds();
  t.expires_at = now + ttl_seconds;
  TILLIT_ASSIGN_OR_RETURN(
      crypto::Digest hash,
      crypto::KeyedHash(in_->token_key, crypto::AsBytes(t.token)));
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st, in_->registry->Prepare(
                        "INSERT INTO tokens (hash, role, principal, "
                        "created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)"));
  st.BindBlob(1, hash)
      .Bind(2, role)
      .Bind(3, principal)
      .Bind(4, now)
      .Bind(5, t.expires_at);
  TILLIT_RETURN_IF_ERROR(st.Run());
  return t;
}


namespace {

// The live (unrevoked, unexpired) token with this keyed hash, if any.
StatusOr<std::optional<TokenInfo>> FindLiveToken(storage::Database& registry,
                                                 const crypto::Digest& hash,
                                                 int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st,
      registry.Prepare("SELECT role, principal, expires_at FROM tokens "
                       "WHERE hash = ?1 AND revoked_at IS NULL"));
  st.BindBlob(1, hash);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row || st.ColumnInt64(2) <= now) return std::optional<TokenInfo>();
  return std::optional<TokenInfo>(TokenInfo{std::string(st.ColumnText(0)),
                                            std::string(st.ColumnText(1)),
                                            st.ColumnInt64(2)});
}

// The keyed hash a presented token is stored under, or `refusal` for a
// string that cannot have been issued (tokens are "tlk_" + 64 hex).
StatusOr<crypto::Digest> PresentedTokenHash(const crypto::SecretBytes& key,
                                            std::string_view token,
                                            Status refusal) {
  if (token.size() < 8 || token.size() > 256) return refusal;
  return crypto::KeyedHash(key, crypto::AsBytes(token));
}

}  // namespace

StatusOr<TokenInfo> Vault::VerifyToken(std::string_view token) {
  const Status bad = Status::Unauthenticated("invalid or expired token");
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash,
                          PresentedTokenHash(in_->token_key, token, bad));
  const int64_t now = in_->options.clock->NowSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> info,
                          FindLiveToken(*in_->registry, hash, now));
  if (!info) return bad;
  return std::move(*info);
}

StatusOr<TokenInfo> Vault::RedeemToken(std::string_view token,
                                       std::string_view role) {
  const Status bad = Status::Unauthenticated("invalid or expired code");
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest hash,
                          PresentedTokenHash(in_->token_key, token, bad));
  const int64_t now = in_->options.clock->NowSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                          in_->registry->Begin());
  TILLIT_ASSIGN_OR_RETURN(std::optional<TokenInfo> found,
                          FindLiveToken(*in_->registry, hash, now));
  if (!found || found->role != role) return bad;
  TokenInfo info = std::move(*found);
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up, in_->registry->Prepare(
                          "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1"));
    up.BindBlob(1, hash).Bind(2, now);
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  return info;
}

Status Vault::RevokeToken(std::string_view token) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::Digest hash,
      PresentedTokenHash(in_->token_key, token,
                         Status::NotFound("no such token")));
  const int64_t now = in_->options.clock->NowSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement st, in_->registry->Prepare(
                        "SELECT revoked_at FROM tokens WHERE hash = ?1"));
  st.BindBlob(1, hash);
  TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound("no such token");
  if (!st.ColumnIsNull(0))
    return Status::FailedPrecondition("the token is already revoked");
  st.Reset();
  TILLIT_ASSIGN_OR_RETURN(
      storage::Statement up, in_->registry->Prepare(
                        "UPDATE tokens SET revoked_at = ?2 WHERE hash = ?1"));
  up.BindBlob(1, hash).Bind(2, now);
  return up.Run();
}

StatusOr<int64_t> Vault::RevokePrincipalTokens(std::string_view principal) {
  const int64_t now = in_->options.clock->NowSeconds();
  std::lock_guard<std::mutex> lock(mu_);
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Transaction txn,
                          in_->registry->Begin());
  int64_t n = 0;
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement st,
        in_->registry->Prepare("SELECT count(*) FROM tokens WHERE principal "
                               "= ?1 AND revoked_at IS NULL"));
    st.Bind(1, principal);
    TILLIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) n = st.ColumnInt64(0);
  }
  {
    TILLIT_ASSIGN_OR_RETURN(
        storage::Statement up,
        in_->registry->Prepare("UPDATE tokens SET revoked_at = ?2 WHERE "
                               "principal = ?1 AND revoked_at IS NULL"));
    up.Bind(1, principal).Bind(2, now);
    TILLIT_RETURN_IF_ERROR(up.Run());
  }
  TILLIT_RETURN_IF_ERROR(txn.Commit());
  return n;
}

}  // namespace tillit::vault
