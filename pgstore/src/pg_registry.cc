#include "tillit/pgstore/pg_registry.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "fields.h"
#include "schema.h"
#include "sealing.h"
#include "tillit/crypto/constant_time.h"

namespace tillit::pgstore {
namespace {

// The registry's tables: registry.db's, in PostgreSQL's types.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE registry_meta (
  key   text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO registry_meta (key, value) VALUES ('index_version', 0);
CREATE TABLE citizens (
  id          text   PRIMARY KEY,
  created_at  bigint NOT NULL,
  dek_version bigint NOT NULL,
  wrapped_dek bytea  NOT NULL,   -- envelope under the root keys
  pending_dek bytea,             -- during a rekey: the next DEK, wrapped
  generation  bigint NOT NULL,   -- the citizen's store may never be older
  patient_key bytea UNIQUE       -- keyed hash of the source Patient.id
);
CREATE TABLE erased (
  id        text   PRIMARY KEY,
  erased_at bigint NOT NULL
);
CREATE TABLE citizen_index (
  citizen_id text  NOT NULL,
  kind       text  NOT NULL,
  key_tag    bytea NOT NULL,     -- keyed tag of the key
  sealed     bytea NOT NULL,     -- the key and value, sealed
  PRIMARY KEY (citizen_id, kind, key_tag)
);
CREATE INDEX citizen_index_by_kind ON citizen_index (kind);
CREATE TABLE directory (
  kind       text   NOT NULL,
  id         text   NOT NULL,
  value      text   NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (kind, id)
);
CREATE TABLE tokens (
  hash       bytea  PRIMARY KEY, -- keyed hash; the token itself is never kept
  role       text   NOT NULL,
  principal  text   NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX tokens_by_principal ON tokens (principal);
)sql";

std::vector<uint8_t> ToVector(std::span<const uint8_t> bytes) {
  return {bytes.begin(), bytes.end()};
}

Param Nullable(const std::optional<int64_t>& v) {
  return v ? Param(*v) : Param::Null();
}

// The token of a result of (role, principal, expires_at), or none.
StatusOr<std::optional<vault::TokenInfo>> TokenRow(const Result& r) {
  if (r.rows() == 0) return std::optional<vault::TokenInfo>();
  TILLIT_ASSIGN_OR_RETURN(int64_t expires, r.Int64(0, 2));
  return std::optional<vault::TokenInfo>(vault::TokenInfo{
      std::string(r.Text(0, 0)), std::string(r.Text(0, 1)), expires});
}

// The consent index's sub-keys of the key the registry is opened with
// (src/sealing.h).
constexpr std::string_view kIndexSealLabel = "tillit pgstore index seal v1";
constexpr std::string_view kIndexTagLabel = "tillit pgstore index tags v1";
constexpr size_t kIndexTagSize = 16;

}  // namespace

struct PgRegistry::IndexKeys : internal::SealingKeys {};

StatusOr<std::unique_ptr<PgRegistry>> PgRegistry::Open(
    const std::string& conninfo, const crypto::SecretBytes& index_key,
    crypto::Random* rng) {
  TILLIT_ASSIGN_OR_RETURN(
      internal::SealingKeys keys,
      internal::DeriveSealingKeys(index_key, kIndexSealLabel, kIndexTagLabel,
                                  kIndexTagSize));
  std::unique_ptr<PgRegistry> r(new PgRegistry(
      conninfo, std::make_unique<IndexKeys>(IndexKeys{std::move(keys)}), rng));
  TILLIT_RETURN_IF_ERROR(r->session_.Transact([](Connection& c) {
    return internal::CreateOrCheckSchema(c, "registry", kSchemaVersion,
                                         kSchemaV1);
  }));
  return r;
}

PgRegistry::PgRegistry(std::string conninfo, std::unique_ptr<IndexKeys> keys,
                       crypto::Random* rng)
    : session_(std::move(conninfo)),
      keys_(std::move(keys)),
      rng_(rng),
      tokens_(this) {}

std::vector<uint8_t> PgRegistry::IndexAd(std::string_view citizen_id,
                                         std::string_view kind,
                                         std::span<const uint8_t> tag) {
  internal::FieldWriter w;
  w.Str(citizen_id)
      .Str(kind)
      .Str(std::string_view(reinterpret_cast<const char*>(tag.data()),
                            tag.size()));
  return std::move(w.bytes());
}

// ------------------------------------------------------------------- citizens

Status PgRegistry::AddCitizen(
    const std::string& citizen_id, int64_t created_at,
    std::span<const uint8_t> wrapped_dek, int64_t generation,
    const std::optional<crypto::Digest>& patient_key) {
  return session_.Run([&](Connection& c) -> Status {
    const Param key = patient_key
                          ? Param(std::span<const uint8_t>(*patient_key))
                          : Param::Null();
    return c
        .Exec(
            "INSERT INTO citizens (id, created_at, dek_version, wrapped_dek, "
            "generation, patient_key) VALUES ($1, $2, 1, $3, $4, $5)",
            {citizen_id, created_at, wrapped_dek, generation, key})
        .status();
  });
}

StatusOr<std::vector<std::string>> PgRegistry::ListCitizenIds() {
  return session_.Run([&](Connection& c) -> StatusOr<std::vector<std::string>> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT id FROM citizens ORDER BY created_at, id"));
    std::vector<std::string> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Text(i, 0));
    return out;
  });
}

