#include "tillit/webapp/assets.h"

#include <gtest/gtest.h>

#include <string>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"

namespace tillit::webapp {
namespace {

// The media type embed.cmake gives a path's extension.
std::string TypeFor(std::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string_view ext =
      dot == std::string_view::npos ? "" : path.substr(dot);
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".json") return "application/json";
  if (ext == ".webmanifest") return "application/manifest+json";
  return "(none)";
}

TEST(AssetsTest, HoldsTheAppShell) {
  for (const char* path : {"index.html", "app.css", "icon.svg",
                           "manifest.webmanifest", "sw.js", "js/main.js"}) {
    const Asset* a = FindAsset(path);
    ASSERT_NE(a, nullptr) << path;
    EXPECT_EQ(a->path, path);
    EXPECT_EQ(a->content_type, TypeFor(path)) << path;
  }
  EXPECT_EQ(FindAsset("index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(FindAsset("js/main.js")->content_type,
            "text/javascript; charset=utf-8");
  EXPECT_EQ(FindAsset("manifest.webmanifest")->content_type,
            "application/manifest+json");
  EXPECT_NE(FindAsset("index.html")->body.find("<html"), std::string::npos);
}

TEST(AssetsTest, UnknownPathsAreNull) {
  for (const char* path :
       {"", "/", "/index.html", "nope.js", "js", "js/", "./index.html",
        "js/../index.html", "../index.html", "INDEX.HTML", "index.html/"}) {
    EXPECT_EQ(FindAsset(path), nullptr) << path;
  }
}

TEST(AssetsTest, EveryAssetIsWellFormed) {
  std::string_view previous;
  ASSERT_FALSE(Assets().empty());
  for (const Asset& a : Assets()) {
    SCOPED_TRACE(std::string(a.path));
    EXPECT_FALSE(a.path.empty());
    EXPECT_NE(a.path.front(), '/');
    EXPECT_LT(previous, a.path) << "not in byte order, or a path repeats";
    previous = a.path;
    EXPECT_EQ(FindAsset(a.path), &a);
    EXPECT_EQ(a.content_type, TypeFor(a.path));
    EXPECT_FALSE(a.body.empty());
    // A strong ETag: a quoted prefix of the body's SHA-256.
    ASSERT_EQ(a.etag.size(), 18u) << a.etag;
    EXPECT_EQ(a.etag.front(), '"');
    EXPECT_EQ(a.etag.back(), '"');
    const std::string sha =
        crypto::HexEncode(crypto::Sha256(crypto::AsBytes(a.body)));
    EXPECT_EQ(a.etag.substr(1, 16), sha.substr(0, 16))
        << "the ETag is not of these bytes";
  }
}

}  // namespace
}  // namespace tillit::webapp
