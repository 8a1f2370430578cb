// Citizen routes (SPEC §7, /v1/me/...): the citizen's own records, export,
// consents, restrictions, research opt-out, access log and erasure.
//
// The citizen is always the token's principal: no route takes a citizen id.
// Every route that touches the citizen's data writes its audit entry before
// anything is released or changed (fail closed). Reads are computed first
// and released only once the entry is durable; writes are validated first
// (so bad input writes no entry) and applied only once it is durable.
//
// From the Api: audit() (and its log), stores(), vault(), consent(),
// devices(), options() (randomness), server_log() (an export cut short).
#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>

#include "api.h"
#include "call.h"
#include "devices.h"
#include "route.h"
#include "tillit/audit_remote/remote.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"

namespace tillit::api::internal {
namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;
constexpr size_t kExportPage = 500;

// The tag SPEC §3 puts on records the citizen entered.
constexpr const char* kSourceSystem = "https://tillit.health/source";

audit::AuditEntry Entry(std::string action, const Call& call) {
  audit::AuditEntry e;
  e.action = std::move(action);
  e.citizen_id = call.who().id;
  return e;
}

std::vector<std::string> CategoryNames(const std::set<fhir::Category>& set) {
  std::vector<std::string> out;
  for (fhir::Category c : set) out.emplace_back(fhir::CategoryName(c));
  return out;
}

std::vector<std::string> CategoryNames(consent::CategorySet set) {
  std::vector<std::string> out;
  for (fhir::Category c : fhir::AllCategories()) {
    if (set & consent::CategoryBit(c)) out.emplace_back(fhir::CategoryName(c));
  }
  return out;
}

// Canonical decimal integers only: digits, an optional leading '-' for
// signed values, nothing else.
template <typename Int>
std::optional<Int> ParseInteger(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  Int v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

StatusOr<size_t> LimitParam(const Call& call) {
  std::optional<std::string> text = call.Query("limit");
  if (!text) return kDefaultLimit;
  std::optional<int64_t> n = ParseInteger<int64_t>(*text);
  if (!n || *n < 1 || *n > static_cast<int64_t>(kMaxLimit))
    return Status::InvalidArgument("limit: must be an integer from 1 to 1000");
  return static_cast<size_t>(*n);
}

// Record cursors are "<effective>.<seq>" of the last record of a page;
// clients treat them as opaque.
std::string EncodeCursor(const vault::StoredRecord& r) {
  return std::to_string(
             r.effective.value_or(std::numeric_limits<int64_t>::min())) +
         "." + std::to_string(r.seq);
}

StatusOr<vault::RecordFilter::Position> DecodeCursor(std::string_view text) {
  const Status bad = Status::InvalidArgument("cursor: malformed");
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return bad;
  std::optional<int64_t> effective = ParseInteger<int64_t>(text.substr(0, dot));
  std::optional<int64_t> seq = ParseInteger<int64_t>(text.substr(dot + 1));
  if (!effective || !seq || *seq < 1) return bad;
  return vault::RecordFilter::Position{*effective, *seq};
}

vault::RecordFilter::Position PositionOf(const vault::StoredRecord& r) {
  return {r.effective.value_or(std::numeric_limits<int64_t>::min()), r.seq};
}

// A FHIR resource type name: an upper-case letter, then letters.
bool IsResourceType(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'A' || s[0] > 'Z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

// The media type of a Content-Type header, lower-cased, without parameters.
std::string MediaType(const httplib::Request& req) {
  std::string type = req.get_header_value("Content-Type");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return type;
}

// --- records

Status Import(Api& api, Call& call) {
  if (call.req.body.empty())
    return Status::InvalidArgument(
        "a FHIR Bundle, resource or NDJSON body "
        "is required");
  const std::string type = MediaType(call.req);
  const vault::ImportFormat format = type == "application/fhir+ndjson" ||
                                             type == "application/x-ndjson" ||
                                             type == "application/ndjson"
                                         ? vault::ImportFormat::kNdjson
                                         : vault::ImportFormat::kJson;
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("records.import", call)).status());
  // Vault::Import (not the cached store) because a bundle's Patient is
  // linked to the citizen in the registry. It opens its own handle on the
  // citizen's file; SQLite serialises the writes and the generation is read
  // inside each write transaction, so the cached handle stays valid.
  TILLIT_ASSIGN_OR_RETURN(
      vault::ImportOutcome out,
      api.vault().Import(call.req.body, format, call.who().id, "import"));
  call.Reply({{"imported", out.imported},
              {"written", out.written},
              {"by_type", out.by_type}});
  return Status::Ok();
}

Status ListRecords(Api& api, Call& call) {
  vault::RecordFilter filter;
  if (auto c = call.Query("category")) {
    filter.category = fhir::ParseCategory(*c);
    if (!filter.category)
      return Status::InvalidArgument("category: not a record category");
  }
  if (auto t = call.Query("type")) {
    if (!IsResourceType(*t))
      return Status::InvalidArgument("type: not a FHIR resource type");
    filter.type = *t;
  }
  if (auto s = call.Query("since")) {
    auto t = fhir::ParseFhirDateTime(*s);
    if (!t.ok())
      return Status::InvalidArgument("since: not a FHIR date or dateTime");
    filter.since = *t;
  }
  if (auto u = call.Query("until")) {
    auto t = fhir::ParseFhirDateTime(*u);
    if (!t.ok())
      return Status::InvalidArgument("until: not a FHIR date or dateTime");
    filter.until = *t;
  }
  if (filter.since && filter.until && *filter.until <= *filter.since)
    return Status::InvalidArgument("until: must be after since");
  TILLIT_ASSIGN_OR_RETURN(filter.limit, LimitParam(call));
  if (auto c = call.Query("cursor")) {
    TILLIT_ASSIGN_OR_RETURN(filter.after, DecodeCursor(*c));
  }

  std::vector<vault::StoredRecord> records;
  bool more = false;
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.who().id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(records, store.List(filter));
        if (records.size() == filter.limit) {
          // Is there a further page? One indexed row answers it.
          vault::RecordFilter probe = filter;
          probe.after = PositionOf(records.back());
          probe.limit = 1;
          TILLIT_ASSIGN_OR_RETURN(auto next, store.List(probe));
          more = !next.empty();
        }
        return Status::Ok();
      }));

  std::set<fhir::Category> categories;
  for (const vault::StoredRecord& r : records) categories.insert(r.category);
  audit::AuditEntry e = Entry("records.list", call);
  e.categories = CategoryNames(categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());

  // Stored resources are minified JSON already: no need to parse them again.
  std::string body = "{\"records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    if (i) body += ',';
    body += records[i].resource;
  }
  body += "],\"next\":";
  body += more ? json(EncodeCursor(records.back())).dump() : "null";
  body += '}';
  call.ReplyText(std::move(body), "application/json");
  return Status::Ok();
}

