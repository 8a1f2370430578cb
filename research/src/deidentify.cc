// De-identification of released FHIR resources. simdjson parses the stored
// record and one recursive walk writes what the rules below allow straight
// into the output text; nothing is copied and then deleted. The rules, per
// member name, apply at every depth (contained resources included), so a
// type the code has never seen is still minimised.
// docs/RELEASE_FORMAT.md lists the result per resource type.
//
// The output is the JSON nlohmann_json would write for the same result:
// members in byte order of their names (the last of duplicate names wins,
// as in its parser), strings escaped as it escapes them, numbers in its
// shortest round-trip form, so a release does not depend on which of the
// two wrote it.
#include "tillit/research/deidentify.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tillit/fhir/search.h"

namespace tillit::research {
namespace {

using json = nlohmann::json;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

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

Rule RuleFor(std::string_view key) {
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

// Parser buffers larger than this are released after the record instead
// of being kept for the thread's next one (records are usually a few KB).
constexpr size_t kKeptParserCapacity = 4u << 20;

// The calling thread's parser, reused so that its buffers are allocated
// once.
simdjson::dom::parser& ThreadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Parses one stored record; the element is valid until the thread's next
// parse.
StatusOr<element> Parse(std::string_view text) {
  simdjson::dom::parser& parser = ThreadParser();
  element root;
  const simdjson::error_code error =
      parser.parse(text.data(), text.size(), true).get(root);
  if (error == simdjson::DEPTH_ERROR) {
    return Status::InvalidArgument("resource is nested too deeply to release");
  }
  if (error != simdjson::SUCCESS) {
    return Status::InvalidArgument(std::string("resource is not valid JSON: ") +
                                   simdjson::error_message(error));
  }
  return root;
}

void ReleaseLargeParserBuffers() {
  simdjson::dom::parser& parser = ThreadParser();
  if (parser.capacity() > kKeptParserCapacity) {
    parser = simdjson::dom::parser();
  }
}

bool IsString(element e) { return e.type() == element_type::STRING; }

std::string_view StringOf(element e) { return e.get_string().value_unsafe(); }

// Whether `e` is the string `s`.
bool IsString(element e, std::string_view s) {
  return IsString(e) && StringOf(e) == s;
}

// The value of the last member named `key` (the one nlohmann_json's parser
// keeps), or nullopt.
std::optional<element> Find(object in, std::string_view key) {
  std::optional<element> found;
  for (const simdjson::dom::key_value_pair member : in) {
    if (member.key == key) found = member.value;
  }
  return found;
}

// The year of a FHIR date / dateTime, or nullopt when it does not start
// with four digits.
std::optional<std::string_view> YearOf(element value) {
  if (!IsString(value)) return std::nullopt;
  const std::string_view text = StringOf(value);
  if (text.size() < 4 ||
      !std::all_of(text.begin(), text.begin() + 4,
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return text.substr(0, 4);
}

// A member of an input object. `name` is what it is written as: its own
// name but for multipleBirthInteger, which becomes multipleBirthBoolean.
struct Member {
  std::string_view name;
  std::string_view key;
  element value;
};

std::string_view OutputName(std::string_view key) {
  return key == "multipleBirthInteger" ? "multipleBirthBoolean" : key;
}

// Writes one de-identified resource into a string.
class Writer {
 public:
  Writer(std::string_view citizen_id, std::string_view patient_id,
         const Pseudonymiser& pseudonyms,
         std::unordered_map<std::string, std::string>& cache,
         const Deidentifier::ReleasedNames* released, std::string* out)
      : citizen_id_(citizen_id),
        patient_id_(patient_id),
        pseudonyms_(pseudonyms),
        cache_(cache),
        released_(released),
        out_(*out) {}

  // A resource (top-level or contained) minimised; InvalidArgument when
  // `e` is not an object with a valid resourceType and a string id.
  // Writes nothing on error.
  Status Resource(element e, bool contained) {
    if (e.type() != element_type::OBJECT) {
      return Status::InvalidArgument("resource is not a JSON object");
    }
    const object in = e.get_object().value_unsafe();
    Level level(*this);
    const std::vector<Member>& members = Sorted(in);
    std::string_view type;
    for (const Member& m : members) {
      if (m.key == "resourceType" && IsString(m.value))
        type = StringOf(m.value);
    }
    if (!IsResourceType(type)) {
      return Status::InvalidArgument("resource has no valid resourceType");
    }
    const size_t start = out_.size();
    out_.push_back('{');
    bool any = false;
    std::string_view last;
    for (const Member& m : members) {
      if (any && m.name == last) continue;  // emplaced once, first wins
      const size_t mark = out_.size();
      if (any) out_.push_back(',');
      bool kept = false;
      if (m.key == "resourceType") {
        kept = Keyed(m.key, [&] { return String(type); });
      } else if (m.key == "id") {
        if (!IsString(m.value)) {
          out_.resize(start);
          return Status::InvalidArgument("resource id is not a string");
        }
        kept = Keyed(m.key, [&] {
          return String(Id(type, StringOf(m.value), contained));
        });
      } else if (m.key == "text") {
        // Narrative: removed.
      } else if (m.key == "meta") {
        kept = Keyed(m.key, [&] { return Meta(m.value); });
      } else if (m.key == "contained") {
        kept = Keyed(m.key, [&] { return Contained(m.value); });
      } else if (type == "Media" && m.key == "content") {
        kept = Keyed(m.key, [&] { return Attachment(m.value); });
      } else {
        kept = MemberOf(in, m, false);
      }
      if (kept) {
        any = true;
        last = m.name;
      } else {
        out_.resize(mark);
      }
    }
    out_.push_back('}');
    return Status::Ok();
  }

  // The pseudonym of a resource's own id.
  std::string Id(std::string_view type, std::string_view id, bool contained) {
    if (contained) return Pseudonym(kContainedType, id);
    if (type == "Patient" && !patient_id_.empty() && id == patient_id_) {
      return CitizenPseudonym();
    }
    return Pseudonym(type, id);
  }

 private:
  // One more level of nesting, with its own scratch list of members.
  class Level {
   public:
    explicit Level(Writer& w) : w_(w) { ++w_.depth_; }
    ~Level() { --w_.depth_; }
    Level(const Level&) = delete;
    Level& operator=(const Level&) = delete;

   private:
    Writer& w_;
  };

  // `in`'s members ordered by the name they are written as (then by their
  // own), each name once: the last of duplicates, as nlohmann_json keeps.
  // Valid until the next Sorted at the same level.
  // `renamed`: members are ordered by the name the rules write them as
  // (Verbatim copies keep their own names).
  const std::vector<Member>& Sorted(object in, bool renamed = true) {
    thread_local std::deque<std::vector<Member>> scratch;
    while (scratch.size() <= depth_) scratch.emplace_back();
    std::vector<Member>& members = scratch[depth_];
    members.clear();
    for (const simdjson::dom::key_value_pair kv : in) {
      members.push_back(
          {renamed ? OutputName(kv.key) : kv.key, kv.key, kv.value});
    }
    const auto before = [](const Member& a, const Member& b) {
      return a.name != b.name ? a.name < b.name : a.key < b.key;
    };
    if (!std::is_sorted(members.begin(), members.end(), before)) {
      std::stable_sort(members.begin(), members.end(), before);
    }
    // Of equal keys keep the last (stable sort kept their order).
    size_t kept = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      if (i + 1 < members.size() && members[i + 1].key == members[i].key) {
        continue;
      }
      members[kept++] = members[i];
    }
    members.resize(kept);
    return members;
  }

  // Writes `"key":` and the value `write` writes; when it writes nothing
  // (returns false) the key goes too.
  template <typename Fn>
  bool Keyed(std::string_view key, Fn write) {
    const size_t mark = out_.size();
    String(key);
    out_.push_back(':');
    if (!write()) {
      out_.resize(mark);
      return false;
    }
    return true;
  }

  // Writes `[...]` of the elements `write(element)` writes; nothing when
  // none.
  template <typename Fn>
  bool Elements(array in, Fn write) {
    const size_t start = out_.size();
    out_.push_back('[');
    bool any = false;
    for (const element e : in) {
      const size_t mark = out_.size();
      if (any) out_.push_back(',');
      if (write(e)) {
        any = true;
      } else {
        out_.resize(mark);
      }
    }
    if (!any) {
      out_.resize(start);
      return false;
    }
    out_.push_back(']');
    return true;
  }

  // Applies `write` to a value or to each element of an array of values.
  template <typename Fn>
  bool Each(element in, Fn write) {
    if (in.type() != element_type::ARRAY) return write(in);
    return Elements(in.get_array().value_unsafe(), write);
  }

  // Escaped as nlohmann_json escapes: quotation mark, reverse solidus and
  // the control characters; everything else as it is (valid UTF-8).
  bool String(std::string_view s) {
    out_.push_back('"');
    size_t from = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + from, i - from);
      from = i + 1;
      switch (c) {
        case '"':
          out_.append("\\\"");
          break;
        case '\\':
          out_.append("\\\\");
          break;
        case '\b':
          out_.append("\\b");
          break;
        case '\t':
          out_.append("\\t");
          break;
        case '\n':
          out_.append("\\n");
          break;
        case '\f':
          out_.append("\\f");
          break;
        case '\r':
          out_.append("\\r");
          break;
        default: {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out_.append(escaped, 6);
        }
      }
    }
    out_.append(s.data() + from, s.size() - from);
    out_.push_back('"');
    return true;
  }

  // A string, number, boolean or null.
  void Scalar(element e) {
    char buffer[64];
    switch (e.type()) {
      case element_type::STRING:
        String(StringOf(e));
        return;
      case element_type::INT64: {
        const auto r = std::to_chars(buffer, buffer + sizeof buffer,
                                     e.get_int64().value_unsafe());
        out_.append(buffer, static_cast<size_t>(r.ptr - buffer));
        return;
      }
      case element_type::UINT64: {
        const auto r = std::to_chars(buffer, buffer + sizeof buffer,
                                     e.get_uint64().value_unsafe());
        out_.append(buffer, static_cast<size_t>(r.ptr - buffer));
        return;
      }
      case element_type::DOUBLE: {
        const double d = e.get_double().value_unsafe();
        if (!std::isfinite(d)) {
          out_.append("null");
          return;
        }
        // nlohmann_json's own shortest round-trip form ("1.0", "1e-05").
        const char* end =
            nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, d);
        out_.append(buffer, static_cast<size_t>(end - buffer));
        return;
      }
      case element_type::BOOL:
        out_.append(e.get_bool().value_unsafe() ? "true" : "false");
        return;
      case element_type::NULL_VALUE:
      case element_type::OBJECT:
      case element_type::ARRAY:
        out_.append("null");
        return;
    }
  }

