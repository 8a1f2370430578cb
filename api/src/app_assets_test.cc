#include "app_assets.h"

#include <gtest/gtest.h>

namespace tillit::api::internal {
namespace {

TEST(AppAssetsTest, AppPathsAreSlashAppAndBelow) {
  for (const char* path :
       {"/app", "/app/", "/app/js/main.js", "/app/../x", "/app//index.html"}) {
    EXPECT_TRUE(IsAppPath(path)) << path;
  }
  for (const char* path : {"", "/", "/ap", "/apps", "/application", "/APP/",
                           "/v1/app/", "app/", "/app.js", "//app/"}) {
    EXPECT_FALSE(IsAppPath(path)) << path;
  }
}

TEST(AppAssetsTest, IfNoneMatchComparesWeakly) {
  const char* tag = "\"0123456789abcdef\"";
  EXPECT_TRUE(IfNoneMatchMatches("\"0123456789abcdef\"", tag));
  EXPECT_TRUE(IfNoneMatchMatches("W/\"0123456789abcdef\"", tag));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\", \"0123456789abcdef\"", tag));
  EXPECT_TRUE(IfNoneMatchMatches("\"x\",\t\"0123456789abcdef\" ,", tag));
  EXPECT_TRUE(IfNoneMatchMatches("*", tag));
  EXPECT_TRUE(IfNoneMatchMatches(" * ", tag));

  EXPECT_FALSE(IfNoneMatchMatches("", tag));
  EXPECT_FALSE(IfNoneMatchMatches("\"0123456789abcdee\"", tag));
  EXPECT_FALSE(IfNoneMatchMatches("0123456789abcdef", tag));  // unquoted
  EXPECT_FALSE(IfNoneMatchMatches("\"0123456789ABCDEF\"", tag));
  EXPECT_FALSE(IfNoneMatchMatches("w/\"0123456789abcdef\"", tag));
  EXPECT_FALSE(IfNoneMatchMatches("\"0123456789abcdef", tag));
  EXPECT_FALSE(IfNoneMatchMatches(",,,", tag));
}

}  // namespace
}  // namespace tillit::api::internal
