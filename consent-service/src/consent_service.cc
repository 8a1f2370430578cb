#include "tillit/consent_service/consent_service.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>


namespace tillit::consent {
namespace {

using nlohmann::json;

constexpr std::string_view kGrantKind = "grant";
constexpr std::string_view kSettingKind = "setting";
constexpr std::string_view kBreakGlassKind = "break-glass";
constexpr std::string_view kIndexKind = "consent";
constexpr std::string_view kOptOutKey = "opt-out";
constexpr std::string_view kRestrictionsKey = "restrictions";
constexpr size_t kMaxRestrictedRecords = 10000;
constexpr size_t kMaxReasonBytes = 1000;
constexpr int64_t kDay = 24 * 3600;

json ParseObject(std::string_view text, std::string_view what, Status* error) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error =
        Status::InvalidArgument(std::string(what) + " must be a JSON object");
  }
  return j;
}

Status RejectUnknown(const json& j, const std::set<std::string>& allowed,
                     std::string_view where) {
  for (const auto& [key, value] : j.items()) {
    if (allowed.count(key) == 0) {
      std::string name = key.size() > 64 ? key.substr(0, 64) + "…" : key;
      return Status::InvalidArgument(std::string(where) + name +
                                     ": unknown field");
    }
  }
  return Status::Ok();
}

StatusOr<CategorySet> ParseCategoryList(const json& j, std::string_view field) {
  if (!j.is_array())
    return Status::InvalidArgument(std::string(field) + ": must be an array");
  CategorySet set = 0;
  size_t i = 0;
  for (const auto& c : j) {
    const std::string where =
        std::string(field) + "[" + std::to_string(i++) + "]";
    if (!c.is_string())
      return Status::InvalidArgument(where + ": must be a string");
    auto cat = fhir::ParseCategory(c.get<std::string>());
    if (!cat) return Status::InvalidArgument(where + ": unknown category");
    set |= CategoryBit(*cat);
  }
  return set;
}

json CategoryListJson(CategorySet set) {
  json out = json::array();
  for (Category c : fhir::AllCategories()) {
    if (set & CategoryBit(c))
      out.push_back(std::string(fhir::CategoryName(c)));
  }
  return out;
}

// "Type/id" with FHIR's type and id alphabets.
bool IsRecordRef(std::string_view ref) {
  size_t slash = ref.find('/');
  if (slash == std::string_view::npos || slash < 2 || slash > 64) return false;
  std::string_view type = ref.substr(0, slash), id = ref.substr(slash + 1);
  if (id.empty() || id.size() > 64 || type[0] < 'A' || type[0] > 'Z')
    return false;
  for (char c : type) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return false;
  }
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.')
      return false;
  }
  return true;
}

StatusOr<std::optional<int64_t>> ParseDate(const json& j,
                                           std::string_view field,
                                           bool end_of_day) {
  if (j.is_null()) return std::optional<int64_t>();
  if (!j.is_string())
    return Status::InvalidArgument(std::string(field) +
                                   ": must be a date or null");
  const std::string text = j.get<std::string>();
  auto t = fhir::ParseFhirDateTime(text);
  if (!t.ok() || text.size() != 10) {
    return Status::InvalidArgument(std::string(field) +
                                   ": must be a date YYYY-MM-DD");
  }
  return std::optional<int64_t>(*t + (end_of_day ? kDay : 0));
}

json PeriodJson(const Period& p) {
  return {{"start", p.start ? json(FormatIsoDate(*p.start))
                            : json(nullptr)},
          {"end", p.end ? json(FormatIsoDate(*p.end - kDay))
                        : json(nullptr)}};
}

