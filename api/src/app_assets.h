// The citizen web app under /app/: the files of tillit_webapp, answered
// before routing (they are not API routes and need no token).
//
//   /app           308 to /app/
//   /app/          index.html
//   /app/<path>    the file at <path> exactly (".", ".." and "//" are
//                  never resolved), else 404
//
// Only GET and HEAD without a body (another method is 405 with
// Allow: GET, HEAD; a body is 400); the query string is ignored. An
// If-None-Match naming the file's ETag is 304. Every answer carries the
// headers of SetAppHeaders: a strict Content-Security-Policy and
// Cache-Control: no-cache, so the browser revalidates by ETag each time
// and the service worker keeps the offline copy.
//
// Thread-safety: functions of their arguments (the asset table is
// constant).
#ifndef TILLIT_API_SRC_APP_ASSETS_H_
#define TILLIT_API_SRC_APP_ASSETS_H_

#include <httplib.h>

#include <functional>
#include <string_view>

namespace tillit::api::internal {

// No inline script or style, no eval, nothing from another origin, and
// the app may not be framed.
inline constexpr std::string_view kAppContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; "
    "worker-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

// True for "/app" and every path under "/app/": the request is the web
// app's, never a route's.
bool IsAppPath(std::string_view path);

// True when an If-None-Match field value names `etag` (weak comparison:
// W/"x" matches "x"; "*" matches any file).
bool IfNoneMatchMatches(std::string_view field, std::string_view etag);

// Answers a request for which IsAppPath(req.path): the app's headers on
// `res`, then either the answer (200, 206 for a Range, 304 or 308) or,
// through `reject(status, code, message)`, an error answered like every
// error before routing (which also closes a connection whose body was
// never read).
using AppReject = std::function<void(int status, std::string_view code,
                                     std::string_view message)>;
void ServeApp(const httplib::Request& req, httplib::Response& res,
              const AppReject& reject);

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_APP_ASSETS_H_
