// The citizen web app under /app/ (api/src/app_assets.h): every file of
// tillit_webapp with its type and ETag, the strict headers on every
// answer, revalidation, the methods allowed, and that no path reaches
// anything but an embedded file.
#include <unistd.h>

#include <string>
#include <vector>

#include "http_fixture.h"
#include "tillit/webapp/assets.h"

namespace tillit::testing {
namespace {

const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; manifest-src 'self'; "
    "worker-src 'self'; font-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

class AppTest : public HttpTest {
 protected:
  Reply GetWith(const std::string& path, const httplib::Headers& h) const {
    return From(Client()->Get(path.c_str(), h));
  }
  Reply Head(const std::string& path, const httplib::Headers& h = {}) const {
    return From(Client()->Head(path.c_str(), h));
  }
  // A request sent as given (a method or body the client helpers lack).
  Reply Send(const std::string& method, const std::string& path,
             const std::string& body = "") const {
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    return From(Client()->send(req));
  }
  static const webapp::Asset& Asset(const char* path) {
    const webapp::Asset* a = webapp::FindAsset(path);
    EXPECT_NE(a, nullptr) << path;
    static const webapp::Asset kNone{};
    return a ? *a : kNone;
  }
  // The headers every /app/ answer carries, each exactly once.
  static void ExpectAppHeaders(const Reply& r, const std::string& what) {
    SCOPED_TRACE(what);
    const std::vector<std::pair<std::string, std::string>> want = {
        {"Content-Security-Policy", kCsp},
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Cross-Origin-Opener-Policy", "same-origin"},
        {"Cache-Control", "no-cache"},
    };
    for (const auto& [name, value] : want) {
      EXPECT_EQ(r.headers.count(name), 1u) << name;
      EXPECT_EQ(r.Header(name), value) << name;
    }
    EXPECT_FALSE(r.Header("X-Request-Id").empty());
  }
  // Never an embedded file, whatever the path.
  static void ExpectNoFile(const Reply& r, const std::string& what) {
    EXPECT_NE(r.status, 0) << what;
    EXPECT_NE(r.status, 200) << what;
    EXPECT_NE(r.status, 304) << what;
    EXPECT_FALSE(r.ErrorCode().empty()) << what << ": " << r.body;
    for (const webapp::Asset& a : webapp::Assets()) {
      EXPECT_NE(r.body, a.body) << what << " answered " << a.path;
    }
  }
};

TEST_F(AppTest, AppSlashIsIndexHtmlWithTheStrictHeaders) {
  const webapp::Asset& index = Asset("index.html");
  Reply r = Get("/app/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.body, index.body);
  EXPECT_EQ(r.Header("ETag"), index.etag);
  ExpectAppHeaders(r, "/app/");
  // The same file by its name, and with a query (ignored).
  for (const char* path : {"/app/index.html", "/app/?v=2", "/app/?x"}) {
    Reply same = Get(path);
    EXPECT_EQ(same.status, 200) << path;
    EXPECT_EQ(same.body, index.body) << path;
    EXPECT_EQ(same.Header("ETag"), index.etag) << path;
  }
  // The API keeps its own caching rule.
  Reply api = Get("/healthz");
  EXPECT_EQ(api.Header("Cache-Control"), "no-store");
  EXPECT_TRUE(api.Header("Content-Security-Policy").empty());
}

TEST_F(AppTest, EveryFileIsServedWithItsTypeAndETag) {
  for (const char* path : {"index.html", "app.css", "icon.svg",
                           "manifest.webmanifest", "sw.js", "js/main.js"}) {
    EXPECT_NE(webapp::FindAsset(path), nullptr) << path;
  }
  for (const webapp::Asset& a : webapp::Assets()) {
    const std::string path = "/app/" + std::string(a.path);
    Reply r = Get(path + "?cache=bust");
    ASSERT_EQ(r.status, 200) << path << " " << r.body.substr(0, 200);
    EXPECT_EQ(r.Header("Content-Type"), a.content_type) << path;
    EXPECT_EQ(r.body, a.body) << path;
    EXPECT_EQ(r.Header("ETag"), a.etag) << path;
    ExpectAppHeaders(r, path);
  }
  EXPECT_EQ(Get("/app/js/main.js").Header("Content-Type"),
            "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/app/app.css").Header("Content-Type"),
            "text/css; charset=utf-8");
  EXPECT_EQ(Get("/app/icon.svg").Header("Content-Type"), "image/svg+xml");
  EXPECT_EQ(Get("/app/manifest.webmanifest").Header("Content-Type"),
            "application/manifest+json");
  ExpectAppHeaders(Get("/app/js/main.js"), "/app/js/main.js");
}

TEST_F(AppTest, AMatchingETagIsNotModified) {
  const webapp::Asset& main_js = Asset("js/main.js");
  const std::string etag(main_js.etag);
  for (const std::string& condition :
       {etag, "W/" + etag, "\"0000000000000000\", " + etag, std::string("*")}) {
    Reply r = GetWith("/app/js/main.js", {{"If-None-Match", condition}});
    EXPECT_EQ(r.status, 304) << condition;
    EXPECT_TRUE(r.body.empty()) << condition;
    EXPECT_EQ(r.Header("ETag"), etag) << condition;
    ExpectAppHeaders(r, "304 for " + condition);
  }
  // A stale tag (the file changed since): the whole file again.
  Reply stale =
      GetWith("/app/js/main.js", {{"If-None-Match", "\"0123456789abcdef\""}});
  ASSERT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, main_js.body);
  EXPECT_EQ(stale.Header("ETag"), etag);
  // Another file's tag does not match this one.
  Reply other =
      GetWith("/app/", {{"If-None-Match", std::string(Asset("sw.js").etag)}});
  EXPECT_EQ(other.status, 200);
  // HEAD revalidates too.
  EXPECT_EQ(Head("/app/js/main.js", {{"If-None-Match", etag}}).status, 304);
}

TEST_F(AppTest, HeadHasTheHeadersButNoBody) {
  const webapp::Asset& index = Asset("index.html");
  Reply r = Head("/app/", {{"Accept-Encoding", "identity"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.Header("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.Header("Content-Length"), std::to_string(index.body.size()));
  EXPECT_EQ(r.Header("ETag"), index.etag);
  ExpectAppHeaders(r, "HEAD /app/");
  EXPECT_EQ(Head("/app/nope.js").status, 404);
}

TEST_F(AppTest, OnlyGetAndHeadWithoutABody) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    for (const char* path : {"/app/", "/app/js/main.js", "/app"}) {
      Reply r = Send(method, path, std::string(method) == "POST" ? "{}" : "");
      const std::string what = std::string(method) + " " + path;
      EXPECT_EQ(r.status, 405) << what << " " << r.body;
      EXPECT_EQ(r.Header("Allow"), "GET, HEAD") << what;
      EXPECT_EQ(r.ErrorCode(), "method_not_allowed") << what;
      ExpectAppHeaders(r, what);
    }
  }
  // A GET with a body is refused (and the connection closed, as the body
  // is never read); the next request on a new connection is fine.
  Reply with_body = Send("GET", "/app/", "unexpected");
  EXPECT_EQ(with_body.status, 400) << with_body.body;
  EXPECT_EQ(with_body.ErrorCode(), "invalid_argument");
  EXPECT_EQ(Get("/app/").status, 200);
}

TEST_F(AppTest, AppWithoutSlashRedirects) {
  for (const char* path : {"/app", "/app?x=1"}) {
    Reply r = Get(path);
    EXPECT_EQ(r.status, 308) << path;
    EXPECT_EQ(r.Header("Location"), "/app/") << path;
    ExpectAppHeaders(r, path);
  }
  EXPECT_EQ(Head("/app").status, 308);
}

TEST_F(AppTest, UnknownFilesAreJsonNotFound) {
  for (const char* path :
       {"/app/nope.js", "/app/js/", "/app/js", "/app/index.html/",
        "/app//index.html", "/app/./index.html", "/app/INDEX.HTML",
        "/app/js/nope/main.js"}) {
    Reply r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_EQ(r.ErrorCode(), "not_found") << path << " " << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/json") << path;
    EXPECT_TRUE(r.Header("ETag").empty()) << path;
    ExpectAppHeaders(r, path);
  }
  // Not the app: the API's own 404.
  for (const char* path : {"/apps/", "/application", "/v1/app/"}) {
    Reply r = Get(path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_TRUE(r.Header("Content-Security-Policy").empty()) << path;
  }
}

TEST_F(AppTest, NoPathLeavesTheEmbeddedFiles) {
  for (const char* path :
       {"/app/../v1/me", "/app/%2e%2e/x", "/app/%2e%2e/%2e%2e/etc/passwd",
        "/app/..%2f..%2fetc%2fpasswd", "/app/../../../../etc/passwd",
        "/app/%2e%2e%2fv1%2fme", "/app/%00", "/app/index.html%00.js",
        "/app/..\\index.html", "/app/js/../index.html",
        "/app/js/../../openapi.json"}) {
    Reply r = Get(path);
    ExpectNoFile(r, path);
    // Either the app's 404, or a route of the API answering as it would
    // (here 401: no token).
    if (r.Header("Content-Security-Policy").empty()) {
      EXPECT_NE(r.status, 404) << path;
    } else {
      EXPECT_EQ(r.status, 404) << path;
      EXPECT_EQ(r.ErrorCode(), "not_found") << path;
    }
  }
}

TEST_F(AppTest, AppRequestsAreCountedAndLogged) {
  ASSERT_EQ(Get("/app/").status, 200);
  ASSERT_EQ(Get("/app/js/main.js").status, 200);
  ASSERT_EQ(Get("/app/nope.js").status, 404);
  // A request is counted once its answer is written: wait for it.
  const std::string ok =
      R"(tillit_http_requests_total{method="",route="/app/",status="200"} 2)";
  const std::string missing =
      R"(tillit_http_requests_total{method="",route="/app/",status="404"} 1)";
  Reply m;
  for (int i = 0; i < 200; ++i) {
    m = Get("/metrics");
    if (m.body.find(ok + "\n") != std::string::npos &&
        m.body.find(missing + "\n") != std::string::npos)
      break;
    usleep(10 * 1000);
  }
  EXPECT_NE(m.body.find(ok + "\n"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find(missing + "\n"), std::string::npos) << m.body;
  StopServer();
  const std::string log = log_.str();
  EXPECT_NE(log.find("method=GET route=/app/ status=200"), std::string::npos)
      << log;
  EXPECT_NE(log.find("method=GET route=/app/ status=404"), std::string::npos)
      << log;
}

}  // namespace
}  // namespace tillit::testing