Status ReadRecord(Api& api, Call& call) {
  vault::StoredRecord record;
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.who().id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(
            record, store.Get(call.Param("type"), call.Param("id")));
        return Status::Ok();
      }));
  audit::AuditEntry e = Entry("records.read", call);
  e.categories = {std::string(fhir::CategoryName(record.category))};
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.ReplyText(std::move(record.resource), "application/fhir+json");
  return Status::Ok();
}

// The Idempotency-Key field of a request (docs/MOBILE_BRIDGE.md): a
// structured-field string or a bare token, 16 to 64 of A-Z a-z 0-9 _ -.
StatusOr<std::optional<std::string>> IdempotencyKey(const Call& call) {
  const size_t count = call.req.get_header_value_count("Idempotency-Key");
  if (count == 0) return std::optional<std::string>();
  std::string key = call.req.get_header_value("Idempotency-Key");
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
    key = key.substr(1, key.size() - 2);
  const bool ok =
      count == 1 && key.size() >= 16 && key.size() <= 64 &&
      std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
               (c >= '0' && c <= '9') || c == '_' || c == '-';
      });
  if (!ok) {
    return Status::InvalidArgument(
        "Idempotency-Key: one value of 16 to 64 of A-Z a-z 0-9 _ -");
  }
  return std::optional<std::string>(std::move(key));
}