StatusOr<vault::Registry::WrappedKeys> PgRegistry::GetKeys(
    const std::string& citizen_id) {
  return session_.Run(
      [&](Connection& c) -> StatusOr<vault::Registry::WrappedKeys> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT wrapped_dek, dek_version, pending_dek, "
                             "generation FROM citizens WHERE id = $1",
                             {citizen_id}));
        if (r.rows() == 0) return Status::NotFound("no such citizen");
        WrappedKeys keys;
        keys.citizen_id = citizen_id;
        keys.wrapped_dek = ToVector(r.Bytes(0, 0));
        TILLIT_ASSIGN_OR_RETURN(keys.dek_version, r.Int64(0, 1));
        if (!r.IsNull(0, 2)) keys.pending_dek = ToVector(r.Bytes(0, 2));
        TILLIT_ASSIGN_OR_RETURN(keys.generation, r.Int64(0, 3));
        return keys;
      });
}

Status PgRegistry::SetGeneration(const std::string& citizen_id,
                                 int64_t generation,
                                 const std::vector<vault::IndexUpdate>& index,
                                 bool replace_all_index_rows) {
  return session_.Transact([&](Connection& c) -> Status {
    TILLIT_RETURN_IF_ERROR(c.Exec("UPDATE citizens SET generation = $2 "
                                  "WHERE id = $1 AND generation < $2",
                                  {citizen_id, generation})
                               .status());
    if (!index.empty() || replace_all_index_rows) {
      TILLIT_RETURN_IF_ERROR(
          ReplaceIndexRows(c, citizen_id, index, replace_all_index_rows));
    }
    return Status::Ok();
  });
}

// ------------------------------------------------------------------ data keys

Status PgRegistry::SetPendingKey(const std::string& citizen_id,
                                 std::span<const uint8_t> wrapped) {
  return session_.Run([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("UPDATE citizens SET pending_dek = $2 WHERE id = $1",
                         {citizen_id, wrapped}));
    if (r.affected() != 1) return Status::NotFound("no such citizen");
    return Status::Ok();
  });
}

Status PgRegistry::PromotePendingKey(const std::string& citizen_id,
                                     std::optional<int64_t> expected_version) {
  return session_.Run([&](Connection& c) -> Status {
    return c
        .Exec(
            "UPDATE citizens SET wrapped_dek = pending_dek, pending_dek = "
            "NULL, "
            "dek_version = dek_version + 1 WHERE id = $1 AND pending_dek IS "
            "NOT "
            "NULL AND ($2::bigint IS NULL OR dek_version = $2)",
            {citizen_id, Nullable(expected_version)})
        .status();
  });
}

