#include "tillit/pgstore/pg_citizen_store.h"

#include <algorithm>
#include <atomic>
#include <climits>
#include <string>
#include <tuple>
#include <unordered_map>

#include "fields.h"
#include "schema.h"
#include "sealing.h"
#include "tillit/crypto/encoding.h"
#include "tillit/vault/source_tag.h"

namespace tillit::pgstore {
namespace {

constexpr int64_t kNoDate = INT64_MIN;
constexpr std::string_view kImportSource = "import";

// Labels of the two sub-keys of a citizen's data key (src/sealing.h),
// independent of the DEK's use as the data directory's SQLCipher key.
constexpr std::string_view kSealLabel = "tillit pgstore seal v1";
constexpr std::string_view kTagLabel = "tillit pgstore tags v1";
constexpr size_t kTagSize = 16;

// The citizen stores' tables. Every column a query filters on is the
// citizen id or a keyed tag; everything else is sealed.
constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE store_heads (
  citizen_id text  PRIMARY KEY,
  sealed     bytea NOT NULL        -- the generation
);
CREATE TABLE store_records (
  citizen_id   text   NOT NULL,
  tag          bytea  NOT NULL,    -- keyed tag of (type, id)
  seq          bigint GENERATED ALWAYS AS IDENTITY,
  type_tag     bytea  NOT NULL,
  category_tag bytea  NOT NULL,
  meta         bytea  NOT NULL,    -- sealed: type, id, category, effective,
                                   -- sensitive, source, updated_at, codes
  body         bytea  NOT NULL,    -- sealed: the resource
  PRIMARY KEY (citizen_id, tag)
);
CREATE INDEX store_records_by_seq ON store_records (citizen_id, seq);
CREATE INDEX store_records_by_type ON store_records (citizen_id, type_tag);
CREATE INDEX store_records_by_category
  ON store_records (citizen_id, category_tag);
CREATE TABLE store_versions (
  citizen_id text   NOT NULL,
  tag        bytea  NOT NULL,
  version    bigint NOT NULL,      -- 1 for the first stored
  sealed     bytea  NOT NULL,      -- source, times, who replaced it, why,
                                   -- the resource as it was
  PRIMARY KEY (citizen_id, tag, version)
);
CREATE TABLE store_documents (
  citizen_id text  NOT NULL,
  tag        bytea NOT NULL,       -- keyed tag of (kind, key)
  kind_tag   bytea NOT NULL,
  sealed     bytea NOT NULL,       -- kind, key, value, updated_at
  PRIMARY KEY (citizen_id, tag)
);
CREATE INDEX store_documents_by_kind ON store_documents (citizen_id, kind_tag);
CREATE TABLE store_index_rows (
  citizen_id text  NOT NULL,
  kind_tag   bytea NOT NULL,
  sealed     bytea NOT NULL,       -- kind, then each row's key and value
  PRIMARY KEY (citizen_id, kind_tag)
);
)sql";

std::atomic<uint64_t> next_opening{1};

std::string_view AsText(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// The text of a bigint[] literal ("{1,2,3}"): digits and commas only.
std::string IntArray(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

bool Newer(const vault::StoredRecord& a, const vault::StoredRecord& b) {
  const int64_t ea = a.effective.value_or(kNoDate);
  const int64_t eb = b.effective.value_or(kNoDate);
  return ea != eb ? ea > eb : a.seq > b.seq;
}

}  // namespace

struct PgCitizenStore::Keys : internal::SealingKeys {};

struct PgCitizenStore::Row {
  Tag tag;
  vault::StoredRecord record;  // without its resource
};

// ----------------------------------------------------------- PgCitizenStores

StatusOr<std::unique_ptr<PgCitizenStores>> PgCitizenStores::Open(
    Session* session, crypto::Random* rng) {
  TILLIT_RETURN_IF_ERROR(session->Transact([](Connection& c) {
    return internal::CreateOrCheckSchema(c, "citizen stores", kSchemaVersion,
                                         kSchemaV1);
  }));
  return std::unique_ptr<PgCitizenStores>(new PgCitizenStores(session, rng));
}

StatusOr<std::unique_ptr<PgCitizenStore>> PgCitizenStores::OpenStore(
    const std::string& citizen_id, const crypto::SecretBytes& dek,
    int64_t registry_generation, vault::CitizenStore::GenerationSink sink) {
  if (dek.size() != crypto::kAeadKeySize) {
    return Status::InvalidArgument("a data key must be 32 bytes");
  }
  TILLIT_ASSIGN_OR_RETURN(
      internal::SealingKeys derived,
      internal::DeriveSealingKeys(dek, kSealLabel, kTagLabel, kTagSize));
  auto keys = std::make_unique<PgCitizenStore::Keys>(
      PgCitizenStore::Keys{std::move(derived)});
  std::unique_ptr<PgCitizenStore> store(new PgCitizenStore(
      citizen_id, session_, rng_, std::move(keys), 0, std::move(sink)));
  TILLIT_ASSIGN_OR_RETURN(
      int64_t stored, session_->Run([&](Connection& c) -> StatusOr<int64_t> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r,
            c.Exec("SELECT sealed FROM store_heads WHERE citizen_id = $1",
                   {citizen_id}));
        if (r.rows() == 0) return int64_t{0};
        TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                                store->Unseal('h', {}, 0, r.Bytes(0, 0)));
        internal::FieldReader in(plain);
        int64_t g = 0;
        in.Int(&g);
        TILLIT_RETURN_IF_ERROR(in.Finish());
        return g;
      }));
  if (stored < registry_generation) {
    return Status::DataLoss(
        "citizen store was rolled back to an older copy (generation " +
        std::to_string(stored) + " < " + std::to_string(registry_generation) +
        ")");
  }
  store->generation_ = stored;
  return store;
}