  // Copies `in`'s members that the rules keep. `dosage`: `in` is a Dosage,
  // whose `text` is free-text instructions. Nothing when none is kept.
  bool Object(object in, bool dosage = false) {
    Level level(*this);
    const size_t start = out_.size();
    out_.push_back('{');
    bool any = false;
    std::string_view last;
    for (const Member& m : Sorted(in)) {
      if (any && m.name == last) continue;
      const size_t mark = out_.size();
      if (any) out_.push_back(',');
      if (MemberOf(in, m, dosage)) {
        any = true;
        last = m.name;
      } else {
        out_.resize(mark);
      }
    }
    if (!any) {
      out_.resize(start);
      return false;
    }
    out_.push_back('}');
    return true;
  }

  // Any other value: objects and arrays recursively, empty results and
  // nulls removed.
  bool Value(element in) {
    switch (in.type()) {
      case element_type::OBJECT:
        return Object(in.get_object().value_unsafe());
      case element_type::ARRAY:
        return Elements(in.get_array().value_unsafe(),
                        [this](element e) { return Value(e); });
      case element_type::NULL_VALUE:
        return false;
      default:
        Scalar(in);
        return true;
    }
  }

  // A value copied as it is (Coding.display may be anything), but for the
  // references a release removes and what that leaves empty.
  bool Verbatim(element in) {
    switch (in.type()) {
      case element_type::OBJECT: {
        Level level(*this);
        const size_t start = out_.size();
        out_.push_back('{');
        bool any = false;
        const object members = in.get_object().value_unsafe();
        for (const Member& m : Sorted(members, false)) {
          if (m.key == "reference" && IsString(m.value) &&
              !Released(StringOf(m.value))) {
            continue;
          }
          const size_t mark = out_.size();
          if (any) out_.push_back(',');
          if (Keyed(m.key, [&] { return Verbatim(m.value); })) {
            any = true;
          } else {
            out_.resize(mark);
          }
        }
        if (!any && released_ != nullptr) {
          out_.resize(start);
          return false;
        }
        out_.push_back('}');
        return true;
      }
      case element_type::ARRAY: {
        const size_t start = out_.size();
        out_.push_back('[');
        bool any = false;
        const array elements = in.get_array().value_unsafe();
        for (const element e : elements) {
          const size_t mark = out_.size();
          if (any) out_.push_back(',');
          if (Verbatim(e)) {
            any = true;
          } else {
            out_.resize(mark);
          }
        }
        if (!any && released_ != nullptr) {
          out_.resize(start);
          return false;
        }
        out_.push_back(']');
        return true;
      }
      default:
        Scalar(in);
        return true;
    }
  }

