// Grant -> FHIR R4 Consent (docs/CONSENT.md has the mapping table).
//
// Writing builds the Consent directly; fhir_consent_read.cc reads it back.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "fhir_consent_internal.h"
#include "policy_internal.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

// Vault ids ("g_…", "c_…") contain '_', which FHIR ids ([A-Za-z0-9\-\.])
// do not allow; in FHIR they are written with '-' ("g-…") and read back.
std::string FhirIdFromVaultId(std::string id) {
  if (id.size() > 2 && id[1] == '_') id[1] = '-';
  return id;
}

using fhir_consent_internal::ActorSystem;
using fhir_consent_internal::kActorSystems;
using fhir_consent_internal::kCategorySystem;
using fhir_consent_internal::kDuoPolicy;
using fhir_consent_internal::kDuoSystem;
using fhir_consent_internal::kExtCondition;
using fhir_consent_internal::kExtDisease;
using fhir_consent_internal::kExtIncludeSensitive;
using fhir_consent_internal::kExtPrivacyBudget;
using fhir_consent_internal::kExtRevokedAt;
using fhir_consent_internal::kLoinc;
using fhir_consent_internal::kRoleSystem;
using fhir_consent_internal::kScopeSystem;
using fhir_consent_internal::kTillitPolicy;
using nlohmann::ordered_json;
using policy_internal::EpsilonJson;
using policy_internal::FormatDate;
using policy_internal::FormatInstant;
using policy_internal::IsDayStart;
using policy_internal::kSecondsPerDay;

std::string_view PurposeDisplay(Purpose p) {
  switch (p) {
    case Purpose::kGRU:
      return "general research use";
    case Purpose::kHMB:
      return "health or medical or biomedical research";
    case Purpose::kDS:
      return "disease specific research";
    case Purpose::kPOA:
      return "population origins or ancestry research only";
    case Purpose::kCC:
      return "clinical care use";
  }
  return "";
}

bool IsProviderKind(Grantee::Kind k) {
  return k == Grantee::Kind::kProvider || k == Grantee::Kind::kAnyProvider;
}

ordered_json CategoryCoding(Category c) {
  return {{"system", kCategorySystem},
          {"code", std::string(fhir::CategoryName(c))}};
}

ordered_json ActorReference(const Grantee& g) {
  for (const ActorSystem& a : kActorSystems) {
    if (a.kind != g.kind) continue;
    std::string value;
    switch (g.kind) {
      case Grantee::Kind::kAnyResearcher:
        value = "any-researcher";
        break;
      case Grantee::Kind::kAnyProvider:
        value = "any-provider";
        break;
      case Grantee::Kind::kOrganization:
        value = g.name;
        break;
      default:
        value = g.id;
        break;
    }
    ordered_json ref = ordered_json::object();
    if (!a.type.empty()) ref["type"] = a.type;
    ref["identifier"] = {{"system", a.system}, {"value", value}};
    return ref;
  }
  return ordered_json::object();
}

ordered_json ConditionExtension(const Condition& c) {
  ordered_json parts = ordered_json::array();
  parts.push_back({{"url", "code"}, {"valueCode", std::string(DuoId(c.code))}});
  switch (c.code) {
    case ConditionCode::kGS:
      for (const std::string& country : c.countries) {
        parts.push_back({{"url", "country"}, {"valueCode", country}});
      }
      break;
    case ConditionCode::kTS:
    case ConditionCode::kMOR:
      if (c.until) {
        parts.push_back(
            {{"url", "until"}, {"valueDateTime", FormatInstant(*c.until)}});
      }
      break;
    case ConditionCode::kUS:
    case ConditionCode::kPS:
    case ConditionCode::kIS: {
      const char* url = c.code == ConditionCode::kUS   ? "researcher"
                        : c.code == ConditionCode::kPS ? "study"
                                                       : "institution";
      for (const std::string& id : c.ids) {
        parts.push_back({{"url", url}, {"valueString", id}});
      }
      break;
    }
    default:
      break;
  }
  return {{"url", kExtCondition}, {"extension", std::move(parts)}};
}

}  // namespace

