// Internal to the FHIR import: the JSON reading the classifier shares. A
// FieldPath names a field for error messages; FindMember/FindString read one
// member and refuse duplicates; the Visit* templates walk Codings and
// CodeableConcepts; CollectMembers finds, in one pass, the top-level members
// the classifier reads (Key, kKeyNames).
//
// Thread-safety: stateless functions; a FieldPath is a stack value that
// points at its parent and must not outlive it.
#ifndef TILLIT_FHIR_SRC_FHIR_MEMBERS_H_
#define TILLIT_FHIR_SRC_FHIR_MEMBERS_H_

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tillit/base/status.h"

namespace tillit::fhir::fhir_internal {

using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

// Where a field is, for messages: "Condition.reasonCode[1].coding". Lives on
// the stack and becomes text only when there is an error.
class FieldPath {
 public:
  explicit FieldPath(std::string_view root) : name_(root) {}
  FieldPath Member(std::string_view name) const {
    return FieldPath(this, name, kNoIndex);
  }
  FieldPath Item(size_t index) const { return FieldPath(this, {}, index); }
  std::string ToString() const {
    std::string out = parent_ != nullptr ? parent_->ToString() : std::string();
    if (index_ != kNoIndex) {
      out += '[' + std::to_string(index_) + ']';
    } else {
      if (parent_ != nullptr) out += '.';
      out += name_;
    }
    return out;
  }

 private:
  static constexpr size_t kNoIndex = SIZE_MAX;
  FieldPath(const FieldPath* parent, std::string_view name, size_t index)
      : parent_(parent), name_(name), index_(index) {}

  const FieldPath* parent_ = nullptr;
  std::string_view name_;
  size_t index_ = kNoIndex;
};

// InvalidArgument "<path> is not <what>".
Status NotA(const FieldPath& path, std::string_view what);

// InvalidArgument "<path> occurs twice".
Status Twice(const FieldPath& path);

// Member `key` of `obj` (nullopt when absent). A member that occurs twice is
// an error: other readers might take the other value.
Status FindMember(object obj, const FieldPath& path, std::string_view key,
                  std::optional<element>* out);

// Like FindMember; a member that is not a string is an error.
Status FindString(object obj, const FieldPath& path, std::string_view key,
                  std::optional<std::string_view>* out);

// Calls visit(system, code, has_system) for the Coding `coding`.
template <typename Visit>
Status VisitCoding(element coding, const FieldPath& path, Visit& visit) {
  object obj;
  if (coding.get_object().get(obj) != SUCCESS) {
    return NotA(path, "a JSON object (Coding)");
  }
  std::optional<std::string_view> system, code;
  TILLIT_RETURN_IF_ERROR(FindString(obj, path, "system", &system));
  TILLIT_RETURN_IF_ERROR(FindString(obj, path, "code", &code));
  visit(system.value_or(std::string_view()), code.value_or(std::string_view()),
        system.has_value());
  return Status::Ok();
}

// Calls visit(system, code, has_system) for each Coding of the
// CodeableConcept `value`.
template <typename Visit>
Status VisitConcept(element value, const FieldPath& path, Visit& visit) {
  object obj;
  if (value.get_object().get(obj) != SUCCESS) {
    return NotA(path, "a JSON object (CodeableConcept)");
  }
  std::optional<element> coding;
  TILLIT_RETURN_IF_ERROR(FindMember(obj, path, "coding", &coding));
  if (!coding) return Status::Ok();
  const FieldPath coding_path = path.Member("coding");
  array codings;
  if (coding->get_array().get(codings) != SUCCESS) {
    return NotA(coding_path, "an array");
  }
  size_t i = 0;
  for (element item : codings) {
    TILLIT_RETURN_IF_ERROR(VisitCoding(item, coding_path.Item(i++), visit));
  }
  return Status::Ok();
}

// Each CodeableConcept of the array `concepts`.
template <typename Visit>
Status VisitConceptArray(element concepts, const FieldPath& path,
                         Visit& visit) {
  array items;
  if (concepts.get_array().get(items) != SUCCESS) {
    return NotA(path, "an array");
  }
  size_t i = 0;
  for (element item : items) {
    TILLIT_RETURN_IF_ERROR(VisitConcept(item, path.Item(i++), visit));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The top-level members the classifier reads, found in one pass.

enum Key : int {
  kResourceType,
  kId,
  kMeta,
  kCategory,
  kCode,
  kReasonCode,
  kValueCodeableConcept,
  kVaccineCode,
  kMedicationCodeableConcept,
  kType,
  // Date sources.
  kEffectiveDateTime,
  kEffectivePeriod,
  kEffectiveInstant,
  kIssued,
  kOnsetDateTime,
  kOnsetPeriod,
  kRecordedDate,
  kPeriod,
  kPerformedDateTime,
  kPerformedPeriod,
  kAuthoredOn,
  kWhenHandedOver,
  kWhenPrepared,
  kDateAsserted,
  kOccurrenceDateTime,
  kRecorded,
  kStarted,
  kStartDate,
  kBillablePeriod,
  kCreated,
  kDate,
  kCreatedDateTime,
  kKeyCount,
};

inline constexpr std::array<std::string_view, kKeyCount> kKeyNames = {
    "resourceType",
    "id",
    "meta",
    "category",
    "code",
    "reasonCode",
    "valueCodeableConcept",
    "vaccineCode",
    "medicationCodeableConcept",
    "type",
    "effectiveDateTime",
    "effectivePeriod",
    "effectiveInstant",
    "issued",
    "onsetDateTime",
    "onsetPeriod",
    "recordedDate",
    "period",
    "performedDateTime",
    "performedPeriod",
    "authoredOn",
    "whenHandedOver",
    "whenPrepared",
    "dateAsserted",
    "occurrenceDateTime",
    "recorded",
    "started",
    "startDate",
    "billablePeriod",
    "created",
    "date",
    "createdDateTime",
};

struct Members {
  std::array<std::optional<element>, kKeyCount> value;
  const std::optional<element>& operator[](Key k) const { return value[k]; }
};

// Fills *out with the members of `resource` named in kKeyNames; a member
// that occurs twice is an error.
Status CollectMembers(object resource, const FieldPath& path, Members* out);

}  // namespace tillit::fhir::fhir_internal

#endif  // TILLIT_FHIR_SRC_FHIR_MEMBERS_H_
