#include "tillit/consent_service/rectification.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/fhir/fhir.h"
#include "tillit/vault/source_tag.h"

namespace tillit::consent {
namespace {

using nlohmann::json;

// Document kind in the citizen's store, and the registry index of pending
// requests (key: request id, value: provider id).
constexpr std::string_view kKind = "rectification";
constexpr std::string_view kIndexKind = "rectification";
constexpr std::string_view kPending = "pending";

std::string ToJson(const RectificationRequest& r) {
  json j = {{"id", r.id},
            {"record_type", r.record_type},
            {"record_id", r.record_id},
            {"reason", r.reason},
            {"proposed", r.proposed},
            {"record_sha256", r.record_sha256},
            {"provider_id", r.provider_id},
            {"status", r.status},
            {"created_at", r.created_at},
            {"decided_at", r.decided_at},
            {"decision_reason", r.decision_reason}};
  return j.dump();
}

StatusOr<RectificationRequest> FromJson(const std::string& citizen_id,
                                        const std::string& text) {
  json j = json::parse(text, nullptr, false);
  const Status bad =
      Status::DataLoss("a stored rectification request is malformed");
  if (j.is_discarded() || !j.is_object()) return bad;
  RectificationRequest r;
  r.citizen_id = citizen_id;
  for (auto [field, out] : {std::pair{"id", &r.id},
                            {"record_type", &r.record_type},
                            {"record_id", &r.record_id},
                            {"reason", &r.reason},
                            {"proposed", &r.proposed},
                            {"record_sha256", &r.record_sha256},
                            {"provider_id", &r.provider_id},
                            {"status", &r.status},
                            {"decision_reason", &r.decision_reason}}) {
    if (!j.contains(field) || !j[field].is_string()) return bad;
    *out = j[field].get<std::string>();
  }
  for (auto [field, out] : {std::pair{"created_at", &r.created_at},
                            {"decided_at", &r.decided_at}}) {
    if (!j.contains(field) || !j[field].is_number_integer()) return bad;
    *out = j[field].get<int64_t>();
  }
  return r;
}

StatusOr<std::vector<RectificationRequest>> ReadAll(
    vault::CitizenStore& store) {
  std::vector<RectificationRequest> out;
  TILLIT_ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kKind));
  for (const auto& [key, text] : docs) {
    TILLIT_ASSIGN_OR_RETURN(RectificationRequest r,
                            FromJson(store.citizen_id(), text));
    out.push_back(std::move(r));
  }
  return out;
}

// The citizen's index rows: one per pending request, after `changed` has
// replaced its stored version.
vault::IndexUpdate PendingRows(const std::vector<RectificationRequest>& all,
                               const RectificationRequest& changed) {
  vault::IndexUpdate index{std::string(kIndexKind), {}};
  bool seen = false;
  for (const RectificationRequest& r : all) {
    const RectificationRequest& now = r.id == changed.id ? changed : r;
    seen |= r.id == changed.id;
    if (now.status == kPending) index.rows.push_back({now.id, now.provider_id});
  }
  if (!seen && changed.status == kPending) {
    index.rows.push_back({changed.id, changed.provider_id});
  }
  return index;
}

Status CheckReason(std::string_view reason) {
  const bool blank = reason.find_first_not_of(" \t\r\n") == reason.npos;
  if (blank || reason.size() > Rectifications::kMaxReasonBytes) {
    return Status::InvalidArgument("reason: required, 1 to 1000 bytes");
  }
  return Status::Ok();
}

std::string Sha256Hex(std::string_view text) {
  const crypto::Digest d = crypto::Sha256(crypto::AsBytes(text));
  return crypto::HexEncode(d);
}

// A resource without the vault's source tags: what it says, not who wrote
// it, for telling whether a correction changes anything.
json WithoutSourceTags(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("meta") || !j["meta"].is_object()) return j;
  json& meta = j["meta"];
  if (meta.contains("tag") && meta["tag"].is_array()) {
    json kept = json::array();
    for (const json& t : meta["tag"]) {
      if (!(t.is_object() && t.contains("system") &&
            t["system"] == vault::kSourceTagSystem)) {
        kept.push_back(t);
      }
    }
    if (kept.empty()) {
      meta.erase("tag");
    } else {
      meta["tag"] = std::move(kept);
    }
  }
  if (meta.empty()) j.erase("meta");
  return j;
}