Status PgRegistry::RewrapAllKeys(const Rewrap& rewrap) {
  return session_.Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT id, dek_version, wrapped_dek, pending_dek, "
                         "generation FROM citizens ORDER BY id FOR UPDATE"));
    for (int i = 0; i < r.rows(); ++i) {
      WrappedKeys row;
      row.citizen_id = std::string(r.Text(i, 0));
      TILLIT_ASSIGN_OR_RETURN(row.dek_version, r.Int64(i, 1));
      row.wrapped_dek = ToVector(r.Bytes(i, 2));
      if (!r.IsNull(i, 3)) row.pending_dek = ToVector(r.Bytes(i, 3));
      TILLIT_ASSIGN_OR_RETURN(row.generation, r.Int64(i, 4));
      TILLIT_ASSIGN_OR_RETURN(WrappedKeys next, rewrap(row));
      const Param pending =
          next.pending_dek ? Param(*next.pending_dek) : Param::Null();
      TILLIT_RETURN_IF_ERROR(
          c.Exec("UPDATE citizens SET wrapped_dek = $2, pending_dek = $3 "
                 "WHERE id = $1",
                 {row.citizen_id, next.wrapped_dek, pending})
              .status());
    }
    return Status::Ok();
  });
}

// -------------------------------------------------------------------- erasure

Status PgRegistry::EraseCitizen(const std::string& citizen_id,
                                int64_t erased_at) {
  return session_.Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result del, c.Exec("DELETE FROM citizens WHERE id = $1", {citizen_id}));
    if (del.affected() != 1) return Status::NotFound("no such citizen");
    TILLIT_RETURN_IF_ERROR(ReplaceIndexRows(c, citizen_id, {}, true));
    TILLIT_RETURN_IF_ERROR(
        c.Exec("INSERT INTO erased (id, erased_at) VALUES ($1, $2) "
               "ON CONFLICT (id) DO UPDATE SET erased_at = EXCLUDED.erased_at",
               {citizen_id, erased_at})
            .status());
    return Status::Ok();
  });
}

StatusOr<bool> PgRegistry::IsErased(const std::string& citizen_id) {
  return session_.Run([&](Connection& c) -> StatusOr<bool> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT 1 FROM erased WHERE id = $1", {citizen_id}));
    return r.rows() > 0;
  });
}

StatusOr<std::vector<std::string>> PgRegistry::ListErased() {
  return session_.Run([&](Connection& c) -> StatusOr<std::vector<std::string>> {
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec("SELECT id FROM erased ORDER BY id"));
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Text(i, 0));
    return out;
  });
}

// ------------------------------------------------------------------ transfer

