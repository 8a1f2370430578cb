// Tests of the citizen's source tag on the stored JSON text.
#include "tillit/vault/source_tag.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tillit::vault {
namespace {

using nlohmann::json;

const json kCitizens = {{"system", "https://tillit.health/source"},
                        {"code", "citizen"},
                        {"display", "Entered by the citizen"}};

std::string Tagged(std::string_view in) {
  auto out = TagAsCitizens(in);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : std::string();
}

TEST(SourceTagTest, AResourceWithoutMetaGetsItAfterItsId) {
  EXPECT_EQ(
      Tagged(R"({"resourceType":"Observation","id":"o1","status":"final"})"),
      R"({"resourceType":"Observation","id":"o1","meta":{"tag":[)"
      R"({"system":"https://tillit.health/source","code":"citizen",)"
      R"("display":"Entered by the citizen"}]},"status":"final"})");
  // Without an id, after the first member.
  const json no_id = json::parse(Tagged(R"({"resourceType":"Basic"})"));
  EXPECT_EQ(no_id["meta"]["tag"], json::array({kCitizens}));
}

TEST(SourceTagTest, MetaWithoutTagsKeepsWhatItHas) {
  const json out = json::parse(Tagged(
      R"({"resourceType":"Observation","id":"o1","meta":{"versionId":"3"}})"));
  EXPECT_EQ(out["meta"]["versionId"], "3");
  EXPECT_EQ(out["meta"]["tag"], json::array({kCitizens}));
  const json empty = json::parse(
      Tagged(R"({"resourceType":"Observation","id":"o1","meta":{}})"));
  EXPECT_EQ(empty["meta"], json({{"tag", json::array({kCitizens})}}));
}

TEST(SourceTagTest, AClaimedProviderTagIsReplacedAndOtherTagsKept) {
  const std::string in =
      R"({"resourceType":"Condition","id":"c1","meta":{"tag":[)"
      R"({"system":"https://tillit.health/source","code":"provider",)"
      R"("display":"p_0123456789abcdef0123456789abcdef"},)"
      R"({"system":"urn:x-region","code":"batch-7"},)"
      // the same system, written with escaped slashes
      R"({"system":"https:\/\/tillit.health\/source","code":"provider"},)"
      // and given twice: some readers take the first "system"
      R"({"system":"https://tillit.health/source","code":"provider",)"
      R"("display":"p_x","system":"urn:x"}]}})";
  const json out = json::parse(Tagged(in));
  EXPECT_EQ(out["meta"]["tag"],
            json::array({{{"system", "urn:x-region"}, {"code", "batch-7"}},
                         kCitizens}));
}

TEST(SourceTagTest, EverythingElseKeepsItsBytesDecimalsIncluded) {
  const std::string in =
      R"({"resourceType":"Observation","id":"o1","valueQuantity":)"
      R"({"value":1.50,"unit":"mmol/L"},"note":[{"text":"caf\u00e9 \"x\""}]})";
  const std::string out = Tagged(in);
  EXPECT_NE(out.find(R"("valueQuantity":{"value":1.50,"unit":"mmol/L"})"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(R"("note":[{"text":"caf\u00e9 \"x\""}])"),
            std::string::npos)
      << out;
}

TEST(SourceTagTest, TaggingTwiceChangesNothingMore) {
  const std::string once = Tagged(
      R"({"resourceType":"Observation","id":"o1","meta":{"tag":[{"code":"a"}]}})");
  EXPECT_EQ(Tagged(once), once);
}

TEST(SourceTagTest, AnEscapedMetaKeyIsTheMeta) {
  // "met\u0061" is "meta" to every reader: no second meta may be added.
  const json out = json::parse(Tagged(
      R"({"resourceType":"Observation","id":"o1","met\u0061":{"tag":[)"
      R"({"system":"https://tillit.health/source","code":"provider"}]}})"));
  ASSERT_EQ(out.size(), 3u) << out.dump();
  EXPECT_EQ(out["meta"]["tag"], json::array({kCitizens}));
}

TEST(SourceTagTest, MalformedMetaIsRefused) {
  struct Case {
    const char* json;
    const char* message;
  };
  for (const Case& c : {
           Case{R"({"resourceType":"Observation","meta":[]})",
                "meta: must be an object"},
           Case{R"({"resourceType":"Observation","meta":{"tag":{}}})",
                "meta.tag: must be an array"},
           Case{R"({"resourceType":"Observation","meta":{},"meta":{}})",
                "meta: given twice"},
           Case{R"({"resourceType":"Observation","meta":{"tag":[],"tag":[]}})",
                "meta.tag: given twice"},
       }) {
    auto out = TagAsCitizens(c.json);
    ASSERT_FALSE(out.ok()) << c.json;
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(out.status().message(), c.message) << c.json;
  }
  // Not an object at all: the parser never gives that, so it is internal.
  EXPECT_EQ(TagAsCitizens("[1]").status().code(), StatusCode::kInternal);
  EXPECT_EQ(TagAsCitizens(R"({"a":1)").status().code(), StatusCode::kInternal);
}

TEST(SourceTagTest, AProvidersTagReplacesWhatTheBodyClaims) {
  const json out = json::parse(*TagAsProviders(
      R"({"resourceType":"Observation","id":"o1","meta":{"tag":[)"
      R"({"system":"https://tillit.health/source","code":"citizen"}]}})",
      "p_0123456789abcdef0123456789abcdef"));
  EXPECT_EQ(out["meta"]["tag"],
            json::array({{{"system", "https://tillit.health/source"},
                          {"code", "provider"},
                          {"display", "p_0123456789abcdef0123456789abcdef"}}}));
  EXPECT_EQ(*TagBySource(R"({"resourceType":"Basic"})", "citizen"),
            *TagAsCitizens(R"({"resourceType":"Basic"})"));
}

TEST(SourceTagTest, TextWithWhiteSpaceIsTaggedInPlace) {
  const std::string out = Tagged(
      "{ \"resourceType\" : \"Observation\" ,\n \"meta\" : { \"versionId\" : "
      "\"1\" } , \"valueQuantity\" : { \"value\" : 0.010 } }\n");
  const json parsed = json::parse(out);
  EXPECT_EQ(parsed["meta"]["versionId"], "1");
  EXPECT_EQ(parsed["meta"]["tag"], json::array({kCitizens}));
  EXPECT_NE(out.find("\"value\" : 0.010 }"), std::string::npos) << out;
}

TEST(SourceTagTest, MemberTextIsTheMemberAsWritten) {
  const std::string body =
      "{\"decision\": \"accept\",\n  \"resource\": {\"resourceType\": "
      "\"Observation\", \"valueQuantity\": {\"value\": 5.50}} }";
  auto text = MemberText(body, "resource");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  ASSERT_TRUE(text->has_value());
  EXPECT_EQ(**text,
            "{\"resourceType\": \"Observation\", \"valueQuantity\": "
            "{\"value\": 5.50}}");
  EXPECT_FALSE(MemberText(body, "reason")->has_value());
  EXPECT_EQ(
      MemberText(R"({"resource":1,"resource":2})", "resource").status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(MemberText("[]", "resource").status().code(),
            StatusCode::kInternal);
  // A byte order mark before the object is skipped, as parsers do.
  EXPECT_EQ(**MemberText("\xEF\xBB\xBF{\"resource\": {}}", "resource"), "{}");
}

}  // namespace
}  // namespace tillit::vault