StatusOr<PurposeSpec> ParseStudyPurpose(const json& j) {
  PurposeSpec spec;
  std::string code;
  if (j.is_string()) {
    code = j.get<std::string>();
  } else if (j.is_object() && j.contains("code") && j["code"].is_string()) {
    TILLIT_RETURN_IF_ERROR(RejectUnknown(j, {"code", "disease"}, "purpose."));
    code = j["code"].get<std::string>();
    if (j.contains("disease")) {
      if (!j["disease"].is_string() ||
          j["disease"].get<std::string>().empty() ||
          j["disease"].get<std::string>().size() > 64) {
        return Status::InvalidArgument("purpose.disease: must be a MONDO id");
      }
      spec.disease = j["disease"].get<std::string>();
    }
  } else {
    return Status::InvalidArgument(
        "purpose: must be a DUO code or {\"code\", \"disease\"}");
  }
  auto p = ParsePurpose(code);
  if (!p || *p == Purpose::kCC) {
    return Status::InvalidArgument(
        "purpose: not a research purpose (GRU, HMB, DS, POA)");
  }
  spec.purpose = *p;
  if (spec.purpose == Purpose::kDS && spec.disease.empty()) {
    return Status::InvalidArgument("purpose.disease: required for DUO:0000007");
  }
  if (spec.purpose != Purpose::kDS && !spec.disease.empty()) {
    return Status::InvalidArgument("purpose.disease: only for DUO:0000007");
  }
  return spec;
}

json PurposeJson(const PurposeSpec& p) {
  if (p.purpose == Purpose::kDS) {
    return {{"code", std::string(DuoId(p.purpose))}, {"disease", p.disease}};
  }
  return std::string(DuoId(p.purpose));
}

}  // namespace

std::string FormatCount(int64_t n) {
  return n < 10 ? "<10" : std::to_string(n);
}

// ------------------------------------------------------- researchers, studies

std::string ResearcherToJson(const ResearcherProfile& r) {
  return json{{"id", r.id},
              {"org_type", std::string(OrgTypeName(r.org_type))},
              {"country", r.country},
              {"organization", r.organization},
              {"name", r.name},
              {"public_key", r.public_key}}
      .dump();
}

StatusOr<ResearcherProfile> ResearcherFromJson(std::string_view text) {
  Status error;
  json j = ParseObject(text, "researcher", &error);
  TILLIT_RETURN_IF_ERROR(error);
  ResearcherProfile r;
  if (!j.contains("id") || !j["id"].is_string() || !j.contains("org_type") ||
      !j["org_type"].is_string() || !j.contains("country") ||
      !j["country"].is_string() || !j.contains("organization") ||
      !j["organization"].is_string()) {
    return Status::DataLoss("stored researcher is malformed");
  }
  auto type = ParseOrgType(j["org_type"].get<std::string>());
  if (!type) return Status::DataLoss("stored researcher is malformed");
  r.id = j["id"];
  r.org_type = *type;
  r.country = j["country"];
  r.organization = j["organization"];
  // Profiles written before names and keys were kept have neither.
  if (j.contains("name") && j["name"].is_string()) r.name = j["name"];
  if (j.contains("public_key") && j["public_key"].is_string())
    r.public_key = j["public_key"];
  return r;
}

