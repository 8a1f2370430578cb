#include "tillit/vault/source_tag.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>
#include <vector>

namespace tillit::vault {
namespace {

constexpr std::string_view kCitizensTag =
    R"({"system":"https://tillit.health/source","code":"citizen",)"
    R"("display":"Entered by the citizen"})";

Status Malformed() {
  // Callers pass text a parser accepted, so this is never the client's.
  return Status::Internal("not the JSON text a parser accepted");
}

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::optional<uint32_t> Hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) return std::nullopt;
  uint32_t v = 0;
  for (size_t k = i; k < i + 4; ++k) {
    const char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return v;
}

// The text of a JSON string's contents (between the quotes), decoded, so
// that "met\u0061" is the key "meta".
StatusOr<std::string> Decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    if (++i >= raw.size()) return Malformed();
    switch (raw[i]) {
      case '"':
        out += '"';
        break;
      case '\\':
        out += '\\';
        break;
      case '/':
        out += '/';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::optional<uint32_t> cp = Hex4(raw, i + 1);
        if (!cp) return Malformed();
        i += 4;
        if (*cp >= 0xD800 && *cp < 0xDC00 && i + 6 < raw.size() &&
            raw.substr(i + 1, 2) == "\\u") {
          std::optional<uint32_t> low = Hex4(raw, i + 3);
          if (low && *low >= 0xDC00 && *low < 0xE000) {
            *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
            i += 6;
          }
        }
        AppendUtf8(*cp, out);
        break;
      }
      default:
        return Malformed();
    }
  }
  return out;
}

// Positions in JSON text that a parser has accepted (minified or not).
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  // The first position at or after `i` that is not white space.
  size_t Ws(size_t i) const {
    while (i < s_.size() &&
           (s_[i] == ' ' || s_[i] == '\t' || s_[i] == '\n' || s_[i] == '\r')) {
      ++i;
    }
    return i;
  }

  // Just past the string that starts (with its quote) at `i`.
  StatusOr<size_t> SkipString(size_t i) const {
    if (i >= s_.size() || s_[i] != '"') return Malformed();
    for (size_t j = i + 1; j < s_.size(); ++j) {
      if (s_[j] == '\\') {
        ++j;
      } else if (s_[j] == '"') {
        return j + 1;
      }
    }
    return Malformed();
  }

  // Just past the value that starts at `i`.
  StatusOr<size_t> SkipValue(size_t i) const {
    if (i >= s_.size()) return Malformed();
    const char c = s_[i];
    if (c == '"') return SkipString(i);
    if (c != '{' && c != '[') {
      size_t j = i;
      while (j < s_.size() && s_[j] != ',' && s_[j] != '}' && s_[j] != ']' &&
             Ws(j) == j) {
        ++j;
      }
      if (j == i) return Malformed();
      return j;
    }
    int depth = 0;
    for (size_t j = i; j < s_.size();) {
      const char d = s_[j];
      if (d == '"') {
        TILLIT_ASSIGN_OR_RETURN(j, SkipString(j));
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if ((d == '}' || d == ']') && --depth == 0) return j + 1;
      ++j;
    }
    return Malformed();
  }

  struct Member {
    std::string key;  // decoded
    size_t begin;     // the key's opening quote
    size_t value;     // where the value starts
    size_t end;       // just past the value
  };
  // The members of the object that starts at `open`; `close` is set to the
  // position of its closing brace.
  StatusOr<std::vector<Member>> Members(size_t open, size_t& close) const {
    std::vector<Member> out;
    if (open >= s_.size() || s_[open] != '{') return Malformed();
    size_t j = Ws(open + 1);
    if (j < s_.size() && s_[j] == '}') {
      close = j;
      return out;
    }
    while (true) {
      Member m;
      m.begin = j;
      TILLIT_ASSIGN_OR_RETURN(size_t after_key, SkipString(j));
      TILLIT_ASSIGN_OR_RETURN(m.key,
                              Decode(s_.substr(j + 1, after_key - j - 2)));
      after_key = Ws(after_key);
      if (after_key >= s_.size() || s_[after_key] != ':') return Malformed();
      m.value = Ws(after_key + 1);
      TILLIT_ASSIGN_OR_RETURN(m.end, SkipValue(m.value));
      out.push_back(std::move(m));
      const size_t e = Ws(out.back().end);
      if (e >= s_.size()) return Malformed();
      if (s_[e] == '}') {
        close = e;
        return out;
      }
      if (s_[e] != ',') return Malformed();
      j = Ws(e + 1);
    }
  }

  // The [begin, end) of each element of the array that starts at `open`.
  StatusOr<std::vector<std::pair<size_t, size_t>>> Elements(size_t open) const {
    std::vector<std::pair<size_t, size_t>> out;
    if (open >= s_.size() || s_[open] != '[') return Malformed();
    size_t j = Ws(open + 1);
    if (j < s_.size() && s_[j] == ']') return out;
    while (true) {
      TILLIT_ASSIGN_OR_RETURN(size_t end, SkipValue(j));
      out.emplace_back(j, end);
      const size_t e = Ws(end);
      if (e >= s_.size()) return Malformed();
      if (s_[e] == ']') return out;
      if (s_[e] != ',') return Malformed();
      j = Ws(e + 1);
    }
  }

 private:
  std::string_view s_;
};

