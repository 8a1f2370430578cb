// De-identification of released FHIR resources. One recursive copy of the
// resource keeps what the rules below allow; nothing is copied and then
// deleted. The rules, per member name, apply at every depth (contained
// resources included), so a type the code has never seen is still
// minimised. docs/RELEASE_FORMAT.md lists the result per resource type.
#include "tillit/research/deidentify.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "tillit/fhir/search.h"

namespace tillit::research {
namespace {

using json = nlohmann::json;

// Pseudo-types, outside the resource type alphabet ([A-Z][A-Za-z]*), for
// the other strings the release hashes.
constexpr std::string_view kContainedType = "#";          // contained ids
constexpr std::string_view kUnresolvedType = "urn:uuid";  // urn:uuid refs
constexpr std::string_view kDicomUidType = "uid";         // ImagingStudy uids

// The tag SPEC §3 puts on records the citizen entered; the one tag kept.
constexpr std::string_view kSourceTagSystem = "https://tillit.health/source";

constexpr std::string_view kBirthSexUrl =
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex";
constexpr std::string_view kRaceUrl =
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race";
constexpr std::string_view kEthnicityUrl =
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity";

bool IsResourceType(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'A' || s[0] > 'Z') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

// "8-4-4-4-12" of a 32-character pseudonym.
std::string UuidForm(std::string_view hex) {
  std::string out;
  out.reserve(36);
  out.append(hex.substr(0, 8)).append("-").append(hex.substr(8, 4));
  out.append("-").append(hex.substr(12, 4)).append("-");
  out.append(hex.substr(16, 4)).append("-").append(hex.substr(20, 12));
  return out;
}

// "2.25.<decimal>" (a UUID-derived DICOM UID) of a 32-character pseudonym.
std::string DicomUidForm(std::string_view hex) {
  std::array<uint8_t, kPseudonymSize> value{};
  const auto nibble = [](char c) {
    return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  };
  for (size_t i = 0; i < value.size(); ++i) {
    value[i] =
        static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  std::string digits;
  for (;;) {
    bool zero = true;
    uint32_t remainder = 0;
    for (uint8_t& byte : value) {
      const uint32_t current = remainder * 256 + byte;
      byte = static_cast<uint8_t>(current / 10);
      remainder = current % 10;
      zero = zero && byte == 0;
    }
    digits.push_back(static_cast<char>('0' + remainder));
    if (zero) break;
  }
  std::reverse(digits.begin(), digits.end());
  return "2.25." + digits;
}

// The year of a FHIR date / dateTime, or nullopt when it does not start
// with four digits.
std::optional<json> YearOf(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.size() < 4 ||
      !std::all_of(text.begin(), text.begin() + 4,
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return json(text.substr(0, 4));
}

// Whether `value` is the string `s`.
bool IsString(const json& value, std::string_view s) {
  return value.is_string() && value.get_ref<const std::string&>() == s;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.substr(s.size() - suffix.size()) == suffix;
}

// What happens to a member, by its name, at any depth.
enum class Rule {
  kCopy,        // kept; objects and arrays are scrubbed recursively
  kRemove,      // identifying datatypes, free text, device / lot numbers
  kText,        // CodeableConcept.text kept; Narrative and Dosage.text not
  kStringFree,  // removed when a string (free text), else kCopy
  kDisplay,     // Coding.display kept; Reference.display removed
  kReference,   // Reference.reference rewritten
  kAddress,     // only country kept
  kYear,        // a date cut to its year
  kBirthOrder,  // multipleBirthInteger -> multipleBirthBoolean: true
  kExtension,   // allow-list
  kMeta,        // profile and the tillit source tag
  kUid,         // DICOM UID pseudonym
  kAttachment,  // only contentType, language, creation
  kDosage,      // Dosage: its text and patientInstruction removed
  kContained,   // handled by Scrubber::Resource only
};

Rule RuleFor(const std::string& key) {
  static const std::unordered_map<std::string_view, Rule> kRules = {
      {"id", Rule::kRemove},  // an element id (any string)
      {"identifier", Rule::kRemove},
      {"name", Rule::kRemove},
      {"telecom", Rule::kRemove},
      {"photo", Rule::kRemove},
      {"contact", Rule::kRemove},
      {"alias", Rule::kRemove},
      {"note", Rule::kRemove},
      {"comment", Rule::kRemove},
      {"patientInstruction", Rule::kRemove},
      {"presentedForm", Rule::kRemove},
      {"conclusion", Rule::kRemove},
      {"valueString", Rule::kRemove},
      {"valueMarkdown", Rule::kRemove},
      {"valueHumanName", Rule::kRemove},
      {"valueContactPoint", Rule::kRemove},
      {"valueSignature", Rule::kRemove},
      {"modifierExtension", Rule::kRemove},
      {"implicitRules", Rule::kRemove},
      {"position", Rule::kRemove},
      {"udiCarrier", Rule::kRemove},
      {"serialNumber", Rule::kRemove},
      {"lotNumber", Rule::kRemove},
      {"accession", Rule::kRemove},
      {"div", Rule::kRemove},
      {"text", Rule::kText},
      {"description", Rule::kStringFree},
      {"title", Rule::kStringFree},
      {"display", Rule::kDisplay},
      {"reference", Rule::kReference},
      {"address", Rule::kAddress},
      {"valueAddress", Rule::kAddress},
      {"locationAddress", Rule::kAddress},
      {"birthDate", Rule::kYear},
      {"deceasedDateTime", Rule::kYear},
      {"multipleBirthInteger", Rule::kBirthOrder},
      {"extension", Rule::kExtension},
      {"meta", Rule::kMeta},
      {"uid", Rule::kUid},
      {"attachment", Rule::kAttachment},
      {"contentAttachment", Rule::kAttachment},
      {"valueAttachment", Rule::kAttachment},
      {"dosageInstruction", Rule::kDosage},
      {"dosage", Rule::kDosage},
      {"contained", Rule::kContained},
  };
  const auto it = kRules.find(key);
  if (it != kRules.end()) return it->second;
  // Primitive extensions ("_birthDate") and every kind of identifier
  // (masterIdentifier, accessionIdentifier, valueIdentifier, ...).
  if (key.empty() || key[0] == '_' || EndsWith(key, "Identifier")) {
    return Rule::kRemove;
  }
  return Rule::kCopy;
}

class Scrubber {
 public:
  Scrubber(std::string_view citizen_id, std::string_view patient_id,
           const Pseudonymiser& pseudonyms)
      : citizen_id_(citizen_id),
        patient_id_(patient_id),
        pseudonyms_(pseudonyms) {}

  // A resource (top-level or contained) minimised; InvalidArgument when
  // `in` is not an object with a valid resourceType and a string id.
  StatusOr<json> Resource(const json& in, bool contained) const {
    if (!in.is_object()) {
      return Status::InvalidArgument("resource is not a JSON object");
    }
    const auto type_it = in.find("resourceType");
    if (type_it == in.end() || !type_it->is_string() ||
        !IsResourceType(type_it->get_ref<const std::string&>())) {
      return Status::InvalidArgument("resource has no valid resourceType");
    }
    const std::string& type = type_it->get_ref<const std::string&>();
    json out = json::object();
    for (auto it = in.begin(); it != in.end(); ++it) {
      const std::string& key = it.key();
      const json& value = it.value();
      if (key == "resourceType") {
        out.emplace(key, value);
      } else if (key == "id") {
        if (!value.is_string()) {
          return Status::InvalidArgument("resource id is not a string");
        }
        const std::string& id = value.get_ref<const std::string&>();
        if (contained) {
          out.emplace(key,
                      pseudonyms_.Resource(citizen_id_, kContainedType, id));
        } else if (type == "Patient" && !patient_id_.empty() &&
                   id == patient_id_) {
          out.emplace(key, pseudonyms_.Citizen(citizen_id_));
        } else {
          out.emplace(key, pseudonyms_.Resource(citizen_id_, type, id));
        }
      } else if (key == "text") {
        // Narrative: removed.
      } else if (key == "meta") {
        if (std::optional<json> meta = Meta(value)) {
          out.emplace(key, std::move(*meta));
        }
      } else if (key == "contained") {
        if (!value.is_array()) continue;
        json kept = json::array();
        for (const json& c : value) {
          StatusOr<json> r = Resource(c, true);
          if (r.ok()) kept.push_back(std::move(r).value());
        }
        if (!kept.empty()) out.emplace(key, std::move(kept));
      } else if (type == "Media" && key == "content") {
        if (std::optional<json> a = Attachment(value)) {
          out.emplace(key, std::move(*a));
        }
      } else {
        Member(in, key, value, false, out);
      }
    }
    return out;
  }

 private:
  // Copies `in`'s members that the rules keep. `dosage`: `in` is a Dosage,
  // whose `text` is free-text instructions.
  std::optional<json> Object(const json& in, bool dosage = false) const {
    json out = json::object();
    for (auto it = in.begin(); it != in.end(); ++it) {
      Member(in, it.key(), it.value(), dosage, out);
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  // Any other value: objects and arrays recursively, empty results removed.
  std::optional<json> Value(const json& in) const {
    if (in.is_object()) return Object(in);
    if (in.is_array()) {
      json out = json::array();
      for (const json& v : in) {
        if (std::optional<json> kept = Value(v)) {
          out.push_back(std::move(*kept));
        }
      }
      if (out.empty()) return std::nullopt;
      return out;
    }
    if (in.is_null()) return std::nullopt;
    return in;
  }

  // Applies `fn` (json -> optional<json>) to a value or to each element of
  // an array of values.
  template <typename Fn>
  static std::optional<json> Each(const json& in, Fn fn) {
    if (!in.is_array()) return fn(in);
    json out = json::array();
    for (const json& v : in) {
      if (std::optional<json> kept = fn(v)) out.push_back(std::move(*kept));
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  void Member(const json& parent, const std::string& key, const json& value,
              bool dosage, json& out) const {
    std::optional<json> kept;
    switch (RuleFor(key)) {
      case Rule::kCopy:
        kept = Value(value);
        break;
      case Rule::kRemove:
      case Rule::kContained:  // only resources have them; see Resource()
        return;
      case Rule::kText:
        // A string is CodeableConcept.text (kept) or Dosage.text (free
        // text); an object is a Narrative.
        if (value.is_string() && !dosage) kept = value;
        break;
      case Rule::kStringFree:
        // Goal.description is a CodeableConcept; strings are free text.
        if (!value.is_string()) kept = Value(value);
        break;
      case Rule::kDisplay:
        // Coding.display is terminology; a Reference's display names
        // people and organisations.
        if (parent.contains("code") || parent.contains("system")) {
          kept = value;
        }
        break;
      case Rule::kReference:
        if (value.is_string()) {
          kept = Reference(value.get_ref<const std::string&>(), parent);
        }
        break;
      case Rule::kAddress:
        kept = Each(value, [](const json& a) -> std::optional<json> {
          if (!a.is_object()) return std::nullopt;
          const auto country = a.find("country");
          if (country == a.end() || !country->is_string()) {
            return std::nullopt;
          }
          return json{{"country", *country}};
        });
        break;
      case Rule::kYear:
        kept = YearOf(value);
        break;
      case Rule::kBirthOrder:
        // The birth order is rare enough to identify; "multiple" stays.
        if (value.is_number()) out.emplace("multipleBirthBoolean", true);
        return;
      case Rule::kExtension:
        kept = Each(value, [this](const json& e) { return Extension(e); });
        break;
      case Rule::kMeta:
        kept = Meta(value);
        break;
      case Rule::kUid:
        if (value.is_string()) {
          kept = DicomUidForm(pseudonyms_.Resource(
              citizen_id_, kDicomUidType, value.get_ref<const std::string&>()));
        }
        break;
      case Rule::kAttachment:
        kept = Attachment(value);
        break;
      case Rule::kDosage:
        kept = Each(value, [this](const json& d) -> std::optional<json> {
          if (!d.is_object()) return std::nullopt;
          return Object(d, true);
        });
        break;
    }
    if (kept) out.emplace(key, std::move(*kept));
  }

  // The rewritten Reference.reference, or nullopt to remove it.
  std::optional<json> Reference(std::string_view ref,
                                const json& parent) const {
    if (ref.empty()) return std::nullopt;
    if (ref[0] == '#') {
      if (ref.size() == 1) return json("#");  // the containing resource
      // Appended, not `"#" + …`: GCC 12 at -O3 warns falsely (-Wrestrict,
      // its bug 105329) about prepending to a temporary string.
      std::string local = "#";
      local += pseudonyms_.Resource(citizen_id_, kContainedType, ref.substr(1));
      return json(std::move(local));
    }
    if (ref.starts_with("urn:uuid:")) {
      // Not resolved at import (outside the bundle): a stable pseudonym in
      // the same form, so equal targets stay equal.
      return json("urn:uuid:" + UuidForm(pseudonyms_.Resource(
                                    citizen_id_, kUnresolvedType, ref)));
    }
    if (const size_t query = ref.find('?'); query != std::string_view::npos) {
      // Conditional ("Practitioner?identifier=system|value"): the type
      // stays, the whole criterion is hashed.
      const std::string_view type = ref.substr(0, query);
      if (!IsResourceType(type)) return std::nullopt;
      return json(std::string(type) + "/" +
                  pseudonyms_.Resource(citizen_id_, type, ref));
    }
    std::string_view path = ref;
    if (const size_t history = path.find("/_history/");
        history != std::string_view::npos) {
      path = path.substr(0, history);  // versions are not released
    }
    const size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return Typed(ref, parent);
    const std::string_view id = path.substr(slash + 1);
    const std::string_view head = path.substr(0, slash);
    const size_t before = head.rfind('/');
    const std::string_view type =
        before == std::string_view::npos ? head : head.substr(before + 1);
    if (!IsResourceType(type) || !fhir::IsFhirId(id)) return Typed(ref, parent);
    if (before != std::string_view::npos) {
      // Absolute URL of another server: the whole URL is hashed.
      return json(std::string(type) + "/" +
                  pseudonyms_.Resource(citizen_id_, type, path));
    }
    if (type == "Patient" && !patient_id_.empty() && id == patient_id_) {
      return json("Patient/" + pseudonyms_.Citizen(citizen_id_));
    }
    return json(std::string(type) + "/" +
                pseudonyms_.Resource(citizen_id_, type, id));
  }

  // A reference of another form (urn:oid:, a logical name): hashed under
  // Reference.type when the parent names a type, removed otherwise.
  std::optional<json> Typed(std::string_view ref, const json& parent) const {
    const auto type_it = parent.find("type");
    if (type_it == parent.end() || !type_it->is_string()) return std::nullopt;
    std::string_view type = type_it->get_ref<const std::string&>();
    if (const size_t slash = type.rfind('/'); slash != std::string_view::npos) {
      type = type.substr(slash + 1);  // "http://hl7.org/fhir/.../Patient"
    }
    if (!IsResourceType(type)) return std::nullopt;
    return json(std::string(type) + "/" +
                pseudonyms_.Resource(citizen_id_, type, ref));
  }

  // meta keeps profile and the tillit source tag (system and code).
  static std::optional<json> Meta(const json& in) {
    if (!in.is_object()) return std::nullopt;
    json out = json::object();
    if (const auto profile = in.find("profile");
        profile != in.end() && profile->is_array()) {
      json kept = json::array();
      for (const json& p : *profile) {
        if (p.is_string()) kept.push_back(p);
      }
      if (!kept.empty()) out.emplace("profile", std::move(kept));
    }
    if (const auto tags = in.find("tag");
        tags != in.end() && tags->is_array()) {
      json kept = json::array();
      for (const json& t : *tags) {
        if (!t.is_object()) continue;
        const auto system = t.find("system");
        const auto code = t.find("code");
        if (system != t.end() && IsString(*system, kSourceTagSystem) &&
            code != t.end() && code->is_string()) {
          kept.push_back(json{{"system", *system}, {"code", *code}});
        }
      }
      if (!kept.empty()) out.emplace("tag", std::move(kept));
    }
    if (out.empty()) return std::nullopt;
    return out;
  }

  // Extensions are kept only from an allow-list: US Core birth sex, and the
  // codes (not the text) of US Core race and ethnicity.
  std::optional<json> Extension(const json& in) const {
    if (!in.is_object()) return std::nullopt;
    const auto url = in.find("url");
    if (url == in.end() || !url->is_string()) return std::nullopt;
    if (IsString(*url, kBirthSexUrl)) {
      const auto code = in.find("valueCode");
      if (code == in.end() || !code->is_string()) return std::nullopt;
      return json{{"url", *url}, {"valueCode", *code}};
    }
    if (!IsString(*url, kRaceUrl) && !IsString(*url, kEthnicityUrl)) {
      return std::nullopt;
    }
    const auto parts = in.find("extension");
    if (parts == in.end() || !parts->is_array()) return std::nullopt;
    json kept = json::array();
    for (const json& part : *parts) {
      if (!part.is_object()) continue;
      const auto part_url = part.find("url");
      const auto coding = part.find("valueCoding");
      if (part_url == part.end() || coding == part.end() ||
          !coding->is_object() ||
          (!IsString(*part_url, "ombCategory") &&
           !IsString(*part_url, "detailed"))) {
        continue;
      }
      if (std::optional<json> c = Object(*coding)) {
        kept.push_back(
            json{{"url", *part_url}, {"valueCoding", std::move(*c)}});
      }
    }
    if (kept.empty()) return std::nullopt;
    return json{{"url", *url}, {"extension", std::move(kept)}};
  }

  // Attachment (or an array of them): only contentType, language and
  // creation; the content (data, url), its hash, size and title go.
  static std::optional<json> Attachment(const json& in) {
    return Each(in, [](const json& a) -> std::optional<json> {
      if (!a.is_object()) return std::nullopt;
      json out = json::object();
      for (const char* key : {"contentType", "language", "creation"}) {
        const auto it = a.find(key);
        if (it != a.end() && it->is_string()) out.emplace(key, *it);
      }
      if (out.empty()) return std::nullopt;
      return out;
    });
  }

  std::string_view citizen_id_;
  std::string_view patient_id_;
  const Pseudonymiser& pseudonyms_;
};

}  // namespace

StatusOr<nlohmann::json> Deidentify(const nlohmann::json& resource,
                                    std::string_view citizen_id,
                                    std::string_view patient_id,
                                    const Pseudonymiser& pseudonyms) {
  return Scrubber(citizen_id, patient_id, pseudonyms).Resource(resource, false);
}

}  // namespace tillit::research
