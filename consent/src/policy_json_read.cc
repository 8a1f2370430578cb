// The grant JSON form of SPEC §4: one validating reader (new grants, stored
// grants, and the grants read back from FHIR Consent). policy_json_write.cc
// holds the one writer.
//
// Every message names the field path (`conditions[0].countries`) and what
// is wrong. Values from the input are never quoted: they may be free text.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy_internal.h"
#include "tillit/consent/epsilon.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace policy_internal {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

Status Bad(const std::string& path, std::string_view what) {
  return Status::InvalidArgument(path + ": " + std::string(what));
}

std::string At(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// Refuses any member of `object` not in `allowed` (a typo must not silently
// widen or narrow a grant).
Status CheckFields(const json& object, const std::string& path,
                   std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> ignored = {}) {
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end() ||
        std::find(ignored.begin(), ignored.end(), key) != ignored.end()) {
      continue;
    }
    return Bad(path.empty() ? QuoteField(key) : path + "." + QuoteField(key),
               "unknown field");
  }
  return Status::Ok();
}

// The member `key`, or nullptr when absent.
const json* Member(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

bool IsControl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// A non-empty string of at most kMaxStringBytes without control characters.
Status ReadText(const json& value, const std::string& path, std::string* out) {
  if (!value.is_string()) return Bad(path, "must be a string");
  const std::string& s = value.get_ref<const std::string&>();
  if (s.empty()) return Bad(path, "must not be empty");
  if (s.size() > kMaxStringBytes) {
    return Bad(path,
               "longer than " + std::to_string(kMaxStringBytes) + " bytes");
  }
  for (char c : s) {
    if (IsControl(static_cast<unsigned char>(c))) {
      return Bad(path, "contains a control character");
    }
  }
  *out = s;
  return Status::Ok();
}

Status ReadVaultId(const json& value, const std::string& path,
                   std::string_view prefix, std::string* out) {
  if (!value.is_string()) return Bad(path, "must be a string");
  const std::string& s = value.get_ref<const std::string&>();
  if (!IsVaultId(s, prefix)) {
    return Bad(path, "must be an id of the form " + std::string(prefix) +
                         " followed by 32 lowercase hex digits");
  }
  *out = s;
  return Status::Ok();
}

Status ReadInstant(const json& value, const std::string& path, int64_t* out) {
  const std::optional<int64_t> t =
      value.is_string() ? ParseInstant(value.get_ref<const std::string&>())
                        : std::nullopt;
  if (!t) {
    return Bad(path,
               "must be an RFC 3339 instant such as 2027-12-31T00:00:00Z");
  }
  *out = *t;
  return Status::Ok();
}

// A date (start of that day) or, when `instants` allows it, an instant.
Status ReadDateOrInstant(const json& value, const std::string& path,
                         bool instants, int64_t* out, bool* was_date) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (const std::optional<int64_t> d = ParseDate(s)) {
      *out = *d;
      *was_date = true;
      return Status::Ok();
    }
    if (instants) {
      if (const std::optional<int64_t> t = ParseInstant(s)) {
        *out = *t;
        *was_date = false;
        return Status::Ok();
      }
    }
  }
  return Bad(path, instants ? "must be a date (YYYY-MM-DD) or an RFC 3339 "
                              "instant"
                            : "must be a date (YYYY-MM-DD) or null");
}

// An array of 1..max elements.
Status ReadArray(const json& value, const std::string& path, size_t max,
                 bool allow_empty = false) {
  if (!value.is_array()) return Bad(path, "must be an array");
  if (value.empty() && !allow_empty) return Bad(path, "must not be empty");
  if (value.size() > max) {
    return Bad(path, "more than " + std::to_string(max) + " entries");
  }
  return Status::Ok();
}

