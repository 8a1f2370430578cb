// FHIR R4 Consent -> Grant (docs/CONSENT.md has the mapping table).
//
// Reading checks the FHIR structure here (messages name FHIR paths),
// rewrites the Consent into the stored grant JSON form, and lets the one
// grant reader validate the content, so a Consent can never hold a grant that
// the JSON form would refuse.
//
// Reading is strict: an element that could narrow or widen a permission and
// that the grant model cannot express (provision.action, securityLabel,
// code or data on the permit, policyRule, modifierExtension, unknown tillit
// extensions) is refused rather than ignored.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir_consent_internal.h"
#include "policy_internal.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

std::string VaultIdFromFhirId(std::string id) {
  if (id.size() == 34 && id[1] == '-' &&
      id.find_first_not_of("0123456789abcdef", 2) == std::string::npos) {
    id[1] = '_';
  }
  return id;
}

using fhir_consent_internal::ActorSystem;
using fhir_consent_internal::kActorSystems;
using fhir_consent_internal::kCategorySystem;
using fhir_consent_internal::kDuoSystem;
using fhir_consent_internal::kExtCondition;
using fhir_consent_internal::kExtDisease;
using fhir_consent_internal::kExtIncludeSensitive;
using fhir_consent_internal::kExtPrivacyBudget;
using fhir_consent_internal::kExtRevokedAt;
using fhir_consent_internal::kRoleSystem;
using fhir_consent_internal::kScopeSystem;
using fhir_consent_internal::kTillitPrefix;
using nlohmann::json;
using policy_internal::FormatInstant;
using policy_internal::QuoteField;

Status Bad(const std::string& path, std::string_view what) {
  return Status::InvalidArgument(path + ": " + std::string(what));
}

std::string At(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

const json* Member(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Status CheckFields(const json& object, const std::string& path,
                   std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) return Bad(path, "must be an object");
  for (const auto& item : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == item.key();
    if (!known) {
      return Bad(path + "." + QuoteField(item.key()),
                 "not supported in a tillit grant");
    }
  }
  return Status::Ok();
}

// The string member `key`, or an error naming it.
Status StringMember(const json& object, const std::string& path,
                    std::string_view key, std::string* out) {
  const json* v = Member(object, key);
  if (v == nullptr) return Bad(path + "." + std::string(key), "required");
  if (!v->is_string()) {
    return Bad(path + "." + std::string(key), "must be a string");
  }
  *out = v->get_ref<const std::string&>();
  return Status::Ok();
}

Status ArrayMember(const json& object, const std::string& path,
                   std::string_view key, const json** out) {
  const json* v = Member(object, key);
  *out = v;
  if (v != nullptr && !v->is_array()) {
    return Bad(path + "." + std::string(key), "must be an array");
  }
  return Status::Ok();
}

// A Coding with `system`; returns its code.
Status ReadCoding(const json& coding, const std::string& path,
                  std::string_view system, std::string* code) {
  TILLIT_RETURN_IF_ERROR(CheckFields(
      coding, path, {"system", "code", "display", "version", "userSelected"}));
  std::string s;
  TILLIT_RETURN_IF_ERROR(StringMember(coding, path, "system", &s));
  if (s != system) {
    return Bad(path + ".system", "must be " + std::string(system));
  }
  return StringMember(coding, path, "code", code);
}

// An instant (or, for a FHIR dateTime, a date) -> epoch seconds.
Status ReadDateTime(const json& value, const std::string& path, int64_t* out) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (auto t = policy_internal::ParseInstant(s)) {
      *out = *t;
      return Status::Ok();
    }
    if (auto d = policy_internal::ParseDate(s)) {
      *out = *d;
      return Status::Ok();
    }
  }
  return Bad(path, "must be a date (YYYY-MM-DD) or an instant with a zone");
}

