// What an operations team reads from a running server: the build it runs
// (GET /healthz, GET /metrics) and the server log as JSON lines, which a
// full walk of the API must leave free of health data and secrets.
#include <string>

#include "http_fixture.h"
#include "tillit/api/routes.h"
#include "tillit/base/build_info.h"

namespace tillit::testing {
namespace {

class BuildInfoTest : public HttpTest {};

TEST_F(BuildInfoTest, HealthzNamesTheVersionAndTheCommit) {
  Reply r = Get("/healthz");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("status", ""), "ok");
  EXPECT_EQ(j.value("version", ""), BuildVersion()) << r.body;
  EXPECT_EQ(j.value("commit", ""), BuildCommit()) << r.body;
  EXPECT_FALSE(j.value("version", "").empty());
  EXPECT_FALSE(j.value("commit", "").empty());
  EXPECT_TRUE(j["audit_entries"].is_number_integer()) << r.body;
}

TEST_F(BuildInfoTest, MetricsCarryTheBuildInfo) {
  Reply m = Get("/metrics");
  ASSERT_EQ(m.status, 200);
  const std::string line = "tillit_build_info{version=\"" +
                           std::string(BuildVersion()) + "\",commit=\"" +
                           std::string(BuildCommit()) + "\"} 1\n";
  EXPECT_NE(m.body.find("\n" + line), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("# TYPE tillit_build_info gauge\n"), std::string::npos)
      << m.body;
}

// The API description's version is the one the server reports.
TEST(OpenApiVersionTest, IsTheBuildsVersion) {
  const json doc = json::parse(api::OpenApiDocument(), nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["info"].value("version", ""), BuildVersion())
      << "api/openapi.json's info.version and CMake's project(VERSION) "
         "differ";
}

}  // namespace
}  // namespace tillit::testing
