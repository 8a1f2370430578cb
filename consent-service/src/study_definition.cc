#include "tillit/consent_service/study_definition.h"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>

#include "json_fields.h"
#include "tillit/fhir/fhir.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using service_internal::CategoryListJson;
using service_internal::ParseCategoryList;
using service_internal::ParseObject;
using service_internal::RejectUnknown;

constexpr int64_t kDay = 24 * 3600;

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
  return {{"start", p.start ? json(FormatIsoDate(*p.start)) : json(nullptr)},
          {"end", p.end ? json(FormatIsoDate(*p.end - kDay)) : json(nullptr)}};
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

StatusOr<CohortCriteria> ParseCohortCriteria(std::string_view text) {
  Status error;
  json j = ParseObject(text, "criteria", &error);
  TILLIT_RETURN_IF_ERROR(error);
  TILLIT_RETURN_IF_ERROR(
      RejectUnknown(j, {"conditions", "age", "sex"}, "criteria."));
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

}  // namespace tillit::consent
