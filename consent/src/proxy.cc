// Proxies and guardians: their JSON forms and the decision (proxy.h).
//
// Messages name the member and what is wrong; values from the input are
// never quoted.
#include "tillit/consent/proxy.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>

#include "policy_internal.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using policy_internal::FormatDate;
using policy_internal::IsVaultId;
using policy_internal::kSecondsPerDay;
using policy_internal::ParseDate;
using policy_internal::ParseJsonText;

constexpr size_t kMaxPurposeBytes = 64;

Status Bad(std::string_view member, std::string_view what) {
  return Status::InvalidArgument(std::string(member) + ": " +
                                 std::string(what));
}

Status CheckMembers(const json& j,
                    std::initializer_list<std::string_view> allowed) {
  for (const auto& item : j.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) ==
        allowed.end()) {
      return Bad(policy_internal::QuoteField(item.key()), "unknown field");
    }
  }
  return Status::Ok();
}

const json* Member(const json& j, std::string_view key) {
  const auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

Status ReadCitizenId(const json& j, std::string_view key, std::string* out) {
  const json* v = Member(j, key);
  if (v == nullptr) return Bad(key, "required");
  if (!v->is_string() || !IsVaultId(v->get_ref<const std::string&>(), "c_"))
    return Bad(key, "must be a citizen id (c_ and 32 lowercase hex digits)");
  *out = v->get<std::string>();
  return Status::Ok();
}

// A day (YYYY-MM-DD): its start, UTC.
Status ReadDay(const json& v, std::string_view key, int64_t* out) {
  std::optional<int64_t> d;
  if (v.is_string()) d = ParseDate(v.get_ref<const std::string&>());
  if (!d) return Bad(key, "must be a date (YYYY-MM-DD) or null");
  *out = *d;
  return Status::Ok();
}

Status ReadBool(const json& j, std::string_view key, bool* out) {
  const json* v = Member(j, key);
  if (v == nullptr) return Status::Ok();
  if (!v->is_boolean()) return Bad(key, "must be true or false");
  *out = v->get<bool>();
  return Status::Ok();
}

bool IsPurposeCode(std::string_view s) {
  return !s.empty() && s.size() <= kMaxPurposeBytes &&
         std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
                  c == '/' || c == '-';
         });
}

Status ReadCategories(const json& j, CategorySet* out) {
  const json* v = Member(j, "categories");
  if (v == nullptr) {
    *out = kAllCategories;
    return Status::Ok();
  }
  if (!v->is_array() || v->empty())
    return Bad("categories", "must be a non-empty list of category names");
  CategorySet set = 0;
  for (const json& name : *v) {
    std::optional<Category> c;
    if (name.is_string()) c = fhir::ParseCategory(name.get<std::string>());
    if (!c) return Bad("categories", "not a record category");
    if (set & CategoryBit(*c)) return Bad("categories", "a category twice");
    set |= CategoryBit(*c);
  }
  *out = set;
  return Status::Ok();
}

ordered_json CategoryList(CategorySet set) {
  ordered_json out = ordered_json::array();
  for (Category c : fhir::AllCategories()) {
    if (set & CategoryBit(c)) out.push_back(std::string(fhir::CategoryName(c)));
  }
  return out;
}

}  // namespace

std::string_view ProxyKindName(ProxyAuthorisation::Kind kind) {
  return kind == ProxyAuthorisation::Kind::kGuardian ? "guardian" : "proxy";
}

std::string_view ProxyAccessName(ProxyAuthorisation::Access access) {
  return access == ProxyAuthorisation::Access::kReadWrite ? "read-write"
                                                          : "read";
}

std::string_view ProxyStatus(const ProxyAuthorisation& a, int64_t now) {
  const bool guardian = a.kind == ProxyAuthorisation::Kind::kGuardian;
  if (a.revoked_at) return guardian ? "ended" : "revoked";
  if (a.until && now >= *a.until) return guardian ? "ended" : "expired";
  if (a.start && now < *a.start) return "scheduled";
  return "active";
}

bool ProxyActive(const ProxyAuthorisation& a, int64_t now) {
  return ProxyStatus(a, now) == "active";
}

