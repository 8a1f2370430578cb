// FHIR import: documents (Bundle or single resource), NDJSON and single
// records. The pipeline for one document:
//   1. simdjson parses and validates the bytes (UTF-8, grammar, depth);
//   2. the DOM gives each resource's facts (fhir_classify.cc) and the
//      bundle's fullUrl -> "Type/id" map;
//   3. simdjson::minify strips the whitespace, and MinifiedJsonWalker copies
//      each resource out of the minified text, rewriting references, so
//      numbers and strings keep their exact original spelling.
#include "tillit/fhir/fhir.h"

#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fhir_classify.h"
#include "fhir_json_walker.h"

namespace tillit::fhir {
namespace {

using fhir_internal::ClassifyResource;
using fhir_internal::CopyOptions;
using fhir_internal::FindUniqueMember;
using fhir_internal::MinifiedJsonWalker;
using fhir_internal::ReferenceMap;
using simdjson::SUCCESS;
using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::array<std::string_view, kCategoryCount> kCategoryNames = {
    "patient-summary", "prescriptions", "dispensations",     "lab-results",
    "vital-signs",     "imaging",       "discharge-reports", "encounters",
    "financial",       "other"};

// Parser buffers for documents larger than this are released after each call
// instead of being kept for the thread's next document (simdjson needs about
// 15 bytes of buffers per input byte).
constexpr size_t kKeptParserCapacity = 4u << 20;

// simdjson allocates per nesting level; deeper limits are capped here.
constexpr size_t kMaxParserDepth = 1u << 16;

// The calling thread's simdjson parser, reused so that its buffers are
// allocated once; released on destruction when they grew large.
class ParserLease {
 public:
  ParserLease() : parser_(ThreadParser()) {}
  ~ParserLease() {
    if (parser_.capacity() > kKeptParserCapacity) {
      parser_ = simdjson::dom::parser();
    }
  }
  ParserLease(const ParserLease&) = delete;
  ParserLease& operator=(const ParserLease&) = delete;

  // Parses `text` as one JSON document. The element stays valid until the
  // next Parse on this thread.
  StatusOr<element> Parse(std::string_view text, size_t max_depth) {
    // simdjson refuses a container at depth max_depth that holds a value, so
    // it gets one more level; the walker checks the exact limit.
    const size_t depth = std::min(max_depth, kMaxParserDepth) + 1;
    if (parser_.max_depth() != depth &&
        parser_.allocate(std::max<size_t>(text.size(), 64), depth) != SUCCESS) {
      return Status::ResourceExhausted("cannot allocate memory to parse");
    }
    element root;
    const simdjson::error_code error =
        parser_.parse(text.data(), text.size(), true).get(root);
    if (error == SUCCESS) return root;
    if (error == simdjson::DEPTH_ERROR) {
      return Status::ResourceExhausted(
          "JSON nesting is deeper than the limit max_depth (" +
          std::to_string(max_depth) + ")");
    }
    if (error == simdjson::CAPACITY || error == simdjson::MEMALLOC) {
      return Status::ResourceExhausted("document too large to parse");
    }
    return Status::InvalidArgument(std::string("not valid JSON: ") +
                                   simdjson::error_message(error));
  }

 private:
  static simdjson::dom::parser& ThreadParser() {
    thread_local simdjson::dom::parser parser;
    return parser;
  }

  simdjson::dom::parser& parser_;
};

// Whitespace-free copy of a JSON text, in a buffer reused between calls.
class MinifiedText {
 public:
  // REQUIRES: `text` is JSON that simdjson's parser accepted.
  Status Minify(std::string_view text) {
    const size_t needed = text.size() + simdjson::SIMDJSON_PADDING;
    if (capacity_ < needed) {
      buffer_ = std::make_unique_for_overwrite<char[]>(needed);
      capacity_ = needed;
    }
    if (simdjson::minify(text.data(), text.size(), buffer_.get(), size_) !=
        SUCCESS) {
      return Status::Internal("JSON minification failed");
    }
    return Status::Ok();
  }
  std::string_view view() const { return {buffer_.get(), size_}; }

