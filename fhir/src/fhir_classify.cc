#include "fhir_classify.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "fhir_members.h"
#include "sensitive_codes.h"

namespace tillit::fhir::fhir_internal {
namespace {

constexpr std::string_view kV2Table0074[] = {
    "http://terminology.hl7.org/CodeSystem/v2-0074",
    "http://hl7.org/fhir/v2/0074"};
constexpr std::string_view kConfidentiality[] = {
    "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
    "http://hl7.org/fhir/v3/Confidentiality"};

// HL7 v2 table 0074 (diagnostic service section) codes of laboratory and
// imaging sections.
constexpr std::string_view kLabSections[] = {
    "LAB", "BG",  "BLB", "CG",  "CH",  "CP", "GE", "HLA", "HM",  "IMM",
    "MB",  "MCB", "MYC", "OSL", "PAT", "SP", "SR", "TX",  "URN", "VR"};
constexpr std::string_view kImagingSections[] = {
    "RAD", "CT",  "CUS", "IMG", "MR",  "NMR", "NMS",
    "OUS", "RUS", "RX",  "US",  "VUS", "XRC"};
// LOINC "Radiology" part code, used as DiagnosticReport.category by US Core.
constexpr std::string_view kLoincRadiology = "LP29684-5";
// LOINC document types of discharge summaries.
constexpr std::string_view kDischargeSummaryLoinc[] = {
    "18842-5", "11490-0", "28655-9", "59258-4", "34105-7", "34106-5"};

template <size_t N>
bool OneOf(std::string_view value, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), value) != std::end(set);
}

// ---------------------------------------------------------------------------
// Per-type rules (SPEC section 3 and the FHIR R4 element definitions).

enum class CategoryRule {
  kFixed,             // TypeRule::category
  kObservation,       // from Observation.category
  kDiagnosticReport,  // from DiagnosticReport.category
  kClinicalDocument,  // discharge summary by type, else other
};

// The JSON shape FHIR R4 gives the type's `category` element.
enum class CategoryShape {
  kUnchecked,     // the type has no category the vault reads
  kConceptArray,  // 0..* CodeableConcept
  kConcept,       // 0..1 CodeableConcept
  kStringArray,   // 0..* code (AllergyIntolerance)
};

enum class DateKind { kDate, kDateTime, kInstant };

struct DateSource {
  Key key;
  bool period;  // the value is a Period: its `start` is the date
  DateKind kind;
};

struct TypeRule {
  std::string_view type;
  CategoryRule rule;
  Category category;
  CategoryShape category_shape;
  bool code_is_concept;  // `code` is a CodeableConcept in this type
  std::array<DateSource, 4> dates;
  size_t date_count;
};

constexpr DateKind kDt = DateKind::kDateTime;
constexpr DateKind kInst = DateKind::kInstant;
constexpr DateSource D(Key k, DateKind kind = kDt) { return {k, false, kind}; }
constexpr DateSource P(Key k) { return {k, true, kDt}; }

using enum CategoryRule;
using enum CategoryShape;
using enum Category;