StatusOr<vault::RegistryRows> PgRegistry::ExportRows() {
  return session_.Transact([&](Connection& c) -> StatusOr<vault::RegistryRows> {
    // One snapshot of every table, however long the reads take.
    TILLIT_RETURN_IF_ERROR(
        c.ExecScript("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
    vault::RegistryRows out;
    auto digest = [](std::span<const uint8_t> bytes,
                     crypto::Digest* d) -> Status {
      if (bytes.size() != d->size()) {
        return Status::DataLoss("registry: a hash of the wrong size");
      }
      std::copy(bytes.begin(), bytes.end(), d->begin());
      return Status::Ok();
    };
    TILLIT_ASSIGN_OR_RETURN(
        Result citizens,
        c.Exec(
            "SELECT id, created_at, dek_version, wrapped_dek, pending_dek, "
            "generation, patient_key FROM citizens ORDER BY id COLLATE \"C\""));
    for (int i = 0; i < citizens.rows(); ++i) {
      vault::RegistryRows::Citizen row;
      row.id = std::string(citizens.Text(i, 0));
      TILLIT_ASSIGN_OR_RETURN(row.created_at, citizens.Int64(i, 1));
      TILLIT_ASSIGN_OR_RETURN(row.dek_version, citizens.Int64(i, 2));
      row.wrapped_dek = ToVector(citizens.Bytes(i, 3));
      if (!citizens.IsNull(i, 4)) {
        row.pending_dek = ToVector(citizens.Bytes(i, 4));
      }
      TILLIT_ASSIGN_OR_RETURN(row.generation, citizens.Int64(i, 5));
      if (!citizens.IsNull(i, 6)) {
        row.patient_key.emplace();
        TILLIT_RETURN_IF_ERROR(digest(citizens.Bytes(i, 6), &*row.patient_key));
      }
      out.citizens.push_back(std::move(row));
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result erased,
        c.Exec("SELECT id, erased_at FROM erased ORDER BY id COLLATE \"C\""));
    for (int i = 0; i < erased.rows(); ++i) {
      vault::RegistryRows::Tombstone t;
      t.id = std::string(erased.Text(i, 0));
      TILLIT_ASSIGN_OR_RETURN(t.erased_at, erased.Int64(i, 1));
      out.erased.push_back(std::move(t));
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result directory,
        c.Exec("SELECT kind, id, value, created_at FROM directory "
               "ORDER BY kind COLLATE \"C\", id COLLATE \"C\""));
    for (int i = 0; i < directory.rows(); ++i) {
      vault::RegistryRows::DirectoryEntry d;
      d.kind = std::string(directory.Text(i, 0));
      d.id = std::string(directory.Text(i, 1));
      d.value = std::string(directory.Text(i, 2));
      TILLIT_ASSIGN_OR_RETURN(d.created_at, directory.Int64(i, 3));
      out.directory.push_back(std::move(d));
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result tokens,
        c.Exec("SELECT hash, role, principal, created_at, expires_at, "
               "revoked_at FROM tokens ORDER BY hash"));
    for (int i = 0; i < tokens.rows(); ++i) {
      vault::RegistryRows::Token t;
      TILLIT_RETURN_IF_ERROR(digest(tokens.Bytes(i, 0), &t.hash));
      t.role = std::string(tokens.Text(i, 1));
      t.principal = std::string(tokens.Text(i, 2));
      TILLIT_ASSIGN_OR_RETURN(t.created_at, tokens.Int64(i, 3));
      TILLIT_ASSIGN_OR_RETURN(t.expires_at, tokens.Int64(i, 4));
      if (!tokens.IsNull(i, 5)) {
        TILLIT_ASSIGN_OR_RETURN(int64_t revoked, tokens.Int64(i, 5));
        t.revoked_at = revoked;
      }
      out.tokens.push_back(std::move(t));
    }
    return out;
  });
}

Status PgRegistry::ImportRows(const vault::RegistryRows& rows) {
  return session_.Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(Result held,
                            c.Exec("SELECT (SELECT count(*) FROM citizens) + "
                                   "(SELECT count(*) FROM erased) + "
                                   "(SELECT count(*) FROM directory) + "
                                   "(SELECT count(*) FROM tokens)"));
    TILLIT_ASSIGN_OR_RETURN(int64_t count, held.Int64(0, 0));
    if (count != 0) {
      return Status::FailedPrecondition(
          "the registry is not empty; rows are only imported into a new one");
    }
    for (const vault::RegistryRows::Citizen& row : rows.citizens) {
      const Param pending =
          row.pending_dek ? Param(*row.pending_dek) : Param::Null();
      const Param key = row.patient_key
                            ? Param(std::span<const uint8_t>(*row.patient_key))
                            : Param::Null();
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO citizens (id, created_at, dek_version, "
                 "wrapped_dek, pending_dek, generation, patient_key) "
                 "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 {row.id, row.created_at, row.dek_version, row.wrapped_dek,
                  pending, row.generation, key})
              .status());
    }
    for (const vault::RegistryRows::Tombstone& t : rows.erased) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO erased (id, erased_at) VALUES ($1, $2)",
                 {t.id, t.erased_at})
              .status());
    }
    for (const vault::RegistryRows::DirectoryEntry& d : rows.directory) {
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO directory (kind, id, value, created_at) "
                 "VALUES ($1, $2, $3, $4)",
                 {d.kind, d.id, d.value, d.created_at})
              .status());
    }
    for (const vault::RegistryRows::Token& t : rows.tokens) {
      const Param revoked = t.revoked_at ? Param(*t.revoked_at) : Param::Null();
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO tokens (hash, role, principal, created_at, "
                 "expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
                 {std::span<const uint8_t>(t.hash), t.role, t.principal,
                  t.created_at, t.expires_at, revoked})
              .status());
    }
    return Status::Ok();
  });
}

// ------------------------------------------------------------ source Patients

StatusOr<std::optional<std::string>> PgRegistry::FindPatient(
    const crypto::Digest& key) {
  return session_.Run(
      [&](Connection& c) -> StatusOr<std::optional<std::string>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT id FROM citizens WHERE patient_key = $1",
                             {std::span<const uint8_t>(key)}));
        if (r.rows() == 0) return std::optional<std::string>();
        return std::optional<std::string>(std::string(r.Text(0, 0)));
      });
}

