// PgCitizenStores, PgCitizenStore: citizens' stores as rows of PostgreSQL
// tables that every `tillit serve` node shares, sealed so that the
// database sees no health data.
//
// Encryption stays per citizen. From the citizen's data key (DEK) come two
// sub-keys (keyed BLAKE2b of the DEK over a fixed label, a PRF): a sealing
// key (XChaCha20-Poly1305, crypto::AeadKey) and a tag key. What a row says
// of a citizen's health (resource type, id, category, dates, sensitivity,
// codes, source, the resource itself; documents and index rows whole) is
// sealed; the columns queries need are keyed tags of the type and id, the
// type, the category, and a document's kind and key, which mean nothing
// without the citizen's key and differ between citizens. What stays plain:
// the citizen id, row counts and sizes, and the insertion order.
//
// Each sealed field's associated data names its table, the citizen and the
// row's tag, so no sealed value can be moved to another row or citizen.
// The store's generation (rollback protection, as the data directory's
// files keep it) is sealed in its head row, so it cannot be altered
// without the key; Open refuses a head older than the registry's copy.
//
// Writers of one citizen are serialised across nodes by a row lock on the
// head (SELECT ... FOR UPDATE) for the length of the write's transaction;
// readers never wait.
//
// Thread-safety: PgCitizenStores is safe from any thread. A PgCitizenStore
// is not thread-safe (one user at a time, as every CitizenStore); stores
// share their Session, which serialises their statements.
#ifndef TILLIT_PGSTORE_PG_CITIZEN_STORE_H_
#define TILLIT_PGSTORE_PG_CITIZEN_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/aead.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/random.h"
#include "tillit/crypto/secret.h"
#include "tillit/pgstore/session.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/transfer.h"

namespace tillit::pgstore {

class PgCitizenStore;

class PgCitizenStores {
 public:
  // The citizen stores' schema version this program writes.
  static constexpr int64_t kSchemaVersion = 1;

  // Creates or checks the stores' tables through `session` (which must
  // outlive this and every store opened from it).
  static StatusOr<std::unique_ptr<PgCitizenStores>> Open(
      Session* session, crypto::Random* rng = &crypto::Random::System());
  PgCitizenStores(const PgCitizenStores&) = delete;
  PgCitizenStores& operator=(const PgCitizenStores&) = delete;

  // The store of `citizen_id` under its data key `dek` (32 bytes). A
  // citizen with no rows yet has an empty store at generation 0, created
  // by its first write. DataLoss when the sealed head does not open under
  // `dek` (another key, altered bytes) or is older than
  // `registry_generation` (rows restored from an older copy). `sink` as
  // for every CitizenStore.
  StatusOr<std::unique_ptr<PgCitizenStore>> OpenStore(
      const std::string& citizen_id, const crypto::SecretBytes& dek,
      int64_t registry_generation, vault::CitizenStore::GenerationSink sink);

  // Deletes every row of the citizen's store, in one transaction (after
  // erasure has destroyed the wrapped key, what is left cannot be read;
  // this removes it too). Ok if there was none.
  Status Drop(const std::string& citizen_id);
  // Whether the citizen's store has been written (and not dropped since).
  StatusOr<bool> HasRows(const std::string& citizen_id);

 private:
  PgCitizenStores(Session* session, crypto::Random* rng)
      : session_(session), rng_(rng) {}