// Sorted by type name (binary search).
constexpr TypeRule kTypeRules[] = {
    {"AllergyIntolerance",
     kFixed,
     kPatientSummary,
     kStringArray,
     true,
     {D(kOnsetDateTime), D(kRecordedDate)},
     2},
    {"CarePlan", kFixed, kEncounters, kConceptArray, false, {P(kPeriod)}, 1},
    {"CareTeam", kFixed, kEncounters, kConceptArray, false, {P(kPeriod)}, 1},
    {"Claim",
     kFixed,
     kFinancial,
     kUnchecked,
     false,
     {P(kBillablePeriod), D(kCreated)},
     2},
    {"Composition",
     kClinicalDocument,
     kOther,
     kConceptArray,
     false,
     {D(kDate)},
     1},
    {"Condition",
     kFixed,
     kPatientSummary,
     kConceptArray,
     true,
     {D(kOnsetDateTime), P(kOnsetPeriod), D(kRecordedDate)},
     3},
    {"Coverage", kFixed, kFinancial, kUnchecked, false, {P(kPeriod)}, 1},
    {"Device", kFixed, kPatientSummary, kUnchecked, false, {}, 0},
    {"DiagnosticReport",
     kDiagnosticReport,
     kOther,
     kConceptArray,
     true,
     {D(kEffectiveDateTime), P(kEffectivePeriod), D(kIssued, kInst)},
     3},
    {"DocumentReference",
     kClinicalDocument,
     kOther,
     kConceptArray,
     false,
     {D(kDate, kInst)},
     1},
    {"Encounter", kFixed, kEncounters, kUnchecked, false, {P(kPeriod)}, 1},
    {"ExplanationOfBenefit",
     kFixed,
     kFinancial,
     kUnchecked,
     false,
     {P(kBillablePeriod), D(kCreated)},
     2},
    {"Goal",
     kFixed,
     kEncounters,
     kConceptArray,
     false,
     {D(kStartDate, DateKind::kDate)},
     1},
    {"ImagingStudy", kFixed, kImaging, kUnchecked, false, {D(kStarted)}, 1},
    {"Immunization",
     kFixed,
     kPatientSummary,
     kUnchecked,
     false,
     {D(kOccurrenceDateTime), D(kRecorded)},
     2},
    {"Media", kFixed, kImaging, kUnchecked, false, {D(kCreatedDateTime)}, 1},
    {"MedicationDispense",
     kFixed,
     kDispensations,
     kConcept,
     false,
     {D(kWhenHandedOver), D(kWhenPrepared)},
     2},
    {"MedicationRequest",
     kFixed,
     kPrescriptions,
     kConceptArray,
     false,
     {D(kAuthoredOn)},
     1},
    {"MedicationStatement",
     kFixed,
     kPatientSummary,
     kConcept,
     false,
     {D(kEffectiveDateTime), P(kEffectivePeriod), D(kDateAsserted)},
     3},
    {"Observation",
     kObservation,
     kVitalSigns,
     kConceptArray,
     true,
     {D(kEffectiveDateTime), P(kEffectivePeriod), D(kEffectiveInstant, kInst),
      D(kIssued, kInst)},
     4},
    {"Patient", kFixed, kPatientSummary, kUnchecked, false, {}, 0},
    {"Procedure",
     kFixed,
     kPatientSummary,
     kConcept,
     true,
     {D(kPerformedDateTime), P(kPerformedPeriod)},
     2},
};

constexpr bool RulesSorted() {
  for (size_t i = 1; i < std::size(kTypeRules); ++i) {
    if (!(kTypeRules[i - 1].type < kTypeRules[i].type)) return false;
  }
  return true;
}
static_assert(RulesSorted(), "kTypeRules must be sorted by type");

// nullptr: a type without its own rule (category other, date from
// meta.lastUpdated).
const TypeRule* FindTypeRule(std::string_view type) {
  const auto* end = std::end(kTypeRules);
  const auto* it = std::lower_bound(
      std::begin(kTypeRules), end, type,
      [](const TypeRule& rule, std::string_view t) { return rule.type < t; });
  return it != end && it->type == type ? it : nullptr;
}

std::string_view DateKindName(DateKind kind) {
  switch (kind) {
    case DateKind::kDate:
      return "date";
    case DateKind::kDateTime:
      return "dateTime";
    case DateKind::kInstant:
      return "instant";
  }
  return "dateTime";
}

Status ParseDate(std::string_view text, const FieldPath& path, DateKind kind,
                 std::optional<int64_t>* out) {
  StatusOr<int64_t> seconds = ParseFhirDateTime(text);
  if (!seconds.ok()) {
    return Status::InvalidArgument(
        path.ToString() + " " + QuoteDateForMessage(text) +
        " is not a valid FHIR " + std::string(DateKindName(kind)));
  }
  *out = *seconds;
  return Status::Ok();
}

// The first date source present gives the effective date; it must parse.
Status FindEffective(const TypeRule& rule, const Members& members,
                     const FieldPath& path, std::optional<int64_t>* out) {
  for (size_t i = 0; i < rule.date_count; ++i) {
    const DateSource& source = rule.dates[i];
    const std::optional<element>& value = members[source.key];
    if (!value) continue;
    const FieldPath field = path.Member(kKeyNames[source.key]);
    if (!source.period) {
      std::string_view text;
      if (value->get_string().get(text) != SUCCESS) {
        return NotA(field, "a string");
      }
      return ParseDate(text, field, source.kind, out);
    }
    object period;
    if (value->get_object().get(period) != SUCCESS) {
      return NotA(field, "a JSON object (Period)");
    }
    std::optional<std::string_view> start;
    TILLIT_RETURN_IF_ERROR(FindString(period, field, "start", &start));
    if (!start) continue;
    return ParseDate(*start, field.Member("start"), source.kind, out);
  }
  return Status::Ok();
}