Status PgRegistry::LinkPatient(const std::string& citizen_id,
                               const crypto::Digest& key) {
  return session_.Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT id, patient_key FROM citizens WHERE "
                         "id = $1 OR patient_key = $2 FOR UPDATE",
                         {citizen_id, std::span<const uint8_t>(key)}));
    bool found = false;
    for (int i = 0; i < r.rows(); ++i) {
      if (r.Text(i, 0) != citizen_id) {
        return Status::InvalidArgument(
            "the document's Patient belongs to another citizen");
      }
      found = true;
      if (!r.IsNull(i, 1) && !crypto::ConstantTimeEquals(r.Bytes(i, 1), key)) {
        return Status::InvalidArgument(
            "the citizen is already linked to a different Patient");
      }
    }
    if (!found) return Status::NotFound("no such citizen");
    TILLIT_RETURN_IF_ERROR(c.Exec("UPDATE citizens SET patient_key = $2 "
                                  "WHERE id = $1 AND patient_key IS NULL",
                                  {citizen_id, std::span<const uint8_t>(key)})
                               .status());
    return Status::Ok();
  });
}

// ---------------------------------------------------------------------- index

PgRegistry::~PgRegistry() = default;

Status PgRegistry::ReplaceIndexRows(
    Connection& c, const std::string& citizen_id,
    const std::vector<vault::IndexUpdate>& updates, bool all_kinds) {
  if (all_kinds) {
    TILLIT_RETURN_IF_ERROR(
        c.Exec("DELETE FROM citizen_index WHERE citizen_id = $1", {citizen_id})
            .status());
  }
  for (const vault::IndexUpdate& u : updates) {
    if (!all_kinds) {
      TILLIT_RETURN_IF_ERROR(c.Exec("DELETE FROM citizen_index WHERE "
                                    "citizen_id = $1 AND kind = $2",
                                    {citizen_id, u.kind})
                                 .status());
    }
    for (const vault::IndexRow& row : u.rows) {
      const std::vector<uint8_t> tag = keys_->tags.HashFields({row.key});
      internal::FieldWriter plain;
      plain.Str(row.key).Str(row.value);
      TILLIT_RETURN_IF_ERROR(
          c.Exec("INSERT INTO citizen_index (citizen_id, kind, key_tag, "
                 "sealed) VALUES ($1, $2, $3, $4)",
                 {citizen_id, u.kind, tag,
                  keys_->seal.Seal(plain.bytes(),
                                   IndexAd(citizen_id, u.kind, tag), *rng_)})
              .status());
    }
  }
  return c
      .Exec(
          "UPDATE registry_meta SET value = value + 1 "
          "WHERE key = 'index_version'")
      .status();
}

StatusOr<std::vector<vault::IndexEntry>> PgRegistry::ReadIndex(
    std::string_view kind) {
  return session_.Run(
      [&](Connection& c) -> StatusOr<std::vector<vault::IndexEntry>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT citizen_id, key_tag, sealed FROM "
                             "citizen_index WHERE kind = $1",
                             {kind}));
        std::vector<vault::IndexEntry> out;
        out.reserve(r.rows());
        for (int i = 0; i < r.rows(); ++i) {
          const std::string citizen_id(r.Text(i, 0));
          auto plain = keys_->seal.Open(
              r.Bytes(i, 2), IndexAd(citizen_id, kind, r.Bytes(i, 1)));
          if (!plain.ok()) {
            return Status::DataLoss(
                "a row of the consent index does not open under the "
                "registry's key");
          }
          internal::FieldReader in(*plain);
          vault::IndexEntry e{citizen_id, {}, {}};
          in.Str(&e.key);
          in.Str(&e.value);
          TILLIT_RETURN_IF_ERROR(in.Finish());
          out.push_back(std::move(e));
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
          return std::tie(a.citizen_id, a.key) < std::tie(b.citizen_id, b.key);
        });
        return out;
      });
}

StatusOr<int64_t> PgRegistry::IndexVersion() {
  return session_.Run([&](Connection& c) -> StatusOr<int64_t> {
    TILLIT_ASSIGN_OR_RETURN(Result r, c.Exec("SELECT value FROM registry_meta "
                                             "WHERE key = 'index_version'"));
    if (r.rows() == 0) return int64_t{0};
    return r.Int64(0, 0);
  });
}

// ------------------------------------------------------------------ directory

