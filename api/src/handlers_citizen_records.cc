// Citizen routes for the citizen's own records: summary, import, list,
// add, read and export (see handlers_citizen.h for the audit rules).
//
// From the Api: audit(), stores(), vault() (imports, the idempotency key),
// options() (randomness), server_log() (an export cut short).
#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <span>

#include "api.h"
#include "call.h"
#include "cursor.h"
#include "handlers_citizen.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/fhir/search.h"
#include "tillit/vault/source_tag.h"

namespace tillit::api::internal::citizen {
namespace {

constexpr size_t kExportPage = 500;

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

}  // namespace

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
  // Stored as the citizen's, with their source tag (EHDS Art 5), replacing
  // nothing another source wrote.
  // Vault::Import (not the cached store) because a bundle's Patient is
  // linked to the citizen in the registry. It opens its own handle on the
  // citizen's file; SQLite serialises the writes and the generation is read
  // inside each write transaction, so the cached handle stays valid.
  TILLIT_ASSIGN_OR_RETURN(
      vault::ImportOutcome out,
      api.vault().Import(call.req.body, format, call.citizen(), "citizen"));
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
    TILLIT_RETURN_IF_ERROR(call.Covers(*filter.category));
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
    TILLIT_ASSIGN_OR_RETURN(filter.after, DecodeCitizenCursor(*c));
  }

  std::vector<vault::StoredRecord> records;
  bool more = false;
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.citizen(), [&](vault::CitizenStore& store) -> Status {
        if (call.acting() != nullptr) {
          // A proxy's page: the records they are shown, read on past the
          // hidden ones; one more tells whether there is a further page.
          vault::RecordFilter f = filter;
          f.limit = filter.limit + 1;
          for (;;) {
            TILLIT_ASSIGN_OR_RETURN(auto page, store.List(f));
            const bool last = page.size() < f.limit;
            if (!page.empty()) f.after = PositionOf(page.back());
            for (vault::StoredRecord& r : page) {
              if (call.Shows(Facts(r))) records.push_back(std::move(r));
            }
            if (last || records.size() > filter.limit) break;
          }
          more = records.size() > filter.limit;
          if (more) records.resize(filter.limit);
          return Status::Ok();
        }
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
  body += more ? json(EncodeCitizenCursor(PositionOf(records.back()))).dump()
               : "null";
  body += '}';
  call.ReplyText(std::move(body), "application/json");
  return Status::Ok();
}

Status ReadRecord(Api& api, Call& call) {
  vault::StoredRecord record;
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.citizen(), [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(
            record, store.Get(call.Param("type"), call.Param("id")));
        return CheckShown(call, record);
      }));
  audit::AuditEntry e = Entry("records.read", call);
  e.categories = {std::string(fhir::CategoryName(record.category))};
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.ReplyText(std::move(record.resource), "application/fhir+json");
  return Status::Ok();
}

namespace {

// The Idempotency-Key field of a request (docs/MOBILE_BRIDGE.md): a
// structured-field string or a bare token, 16 to 64 of A-Z a-z 0-9 _ -.
StatusOr<std::optional<std::string>> IdempotencyKey(const Call& call) {
  const size_t count = call.req.get_header_value_count("Idempotency-Key");
  if (count == 0) return std::optional<std::string>();
  std::string key = call.req.get_header_value("Idempotency-Key");
  if (key.size() >= 2 && key.front() == '"' && key.back() == '"')
    key = key.substr(1, key.size() - 2);
  const bool ok = count == 1 && key.size() >= 16 && key.size() <= 64 &&
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
  TILLIT_ASSIGN_OR_RETURN(
      crypto::Digest d, crypto::KeyedHash(hash_key, crypto::AsBytes(message)));
  return crypto::HexEncode(std::span<const uint8_t>(d.data(), 16));
}

// The citizen's record as stored: the body's own bytes (so decimals keep
// their digits), minified, with `id` added when the body has none, and the
// citizen-entered tag (any other claim to the source system is dropped:
// only the vault says where a record came from). `body` is the same text
// parsed, for the checks.
StatusOr<fhir::ParsedResource> CitizensRecord(const Call& call,
                                              const json& body,
                                              const std::string& id) {
  if (!body.is_object())
    return Status::InvalidArgument("the body must be one FHIR resource");
  if (!body.contains("resourceType") || !body["resourceType"].is_string())
    return Status::InvalidArgument("resourceType: required");
  const std::string type = body["resourceType"].get<std::string>();
  if (type == "Bundle")
    return Status::InvalidArgument(
        "resourceType: a Bundle is imported with POST /v1/me/import");
  if (type == "Patient")
    return Status::InvalidArgument(
        "resourceType: the Patient record comes with an import");
  TILLIT_ASSIGN_OR_RETURN(std::string_view raw, call.JsonText());
  std::string text(raw);
  if (!body.contains("id")) {
    // Written into the text as it is, so only a FHIR id (nothing to escape).
    if (!fhir::IsFhirId(id))
      return Status::InvalidArgument("id: not a FHIR id");
    // An object with a resourceType: there is a member after the brace.
    const size_t brace = text.find('{');
    if (brace == std::string::npos) return Status::Internal("no object");
    text.insert(brace + 1, "\"id\":\"" + id + "\",");
  }
  TILLIT_ASSIGN_OR_RETURN(fhir::ParsedResource parsed,
                          fhir::ParseFhirResource(text));
  TILLIT_ASSIGN_OR_RETURN(parsed.json, vault::TagAsCitizens(parsed.json));
  return parsed;
}

// The citizen's new resource with the vault's id: derived from the
// idempotency key when there is one, otherwise random.
StatusOr<fhir::ParsedResource> CitizenResource(
    Api& api, Call& call, const std::optional<std::string>& idempotency_key) {
  TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
  if (body.is_object() && body.contains("id"))
    return Status::InvalidArgument("id: assigned by the vault");
  if (!body.is_object() || !body.contains("resourceType") ||
      !body["resourceType"].is_string()) {
    return CitizensRecord(call, body, "");  // its error
  }
  std::string id;
  if (idempotency_key) {
    TILLIT_ASSIGN_OR_RETURN(
        id, IdempotentRecordId(api, call.citizen(),
                               body["resourceType"].get<std::string>(),
                               *idempotency_key));
  } else {
    id = api.options().rng->Hex(16);
  }
  return CitizensRecord(call, body, id);
}

}  // namespace