// The id of the record an idempotency key names: keyed BLAKE2b (a vault
// sub-key) of the citizen, the type and the key, so the same request maps
// to the same record across retries and restarts, and nobody without the
// vault can link ids to keys.
StatusOr<std::string> IdempotentRecordId(Api& api, const std::string& citizen,
                                         const std::string& type,
                                         const std::string& key) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes hash_key,
      api.vault().DeriveKey(crypto::KdfContext::kIdempotency, 1));
  const std::string message = citizen + "\n" + type + "\n" + key;
  TILLIT_ASSIGN_OR_RETURN(crypto::Digest d,
                          crypto::KeyedHash(hash_key, crypto::AsBytes(message)));
  return crypto::HexEncode(std::span<const uint8_t>(d.data(), 16));
}

// The citizen's resource with the vault's id and the citizen-entered tag
// (any other claim to the source system is dropped: only the vault says
// where a record came from). With an idempotency key the id is derived from
// it; otherwise it is random.
StatusOr<std::string> CitizenResource(
    Api& api, Call& call, const std::optional<std::string>& idempotency_key) {
  TILLIT_ASSIGN_OR_RETURN(json r, call.Json());
  if (!r.is_object())
    return Status::InvalidArgument("the body must be one FHIR resource");
  if (!r.contains("resourceType") || !r["resourceType"].is_string())
    return Status::InvalidArgument("resourceType: required");
  const std::string type = r["resourceType"].get<std::string>();
  if (type == "Bundle")
    return Status::InvalidArgument(
        "resourceType: a Bundle is imported with POST /v1/me/import");
  if (type == "Patient")
    return Status::InvalidArgument(
        "resourceType: the Patient record comes with an import");
  if (r.contains("id"))
    return Status::InvalidArgument("id: assigned by the vault");
  if (r.contains("meta") && !r["meta"].is_object())
    return Status::InvalidArgument("meta: must be an object");
  json& meta = r["meta"];
  if (meta.contains("tag") && !meta["tag"].is_array())
    return Status::InvalidArgument("meta.tag: must be an array");
  json tags = json::array();
  if (meta.contains("tag")) {
    for (const json& t : meta["tag"]) {
      if (t.is_object() && t.contains("system") && t["system"] == kSourceSystem)
        continue;
      tags.push_back(t);
    }
  }
  tags.push_back({{"system", kSourceSystem},
                  {"code", "citizen"},
                  {"display", "Entered by the citizen"}});
  meta["tag"] = std::move(tags);
  if (idempotency_key) {
    TILLIT_ASSIGN_OR_RETURN(
        r["id"], IdempotentRecordId(api, call.who().id, type, *idempotency_key));
  } else {
    r["id"] = api.options().rng->Hex(16);
  }
  return r.dump(-1, ' ', false, json::error_handler_t::strict);
}