StatusOr<CohortCriteria> ParseCohortCriteria(std::string_view text) {
  Status error;
  json j = ParseObject(text, "criteria", &error);
  TILLIT_RETURN_IF_ERROR(error);
  TILLIT_RETURN_IF_ERROR(RejectUnknown(j, {"conditions", "age", "sex"},
                                       "criteria."));
  CohortCriteria c;
  if (j.contains("conditions") && !j["conditions"].is_null()) {
    const json& codes = j["conditions"];
    if (!codes.is_array() || codes.size() > 100) {
      return Status::InvalidArgument(
          "criteria.conditions: must be an array of at most 100 codes");
    }
    for (const auto& code : codes) {
      if (!code.is_string() || code.get<std::string>().empty() ||
          code.get<std::string>().size() > 256) {
        return Status::InvalidArgument(
            "criteria.conditions: each must be \"system|code\" or a code");
      }
      c.conditions.push_back(code.get<std::string>());
    }
  }
  if (j.contains("age") && !j["age"].is_null()) {
    const json& age = j["age"];
    if (!age.is_object())
      return Status::InvalidArgument("criteria.age: must be an object");
    TILLIT_RETURN_IF_ERROR(RejectUnknown(age, {"min", "max"}, "criteria.age."));
    for (const char* bound : {"min", "max"}) {
      if (!age.contains(bound) || age[bound].is_null()) continue;
      const json& v = age[bound];
      if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
          v.get<int64_t>() > 150) {
        return Status::InvalidArgument(std::string("criteria.age.") + bound +
                                       ": a whole number of years, 0 to 150");
      }
      (std::string_view(bound) == "min" ? c.min_age : c.max_age) =
          static_cast<int>(v.get<int64_t>());
    }
    if (c.min_age && c.max_age && *c.min_age > *c.max_age)
      return Status::InvalidArgument("criteria.age: min is above max");
  }
  if (j.contains("sex") && !j["sex"].is_null()) {
    static const std::set<std::string> kSexes = {"female", "male", "other",
                                                 "unknown"};
    if (!j["sex"].is_string() || kSexes.count(j["sex"].get<std::string>()) == 0)
      return Status::InvalidArgument(
          "criteria.sex: one of female, male, other, unknown");
    c.sex = j["sex"].get<std::string>();
  }
  return c;
}

StatusOr<StudyDefinition> ParseStudyDefinition(std::string_view text) {
  Status error;
  json j = ParseObject(text, "study", &error);
  TILLIT_RETURN_IF_ERROR(error);
  TILLIT_RETURN_IF_ERROR(
      RejectUnknown(j,
                    {"id", "researcher_id", "title", "purpose", "categories",
                     "data_period", "criteria", "ethics_approval",
                     "obligations", "commercial_use", "genetic"},
                    ""));
  StudyDefinition d;
  if (!j.contains("title") || !j["title"].is_string() ||
      j["title"].get<std::string>().empty() ||
      j["title"].get<std::string>().size() > 512) {
    return Status::InvalidArgument("title: required, 1 to 512 bytes");
  }
  d.title = j["title"];
  if (!j.contains("purpose"))
    return Status::InvalidArgument("purpose: required");
  TILLIT_ASSIGN_OR_RETURN(d.study.purpose, ParseStudyPurpose(j["purpose"]));
  if (!j.contains("categories"))
    return Status::InvalidArgument("categories: required");
  TILLIT_ASSIGN_OR_RETURN(d.study.categories,
                          ParseCategoryList(j["categories"], "categories"));
  if (d.study.categories == 0)
    return Status::InvalidArgument("categories: name at least one");
  if (j.contains("data_period") && !j["data_period"].is_null()) {
    const json& p = j["data_period"];
    if (!p.is_object())
      return Status::InvalidArgument("data_period: must be an object");
    TILLIT_RETURN_IF_ERROR(RejectUnknown(p, {"start", "end"}, "data_period."));
    TILLIT_ASSIGN_OR_RETURN(
        d.study.data_period.start,
        ParseDate(p.value("start", json()), "data_period.start", false));
    TILLIT_ASSIGN_OR_RETURN(
        d.study.data_period.end,
        ParseDate(p.value("end", json()), "data_period.end", true));
    if (d.study.data_period.start && d.study.data_period.end &&
        *d.study.data_period.end <= *d.study.data_period.start) {
      return Status::InvalidArgument("data_period.end: before start");
    }
  }
  if (j.contains("criteria") && !j["criteria"].is_null()) {
    if (!j["criteria"].is_object())
      return Status::InvalidArgument("criteria: must be an object");
    d.criteria_json = j["criteria"].dump();
    TILLIT_ASSIGN_OR_RETURN(d.criteria, ParseCohortCriteria(d.criteria_json));
  }
  if (j.contains("ethics_approval") && !j["ethics_approval"].is_null()) {
    if (!j["ethics_approval"].is_string() ||
        j["ethics_approval"].get<std::string>().size() > 256) {
      return Status::InvalidArgument(
          "ethics_approval: must be a reference of at most 256 bytes");
    }
    d.study.ethics_approval = j["ethics_approval"];
  }
  if (j.contains("obligations") && !j["obligations"].is_null()) {
    if (!j["obligations"].is_array())
      return Status::InvalidArgument("obligations: must be an array");
    size_t i = 0;
    for (const auto& o : j["obligations"]) {
      const std::string where = "obligations[" + std::to_string(i++) + "]";
      auto code =
          o.is_string() ? ParseCondition(o.get<std::string>()) : std::nullopt;
      if (!code || !IsObligation(*code)) {
        return Status::InvalidArgument(
            where + ": must be PUB, COL, RTN or MOR (a DUO code)");
      }
      if (std::find(d.study.obligations.begin(), d.study.obligations.end(),
                    *code) == d.study.obligations.end()) {
        d.study.obligations.push_back(*code);
      }
    }
  }
  for (const char* flag : {"commercial_use", "genetic"}) {
    if (j.contains(flag) && !j[flag].is_boolean()) {
      return Status::InvalidArgument(std::string(flag) +
                                     ": must be true or false");
    }
  }
  d.study.commercial_use = j.value("commercial_use", false);
  d.study.genetic = j.value("genetic", false);
  if (j.contains("id") && j["id"].is_string()) d.study.id = j["id"];
  if (j.contains("researcher_id") && j["researcher_id"].is_string()) {
    d.study.researcher_id = j["researcher_id"];
  }
  return d;
}