Status PgCitizenStores::Drop(const std::string& citizen_id) {
  return session_->Transact([&](Connection& c) -> Status {
    for (const char* sql : {
             "DELETE FROM store_records WHERE citizen_id = $1",
             "DELETE FROM store_versions WHERE citizen_id = $1",
             "DELETE FROM store_documents WHERE citizen_id = $1",
             "DELETE FROM store_index_rows WHERE citizen_id = $1",
             "DELETE FROM store_heads WHERE citizen_id = $1",
         }) {
      TILLIT_RETURN_IF_ERROR(c.Exec(sql, {citizen_id}).status());
    }
    return Status::Ok();
  });
}

StatusOr<bool> PgCitizenStores::HasRows(const std::string& citizen_id) {
  // Every write seals its generation into the head, and Drop removes the
  // head with the rest.
  return session_->Run([&](Connection& c) -> StatusOr<bool> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT 1 FROM store_heads WHERE citizen_id = $1",
                         {citizen_id}));
    return r.rows() > 0;
  });
}

// ----------------------------------------------------- sealing and tagging

PgCitizenStore::PgCitizenStore(std::string citizen_id, Session* session,
                               crypto::Random* rng, std::unique_ptr<Keys> keys,
                               int64_t generation, GenerationSink sink)
    : CitizenStore(std::move(citizen_id)),
      session_(session),
      rng_(rng),
      keys_(std::move(keys)),
      opening_(next_opening.fetch_add(1)),
      generation_(generation),
      sink_(std::move(sink)) {}

PgCitizenStore::~PgCitizenStore() = default;

PgCitizenStore::Tag PgCitizenStore::TagOf(std::string_view domain,
                                          std::string_view part) const {
  return keys_->tags.HashFields({domain, part});
}

PgCitizenStore::Tag PgCitizenStore::TagOf(std::string_view domain,
                                          std::string_view first,
                                          std::string_view second) const {
  return keys_->tags.HashFields({domain, first, second});
}

std::vector<uint8_t> PgCitizenStore::Ad(char table,
                                        std::span<const uint8_t> tag,
                                        int64_t version) const {
  internal::FieldWriter w;
  w.Str(std::string_view(&table, 1))
      .Str(citizen_id())
      .Str(AsText(tag))
      .Int(version);
  return std::move(w.bytes());
}

std::vector<uint8_t> PgCitizenStore::Seal(
    char table, std::span<const uint8_t> tag, int64_t version,
    std::span<const uint8_t> plain) const {
  return keys_->seal.Seal(plain, Ad(table, tag, version), *rng_);
}

StatusOr<std::vector<uint8_t>> PgCitizenStore::Unseal(
    char table, std::span<const uint8_t> tag, int64_t version,
    std::span<const uint8_t> sealed) const {
  auto plain = keys_->seal.Open(sealed, Ad(table, tag, version));
  if (!plain.ok()) {
    return Status::DataLoss(
        "a row of the citizen's store does not open under its key");
  }
  return plain;
}

// ------------------------------------------------------------------ writes

StatusOr<int64_t> PgCitizenStore::LockHead(Connection& c) {
  if (generation_ == 0) {
    // Perhaps a new store: make its head (another node may be first).
    internal::FieldWriter zero;
    zero.Int(0);
    TILLIT_RETURN_IF_ERROR(
        c.Exec("INSERT INTO store_heads (citizen_id, sealed) VALUES ($1, $2) "
               "ON CONFLICT (citizen_id) DO NOTHING",
               {citizen_id(), Seal('h', {}, 0, zero.bytes())})
            .status());
  }
  TILLIT_ASSIGN_OR_RETURN(
      Result r,
      c.Exec("SELECT sealed FROM store_heads WHERE citizen_id = $1 FOR UPDATE",
             {citizen_id()}));
  if (r.rows() == 0) {
    return Status::DataLoss("the citizen's store has lost its head row");
  }
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          Unseal('h', {}, 0, r.Bytes(0, 0)));
  internal::FieldReader in(plain);
  int64_t g = 0;
  in.Int(&g);
  TILLIT_RETURN_IF_ERROR(in.Finish());
  return g;
}

StatusOr<int64_t> PgCitizenStore::BumpHead(Connection& c, int64_t stored) {
  const int64_t next = std::max(stored, generation_) + 1;
  internal::FieldWriter w;
  w.Int(next);
  TILLIT_RETURN_IF_ERROR(
      c.Exec("UPDATE store_heads SET sealed = $2 WHERE citizen_id = $1",
             {citizen_id(), Seal('h', {}, 0, w.bytes())})
          .status());
  return next;
}

void PgCitizenStore::Committed(int64_t generation,
                               const vault::IndexUpdate* index) {
  generation_ = generation;
  // As with the data directory: the store is the truth, and the registry
  // catches up from it on the next open if it cannot take its copy now.
  if (sink_) (void)sink_(generation, index);
}

PgCitizenStore::SealedRecord PgCitizenStore::SealRecord(
    const fhir::ParsedResource& r, std::string_view source, int64_t now) const {
  return SealFields(r.type, r.id, r.category, r.effective, r.sensitive, source,
                    now, r.codes, r.json);
}

PgCitizenStore::SealedRecord PgCitizenStore::SealStored(
    const vault::StoredRecord& r) const {
  return SealFields(r.type, r.id, r.category, r.effective, r.sensitive,
                    r.source, r.updated_at, r.codes, r.resource);
}