StatusOr<ProxyAuthorisation> ParseProxy(std::string_view text, int64_t now,
                                        bool for_change) {
  TILLIT_ASSIGN_OR_RETURN(json j, ParseJsonText(text, "the body"));
  if (!j.is_object()) return Status::InvalidArgument("the body: not an object");
  if (for_change && j.contains("proxy")) {
    return Bad("proxy",
               "cannot be changed: revoke this authorisation and authorise "
               "the other person");
  }
  TILLIT_RETURN_IF_ERROR(
      CheckMembers(j, {"proxy", "access", "categories", "purpose", "until",
                       "include_sensitive", "include_restricted"}));
  ProxyAuthorisation a;
  a.kind = ProxyAuthorisation::Kind::kProxy;
  if (!for_change)
    TILLIT_RETURN_IF_ERROR(ReadCitizenId(j, "proxy", &a.proxy_id));
  const json* access = Member(j, "access");
  if (access == nullptr) return Bad("access", "required");
  if (*access == "read") {
    a.access = ProxyAuthorisation::Access::kRead;
  } else if (*access == "read-write") {
    a.access = ProxyAuthorisation::Access::kReadWrite;
  } else {
    return Bad("access", "must be \"read\" or \"read-write\"");
  }
  TILLIT_RETURN_IF_ERROR(ReadCategories(j, &a.categories));
  if (const json* p = Member(j, "purpose")) {
    if (!p->is_string() || !IsPurposeCode(p->get_ref<const std::string&>()))
      return Bad("purpose",
                 "must be a code of 1 to 64 of A-Z a-z 0-9 _ . : / -");
    a.purpose = p->get<std::string>();
  }
  if (const json* u = Member(j, "until")) {
    int64_t day = 0;
    TILLIT_RETURN_IF_ERROR(ReadDay(*u, "until", &day));
    if (day + kSecondsPerDay <= now) return Bad("until", "must not be past");
    a.until = day + kSecondsPerDay;  // the end of that day
  }
  TILLIT_RETURN_IF_ERROR(
      ReadBool(j, "include_sensitive", &a.include_sensitive));
  TILLIT_RETURN_IF_ERROR(
      ReadBool(j, "include_restricted", &a.include_restricted));
  a.start = now;
  a.created_at = now;
  return a;
}

StatusOr<Guardianship> ParseGuardianship(std::string_view text, int64_t now) {
  TILLIT_ASSIGN_OR_RETURN(json j, ParseJsonText(text, "the body"));
  if (!j.is_object()) return Status::InvalidArgument("the body: not an object");
  TILLIT_RETURN_IF_ERROR(
      CheckMembers(j, {"guardian", "citizen", "start", "end"}));
  Guardianship g;
  ProxyAuthorisation& a = g.authorisation;
  a.kind = ProxyAuthorisation::Kind::kGuardian;
  a.access = ProxyAuthorisation::Access::kReadWrite;
  a.categories = kAllCategories;
  a.include_sensitive = true;
  a.include_restricted = true;
  TILLIT_RETURN_IF_ERROR(ReadCitizenId(j, "guardian", &a.proxy_id));
  TILLIT_RETURN_IF_ERROR(ReadCitizenId(j, "citizen", &g.citizen_id));
  if (a.proxy_id == g.citizen_id)
    return Bad("guardian", "must be another citizen than citizen");
  const json* start = Member(j, "start");
  if (start == nullptr) return Bad("start", "required");
  int64_t day = 0;
  TILLIT_RETURN_IF_ERROR(ReadDay(*start, "start", &day));
  a.start = day;
  if (const json* end = Member(j, "end")) {
    TILLIT_RETURN_IF_ERROR(ReadDay(*end, "end", &day));
    if (day < *a.start) return Bad("end", "must not be before start");
    if (day + kSecondsPerDay <= now) return Bad("end", "must not be past");
    a.until = day + kSecondsPerDay;
  }
  a.created_at = now;
  return g;
}

std::string ProxyToStoredJson(const ProxyAuthorisation& a) {
  ordered_json j;
  j["id"] = a.id;
  j["kind"] = std::string(ProxyKindName(a.kind));
  j["proxy"] = a.proxy_id;
  j["access"] = std::string(ProxyAccessName(a.access));
  j["categories"] = a.categories;
  j["purpose"] = a.purpose;
  j["start"] = a.start ? ordered_json(*a.start) : ordered_json(nullptr);
  j["until"] = a.until ? ordered_json(*a.until) : ordered_json(nullptr);
  j["include_sensitive"] = a.include_sensitive;
  j["include_restricted"] = a.include_restricted;
  j["created"] = a.created_at;
  j["revoked"] =
      a.revoked_at ? ordered_json(*a.revoked_at) : ordered_json(nullptr);
  return policy_internal::DumpJson(j);
}

StatusOr<ProxyAuthorisation> ProxyFromStoredJson(std::string_view text) {
  const Status bad =
      Status::DataLoss("a stored proxy authorisation is malformed");
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string(); };
  auto num = [&](const char* k) {
    return j.contains(k) && j[k].is_number_integer();
  };
  auto opt_num = [&](const char* k) -> std::optional<int64_t> {
    return num(k) ? std::optional<int64_t>(j[k].get<int64_t>()) : std::nullopt;
  };
  if (!str("id") || !str("kind") || !str("proxy") || !str("access") ||
      !str("purpose") || !num("categories") || !num("created") ||
      !j.contains("include_sensitive") ||
      !j["include_sensitive"].is_boolean() ||
      !j.contains("include_restricted") ||
      !j["include_restricted"].is_boolean()) {
    return bad;
  }
  ProxyAuthorisation a;
  a.id = j["id"];
  if (j["kind"] == "proxy") {
    a.kind = ProxyAuthorisation::Kind::kProxy;
  } else if (j["kind"] == "guardian") {
    a.kind = ProxyAuthorisation::Kind::kGuardian;
  } else {
    return bad;
  }
  if (j["access"] == "read") {
    a.access = ProxyAuthorisation::Access::kRead;
  } else if (j["access"] == "read-write") {
    a.access = ProxyAuthorisation::Access::kReadWrite;
  } else {
    return bad;
  }
  a.proxy_id = j["proxy"];
  const int64_t categories = j["categories"];
  if (categories <= 0 || categories > kAllCategories) return bad;
  a.categories = static_cast<CategorySet>(categories);
  a.purpose = j["purpose"];
  a.start = opt_num("start");
  a.until = opt_num("until");
  a.include_sensitive = j["include_sensitive"];
  a.include_restricted = j["include_restricted"];
  a.created_at = j["created"];
  a.revoked_at = opt_num("revoked");
  return a;
}