std::string StudyToJson(const StudyDefinition& d) {
  json obligations = json::array();
  for (ConditionCode c : d.study.obligations)
    obligations.push_back(std::string(DuoId(c)));
  return json{{"id", d.study.id},
              {"researcher_id", d.study.researcher_id},
              {"title", d.title},
              {"purpose", PurposeJson(d.study.purpose)},
              {"categories", CategoryListJson(d.study.categories)},
              {"data_period", PeriodJson(d.study.data_period)},
              {"criteria", json::parse(d.criteria_json, nullptr, false)},
              {"ethics_approval", d.study.ethics_approval.empty()
                                      ? json(nullptr)
                                      : json(d.study.ethics_approval)},
              {"obligations", obligations},
              {"commercial_use", d.study.commercial_use},
              {"genetic", d.study.genetic}}
      .dump();
}

// -------------------------------------------------------------- ConsentIndex

StatusOr<ConsentIndex> ConsentIndex::Load(vault::Vault& vault) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<vault::IndexEntry> rows,
                          vault.ReadIndex(kIndexKind));
  std::vector<Entry> entries;
  for (const vault::IndexEntry& row : rows) {
    if (entries.empty() || entries.back().citizen_id != row.citizen_id) {
      entries.push_back(Entry{row.citizen_id, {}});
    }
    Entry& e = entries.back();
    if (row.key == kOptOutKey) {
      e.policy.research_opt_out = row.value == "true";
      continue;
    }
    auto grant = GrantFromStoredJson(row.value);
    if (!grant.ok()) return Status::DataLoss("consent index row is malformed");
    e.policy.grants.push_back(std::move(grant).value());
  }
  return ConsentIndex(std::move(entries));
}

Feasibility ConsentIndex::Count(const ResearchRequest& request,
                                int64_t now) const {
  Feasibility f;
  f.citizens = static_cast<int64_t>(entries_.size());
  Decision d;
  for (const Entry& e : entries_) {
    DecideResearch(e.policy, request, now, &d);
    if (d.permit) {
      ++f.cohort_size;
      continue;
    }
    // The reason of the grant that came closest (failed latest).
    std::optional<Clause> best;
    for (const Reason& r : d.reasons) {
      if (!best || static_cast<int>(r.clause) > static_cast<int>(*best))
        best = r.clause;
    }
    ++f.reasons[best ? std::string(ClauseName(*best)) : "no-grant"];
  }
  return f;
}

std::vector<std::string> ConsentIndex::Permitted(
    const ResearchRequest& request, int64_t now) const {
  std::vector<std::string> ids;
  Decision d;
  for (const Entry& e : entries_) {
    DecideResearch(e.policy, request, now, &d);
    if (d.permit) ids.push_back(e.citizen_id);
  }
  return ids;
}