Status AddRecord(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::optional<std::string> idempotency_key,
                          IdempotencyKey(call));
  TILLIT_ASSIGN_OR_RETURN(fhir::ParsedResource parsed,
                          CitizenResource(api, call, idempotency_key));
  TILLIT_RETURN_IF_ERROR(call.Covers(parsed.category));
  // A repeat of a request already served: the stored record, unchanged.
  std::optional<vault::StoredRecord> earlier;
  if (idempotency_key) {
    TILLIT_RETURN_IF_ERROR(api.stores().With(
        call.citizen(), [&](vault::CitizenStore& store) -> Status {
          auto found = store.Get(parsed.type, parsed.id);
          if (found.ok()) {
            earlier = std::move(found).value();
            return Status::Ok();
          }
          return found.status().code() == StatusCode::kNotFound
                     ? Status::Ok()
                     : found.status();
        }));
    // The same resource, whatever its form (a retry may serialise it anew,
    // and a record stored before the body's bytes were kept has another).
    if (earlier && json::parse(earlier->resource, nullptr, false) !=
                       json::parse(parsed.json, nullptr, false)) {
      return Status::FailedPrecondition(
          "Idempotency-Key: already used for a different record");
    }
  }
  audit::AuditEntry e = Entry("records.add", call);
  e.categories = {std::string(fhir::CategoryName(parsed.category))};
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  if (earlier) {
    call.res.set_header("Idempotent-Replayed", "true");
    call.res.set_header(
        "Location", RecordsPath(call) + "/" + parsed.type + "/" + parsed.id);
    call.ReplyText(std::move(earlier->resource), "application/fhir+json", 200);
    return Status::Ok();
  }
  // The cached store: a single resource has no Patient to link, so this is
  // what Vault::Import would do, without opening a second handle.
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.citizen(), [&](vault::CitizenStore& store) -> Status {
        return store
            .Put(std::span<const fhir::ParsedResource>(&parsed, 1), "citizen",
                 api.Now())
            .status();
      }));
  call.res.set_header("Location",
                      RecordsPath(call) + "/" + parsed.type + "/" + parsed.id);
  call.ReplyText(std::move(parsed.json), "application/fhir+json", 201);
  return Status::Ok();
}

// PUT /v1/me/records/{type}/{id}: the citizen corrects a record they
// entered; the replaced version stays in its history. Records from anyone
// else are corrected by a rectification request (handlers_rectification.cc).
Status CorrectRecord(Api& api, Call& call) {
  const std::string type = call.Param("type");
  const std::string id = call.Param("id");
  TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
  if (body.is_object() && body.contains("resourceType") &&
      body["resourceType"] != type) {
    return Status::InvalidArgument("resourceType: must be " + type);
  }
  if (body.is_object() && body.contains("id") && body["id"] != id)
    return Status::InvalidArgument("id: must be " + id);
  TILLIT_ASSIGN_OR_RETURN(fhir::ParsedResource parsed,
                          CitizensRecord(call, body, id));
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.citizen(), [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(vault::StoredRecord current,
                                store.Get(type, id));
        TILLIT_RETURN_IF_ERROR(CheckShown(call, current));
        TILLIT_RETURN_IF_ERROR(call.Covers(parsed.category));
        if (current.source != "citizen") {
          return Status::FailedPrecondition(
              "only records you entered are corrected directly: ask for a "
              "correction with POST /v1/me/records/" +
              type + "/" + id + "/rectification-requests");
        }
        audit::AuditEntry e = Entry("records.correct", call);
        // The same content, whatever the order of its members: as is. A
        // proxy learnt that it matches, so that is logged.
        if (json::parse(current.resource, nullptr, false) ==
            json::parse(parsed.json, nullptr, false)) {
          if (call.acting() == nullptr) return Status::Ok();
          e.categories = {std::string(fhir::CategoryName(current.category))};
          return api.audit().Append(call, e).status();
        }
        e.categories = {std::string(fhir::CategoryName(parsed.category))};
        if (current.category != parsed.category) {
          e.categories.emplace_back(fhir::CategoryName(current.category));
        }
        TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
        return store.Correct(parsed, "citizen", "", {}, nullptr, api.Now());
      }));
  call.ReplyText(std::move(parsed.json), "application/fhir+json");
  return Status::Ok();
}