Status AddRecord(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> idempotency_key,
                          IdempotencyKey(call));
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          CitizenResource(api, call, idempotency_key));
  TILLIT_ASSIGN_OR_RETURN(fhir::ParsedResource parsed,
                          fhir::ParseFhirResource(text));
  // A repeat of a request already served: the stored record, unchanged.
  std::optional<vault::StoredRecord> earlier;
  if (idempotency_key) {
    TILLIT_RETURN_IF_ERROR(api.stores().With(
        call.who().id, [&](vault::CitizenStore& store) -> Status {
          auto found = store.Get(parsed.type, parsed.id);
          if (found.ok()) {
            earlier = std::move(found).value();
            return Status::Ok();
          }
          return found.status().code() == StatusCode::kNotFound
                     ? Status::Ok()
                     : found.status();
        }));
    if (earlier && earlier->resource != parsed.json) {
      return Status::FailedPrecondition(
          "Idempotency-Key: already used for a different record");
    }
  }
  audit::AuditEntry e = Entry("records.add", call);
  e.categories = {std::string(fhir::CategoryName(parsed.category))};
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  if (earlier) {
    call.res.set_header("Idempotent-Replayed", "true");
    call.res.set_header("Location",
                        "/v1/me/records/" + parsed.type + "/" + parsed.id);
    call.ReplyText(std::move(earlier->resource), "application/fhir+json", 200);
    return Status::Ok();
  }
  // The cached store: a single resource has no Patient to link, so this is
  // what Vault::Import would do, without opening a second handle.
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.who().id, [&](vault::CitizenStore& store) -> Status {
        return store
            .Put(std::span<const fhir::ParsedResource>(&parsed, 1), "citizen",
                 api.Now())
            .status();
      }));
  call.res.set_header("Location",
                      "/v1/me/records/" + parsed.type + "/" + parsed.id);
  call.ReplyText(std::move(parsed.json), "application/fhir+json", 201);
  return Status::Ok();
}

// The export is streamed page by page: the store is held only while one
// page is read, and the whole Bundle never sits in memory.
struct ExportState {
  std::optional<vault::RecordFilter::Position> after;
  bool started = false;
  bool finished = false;
  bool any = false;
};

Status Export(Api& api, Call& call) {
  const std::string citizen = call.who().id;
  std::map<std::string, int64_t> by_category;
  TILLIT_RETURN_IF_ERROR(
      api.stores().With(citizen, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(by_category, store.CountByCategory());
        return Status::Ok();
      }));
  audit::AuditEntry e = Entry("records.export", call);
  for (const auto& [name, count] : by_category) {
    if (count > 0) e.categories.push_back(name);
  }
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());

  auto state = std::make_shared<ExportState>();
  vault::StoreCache* stores = &api.stores();
  ServerLog* server_log = &api.server_log();
  const std::string request_id = call.request_id();
  call.res.status = 200;
  call.res.set_header(
      "Content-Disposition",
      "attachment; filename=\"tillit-export-" + citizen + ".json\"");
  call.res.set_chunked_content_provider(
      "application/fhir+json", [stores, server_log, state, citizen, request_id](
                                   size_t, httplib::DataSink& sink) {
        if (state->finished) {
          sink.done();
          return true;
        }
        std::string chunk;
        if (!state->started) {
          chunk = R"({"resourceType":"Bundle","type":"collection","entry":[)";
          state->started = true;
        }
        std::vector<vault::StoredRecord> page;
        Status s = stores->With(citizen, [&](vault::CitizenStore& store) {
          vault::RecordFilter f;
          f.after = state->after;
          f.limit = kExportPage;
          auto listed = store.List(f);
          if (!listed.ok()) return listed.status();
          page = std::move(listed).value();
          return Status::Ok();
        });
        if (!s.ok()) {
          // The headers are gone: all we can do is cut the stream short
          // (the client sees a truncated, unparseable Bundle).
          server_log->Line("request_id=" + request_id +
                           " export aborted: " + s.ToString());
          return false;
        }
        for (const vault::StoredRecord& r : page) {
          if (state->any) chunk += ',';
          state->any = true;
          chunk += "{\"fullUrl\":";
          chunk += json(r.type + "/" + r.id).dump();
          chunk += ",\"resource\":";
          chunk += r.resource;
          chunk += '}';
        }
        if (page.size() < kExportPage) {
          chunk += "]}";
          state->finished = true;
        } else {
          state->after = PositionOf(page.back());
        }
        if (!sink.write(chunk.data(), chunk.size())) return false;
        if (state->finished) sink.done();
        return true;
      });
  return Status::Ok();
}