PgCitizenStore::SealedRecord PgCitizenStore::SealFields(
    std::string_view type, std::string_view id, fhir::Category category,
    std::optional<int64_t> effective, bool sensitive, std::string_view source,
    int64_t updated_at, std::span<const std::string> codes,
    std::string_view json) const {
  SealedRecord out;
  out.tag = TagOf("r", type, id);
  out.type_tag = TagOf("t", type);
  out.category_tag = TagOf("c", fhir::CategoryName(category));
  internal::FieldWriter meta;
  meta.Str(type)
      .Str(id)
      .Str(fhir::CategoryName(category))
      .Int(effective.value_or(kNoDate))
      .Int(sensitive ? 1 : 0)
      .Str(source)
      .Int(updated_at)
      .Int(static_cast<int64_t>(codes.size()));
  for (const std::string& code : codes) meta.Str(code);
  out.meta = Seal('m', out.tag, 0, meta.bytes());
  out.body = Seal('b', out.tag, 0, crypto::AsBytes(json));
  return out;
}

Status PgCitizenStore::ReplaceRecord(Connection& c, const SealedRecord& r) {
  return c
      .Exec(
          "UPDATE store_records SET category_tag = $3, meta = $4, body = $5 "
          "WHERE citizen_id = $1 AND tag = $2",
          {citizen_id(), r.tag, r.category_tag, r.meta, r.body})
      .status();
}

Status PgCitizenStore::InsertRecords(Connection& c,
                                     std::vector<const SealedRecord*>* rows) {
  // A few hundred rows a statement: one round trip instead of one each.
  constexpr size_t kRowsPerStatement = 500;
  for (size_t begin = 0; begin < rows->size(); begin += kRowsPerStatement) {
    const size_t end = std::min(rows->size(), begin + kRowsPerStatement);
    std::string sql =
        "INSERT INTO store_records (citizen_id, tag, type_tag, category_tag, "
        "meta, body) VALUES ";
    std::vector<Param> params = {citizen_id()};
    params.reserve(1 + 5 * (end - begin));
    for (size_t i = begin; i < end; ++i) {
      const SealedRecord& r = *(*rows)[i];
      const size_t n = params.size();
      sql += (i == begin ? "($1" : ", ($1");
      for (size_t k = 1; k <= 5; ++k) sql += ", $" + std::to_string(n + k);
      sql += ")";
      params.insert(params.end(),
                    {r.tag, r.type_tag, r.category_tag, r.meta, r.body});
    }
    TILLIT_RETURN_IF_ERROR(c.Exec(sql, params).status());
  }
  rows->clear();
  return Status::Ok();
}

Status PgCitizenStore::Supersede(Connection& c, std::span<const uint8_t> tag,
                                 std::string_view source, std::string_view note,
                                 int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(Result cur,
                          c.Exec("SELECT meta, body FROM store_records "
                                 "WHERE citizen_id = $1 AND tag = $2",
                                 {citizen_id(), tag}));
  if (cur.rows() == 0) return Status::NotFound("no such record");
  TILLIT_ASSIGN_OR_RETURN(vault::StoredRecord old,
                          OpenMeta(tag, cur.Bytes(0, 0)));
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                          Unseal('b', tag, 0, cur.Bytes(0, 1)));
  TILLIT_ASSIGN_OR_RETURN(
      Result v, c.Exec("SELECT coalesce(max(version), 0) + 1 FROM "
                       "store_versions WHERE citizen_id = $1 AND tag = $2",
                       {citizen_id(), tag}));
  vault::RecordVersion kept;
  TILLIT_ASSIGN_OR_RETURN(kept.version, v.Int64(0, 0));
  kept.source = std::move(old.source);
  kept.recorded_at = old.updated_at;
  kept.superseded_at = now;
  kept.superseded_by = std::string(source);
  kept.note = std::string(note);
  kept.resource = std::string(AsText(body));
  return InsertVersion(c, tag, kept);
}

Status PgCitizenStore::InsertVersion(Connection& c,
                                     std::span<const uint8_t> tag,
                                     const vault::RecordVersion& v) {
  internal::FieldWriter w;
  w.Str(v.source)
      .Int(v.recorded_at)
      .Int(v.superseded_at)
      .Str(v.superseded_by)
      .Str(v.note)
      .Str(v.resource);
  return c
      .Exec(
          "INSERT INTO store_versions (citizen_id, tag, version, sealed) "
          "VALUES ($1, $2, $3, $4)",
          {citizen_id(), tag, v.version, Seal('v', tag, v.version, w.bytes())})
      .status();
}

