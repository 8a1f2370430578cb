#include <gtest/gtest.h>

#include <string>

#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

int64_t Seconds(std::string_view text) {
  StatusOr<int64_t> parsed = ParseFhirDateTime(text);
  EXPECT_TRUE(parsed.ok()) << text << ": " << parsed.status().ToString();
  return parsed.ok() ? *parsed : -1;
}

void ExpectInvalid(std::string_view text) {
  StatusOr<int64_t> parsed = ParseFhirDateTime(text);
  ASSERT_FALSE(parsed.ok()) << "accepted: " << text;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
}

TEST(FhirDateTimeTest, FullDateTimeInUtc) {
  EXPECT_EQ(Seconds("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Seconds("2015-03-04T05:06:07Z"), 1425445567);
  EXPECT_EQ(Seconds("2000-02-29T12:00:00Z"), 951825600);
}

TEST(FhirDateTimeTest, OffsetIsApplied) {
  EXPECT_EQ(Seconds("2015-03-04T07:06:07+02:00"), 1425445567);
  EXPECT_EQ(Seconds("2015-03-04T00:06:07-05:00"), 1425445567);
  EXPECT_EQ(Seconds("2015-03-04T05:06:07+00:00"), 1425445567);
  EXPECT_EQ(Seconds("2015-03-04T05:06:07-00:00"), 1425445567);
  EXPECT_EQ(Seconds("2015-03-04T19:06:07+14:00"), 1425445567);
  EXPECT_EQ(Seconds("2015-03-03T15:36:07-13:30"), 1425445567);
}

TEST(FhirDateTimeTest, NoOffsetMeansUtc) {
  EXPECT_EQ(Seconds("2015-03-04T05:06:07"), 1425445567);
}

TEST(FhirDateTimeTest, FractionalSecondsAreDropped) {
  EXPECT_EQ(Seconds("2015-03-04T05:06:07.999Z"), 1425445567);
  EXPECT_EQ(Seconds("2012-04-07T15:06:54.217+00:00"), 1333811214);
  EXPECT_EQ(Seconds("2015-03-04T05:06:07.123456789"), 1425445567);
}

TEST(FhirDateTimeTest, PartialDatesTakeTheStartOfThePeriod) {
  EXPECT_EQ(Seconds("2015"), 1420070400);        // 2015-01-01
  EXPECT_EQ(Seconds("2015-03"), 1425168000);     // 2015-03-01
  EXPECT_EQ(Seconds("2015-03-04"), 1425427200);  // 2015-03-04
}

TEST(FhirDateTimeTest, DatesBefore1970AreNegative) {
  EXPECT_EQ(Seconds("1969-12-31T23:59:59Z"), -1);
  EXPECT_EQ(Seconds("1900-01-01"), -2208988800);
  EXPECT_EQ(Seconds("0001-01-01"), -62135596800);
}

TEST(FhirDateTimeTest, LeapYears) {
  EXPECT_EQ(Seconds("2016-02-29") + 86400, Seconds("2016-03-01"));
  EXPECT_EQ(Seconds("2000-02-29") + 86400, Seconds("2000-03-01"));
  ExpectInvalid("2015-02-29");
  ExpectInvalid("1900-02-29");  // divisible by 100, not by 400
  ExpectInvalid("2015-02-30");
}

TEST(FhirDateTimeTest, LeapSecondIsAccepted) {
  EXPECT_EQ(Seconds("2016-12-31T23:59:60Z"), Seconds("2017-01-01T00:00:00Z"));
}

TEST(FhirDateTimeTest, MalformedMonthAndDay) {
  ExpectInvalid("2015-13-01");
  ExpectInvalid("2015-00-01");
  ExpectInvalid("2015-01-32");
  ExpectInvalid("2015-04-31");
  ExpectInvalid("2015-01-00");
  ExpectInvalid("2015-1-01");
  ExpectInvalid("2015-01-1");
  ExpectInvalid("0000-01-01");
  ExpectInvalid("15-01-01");
}

TEST(FhirDateTimeTest, MalformedTime) {
  ExpectInvalid("2015-01-01T24:00:00Z");
  ExpectInvalid("2015-01-01T10:60:00Z");
  ExpectInvalid("2015-01-01T10:00:61Z");
  ExpectInvalid("2015-01-01T10:00Z");  // seconds are required
  ExpectInvalid("2015-01-01T");
  ExpectInvalid("2015-01-01 10:00:00");    // space instead of T
  ExpectInvalid("2015-01-01T10:00:00.Z");  // fraction needs digits
  ExpectInvalid("2015-01-01t10:00:00Z");
}

TEST(FhirDateTimeTest, MalformedOffset) {
  ExpectInvalid("2015-01-01T10:00:00+25:00");
  ExpectInvalid("2015-01-01T10:00:00+14:30");
  ExpectInvalid("2015-01-01T10:00:00+05");
  ExpectInvalid("2015-01-01T10:00:00+0500");
  ExpectInvalid("2015-01-01T10:00:00+05:60");
  ExpectInvalid("2015-01-01T10:00:00z");
  ExpectInvalid("2015-01-01T10:00:00ZZ");
  ExpectInvalid("2015-01-01T10:00:00 +01:00");
  ExpectInvalid("2015-01-01+01:00");  // an offset needs a time
}

TEST(FhirDateTimeTest, Garbage) {
  ExpectInvalid("");
  ExpectInvalid("yesterday");
  ExpectInvalid("2015-01-01x");
  ExpectInvalid(" 2015-01-01");
  ExpectInvalid("2015-01-01 ");
  ExpectInvalid("2015/01/01");
  ExpectInvalid(std::string("2015\0-01", 8));
}

TEST(FhirDateTimeTest, MessageQuotesDatesButNotFreeText) {
  StatusOr<int64_t> bad_date = ParseFhirDateTime("2015-13-01");
  ASSERT_FALSE(bad_date.ok());
  EXPECT_NE(bad_date.status().message().find("\"2015-13-01\""),
            std::string::npos);
  StatusOr<int64_t> free_text = ParseFhirDateTime("Anna Andersson");
  ASSERT_FALSE(free_text.ok());
  EXPECT_EQ(free_text.status().message().find("Anna"), std::string::npos);
}

}  // namespace
}  // namespace tillit::fhir
