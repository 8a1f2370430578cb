// Care-provider routes (primary use, SPEC §4): read what the citizen's grants
// and restrictions allow, push records, break-glass.
//
// A provider without a permit for a citizen gets exactly what it would get
// for an unknown citizen (404 "no such citizen"); a record the decision does
// not release is answered exactly like an absent one; a listing keeps
// filling its page past hidden records, so nothing hints that something is
// hidden. The decision and what it releases are taken inside one
// stores().With, on the policy just read from the store, after the audit
// entry is durable.
//
// From the Api: audit(), stores(), policies(), vault() (Import), consent()
// (break-glass).
#include <algorithm>
#include <charconv>
#include <cstring>

#include "api.h"
#include "call.h"
#include "cursor.h"
#include "handlers_citizen.h"
#include "provider_access.h"
#include "route.h"
#include "tillit/fhir/fhir.h"
#include "tillit/vault/source_tag.h"

namespace tillit::api::internal {

using consent::CategorySet;
using consent::CitizenPolicy;
using consent::Decision;

Status NoSuchCitizen() { return Status::NotFound("no such citizen"); }

namespace {

// Any NotFound out of stores().With (the lambdas below return one only to
// say exactly that) means the citizen does not exist: one answer for every
// such case.
Status CitizenStatus(const Status& s) {
  if (s.code() == StatusCode::kNotFound) return NoSuchCitizen();
  return s;
}

std::vector<std::string> CategoryNames(CategorySet set) {
  std::vector<std::string> out;
  for (fhir::Category c : fhir::AllCategories()) {
    if ((set & consent::CategoryBit(c)) != 0)
      out.emplace_back(fhir::CategoryName(c));
  }
  return out;
}

}  // namespace

audit::AuditEntry ProviderEntry(std::string action, const std::string& citizen,
                                const CitizenPolicy& policy,
                                const Decision& decision) {
  audit::AuditEntry e;
  e.action = std::move(action);
  e.citizen_id = citizen;
  e.purpose = std::string(consent::DuoId(consent::Purpose::kCC));
  e.decision = decision.permit ? "permit" : "deny";
  if (decision.permit) {
    CategorySet released = 0;
    for (const consent::ScopePart& part : decision.scope)
      released |= part.categories;
    e.categories = CategoryNames(released);
    for (uint32_t i : decision.permitting) {
      if (i < policy.grants.size()) e.grant_ids.push_back(policy.grants[i].id);
    }
  }
  return e;
}

namespace {

constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 1000;
constexpr size_t kMaxReasonBytes = 1000;

// --- query parameters

StatusOr<size_t> ParseLimit(const std::optional<std::string>& text) {
  if (!text) return kDefaultLimit;
  size_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value < 1 ||
      value > kMaxLimit) {
    return Status::InvalidArgument("limit: must be a number from 1 to 1000");
  }
  return value;
}

bool IsResourceType(std::string_view s) {
  if (s.empty() || s.size() > 64 || !(s[0] >= 'A' && s[0] <= 'Z')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

struct ListParams {
  vault::RecordFilter filter;  // limit set per store page
  size_t limit = kDefaultLimit;
  CategorySet categories = consent::kAllCategories;
  consent::Period period;
};

StatusOr<ListParams> ParseListParams(const Call& call) {
  ListParams p;
  if (auto c = call.Query("category")) {
    auto category = fhir::ParseCategory(*c);
    if (!category)
      return Status::InvalidArgument("category: not a category name");
    p.filter.category = *category;
    p.categories = consent::CategoryBit(*category);
  }
  if (auto t = call.Query("type")) {
    if (!IsResourceType(*t))
      return Status::InvalidArgument("type: not a FHIR resource type");
    p.filter.type = *t;
  }
  for (const char* name : {"since", "until"}) {
    auto v = call.Query(name);
    if (!v) continue;
    auto t = fhir::ParseFhirDateTime(*v);
    if (!t.ok()) {
      return Status::InvalidArgument(std::string(name) +
                                     ": not a FHIR date or dateTime");
    }
    if (std::strcmp(name, "since") == 0) {
      p.filter.since = *t;
      p.period.start = *t;
    } else {
      p.filter.until = *t;
      p.period.end = *t;
    }
  }
  if (p.filter.since && p.filter.until && *p.filter.until <= *p.filter.since)
    return Status::InvalidArgument("until: must be after since");
  TILLIT_ASSIGN_OR_RETURN(p.limit, ParseLimit(call.Query("limit")));
  if (auto c = call.Query("cursor")) {
    TILLIT_ASSIGN_OR_RETURN(p.filter.after, DecodeProviderCursor(*c));
  }
  return p;
}

}  // namespace

consent::ProviderRequest Ask(Api& api, const std::string& provider,
                             consent::CategorySet categories,
                             const consent::Period& period) {
  consent::ProviderRequest request;
  request.provider_id = provider;
  request.categories = categories;
  request.data_period = period;
  request.break_glass_despite_opt_out =
      api.options().break_glass_despite_opt_out;
  return request;
}

StatusOr<Standing> StandingOf(Api& api, vault::CitizenStore& store,
                              const std::string& provider, int64_t now) {
  Standing out;
  TILLIT_ASSIGN_OR_RETURN(out.policy, api.policies().Get(store));
  consent::DecideProvider(*out.policy,
                          Ask(api, provider, consent::kAllCategories, {}), now,
                          &out.decision);
  return out;
}

namespace {

// --- handlers

// GET /v1/patients/{citizen_id}/records
Status ListRecords(Api& api, Call& call) {
  const std::string citizen = call.Param("citizen_id");
  TILLIT_ASSIGN_OR_RETURN(ListParams p, ParseListParams(call));
  const std::string& provider = call.who().id;
  const int64_t now = api.Now();
  vault::StoreCache& stores = api.stores();

  // The store is held only while the decision is made and the page read;
  // the audit entry is written after it is let go, and nothing is released
  // before that entry is durable. Holding the store through the audit
  // commit made every other request for the same citizen wait for it.
  bool denied = false;
  std::optional<audit::AuditEntry> entry;
  std::vector<std::string> released;
  std::optional<vault::RecordFilter::Position> next;
  Status s = stores.With(citizen, [&](vault::CitizenStore& store) -> Status {
    TILLIT_ASSIGN_OR_RETURN(std::shared_ptr<const CitizenPolicy> kept,
                            api.policies().Get(store));
    const CitizenPolicy& policy = *kept;
    Decision decision;
    consent::DecideProvider(policy, Ask(api, provider, p.categories, p.period),
                            now, &decision);
    if (!decision.permit) {
      // Categories no grant covers are simply not released (SPEC §4): a
      // provider with access to other categories gets an empty page; one
      // with no access at all gets "no such citizen".
      Decision any;
      if (p.filter.category) {
        consent::DecideProvider(
            policy, Ask(api, provider, consent::kAllCategories, p.period), now,
            &any);
      }
      entry = ProviderEntry("records.list", citizen, policy, decision);
      entry->categories = CategoryNames(p.filter.category ? p.categories : 0);
      denied = !any.permit;
      return Status::Ok();
    }
    entry = ProviderEntry("records.list", citizen, policy, decision);

    // Fill the page from as many store pages as it takes, and look one
    // released record ahead so that `next` is null exactly at the end.
    // The cursor is the position of the last released record, never of
    // a hidden one: it would tell that record's date and sequence.
    vault::RecordFilter f = p.filter;
    size_t batch = std::min(kMaxLimit, p.limit + 1);
    std::optional<vault::RecordFilter::Position> last_released;
    released.reserve(p.limit);
    for (;;) {
      f.limit = batch;
      TILLIT_ASSIGN_OR_RETURN(std::vector<vault::StoredRecord> page,
                              store.List(f));
      if (!page.empty()) f.after = PositionOf(page.back());
      for (vault::StoredRecord& r : page) {
        if (consent::Releases(policy, decision, citizen::Facts(r),
                              /*primary_use=*/true)) {
          if (released.size() == p.limit) {
            next = last_released;  // more to come
            return Status::Ok();
          }
          last_released = PositionOf(r);
          released.push_back(std::move(r.resource));
        }
      }
      if (page.size() < f.limit) return Status::Ok();
      batch = kMaxLimit;
    }
  });
  TILLIT_RETURN_IF_ERROR(CitizenStatus(s));
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(*entry)).status());
  if (denied) return NoSuchCitizen();

  std::string body = "{\"records\":[";
  for (size_t i = 0; i < released.size(); ++i) {
    if (i > 0) body += ',';
    body += released[i];
  }
  body += "],\"next\":";
  body += next ? "\"" + EncodeProviderCursor(*next) + "\"" : "null";
  body += '}';
  call.ReplyText(std::move(body), "application/json");
  return Status::Ok();
}

// GET /v1/patients/{citizen_id}/records/{type}/{id}: the benchmark's hot
// path: one stores().With, one policy read, one Get, then one audit append
// after the store is let go (as in ListRecords).
Status ReadRecord(Api& api, Call& call) {
  const std::string citizen = call.Param("citizen_id");
  const std::string type = call.Param("type");
  const std::string id = call.Param("id");
  const int64_t now = api.Now();
  vault::StoreCache& stores = api.stores();

  bool denied = false;
  bool hidden = false;
  std::optional<audit::AuditEntry> entry;
  std::string resource;
  Status s = stores.With(citizen, [&](vault::CitizenStore& store) -> Status {
    TILLIT_ASSIGN_OR_RETURN(Standing standing,
                            StandingOf(api, store, call.who().id, now));
    const CitizenPolicy& policy = *standing.policy;
    const Decision& decision = standing.decision;
    audit::AuditEntry& e =
        entry.emplace(ProviderEntry("records.read", citizen, policy, decision));
    if (!decision.permit) {
      denied = true;
      return Status::Ok();
    }
    StatusOr<vault::StoredRecord> record = store.Get(type, id);
    if (!record.ok() && record.status().code() != StatusCode::kNotFound)
      return record.status();
    hidden = !record.ok() ||
             !consent::Releases(policy, decision, citizen::Facts(*record),
                                /*primary_use=*/true);
    if (hidden) {
      // Absent or not released: the same entry and the same answer.
      e.decision = "deny";
      e.categories.clear();
      e.grant_ids.clear();
    } else {
      e.categories = {std::string(fhir::CategoryName(record->category))};
    }
    if (!hidden) resource = std::move(record->resource);
    return Status::Ok();
  });
  TILLIT_RETURN_IF_ERROR(CitizenStatus(s));
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(*entry)).status());
  if (denied) return NoSuchCitizen();
  if (hidden) return Status::NotFound("no such record");
  call.ReplyText(std::move(resource), "application/json");
  return Status::Ok();
}