StatusOr<vault::PutResult> PgCitizenStore::Put(
    std::span<const fhir::ParsedResource> resources, std::string_view source,
    int64_t now) {
  vault::PutResult result;
  TILLIT_ASSIGN_OR_RETURN(
      int64_t next, session_->Transact([&](Connection& c) -> StatusOr<int64_t> {
        result = vault::PutResult();
        TILLIT_ASSIGN_OR_RETURN(int64_t stored, LockHead(c));
        // What is stored already under the batch's tags, read in a few
        // statements rather than one per resource; kept up to date as the
        // batch writes, for a resource the batch holds twice.
        std::vector<SealedRecord> sealed;
        sealed.reserve(resources.size());
        for (const fhir::ParsedResource& r : resources) {
          sealed.push_back(SealRecord(r, source, now));
        }
        std::unordered_map<std::string, Current> current;
        TILLIT_RETURN_IF_ERROR(ReadCurrent(c, sealed, &current));
        std::vector<const SealedRecord*> inserts;
        for (size_t i = 0; i < resources.size(); ++i) {
          const fhir::ParsedResource& r = resources[i];
          const SealedRecord& rec = sealed[i];
          ++result.by_type[r.type];
          const std::string key(AsText(rec.tag));
          auto it = current.find(key);
          if (it == current.end()) {
            inserts.push_back(&rec);
            current[key] = Current{rec.meta, rec.body, true};
            ++result.written;
            continue;
          }
          if (it->second.pending) {
            // The batch wrote this one already: let it reach the table.
            TILLIT_RETURN_IF_ERROR(InsertRecords(c, &inserts));
            for (auto& [k, cur] : current) cur.pending = false;
          }
          // The same rules as the data directory's store: the operator's
          // import never replaces what a provider or a correction wrote,
          // and the citizen's import only the citizen's own records.
          TILLIT_ASSIGN_OR_RETURN(vault::StoredRecord old,
                                  OpenMeta(rec.tag, it->second.meta));
          TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                                  Unseal('b', rec.tag, 0, it->second.body));
          const std::string& stored_by = old.source;
          const bool keep =
              (source == kImportSource && stored_by != kImportSource &&
               stored_by != vault::kCitizenSource) ||
              (source == vault::kCitizenSource &&
               stored_by != vault::kCitizenSource);
          if (AsText(body) == r.json || keep) {
            ++result.unchanged;
            continue;
          }
          TILLIT_RETURN_IF_ERROR(Supersede(c, rec.tag, source, "", now));
          TILLIT_RETURN_IF_ERROR(ReplaceRecord(c, rec));
          it->second = Current{rec.meta, rec.body, false};
          ++result.written;
        }
        TILLIT_RETURN_IF_ERROR(InsertRecords(c, &inserts));
        if (result.written == 0) return int64_t{0};  // no new generation
        return BumpHead(c, stored);
      }));
  if (next != 0) Committed(next, nullptr);
  return result;
}

Status PgCitizenStore::ReadCurrent(
    Connection& c, const std::vector<SealedRecord>& batch,
    std::unordered_map<std::string, Current>* current) {
  // Tags as hex, comma-separated: the statement decodes them.
  constexpr size_t kTagsPerStatement = 1000;
  for (size_t begin = 0; begin < batch.size(); begin += kTagsPerStatement) {
    const size_t end = std::min(batch.size(), begin + kTagsPerStatement);
    std::string tags;
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) tags += ',';
      tags += crypto::HexEncode(batch[i].tag);
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result r,
        c.Exec("SELECT tag, meta, body FROM store_records "
               "WHERE citizen_id = $1 AND tag = ANY (SELECT decode(t, 'hex') "
               "FROM unnest(string_to_array($2, ',')) AS t)",
               {citizen_id(), tags}));
    for (int i = 0; i < r.rows(); ++i) {
      auto& cur = (*current)[std::string(AsText(r.Bytes(i, 0)))];
      const auto meta = r.Bytes(i, 1);
      const auto body = r.Bytes(i, 2);
      cur.meta.assign(meta.begin(), meta.end());
      cur.body.assign(body.begin(), body.end());
    }
  }
  return Status::Ok();
}

Status PgCitizenStore::Correct(const fhir::ParsedResource& corrected,
                               std::string_view source, std::string_view note,
                               std::span<const vault::DocumentWrite> writes,
                               const vault::IndexUpdate* index, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(
      int64_t next, session_->Transact([&](Connection& c) -> StatusOr<int64_t> {
        TILLIT_ASSIGN_OR_RETURN(int64_t stored, LockHead(c));
        const Tag tag = TagOf("r", corrected.type, corrected.id);
        TILLIT_ASSIGN_OR_RETURN(Result cur,
                                c.Exec("SELECT body FROM store_records "
                                       "WHERE citizen_id = $1 AND tag = $2",
                                       {citizen_id(), tag}));
        if (cur.rows() == 0) return Status::NotFound("no such record");
        TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                                Unseal('b', tag, 0, cur.Bytes(0, 0)));
        if (AsText(body) == corrected.json) {
          return Status::FailedPrecondition(
              "the correction is identical to the stored record");
        }
        TILLIT_RETURN_IF_ERROR(Supersede(c, tag, source, note, now));
        TILLIT_RETURN_IF_ERROR(
            ReplaceRecord(c, SealRecord(corrected, source, now)));
        TILLIT_RETURN_IF_ERROR(WriteDocumentsIn(c, writes, index, now));
        return BumpHead(c, stored);
      }));
  Committed(next, index);
  return Status::Ok();
}

Status PgCitizenStore::WriteDocuments(
    std::span<const vault::DocumentWrite> writes,
    const vault::IndexUpdate* index, int64_t now) {
  if (writes.empty() && index == nullptr) return Status::Ok();
  TILLIT_ASSIGN_OR_RETURN(
      int64_t next, session_->Transact([&](Connection& c) -> StatusOr<int64_t> {
        TILLIT_ASSIGN_OR_RETURN(int64_t stored, LockHead(c));
        TILLIT_RETURN_IF_ERROR(WriteDocumentsIn(c, writes, index, now));
        return BumpHead(c, stored);
      }));
  Committed(next, index);
  return Status::Ok();
}

Status PgCitizenStore::WriteDocumentsIn(
    Connection& c, std::span<const vault::DocumentWrite> writes,
    const vault::IndexUpdate* index, int64_t now) {
  for (const vault::DocumentWrite& w : writes) {
    if (!w.value) {
      TILLIT_RETURN_IF_ERROR(c.Exec("DELETE FROM store_documents WHERE "
                                    "citizen_id = $1 AND tag = $2",
                                    {citizen_id(), TagOf("d", w.kind, w.key)})
                                 .status());
      continue;
    }
    TILLIT_RETURN_IF_ERROR(PutDocument(c, w.kind, w.key, *w.value, now));
  }
  // The registry's mirror is rebuilt from these rows after a crash.
  if (index != nullptr) return PutIndexRows(c, *index);
  return Status::Ok();
}

