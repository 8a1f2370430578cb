// Internal to the FHIR import: walks minified JSON text to copy resources out
// of a document while rewriting bundle-local references.
//
// The text must be the output of simdjson::minify over a document that
// simdjson's parser accepted: the walker relies on that validity and only
// defends against surprises with kInternal errors.
//
// Thread-safety: a MinifiedJsonWalker is used by one thread at a time.
#ifndef TILLIT_FHIR_SRC_FHIR_JSON_WALKER_H_
#define TILLIT_FHIR_SRC_FHIR_JSON_WALKER_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tillit/base/status.h"

namespace tillit::fhir::fhir_internal {

// Decodes the contents of a JSON string literal (the text between the
// quotes). REQUIRES: `raw` is valid JSON string content.
std::string DecodeJsonString(std::string_view raw);

// A bundle entry's fullUrl ("urn:uuid:...") -> the "Type/id" it stands for.
using ReferenceMap = std::unordered_map<std::string_view, std::string_view>;

struct CopyOptions {
  // References are resolved here; a "reference" value starting with
  // "urn:uuid:" that is not a key is an error.
  const ReferenceMap* references = nullptr;
  // Where unresolved references were looked for, for messages ("bundle").
  std::string_view scope = "document";
  // When not empty, `"id":"<inserted_id>"` is added as the first member of
  // the copied object. REQUIRES: a valid FHIR id (nothing to escape).
  std::string_view inserted_id;
};

class MinifiedJsonWalker {
 public:
  // REQUIRES: `text` outlives the walker.
  MinifiedJsonWalker(std::string_view text, size_t max_depth)
      : begin_(text.data()),
        p_(text.data()),
        end_(text.data() + text.size()),
        max_depth_(max_depth) {}

  // Copies the whole text (one JSON object: a single resource) into `out`,
  // rewriting references.
  Status CopyDocument(const CopyOptions& options, std::string* out);

  // For a Bundle: calls `on_resource(index)` for the `resource` member of
  // each element of the top-level `entry` array, in order; it returns the
  // options and the output string for that entry's copy. Errors inside entry
  // i are prefixed "entry i: ". `*entry_count` receives the number of
  // elements of `entry`.
  using ResourceSink =
      std::function<std::pair<CopyOptions, std::string*>(size_t index)>;
  Status CopyBundleResources(const ResourceSink& on_resource,
                             size_t* entry_count);

 private:
  // Scans one value starting at p_, whose enclosing containers number
  // `depth`; advances p_ past it. With kCopy, appends it to `out` (bytes from
  // `flush` on), rewriting reference values.
  template <bool kCopy>
  Status Scan(size_t depth, const CopyOptions* options, std::string* out,
              const char* flush);
  Status SkipValue(size_t depth) {
    return Scan<false>(depth, nullptr, nullptr, nullptr);
  }
  Status CopyValue(size_t depth, const CopyOptions& options, std::string* out);
  // Reads a key at p_ ("...":) and advances past the colon.
  Status ReadKey(std::string_view* raw_key);
  Status Expect(char c);
  Status EnterContainer(size_t depth) const;
  Status Unexpected() const;

  const char* begin_;
  const char* p_;
  const char* end_;
  size_t max_depth_;
};

}  // namespace tillit::fhir::fhir_internal

#endif  // TILLIT_FHIR_SRC_FHIR_JSON_WALKER_H_