Status Summary(Api& api, Call& call) {
  int64_t records = 0;
  std::map<std::string, int64_t> by_category;
  std::map<std::string, int64_t> by_type;
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.who().id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(records, store.Count());
        TILLIT_ASSIGN_OR_RETURN(by_category, store.CountByCategory());
        TILLIT_ASSIGN_OR_RETURN(by_type, store.CountByType());
        return Status::Ok();
      }));
  audit::AuditEntry e = Entry("records.summary", call);
  for (const auto& [name, count] : by_category) {
    if (count > 0) e.categories.push_back(name);
  }
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.Reply({{"citizen_id", call.who().id},
              {"records", records},
              {"by_category", by_category},
              {"by_type", by_type}});
  return Status::Ok();
}

// --- consents

std::string GrantsJson(const std::vector<consent::Grant>& grants) {
  std::string body = "{\"consents\":[";
  for (size_t i = 0; i < grants.size(); ++i) {
    if (i) body += ',';
    body += consent::GrantToJson(grants[i]);
  }
  body += "]}";
  return body;
}

Status ListConsents(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<consent::Grant> grants,
                          api.consent().ListGrants(call.who().id));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("consent.list", call)).status());
  call.ReplyText(GrantsJson(grants), "application/json");
  return Status::Ok();
}

Status AddConsent(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  // Validated before the entry is written, so bad input leaves no trace;
  // AddGrant validates again (same clock) and stores the grant under the
  // id the entry names.
  TILLIT_ASSIGN_OR_RETURN(consent::Grant draft,
                          consent::ParseGrant(text, api.Now()));
  const std::string id = api.consent().NewGrantId();
  audit::AuditEntry e = Entry("consent.grant", call);
  e.categories = CategoryNames(draft.categories);
  e.grant_ids = {id};
  if (draft.purposes.size() == 1)
    e.purpose = std::string(consent::DuoId(draft.purposes[0].purpose));
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_ASSIGN_OR_RETURN(consent::Grant grant,
                          api.consent().AddGrant(call.who().id, text, id));
  call.ReplyText(consent::GrantToJson(grant), "application/json", 201);
  return Status::Ok();
}