 private:
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;
  size_t size_ = 0;
};

// RFC 8259 lets parsers ignore a leading UTF-8 byte order mark; editors on
// some systems write one.
std::string_view WithoutByteOrderMark(std::string_view bytes) {
  constexpr std::string_view kBom = "\xEF\xBB\xBF";
  if (bytes.starts_with(kBom)) bytes.remove_prefix(kBom.size());
  return bytes;
}

Status CheckDocumentSize(std::string_view bytes, const ImportLimits& limits) {
  if (bytes.size() > limits.max_document_bytes) {
    return Status::ResourceExhausted(
        "document is " + std::to_string(bytes.size()) +
        " bytes, over the limit max_document_bytes (" +
        std::to_string(limits.max_document_bytes) + ")");
  }
  return Status::Ok();
}

Status CheckResourceSize(const std::string& json, const ImportLimits& limits) {
  if (json.size() > limits.max_resource_bytes) {
    return Status::ResourceExhausted(
        "resource is " + std::to_string(json.size()) +
        " bytes after minification, over the limit max_resource_bytes (" +
        std::to_string(limits.max_resource_bytes) + ")");
  }
  return Status::Ok();
}

std::string EntryName(size_t index) { return "entry " + std::to_string(index); }

std::string LineName(size_t line) { return "line " + std::to_string(line); }

// Bundle.type values quoted in messages are codes, never free text.
// Built by appending (see QuoteDateForMessage: g++ 12's false -Wrestrict).
std::string QuoteCode(std::string_view code) {
  bool safe = !code.empty() && code.size() <= 32;
  for (char c : code) safe = safe && ((c >= 'a' && c <= 'z') || c == '-');
  if (!safe) return "(value not shown)";
  std::string quoted;
  quoted.reserve(code.size() + 2);
  quoted.push_back('"');
  quoted.append(code);
  quoted.push_back('"');
  return quoted;
}

// One resource that is the whole of `minified` (a single-resource document,
// an NDJSON line or a record). Errors are prefixed with `where`.
Status ParseStandaloneResource(object resource, std::string_view minified,
                               const ImportLimits& limits,
                               std::string_view scope, std::string_view where,
                               ParsedResource* out) {
  bool id_from_fallback = false;
  Status status = ClassifyResource(resource, {}, out, &id_from_fallback);
  if (status.ok()) {
    CopyOptions options;
    options.scope = scope;
    MinifiedJsonWalker walker(minified, limits.max_depth);
    status = walker.CopyDocument(options, &out->json);
  }
  if (status.ok()) status = CheckResourceSize(out->json, limits);
  return status.WithContext(where);
}

StatusOr<ParsedDocument> ParseBundle(object bundle, std::string_view minified,
                                     const ImportLimits& limits) {
  std::optional<element> type_member, entry_member;
  TILLIT_RETURN_IF_ERROR(
      FindUniqueMember(bundle, "Bundle", "type", &type_member));
  TILLIT_RETURN_IF_ERROR(
      FindUniqueMember(bundle, "Bundle", "entry", &entry_member));
  std::string_view type;
  if (!type_member) return Status::InvalidArgument("Bundle.type is missing");
  if (type_member->get_string().get(type) != SUCCESS) {
    return Status::InvalidArgument("Bundle.type is not a string");
  }
  if (type != "transaction" && type != "batch" && type != "collection") {
    return Status::InvalidArgument(
        "Bundle.type " + QuoteCode(type) +
        " is not accepted for import (transaction, batch or collection)");
  }
  array entries;
  size_t count = 0;
  if (entry_member) {
    if (entry_member->get_array().get(entries) != SUCCESS) {
      return Status::InvalidArgument("Bundle.entry is not an array");
    }
    count = entries.size();
    if (count > limits.max_entries) {
      return Status::ResourceExhausted(
          "bundle has " + std::to_string(count) +
          " entries, over the limit max_entries (" +
          std::to_string(limits.max_entries) + ")");
    }
  }

  ParsedDocument doc;
  doc.resources.resize(count);
  std::vector<char> id_from_full_url(count, 0);
  // "Type/id" of each entry; sized once, so views into it stay valid.
  std::vector<std::string> targets(count);
  std::unordered_map<std::string_view, size_t> seen;
  seen.reserve(count);
  ReferenceMap references;
  references.reserve(count);

  if (entry_member) {
    size_t i = 0;
    for (element entry_value : entries) {
      const auto fail = [i](const std::string& message) {
        return Status::InvalidArgument(EntryName(i) + ": " + message);
      };
      object entry;
      if (entry_value.get_object().get(entry) != SUCCESS) {
        return fail("entry is not a JSON object");
      }
      std::optional<element> full_url_member, resource_member;
      Status found =
          FindUniqueMember(entry, "entry", "fullUrl", &full_url_member);
      if (found.ok()) {
        found = FindUniqueMember(entry, "entry", "resource", &resource_member);
      }
      if (!found.ok()) return found.WithContext(EntryName(i));
      std::optional<std::string_view> full_url;
      if (full_url_member) {
        std::string_view text;
        if (full_url_member->get_string().get(text) != SUCCESS) {
          return fail("fullUrl is not a string");
        }
        full_url = text;
      }
      if (!resource_member) return fail("missing resource");
      object resource;
      if (resource_member->get_object().get(resource) != SUCCESS) {
        return fail("resource is not a JSON object");
      }

      std::string_view fallback_id;
      if (full_url) fhir_internal::ParseUrnUuid(*full_url, &fallback_id);
      ParsedResource& parsed = doc.resources[i];
      bool from_full_url = false;
      Status classified =
          ClassifyResource(resource, fallback_id, &parsed, &from_full_url);
      if (!classified.ok()) return classified.WithContext(EntryName(i));
      id_from_full_url[i] = from_full_url ? 1 : 0;

      std::string& target = targets[i];
      target.reserve(parsed.type.size() + 1 + parsed.id.size());
      target.append(parsed.type).append("/").append(parsed.id);
      const auto [earlier, fresh] = seen.emplace(target, i);
      if (!fresh) {
        return fail("duplicate " + target + " (same as " +
                    EntryName(earlier->second) + ")");
      }
      if (parsed.type == "Patient") {
        if (doc.patient_index) {
          return fail(
              "a bundle must describe one patient (second Patient; "
              "the first is " +
              EntryName(*doc.patient_index) + ")");
        }
        doc.patient_index = i;
      }
      if (full_url && full_url->starts_with("urn:uuid:") &&
          !references.emplace(*full_url, target).second) {
        return fail("fullUrl is the same as an earlier entry's");
      }
      ++i;
    }
  }

  MinifiedJsonWalker walker(minified, limits.max_depth);
  size_t walked = 0;
  std::string overflow;  // never used for valid input; see the count check
  TILLIT_RETURN_IF_ERROR(walker.CopyBundleResources(
      [&](size_t index) -> std::pair<CopyOptions, std::string*> {
        CopyOptions options;
        options.references = &references;
        options.scope = "bundle";
        if (index >= count) return {options, &overflow};
        if (id_from_full_url[index]) {
          options.inserted_id = doc.resources[index].id;
        }
        return {options, &doc.resources[index].json};
      },
      &walked));
  if (walked != count) {
    return Status::Internal("bundle entries changed between passes");
  }
  for (size_t i = 0; i < count; ++i) {
    Status size = CheckResourceSize(doc.resources[i].json, limits);
    if (!size.ok()) return size.WithContext(EntryName(i));
  }
  return doc;
}

}  // namespace

std::string_view CategoryName(Category category) {
  const auto index = static_cast<size_t>(category);
  if (index >= kCategoryNames.size()) return kCategoryNames.back();  // other
  return kCategoryNames[index];
}

std::optional<Category> ParseCategory(std::string_view name) {
  for (Category category : AllCategories()) {
    if (CategoryName(category) == name) return category;
  }
  return std::nullopt;
}

const std::array<Category, kCategoryCount>& AllCategories() {
  static constexpr std::array<Category, kCategoryCount> kAll = {
      Category::kPatientSummary,   Category::kPrescriptions,
      Category::kDispensations,    Category::kLabResults,
      Category::kVitalSigns,       Category::kImaging,
      Category::kDischargeReports, Category::kEncounters,
      Category::kFinancial,        Category::kOther};
  return kAll;
}

StatusOr<ParsedDocument> ParseFhirDocument(std::string_view bytes,
                                           const ImportLimits& limits) {
  TILLIT_RETURN_IF_ERROR(CheckDocumentSize(bytes, limits));
  bytes = WithoutByteOrderMark(bytes);
  ParserLease parser;
  TILLIT_ASSIGN_OR_RETURN(element root, parser.Parse(bytes, limits.max_depth));
  object top;
  if (root.get_object().get(top) != SUCCESS) {
    return Status::InvalidArgument("document is not a JSON object");
  }
  MinifiedText minified;
  TILLIT_RETURN_IF_ERROR(minified.Minify(bytes));

  std::optional<element> resource_type;
  TILLIT_RETURN_IF_ERROR(
      FindUniqueMember(top, "document", "resourceType", &resource_type));
  std::string_view type;
  if (resource_type && resource_type->get_string().get(type) == SUCCESS &&
      type == "Bundle") {
    return ParseBundle(top, minified.view(), limits);
  }
  ParsedDocument doc;
  doc.resources.resize(1);
  TILLIT_RETURN_IF_ERROR(ParseStandaloneResource(
      top, minified.view(), limits, "document", "resource", &doc.resources[0]));
  if (doc.resources[0].type == "Patient") doc.patient_index = 0;
  return doc;
}

StatusOr<ParsedDocument> ParseFhirNdjson(std::string_view bytes,
                                         const ImportLimits& limits) {
  TILLIT_RETURN_IF_ERROR(CheckDocumentSize(bytes, limits));
  bytes = WithoutByteOrderMark(bytes);
  ParserLease parser;
  MinifiedText minified;
  ParsedDocument doc;
  std::unordered_map<std::string, size_t> seen;  // "Type/id" -> line
  size_t patient_line = 0;
  size_t line_number = 0;
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t newline = bytes.find('\n', pos);
    if (newline == std::string_view::npos) newline = bytes.size();
    std::string_view line = bytes.substr(pos, newline - pos);
    pos = newline + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (doc.resources.size() >= limits.max_entries) {
      return Status::ResourceExhausted("more than max_entries (" +
                                       std::to_string(limits.max_entries) +
                                       ") non-empty lines");
    }
    const std::string where = LineName(line_number);
    StatusOr<element> root = parser.Parse(line, limits.max_depth);
    if (!root.ok()) return root.status().WithContext(where);
    object resource;
    if (root->get_object().get(resource) != SUCCESS) {
      return Status::InvalidArgument(where + ": not a JSON object");
    }
    TILLIT_RETURN_IF_ERROR(minified.Minify(line));
    ParsedResource parsed;
    TILLIT_RETURN_IF_ERROR(ParseStandaloneResource(
        resource, minified.view(), limits, "file", where, &parsed));

    std::string key = parsed.type + "/" + parsed.id;
    const auto [earlier, fresh] = seen.emplace(key, line_number);
    if (!fresh) {
      return Status::InvalidArgument(where + ": duplicate " + key +
                                     " (same as " + LineName(earlier->second) +
                                     ")");
    }
    if (parsed.type == "Patient") {
      if (doc.patient_index) {
        return Status::InvalidArgument(
            where +
            ": a file must describe one patient (second Patient; "
            "the first is " +
            LineName(patient_line) + ")");
      }
      doc.patient_index = doc.resources.size();
      patient_line = line_number;
    }
    doc.resources.push_back(std::move(parsed));
  }
  return doc;
}

StatusOr<ParsedResource> ParseFhirResource(std::string_view json,
                                           const ImportLimits& limits) {
  TILLIT_RETURN_IF_ERROR(CheckDocumentSize(json, limits));
  json = WithoutByteOrderMark(json);
  ParserLease parser;
  StatusOr<element> root = parser.Parse(json, limits.max_depth);
  if (!root.ok()) return root.status().WithContext("resource");
  object resource;
  if (root->get_object().get(resource) != SUCCESS) {
    return Status::InvalidArgument("resource: not a JSON object");
  }
  MinifiedText minified;
  TILLIT_RETURN_IF_ERROR(minified.Minify(json));
  ParsedResource parsed;
  TILLIT_RETURN_IF_ERROR(ParseStandaloneResource(
      resource, minified.view(), limits, "document", "resource", &parsed));
  return parsed;
}

}  // namespace tillit::fhir