std::string ProxyToApiJson(const ProxyAuthorisation& a,
                           std::string_view citizen_id, int64_t now) {
  ordered_json j;
  j["id"] = a.id;
  j["kind"] = std::string(ProxyKindName(a.kind));
  j["citizen"] = std::string(citizen_id);
  j["proxy"] = a.proxy_id;
  j["access"] = std::string(ProxyAccessName(a.access));
  if (a.categories != kAllCategories)
    j["categories"] = CategoryList(a.categories);
  j["purpose"] =
      a.purpose.empty() ? ordered_json(nullptr) : ordered_json(a.purpose);
  j["start"] =
      a.start ? ordered_json(FormatDate(*a.start)) : ordered_json(nullptr);
  // The last day the authorisation holds.
  j["until"] =
      a.until ? ordered_json(FormatDate(*a.until - 1)) : ordered_json(nullptr);
  j["include_sensitive"] = a.include_sensitive;
  j["include_restricted"] = a.include_restricted;
  j["status"] = std::string(ProxyStatus(a, now));
  j["created"] = a.created_at;
  j["revoked"] =
      a.revoked_at ? ordered_json(*a.revoked_at) : ordered_json(nullptr);
  return policy_internal::DumpJson(j);
}

ProxyDecision DecideProxy(std::span<const ProxyAuthorisation> authorisations,
                          const ProxyRequest& request, int64_t now,
                          CategorySet hidden_from_guardians) {
  ProxyDecision d;
  for (const ProxyAuthorisation& a : authorisations) {
    if (a.proxy_id != request.proxy_id || !ProxyActive(a, now)) continue;
    const bool guardian = a.kind == ProxyAuthorisation::Kind::kGuardian;
    const bool writes = request.need == ProxyNeed::kWrite ||
                        request.need == ProxyNeed::kManageWrite;
    const bool manages = request.need == ProxyNeed::kManage ||
                         request.need == ProxyNeed::kManageWrite;
    // What this authorisation lets through: a guardian's loses the
    // categories hidden from guardians.
    const CategorySet categories =
        guardian ? a.categories & ~hidden_from_guardians : a.categories;
    std::string why;
    if (writes && a.access != ProxyAuthorisation::Access::kReadWrite) {
      why = "this authorisation is for reading only";
    } else if (manages && (categories != kAllCategories ||
                           !a.include_sensitive || !a.include_restricted)) {
      why =
          "managing the citizen's settings needs an authorisation for all "
          "of their data";
    } else if (!a.purpose.empty() && a.purpose != request.purpose) {
      why =
          "this authorisation is for one purpose: state it in the "
          "Tillit-Purpose header";
    }
    if (!why.empty()) {
      // Represented, but not for this; another authorisation may still be.
      if (d.outcome == ProxyDecision::Outcome::kNotRepresented) {
        d.outcome = ProxyDecision::Outcome::kBeyond;
        d.why = std::move(why);
        d.authorisation_id = a.id;
      }
      continue;
    }
    d.outcome = ProxyDecision::Outcome::kPermit;
    d.why.clear();
    d.authorisation_id = a.id;
    d.kind = a.kind;
    d.categories = categories;
    d.include_sensitive = a.include_sensitive;
    d.include_restricted = a.include_restricted;
    return d;
  }
  return d;
}

bool ProxyCovers(const ProxyDecision& d, Category category) {
  return d.outcome == ProxyDecision::Outcome::kPermit &&
         (d.categories & CategoryBit(category)) != 0;
}

bool ProxyReleases(const Restrictions& restrictions, const ProxyDecision& d,
                   const RecordFacts& record) {
  if (!ProxyCovers(d, record.category)) return false;
  if (record.sensitive && !d.include_sensitive) return false;
  if (d.include_restricted) return true;
  if (restrictions.categories & CategoryBit(record.category)) return false;
  const std::string ref =
      std::string(record.type) + "/" + std::string(record.id);
  return std::find(restrictions.records.begin(), restrictions.records.end(),
                   ref) == restrictions.records.end();
}

}  // namespace tillit::consent