std::string GrantToFhirConsent(const Grant& grant,
                               std::string_view citizen_id) {
  ordered_json c = ordered_json::object();
  c["resourceType"] = "Consent";
  if (!grant.id.empty()) c["id"] = FhirIdFromVaultId(grant.id);
  if (grant.revoked_at) {
    c["extension"] = ordered_json::array(
        {{{"url", kExtRevokedAt},
          {"valueInstant", FormatInstant(*grant.revoked_at)}}});
  }
  c["status"] = grant.status == Grant::Status::kActive ? "active" : "inactive";
  const bool provider = IsProviderKind(grant.grantee.kind);
  c["scope"] = {
      {"coding",
       ordered_json::array({{{"system", kScopeSystem},
                             {"code", provider ? "treatment" : "research"}}})}};
  c["category"] = ordered_json::array(
      {{{"coding", ordered_json::array({{{"system", kLoinc},
                                         {"code", "59284-0"},
                                         {"display", "Consent Document"}}})}}});
  c["patient"] = {
      {"reference", "Patient/" + FhirIdFromVaultId(std::string(citizen_id))}};
  c["dateTime"] = FormatInstant(grant.created_at);
  c["policy"] = ordered_json::array(
      {{{"authority", "https://tillit.health"}, {"uri", kTillitPolicy}},
       {{"authority", kDuoSystem}, {"uri", kDuoPolicy}}});

  ordered_json p = ordered_json::object();
  ordered_json ext = ordered_json::array();
  ext.push_back({{"url", kExtIncludeSensitive},
                 {"valueBoolean", grant.include_sensitive}});
  if (grant.privacy_budget) {
    ext.push_back({{"url", kExtPrivacyBudget},
                   {"valueDecimal", EpsilonJson(*grant.privacy_budget)}});
  }
  for (const Condition& cond : grant.conditions) {
    ext.push_back(ConditionExtension(cond));
  }
  p["extension"] = std::move(ext);
  p["type"] = "permit";
  if (grant.expires) p["period"] = {{"end", FormatInstant(*grant.expires)}};
  p["actor"] = ordered_json::array(
      {{{"role",
         {{"coding",
           ordered_json::array({{{"system", kRoleSystem},
                                 {"code", "IRCP"},
                                 {"display", "information recipient"}}})}}},
        {"reference", ActorReference(grant.grantee)}}});

  ordered_json purposes = ordered_json::array();
  for (const PurposeSpec& ps : grant.purposes) {
    ordered_json coding = ordered_json::object();
    if (!ps.disease.empty()) {
      coding["extension"] = ordered_json::array(
          {{{"url", kExtDisease}, {"valueCode", ps.disease}}});
    }
    coding["system"] = kDuoSystem;
    coding["code"] = std::string(DuoId(ps.purpose));
    coding["display"] = PurposeDisplay(ps.purpose);
    purposes.push_back(std::move(coding));
  }
  p["purpose"] = std::move(purposes);

  ordered_json classes = ordered_json::array();
  for (Category cat : fhir::AllCategories()) {
    if ((grant.categories & CategoryBit(cat)) != 0) {
      classes.push_back(CategoryCoding(cat));
    }
  }
  p["class"] = std::move(classes);

  if (grant.data_period.start || grant.data_period.end) {
    ordered_json dp = ordered_json::object();
    if (grant.data_period.start) {
      const int64_t s = *grant.data_period.start;
      dp["start"] = IsDayStart(s) ? FormatDate(s) : FormatInstant(s);
    }
    if (grant.data_period.end) {
      // FHIR Period.end is inclusive: the last day, or the last second.
      const int64_t e = *grant.data_period.end;
      dp["end"] =
          IsDayStart(e) ? FormatDate(e - kSecondsPerDay) : FormatInstant(e - 1);
    }
    p["dataPeriod"] = std::move(dp);
  }

  if (!grant.excludes.empty()) {
    ordered_json denies = ordered_json::array();
    for (const Exclude& x : grant.excludes) {
      ordered_json d = ordered_json::object();
      d["type"] = "deny";
      if (x.category) {
        d["class"] = ordered_json::array({CategoryCoding(*x.category)});
      }
      if (!x.code.empty()) {
        const size_t bar = x.code.find('|');
        const std::string system =
            bar == std::string::npos ? std::string() : x.code.substr(0, bar);
        const std::string code =
            bar == std::string::npos ? x.code : x.code.substr(bar + 1);
        d["code"] = ordered_json::array(
            {{{"coding",
               ordered_json::array({{{"system", system}, {"code", code}}})}}});
      }
      if (!x.record.empty()) {
        d["data"] =
            ordered_json::array({{{"meaning", "instance"},
                                  {"reference", {{"reference", x.record}}}}});
      }
      denies.push_back(std::move(d));
    }
    p["provision"] = std::move(denies);
  }
  c["provision"] = std::move(p);
  return c.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace tillit::consent
