#include "server_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace tillit::api::internal {
namespace {

using nlohmann::json;

// 2025-03-01T12:34:56Z
constexpr int64_t kNow = 1740832496;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ServerLogTest, Rfc3339IsUtcToTheSecond) {
  EXPECT_EQ(ServerLog::Rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(ServerLog::Rfc3339(kNow), "2025-03-01T12:34:56Z");
  EXPECT_EQ(ServerLog::Rfc3339(951782400), "2000-02-29T00:00:00Z");
}

TEST(ServerLogTest, TextLinesKeepTheirShape) {
  FakeClock clock(kNow);
  std::ostringstream out;
  ServerLog log(&out, LogFormat::kText, &clock);
  log.LogRequest({"0123abcd", "GET", "/v1/me/records/{type}/{id}", 200,
                  0.0012345, "citizen"});
  log.LogError("0123abcd", "audit append failed: io error");
  log.LogNotice("SIGTERM received");
  EXPECT_EQ(out.str(),
            "request_id=0123abcd method=GET route=/v1/me/records/{type}/{id} "
            "status=200 ms=1.234 role=citizen\n"
            "request_id=0123abcd audit append failed: io error\n"
            "tillit: SIGTERM received\n");
}

TEST(ServerLogTest, JsonLinesHaveEveryField) {
  FakeClock clock(kNow);
  std::ostringstream out;
  ServerLog log(&out, LogFormat::kJson, &clock);
  log.LogRequest({"0123abcd", "POST", "/v1/me/import", 200, 0.25, "citizen"});
  log.LogRequest({"4567ef01", "GET", "-", 503, 0.0000014, "anyone"});
  log.LogError("4567ef01", "token check failed: io error");
  log.LogNotice("SIGINT received");
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  std::vector<json> j;
  for (const std::string& line : lines) {
    j.push_back(json::parse(line, nullptr, false));
    ASSERT_TRUE(j.back().is_object()) << line;
    EXPECT_EQ(j.back()["time"], "2025-03-01T12:34:56Z") << line;
  }
  EXPECT_EQ(j[0], (json{{"time", "2025-03-01T12:34:56Z"},
                        {"level", "info"},
                        {"request_id", "0123abcd"},
                        {"method", "POST"},
                        {"route", "/v1/me/import"},
                        {"status", 200},
                        {"latency_ms", 250.0},
                        {"role", "citizen"}}));
  // A 5xx is an error; latency is kept to the microsecond.
  EXPECT_EQ(j[1]["level"], "error");
  EXPECT_EQ(j[1]["status"], 503);
  EXPECT_DOUBLE_EQ(j[1]["latency_ms"].get<double>(), 0.001);
  EXPECT_EQ(j[2], (json{{"time", "2025-03-01T12:34:56Z"},
                        {"level", "error"},
                        {"request_id", "4567ef01"},
                        {"msg", "token check failed: io error"}}));
  EXPECT_EQ(j[3], (json{{"time", "2025-03-01T12:34:56Z"},
                        {"level", "info"},
                        {"msg", "SIGINT received"}}));
  // The time is the injected clock's.
  clock.Advance(3600);
  out.str("");
  log.LogNotice("later");
  EXPECT_EQ(json::parse(out.str())["time"], "2025-03-01T13:34:56Z");
}

// A message that could break a line or the JSON (quotes, a newline, bytes
// that are not UTF-8, as in a file name) still makes one valid line.
TEST(ServerLogTest, JsonSurvivesAwkwardMessages) {
  FakeClock clock(kNow);
  std::ostringstream out;
  ServerLog log(&out, LogFormat::kJson, &clock);
  const std::string awkward = "cannot open \"a\nb\" \xff\xfe end";
  log.LogError("0123abcd", awkward);
  const std::vector<std::string> lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  json j = json::parse(lines[0], nullptr, false);
  ASSERT_TRUE(j.is_object()) << lines[0];
  const std::string msg = j["msg"];
  EXPECT_EQ(msg.rfind("cannot open \"a\nb\" ", 0), 0u) << msg;
  EXPECT_NE(msg.find(" end"), std::string::npos) << msg;
}

TEST(ServerLogTest, NoStreamDropsEveryLine) {
  FakeClock clock(kNow);
  for (LogFormat f : {LogFormat::kText, LogFormat::kJson}) {
    ServerLog log(nullptr, f, &clock);
    log.LogRequest({"0123abcd", "GET", "/healthz", 200, 0, "anyone"});
    log.LogError("0123abcd", "x");
    log.LogNotice("y");
  }
}

}  // namespace
}  // namespace tillit::api::internal