// POST /v1/patients/{citizen_id}/records
Status PushRecords(Api& api, Call& call) {
  const std::string citizen = call.Param("citizen_id");
  const std::string& provider = call.who().id;
  // The body's own bytes are what is stored (decimals keep their digits);
  // the vault tags each resource as this provider's (source_tag.h).
  TILLIT_ASSIGN_OR_RETURN(std::string_view bytes, call.JsonText());
  // Validated here, before any audit entry, so a bad document is a plain
  // 400; the categories go into the entry.
  TILLIT_ASSIGN_OR_RETURN(fhir::ParsedDocument parsed,
                          fhir::ParseFhirDocument(bytes));
  if (parsed.resources.empty())
    return Status::InvalidArgument("the document holds no resources");
  CategorySet pushed = 0;
  for (const fhir::ParsedResource& r : parsed.resources) {
    if (r.type == "Patient")
      return Status::InvalidArgument("a Patient resource cannot be pushed");
    // The tag the vault sets must fit (meta an object, meta.tag an array).
    Status taggable = vault::TagAsProviders(r.json, provider).status();
    if (!taggable.ok()) {
      return Status(taggable.code(),
                    r.type + "/" + r.id + ": " + taggable.message());
    }
    pushed |= consent::CategoryBit(r.category);
  }
  const int64_t now = api.Now();
  vault::StoreCache& stores = api.stores();

  bool denied = false;
  vault::ImportOutcome outcome;
  Status s = stores.With(citizen, [&](vault::CitizenStore& store) -> Status {
    TILLIT_ASSIGN_OR_RETURN(Standing standing,
                            StandingOf(api, store, provider, now));
    const CitizenPolicy& policy = *standing.policy;
    const Decision& decision = standing.decision;
    audit::AuditEntry e =
        ProviderEntry("records.push", citizen, policy, decision);
    e.categories = CategoryNames(pushed);
    // A provider may update what it pushed, never replace a record that
    // came from the citizen, an import or another provider.
    std::string conflict;
    for (size_t i = 0; decision.permit && i < parsed.resources.size(); ++i) {
      const fhir::ParsedResource& r = parsed.resources[i];
      StatusOr<vault::StoredRecord> existing = store.Get(r.type, r.id);
      if (existing.ok() && existing->source != provider) {
        conflict = "resource " + std::to_string(i) + " (" + r.type + "/" +
                   r.id + "): a record with this id exists from another source";
        break;
      }
      if (!existing.ok() && existing.status().code() != StatusCode::kNotFound)
        return existing.status();
    }
    if (!conflict.empty()) {
      e.decision = "deny";
      e.grant_ids.clear();
    }
    TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(e)).status());
    if (!decision.permit) {
      denied = true;
      return Status::Ok();
    }
    if (!conflict.empty()) return Status::AlreadyExists(conflict);
    // Under the citizen's lock, so no consent change slips in between the
    // decision and the write (Import uses its own connection).
    StatusOr<vault::ImportOutcome> imported = api.vault().Import(
        bytes, vault::ImportFormat::kJson, citizen, provider);
    if (!imported.ok()) {
      // A NotFound here would read as "no such citizen" outside.
      if (imported.status().code() == StatusCode::kNotFound)
        return Status::Internal("import: " + imported.status().ToString());
      return imported.status();
    }
    outcome = std::move(imported).value();
    return Status::Ok();
  });
  TILLIT_RETURN_IF_ERROR(CitizenStatus(s));
  if (denied) return NoSuchCitizen();
  json by_type = json::object();
  for (const auto& [type, n] : outcome.by_type) by_type[type] = n;
  call.Reply({{"imported", outcome.imported}, {"by_type", by_type}}, 201);
  return Status::Ok();
}

