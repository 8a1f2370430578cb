#include "app_assets.h"

#include <string>

#include "tillit/webapp/assets.h"

namespace tillit::api::internal {
namespace {

// Replaces every earlier value of the field (the server sets
// Cache-Control: no-store on every answer before it knows the path).
void SetHeader(httplib::Response& res, const char* name,
               std::string_view value) {
  res.headers.erase(name);
  res.set_header(name, std::string(value));
}

void SetAppHeaders(httplib::Response& res) {
  SetHeader(res, "Content-Security-Policy", kAppContentSecurityPolicy);
  SetHeader(res, "X-Content-Type-Options", "nosniff");
  SetHeader(res, "Referrer-Policy", "no-referrer");
  SetHeader(res, "X-Frame-Options", "DENY");
  SetHeader(res, "Cross-Origin-Opener-Policy", "same-origin");
  SetHeader(res, "Cache-Control", "no-cache");
  // cpp-httplib compresses text for clients that accept it.
  SetHeader(res, "Vary", "Accept-Encoding");
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool HasBody(const httplib::Request& req) {
  const std::string length = req.get_header_value("Content-Length");
  return (!length.empty() && length != "0") ||
         !req.get_header_value("Transfer-Encoding").empty();
}

}  // namespace

bool IsAppPath(std::string_view path) {
  return path == "/app" || path.starts_with("/app/");
}

bool IfNoneMatchMatches(std::string_view field, std::string_view etag) {
  while (!field.empty()) {
    const size_t comma = field.find(',');
    std::string_view tag = Trim(field.substr(0, comma));
    field = comma == std::string_view::npos ? std::string_view()
                                            : field.substr(comma + 1);
    if (tag == "*") return true;
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
  }
  return false;
}

void ServeApp(const httplib::Request& req, httplib::Response& res,
              const AppReject& reject) {
  SetAppHeaders(res);
  if (req.method != "GET" && req.method != "HEAD") {
    res.set_header("Allow", "GET, HEAD");
    reject(405, "method_not_allowed", "allowed: GET, HEAD");
    return;
  }
  if (HasBody(req)) {
    reject(400, "invalid_argument", "the app's files are read without a body");
    return;
  }
  const std::string_view path(req.path);
  if (path == "/app") {
    res.status = 308;
    res.set_header("Location", "/app/");
    return;
  }
  std::string_view name = path.substr(std::string_view("/app/").size());
  if (name.empty()) name = "index.html";
  const webapp::Asset* asset = webapp::FindAsset(name);
  if (asset == nullptr) {
    reject(404, "not_found", "the app has no such file");
    return;
  }
  SetHeader(res, "ETag", asset->etag);
  const size_t conditions = req.get_header_value_count("If-None-Match");
  for (size_t i = 0; i < conditions; ++i) {
    if (IfNoneMatchMatches(req.get_header_value("If-None-Match", i),
                           asset->etag)) {
      res.status = 304;
      return;
    }
  }
  // For a Range request cpp-httplib sends only the asked part (as for its
  // own handlers, which answer 206 then).
  res.status = req.ranges.empty() ? 200 : 206;
  res.set_content(asset->body.data(), asset->body.size(),
                  std::string(asset->content_type).c_str());
}

}  // namespace tillit::api::internal