Status RevokeConsent(Api& api, Call& call) {
  const std::string id = call.Param("id");
  if (!vault::IsValidId(id, "g_")) return Status::NotFound("no such grant");
  TILLIT_ASSIGN_OR_RETURN(std::vector<consent::Grant> grants,
                          api.consent().ListGrants(call.who().id));
  auto it = std::find_if(grants.begin(), grants.end(),
                         [&](const consent::Grant& g) { return g.id == id; });
  if (it == grants.end()) return Status::NotFound("no such grant");
  if (it->status == consent::Grant::Status::kRevoked)
    return Status::FailedPrecondition("the grant is already revoked");
  audit::AuditEntry e = Entry("consent.revoke", call);
  e.grant_ids = {id};
  e.categories = CategoryNames(it->categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_ASSIGN_OR_RETURN(consent::Grant revoked,
                          api.consent().RevokeGrant(call.who().id, id));
  call.ReplyText(consent::GrantToJson(revoked), "application/json");
  return Status::Ok();
}

Status PreviewConsent(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(consent::GrantPreview preview,
                          api.consent().PreviewGrant(call.who().id, text));
  audit::AuditEntry e = Entry("consent.preview", call);
  for (const auto& [name, count] : preview.by_category) {
    if (count > 0) e.categories.push_back(name);
  }
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.Reply({{"by_category", preview.by_category},
              {"total", preview.total},
              {"matching_studies", preview.matching_studies}});
  return Status::Ok();
}

// --- restrictions and opt-out

Status GetRestrictions(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(consent::Restrictions r,
                          api.consent().GetRestrictions(call.who().id));
  audit::AuditEntry e = Entry("restrictions.read", call);
  e.categories = CategoryNames(r.categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.ReplyText(consent::ConsentService::RestrictionsToJson(r),
                 "application/json");
  return Status::Ok();
}

Status PutRestrictions(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  // Every rule is checked before the entry is written, so bad input
  // leaves no trace; SetRestrictions checks them again.
  TILLIT_ASSIGN_OR_RETURN(consent::Restrictions parsed,
                          consent::ConsentService::ParseRestrictions(text));
  audit::AuditEntry e = Entry("restrictions.update", call);
  e.categories = CategoryNames(parsed.categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_ASSIGN_OR_RETURN(consent::Restrictions r,
                          api.consent().SetRestrictions(call.who().id, text));
  call.ReplyText(consent::ConsentService::RestrictionsToJson(r),
                 "application/json");
  return Status::Ok();
}

Status PutOptOut(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object() || j.size() != 1 || !j.contains("opted_out") ||
      !j["opted_out"].is_boolean()) {
    return Status::InvalidArgument(
        "opted_out: the body must be {\"opted_out\": true or false}");
  }
  const bool opted_out = j["opted_out"].get<bool>();
  const audit::AuditEntry e = Entry("research-opt-out.update", call);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_RETURN_IF_ERROR(
      api.consent().SetResearchOptOut(call.who().id, opted_out));
  call.Reply({{"opted_out", opted_out}});
  return Status::Ok();
}

// --- access log

Status AccessLog(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(size_t limit, LimitParam(call));
  std::optional<uint64_t> before;
  if (auto b = call.Query("before")) {
    before = ParseInteger<uint64_t>(*b);
    if (!before)
      return Status::InvalidArgument("before: must be an entry index");
  }
  bool proofs = false;
  if (auto p = call.Query("proofs")) {
    if (*p != "true" && *p != "false")
      return Status::InvalidArgument("proofs: must be true or false");
    proofs = *p == "true";
  }
  // This read is itself an access the citizen may see: it is written
  // first, and may then appear in the list.
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("access-log.read", call)).status());
  TILLIT_ASSIGN_OR_RETURN(std::string note,
                          api.audit().log().SignedCheckpoint());
  TILLIT_ASSIGN_OR_RETURN(
      audit::Checkpoint checkpoint,
      audit::OpenCheckpoint(note, api.audit().log().key_name(),
                            api.audit().log().public_key()));
  const uint64_t size = checkpoint.size;
  // Only entries the checkpoint covers, so every proof verifies against it.
  audit::ListQuery q;
  q.citizen_id = call.who().id;
  q.limit = limit;
  q.before = before ? std::min(*before, size) : size;
  TILLIT_ASSIGN_OR_RETURN(std::vector<audit::StoredEntry> entries,
                          api.audit().log().List(q));
  bool more = false;
  if (entries.size() == limit) {
    audit::ListQuery probe = q;
    probe.before = entries.back().index;
    probe.limit = 1;
    TILLIT_ASSIGN_OR_RETURN(auto next, api.audit().log().List(probe));
    more = !next.empty();
  }
  json list = json::array();
  for (const audit::StoredEntry& entry : entries) {
    json j = json::parse(audit::EntryToApiJson(entry));
    if (proofs) {
      TILLIT_ASSIGN_OR_RETURN(
          std::vector<audit::Hash> path,
          api.audit().log().InclusionProof(entry.index, size));
      json hashes = json::array();
      for (const audit::Hash& h : path) hashes.push_back(crypto::HexEncode(h));
      j["inclusion_proof"] = std::move(hashes);
    }
    list.push_back(std::move(j));
  }
  call.Reply({{"entries", std::move(list)},
              {"next", more ? json(entries.back().index) : json(nullptr)},
              {"tree_size", size},
              {"checkpoint", note}});
  return Status::Ok();
}

// --- paired devices

json DeviceJson(const Device& d, const Call& call) {
  return {{"id", d.id},
          {"name", d.name},
          {"created", d.created},
          {"revoked", d.revoked ? json(*d.revoked) : json(nullptr)},
          {"this_device", d.id == call.who().device_id}};
}