// ------------------------------------------------------------ ConsentService

ConsentService::ConsentService(vault::Vault* vault, Clock* clock,
                               crypto::Random* rng,
                               vault::StoreAccess* access)
    : vault_(vault),
      clock_(clock),
      rng_(rng),
      direct_(vault),
      access_(access != nullptr ? access : &direct_) {}

Status ConsentService::WriteWithIndex(vault::CitizenStore& store,
                                      std::vector<vault::DocumentWrite> writes,
                                      const std::vector<Grant>& grants,
                                      bool opted_out) {
  vault::IndexUpdate index{std::string(kIndexKind), {}};
  for (const Grant& g : grants) {
    if (g.status == Grant::Status::kActive) {
      index.rows.push_back(vault::IndexRow{g.id, GrantIndexJson(g)});
    }
  }
  if (opted_out)
    index.rows.push_back(vault::IndexRow{std::string(kOptOutKey), "true"});
  return store.WriteDocuments(writes, &index, clock_->NowSeconds());
}

namespace {

StatusOr<std::vector<Grant>> ReadGrants(vault::CitizenStore& store) {
  TILLIT_ASSIGN_OR_RETURN(auto docs, store.ListDocuments(kGrantKind));
  std::vector<Grant> grants;
  for (const auto& [id, text] : docs) {
    auto g = GrantFromStoredJson(text);
    if (!g.ok()) return Status::DataLoss("a stored grant is malformed");
    grants.push_back(std::move(g).value());
  }
  std::sort(grants.begin(), grants.end(), [](const Grant& a, const Grant& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at
                                        : a.id < b.id;
  });
  return grants;
}

StatusOr<bool> ReadOptOut(vault::CitizenStore& store) {
  TILLIT_ASSIGN_OR_RETURN(auto v, store.GetDocument(kSettingKind, kOptOutKey));
  return v.has_value() && *v == "true";
}

}  // namespace

StatusOr<Restrictions> ConsentService::ParseRestrictions(
    std::string_view text) {
  Status error;
  json j = ParseObject(text, "restrictions", &error);
  TILLIT_RETURN_IF_ERROR(error);
  TILLIT_RETURN_IF_ERROR(RejectUnknown(j, {"categories", "records"}, ""));
  Restrictions r;
  if (j.contains("categories")) {
    TILLIT_ASSIGN_OR_RETURN(r.categories,
                            ParseCategoryList(j["categories"], "categories"));
  }
  if (j.contains("records")) {
    if (!j["records"].is_array())
      return Status::InvalidArgument("records: must be an array");
    if (j["records"].size() > kMaxRestrictedRecords) {
      return Status::InvalidArgument("records: at most 10000");
    }
    size_t i = 0;
    for (const auto& ref : j["records"]) {
      if (!ref.is_string() || !IsRecordRef(ref.get<std::string>())) {
        return Status::InvalidArgument("records[" + std::to_string(i) +
                                       "]: must be \"Type/id\"");
      }
      ++i;
      r.records.push_back(ref.get<std::string>());
    }
    std::sort(r.records.begin(), r.records.end());
    r.records.erase(std::unique(r.records.begin(), r.records.end()),
                    r.records.end());
  }
  return r;
}

std::string ConsentService::RestrictionsToJson(const Restrictions& r) {
  return json{{"categories", CategoryListJson(r.categories)},
              {"records", r.records}}
      .dump();
}

std::string ConsentService::NewGrantId() { return "g_" + rng_->Hex(16); }