  Session* const session_;
  crypto::Random* const rng_;
};

class PgCitizenStore final : public vault::CitizenStore,
                             public vault::StoreExport,
                             public vault::StoreImport {
 public:
  ~PgCitizenStore() override;

  int64_t generation() const override { return generation_; }
  StatusOr<vault::PutResult> Put(
      std::span<const fhir::ParsedResource> resources, std::string_view source,
      int64_t now) override;
  Status Correct(const fhir::ParsedResource& corrected, std::string_view source,
                 std::string_view note,
                 std::span<const vault::DocumentWrite> writes,
                 const vault::IndexUpdate* index, int64_t now) override;
  StatusOr<std::vector<vault::RecordVersion>> History(
      std::string_view type, std::string_view id) override;
  // A stamp of the sealed head in the database, read each time (so a
  // write through another node shows), with this opening's own number.
  StatusOr<vault::StoreVersion> ContentVersion() override;
  StatusOr<int64_t> Count() override;
  StatusOr<std::map<std::string, int64_t>> CountByCategory() override;
  StatusOr<std::map<std::string, int64_t>> CountByType() override;
  StatusOr<std::vector<vault::StoredRecord>> List(
      const vault::RecordFilter& filter) override;
  StatusOr<vault::StoredRecord> Get(std::string_view type,
                                    std::string_view id) override;
  Status WriteDocuments(std::span<const vault::DocumentWrite> writes,
                        const vault::IndexUpdate* index, int64_t now) override;
  StatusOr<std::optional<std::string>> GetDocument(
      std::string_view kind, std::string_view key) override;
  StatusOr<std::vector<std::pair<std::string, std::string>>> ListDocuments(
      std::string_view kind) override;
  StatusOr<std::vector<vault::IndexUpdate>> ReadIndexRows() override;
  StatusOr<std::vector<vault::RecordMeta>> ListRecordMeta() override;

  // Every row (`tillit migrate`), in one repeatable-read transaction.
  StatusOr<vault::StoreRows> ExportRows() override;
  // Into a store never written: every row sealed as a write would seal
  // it, records in their order, the generation `rows.generation`.
  Status ImportRows(const vault::StoreRows& rows) override;

 private:
  friend class PgCitizenStores;
  struct Keys;
  struct Row;  // one record's metadata, opened

  PgCitizenStore(std::string citizen_id, Session* session, crypto::Random* rng,
                 std::unique_ptr<Keys> keys, int64_t generation,
                 GenerationSink sink);

  using Tag = std::vector<uint8_t>;

  // The keyed tag of one or two values in `domain` (a letter per kind of
  // tag: "r" a record's type and id, "t" a type, "c" a category, "d" a
  // document's kind and key, "k" a kind).
  Tag TagOf(std::string_view domain, std::string_view part) const;
  Tag TagOf(std::string_view domain, std::string_view first,
            std::string_view second) const;
  // A sealed value of table `table` (a letter) in the row tagged `tag`
  // (and, for a record's history, its version): the associated data names
  // all three and the citizen.
  std::vector<uint8_t> Seal(char table, std::span<const uint8_t> tag,
                            int64_t version,
                            std::span<const uint8_t> plain) const;
  StatusOr<std::vector<uint8_t>> Unseal(char table,
                                        std::span<const uint8_t> tag,
                                        int64_t version,
                                        std::span<const uint8_t> sealed) const;
  std::vector<uint8_t> Ad(char table, std::span<const uint8_t> tag,
                          int64_t version) const;

  // A record's sealed metadata, opened (without seq and resource).
  StatusOr<vault::StoredRecord> OpenMeta(std::span<const uint8_t> tag,
                                         std::span<const uint8_t> sealed) const;
  // A sealed document, opened: its key and value.
  StatusOr<std::pair<std::string, std::string>> OpenDocument(
      std::span<const uint8_t> tag, std::span<const uint8_t> sealed) const;
  // Every record's metadata with its seq, in insertion order; only one
  // category or type when given (by tag).
  StatusOr<std::vector<Row>> ReadRows(Connection& c,
                                      const std::optional<Tag>& category,
                                      const std::optional<Tag>& type);
  // Begins a write in `c`'s transaction: locks the head row (creating it
  // for a new store) and returns the generation stored in it.
  StatusOr<int64_t> LockHead(Connection& c);
  // Ends a write: stores generation max(stored, generation_) + 1 in the
  // head; returns it.
  StatusOr<int64_t> BumpHead(Connection& c, int64_t stored);
  // After the commit: remembers the generation and tells the sink.
  void Committed(int64_t generation, const vault::IndexUpdate* index);
  // Keeps the current version of the record tagged `tag` in its history,
  // superseded by `source` with `note`.
  Status Supersede(Connection& c, std::span<const uint8_t> tag,
                   std::string_view source, std::string_view note, int64_t now);
  // A record as its row holds it: tags and sealed fields.
  struct SealedRecord {
    Tag tag, type_tag, category_tag;
    std::vector<uint8_t> meta, body;
  };
  // A stored record's sealed fields, during a Put.
  struct Current {
    std::vector<uint8_t> meta, body;
    bool pending = false;  // to be inserted by the Put, not yet in the table
  };
  SealedRecord SealRecord(const fhir::ParsedResource& r,
                          std::string_view source, int64_t now) const;
  // The same from a record's stored fields (its resource included).
  SealedRecord SealStored(const vault::StoredRecord& r) const;
  // What both seal: the tags, the sealed metadata and the sealed body.
  SealedRecord SealFields(std::string_view type, std::string_view id,
                          fhir::Category category,
                          std::optional<int64_t> effective, bool sensitive,
                          std::string_view source, int64_t updated_at,
                          std::span<const std::string> codes,
                          std::string_view json) const;
  // Keeps `v` as an earlier version of the record tagged `tag`.
  Status InsertVersion(Connection& c, std::span<const uint8_t> tag,
                       const vault::RecordVersion& v);
  // Writes one document, or replaces it (sealed with its kind, key and
  // time).
  Status PutDocument(Connection& c, std::string_view kind, std::string_view key,
                     std::string_view value, int64_t updated_at);
  // Writes one kind's index rows, or replaces them.
  Status PutIndexRows(Connection& c, const vault::IndexUpdate& index);
  // A sealed earlier version of the record tagged `tag`, opened.
  StatusOr<vault::RecordVersion> OpenVersion(
      std::span<const uint8_t> tag, int64_t version,
      std::span<const uint8_t> sealed) const;
  // A sealed index row of the kind tagged `kind_tag`, opened (rows by key).
  StatusOr<vault::IndexUpdate> OpenIndexRows(
      std::span<const uint8_t> kind_tag, std::span<const uint8_t> sealed) const;
  Status ReplaceRecord(Connection& c, const SealedRecord& r);
  // Inserts `rows` (a few hundred a statement) and empties it.
  Status InsertRecords(Connection& c, std::vector<const SealedRecord*>* rows);
  // The stored rows of `batch`'s tags, by tag bytes.
  Status ReadCurrent(Connection& c, const std::vector<SealedRecord>& batch,
                     std::unordered_map<std::string, Current>* current);
  Status WriteDocumentsIn(Connection& c,
                          std::span<const vault::DocumentWrite> writes,
                          const vault::IndexUpdate* index, int64_t now);
  StatusOr<std::map<std::string, int64_t>> CountBy(bool by_type);

  Session* const session_;
  crypto::Random* const rng_;
  std::unique_ptr<Keys> keys_;
  const uint64_t opening_;  // unique in the process: for StoreVersion
  int64_t generation_;
  GenerationSink sink_;
};

}  // namespace tillit::pgstore

#endif  // TILLIT_PGSTORE_PG_CITIZEN_STORE_H_