Status PgCitizenStore::PutDocument(Connection& c, std::string_view kind,
                                   std::string_view key, std::string_view value,
                                   int64_t updated_at) {
  const Tag tag = TagOf("d", kind, key);
  internal::FieldWriter doc;
  doc.Str(kind).Str(key).Str(value).Int(updated_at);
  return c
      .Exec(
          "INSERT INTO store_documents (citizen_id, tag, kind_tag, "
          "sealed) VALUES ($1, $2, $3, $4) ON CONFLICT (citizen_id, tag) "
          "DO UPDATE SET sealed = EXCLUDED.sealed",
          {citizen_id(), tag, TagOf("k", kind), Seal('d', tag, 0, doc.bytes())})
      .status();
}

Status PgCitizenStore::PutIndexRows(Connection& c,
                                    const vault::IndexUpdate& index) {
  const Tag kind_tag = TagOf("k", index.kind);
  internal::FieldWriter rows;
  rows.Str(index.kind).Int(static_cast<int64_t>(index.rows.size()));
  for (const vault::IndexRow& row : index.rows) {
    rows.Str(row.key).Str(row.value);
  }
  return c
      .Exec(
          "INSERT INTO store_index_rows (citizen_id, kind_tag, sealed) "
          "VALUES ($1, $2, $3) ON CONFLICT (citizen_id, kind_tag) "
          "DO UPDATE SET sealed = EXCLUDED.sealed",
          {citizen_id(), kind_tag, Seal('i', kind_tag, 0, rows.bytes())})
      .status();
}

// ------------------------------------------------------------------- reads

StatusOr<vault::StoreVersion> PgCitizenStore::ContentVersion() {
  return session_->Run([&](Connection& c) -> StatusOr<vault::StoreVersion> {
    TILLIT_ASSIGN_OR_RETURN(
        Result r, c.Exec("SELECT sealed FROM store_heads WHERE citizen_id = $1",
                         {citizen_id()}));
    // The sealed head changes with every write (a new nonce each time), so
    // its bytes' hash is a stamp of the contents without opening it.
    uint64_t stamp = 0;
    if (r.rows() == 1) {
      const crypto::Digest d = crypto::Sha256(r.Bytes(0, 0));
      for (int i = 0; i < 8; ++i) stamp = (stamp << 8) | d[i];
    }
    return vault::StoreVersion({opening_ | (uint64_t{1} << 63), stamp, 0});
  });
}

StatusOr<std::vector<PgCitizenStore::Row>> PgCitizenStore::ReadRows(
    Connection& c, const std::optional<Tag>& category,
    const std::optional<Tag>& type) {
  const Param cat = category ? Param(*category) : Param::Null();
  const Param typ = type ? Param(*type) : Param::Null();
  TILLIT_ASSIGN_OR_RETURN(Result r,
                          c.Exec("SELECT seq, tag, meta FROM store_records "
                                 "WHERE citizen_id = $1 "
                                 "AND ($2::bytea IS NULL OR category_tag = $2) "
                                 "AND ($3::bytea IS NULL OR type_tag = $3) "
                                 "ORDER BY seq",
                                 {citizen_id(), cat, typ}));
  std::vector<Row> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    Row row;
    const std::span<const uint8_t> tag = r.Bytes(i, 1);
    row.tag.assign(tag.begin(), tag.end());
    TILLIT_ASSIGN_OR_RETURN(row.record, OpenMeta(tag, r.Bytes(i, 2)));
    TILLIT_ASSIGN_OR_RETURN(row.record.seq, r.Int64(i, 0));
    out.push_back(std::move(row));
  }
  return out;
}

StatusOr<std::vector<vault::StoredRecord>> PgCitizenStore::List(
    const vault::RecordFilter& f) {
  if (f.limit == 0 || f.limit > 1000) {
    return Status::InvalidArgument("limit must be between 1 and 1000");
  }
  std::optional<Tag> cat, type;
  if (f.category) cat = TagOf("c", fhir::CategoryName(*f.category));
  if (f.type) type = TagOf("t", *f.type);
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::vector<vault::StoredRecord>> {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadRows(c, cat, type));
        // The same filters and order as the data directory's SQL, on the
        // opened metadata (dates are sealed, so they are compared here).
        std::vector<Row*> picked;
        for (Row& row : rows) {
          const int64_t eff = row.record.effective.value_or(kNoDate);
          if (f.since && !(eff >= *f.since)) continue;
          if (f.until && !(eff < *f.until)) continue;
          if (f.after &&
              !(eff < f.after->effective ||
                (eff == f.after->effective && row.record.seq < f.after->seq))) {
            continue;
          }
          picked.push_back(&row);
        }
        const size_t n = std::min(picked.size(), f.limit);
        std::partial_sort(picked.begin(), picked.begin() + n, picked.end(),
                          [](const Row* a, const Row* b) {
                            return Newer(a->record, b->record);
                          });
        picked.resize(n);
        std::vector<vault::StoredRecord> out;
        if (n == 0) return out;
        std::vector<int64_t> seqs;
        std::unordered_map<int64_t, Row*> by_seq;
        for (Row* row : picked) {
          seqs.push_back(row->record.seq);
          by_seq[row->record.seq] = row;
        }
        TILLIT_ASSIGN_OR_RETURN(Result r,
                                c.Exec("SELECT seq, body FROM store_records "
                                       "WHERE citizen_id = $1 "
                                       "AND seq = ANY ($2::text::bigint[])",
                                       {citizen_id(), IntArray(seqs)}));
        for (int i = 0; i < r.rows(); ++i) {
          TILLIT_ASSIGN_OR_RETURN(int64_t seq, r.Int64(i, 0));
          auto it = by_seq.find(seq);
          if (it == by_seq.end()) continue;
          TILLIT_ASSIGN_OR_RETURN(
              std::vector<uint8_t> body,
              Unseal('b', it->second->tag, 0, r.Bytes(i, 1)));
          it->second->record.resource.assign(AsText(body));
        }
        out.reserve(n);
        for (Row* row : picked) {
          // A record replaced between the two reads keeps its seq, so each
          // has its body; one deleted in between (erasure) ends the read.
          if (row->record.resource.empty()) {
            return Status::ResourceExhausted(
                "the citizen's store changed during the read; try again");
          }
          out.push_back(std::move(row->record));
        }
        return out;
      });
}

