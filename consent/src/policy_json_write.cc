// The grant JSON form of SPEC §4: the one writer (stored and index forms).
// policy_json_read.cc holds the validating reader.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "policy_internal.h"
#include "tillit/consent/epsilon.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace policy_internal {
namespace {

using nlohmann::ordered_json;

ordered_json InstantOrNull(const std::optional<int64_t>& t) {
  return t ? ordered_json(FormatInstant(*t)) : ordered_json(nullptr);
}

}  // namespace

ordered_json EpsilonJson(int64_t micro) {
  if (micro % kMicroPerEpsilon == 0) {
    return ordered_json(micro / kMicroPerEpsilon);
  }
  return ordered_json(EpsilonToDouble(micro));
}

ordered_json GrantToJsonValue(const Grant& g, bool with_excludes) {
  ordered_json out = ordered_json::object();
  out["id"] = g.id;
  out["status"] = g.status == Grant::Status::kRevoked ? "revoked" : "active";
  out["created"] = FormatInstant(g.created_at);
  if (g.revoked_at) out["revoked"] = FormatInstant(*g.revoked_at);

  ordered_json grantee = {{"kind", std::string(KindToName(g.grantee.kind))}};
  switch (g.grantee.kind) {
    case Grantee::Kind::kResearcher:
    case Grantee::Kind::kStudy:
    case Grantee::Kind::kProvider:
      grantee["id"] = g.grantee.id;
      break;
    case Grantee::Kind::kOrganization:
      grantee["name"] = g.grantee.name;
      break;
    default:
      break;
  }
  out["grantee"] = std::move(grantee);

  ordered_json purposes = ordered_json::array();
  for (const PurposeSpec& p : g.purposes) {
    if (p.purpose == Purpose::kDS || !p.disease.empty()) {
      purposes.push_back(
          {{"code", std::string(DuoId(p.purpose))}, {"disease", p.disease}});
    } else {
      purposes.push_back(std::string(DuoId(p.purpose)));
    }
  }
  out["purposes"] = std::move(purposes);

  ordered_json conditions = ordered_json::array();
  for (const Condition& c : g.conditions) {
    ordered_json item = {{"code", std::string(DuoId(c.code))}};
    switch (c.code) {
      case ConditionCode::kGS:
        item["countries"] = c.countries;
        break;
      case ConditionCode::kTS:
      case ConditionCode::kMOR:
        if (c.until) item["until"] = FormatInstant(*c.until);
        break;
      case ConditionCode::kUS:
        item["researchers"] = c.ids;
        break;
      case ConditionCode::kPS:
        item["studies"] = c.ids;
        break;
      case ConditionCode::kIS:
        item["institutions"] = c.ids;
        break;
      default:
        break;
    }
    conditions.push_back(std::move(item));
  }
  out["conditions"] = std::move(conditions);

  ordered_json categories = ordered_json::array();
  for (Category c : fhir::AllCategories()) {
    if ((g.categories & CategoryBit(c)) != 0) {
      categories.push_back(std::string(fhir::CategoryName(c)));
    }
  }
  out["categories"] = std::move(categories);

  ordered_json period = {{"start", nullptr}, {"end", nullptr}};
  if (g.data_period.start) {
    const int64_t s = *g.data_period.start;
    period["start"] = IsDayStart(s) ? FormatDate(s) : FormatInstant(s);
  }
  if (g.data_period.end) {
    const int64_t e = *g.data_period.end;
    period["end"] =
        IsDayStart(e) ? FormatDate(e - kSecondsPerDay) : FormatInstant(e - 1);
  }
  out["data_period"] = std::move(period);
  out["expires"] = InstantOrNull(g.expires);
  out["include_sensitive"] = g.include_sensitive;
  if (g.privacy_budget) out["privacy_budget"] = EpsilonJson(*g.privacy_budget);

  if (with_excludes) {
    ordered_json excludes = ordered_json::array();
    for (const Exclude& x : g.excludes) {
      ordered_json item = ordered_json::object();
      if (x.category)
        item["category"] = std::string(fhir::CategoryName(*x.category));
      if (!x.code.empty()) item["code"] = x.code;
      if (!x.record.empty()) item["record"] = x.record;
      excludes.push_back(std::move(item));
    }
    out["exclude"] = std::move(excludes);
  }
  return out;
}

}  // namespace policy_internal

std::string GrantToJson(const Grant& grant) {
  return policy_internal::DumpJson(
      policy_internal::GrantToJsonValue(grant, /*with_excludes=*/true));
}

std::string GrantIndexJson(const Grant& grant) {
  return policy_internal::DumpJson(
      policy_internal::GrantToJsonValue(grant, /*with_excludes=*/false));
}

}  // namespace tillit::consent