bool IsOntologyTerm(std::string_view s) {
  const size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size() ||
      s.size() > kMaxStringBytes) {
    return false;
  }
  const auto alpha = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  };
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!alpha(s[0])) return false;
  for (char c : s.substr(0, colon)) {
    if (!alpha(c) && !digit(c) && c != '_') return false;
  }
  for (char c : s.substr(colon + 1)) {
    if (!alpha(c) && !digit(c) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

bool IsProviderKind(Grantee::Kind k) {
  return k == Grantee::Kind::kProvider || k == Grantee::Kind::kAnyProvider;
}

Status ReadGrantee(const json& value, Grantee* out) {
  const std::string path = "grantee";
  if (!value.is_object()) return Bad(path, "must be an object");
  const json* kind = Member(value, "kind");
  if (kind == nullptr) return Bad("grantee.kind", "required");
  std::optional<Grantee::Kind> k;
  if (kind->is_string()) {
    for (const KindName& kn : kKindNames) {
      if (kn.name == kind->get_ref<const std::string&>()) k = kn.kind;
    }
  }
  if (!k) {
    return Bad("grantee.kind",
               "must be one of any-researcher, researcher, organization, "
               "study, provider, any-provider");
  }
  out->kind = *k;
  switch (*k) {
    case Grantee::Kind::kAnyResearcher:
    case Grantee::Kind::kAnyProvider:
      return CheckFields(value, path, {"kind"});
    case Grantee::Kind::kOrganization: {
      TILLIT_RETURN_IF_ERROR(CheckFields(value, path, {"kind", "name"}));
      const json* name = Member(value, "name");
      if (name == nullptr) {
        return Bad("grantee.name", "required for kind organization");
      }
      return ReadText(*name, "grantee.name", &out->name);
    }
    case Grantee::Kind::kResearcher:
    case Grantee::Kind::kStudy:
    case Grantee::Kind::kProvider: {
      TILLIT_RETURN_IF_ERROR(CheckFields(value, path, {"kind", "id"}));
      const json* id = Member(value, "id");
      const std::string_view prefix = *k == Grantee::Kind::kResearcher ? "r_"
                                      : *k == Grantee::Kind::kStudy    ? "s_"
                                                                       : "p_";
      if (id == nullptr) {
        return Bad("grantee.id",
                   "required for kind " + std::string(KindToName(*k)));
      }
      return ReadVaultId(*id, "grantee.id", prefix, &out->id);
    }
  }
  return Bad("grantee.kind", "unknown");
}

Status ReadPurposes(const json& value, Grantee::Kind kind,
                    std::vector<PurposeSpec>* out) {
  TILLIT_RETURN_IF_ERROR(ReadArray(value, "purposes", kMaxPurposes));
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = At("purposes", i);
    const json& item = value[i];
    PurposeSpec spec;
    const json* code = &item;
    const json* disease = nullptr;
    if (item.is_object()) {
      TILLIT_RETURN_IF_ERROR(CheckFields(item, path, {"code", "disease"}));
      code = Member(item, "code");
      if (code == nullptr) return Bad(path + ".code", "required");
      disease = Member(item, "disease");
    } else if (!item.is_string()) {
      return Bad(path, "must be a DUO id string or an object with code");
    }
    const std::string code_path = item.is_object() ? path + ".code" : path;
    const std::optional<Purpose> p =
        code->is_string() ? ParsePurpose(code->get_ref<const std::string&>())
                          : std::nullopt;
    if (!p) {
      return Bad(code_path,
                 "must be one of DUO:0000042 (GRU), DUO:0000006 (HMB), "
                 "DUO:0000007 (DS), DUO:0000011 (POA), DUO:0000043 (CC)");
    }
    spec.purpose = *p;
    if (*p == Purpose::kDS) {
      if (disease == nullptr) {
        return Bad(item.is_object() ? path + ".disease" : path,
                   "DUO:0000007 (DS) needs the object form with a disease, "
                   "e.g. {\"code\":\"DUO:0000007\",\"disease\":\"MONDO:"
                   "0005148\"}");
      }
      if (!disease->is_string() ||
          !IsOntologyTerm(disease->get_ref<const std::string&>())) {
        return Bad(path + ".disease",
                   "must be an ontology term such as MONDO:0005148");
      }
      spec.disease = disease->get_ref<const std::string&>();
    } else if (disease != nullptr) {
      return Bad(path + ".disease", "allowed only with DUO:0000007 (DS)");
    }
    if (IsProviderKind(kind) && *p != Purpose::kCC) {
      return Bad(code_path,
                 "provider grants take only DUO:0000043 (clinical care)");
    }
    if (!IsProviderKind(kind) && *p == Purpose::kCC) {
      return Bad(code_path,
                 "DUO:0000043 (clinical care) is only for grantee kinds "
                 "provider and any-provider");
    }
    for (const PurposeSpec& seen : *out) {
      if (seen.purpose == spec.purpose && seen.disease == spec.disease) {
        return Bad(path, "duplicate purpose");
      }
    }
    out->push_back(std::move(spec));
  }
  return Status::Ok();
}

// A list of 1..kMaxListItems distinct strings, each checked by `read`.
template <typename ReadOne>
Status ReadStringList(const json& value, const std::string& path, ReadOne read,
                      std::vector<std::string>* out) {
  TILLIT_RETURN_IF_ERROR(ReadArray(value, path, kMaxListItems));
  for (size_t i = 0; i < value.size(); ++i) {
    std::string s;
    TILLIT_RETURN_IF_ERROR(read(value[i], At(path, i), &s));
    if (std::find(out->begin(), out->end(), s) != out->end()) {
      return Bad(At(path, i), "duplicate");
    }
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

Status ReadCountry(const json& value, const std::string& path,
                   std::string* out) {
  if (!value.is_string()) return Bad(path, "must be a string");
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z') {
    return Bad(path, "must be an ISO 3166-1 alpha-2 code (two capitals)");
  }
  *out = s;
  return Status::Ok();
}

Status ReadCondition(const json& item, const std::string& path, GrantForm form,
                     int64_t now, Condition* out) {
  if (!item.is_object()) return Bad(path, "must be an object with code");
  TILLIT_RETURN_IF_ERROR(
      CheckFields(item, path,
                  {"code", "countries", "until", "researchers", "studies",
                   "institutions"}));
  const json* code = Member(item, "code");
  if (code == nullptr) return Bad(path + ".code", "required");
  const std::optional<ConditionCode> c =
      code->is_string() ? ParseCondition(code->get_ref<const std::string&>())
                        : std::nullopt;
  if (!c) return Bad(path + ".code", "not a DUO modifier tillit knows");
  out->code = *c;
  const std::string duo(DuoId(*c));

  // Which parameter each code takes; any other parameter is refused.
  const bool wants_countries = *c == ConditionCode::kGS;
  const bool wants_until = *c == ConditionCode::kTS;
  const bool may_until = wants_until || *c == ConditionCode::kMOR;
  const char* ids_field = *c == ConditionCode::kUS   ? "researchers"
                          : *c == ConditionCode::kPS ? "studies"
                          : *c == ConditionCode::kIS ? "institutions"
                                                     : nullptr;
  for (const char* field :
       {"countries", "until", "researchers", "studies", "institutions"}) {
    if (Member(item, field) == nullptr) continue;
    const std::string_view f = field;
    const bool allowed = (f == "countries" && wants_countries) ||
                         (f == "until" && may_until) ||
                         (ids_field != nullptr && f == ids_field);
    if (!allowed) {
      return Bad(path + "." + std::string(f), "not allowed for " + duo);
    }
  }

  if (wants_countries) {
    const json* v = Member(item, "countries");
    if (v == nullptr) return Bad(path + ".countries", "required for " + duo);
    TILLIT_RETURN_IF_ERROR(
        ReadStringList(*v, path + ".countries", ReadCountry, &out->countries));
  }
  if (may_until) {
    const json* v = Member(item, "until");
    if (v == nullptr || v->is_null()) {
      if (wants_until) return Bad(path + ".until", "required for " + duo);
    } else {
      // A date means the start of that day (UTC).
      int64_t t = 0;
      bool was_date = false;
      TILLIT_RETURN_IF_ERROR(ReadDateOrInstant(*v, path + ".until",
                                               /*instants=*/true, &t,
                                               &was_date));
      if (form == GrantForm::kNew && wants_until && t <= now) {
        return Bad(path + ".until", "must be after now");
      }
      out->until = t;
    }
  }
  if (ids_field != nullptr) {
    const json* v = Member(item, ids_field);
    const std::string ids_path = path + "." + ids_field;
    if (v == nullptr) return Bad(ids_path, "required for " + duo);
    if (*c == ConditionCode::kIS) {
      TILLIT_RETURN_IF_ERROR(ReadStringList(*v, ids_path, ReadText, &out->ids));
    } else {
      const std::string_view prefix = *c == ConditionCode::kUS ? "r_" : "s_";
      TILLIT_RETURN_IF_ERROR(ReadStringList(
          *v, ids_path,
          [prefix](const json& x, const std::string& p, std::string* o) {
            return ReadVaultId(x, p, prefix, o);
          },
          &out->ids));
    }
  }
  return Status::Ok();
}

Status ReadConditions(const json& value, Grantee::Kind kind, GrantForm form,
                      int64_t now, std::vector<Condition>* out) {
  TILLIT_RETURN_IF_ERROR(
      ReadArray(value, "conditions", kMaxConditions, /*allow_empty=*/true));
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = At("conditions", i);
    Condition c;
    TILLIT_RETURN_IF_ERROR(ReadCondition(value[i], path, form, now, &c));
    if (IsProviderKind(kind) && c.code != ConditionCode::kTS) {
      return Bad(path,
                 "provider grants take only DUO:0000025 (time limit on use)");
    }
    for (const Condition& seen : *out) {
      if (seen.code == c.code) {
        return Bad(path, "duplicate " + std::string(DuoId(c.code)) +
                             " (give each condition once)");
      }
    }
    out->push_back(std::move(c));
  }
  return Status::Ok();
}

Status ReadCategories(const json& value, CategorySet* out) {
  TILLIT_RETURN_IF_ERROR(ReadArray(value, "categories", fhir::kCategoryCount));
  CategorySet set = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    const std::optional<Category> c =
        value[i].is_string()
            ? fhir::ParseCategory(value[i].get_ref<const std::string&>())
            : std::nullopt;
    if (!c) {
      return Bad(At("categories", i),
                 "not a category (patient-summary, prescriptions, "
                 "dispensations, lab-results, vital-signs, imaging, "
                 "discharge-reports, encounters, financial, other)");
    }
    if ((set & CategoryBit(*c)) != 0) {
      return Bad(At("categories", i), "duplicate");
    }
    set |= CategoryBit(*c);
  }
  *out = set;
  return Status::Ok();
}