Status ListDevices(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<Device> devices,
                          api.devices().List(call.who().id));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("device.list", call)).status());
  json list = json::array();
  for (const Device& d : devices) list.push_back(DeviceJson(d, call));
  call.Reply({{"devices", std::move(list)}});
  return Status::Ok();
}

Status RevokeDevice(Api& api, Call& call) {
  const std::string id = call.Param("id");
  // Checked before the entry is written: another citizen's device or an
  // unknown id is 404 and leaves no trace.
  TILLIT_ASSIGN_OR_RETURN(Device d, api.devices().Find(id));
  if (d.citizen_id != call.who().id) return Status::NotFound("no such device");
  if (d.revoked)
    return Status::FailedPrecondition("the device is already revoked");
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("device.revoke", call)).status());
  TILLIT_ASSIGN_OR_RETURN(d,
                          api.devices().Revoke(call.who().id, id, api.Now()));
  call.Reply({{"id", d.id}, {"revoked", *d.revoked}});
  return Status::Ok();
}

// --- erasure

Status Erase(Api& api, Call& call) {
  const std::string id = call.who().id;
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object() || j.size() != 1 || !j.contains("confirm") ||
      !j["confirm"].is_string() || j["confirm"].get<std::string>() != id) {
    return Status::InvalidArgument(
        "confirm: the body must be {\"confirm\": \"<your citizen id>\"}");
  }
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("citizen.erase", call)).status());
  TILLIT_RETURN_IF_ERROR(
      api.stores().Exclusive(id, [&] { return api.vault().EraseCitizen(id); }));
  TILLIT_RETURN_IF_ERROR(api.vault().RevokePrincipalTokens(id).status());
  TILLIT_RETURN_IF_ERROR(api.devices().RevokeAll(id, api.Now()).status());
  call.Reply({{"erased", id}});
  return Status::Ok();
}

}  // namespace

std::vector<Route> CitizenRoutes() {
  const std::vector<std::string> list_query = {"category", "type",  "since",
                                               "until",    "limit", "cursor"};
  const std::vector<std::string> log_query = {"limit", "before", "proofs"};
  // Literal paths come before parameterised ones of the same length.
  return {
      {{"GET", "/v1/me", kCitizen, {}, false}, Summary, false, {}},
      {{"DELETE", "/v1/me", kCitizen, {}, false}, Erase, false, {}},
      {{"POST", "/v1/me/import", kCitizen, {}, true}, Import, false, {}},
      {{"GET", "/v1/me/records", kCitizen, list_query, false},
       ListRecords,
       false,
       {}},
      {{"POST", "/v1/me/records", kCitizen, {}, false}, AddRecord, false, {}},
      {{"GET", "/v1/me/records/{type}/{id}", kCitizen, {}, false},
       ReadRecord,
       false,
       {}},
      {{"GET", "/v1/me/export", kCitizen, {}, false}, Export, false, {}},
      {{"GET", "/v1/me/consents", kCitizen, {}, false},
       ListConsents,
       false,
       {}},
      {{"POST", "/v1/me/consents", kCitizen, {}, false}, AddConsent, false, {}},
      {{"POST", "/v1/me/consents/preview", kCitizen, {}, false},
       PreviewConsent,
       false,
       {}},
      {{"DELETE", "/v1/me/consents/{id}", kCitizen, {}, false},
       RevokeConsent,
       false,
       {}},
      {{"GET", "/v1/me/restrictions", kCitizen, {}, false},
       GetRestrictions,
       false,
       {}},
      {{"PUT", "/v1/me/restrictions", kCitizen, {}, false},
       PutRestrictions,
       false,
       {}},
      {{"PUT", "/v1/me/research-opt-out", kCitizen, {}, false},
       PutOptOut,
       false,
       {}},
      {{"GET", "/v1/me/access-log", kCitizen, log_query, false},
       AccessLog,
       false,
       {}},
      {{"GET", "/v1/me/devices", kCitizen, {}, false}, ListDevices, false, {}},
      {{"DELETE", "/v1/me/devices/{id}", kCitizen, {}, false},
       RevokeDevice,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