StatusOr<vault::StoredRecord> PgCitizenStore::Get(std::string_view type,
                                                  std::string_view id) {
  const Tag tag = TagOf("r", type, id);
  return session_->Run([&](Connection& c) -> StatusOr<vault::StoredRecord> {
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec("SELECT seq, meta, body FROM store_records "
                                   "WHERE citizen_id = $1 AND tag = $2",
                                   {citizen_id(), tag}));
    if (r.rows() == 0) return Status::NotFound("no such record");
    TILLIT_ASSIGN_OR_RETURN(vault::StoredRecord rec,
                            OpenMeta(tag, r.Bytes(0, 1)));
    TILLIT_ASSIGN_OR_RETURN(rec.seq, r.Int64(0, 0));
    TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                            Unseal('b', tag, 0, r.Bytes(0, 2)));
    rec.resource.assign(AsText(body));
    return rec;
  });
}

StatusOr<std::vector<vault::RecordVersion>> PgCitizenStore::History(
    std::string_view type, std::string_view id) {
  const Tag tag = TagOf("r", type, id);
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::vector<vault::RecordVersion>> {
        TILLIT_ASSIGN_OR_RETURN(Result exists,
                                c.Exec("SELECT 1 FROM store_records "
                                       "WHERE citizen_id = $1 AND tag = $2",
                                       {citizen_id(), tag}));
        if (exists.rows() == 0) return Status::NotFound("no such record");
        TILLIT_ASSIGN_OR_RETURN(
            Result r,
            c.Exec("SELECT version, sealed FROM store_versions "
                   "WHERE citizen_id = $1 AND tag = $2 ORDER BY version DESC",
                   {citizen_id(), tag}));
        std::vector<vault::RecordVersion> out;
        out.reserve(r.rows());
        for (int i = 0; i < r.rows(); ++i) {
          TILLIT_ASSIGN_OR_RETURN(int64_t version, r.Int64(i, 0));
          TILLIT_ASSIGN_OR_RETURN(vault::RecordVersion v,
                                  OpenVersion(tag, version, r.Bytes(i, 1)));
          out.push_back(std::move(v));
        }
        return out;
      });
}

StatusOr<int64_t> PgCitizenStore::Count() {
  return session_->Run([&](Connection& c) -> StatusOr<int64_t> {
    TILLIT_ASSIGN_OR_RETURN(Result r,
                            c.Exec("SELECT count(*) FROM store_records "
                                   "WHERE citizen_id = $1",
                                   {citizen_id()}));
    return r.Int64(0, 0);
  });
}

StatusOr<std::map<std::string, int64_t>> PgCitizenStore::CountBy(bool by_type) {
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::map<std::string, int64_t>> {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Row> rows,
                                ReadRows(c, std::nullopt, std::nullopt));
        std::map<std::string, int64_t> out;
        for (const Row& row : rows) {
          ++out[by_type ? row.record.type
                        : std::string(fhir::CategoryName(row.record.category))];
        }
        return out;
      });
}

StatusOr<std::map<std::string, int64_t>> PgCitizenStore::CountByCategory() {
  return CountBy(false);
}

StatusOr<std::map<std::string, int64_t>> PgCitizenStore::CountByType() {
  return CountBy(true);
}

StatusOr<std::vector<vault::RecordMeta>> PgCitizenStore::ListRecordMeta() {
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::vector<vault::RecordMeta>> {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Row> rows,
                                ReadRows(c, std::nullopt, std::nullopt));
        std::vector<vault::RecordMeta> out;
        out.reserve(rows.size());
        for (Row& row : rows) {
          vault::StoredRecord& rec = row.record;
          out.push_back(vault::RecordMeta{
              std::move(rec.type), std::move(rec.id), rec.category,
              rec.effective, rec.sensitive, std::move(rec.codes)});
        }
        return out;
      });
}

StatusOr<std::optional<std::string>> PgCitizenStore::GetDocument(
    std::string_view kind, std::string_view key) {
  const Tag tag = TagOf("d", kind, key);
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::optional<std::string>> {
        TILLIT_ASSIGN_OR_RETURN(Result r,
                                c.Exec("SELECT sealed FROM store_documents "
                                       "WHERE citizen_id = $1 AND tag = $2",
                                       {citizen_id(), tag}));
        if (r.rows() == 0) return std::optional<std::string>();
        TILLIT_ASSIGN_OR_RETURN(auto doc, OpenDocument(tag, r.Bytes(0, 0)));
        return std::optional<std::string>(std::move(doc.second));
      });
}