// meta.security (sensitivity labels R and V) and meta.lastUpdated.
Status ReadMeta(const std::optional<element>& meta, const FieldPath& path,
                bool* restricted, std::optional<std::string_view>* updated) {
  if (!meta) return Status::Ok();
  const FieldPath meta_path = path.Member("meta");
  object obj;
  if (meta->get_object().get(obj) != SUCCESS) {
    return NotA(meta_path, "a JSON object");
  }
  TILLIT_RETURN_IF_ERROR(FindString(obj, meta_path, "lastUpdated", updated));
  std::optional<element> security;
  TILLIT_RETURN_IF_ERROR(FindMember(obj, meta_path, "security", &security));
  if (!security) return Status::Ok();
  const FieldPath security_path = meta_path.Member("security");
  array labels;
  if (security->get_array().get(labels) != SUCCESS) {
    return NotA(security_path, "an array");
  }
  auto visit = [restricted](std::string_view system, std::string_view code,
                            bool has_system) {
    if ((code == "R" || code == "V") &&
        (!has_system || OneOf(system, kConfidentiality))) {
      *restricted = true;
    }
  };
  size_t i = 0;
  for (element label : labels) {
    TILLIT_RETURN_IF_ERROR(VisitCoding(label, security_path.Item(i++), visit));
  }
  return Status::Ok();
}

