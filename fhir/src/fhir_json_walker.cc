#include "fhir_json_walker.h"

#include <cstdint>
#include <cstring>
#include <string>

namespace tillit::fhir::fhir_internal {
namespace {

constexpr std::string_view kUrnUuid = "urn:uuid:";
constexpr std::string_view kReferenceKey = "reference";

// `p` points at an opening quote; returns the position of the closing quote
// (or `end` if there is none, which validated input never has).
const char* FindStringEnd(const char* p, const char* end) {
  const char* s = p + 1;
  for (;;) {
    const char* q = static_cast<const char*>(
        std::memchr(s, '"', static_cast<size_t>(end - s)));
    if (q == nullptr) return end;
    // The quote is escaped when an odd run of backslashes precedes it.
    const char* b = q;
    while (b > p + 1 && b[-1] == '\\') --b;
    if (((q - b) & 1) == 0) return q;
    s = q + 1;
  }
}

bool HasEscape(std::string_view raw) {
  return std::memchr(raw.data(), '\\', raw.size()) != nullptr;
}

// Compares a raw (possibly escaped) JSON string with plain text.
bool RawEquals(std::string_view raw, std::string_view text) {
  if (raw == text) return true;
  // An escaped spelling is always longer than the plain one.
  if (raw.size() <= text.size() || !HasEscape(raw)) return false;
  return DecodeJsonString(raw) == text;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

uint32_t ReadHex4(std::string_view raw, size_t pos) {
  uint32_t v = 0;
  for (size_t i = pos; i < pos + 4 && i < raw.size(); ++i) {
    const int h = HexValue(raw[i]);
    v = v * 16 + static_cast<uint32_t>(h < 0 ? 0 : h);
  }
  return v;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// A urn:uuid reference is quoted in messages only when it looks like one
// (an id, not free text).
std::string DescribeReference(std::string_view value) {
  std::string_view rest = value.substr(kUrnUuid.size());
  bool safe = !rest.empty() && rest.size() <= 64;
  for (char c : rest) {
    safe = safe && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z') || c == '-' || c == '.');
  }
  return safe ? std::string(value) : std::string("urn:uuid:(value not shown)");
}

}  // namespace

std::string DecodeJsonString(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c != '\\' || i + 1 >= raw.size()) {
      out.push_back(c);
      continue;
    }
    const char e = raw[++i];
    switch (e) {
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'u': {
        uint32_t cp = ReadHex4(raw, i + 1);
        i += 4;
        // A high surrogate followed by an escaped low surrogate is one code
        // point; a lone surrogate becomes U+FFFD.
        if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 < raw.size() &&
            raw[i + 1] == '\\' && raw[i + 2] == 'u') {
          const uint32_t low = ReadHex4(raw, i + 3);
          if (low >= 0xDC00 && low <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            i += 6;
          }
        }
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        AppendUtf8(cp, &out);
        break;
      }
      default:  // '"', '\\', '/'
        out.push_back(e);
        break;
    }
  }
  return out;
}

Status MinifiedJsonWalker::Unexpected() const {
  return Status::Internal("unexpected JSON structure at offset " +
                          std::to_string(p_ - begin_));
}

Status MinifiedJsonWalker::EnterContainer(size_t depth) const {
  if (depth > max_depth_) {
    return Status::ResourceExhausted(
        "JSON nesting is deeper than the limit max_depth (" +
        std::to_string(max_depth_) + ")");
  }
  return Status::Ok();
}

Status MinifiedJsonWalker::Expect(char c) {
  if (p_ >= end_ || *p_ != c) return Unexpected();
  ++p_;
  return Status::Ok();
}

Status MinifiedJsonWalker::ReadKey(std::string_view* raw_key) {
  if (p_ >= end_ || *p_ != '"') return Unexpected();
  const char* close = FindStringEnd(p_, end_);
  if (close >= end_) return Unexpected();
  *raw_key = std::string_view(p_ + 1, static_cast<size_t>(close - p_ - 1));
  p_ = close + 1;
  return Expect(':');
}

