#include "fhir_members.h"

#include <unordered_map>

#include "fhir_classify.h"

namespace tillit::fhir::fhir_internal {
namespace {

const std::unordered_map<std::string_view, Key>& KeyIndex() {
  static const auto* const index = [] {
    auto* built = new std::unordered_map<std::string_view, Key>;
    for (int k = 0; k < kKeyCount; ++k) {
      built->emplace(kKeyNames[static_cast<size_t>(k)], static_cast<Key>(k));
    }
    return built;
  }();
  return *index;
}

}  // namespace

Status NotA(const FieldPath& path, std::string_view what) {
  return Status::InvalidArgument(path.ToString() + " is not " +
                                 std::string(what));
}

Status Twice(const FieldPath& path) {
  return Status::InvalidArgument(path.ToString() + " occurs twice");
}

Status FindMember(object obj, const FieldPath& path, std::string_view key,
                  std::optional<element>* out) {
  out->reset();
  for (const auto& field : obj) {
    if (field.key == key) {
      if (out->has_value()) return Twice(path.Member(key));
      *out = field.value;
    }
  }
  return Status::Ok();
}

Status FindString(object obj, const FieldPath& path, std::string_view key,
                  std::optional<std::string_view>* out) {
  out->reset();
  std::optional<element> value;
  TILLIT_RETURN_IF_ERROR(FindMember(obj, path, key, &value));
  if (!value) return Status::Ok();
  std::string_view text;
  if (value->get_string().get(text) != SUCCESS) {
    return NotA(path.Member(key), "a string");
  }
  *out = text;
  return Status::Ok();
}

Status CollectMembers(object resource, const FieldPath& path, Members* out) {
  const auto& index = KeyIndex();
  for (const auto& field : resource) {
    const auto it = index.find(field.key);
    if (it == index.end()) continue;
    std::optional<element>& slot = out->value[it->second];
    if (slot.has_value()) return Twice(path.Member(field.key));
    slot = field.value;
  }
  return Status::Ok();
}

Status FindUniqueMember(object obj, std::string_view where,
                        std::string_view key, std::optional<element>* out) {
  return FindMember(obj, FieldPath(where), key, out);
}

}  // namespace tillit::fhir::fhir_internal