Status ReadScope(const json& consent, bool* treatment) {
  const json* scope = Member(consent, "scope");
  if (scope == nullptr) return Bad("Consent.scope", "required");
  TILLIT_RETURN_IF_ERROR(
      CheckFields(*scope, "Consent.scope", {"coding", "text"}));
  const json* coding = nullptr;
  TILLIT_RETURN_IF_ERROR(
      ArrayMember(*scope, "Consent.scope", "coding", &coding));
  if (coding != nullptr) {
    for (size_t i = 0; i < coding->size(); ++i) {
      const json& c = (*coding)[i];
      if (!c.is_object() || Member(c, "system") == nullptr ||
          *Member(c, "system") != kScopeSystem) {
        continue;
      }
      std::string code;
      TILLIT_RETURN_IF_ERROR(
          ReadCoding(c, At("Consent.scope.coding", i), kScopeSystem, &code));
      if (code == "research" || code == "treatment") {
        *treatment = code == "treatment";
        return Status::Ok();
      }
      return Bad(At("Consent.scope.coding", i) + ".code",
                 "must be research or treatment");
    }
  }
  return Bad("Consent.scope",
             "needs a consentscope coding (research or treatment)");
}

Status ReadActor(const json& provision, json* grantee) {
  const std::string path = "Consent.provision.actor";
  const json* actors = nullptr;
  TILLIT_RETURN_IF_ERROR(
      ArrayMember(provision, "Consent.provision", "actor", &actors));
  if (actors == nullptr || actors->size() != 1) {
    return Bad(path, "must name exactly one grantee");
  }
  const std::string p0 = At(path, 0);
  const json& actor = (*actors)[0];
  TILLIT_RETURN_IF_ERROR(CheckFields(actor, p0, {"role", "reference"}));
  const json* role = Member(actor, "role");
  if (role == nullptr) return Bad(p0 + ".role", "required");
  TILLIT_RETURN_IF_ERROR(CheckFields(*role, p0 + ".role", {"coding", "text"}));
  const json* role_codings = nullptr;
  TILLIT_RETURN_IF_ERROR(
      ArrayMember(*role, p0 + ".role", "coding", &role_codings));
  bool recipient = false;
  if (role_codings != nullptr) {
    for (size_t i = 0; i < role_codings->size(); ++i) {
      std::string code;
      TILLIT_RETURN_IF_ERROR(ReadCoding(
          (*role_codings)[i], At(p0 + ".role.coding", i), kRoleSystem, &code));
      recipient = recipient || code == "IRCP";
    }
  }
  if (!recipient) {
    return Bad(p0 + ".role",
               "must be IRCP (information recipient) of v3-ParticipationType");
  }
  const json* ref = Member(actor, "reference");
  if (ref == nullptr) return Bad(p0 + ".reference", "required");
  TILLIT_RETURN_IF_ERROR(
      CheckFields(*ref, p0 + ".reference", {"type", "identifier", "display"}));
  const json* id = Member(*ref, "identifier");
  if (id == nullptr) return Bad(p0 + ".reference.identifier", "required");
  TILLIT_RETURN_IF_ERROR(
      CheckFields(*id, p0 + ".reference.identifier", {"system", "value"}));
  std::string system, value;
  TILLIT_RETURN_IF_ERROR(
      StringMember(*id, p0 + ".reference.identifier", "system", &system));
  TILLIT_RETURN_IF_ERROR(
      StringMember(*id, p0 + ".reference.identifier", "value", &value));
  for (const ActorSystem& a : kActorSystems) {
    if (a.system != system) continue;
    switch (a.kind) {
      case Grantee::Kind::kAnyResearcher:
      case Grantee::Kind::kAnyProvider:
        if (value == "any-researcher" || value == "any-provider") {
          *grantee = {{"kind", value}};
          return Status::Ok();
        }
        continue;
      case Grantee::Kind::kOrganization:
        *grantee = {{"kind", "organization"}, {"name", value}};
        return Status::Ok();
      case Grantee::Kind::kResearcher:
        *grantee = {{"kind", "researcher"}, {"id", value}};
        return Status::Ok();
      case Grantee::Kind::kStudy:
        *grantee = {{"kind", "study"}, {"id", value}};
        return Status::Ok();
      case Grantee::Kind::kProvider:
        *grantee = {{"kind", "provider"}, {"id", value}};
        return Status::Ok();
    }
  }
  return Bad(p0 + ".reference.identifier",
             "not a tillit grantee (system and value)");
}