Status PgRegistry::PutDirectoryEntry(std::string_view kind, std::string_view id,
                                     std::string_view value,
                                     int64_t created_at) {
  return session_.Run([&](Connection& c) -> Status {
    return c
        .Exec(
            "INSERT INTO directory (kind, id, value, created_at) "
            "VALUES ($1, $2, $3, $4)",
            {kind, id, value, created_at})
        .status();
  });
}

StatusOr<std::string> PgRegistry::GetDirectoryEntry(std::string_view kind,
                                                    std::string_view id) {
  return session_.Run([&](Connection& c) -> StatusOr<std::string> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec("SELECT value FROM directory WHERE kind = $1 AND id = $2",
               {kind, id}));
    if (r.rows() == 0) return Status::NotFound("no such entry");
    return std::string(r.Text(0, 0));
  });
}

StatusOr<std::vector<std::pair<std::string, std::string>>>
PgRegistry::ListDirectory(std::string_view kind) {
  return session_.Run(
      [&](Connection& c)
          -> StatusOr<std::vector<std::pair<std::string, std::string>>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT id, value FROM directory WHERE kind = $1 "
                             "ORDER BY created_at, id",
                             {kind}));
        std::vector<std::pair<std::string, std::string>> out;
        for (int i = 0; i < r.rows(); ++i) {
          out.emplace_back(std::string(r.Text(i, 0)),
                           std::string(r.Text(i, 1)));
        }
        return out;
      });
}

// --------------------------------------------------------------------- tokens

Status PgRegistry::Tokens::Insert(const crypto::Digest& hash,
                                  std::string_view role,
                                  std::string_view principal,
                                  int64_t created_at, int64_t expires_at) {
  return r_->session_.Run([&](Connection& c) -> Status {
    return c
        .Exec(
            "INSERT INTO tokens (hash, role, principal, created_at, "
            "expires_at) "
            "VALUES ($1, $2, $3, $4, $5)",
            {std::span<const uint8_t>(hash), role, principal, created_at,
             expires_at})
        .status();
  });
}

StatusOr<std::optional<vault::TokenInfo>> PgRegistry::Tokens::FindLive(
    const crypto::Digest& hash, int64_t now) {
  return r_->session_.Run(
      [&](Connection& c) -> StatusOr<std::optional<vault::TokenInfo>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT role, principal, expires_at FROM tokens "
                             "WHERE hash = $1 AND revoked_at IS NULL "
                             "AND expires_at > $2",
                             {std::span<const uint8_t>(hash), now}));
        return TokenRow(r);
      });
}

StatusOr<std::optional<vault::TokenInfo>> PgRegistry::Tokens::TakeLive(
    const crypto::Digest& hash, std::string_view role, int64_t now) {
  return r_->session_.Run(
      [&](Connection& c) -> StatusOr<std::optional<vault::TokenInfo>> {
        // One statement: of two nodes redeeming the same code, the
        // second finds the row revoked once the first commits.
        TILLIT_ASSIGN_OR_RETURN(
            Result r,
            c.Exec("UPDATE tokens SET revoked_at = $3 WHERE hash = $1 "
                   "AND role = $2 AND revoked_at IS NULL "
                   "AND expires_at > $3 "
                   "RETURNING role, principal, expires_at",
                   {std::span<const uint8_t>(hash), role, now}));
        return TokenRow(r);
      });
}

Status PgRegistry::Tokens::Revoke(const crypto::Digest& hash, int64_t now) {
  return r_->session_.Run([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("UPDATE tokens SET revoked_at = $2 WHERE hash = $1 "
                         "AND revoked_at IS NULL",
                         {std::span<const uint8_t>(hash), now}));
    if (r.affected() == 1) return Status::Ok();
    TILLIT_ASSIGN_OR_RETURN(Result exists,
                            c.Exec("SELECT 1 FROM tokens WHERE hash = $1",
                                   {std::span<const uint8_t>(hash)}));
    if (exists.rows() == 0) return Status::NotFound("no such token");
    return Status::FailedPrecondition("the token is already revoked");
  });
}

StatusOr<int64_t> PgRegistry::Tokens::RevokePrincipal(
    std::string_view principal, int64_t now) {
  return r_->session_.Run([&](Connection& c) -> StatusOr<int64_t> {
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec("UPDATE tokens SET revoked_at = $2 WHERE "
                                   "principal = $1 AND revoked_at IS NULL",
                                   {principal, now}));
    return r.affected();
  });
}

}  // namespace tillit::pgstore