StatusOr<Grant> ConsentService::AddGrant(const std::string& citizen_id,
                                         std::string_view text,
                                         const std::string& id) {
  if (!id.empty() && !vault::IsValidId(id, "g_"))
    return Status::InvalidArgument("grant id: not a grant id");
  const int64_t now = clock_->NowSeconds();
  TILLIT_ASSIGN_OR_RETURN(Grant grant, ParseGrant(text, now));
  grant.id = id.empty() ? NewGrantId() : id;
  grant.status = Grant::Status::kActive;
  grant.created_at = now;
  grant.revoked_at.reset();
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Grant> grants, ReadGrants(store));
        for (const Grant& g : grants) {
          if (g.id == grant.id)
            return Status::AlreadyExists("a grant with this id exists");
        }
        TILLIT_ASSIGN_OR_RETURN(bool opted_out, ReadOptOut(store));
        grants.push_back(grant);
        return WriteWithIndex(
            store, {{std::string(kGrantKind), grant.id, GrantToJson(grant)}},
            grants, opted_out);
      }));
  return grant;
}

StatusOr<Grant> ConsentService::RevokeGrant(const std::string& citizen_id,
                                            const std::string& grant_id) {
  Grant revoked;
  TILLIT_RETURN_IF_ERROR(access_->With(
      citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Grant> grants, ReadGrants(store));
        auto it = std::find_if(grants.begin(), grants.end(),
                               [&](const Grant& g) { return g.id == grant_id; });
        if (it == grants.end()) return Status::NotFound("no such grant");
        if (it->status == Grant::Status::kRevoked) {
          return Status::FailedPrecondition("the grant is already revoked");
        }
        it->status = Grant::Status::kRevoked;
        it->revoked_at = clock_->NowSeconds();
        revoked = *it;
        TILLIT_ASSIGN_OR_RETURN(bool opted_out, ReadOptOut(store));
        return WriteWithIndex(
            store, {{std::string(kGrantKind), it->id, GrantToJson(*it)}},
            grants, opted_out);
      }));
  return revoked;
}

StatusOr<std::vector<Grant>> ConsentService::ListGrants(
    const std::string& citizen_id) {
  std::vector<Grant> grants;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(grants, ReadGrants(store));
        return Status::Ok();
      }));
  return grants;
}

StatusOr<Restrictions> ConsentService::GetRestrictions(
    const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(CitizenPolicy policy, LoadPolicy(citizen_id));
  return policy.restrictions;
}

StatusOr<Restrictions> ConsentService::SetRestrictions(
    const std::string& citizen_id, std::string_view text) {
  TILLIT_ASSIGN_OR_RETURN(Restrictions r, ParseRestrictions(text));
  std::vector<vault::DocumentWrite> writes = {{std::string(kSettingKind),
                                               std::string(kRestrictionsKey),
                                               RestrictionsToJson(r)}};
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) {
        return store.WriteDocuments(writes, nullptr, clock_->NowSeconds());
      }));
  return r;
}

Status ConsentService::SetResearchOptOut(const std::string& citizen_id,
                                         bool opted_out) {
  return access_->With(
      citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(std::vector<Grant> grants, ReadGrants(store));
        return WriteWithIndex(
            store,
            {{std::string(kSettingKind), std::string(kOptOutKey),
              opted_out ? "true" : "false"}},
            grants, opted_out);
      });
}

StatusOr<BreakGlass> ConsentService::OpenBreakGlass(
    const std::string& citizen_id, const std::string& provider_id,
    std::string_view reason, int hours) {
  if (!vault::IsValidId(provider_id, "p_")) {
    return Status::InvalidArgument("provider_id: not a provider id");
  }
  if (reason.empty() || reason.size() > kMaxReasonBytes) {
    return Status::InvalidArgument("reason: required, 1 to 1000 bytes");
  }
  if (hours < 1 || hours > 24) {
    return Status::InvalidArgument("break-glass lasts 1 to 24 hours");
  }
  BreakGlass bg;
  bg.provider_id = provider_id;
  bg.reason = std::string(reason);
  bg.started = clock_->NowSeconds();
  bg.expires = bg.started + hours * 3600LL;
  const std::string doc = json{
      {"provider_id", bg.provider_id},
      {"reason", bg.reason},
      {"started", bg.started},
      {"expires", bg.expires}}.dump();
  std::vector<vault::DocumentWrite> writes = {
      {std::string(kBreakGlassKind), "bg_" + rng_->Hex(16), doc}};
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) {
        return store.WriteDocuments(writes, nullptr, bg.started);
      }));
  return bg;
}