Status ReadPurposes(const json& provision, json* purposes) {
  const std::string path = "Consent.provision.purpose";
  const json* list = nullptr;
  TILLIT_RETURN_IF_ERROR(
      ArrayMember(provision, "Consent.provision", "purpose", &list));
  if (list == nullptr || list->empty()) return Bad(path, "required");
  *purposes = json::array();
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string p = At(path, i);
    const json& coding = (*list)[i];
    json without_ext = coding;
    std::optional<std::string> disease;
    if (coding.is_object()) {
      if (const json* ext = Member(coding, "extension")) {
        if (!ext->is_array()) return Bad(p + ".extension", "must be an array");
        for (size_t j = 0; j < ext->size(); ++j) {
          const std::string pe = At(p + ".extension", j);
          const json& e = (*ext)[j];
          TILLIT_RETURN_IF_ERROR(CheckFields(e, pe, {"url", "valueCode"}));
          std::string url, value;
          TILLIT_RETURN_IF_ERROR(StringMember(e, pe, "url", &url));
          if (url != kExtDisease || disease) {
            return Bad(pe, "not a tillit purpose extension");
          }
          TILLIT_RETURN_IF_ERROR(StringMember(e, pe, "valueCode", &value));
          disease = value;
        }
        without_ext.erase("extension");
      }
    }
    std::string code;
    TILLIT_RETURN_IF_ERROR(ReadCoding(without_ext, p, kDuoSystem, &code));
    if (disease) {
      purposes->push_back({{"code", code}, {"disease", *disease}});
    } else {
      purposes->push_back(code);
    }
  }
  return Status::Ok();
}

Status ReadClasses(const json& list, const std::string& path,
                   json* categories) {
  *categories = json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string code;
    TILLIT_RETURN_IF_ERROR(
        ReadCoding(list[i], At(path, i), kCategorySystem, &code));
    categories->push_back(code);
  }
  return Status::Ok();
}

Status ReadDataPeriod(const json& provision, json* period) {
  *period = {{"start", nullptr}, {"end", nullptr}};
  const json* dp = Member(provision, "dataPeriod");
  if (dp == nullptr) return Status::Ok();
  const std::string path = "Consent.provision.dataPeriod";
  TILLIT_RETURN_IF_ERROR(CheckFields(*dp, path, {"start", "end"}));
  // Passed on as written: the grant reader takes dates (end inclusive)
  // and instants (an end instant includes its second), like FHIR Period.
  for (const char* side : {"start", "end"}) {
    if (const json* v = Member(*dp, side)) {
      if (!v->is_string()) {
        return Bad(path + "." + side, "must be a date or dateTime");
      }
      (*period)[side] = *v;
    }
  }
  return Status::Ok();
}

// One nested deny provision -> one exclude.
Status ReadDeny(const json& deny, const std::string& path, json* exclude) {
  TILLIT_RETURN_IF_ERROR(
      CheckFields(deny, path, {"type", "class", "code", "data"}));
  std::string type;
  TILLIT_RETURN_IF_ERROR(StringMember(deny, path, "type", &type));
  if (type != "deny") return Bad(path + ".type", "must be deny");
  *exclude = json::object();
  const json* list = nullptr;
  TILLIT_RETURN_IF_ERROR(ArrayMember(deny, path, "class", &list));
  if (list != nullptr) {
    if (list->size() != 1) return Bad(path + ".class", "must have one entry");
    std::string code;
    TILLIT_RETURN_IF_ERROR(
        ReadCoding((*list)[0], path + ".class[0]", kCategorySystem, &code));
    (*exclude)["category"] = code;
  }
  TILLIT_RETURN_IF_ERROR(ArrayMember(deny, path, "code", &list));
  if (list != nullptr) {
    if (list->size() != 1) return Bad(path + ".code", "must have one entry");
    const std::string pc = path + ".code[0]";
    TILLIT_RETURN_IF_ERROR(CheckFields((*list)[0], pc, {"coding", "text"}));
    const json* codings = nullptr;
    TILLIT_RETURN_IF_ERROR(ArrayMember((*list)[0], pc, "coding", &codings));
    if (codings == nullptr || codings->size() != 1) {
      return Bad(pc + ".coding", "must have one entry");
    }
    const json& coding = (*codings)[0];
    TILLIT_RETURN_IF_ERROR(
        CheckFields(coding, pc + ".coding[0]", {"system", "code", "display"}));
    std::string system, code;
    TILLIT_RETURN_IF_ERROR(
        StringMember(coding, pc + ".coding[0]", "system", &system));
    TILLIT_RETURN_IF_ERROR(
        StringMember(coding, pc + ".coding[0]", "code", &code));
    (*exclude)["code"] = system + "|" + code;
  }
  TILLIT_RETURN_IF_ERROR(ArrayMember(deny, path, "data", &list));
  if (list != nullptr) {
    if (list->size() != 1) return Bad(path + ".data", "must have one entry");
    const std::string pd = path + ".data[0]";
    TILLIT_RETURN_IF_ERROR(
        CheckFields((*list)[0], pd, {"meaning", "reference"}));
    std::string meaning, reference;
    TILLIT_RETURN_IF_ERROR(StringMember((*list)[0], pd, "meaning", &meaning));
    if (meaning != "instance") return Bad(pd + ".meaning", "must be instance");
    const json* ref = Member((*list)[0], "reference");
    if (ref == nullptr) return Bad(pd + ".reference", "required");
    TILLIT_RETURN_IF_ERROR(
        CheckFields(*ref, pd + ".reference", {"reference", "display"}));
    TILLIT_RETURN_IF_ERROR(
        StringMember(*ref, pd + ".reference", "reference", &reference));
    (*exclude)["record"] = reference;
  }
  if (exclude->empty()) {
    return Bad(path, "needs at least one of class, code, data");
  }
  return Status::Ok();
}