template <bool kCopy>
Status MinifiedJsonWalker::Scan(size_t depth, const CopyOptions* options,
                                std::string* out, const char* flush) {
  size_t level = 0;             // containers opened inside this value
  bool reference_next = false;  // the previous token was the key "reference"
  do {
    if (p_ >= end_) return Unexpected();
    const char c = *p_;
    if (c == '"') {
      const char* close = FindStringEnd(p_, end_);
      if (close >= end_) return Unexpected();
      const char* after = close + 1;
      const std::string_view raw(p_ + 1, static_cast<size_t>(close - p_ - 1));
      if (level > 0 && after < end_ && *after == ':') {  // a member name
        if constexpr (kCopy) reference_next = RawEquals(raw, kReferenceKey);
        p_ = after + 1;
        continue;
      }
      if constexpr (kCopy) {
        if (reference_next) {
          std::string decoded;
          std::string_view value = raw;
          if (HasEscape(raw)) value = decoded = DecodeJsonString(raw);
          if (value.starts_with(kUrnUuid)) {
            const ReferenceMap* refs = options->references;
            const auto it = refs == nullptr ? ReferenceMap::const_iterator()
                                            : refs->find(value);
            if (refs == nullptr || it == refs->end()) {
              return Status::InvalidArgument("reference " +
                                             DescribeReference(value) +
                                             " does not resolve inside the " +
                                             std::string(options->scope));
            }
            out->append(flush, p_);
            out->push_back('"');
            out->append(it->second);
            out->push_back('"');
            flush = after;
          }
        }
      }
      reference_next = false;
      p_ = after;
    } else if (c == '{' || c == '[') {
      reference_next = false;
      ++level;
      TILLIT_RETURN_IF_ERROR(EnterContainer(depth + level));
      ++p_;
    } else if (c == '}' || c == ']') {
      if (level == 0) return Unexpected();
      --level;
      ++p_;
    } else if (level == 0) {
      // A number or literal standing alone: runs to the next delimiter.
      while (p_ < end_ && *p_ != ',' && *p_ != '}' && *p_ != ']') ++p_;
    } else {
      if (c != ',') reference_next = false;
      ++p_;
    }
  } while (level > 0);
  if constexpr (kCopy) out->append(flush, p_);
  return Status::Ok();
}

Status MinifiedJsonWalker::CopyValue(size_t depth, const CopyOptions& options,
                                     std::string* out) {
  out->clear();
  if (options.inserted_id.empty()) {
    return Scan<true>(depth, &options, out, p_);
  }
  if (p_ >= end_ || *p_ != '{') return Unexpected();
  out->append("{\"id\":\"");
  out->append(options.inserted_id);
  out->append("\"");
  // A resource always has members (resourceType at least), so a comma
  // follows the inserted one.
  out->push_back(',');
  return Scan<true>(depth, &options, out, p_ + 1);
}

Status MinifiedJsonWalker::CopyDocument(const CopyOptions& options,
                                        std::string* out) {
  p_ = begin_;
  TILLIT_RETURN_IF_ERROR(CopyValue(0, options, out));
  if (p_ != end_) return Unexpected();
  return Status::Ok();
}

Status MinifiedJsonWalker::CopyBundleResources(const ResourceSink& on_resource,
                                               size_t* entry_count) {
  p_ = begin_;
  size_t count = 0;
  TILLIT_RETURN_IF_ERROR(EnterContainer(1));
  TILLIT_RETURN_IF_ERROR(Expect('{'));
  bool more = p_ < end_ && *p_ != '}';
  while (more) {
    std::string_view key;
    TILLIT_RETURN_IF_ERROR(ReadKey(&key));
    if (!RawEquals(key, "entry")) {
      TILLIT_RETURN_IF_ERROR(SkipValue(1));
    } else {
      TILLIT_RETURN_IF_ERROR(EnterContainer(2));
      TILLIT_RETURN_IF_ERROR(Expect('['));
      bool more_entries = p_ < end_ && *p_ != ']';
      while (more_entries) {
        TILLIT_RETURN_IF_ERROR(EnterContainer(3));
        TILLIT_RETURN_IF_ERROR(Expect('{'));
        bool more_members = p_ < end_ && *p_ != '}';
        while (more_members) {
          std::string_view member;
          TILLIT_RETURN_IF_ERROR(ReadKey(&member));
          if (RawEquals(member, "resource")) {
            auto [options, out] = on_resource(count);
            Status copied = CopyValue(3, options, out);
            if (!copied.ok()) {
              return copied.WithContext("entry " + std::to_string(count));
            }
          } else {
            TILLIT_RETURN_IF_ERROR(SkipValue(3));
          }
          more_members = p_ < end_ && *p_ == ',';
          if (more_members) ++p_;
        }
        TILLIT_RETURN_IF_ERROR(Expect('}'));
        ++count;
        more_entries = p_ < end_ && *p_ == ',';
        if (more_entries) ++p_;
      }
      TILLIT_RETURN_IF_ERROR(Expect(']'));
    }
    more = p_ < end_ && *p_ == ',';
    if (more) ++p_;
  }
  TILLIT_RETURN_IF_ERROR(Expect('}'));
  if (p_ != end_) return Unexpected();
  *entry_count = count;
  return Status::Ok();
}

}  // namespace tillit::fhir::fhir_internal