  // Pseudonymiser::Resource of the citizen's `type`/`id`, computed once.
  const std::string& Pseudonym(std::string_view type, std::string_view id) {
    std::string key;
    key.reserve(type.size() + 1 + id.size());
    key.append(type).push_back('\0');
    key.append(id);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      it = cache_
               .emplace(std::move(key),
                        pseudonyms_.Resource(citizen_id_, type, id))
               .first;
    }
    return it->second;
  }

  // Pseudonymiser::Citizen, computed once (under a key no type has).
  const std::string& CitizenPseudonym() {
    const std::string key(1, '\0');
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      it = cache_.emplace(key, pseudonyms_.Citizen(citizen_id_)).first;
    }
    return it->second;
  }

  // Whether a reference resolves inside the release (always, outside one).
  bool Released(std::string_view reference) const {
    return released_ == nullptr ||
           released_->count(std::string(reference)) != 0;
  }

  // The member `m` of `parent` as the rules keep it, or nothing.
  bool MemberOf(object parent, const Member& m, bool dosage) {
    const element value = m.value;
    switch (RuleFor(m.key)) {
      case Rule::kCopy:
        return Keyed(m.key, [&] { return Value(value); });
      case Rule::kRemove:
      case Rule::kContained:  // only resources have them; see Resource()
        return false;
      case Rule::kText:
        // A string is CodeableConcept.text (kept) or Dosage.text (free
        // text); an object is a Narrative.
        if (!IsString(value) || dosage) return false;
        return Keyed(m.key, [&] { return String(StringOf(value)); });
      case Rule::kStringFree:
        // Goal.description is a CodeableConcept; strings are free text.
        if (IsString(value)) return false;
        return Keyed(m.key, [&] { return Value(value); });
      case Rule::kDisplay:
        // Coding.display is terminology; a Reference's display names
        // people and organisations.
        if (!Find(parent, "code") && !Find(parent, "system")) return false;
        return Keyed(m.key, [&] { return Verbatim(value); });
      case Rule::kReference: {
        if (!IsString(value)) return false;
        const std::optional<std::string> ref =
            Reference(StringOf(value), parent);
        if (!ref || !Released(*ref)) return false;
        return Keyed(m.key, [&] { return String(*ref); });
      }
      case Rule::kAddress:
        return Keyed(m.key, [&] {
          return Each(value, [this](element a) {
            if (a.type() != element_type::OBJECT) return false;
            const std::optional<element> country =
                Find(a.get_object().value_unsafe(), "country");
            if (!country || !IsString(*country)) return false;
            out_.append("{");
            Keyed("country", [&] { return String(StringOf(*country)); });
            out_.append("}");
            return true;
          });
        });
      case Rule::kYear: {
        const std::optional<std::string_view> year = YearOf(value);
        if (!year) return false;
        return Keyed(m.key, [&] { return String(*year); });
      }
      case Rule::kBirthOrder: {
        // The birth order is rare enough to identify; "multiple" stays.
        const element_type t = value.type();
        if (t != element_type::INT64 && t != element_type::UINT64 &&
            t != element_type::DOUBLE) {
          return false;
        }
        return Keyed(m.name, [&] {
          out_.append("true");
          return true;
        });
      }
      case Rule::kExtension:
        return Keyed(m.key, [&] {
          return Each(value, [this](element e) { return Extension(e); });
        });
      case Rule::kMeta:
        return Keyed(m.key, [&] { return Meta(value); });
      case Rule::kUid:
        if (!IsString(value)) return false;
        return Keyed(m.key, [&] {
          return String(DicomUidForm(pseudonyms_.Resource(
              citizen_id_, kDicomUidType, StringOf(value))));
        });
      case Rule::kAttachment:
        return Keyed(m.key, [&] { return Attachment(value); });
      case Rule::kDosage:
        return Keyed(m.key, [&] {
          return Each(value, [this](element d) {
            return d.type() == element_type::OBJECT &&
                   Object(d.get_object().value_unsafe(), true);
          });
        });
    }
    return false;
  }

  // The contained resources that are resources, minimised.
  bool Contained(element value) {
    if (value.type() != element_type::ARRAY) return false;
    return Elements(value.get_array().value_unsafe(),
                    [this](element c) { return Resource(c, true).ok(); });
  }

  // The rewritten Reference.reference, or nullopt to remove it.
  std::optional<std::string> Reference(std::string_view ref, object parent) {
    if (ref.empty()) return std::nullopt;
    if (ref[0] == '#') {
      if (ref.size() == 1) return "#";  // the containing resource
      // Appended, not `"#" + …`: GCC 12 at -O3 warns falsely (-Wrestrict,
      // its bug 105329) about prepending to a temporary string.
      std::string local = "#";
      local += Pseudonym(kContainedType, ref.substr(1));
      return local;
    }
    if (ref.starts_with("urn:uuid:")) {
      // Not resolved at import (outside the bundle): a stable pseudonym in
      // the same form, so equal targets stay equal.
      return "urn:uuid:" +
             UuidForm(pseudonyms_.Resource(citizen_id_, kUnresolvedType, ref));
    }
    if (const size_t query = ref.find('?'); query != std::string_view::npos) {
      // Conditional ("Practitioner?identifier=system|value"): the type
      // stays, the whole criterion is hashed.
      const std::string_view type = ref.substr(0, query);
      if (!IsResourceType(type)) return std::nullopt;
      return std::string(type) + "/" +
             pseudonyms_.Resource(citizen_id_, type, ref);
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
      return std::string(type) + "/" +
             pseudonyms_.Resource(citizen_id_, type, path);
    }
    if (type == "Patient" && !patient_id_.empty() && id == patient_id_) {
      return "Patient/" + CitizenPseudonym();
    }
    return std::string(type) + "/" + Pseudonym(type, id);
  }

  // A reference of another form (urn:oid:, a logical name): hashed under
  // Reference.type when the parent names a type, removed otherwise.
  std::optional<std::string> Typed(std::string_view ref, object parent) const {
    const std::optional<element> type_value = Find(parent, "type");
    if (!type_value || !IsString(*type_value)) return std::nullopt;
    std::string_view type = StringOf(*type_value);
    if (const size_t slash = type.rfind('/'); slash != std::string_view::npos) {
      type = type.substr(slash + 1);  // "http://hl7.org/fhir/.../Patient"
    }
    if (!IsResourceType(type)) return std::nullopt;
    return std::string(type) + "/" +
           pseudonyms_.Resource(citizen_id_, type, ref);
  }

  // meta keeps profile and the tillit source tag (system and code).
  bool Meta(element value) {
    if (value.type() != element_type::OBJECT) return false;
    const object in = value.get_object().value_unsafe();
    const size_t start = out_.size();
    out_.push_back('{');
    bool any = false;
    if (const std::optional<element> profile = Find(in, "profile");
        profile && profile->type() == element_type::ARRAY) {
      any = Keyed("profile", [&] {
        return Elements(profile->get_array().value_unsafe(), [this](element p) {
          if (!IsString(p)) return false;
          return String(StringOf(p));
        });
      });
    }
    if (const std::optional<element> tags = Find(in, "tag");
        tags && tags->type() == element_type::ARRAY) {
      const size_t mark = out_.size();
      if (any) out_.push_back(',');
      const bool tagged = Keyed("tag", [&] {
        return Elements(tags->get_array().value_unsafe(), [this](element t) {
          if (t.type() != element_type::OBJECT) return false;
          const object tag = t.get_object().value_unsafe();
          const std::optional<element> system = Find(tag, "system");
          const std::optional<element> code = Find(tag, "code");
          if (!system || !IsString(*system, kSourceTagSystem) || !code ||
              !IsString(*code)) {
            return false;
          }
          out_.append("{\"code\":");
          String(StringOf(*code));
          out_.append(",\"system\":");
          String(StringOf(*system));
          out_.push_back('}');
          return true;
        });
      });
      if (tagged) {
        any = true;
      } else {
        out_.resize(mark);
      }
    }
    if (!any) {
      out_.resize(start);
      return false;
    }
    out_.push_back('}');
    return true;
  }

  // Extensions are kept only from an allow-list: US Core birth sex, and the
  // codes (not the text) of US Core race and ethnicity.
  bool Extension(element value) {
    if (value.type() != element_type::OBJECT) return false;
    const object in = value.get_object().value_unsafe();
    const std::optional<element> url = Find(in, "url");
    if (!url || !IsString(*url)) return false;
    if (IsString(*url, kBirthSexUrl)) {
      const std::optional<element> code = Find(in, "valueCode");
      if (!code || !IsString(*code)) return false;
      out_.append("{\"url\":");
      String(StringOf(*url));
      out_.append(",\"valueCode\":");
      String(StringOf(*code));
      out_.push_back('}');
      return true;
    }
    if (!IsString(*url, kRaceUrl) && !IsString(*url, kEthnicityUrl)) {
      return false;
    }
    const std::optional<element> parts = Find(in, "extension");
    if (!parts || parts->type() != element_type::ARRAY) return false;
    const size_t start = out_.size();
    out_.append("{");
    const bool kept = Keyed("extension", [&] {
      return Elements(parts->get_array().value_unsafe(), [this](element p) {
        if (p.type() != element_type::OBJECT) return false;
        const object part = p.get_object().value_unsafe();
        const std::optional<element> part_url = Find(part, "url");
        const std::optional<element> coding = Find(part, "valueCoding");
        if (!part_url || !coding || coding->type() != element_type::OBJECT ||
            (!IsString(*part_url, "ombCategory") &&
             !IsString(*part_url, "detailed"))) {
          return false;
        }
        const size_t mark = out_.size();
        out_.append("{\"url\":");
        String(StringOf(*part_url));
        out_.append(",\"valueCoding\":");
        if (!Object(coding->get_object().value_unsafe())) {
          out_.resize(mark);
          return false;
        }
        out_.push_back('}');
        return true;
      });
    });
    if (!kept) {
      out_.resize(start);
      return false;
    }
    out_.append(",\"url\":");
    String(StringOf(*url));
    out_.push_back('}');
    return true;
  }

  // Attachment (or an array of them): only contentType, language and
  // creation; the content (data, url), its hash, size and title go.
  bool Attachment(element value) {
    return Each(value, [this](element a) {
      if (a.type() != element_type::OBJECT) return false;
      const object in = a.get_object().value_unsafe();
      const size_t start = out_.size();
      out_.push_back('{');
      bool any = false;
      for (const std::string_view key :
           {"contentType", "creation", "language"}) {
        const std::optional<element> v = Find(in, key);
        if (!v || !IsString(*v)) continue;
        if (any) out_.push_back(',');
        Keyed(key, [&] { return String(StringOf(*v)); });
        any = true;
      }
      if (!any) {
        out_.resize(start);
        return false;
      }
      out_.push_back('}');
      return true;
    });
  }

  std::string_view citizen_id_;
  std::string_view patient_id_;
  const Pseudonymiser& pseudonyms_;
  std::unordered_map<std::string, std::string>& cache_;
  const Deidentifier::ReleasedNames* released_;
  std::string& out_;
  size_t depth_ = 0;
};

}  // namespace