Status ReadCondition(const json& ext, const std::string& path,
                     json* condition) {
  const json* parts = nullptr;
  TILLIT_RETURN_IF_ERROR(ArrayMember(ext, path, "extension", &parts));
  if (parts == nullptr) return Bad(path + ".extension", "required");
  *condition = json::object();
  for (size_t i = 0; i < parts->size(); ++i) {
    const std::string p = At(path + ".extension", i);
    const json& part = (*parts)[i];
    if (!part.is_object()) return Bad(p, "must be an object");
    std::string url;
    TILLIT_RETURN_IF_ERROR(StringMember(part, p, "url", &url));
    std::string value;
    if (url == "code" || url == "country") {
      TILLIT_RETURN_IF_ERROR(CheckFields(part, p, {"url", "valueCode"}));
      TILLIT_RETURN_IF_ERROR(StringMember(part, p, "valueCode", &value));
    } else if (url == "until") {
      TILLIT_RETURN_IF_ERROR(CheckFields(part, p, {"url", "valueDateTime"}));
      TILLIT_RETURN_IF_ERROR(StringMember(part, p, "valueDateTime", &value));
    } else if (url == "researcher" || url == "study" || url == "institution") {
      TILLIT_RETURN_IF_ERROR(CheckFields(part, p, {"url", "valueString"}));
      TILLIT_RETURN_IF_ERROR(StringMember(part, p, "valueString", &value));
    } else {
      return Bad(p + ".url", "not a part of a tillit condition");
    }
    if (url == "code" || url == "until") {
      if (condition->contains(url)) return Bad(p, "given twice");
      (*condition)[url] = value;
    } else {
      const std::string list = url == "country"      ? "countries"
                               : url == "researcher" ? "researchers"
                               : url == "study"      ? "studies"
                                                     : "institutions";
      (*condition)[list].push_back(value);
    }
  }
  if (!condition->contains("code")) return Bad(path, "needs a code part");
  return Status::Ok();
}

Status ReadProvisionExtensions(const json& provision, json* grant) {
  const std::string path = "Consent.provision.extension";
  const json* list = nullptr;
  TILLIT_RETURN_IF_ERROR(
      ArrayMember(provision, "Consent.provision", "extension", &list));
  (*grant)["conditions"] = json::array();
  if (list == nullptr) return Status::Ok();
  bool have_sensitive = false;
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string p = At(path, i);
    const json& ext = (*list)[i];
    if (!ext.is_object()) return Bad(p, "must be an object");
    std::string url;
    TILLIT_RETURN_IF_ERROR(StringMember(ext, p, "url", &url));
    if (url == kExtIncludeSensitive) {
      TILLIT_RETURN_IF_ERROR(CheckFields(ext, p, {"url", "valueBoolean"}));
      const json* v = Member(ext, "valueBoolean");
      if (v == nullptr || !v->is_boolean()) {
        return Bad(p + ".valueBoolean", "required, true or false");
      }
      if (have_sensitive) return Bad(p, "given twice");
      have_sensitive = true;
      (*grant)["include_sensitive"] = v->get<bool>();
    } else if (url == kExtPrivacyBudget) {
      // Passed on as the number it is; the grant reader checks its range
      // and that the grantee is a research one.
      TILLIT_RETURN_IF_ERROR(CheckFields(ext, p, {"url", "valueDecimal"}));
      const json* v = Member(ext, "valueDecimal");
      if (v == nullptr || !v->is_number()) {
        return Bad(p + ".valueDecimal", "required, a number (ε)");
      }
      if (grant->contains("privacy_budget")) return Bad(p, "given twice");
      (*grant)["privacy_budget"] = *v;
    } else if (url == kExtCondition) {
      TILLIT_RETURN_IF_ERROR(CheckFields(ext, p, {"url", "extension"}));
      json condition;
      TILLIT_RETURN_IF_ERROR(ReadCondition(ext, p, &condition));
      (*grant)["conditions"].push_back(std::move(condition));
    } else {
      // Any other extension here could change what the permit means.
      return Bad(p + ".url", "not an extension a tillit grant understands");
    }
  }
  return Status::Ok();
}

