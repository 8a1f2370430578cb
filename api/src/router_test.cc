#include <gtest/gtest.h>

#include <set>

#include "route.h"

namespace tillit::api::internal {
namespace {

TEST(RouterTest, EveryRouteIsUniqueAndHasAHandlerAndRoles) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const Route& r : RouteTable()) {
    EXPECT_TRUE(seen.insert({r.info.method, r.info.path}).second)
        << r.info.method << " " << r.info.path;
    EXPECT_NE(r.handler, nullptr) << r.info.path;
    EXPECT_NE(r.info.roles, 0u) << r.info.path;
    // A public route never also names roles: it would suggest a check that
    // does not happen.
    if (r.info.roles & kAnyone) {
      EXPECT_EQ(r.info.roles, static_cast<uint32_t>(kAnyone)) << r.info.path;
    }
  }
}

TEST(RouterTest, MatchesLiteralsAndParameters) {
  auto m = MatchRoute("POST", "/v1/admin/citizens/c_1/enrollment-code");
  ASSERT_TRUE(m && m->route);
  ASSERT_EQ(m->params.size(), 1u);
  EXPECT_EQ(m->params[0].first, "citizen_id");
  EXPECT_EQ(m->params[0].second, "c_1");
  auto h = MatchRoute("GET", "/healthz");
  ASSERT_TRUE(h && h->route);
  EXPECT_EQ(h->route->info.path, "/healthz");
}

TEST(RouterTest, UnknownPathIsNulloptAndWrongMethodListsTheAllowed) {
  EXPECT_FALSE(MatchRoute("GET", "/nope"));
  EXPECT_FALSE(MatchRoute("GET", "/healthz/more"));
  auto m = MatchRoute("DELETE", "/healthz");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->route, nullptr);
  EXPECT_EQ(m->allow, "GET");
}

TEST(RouterTest, ParametersAreDecodedButMayNotHideSlashes) {
  auto m = MatchRoute("POST", "/v1/admin/citizens/c%5F1/enrollment-code");
  ASSERT_TRUE(m && m->route);
  EXPECT_EQ(m->params[0].second, "c_1");
  auto slash = MatchRoute("POST", "/v1/admin/citizens/a%2Fb/enrollment-code");
  EXPECT_FALSE(slash && slash->route);
  auto bad = MatchRoute("POST", "/v1/admin/citizens/%zz/enrollment-code");
  EXPECT_FALSE(bad && bad->route);
}

}  // namespace
}  // namespace tillit::api::internal