// POST /v1/patients/{citizen_id}/break-glass
Status OpenBreakGlass(Api& api, Call& call) {
  const std::string citizen = call.Param("citizen_id");
  const std::string& provider = call.who().id;
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object())
    return Status::InvalidArgument("the body must be {\"reason\": \"…\"}");
  for (const auto& [key, value] : j.items()) {
    if (key != "reason" && key != "hours")
      return Status::InvalidArgument("unknown field: " + key.substr(0, 32));
  }
  auto reason = j.find("reason");
  if (reason == j.end() || !reason->is_string() ||
      reason->get_ref<const std::string&>().empty() ||
      reason->get_ref<const std::string&>().size() > kMaxReasonBytes) {
    return Status::InvalidArgument("reason: required, 1 to 1000 bytes");
  }
  int hours = 24;
  if (auto h = j.find("hours"); h != j.end()) {
    if (!h->is_number_integer() || h->get<int64_t>() < 1 ||
        h->get<int64_t>() > 24) {
      return Status::InvalidArgument("hours: a whole number from 1 to 24");
    }
    hours = static_cast<int>(h->get<int64_t>());
  }
  // Decided, logged and written under the citizen's lock, so an opt-out
  // cannot slip in between. The entry is durable before the session is
  // stored (fail closed); an unknown citizen is NotFound before anything
  // is logged. Where the deployment makes the primary-use opt-out
  // absolute, a break-glass on a citizen who opted out would reach
  // nothing: refused as if the citizen were unknown, like every denial.
  const consent::ProviderRequest asked =
      Ask(api, provider, consent::kAllCategories, {});
  StatusOr<consent::BreakGlass> bg = api.consent().OpenBreakGlass(
      citizen, provider, reason->get_ref<const std::string&>(), hours,
      [&](const CitizenPolicy& policy) -> Status {
        const bool refused = !consent::BreakGlassReaches(policy, asked);
        audit::AuditEntry e;
        e.action = "break-glass.open";
        e.citizen_id = citizen;
        e.purpose = std::string(consent::DuoId(consent::Purpose::kCC));
        e.decision = refused ? "deny" : "permit";
        TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(e)).status());
        return refused ? NoSuchCitizen() : Status::Ok();
      });
  if (!bg.ok()) return CitizenStatus(bg.status());
  call.Reply({{"citizen_id", citizen},
              {"provider_id", bg->provider_id},
              {"started", bg->started},
              {"expires", bg->expires}},
             201);
  return Status::Ok();
}

}  // namespace

std::vector<Route> ProviderRoutes() {
  return {
      {{"GET",
        "/v1/patients/{citizen_id}/records",
        kProvider,
        {"category", "type", "since", "until", "limit", "cursor"},
        false},
       ListRecords,
       false,
       {}},
      {{"GET",
        "/v1/patients/{citizen_id}/records/{type}/{id}",
        kProvider,
        {},
        false},
       ReadRecord,
       false,
       {}},
      {{"POST", "/v1/patients/{citizen_id}/records", kProvider, {}, true},
       PushRecords,
       false,
       {}},
      {{"POST", "/v1/patients/{citizen_id}/break-glass", kProvider, {}, false},
       OpenBreakGlass,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