// GET /v1/me/records/{type}/{id}/history: the earlier versions, newest
// first.
Status RecordHistory(Api& api, Call& call) {
  std::vector<vault::RecordVersion> versions;
  std::set<fhir::Category> categories;
  TILLIT_RETURN_IF_ERROR(api.stores().With(
      call.citizen(), [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(
            vault::StoredRecord current,
            store.Get(call.Param("type"), call.Param("id")));
        TILLIT_RETURN_IF_ERROR(CheckShown(call, current));
        categories.insert(current.category);
        TILLIT_ASSIGN_OR_RETURN(
            versions, store.History(call.Param("type"), call.Param("id")));
        return Status::Ok();
      }));
  if (call.acting() != nullptr) {
    // An earlier version may have been of another category, or sensitive:
    // a proxy sees only the versions it would see as records.
    std::vector<vault::RecordVersion> shown;
    for (vault::RecordVersion& v : versions) {
      auto parsed = fhir::ParseFhirResource(v.resource);
      if (!parsed.ok() || !call.Shows(Facts(*parsed))) continue;
      categories.insert(parsed->category);
      shown.push_back(std::move(v));
    }
    versions = std::move(shown);
  } else {
    for (const vault::RecordVersion& v : versions) {
      auto parsed = fhir::ParseFhirResource(v.resource);
      if (parsed.ok()) categories.insert(parsed->category);
    }
  }
  audit::AuditEntry e = Entry("records.history", call);
  e.categories = CategoryNames(categories);
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  json out = json::array();
  for (const vault::RecordVersion& v : versions) {
    out.push_back({{"version", v.version},
                   {"source", v.source},
                   {"recorded_at", v.recorded_at},
                   {"superseded_at", v.superseded_at},
                   {"superseded_by", v.superseded_by},
                   {"note", v.note},
                   {"resource", json::parse(v.resource, nullptr, false)}});
  }
  call.Reply({{"record", call.Param("type") + "/" + call.Param("id")},
              {"versions", std::move(out)}});
  return Status::Ok();
}

namespace {

// The export is streamed page by page: the store is held only while one
// page is read, and the whole Bundle never sits in memory.
struct ExportState {
  std::optional<vault::RecordFilter::Position> after;
  bool started = false;
  bool finished = false;
  bool any = false;
};

}  // namespace

Status Export(Api& api, Call& call) {
  const std::string citizen = call.citizen();
  std::map<std::string, int64_t> by_category;
  TILLIT_RETURN_IF_ERROR(
      api.stores().With(citizen, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(by_category, store.CountByCategory());
        return Status::Ok();
      }));
  audit::AuditEntry e = Entry("records.export", call);
  for (const auto& [name, count] : by_category) {
    const std::optional<fhir::Category> c = fhir::ParseCategory(name);
    if (count > 0 && (!c || call.Covers(*c).ok())) e.categories.push_back(name);
  }
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());

  auto state = std::make_shared<ExportState>();
  vault::StoreCache* stores = &api.stores();
  ServerLog* server_log = &api.server_log();
  const std::string request_id = call.request_id();
  // A proxy's export holds what they are shown (the Acting is copied: the
  // stream is written after the handler returns).
  std::optional<Acting> acting;
  if (call.acting() != nullptr) acting = *call.acting();
  call.res.status = 200;
  call.res.set_header(
      "Content-Disposition",
      "attachment; filename=\"tillit-export-" + citizen + ".json\"");
  call.res.set_chunked_content_provider(
      "application/fhir+json", [stores, server_log, state, citizen, request_id,
                                acting](size_t, httplib::DataSink& sink) {
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
          server_log->LogError(request_id, "export aborted: " + s.ToString());
          return false;
        }
        for (const vault::StoredRecord& r : page) {
          if (acting && !consent::ProxyReleases(acting->policy->restrictions,
                                                acting->decision, Facts(r))) {
            continue;
          }
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
      call.citizen(), [&](vault::CitizenStore& store) -> Status {
        if (call.acting() != nullptr) {
          // What the proxy is shown, counted record by record.
          TILLIT_ASSIGN_OR_RETURN(auto metas, store.ListRecordMeta());
          for (const vault::RecordMeta& m : metas) {
            if (!call.Shows(Facts(m))) continue;
            ++records;
            ++by_category[std::string(fhir::CategoryName(m.category))];
            ++by_type[m.type];
          }
          return Status::Ok();
        }
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
  call.Reply({{"citizen_id", call.citizen()},
              {"records", records},
              {"by_category", by_category},
              {"by_type", by_type}});
  return Status::Ok();
}

}  // namespace tillit::api::internal::citizen