// `text` as a resource of the record (type, id): the id is filled in when
// absent. `what` names the field in errors.
StatusOr<fhir::ParsedResource> AsRecordVersion(std::string_view text,
                                               std::string_view type,
                                               std::string_view id,
                                               std::string_view what) {
  const std::string prefix = std::string(what) + ": ";
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(prefix + "must be a FHIR resource");
  }
  if (!j.contains("resourceType") || j["resourceType"] != type) {
    return Status::InvalidArgument(prefix + "resourceType must be " +
                                   std::string(type));
  }
  // The text itself is kept, so decimals keep their digits.
  std::string kept(text);
  if (!j.contains("id")) {
    // Written into the text as it is, so only a FHIR id (nothing to
    // escape). An object with a resourceType has a member after its brace.
    const bool fhir_id =
        !id.empty() && id.size() <= 64 &&
        std::all_of(id.begin(), id.end(), [](char c) {
          return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '.';
        });
    if (!fhir_id) return Status::NotFound("no such record");
    kept.insert(kept.find('{') + 1, "\"id\":\"" + std::string(id) + "\",");
  } else if (j["id"] != id) {
    return Status::InvalidArgument(prefix + "id must be " + std::string(id));
  }
  auto parsed = fhir::ParseFhirResource(kept);
  if (!parsed.ok()) {
    return Status::InvalidArgument(prefix +
                                   std::string(parsed.status().message()));
  }
  return parsed;
}

}  // namespace

Rectifications::Rectifications(vault::Vault* vault, Clock* clock,
                               crypto::Random* rng, vault::StoreAccess* access,
                               RectificationOptions options)
    : vault_(vault),
      clock_(clock),
      rng_(rng),
      access_(access),
      options_(std::move(options)) {}

StatusOr<RectificationRequest> Rectifications::Ask(
    const std::string& citizen_id, std::string_view type, std::string_view id,
    std::string_view reason, std::string_view proposed, const AdmitFn& admit) {
  TILLIT_RETURN_IF_ERROR(CheckReason(reason));
  RectificationRequest r;
  r.id = "rr_" + rng_->Hex(16);
  r.citizen_id = citizen_id;
  r.record_type = std::string(type);
  r.record_id = std::string(id);
  r.reason = std::string(reason);
  r.status = std::string(kPending);
  r.created_at = clock_->NowSeconds();
  if (proposed.size() > kMaxProposedBytes) {
    return Status::InvalidArgument("proposed: at most 64 KiB");
  }
  if (!proposed.empty()) {
    TILLIT_ASSIGN_OR_RETURN(fhir::ParsedResource p,
                            AsRecordVersion(proposed, type, id, "proposed"));
    r.proposed = std::move(p.json);
  }
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        auto record = store.Get(type, id);
        if (!record.ok()) return record.status();  // NotFound: no record
        r.record_sha256 = Sha256Hex(record->resource);
        if (record->source == "citizen") {
          return Status::FailedPrecondition(
              "you entered this record yourself: correct it directly");
        }
        if (record->source == "import") {
          if (options_.import_provider.empty()) {
            return Status::FailedPrecondition(
                "nobody in this vault answers for imported records: ask the "
                "care provider who wrote it");
          }
          r.provider_id = options_.import_provider;
        } else if (vault::IsValidId(record->source, "p_")) {
          r.provider_id = record->source;
        } else {
          return Status::FailedPrecondition(
              "nobody in this vault can correct this record");
        }
        TILLIT_ASSIGN_OR_RETURN(auto all, ReadAll(store));
        size_t pending = 0;
        for (const RectificationRequest& other : all) {
          if (other.status != kPending) continue;
          ++pending;
          if (other.record_type == type && other.record_id == id) {
            return Status::FailedPrecondition(
                "a correction of this record is already pending (" + other.id +
                ")");
          }
        }
        if (pending >= options_.max_pending) {
          return Status::FailedPrecondition(
              "too many corrections are pending: wait for an answer");
        }
        if (admit) TILLIT_RETURN_IF_ERROR(admit(r));
        const vault::IndexUpdate index = PendingRows(all, r);
        std::vector<vault::DocumentWrite> writes = {
            {std::string(kKind), r.id, ToJson(r)}};
        return store.WriteDocuments(writes, &index, r.created_at);
      }));
  return r;
}

StatusOr<std::vector<RectificationRequest>> Rectifications::ForCitizen(
    const std::string& citizen_id) {
  std::vector<RectificationRequest> out;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(out, ReadAll(store));
        return Status::Ok();
      }));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at > b.created_at
                                        : a.id > b.id;
  });
  return out;
}