// data_period: dates, "end" inclusive. Stored and FHIR forms may carry
// instants instead; an instant "end" includes that second.
Status ReadPeriod(const json& value, GrantForm form, Period* out) {
  *out = Period{};
  if (value.is_null()) return Status::Ok();
  if (!value.is_object()) return Bad("data_period", "must be an object");
  TILLIT_RETURN_IF_ERROR(CheckFields(value, "data_period", {"start", "end"}));
  const bool instants = form == GrantForm::kStored;
  if (const json* s = Member(value, "start"); s != nullptr && !s->is_null()) {
    int64_t t = 0;
    bool was_date = false;
    TILLIT_RETURN_IF_ERROR(
        ReadDateOrInstant(*s, "data_period.start", instants, &t, &was_date));
    out->start = t;
  }
  if (const json* e = Member(value, "end"); e != nullptr && !e->is_null()) {
    int64_t t = 0;
    bool was_date = false;
    TILLIT_RETURN_IF_ERROR(
        ReadDateOrInstant(*e, "data_period.end", instants, &t, &was_date));
    out->end = was_date ? t + kSecondsPerDay : t + 1;
  }
  if (out->start && out->end && *out->end <= *out->start) {
    return Bad("data_period.end", "before data_period.start");
  }
  return Status::Ok();
}