Status ReadProvision(const json& consent, json* grant) {
  const json* provision = Member(consent, "provision");
  if (provision == nullptr) return Bad("Consent.provision", "required");
  const std::string path = "Consent.provision";
  TILLIT_RETURN_IF_ERROR(
      CheckFields(*provision, path,
                  {"id", "type", "period", "actor", "purpose", "class",
                   "dataPeriod", "provision", "extension"}));
  std::string type;
  TILLIT_RETURN_IF_ERROR(StringMember(*provision, path, "type", &type));
  if (type != "permit") return Bad(path + ".type", "must be permit");

  (*grant)["expires"] = nullptr;
  if (const json* period = Member(*provision, "period")) {
    TILLIT_RETURN_IF_ERROR(CheckFields(*period, path + ".period", {"end"}));
    if (const json* end = Member(*period, "end")) {
      int64_t t = 0;
      TILLIT_RETURN_IF_ERROR(ReadDateTime(*end, path + ".period.end", &t));
      (*grant)["expires"] = FormatInstant(t);
    }
  }

  json grantee;
  TILLIT_RETURN_IF_ERROR(ReadActor(*provision, &grantee));
  (*grant)["grantee"] = std::move(grantee);

  json purposes;
  TILLIT_RETURN_IF_ERROR(ReadPurposes(*provision, &purposes));
  (*grant)["purposes"] = std::move(purposes);

  const json* classes = nullptr;
  TILLIT_RETURN_IF_ERROR(ArrayMember(*provision, path, "class", &classes));
  if (classes == nullptr) return Bad(path + ".class", "required");
  json categories;
  TILLIT_RETURN_IF_ERROR(ReadClasses(*classes, path + ".class", &categories));
  (*grant)["categories"] = std::move(categories);

  json period;
  TILLIT_RETURN_IF_ERROR(ReadDataPeriod(*provision, &period));
  (*grant)["data_period"] = std::move(period);

  (*grant)["exclude"] = json::array();
  const json* denies = nullptr;
  TILLIT_RETURN_IF_ERROR(ArrayMember(*provision, path, "provision", &denies));
  if (denies != nullptr) {
    for (size_t i = 0; i < denies->size(); ++i) {
      json exclude;
      TILLIT_RETURN_IF_ERROR(
          ReadDeny((*denies)[i], At(path + ".provision", i), &exclude));
      (*grant)["exclude"].push_back(std::move(exclude));
    }
  }
  return ReadProvisionExtensions(*provision, grant);
}

Status ReadRootExtensions(const json& consent, json* grant) {
  const json* list = nullptr;
  TILLIT_RETURN_IF_ERROR(ArrayMember(consent, "Consent", "extension", &list));
  if (list == nullptr) return Status::Ok();
  for (size_t i = 0; i < list->size(); ++i) {
    const std::string p = At("Consent.extension", i);
    const json& ext = (*list)[i];
    if (!ext.is_object()) return Bad(p, "must be an object");
    std::string url;
    TILLIT_RETURN_IF_ERROR(StringMember(ext, p, "url", &url));
    if (url == kExtRevokedAt) {
      TILLIT_RETURN_IF_ERROR(CheckFields(ext, p, {"url", "valueInstant"}));
      if (grant->contains("revoked")) return Bad(p, "given twice");
      const json* v = Member(ext, "valueInstant");
      if (v == nullptr) return Bad(p + ".valueInstant", "required");
      int64_t t = 0;
      TILLIT_RETURN_IF_ERROR(ReadDateTime(*v, p + ".valueInstant", &t));
      (*grant)["revoked"] = FormatInstant(t);
    } else if (url.compare(0, kTillitPrefix.size(), kTillitPrefix) == 0) {
      return Bad(p + ".url", "not an extension a tillit grant understands");
    }
    // Extensions of other publishers do not change a Consent's meaning
    // (that would be a modifierExtension, which is refused).
  }
  return Status::Ok();
}