StatusOr<std::vector<std::pair<std::string, std::string>>>
PgCitizenStore::ListDocuments(std::string_view kind) {
  const Tag kind_tag = TagOf("k", kind);
  return session_->Run(
      [&](Connection& c)
          -> StatusOr<std::vector<std::pair<std::string, std::string>>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT tag, sealed FROM store_documents "
                             "WHERE citizen_id = $1 AND kind_tag = $2",
                             {citizen_id(), kind_tag}));
        std::vector<std::pair<std::string, std::string>> out;
        out.reserve(r.rows());
        for (int i = 0; i < r.rows(); ++i) {
          TILLIT_ASSIGN_OR_RETURN(auto doc,
                                  OpenDocument(r.Bytes(i, 0), r.Bytes(i, 1)));
          out.push_back(std::move(doc));
        }
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
          return a.first < b.first;
        });
        return out;
      });
}

StatusOr<std::vector<vault::IndexUpdate>> PgCitizenStore::ReadIndexRows() {
  return session_->Run(
      [&](Connection& c) -> StatusOr<std::vector<vault::IndexUpdate>> {
        TILLIT_ASSIGN_OR_RETURN(
            Result r, c.Exec("SELECT kind_tag, sealed FROM store_index_rows "
                             "WHERE citizen_id = $1",
                             {citizen_id()}));
        std::vector<vault::IndexUpdate> out;
        for (int i = 0; i < r.rows(); ++i) {
          TILLIT_ASSIGN_OR_RETURN(vault::IndexUpdate u,
                                  OpenIndexRows(r.Bytes(i, 0), r.Bytes(i, 1)));
          // An update that emptied a kind leaves no rows to mirror, as the
          // data directory's store keeps none.
          if (!u.rows.empty()) out.push_back(std::move(u));
        }
        std::sort(out.begin(), out.end(),
                  [](const auto& a, const auto& b) { return a.kind < b.kind; });
        return out;
      });
}

StatusOr<vault::RecordVersion> PgCitizenStore::OpenVersion(
    std::span<const uint8_t> tag, int64_t version,
    std::span<const uint8_t> sealed) const {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          Unseal('v', tag, version, sealed));
  internal::FieldReader in(plain);
  vault::RecordVersion v;
  v.version = version;
  in.Str(&v.source);
  in.Int(&v.recorded_at);
  in.Int(&v.superseded_at);
  in.Str(&v.superseded_by);
  in.Str(&v.note);
  in.Str(&v.resource);
  TILLIT_RETURN_IF_ERROR(in.Finish());
  return v;
}

StatusOr<vault::IndexUpdate> PgCitizenStore::OpenIndexRows(
    std::span<const uint8_t> kind_tag, std::span<const uint8_t> sealed) const {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          Unseal('i', kind_tag, 0, sealed));
  internal::FieldReader in(plain);
  vault::IndexUpdate u;
  int64_t n = 0;
  in.Str(&u.kind);
  in.Int(&n);
  for (int64_t j = 0; j < n; ++j) {
    vault::IndexRow row;
    if (!in.Str(&row.key) || !in.Str(&row.value)) break;
    u.rows.push_back(std::move(row));
  }
  TILLIT_RETURN_IF_ERROR(in.Finish());
  std::sort(u.rows.begin(), u.rows.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  return u;
}

// ---------------------------------------------------------------- transfer

StatusOr<vault::StoreRows> PgCitizenStore::ExportRows() {
  return session_->Transact([&](Connection& c) -> StatusOr<vault::StoreRows> {
    TILLIT_RETURN_IF_ERROR(
        c.ExecScript("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
    vault::StoreRows out;
    TILLIT_ASSIGN_OR_RETURN(
        Result head,
        c.Exec("SELECT sealed FROM store_heads WHERE citizen_id = $1",
               {citizen_id()}));
    if (head.rows() == 1) {
      TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                              Unseal('h', {}, 0, head.Bytes(0, 0)));
      internal::FieldReader in(plain);
      in.Int(&out.generation);
      TILLIT_RETURN_IF_ERROR(in.Finish());
    }
    TILLIT_ASSIGN_OR_RETURN(Result records,
                            c.Exec("SELECT tag, meta, body FROM store_records "
                                   "WHERE citizen_id = $1 ORDER BY seq",
                                   {citizen_id()}));
    std::unordered_map<std::string, size_t> at;  // by tag bytes
    out.records.reserve(records.rows());
    for (int i = 0; i < records.rows(); ++i) {
      const std::span<const uint8_t> tag = records.Bytes(i, 0);
      vault::StoreRows::Record r;
      TILLIT_ASSIGN_OR_RETURN(r.record, OpenMeta(tag, records.Bytes(i, 1)));
      TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> body,
                              Unseal('b', tag, 0, records.Bytes(i, 2)));
      r.record.resource = std::string(AsText(body));
      at[std::string(AsText(tag))] = out.records.size();
      out.records.push_back(std::move(r));
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result versions,
        c.Exec("SELECT tag, version, sealed FROM store_versions "
               "WHERE citizen_id = $1 ORDER BY tag, version",
               {citizen_id()}));
    for (int i = 0; i < versions.rows(); ++i) {
      const std::span<const uint8_t> tag = versions.Bytes(i, 0);
      auto it = at.find(std::string(AsText(tag)));
      if (it == at.end()) {
        return Status::DataLoss(
            "the citizen's store holds a version of a record it does not "
            "hold");
      }
      TILLIT_ASSIGN_OR_RETURN(int64_t version, versions.Int64(i, 1));
      TILLIT_ASSIGN_OR_RETURN(vault::RecordVersion v,
                              OpenVersion(tag, version, versions.Bytes(i, 2)));
      out.records[it->second].versions.push_back(std::move(v));
    }
    TILLIT_ASSIGN_OR_RETURN(
        Result documents,
        c.Exec("SELECT tag, sealed FROM store_documents WHERE citizen_id = $1",
               {citizen_id()}));
    for (int i = 0; i < documents.rows(); ++i) {
      TILLIT_ASSIGN_OR_RETURN(
          std::vector<uint8_t> plain,
          Unseal('d', documents.Bytes(i, 0), 0, documents.Bytes(i, 1)));
      internal::FieldReader in(plain);
      vault::StoreRows::Document d;
      in.Str(&d.kind);
      in.Str(&d.key);
      in.Str(&d.value);
      in.Int(&d.updated_at);
      TILLIT_RETURN_IF_ERROR(in.Finish());
      out.documents.push_back(std::move(d));
    }
    std::sort(out.documents.begin(), out.documents.end(),
              [](const auto& a, const auto& b) {
                return std::tie(a.kind, a.key) < std::tie(b.kind, b.key);
              });
    TILLIT_ASSIGN_OR_RETURN(
        Result index, c.Exec("SELECT kind_tag, sealed FROM store_index_rows "
                             "WHERE citizen_id = $1",
                             {citizen_id()}));
    for (int i = 0; i < index.rows(); ++i) {
      TILLIT_ASSIGN_OR_RETURN(
          vault::IndexUpdate u,
          OpenIndexRows(index.Bytes(i, 0), index.Bytes(i, 1)));
      if (!u.rows.empty()) out.index.push_back(std::move(u));
    }
    std::sort(out.index.begin(), out.index.end(),
              [](const auto& a, const auto& b) { return a.kind < b.kind; });
    return out;
  });
}