bool IsFhirIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.';
}

Status ReadExcludeRecord(const json& value, const std::string& path,
                         std::string* out) {
  const auto bad = [&] {
    return Bad(path, "must be Type/id, e.g. Observation/abc-123");
  };
  if (!value.is_string()) return bad();
  const std::string& s = value.get_ref<const std::string&>();
  const size_t slash = s.find('/');
  if (slash == std::string::npos || slash == 0 || slash > 64 ||
      s.size() - slash - 1 < 1 || s.size() - slash - 1 > 64) {
    return bad();
  }
  if (s[0] < 'A' || s[0] > 'Z') return bad();
  for (size_t i = 0; i < slash; ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return bad();
  }
  for (size_t i = slash + 1; i < s.size(); ++i) {
    if (!IsFhirIdChar(s[i])) return bad();
  }
  *out = s;
  return Status::Ok();
}

Status ReadExcludes(const json& value, std::vector<Exclude>* out) {
  TILLIT_RETURN_IF_ERROR(
      ReadArray(value, "exclude", kMaxExcludes, /*allow_empty=*/true));
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = At("exclude", i);
    const json& item = value[i];
    if (!item.is_object()) return Bad(path, "must be an object");
    TILLIT_RETURN_IF_ERROR(
        CheckFields(item, path, {"category", "code", "record"}));
    Exclude ex;
    if (const json* c = Member(item, "category")) {
      const std::optional<Category> cat =
          c->is_string() ? fhir::ParseCategory(c->get_ref<const std::string&>())
                         : std::nullopt;
      if (!cat) return Bad(path + ".category", "not a category");
      ex.category = *cat;
    }
    if (const json* c = Member(item, "code")) {
      TILLIT_RETURN_IF_ERROR(ReadText(*c, path + ".code", &ex.code));
      const size_t bar = ex.code.find('|');
      if (bar == std::string::npos || bar == 0 || bar + 1 == ex.code.size()) {
        return Bad(path + ".code",
                   "must be system|code, e.g. http://snomed.info/sct|35489007");
      }
    }
    if (const json* r = Member(item, "record")) {
      TILLIT_RETURN_IF_ERROR(
          ReadExcludeRecord(*r, path + ".record", &ex.record));
    }
    if (!ex.category && ex.code.empty() && ex.record.empty()) {
      return Bad(path, "needs at least one of category, code, record");
    }
    out->push_back(std::move(ex));
  }
  return Status::Ok();
}