StatusOr<std::vector<RectificationRequest>> Rectifications::PendingFor(
    const std::string& provider_id) {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault_->ReadIndex(kIndexKind));
  std::vector<RectificationRequest> out;
  for (const vault::IndexEntry& row : rows) {
    if (row.value != provider_id) continue;
    Status s = access_->With(row.citizen_id, [&](vault::CitizenStore& store) {
      TILLIT_ASSIGN_OR_RETURN(auto doc, store.GetDocument(kKind, row.key));
      if (!doc) return Status::Ok();  // the index is behind: skip it
      TILLIT_ASSIGN_OR_RETURN(RectificationRequest r,
                              FromJson(row.citizen_id, *doc));
      // The store is the truth; the index row may be stale.
      if (r.status == kPending && r.provider_id == provider_id) {
        out.push_back(std::move(r));
      }
      return Status::Ok();
    });
    // A citizen erased since the row was read has nothing pending.
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at
                                        : a.id < b.id;
  });
  return out;
}

StatusOr<std::string> Rectifications::CitizenOf(const std::string& provider_id,
                                                const std::string& request_id) {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault_->ReadIndex(kIndexKind));
  for (const vault::IndexEntry& row : rows) {
    if (row.key == request_id && row.value == provider_id) {
      return row.citizen_id;
    }
  }
  return Status::NotFound("no such rectification request");
}

StatusOr<RectificationRequest> Rectifications::Decide(
    const std::string& provider_id, const std::string& request_id,
    const std::function<Status(vault::CitizenStore&, RectificationRequest&)>&
        decide) {
  TILLIT_ASSIGN_OR_RETURN(std::string citizen_id,
                          CitizenOf(provider_id, request_id));
  RectificationRequest decided;
  Status s = access_->With(citizen_id, [&](vault::CitizenStore& store) {
    TILLIT_ASSIGN_OR_RETURN(auto doc, store.GetDocument(kKind, request_id));
    if (!doc) return Status::NotFound("no such rectification request");
    TILLIT_ASSIGN_OR_RETURN(decided, FromJson(citizen_id, *doc));
    // Checked again under the lock: another decision may have come first.
    if (decided.status != kPending || decided.provider_id != provider_id) {
      return Status::NotFound("no such rectification request");
    }
    decided.decided_at = clock_->NowSeconds();
    return decide(store, decided);
  });
  if (s.code() == StatusCode::kNotFound) {
    return Status::NotFound("no such rectification request");
  }
  TILLIT_RETURN_IF_ERROR(s);
  return decided;
}

StatusOr<RectificationRequest> Rectifications::Accept(
    const std::string& provider_id, const std::string& request_id,
    std::string_view corrected, const AdmitFn& admit) {
  return Decide(
      provider_id, request_id,
      [&](vault::CitizenStore& store, RectificationRequest& r) -> Status {
        TILLIT_ASSIGN_OR_RETURN(
            fhir::ParsedResource fixed,
            AsRecordVersion(corrected, r.record_type, r.record_id, "resource"));
        auto current = store.Get(r.record_type, r.record_id);
        if (current.status().code() == StatusCode::kNotFound) {
          return Status::FailedPrecondition("the record no longer exists");
        }
        TILLIT_RETURN_IF_ERROR(current.status());
        if (Sha256Hex(current->resource) != r.record_sha256) {
          return Status::FailedPrecondition(
              "the record changed since the citizen asked: decline, and "
              "the citizen can ask again about what it says now");
        }
        // The same content, whatever the order of its members and whoever
        // the source tag names.
        if (WithoutSourceTags(current->resource) ==
            WithoutSourceTags(fixed.json)) {
          return Status::FailedPrecondition(
              "resource: says what the stored record says");
        }
        r.status = "accepted";
        TILLIT_ASSIGN_OR_RETURN(auto all, ReadAll(store));
        if (admit) TILLIT_RETURN_IF_ERROR(admit(r));
        const vault::IndexUpdate index = PendingRows(all, r);
        std::vector<vault::DocumentWrite> writes = {
            {std::string(kKind), r.id, ToJson(r)}};
        return store.Correct(fixed, provider_id, "rectification " + r.id,
                             writes, &index, r.decided_at);
      });
}

StatusOr<RectificationRequest> Rectifications::Decline(
    const std::string& provider_id, const std::string& request_id,
    std::string_view reason, const AdmitFn& admit) {
  TILLIT_RETURN_IF_ERROR(CheckReason(reason));
  return Decide(
      provider_id, request_id,
      [&](vault::CitizenStore& store, RectificationRequest& r) -> Status {
        r.status = "declined";
        r.decision_reason = std::string(reason);
        TILLIT_ASSIGN_OR_RETURN(auto all, ReadAll(store));
        if (admit) TILLIT_RETURN_IF_ERROR(admit(r));
        const vault::IndexUpdate index = PendingRows(all, r);
        std::vector<vault::DocumentWrite> writes = {
            {std::string(kKind), r.id, ToJson(r)}};
        return store.WriteDocuments(writes, &index, r.decided_at);
      });
}

}  // namespace tillit::consent