StatusOr<CitizenPolicy> ConsentService::ReadPolicy(
    vault::CitizenStore& store) {
  CitizenPolicy policy;
  TILLIT_ASSIGN_OR_RETURN(policy.grants, ReadGrants(store));
  TILLIT_ASSIGN_OR_RETURN(policy.research_opt_out, ReadOptOut(store));
  TILLIT_ASSIGN_OR_RETURN(auto restrictions,
                          store.GetDocument(kSettingKind, kRestrictionsKey));
  if (restrictions) {
    auto r = ParseRestrictions(*restrictions);
    if (!r.ok()) return Status::DataLoss("stored restrictions are malformed");
    policy.restrictions = std::move(r).value();
  }
  TILLIT_ASSIGN_OR_RETURN(auto glass, store.ListDocuments(kBreakGlassKind));
  for (const auto& [id, text] : glass) {
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j["provider_id"].is_string() ||
        !j["reason"].is_string() || !j["started"].is_number_integer() ||
        !j["expires"].is_number_integer()) {
      return Status::DataLoss("a stored break-glass record is malformed");
    }
    policy.break_glass.push_back(
        BreakGlass{j["provider_id"], j["reason"], j["started"], j["expires"]});
  }
  return policy;
}

StatusOr<CitizenPolicy> ConsentService::LoadPolicy(
    const std::string& citizen_id) {
  CitizenPolicy policy;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(policy, ReadPolicy(store));
        return Status::Ok();
      }));
  return policy;
}

StatusOr<std::shared_ptr<const CitizenPolicy>> PolicyCache::Get(
    vault::CitizenStore& store) {
  TILLIT_ASSIGN_OR_RETURN(storage::Database::Version version,
                          store.ContentVersion());
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = kept_.find(store.citizen_id());
    if (it != kept_.end() && it->second.version == version)
      return it->second.policy;
  }
  TILLIT_ASSIGN_OR_RETURN(CitizenPolicy read,
                          ConsentService::ReadPolicy(store));
  auto policy = std::make_shared<const CitizenPolicy>(std::move(read));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kept_.find(store.citizen_id());
  if (it == kept_.end() && kept_.size() >= capacity_ && !kept_.empty()) {
    // Full: let one go. Which one matters little; the next request for
    // it reads the store again.
    kept_.erase(kept_.begin());
  }
  if (capacity_ > 0) kept_[store.citizen_id()] = Kept{version, policy};
  return policy;
}

size_t PolicyCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return kept_.size();
}

StatusOr<GrantPreview> ConsentService::PreviewGrant(
    const std::string& citizen_id, std::string_view text) {
  const int64_t now = clock_->NowSeconds();
  TILLIT_ASSIGN_OR_RETURN(Grant grant, ParseGrant(text, now));
  grant.id = "preview";
  grant.created_at = now;
  CitizenPolicy current;
  std::vector<vault::RecordMeta> records;
  TILLIT_RETURN_IF_ERROR(
      access_->With(citizen_id, [&](vault::CitizenStore& store) -> Status {
        TILLIT_ASSIGN_OR_RETURN(current, ReadPolicy(store));
        TILLIT_ASSIGN_OR_RETURN(records, store.ListRecordMeta());
        return Status::Ok();
      }));

  const bool primary = grant.grantee.kind == Grantee::Kind::kProvider ||
                       grant.grantee.kind == Grantee::Kind::kAnyProvider;
  CitizenPolicy alone;
  alone.grants.push_back(grant);
  alone.restrictions = current.restrictions;
  alone.research_opt_out = current.research_opt_out;
  Decision d;
  d.permit = true;
  d.permitting = {0};
  d.scope = {ScopePart{0, grant.categories, grant.data_period,
                       grant.include_sensitive}};
  GrantPreview preview;
  for (const vault::RecordMeta& m : records) {
    RecordFacts facts{m.type,      m.id,        m.category,
                      m.effective, m.sensitive, m.codes};
    if (Releases(alone, d, facts, primary)) {
      ++preview.by_category[std::string(fhir::CategoryName(m.category))];
      ++preview.total;
    }
  }
  if (!primary) {
    TILLIT_ASSIGN_OR_RETURN(std::vector<StudyDefinition> studies,
                            ListStudies());
    for (const StudyDefinition& s : studies) {
      auto researcher = GetResearcher(s.study.researcher_id);
      if (!researcher.ok()) continue;
      ResearchRequest request{&*researcher, &s.study};
      DecideResearch(alone, request, now, &d);
      if (d.permit) preview.matching_studies.push_back(s.study.id);
    }
  }
  return preview;
}