// ε as a JSON number (a string is refused: one form, and a JSON number
// with at most 6 decimals is read exactly).
Status ReadPrivacyBudget(const json& value, Grantee::Kind kind,
                         std::optional<int64_t>* out) {
  const std::string path = "privacy_budget";
  if (IsProviderKind(kind)) {
    return Bad(path, "only research grants take part in aggregates");
  }
  if (!value.is_number()) return Bad(path, "must be a number, such as 0.5");
  StatusOr<int64_t> micro = EpsilonFromDouble(value.get<double>());
  if (!micro.ok()) return Bad(path, micro.status().message());
  *out = *micro;
  return Status::Ok();
}

Status ReadStoredMeta(const json& value, Grant* g) {
  if (const json* id = Member(value, "id"); id != nullptr) {
    if (!id->is_string()) return Bad("id", "must be a string");
    const std::string& s = id->get_ref<const std::string&>();
    if (!s.empty() && !IsVaultId(s, "g_")) {
      return Bad("id", "must be a grant id (g_ and 32 lowercase hex digits)");
    }
    g->id = s;
  }
  const json* status = Member(value, "status");
  if (status == nullptr) return Bad("status", "required");
  if (*status == "active") {
    g->status = Grant::Status::kActive;
  } else if (*status == "revoked") {
    g->status = Grant::Status::kRevoked;
  } else {
    return Bad("status", "must be active or revoked");
  }
  const json* created = Member(value, "created");
  if (created == nullptr) return Bad("created", "required");
  TILLIT_RETURN_IF_ERROR(ReadInstant(*created, "created", &g->created_at));
  if (const json* revoked = Member(value, "revoked");
      revoked != nullptr && !revoked->is_null()) {
    int64_t t = 0;
    TILLIT_RETURN_IF_ERROR(ReadInstant(*revoked, "revoked", &t));
    g->revoked_at = t;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Grant> GrantFromJsonValue(const json& value, GrantForm form,
                                   int64_t now) {
  if (!value.is_object()) {
    return Status::InvalidArgument("grant: must be a JSON object");
  }
  const bool stored = form == GrantForm::kStored;
  // id, status, created and revoked are read from stored grants and ignored
  // in new ones (as are created_at and revoked_at).
  TILLIT_RETURN_IF_ERROR(CheckFields(
      value, "",
      {"grantee", "purposes", "conditions", "categories", "data_period",
       "expires", "include_sensitive", "privacy_budget", "exclude", "id",
       "status", "created", "revoked"},
      stored ? std::initializer_list<std::string_view>{}
             : std::initializer_list<std::string_view>{"created_at",
                                                       "revoked_at"}));

  Grant g;
  if (stored) {
    TILLIT_RETURN_IF_ERROR(ReadStoredMeta(value, &g));
  } else {
    g.created_at = now;
  }

  const json* grantee = Member(value, "grantee");
  if (grantee == nullptr) return Bad("grantee", "required");
  TILLIT_RETURN_IF_ERROR(ReadGrantee(*grantee, &g.grantee));

  const json* purposes = Member(value, "purposes");
  if (purposes == nullptr) return Bad("purposes", "required");
  TILLIT_RETURN_IF_ERROR(ReadPurposes(*purposes, g.grantee.kind, &g.purposes));

  if (const json* c = Member(value, "conditions");
      c != nullptr && !c->is_null()) {
    TILLIT_RETURN_IF_ERROR(
        ReadConditions(*c, g.grantee.kind, form, now, &g.conditions));
  }

  const json* categories = Member(value, "categories");
  if (categories == nullptr) return Bad("categories", "required");
  TILLIT_RETURN_IF_ERROR(ReadCategories(*categories, &g.categories));

  if (const json* p = Member(value, "data_period"); p != nullptr) {
    TILLIT_RETURN_IF_ERROR(ReadPeriod(*p, form, &g.data_period));
  }

  if (const json* e = Member(value, "expires"); e != nullptr && !e->is_null()) {
    int64_t t = 0;
    TILLIT_RETURN_IF_ERROR(ReadInstant(*e, "expires", &t));
    if (!stored && t <= now) return Bad("expires", "must be after now");
    g.expires = t;
  }

  if (const json* s = Member(value, "include_sensitive"); s != nullptr) {
    if (!s->is_boolean())
      return Bad("include_sensitive", "must be true or false");
    g.include_sensitive = s->get<bool>();
  }

  if (const json* b = Member(value, "privacy_budget");
      b != nullptr && !b->is_null()) {
    TILLIT_RETURN_IF_ERROR(
        ReadPrivacyBudget(*b, g.grantee.kind, &g.privacy_budget));
  }

  if (const json* x = Member(value, "exclude"); x != nullptr && !x->is_null()) {
    TILLIT_RETURN_IF_ERROR(ReadExcludes(*x, &g.excludes));
  }
  return g;
}

}  // namespace policy_internal

namespace {

// The edge of the module for nlohmann_json: the readers above never throw
// (every access is type-checked first), and this turns a missed case into
// an error value instead of an exception, without its text.
template <typename Read>
StatusOr<Grant> Guarded(std::string_view what, const Read& read) {
  try {
    return read();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument(std::string(what) + ": not understood");
  }
}

}  // namespace

StatusOr<Grant> ParseGrant(std::string_view json_text, int64_t now) {
  return Guarded("grant", [&]() -> StatusOr<Grant> {
    TILLIT_ASSIGN_OR_RETURN(nlohmann::json value,
                            policy_internal::ParseJsonText(json_text, "grant"));
    return policy_internal::GrantFromJsonValue(
        value, policy_internal::GrantForm::kNew, now);
  });
}

StatusOr<Grant> GrantFromStoredJson(std::string_view json_text) {
  return Guarded("stored grant", [&]() -> StatusOr<Grant> {
    TILLIT_ASSIGN_OR_RETURN(
        nlohmann::json value,
        policy_internal::ParseJsonText(json_text, "stored grant"));
    return policy_internal::GrantFromJsonValue(
        value, policy_internal::GrantForm::kStored, 0);
  });
}

}  // namespace tillit::consent
