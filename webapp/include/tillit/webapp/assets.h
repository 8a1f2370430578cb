// The citizen web app's static files (webapp/static/), compiled into the
// binary: each with its URL path, media type, bytes and strong ETag. The
// server serves them under /app/ (api/src/app_assets.h); nothing here
// knows HTTP beyond those values.
//
// Thread-safety: the table is constant data; every function may be called
// from any thread.
#ifndef TILLIT_WEBAPP_ASSETS_H_
#define TILLIT_WEBAPP_ASSETS_H_

#include <span>
#include <string_view>

namespace tillit::webapp {

// One file. Every view points at static storage that lives for the whole
// program.
struct Asset {
  std::string_view path;          // relative to static/: "js/main.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;          // the file's bytes
  // A strong entity tag with its quotes: "\"" + the first 16 hex digits
  // of the body's SHA-256 + "\"".
  std::string_view etag;
};

// The asset at `path` (exactly as in Asset::path: no leading '/', no
// "." or ".." segments are resolved), or nullptr.
const Asset* FindAsset(std::string_view path);

// Every asset, ordered by path.
std::span<const Asset> Assets();

}  // namespace tillit::webapp

#endif  // TILLIT_WEBAPP_ASSETS_H_