Status PgCitizenStore::ImportRows(const vault::StoreRows& rows) {
  if (rows.generation < 0) {
    return Status::InvalidArgument("a store's generation is never negative");
  }
  // Never written (generation 0, no rows): nothing to keep, as a new store
  // keeps nothing until its first write.
  if (rows.generation == 0) {
    if (!rows.records.empty() || !rows.documents.empty() ||
        !rows.index.empty()) {
      return Status::InvalidArgument("rows without a generation");
    }
    return Status::Ok();
  }
  TILLIT_RETURN_IF_ERROR(session_->Transact([&](Connection& c) -> Status {
    TILLIT_ASSIGN_OR_RETURN(
        Result held, c.Exec("SELECT 1 FROM store_heads WHERE citizen_id = $1",
                            {citizen_id()}));
    if (held.rows() != 0) {
      return Status::FailedPrecondition(
          "the citizen's store already holds rows; rows are only imported "
          "into a store never written");
    }
    internal::FieldWriter generation;
    generation.Int(rows.generation);
    TILLIT_RETURN_IF_ERROR(
        c.Exec("INSERT INTO store_heads (citizen_id, sealed) VALUES ($1, $2)",
               {citizen_id(), Seal('h', {}, 0, generation.bytes())})
            .status());
    // Records in their order (a few hundred a statement), then versions.
    std::vector<SealedRecord> sealed;
    sealed.reserve(rows.records.size());
    for (const vault::StoreRows::Record& r : rows.records) {
      sealed.push_back(SealStored(r.record));
    }
    std::vector<const SealedRecord*> pending;
    pending.reserve(sealed.size());
    for (const SealedRecord& r : sealed) pending.push_back(&r);
    TILLIT_RETURN_IF_ERROR(InsertRecords(c, &pending));
    // Versions, documents and index rows as a write seals them.
    for (size_t i = 0; i < rows.records.size(); ++i) {
      for (const vault::RecordVersion& v : rows.records[i].versions) {
        TILLIT_RETURN_IF_ERROR(InsertVersion(c, sealed[i].tag, v));
      }
    }
    for (const vault::StoreRows::Document& d : rows.documents) {
      TILLIT_RETURN_IF_ERROR(
          PutDocument(c, d.kind, d.key, d.value, d.updated_at));
    }
    for (const vault::IndexUpdate& u : rows.index) {
      TILLIT_RETURN_IF_ERROR(PutIndexRows(c, u));
    }
    return Status::Ok();
  }));
  generation_ = rows.generation;
  return Status::Ok();
}

StatusOr<vault::StoredRecord> PgCitizenStore::OpenMeta(
    std::span<const uint8_t> tag, std::span<const uint8_t> sealed) const {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> meta,
                          Unseal('m', tag, 0, sealed));
  internal::FieldReader in(meta);
  vault::StoredRecord rec;
  std::string category_name;
  int64_t effective = 0, sensitive = 0;
  in.Str(&rec.type);
  in.Str(&rec.id);
  in.Str(&category_name);
  in.Int(&effective);
  in.Int(&sensitive);
  in.Str(&rec.source);
  in.Int(&rec.updated_at);
  int64_t codes = 0;
  in.Int(&codes);
  for (int64_t i = 0; i < codes; ++i) {
    if (!in.Str(&rec.codes.emplace_back())) break;  // Finish says DataLoss
  }
  TILLIT_RETURN_IF_ERROR(in.Finish());
  rec.category =
      fhir::ParseCategory(category_name).value_or(fhir::Category::kOther);
  if (effective != kNoDate) rec.effective = effective;
  rec.sensitive = sensitive != 0;
  return rec;
}

StatusOr<std::pair<std::string, std::string>> PgCitizenStore::OpenDocument(
    std::span<const uint8_t> tag, std::span<const uint8_t> sealed) const {
  TILLIT_ASSIGN_OR_RETURN(std::vector<uint8_t> plain,
                          Unseal('d', tag, 0, sealed));
  internal::FieldReader in(plain);
  std::string kind, key, value;
  int64_t updated_at = 0;
  in.Str(&kind);
  in.Str(&key);
  in.Str(&value);
  in.Int(&updated_at);
  TILLIT_RETURN_IF_ERROR(in.Finish());
  return std::make_pair(std::move(key), std::move(value));
}

}  // namespace tillit::pgstore