StatusOr<Grant> ReadConsent(const json& consent) {
  TILLIT_RETURN_IF_ERROR(CheckFields(
      consent, "Consent",
      {"resourceType", "id", "meta", "text", "language", "identifier",
       "extension", "status", "scope", "category", "patient", "dateTime",
       "performer", "organization", "sourceAttachment", "sourceReference",
       "policy", "verification", "provision"}));
  std::string s;
  TILLIT_RETURN_IF_ERROR(StringMember(consent, "Consent", "resourceType", &s));
  if (s != "Consent") return Bad("Consent.resourceType", "must be Consent");

  json grant = json::object();
  grant["id"] = "";
  if (Member(consent, "id") != nullptr) {
    TILLIT_RETURN_IF_ERROR(StringMember(consent, "Consent", "id", &s));
    grant["id"] = VaultIdFromFhirId(s);
  }
  TILLIT_RETURN_IF_ERROR(StringMember(consent, "Consent", "status", &s));
  if (s == "active") {
    grant["status"] = "active";
  } else if (s == "inactive") {
    grant["status"] = "revoked";
  } else {
    return Bad("Consent.status", "must be active or inactive");
  }

  bool treatment = false;
  TILLIT_RETURN_IF_ERROR(ReadScope(consent, &treatment));

  const json* patient = Member(consent, "patient");
  if (patient == nullptr) return Bad("Consent.patient", "required");
  TILLIT_RETURN_IF_ERROR(
      CheckFields(*patient, "Consent.patient", {"reference", "display"}));
  TILLIT_RETURN_IF_ERROR(
      StringMember(*patient, "Consent.patient", "reference", &s));
  if (s.size() <= 8 || s.compare(0, 8, "Patient/") != 0) {
    return Bad("Consent.patient.reference", "must be Patient/<id>");
  }

  const json* created = Member(consent, "dateTime");
  if (created == nullptr) return Bad("Consent.dateTime", "required");
  int64_t t = 0;
  TILLIT_RETURN_IF_ERROR(ReadDateTime(*created, "Consent.dateTime", &t));
  grant["created"] = FormatInstant(t);

  for (const char* list : {"category", "policy", "identifier", "performer"}) {
    const json* unused = nullptr;
    TILLIT_RETURN_IF_ERROR(ArrayMember(consent, "Consent", list, &unused));
  }
  TILLIT_RETURN_IF_ERROR(ReadRootExtensions(consent, &grant));
  TILLIT_RETURN_IF_ERROR(ReadProvision(consent, &grant));

  const bool provider_grantee = grant["grantee"]["kind"] == "provider" ||
                                grant["grantee"]["kind"] == "any-provider";
  if (treatment != provider_grantee) {
    return Bad("Consent.scope",
               treatment ? "treatment is for provider grantees"
                         : "research is for researcher, organization and "
                           "study grantees");
  }
  StatusOr<Grant> g = policy_internal::GrantFromJsonValue(
      grant, policy_internal::GrantForm::kStored, 0);
  if (!g.ok()) return g.status().WithContext("Consent as a grant");
  return g;
}

}  // namespace

StatusOr<Grant> GrantFromFhirConsent(std::string_view json_text) {
  // The readers never throw (every access is type-checked first); the catch
  // turns a missed case into an error value, without the exception's text.
  try {
    TILLIT_ASSIGN_OR_RETURN(
        json consent, policy_internal::ParseJsonText(json_text, "Consent"));
    if (!consent.is_object()) {
      return Status::InvalidArgument("Consent: must be a JSON object");
    }
    return ReadConsent(consent);
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument("Consent: not understood");
  }
}

}  // namespace tillit::consent
