#include "json_input.h"

#include <gtest/gtest.h>

#include "error.h"

namespace tillit::bridge {
namespace {

ErrorCode CodeOfResult(const Status& s) { return CodeOf(s); }

TEST(JsonInputTest, PercentEncodesAllButUnreservedCharacters) {
  EXPECT_EQ(PercentEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(PercentEncode("2024-01-01T10:00:00+01:00"),
            "2024-01-01T10%3A00%3A00%2B01%3A00");
  EXPECT_EQ(PercentEncode("a b&c=d/e?%"), "a%20b%26c%3Dd%2Fe%3F%25");
  EXPECT_EQ(PercentEncode("\xc3\xa5"), "%C3%A5");
}

TEST(JsonInputTest, BuildsRecordQueriesInAFixedOrder) {
  EXPECT_EQ(*RecordsQuery(nullptr), "");
  EXPECT_EQ(*RecordsQuery("{}"), "");
  EXPECT_EQ(*RecordsQuery(R"({"limit": 5, "type": "Observation",
                             "since": "2020-01-01T00:00:00+02:00"})"),
            "?type=Observation&since=2020-01-01T00%3A00%3A00%2B02%3A00&"
            "limit=5");
  EXPECT_EQ(*RecordsQuery(R"({"cursor": "1.2", "limit": "7"})"),
            "?limit=7&cursor=1.2");
  for (const char* bad :
       {"[", "[]", R"({"colour": "red"})", R"({"type": 3})", R"({"limit": -1})",
        R"({"limit": 1.5})", R"({"type": ""})"}) {
    EXPECT_EQ(CodeOfResult(RecordsQuery(bad).status()),
              ErrorCode::kInvalidArgument)
        << bad;
  }
}

TEST(JsonInputTest, ParsesAccessLogQueries) {
  AccessLogQuery q =
      *ParseAccessLogQuery(R"({"limit": 10, "before": 99, "verify": true})");
  EXPECT_EQ(AccessLogTarget(q),
            "/v1/me/access-log?limit=10&before=99&proofs=true");
  EXPECT_EQ(AccessLogTarget(*ParseAccessLogQuery(nullptr)),
            "/v1/me/access-log");
  for (const char* bad :
       {R"({"limit": 0})", R"({"limit": 1001})", R"({"verify": "yes"})",
        R"({"before": -2})", R"({"proofs": true})"}) {
    EXPECT_EQ(CodeOfResult(ParseAccessLogQuery(bad).status()),
              ErrorCode::kInvalidArgument)
        << bad;
  }
}

TEST(JsonInputTest, ChecksTheShapeOfCitizenResources) {
  EXPECT_EQ(*CitizenResourceText(
                R"({ "resourceType": "Observation", "status": "final" })"),
            R"({"resourceType":"Observation","status":"final"})");
  for (const char* bad :
       {static_cast<const char*>(nullptr), "", "{", "[1]",
        R"({"status": "final"})", R"({"resourceType": "Bundle"})",
        R"({"resourceType": "Patient"})", R"({"resourceType": "obs"})",
        R"({"resourceType": "Observation", "id": "x"})",
        R"({"resourceType": "Observation", "meta": 1})",
        "{\"resourceType\": \"Observation\", \"note\": \"\xff\"}"}) {
    EXPECT_EQ(CodeOfResult(CitizenResourceText(bad).status()),
              ErrorCode::kInvalidArgument)
        << (bad ? bad : "NULL");
  }
  std::string huge = R"({"resourceType": "Observation", "note": ")";
  huge += std::string(kMaxJsonArgumentBytes, 'x') + "\"}";
  EXPECT_EQ(CodeOfResult(CitizenResourceText(huge.c_str()).status()),
            ErrorCode::kInvalidArgument);
}

TEST(JsonInputTest, ChecksNamesAndIds) {
  EXPECT_TRUE(IsDeviceName("Anna's phone"));
  EXPECT_FALSE(IsDeviceName(""));
  EXPECT_FALSE(IsDeviceName(std::string(65, 'a')));
  EXPECT_FALSE(IsDeviceName("tab\there"));
  EXPECT_TRUE(IsDeviceName("\xc3\x85sas telefon"));  // Åsas telefon
  EXPECT_FALSE(IsDeviceName("\xc3"));                // cut UTF-8
  EXPECT_FALSE(IsDeviceName("del\x7f"));
  EXPECT_TRUE(IsPathId("g_0123"));
  EXPECT_FALSE(IsPathId("../x"));
  EXPECT_FALSE(IsPathId(".."));
  EXPECT_FALSE(IsPathId("a/b"));
  EXPECT_TRUE(IsServerId("d_" + std::string(32, 'f'), "d_"));
  EXPECT_FALSE(IsServerId("d_" + std::string(32, 'F'), "d_"));
  EXPECT_FALSE(IsServerId("c_" + std::string(32, 'f'), "d_"));
}

TEST(ErrorTest, CodesRoundTripAndForeignStatusesAreInternal) {
  Status s = BridgeError(ErrorCode::kLogFork, "forked");
  EXPECT_EQ(s.message(), "log_fork: forked");
  EXPECT_EQ(CodeOf(s), ErrorCode::kLogFork);
  EXPECT_EQ(CodeOf(Status::DataLoss("log_fork: not really")),
            ErrorCode::kLogFork);  // same category and prefix
  EXPECT_EQ(CodeOf(Status::IoError("log_fork: wrong category")),
            ErrorCode::kInternal);
  EXPECT_EQ(CodeOf(AsBridgeError(Status::IoError("disk"), ErrorCode::kStorage)),
            ErrorCode::kStorage);
  EXPECT_STREQ(ErrorCodeOfMessage("rate_limited: slow down"), "rate_limited");
  EXPECT_STREQ(ErrorCodeOfMessage("nonsense: x"), "internal");
  EXPECT_STREQ(ErrorCodeOfMessage("no colon"), "internal");
}

}  // namespace
}  // namespace tillit::bridge