Status CheckCategoryShape(CategoryShape shape,
                          const std::optional<element>& category,
                          const FieldPath& path) {
  if (!category) return Status::Ok();
  const FieldPath field = path.Member("category");
  auto ignore = [](std::string_view, std::string_view, bool) {};
  switch (shape) {
    case kUnchecked:
      return Status::Ok();
    case kConceptArray:
      return VisitConceptArray(*category, field, ignore);
    case kConcept:
      return VisitConcept(*category, field, ignore);
    case kStringArray: {
      array items;
      if (category->get_array().get(items) != SUCCESS) {
        return NotA(field, "an array");
      }
      size_t i = 0;
      for (element item : items) {
        if (!item.is_string()) return NotA(field.Item(i), "a string");
        ++i;
      }
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ObservationCategory(const std::optional<element>& category,
                           const FieldPath& path, Category* out) {
  bool lab = false, imaging = false;
  auto visit = [&](std::string_view, std::string_view code, bool) {
    if (code == "laboratory") lab = true;
    if (code == "imaging") imaging = true;
  };
  if (category) {
    TILLIT_RETURN_IF_ERROR(
        VisitConceptArray(*category, path.Member("category"), visit));
  }
  *out = lab ? kLabResults : imaging ? kImaging : kVitalSigns;
  return Status::Ok();
}

Status DiagnosticReportCategory(const std::optional<element>& category,
                                const FieldPath& path, Category* out) {
  bool lab = false, imaging = false;
  auto visit = [&](std::string_view system, std::string_view code,
                   bool has_system) {
    const bool section = !has_system || OneOf(system, kV2Table0074);
    if (code == "laboratory" || (section && OneOf(code, kLabSections))) {
      lab = true;
    }
    if (code == "imaging" || (section && OneOf(code, kImagingSections)) ||
        (system == kLoincSystem && code == kLoincRadiology)) {
      imaging = true;
    }
  };
  if (category) {
    TILLIT_RETURN_IF_ERROR(
        VisitConceptArray(*category, path.Member("category"), visit));
  }
  *out = lab ? kLabResults : imaging ? kImaging : kOther;
  return Status::Ok();
}

Status ClinicalDocumentCategory(const std::optional<element>& type,
                                const FieldPath& path, Category* out) {
  bool discharge = false;
  auto visit = [&](std::string_view system, std::string_view code, bool) {
    if (system == kLoincSystem && OneOf(code, kDischargeSummaryLoinc)) {
      discharge = true;
    }
  };
  if (type) {
    TILLIT_RETURN_IF_ERROR(VisitConcept(*type, path.Member("type"), visit));
  }
  *out = discharge ? kDischargeReports : kOther;
  return Status::Ok();
}

// The clinical codes of a record (code, reasonCode[], valueCodeableConcept,
// vaccineCode, medicationCodeableConcept): collected as "system|code" into
// *codes (the first kMaxRecordCodes, without duplicates; consent excludes
// match on them) and checked against the sensitive-code list.
constexpr size_t kMaxRecordCodes = 64;

Status ReadClinicalCodes(const Members& members, bool code_is_concept,
                         const FieldPath& path, bool* sensitive,
                         std::vector<std::string>* codes) {
  auto visit = [sensitive, codes](std::string_view system,
                                  std::string_view code, bool) {
    if (!*sensitive && FindSensitiveCode(system, code) != nullptr) {
      *sensitive = true;
    }
    if (codes->size() < kMaxRecordCodes && !code.empty()) {
      std::string joined;
      joined.reserve(system.size() + 1 + code.size());
      joined.append(system).append("|").append(code);
      if (std::find(codes->begin(), codes->end(), joined) == codes->end()) {
        codes->push_back(std::move(joined));
      }
    }
  };
  // In most types `code` is a CodeableConcept; in the few where it is
  // something else (a code string, a list of Codings) it is not read.
  const std::optional<element>& code = members[kCode];
  if (code && (code_is_concept || code->is_object())) {
    TILLIT_RETURN_IF_ERROR(VisitConcept(*code, path.Member("code"), visit));
  }
  if (members[kReasonCode]) {
    TILLIT_RETURN_IF_ERROR(VisitConceptArray(*members[kReasonCode],
                                             path.Member("reasonCode"), visit));
  }
  for (Key key :
       {kValueCodeableConcept, kVaccineCode, kMedicationCodeableConcept}) {
    if (members[key]) {
      TILLIT_RETURN_IF_ERROR(
          VisitConcept(*members[key], path.Member(kKeyNames[key]), visit));
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsValidFhirId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool IsValidResourceType(std::string_view type) {
  if (type.size() < 2 || type.size() > 64) return false;
  if (type[0] < 'A' || type[0] > 'Z') return false;
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  }
  return true;
}

bool ParseUrnUuid(std::string_view full_url, std::string_view* uuid) {
  constexpr std::string_view kPrefix = "urn:uuid:";
  if (!full_url.starts_with(kPrefix)) return false;
  const std::string_view rest = full_url.substr(kPrefix.size());
  if (rest.size() != 36) return false;
  for (size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                 (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  *uuid = rest;
  return true;
}

Status ClassifyResource(object resource, std::string_view fallback_id,
                        ParsedResource* out, bool* id_from_fallback) {
  *id_from_fallback = false;
  Members members;
  TILLIT_RETURN_IF_ERROR(
      CollectMembers(resource, FieldPath("resource"), &members));

  // resourceType
  std::string_view type;
  if (!members[kResourceType]) {
    return Status::InvalidArgument("missing resourceType");
  }
  if (members[kResourceType]->get_string().get(type) != SUCCESS) {
    return Status::InvalidArgument("resourceType is not a string");
  }
  if (!IsValidResourceType(type)) {
    return Status::InvalidArgument(
        "resourceType is not a FHIR resource type name ([A-Z][A-Za-z]{1,63})");
  }
  if (type == "Bundle") {
    return Status::InvalidArgument(
        "a Bundle is not a record: nested Bundles are not accepted");
  }
  const FieldPath path(type);

  // id
  std::string_view id;
  if (members[kId]) {
    if (members[kId]->get_string().get(id) != SUCCESS) {
      return NotA(path.Member("id"), "a string");
    }
    if (!IsValidFhirId(id)) {
      return Status::InvalidArgument(path.ToString() +
                                     ".id is not a valid FHIR id "
                                     "([A-Za-z0-9-.]{1,64})");
    }
  } else if (!fallback_id.empty()) {
    id = fallback_id;
    *id_from_fallback = true;
  } else {
    return Status::InvalidArgument("missing " + path.ToString() +
                                   ".id (and no urn:uuid fullUrl to take "
                                   "it from)");
  }

  const TypeRule* rule = FindTypeRule(type);

  // Sensitivity: labels, then codes.
  bool sensitive = false;
  std::optional<std::string_view> last_updated;
  TILLIT_RETURN_IF_ERROR(
      ReadMeta(members[kMeta], path, &sensitive, &last_updated));
  out->codes.clear();
  TILLIT_RETURN_IF_ERROR(
      ReadClinicalCodes(members, rule != nullptr && rule->code_is_concept, path,
                        &sensitive, &out->codes));

  // Category.
  Category category = kOther;
  std::optional<int64_t> effective;
  if (rule == nullptr) {
    if (last_updated) {
      TILLIT_RETURN_IF_ERROR(
          ParseDate(*last_updated, path.Member("meta").Member("lastUpdated"),
                    kInst, &effective));
    }
  } else {
    switch (rule->rule) {
      case kFixed:
        TILLIT_RETURN_IF_ERROR(
            CheckCategoryShape(rule->category_shape, members[kCategory], path));
        category = rule->category;
        break;
      case kObservation:
        TILLIT_RETURN_IF_ERROR(
            ObservationCategory(members[kCategory], path, &category));
        break;
      case kDiagnosticReport:
        TILLIT_RETURN_IF_ERROR(
            DiagnosticReportCategory(members[kCategory], path, &category));
        break;
      case kClinicalDocument:
        TILLIT_RETURN_IF_ERROR(
            CheckCategoryShape(rule->category_shape, members[kCategory], path));
        TILLIT_RETURN_IF_ERROR(
            ClinicalDocumentCategory(members[kType], path, &category));
        break;
    }
    TILLIT_RETURN_IF_ERROR(FindEffective(*rule, members, path, &effective));
  }

  out->type.assign(type);
  out->id.assign(id);
  out->category = category;
  out->effective = effective;
  out->sensitive = sensitive;
  return Status::Ok();
}

}  // namespace tillit::fhir::fhir_internal