Status ConsentService::RegisterResearcher(const ResearcherProfile& r) {
  if (!vault::IsValidId(r.id, "r_"))
    return Status::InvalidArgument("researcher id");
  return vault_->PutDirectoryEntry("researcher", r.id, ResearcherToJson(r));
}

StatusOr<ResearcherProfile> ConsentService::GetResearcher(
    const std::string& id) {
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          vault_->GetDirectoryEntry("researcher", id));
  return ResearcherFromJson(text);
}

StatusOr<StudyDefinition> ConsentService::RegisterStudy(StudyDefinition study) {
  TILLIT_ASSIGN_OR_RETURN(ResearcherProfile researcher,
                          GetResearcher(study.study.researcher_id));
  if (researcher.org_type == OrgType::kCommercial)
    study.study.commercial_use = true;
  study.study.id = "s_" + rng_->Hex(16);
  TILLIT_RETURN_IF_ERROR(
      vault_->PutDirectoryEntry("study", study.study.id, StudyToJson(study)));
  return study;
}

StatusOr<StudyDefinition> ConsentService::GetStudy(const std::string& id) {
  TILLIT_ASSIGN_OR_RETURN(std::string text,
                          vault_->GetDirectoryEntry("study", id));
  auto s = ParseStudyDefinition(text);
  if (!s.ok()) return Status::DataLoss("stored study is malformed");
  return s;
}

StatusOr<std::vector<StudyDefinition>> ConsentService::ListStudies() {
  TILLIT_ASSIGN_OR_RETURN(auto rows, vault_->ListDirectory("study"));
  std::vector<StudyDefinition> out;
  for (const auto& [id, text] : rows) {
    auto s = ParseStudyDefinition(text);
    if (!s.ok()) return Status::DataLoss("stored study is malformed");
    out.push_back(std::move(s).value());
  }
  return out;
}

StatusOr<ConsentIndex*> ConsentService::FreshIndex() {
  TILLIT_ASSIGN_OR_RETURN(int64_t version, vault_->IndexVersion());
  if (version != index_version_) {
    TILLIT_ASSIGN_OR_RETURN(index_, ConsentIndex::Load(*vault_));
    index_version_ = version;
  }
  return &index_;
}

StatusOr<Feasibility> ConsentService::CountCohort(const std::string& study_id) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition study, GetStudy(study_id));
  TILLIT_ASSIGN_OR_RETURN(ResearcherProfile researcher,
                          GetResearcher(study.study.researcher_id));
  std::lock_guard<std::mutex> lock(index_mu_);
  TILLIT_ASSIGN_OR_RETURN(ConsentIndex * index, FreshIndex());
  ResearchRequest request{&researcher, &study.study};
  return index->Count(request, clock_->NowSeconds());
}

StatusOr<std::vector<std::string>> ConsentService::Candidates(
    const ResearcherProfile& researcher, const Study& study) {
  std::lock_guard<std::mutex> lock(index_mu_);
  TILLIT_ASSIGN_OR_RETURN(ConsentIndex * index, FreshIndex());
  ResearchRequest request{&researcher, &study};
  return index->Permitted(request, clock_->NowSeconds());
}

}  // namespace tillit::consent