StatusOr<std::string> Deidentifier::ReleasedName(
    std::string_view resource_json) const {
  TILLIT_ASSIGN_OR_RETURN(const element root, Parse(resource_json));
  if (root.type() != element_type::OBJECT) {
    ReleaseLargeParserBuffers();
    return Status::InvalidArgument("resource is not a JSON object");
  }
  const object in = root.get_object().value_unsafe();
  const std::optional<element> type = Find(in, "resourceType");
  const std::optional<element> id = Find(in, "id");
  std::string name;
  Status status;
  if (!type || !IsString(*type) || !IsResourceType(StringOf(*type))) {
    status = Status::InvalidArgument("resource has no valid resourceType");
  } else if (id && !IsString(*id)) {
    status = Status::InvalidArgument("resource id is not a string");
  } else {
    std::string out;
    Writer writer(citizen_id_, patient_id_, pseudonyms_, pseudonyms_of_,
                  nullptr, &out);
    name = std::string(StringOf(*type)) + "/";
    if (id) name += writer.Id(StringOf(*type), StringOf(*id), false);
  }
  ReleaseLargeParserBuffers();
  if (!status.ok()) return status;
  return name;
}

Status Deidentifier::Append(std::string_view resource_json,
                            const ReleasedNames* released,
                            std::string* out) const {
  TILLIT_ASSIGN_OR_RETURN(const element root, Parse(resource_json));
  const Status s = Writer(citizen_id_, patient_id_, pseudonyms_, pseudonyms_of_,
                          released, out)
                       .Resource(root, false);
  ReleaseLargeParserBuffers();
  return s;
}

StatusOr<nlohmann::json> Deidentify(const nlohmann::json& resource,
                                    std::string_view citizen_id,
                                    std::string_view patient_id,
                                    const Pseudonymiser& pseudonyms) {
  std::string out;
  TILLIT_RETURN_IF_ERROR(Deidentifier(citizen_id, patient_id, pseudonyms)
                             .Append(resource.dump(), nullptr, &out));
  return json::parse(out);
}

}  // namespace tillit::research