// The one member named `key`, if any; InvalidArgument naming `where` when
// it is there twice (readers would disagree about which one counts).
StatusOr<const Scanner::Member*> Find(
    const std::vector<Scanner::Member>& members, std::string_view key,
    std::string_view where) {
  const Scanner::Member* found = nullptr;
  for (const Scanner::Member& m : members) {
    if (m.key != key) continue;
    if (found != nullptr) {
      return Status::InvalidArgument(std::string(where) + ": given twice");
    }
    found = &m;
  }
  return found;
}

// Whether one element of meta.tag is one of tillit's source tags: any
// "system" member of it (a repeated key included, which readers resolve
// differently) that is tillit's source system.
StatusOr<bool> IsSourceTag(const Scanner& scan, std::string_view resource,
                           size_t begin) {
  if (resource[begin] != '{') return false;
  size_t close = 0;
  TILLIT_ASSIGN_OR_RETURN(std::vector<Scanner::Member> members,
                          scan.Members(begin, close));
  for (const Scanner::Member& m : members) {
    if (m.key != "system" || resource[m.value] != '"') continue;
    TILLIT_ASSIGN_OR_RETURN(
        std::string system,
        Decode(resource.substr(m.value + 1, m.end - m.value - 2)));
    if (system == kSourceTagSystem) return true;
  }
  return false;
}

std::string Splice(std::string_view s, size_t from, size_t to,
                   std::string_view with) {
  std::string out;
  out.reserve(s.size() - (to - from) + with.size());
  out.append(s.substr(0, from));
  out.append(with);
  out.append(s.substr(to));
  return out;
}

// `resource` with its source tags replaced by `tag` (a JSON object's text).
StatusOr<std::string> Retag(std::string_view resource, std::string_view tag) {
  const Scanner scan(resource);
  size_t close = 0;
  TILLIT_ASSIGN_OR_RETURN(std::vector<Scanner::Member> top,
                          scan.Members(0, close));
  if (resource.empty() || resource[0] != '{' ||
      scan.Ws(close + 1) != resource.size()) {
    return Malformed();
  }
  TILLIT_ASSIGN_OR_RETURN(const Scanner::Member* meta,
                          Find(top, "meta", "meta"));
  const std::string tags = "[" + std::string(tag) + "]";
  if (meta == nullptr) {
    // After the id (or the resourceType), where FHIR's JSON puts it.
    TILLIT_ASSIGN_OR_RETURN(const Scanner::Member* id, Find(top, "id", "id"));
    if (id == nullptr && !top.empty()) id = &top.front();
    const std::string member = "\"meta\":{\"tag\":" + tags + "}";
    if (id == nullptr) return Splice(resource, 1, 1, member);
    return Splice(resource, id->end, id->end, "," + member);
  }
  if (resource[meta->value] != '{') {
    return Status::InvalidArgument("meta: must be an object");
  }
  size_t meta_close = 0;
  TILLIT_ASSIGN_OR_RETURN(std::vector<Scanner::Member> inner,
                          scan.Members(meta->value, meta_close));
  TILLIT_ASSIGN_OR_RETURN(const Scanner::Member* tags_member,
                          Find(inner, "tag", "meta.tag"));
  if (tags_member == nullptr) {
    const std::string member =
        std::string(inner.empty() ? "" : ",") + "\"tag\":" + tags;
    return Splice(resource, meta_close, meta_close, member);
  }
  if (resource[tags_member->value] != '[') {
    return Status::InvalidArgument("meta.tag: must be an array");
  }
  TILLIT_ASSIGN_OR_RETURN(auto elements, scan.Elements(tags_member->value));
  std::string kept = "[";
  for (const auto& [begin, end] : elements) {
    TILLIT_ASSIGN_OR_RETURN(bool source, IsSourceTag(scan, resource, begin));
    if (source) continue;
    kept.append(resource.substr(begin, end - begin));
    kept += ',';
  }
  kept.append(tag);
  kept += ']';
  return Splice(resource, tags_member->value, tags_member->end, kept);
}

}  // namespace

StatusOr<std::string> TagAsCitizens(std::string_view resource) {
  return Retag(resource, kCitizensTag);
}

StatusOr<std::string> TagAsProviders(std::string_view resource,
                                     std::string_view provider_id) {
  const nlohmann::ordered_json tag = {{"system", std::string(kSourceTagSystem)},
                                      {"code", "provider"},
                                      {"display", std::string(provider_id)}};
  return Retag(resource, tag.dump(-1, ' ', false,
                                  nlohmann::json::error_handler_t::replace));
}

StatusOr<std::string> TagBySource(std::string_view resource,
                                  std::string_view source) {
  if (source == kCitizenSource) return TagAsCitizens(resource);
  return TagAsProviders(resource, source);
}

StatusOr<std::optional<std::string_view>> MemberText(std::string_view object,
                                                     std::string_view key) {
  // A byte order mark, which JSON parsers skip.
  if (object.substr(0, 3) == "\xEF\xBB\xBF") object.remove_prefix(3);
  const Scanner scan(object);
  const size_t open = scan.Ws(0);
  size_t close = 0;
  TILLIT_ASSIGN_OR_RETURN(std::vector<Scanner::Member> members,
                          scan.Members(open, close));
  TILLIT_ASSIGN_OR_RETURN(const Scanner::Member* m, Find(members, key, key));
  if (m == nullptr) return std::optional<std::string_view>();
  return std::optional<std::string_view>(
      object.substr(m->value, m->end - m->value));
}

}  // namespace tillit::vault
