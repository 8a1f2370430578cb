// The grant JSON form (SPEC §4): what a citizen may write, what is refused
// and with which message, and the stored / consent-index round trips.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "policy_test_util.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using testing::At;
using testing::GrantDiff;
using testing::TestId;

const int64_t kNow = At("2026-01-01T00:00:00Z");

// The example of SPEC §4.
json SpecExample() {
  return json::parse(R"({
    "grantee": {"kind": "any-researcher"},
    "purposes": ["DUO:0000006"],
    "conditions": [{"code": "DUO:0000046"},
                   {"code": "DUO:0000022", "countries": ["SE","NO","FI"]}],
    "categories": ["lab-results", "vital-signs", "patient-summary"],
    "data_period": {"start": "2015-01-01", "end": null},
    "expires": "2027-12-31T00:00:00Z",
    "include_sensitive": false,
    "exclude": [{"category": "patient-summary",
                 "code": "http://snomed.info/sct|35489007"}]
  })");
}

Grant ParseOk(const json& j) {
  StatusOr<Grant> g = ParseGrant(j.dump(), kNow);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : Grant{};
}

// Asserts InvalidArgument with a message that starts with `path` + ": ".
void ExpectRejected(const json& j, const std::string& path) {
  StatusOr<Grant> g = ParseGrant(j.dump(), kNow);
  ASSERT_FALSE(g.ok()) << "accepted, expected an error at " << path << ": "
                       << j.dump();
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g.status().message().rfind(path + ": ", 0), 0u)
      << "message: " << g.status().message() << "\nexpected path: " << path;
}

// The example with one change applied.
json With(const std::function<void(json&)>& change) {
  json j = SpecExample();
  change(j);
  return j;
}

TEST(GrantJsonTest, SpecExampleParses) {
  const Grant g = ParseOk(SpecExample());
  EXPECT_EQ(g.grantee.kind, Grantee::Kind::kAnyResearcher);
  ASSERT_EQ(g.purposes.size(), 1u);
  EXPECT_EQ(g.purposes[0].purpose, Purpose::kHMB);
  ASSERT_EQ(g.conditions.size(), 2u);
  EXPECT_EQ(g.conditions[0].code, ConditionCode::kNCU);
  EXPECT_EQ(g.conditions[1].code, ConditionCode::kGS);
  EXPECT_EQ(g.conditions[1].countries,
            (std::vector<std::string>{"SE", "NO", "FI"}));
  EXPECT_EQ(g.categories, CategoryBit(Category::kLabResults) |
                              CategoryBit(Category::kVitalSigns) |
                              CategoryBit(Category::kPatientSummary));
  EXPECT_EQ(g.data_period.start, At("2015-01-01"));
  EXPECT_FALSE(g.data_period.end);
  EXPECT_EQ(g.expires, At("2027-12-31T00:00:00Z"));
  EXPECT_FALSE(g.include_sensitive);
  ASSERT_EQ(g.excludes.size(), 1u);
  EXPECT_EQ(g.excludes[0].category, Category::kPatientSummary);
  EXPECT_EQ(g.excludes[0].code, "http://snomed.info/sct|35489007");
  EXPECT_EQ(g.status, Grant::Status::kActive);
  EXPECT_EQ(g.created_at, kNow);
  EXPECT_TRUE(g.id.empty());
}

TEST(GrantJsonTest, DataPeriodEndIsInclusive) {
  const Grant g = ParseOk(With([](json& j) {
    j["data_period"] = {{"start", "2015-01-01"}, {"end", "2020-12-31"}};
  }));
  EXPECT_EQ(g.data_period.start, At("2015-01-01"));
  EXPECT_EQ(g.data_period.end, At("2021-01-01"));  // the day after
  // A one-day period.
  const Grant d = ParseOk(With([](json& j) {
    j["data_period"] = {{"start", "2020-02-29"}, {"end", "2020-02-29"}};
  }));
  EXPECT_EQ(*d.data_period.end - *d.data_period.start, 86400);
}

TEST(GrantJsonTest, OptionalFieldsHaveDefaults) {
  const Grant g = ParseOk(json::parse(R"({
    "grantee": {"kind": "researcher", "id": ")" +
                                      TestId("r_", 1) + R"("},
    "purposes": ["DUO:0000042"], "categories": ["imaging"]})"));
  EXPECT_TRUE(g.conditions.empty());
  EXPECT_FALSE(g.data_period.start || g.data_period.end);
  EXPECT_FALSE(g.expires);
  EXPECT_FALSE(g.include_sensitive);
  EXPECT_TRUE(g.excludes.empty());
  EXPECT_EQ(g.grantee.id, TestId("r_", 1));
}

TEST(GrantJsonTest, NullsMeanUnbounded) {
  const Grant g = ParseOk(With([](json& j) {
    j["data_period"] = nullptr;
    j["expires"] = nullptr;
    j["conditions"] = nullptr;
    j["exclude"] = nullptr;
  }));
  EXPECT_FALSE(g.data_period.start || g.data_period.end || g.expires);
  EXPECT_TRUE(g.conditions.empty() && g.excludes.empty());
}

TEST(GrantJsonTest, StoredFieldsInNewGrantsAreIgnored) {
  const Grant g = ParseOk(With([](json& j) {
    j["id"] = TestId("g_", 9);
    j["status"] = "revoked";
    j["created"] = "2001-01-01T00:00:00Z";
    j["created_at"] = 5;
    j["revoked"] = "2002-01-01T00:00:00Z";
    j["revoked_at"] = 7;
  }));
  EXPECT_TRUE(g.id.empty());
  EXPECT_EQ(g.status, Grant::Status::kActive);
  EXPECT_EQ(g.created_at, kNow);
  EXPECT_FALSE(g.revoked_at);
}

TEST(GrantJsonTest, EveryGranteeKind) {
  const struct {
    json grantee;
    Grantee::Kind kind;
    json purposes;
  } rows[] = {
      {{{"kind", "any-researcher"}},
       Grantee::Kind::kAnyResearcher,
       {"DUO:0000042"}},
      {{{"kind", "researcher"}, {"id", TestId("r_", 4)}},
       Grantee::Kind::kResearcher,
       {"DUO:0000042"}},
      {{{"kind", "organization"}, {"name", "Karolinska Institutet"}},
       Grantee::Kind::kOrganization,
       {"DUO:0000042"}},
      {{{"kind", "study"}, {"id", TestId("s_", 4)}},
       Grantee::Kind::kStudy,
       {"DUO:0000042"}},
      {{{"kind", "provider"}, {"id", TestId("p_", 4)}},
       Grantee::Kind::kProvider,
       {"DUO:0000043"}},
      {{{"kind", "any-provider"}},
       Grantee::Kind::kAnyProvider,
       {"DUO:0000043"}},
  };
  for (const auto& row : rows) {
    const Grant g = ParseOk(With([&](json& j) {
      j["grantee"] = row.grantee;
      j["purposes"] = row.purposes;
      if (row.purposes[0] == "DUO:0000043") j["conditions"] = json::array();
    }));
    EXPECT_EQ(g.grantee.kind, row.kind) << row.grantee.dump();
  }
}

TEST(GrantJsonTest, PurposeObjectsAndDiseases) {
  const Grant g = ParseOk(With([](json& j) {
    j["purposes"] = json::parse(
        R"(["DUO:0000042", {"code": "DUO:0000006"},
            {"code": "DUO:0000007", "disease": "MONDO:0005148"}])");
  }));
  ASSERT_EQ(g.purposes.size(), 3u);
  EXPECT_EQ(g.purposes[1].purpose, Purpose::kHMB);
  EXPECT_EQ(g.purposes[2].purpose, Purpose::kDS);
  EXPECT_EQ(g.purposes[2].disease, "MONDO:0005148");
}

TEST(GrantJsonTest, ConditionParameters) {
  const Grant g = ParseOk(With([](json& j) {
    j["conditions"] = json::array(
        {{{"code", "DUO:0000025"}, {"until", "2026-06-30"}},
         {{"code", "DUO:0000026"}, {"researchers", {TestId("r_", 1)}}},
         {{"code", "DUO:0000027"}, {"studies", {TestId("s_", 1)}}},
         {{"code", "DUO:0000028"}, {"institutions", {"Karolinska Institutet"}}},
         {{"code", "DUO:0000024"}, {"until", "2028-01-01T12:00:00+01:00"}}});
  }));
  ASSERT_EQ(g.conditions.size(), 5u);
  EXPECT_EQ(g.conditions[0].until, At("2026-06-30"));  // start of that day
  EXPECT_EQ(g.conditions[1].ids, std::vector<std::string>{TestId("r_", 1)});
  EXPECT_EQ(g.conditions[2].ids, std::vector<std::string>{TestId("s_", 1)});
  EXPECT_EQ(g.conditions[3].ids,
            std::vector<std::string>{"Karolinska Institutet"});
  EXPECT_EQ(g.conditions[4].until, At("2028-01-01T11:00:00Z"));
  // MOR without a date is fine.
  ParseOk(With([](json& j) {
    j["conditions"] = json::array({{{"code", "DUO:0000024"}}});
  }));
}

TEST(GrantJsonTest, ProviderGrantWithTimeLimit) {
  const Grant g = ParseOk(With([](json& j) {
    j["grantee"] = {{"kind", "provider"}, {"id", TestId("p_", 1)}};
    j["purposes"] = {"DUO:0000043"};
    j["conditions"] = json::array(
        {{{"code", "DUO:0000025"}, {"until", "2026-03-01T00:00:00Z"}}});
    j["include_sensitive"] = true;
  }));
  EXPECT_EQ(g.grantee.kind, Grantee::Kind::kProvider);
  EXPECT_TRUE(g.include_sensitive);
}

struct BadCase {
  const char* name;
  std::function<void(json&)> change;
  std::string path;
};

TEST(GrantJsonTest, EveryBadFieldIsNamed) {
  const std::string long_text(300, 'x');
  const std::string r1 = TestId("r_", 1);
  const BadCase cases[] = {
      // top level
      {"unknown top-level field", [](json& j) { j["purpose"] = "x"; },
       "purpose"},
      {"typo in include_sensitive",
       [](json& j) { j["include_sensitve"] = true; }, "include_sensitve"},
      // grantee
      {"no grantee", [](json& j) { j.erase("grantee"); }, "grantee"},
      {"grantee not object", [](json& j) { j["grantee"] = "any"; }, "grantee"},
      {"no kind", [](json& j) { j["grantee"] = json::object(); },
       "grantee.kind"},
      {"unknown kind",
       [](json& j) {
         j["grantee"] = {{"kind", "anyone"}};
       },
       "grantee.kind"},
      {"researcher without id",
       [](json& j) {
         j["grantee"] = {{"kind", "researcher"}};
       },
       "grantee.id"},
      {"researcher id of a study",
       [](json& j) {
         j["grantee"] = {{"kind", "researcher"}, {"id", TestId("s_", 1)}};
       },
       "grantee.id"},
      {"id with capitals",
       [](json& j) {
         j["grantee"] = {{"kind", "study"},
                         {"id", "s_0123456789ABCDEF0123456789abcdef"}};
       },
       "grantee.id"},
      {"short id",
       [](json& j) {
         j["grantee"] = {{"kind", "provider"}, {"id", "p_12"}};
       },
       "grantee.id"},
      {"organization without name",
       [](json& j) {
         j["grantee"] = {{"kind", "organization"}};
       },
       "grantee.name"},
      {"organization name too long",
       [&](json& j) {
         j["grantee"] = {{"kind", "organization"}, {"name", long_text}};
       },
       "grantee.name"},
      {"organization name empty",
       [](json& j) {
         j["grantee"] = {{"kind", "organization"}, {"name", ""}};
       },
       "grantee.name"},
      {"id on any-researcher",
       [&](json& j) {
         j["grantee"] = {{"kind", "any-researcher"}, {"id", r1}};
       },
       "grantee.id"},
      {"unknown grantee field",
       [&](json& j) {
         j["grantee"] = {{"kind", "researcher"}, {"id", r1}, {"idd", r1}};
       },
       "grantee.idd"},
      // purposes
      {"no purposes", [](json& j) { j.erase("purposes"); }, "purposes"},
      {"empty purposes", [](json& j) { j["purposes"] = json::array(); },
       "purposes"},
      {"purposes not array", [](json& j) { j["purposes"] = "DUO:0000006"; },
       "purposes"},
      {"unknown purpose",
       [](json& j) {
         j["purposes"] = {"DUO:0000006", "DUO:0000045"};
       },
       "purposes[1]"},
      {"purpose number", [](json& j) { j["purposes"] = {42}; }, "purposes[0]"},
      {"DS as a string", [](json& j) { j["purposes"] = {"DUO:0000007"}; },
       "purposes[0]"},
      {"DS without disease",
       [](json& j) {
         j["purposes"] = {{{"code", "DUO:0000007"}}};
       },
       "purposes[0].disease"},
      {"DS with a bad disease",
       [](json& j) {
         j["purposes"] = {{{"code", "DUO:0000007"}, {"disease", "diabetes"}}};
       },
       "purposes[0].disease"},
      {"disease on HMB",
       [](json& j) {
         j["purposes"] = {{{"code", "DUO:0000006"}, {"disease", "MONDO:1"}}};
       },
       "purposes[0].disease"},
      {"purpose object without code",
       [](json& j) {
         j["purposes"] = {{{"disease", "MONDO:1"}}};
       },
       "purposes[0].code"},
      {"unknown purpose field",
       [](json& j) {
         j["purposes"] = {{{"code", "DUO:0000006"}, {"x", 1}}};
       },
       "purposes[0].x"},
      {"duplicate purpose",
       [](json& j) {
         j["purposes"] = {"DUO:0000006", "DUO:0000006"};
       },
       "purposes[1]"},
      {"clinical care for a researcher",
       [](json& j) { j["purposes"] = {"DUO:0000043"}; }, "purposes[0]"},
      {"research purpose for a provider",
       [](json& j) {
         j["grantee"] = {{"kind", "any-provider"}};
         j["conditions"] = json::array();
       },
       "purposes[0]"},
      {"too many purposes",
       [](json& j) {
         j["purposes"] = json::array();
         for (int i = 0; i < 33; ++i) {
           j["purposes"].push_back(
               {{"code", "DUO:0000007"},
                {"disease", "MONDO:" + std::to_string(1000 + i)}});
         }
       },
       "purposes"},
      // conditions
      {"conditions not array", [](json& j) { j["conditions"] = "NCU"; },
       "conditions"},
      {"condition not object",
       [](json& j) { j["conditions"][0] = "DUO:0000046"; }, "conditions[0]"},
      {"unknown condition code",
       [](json& j) { j["conditions"][1]["code"] = "DUO:0000006"; },
       "conditions[1].code"},
      {"condition without code",
       [](json& j) { j["conditions"][0] = json::object(); },
       "conditions[0].code"},
      {"GS without countries",
       [](json& j) { j["conditions"][1].erase("countries"); },
       "conditions[1].countries"},
      {"GS with empty countries",
       [](json& j) { j["conditions"][1]["countries"] = json::array(); },
       "conditions[1].countries"},
      {"GS lowercase country",
       [](json& j) { j["conditions"][1]["countries"][2] = "fi"; },
       "conditions[1].countries[2]"},
      {"GS three-letter country",
       [](json& j) { j["conditions"][1]["countries"][0] = "SWE"; },
       "conditions[1].countries[0]"},
      {"GS duplicate country",
       [](json& j) { j["conditions"][1]["countries"][2] = "SE"; },
       "conditions[1].countries[2]"},
      {"GS too many countries",
       [](json& j) {
         json list = json::array();
         for (char a = 'A'; a <= 'C'; ++a) {
           for (char b = 'A'; b <= 'Z'; ++b) list.push_back(std::string{a, b});
         }
         j["conditions"][1]["countries"] = list;
       },
       "conditions[1].countries"},
      {"countries on NCU",
       [](json& j) { j["conditions"][0]["countries"] = {"SE"}; },
       "conditions[0].countries"},
      {"unknown condition field",
       [](json& j) { j["conditions"][1]["country"] = {"SE"}; },
       "conditions[1].country"},
      {"TS without until",
       [](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000025"}};
       },
       "conditions[0].until"},
      {"TS with a bad until",
       [](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000025"}, {"until", "soon"}};
       },
       "conditions[0].until"},
      {"TS in the past",
       [](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000025"},
                               {"until", "2025-12-31T23:59:59Z"}};
       },
       "conditions[0].until"},
      {"until on NCU",
       [](json& j) { j["conditions"][0]["until"] = "2027-01-01"; },
       "conditions[0].until"},
      {"US without researchers",
       [](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000026"}};
       },
       "conditions[0].researchers"},
      {"US with a study id",
       [](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000026"},
                               {"researchers", {TestId("s_", 1)}}};
       },
       "conditions[0].researchers[0]"},
      {"PS with a researcher id",
       [&](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000027"}, {"studies", {r1}}};
       },
       "conditions[0].studies[0]"},
      {"studies on US",
       [&](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000026"},
                               {"researchers", {r1}},
                               {"studies", {TestId("s_", 1)}}};
       },
       "conditions[0].studies"},
      {"IS with an empty name",
       [](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000028"}, {"institutions", {""}}};
       },
       "conditions[0].institutions[0]"},
      {"IS with a long name",
       [&](json& j) {
         j["conditions"][0] = {{"code", "DUO:0000028"},
                               {"institutions", {"ok", long_text}}};
       },
       "conditions[0].institutions[1]"},
      {"duplicate condition",
       [](json& j) {
         j["conditions"][1] = {{"code", "DUO:0000046"}};
       },
       "conditions[1]"},
      {"too many conditions",
       [](json& j) {
         j["conditions"] = json::array();
         for (int i = 0; i < 33; ++i) {
           j["conditions"].push_back({{"code", "DUO:0000046"}});
         }
       },
       "conditions"},
      {"NCU on a provider grant",
       [](json& j) {
         j["grantee"] = {{"kind", "any-provider"}};
         j["purposes"] = {"DUO:0000043"};
       },
       "conditions[0]"},
      // categories
      {"no categories", [](json& j) { j.erase("categories"); }, "categories"},
      {"empty categories", [](json& j) { j["categories"] = json::array(); },
       "categories"},
      {"unknown category", [](json& j) { j["categories"][1] = "labs"; },
       "categories[1]"},
      {"duplicate category",
       [](json& j) { j["categories"][2] = "lab-results"; }, "categories[2]"},
      // data_period
      {"data_period not object", [](json& j) { j["data_period"] = "2015"; },
       "data_period"},
      {"bad start date",
       [](json& j) { j["data_period"]["start"] = "2015-13-01"; },
       "data_period.start"},
      {"start as instant",
       [](json& j) { j["data_period"]["start"] = "2015-01-01T00:00:00Z"; },
       "data_period.start"},
      {"partial end date", [](json& j) { j["data_period"]["end"] = "2016-02"; },
       "data_period.end"},
      {"end before start",
       [](json& j) { j["data_period"]["end"] = "2014-12-31"; },
       "data_period.end"},
      {"unknown data_period field",
       [](json& j) { j["data_period"]["until"] = "2020-01-01"; },
       "data_period.until"},
      // expires
      {"expires as a date", [](json& j) { j["expires"] = "2027-12-31"; },
       "expires"},
      {"expires without zone",
       [](json& j) { j["expires"] = "2027-12-31T00:00:00"; }, "expires"},
      {"expires now", [](json& j) { j["expires"] = "2026-01-01T00:00:00Z"; },
       "expires"},
      {"expires in the past",
       [](json& j) { j["expires"] = "2020-01-01T00:00:00Z"; }, "expires"},
      {"expires as a number", [](json& j) { j["expires"] = 1798675200; },
       "expires"},
      // include_sensitive
      {"include_sensitive as string",
       [](json& j) { j["include_sensitive"] = "false"; }, "include_sensitive"},
      // exclude
      {"exclude not array", [](json& j) { j["exclude"] = json::object(); },
       "exclude"},
      {"empty exclude entry", [](json& j) { j["exclude"][0] = json::object(); },
       "exclude[0]"},
      {"exclude code without system",
       [](json& j) { j["exclude"][0]["code"] = "35489007"; },
       "exclude[0].code"},
      {"exclude code with empty code",
       [](json& j) { j["exclude"][0]["code"] = "http://snomed.info/sct|"; },
       "exclude[0].code"},
      {"exclude record without id",
       [](json& j) { j["exclude"][0]["record"] = "Observation/"; },
       "exclude[0].record"},
      {"exclude record lowercase type",
       [](json& j) { j["exclude"][0]["record"] = "observation/abc"; },
       "exclude[0].record"},
      {"exclude record bad id",
       [](json& j) { j["exclude"][0]["record"] = "Observation/a_b"; },
       "exclude[0].record"},
      {"exclude unknown category",
       [](json& j) { j["exclude"][0]["category"] = "labs"; },
       "exclude[0].category"},
      {"exclude unknown field",
       [](json& j) { j["exclude"][0]["type"] = "Observation"; },
       "exclude[0].type"},
      {"too many excludes",
       [](json& j) {
         for (int i = 0; i < 32; ++i) j["exclude"].push_back(j["exclude"][0]);
       },
       "exclude"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    ExpectRejected(With(c.change), c.path);
  }
}

TEST(GrantJsonTest, MessagesDoNotEchoValues) {
  const std::string secret =
      "Dr Jane Doe psychiatric clinic " + std::string(250, 'z');
  for (const json& bad : {
           With([&](json& j) {
             j["grantee"] = {{"kind", "organization"}, {"name", secret}};
           }),
           With([&](json& j) {
             j["grantee"] = {{"kind", secret}};
           }),
           With([&](json& j) { j["purposes"] = {secret}; }),
           With([&](json& j) { j["exclude"][0]["code"] = secret; }),
           With([&](json& j) { j[secret] = 1; }),
       }) {
    StatusOr<Grant> g = ParseGrant(bad.dump(), kNow);
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().message().find("Jane"), std::string::npos)
        << g.status().message();
  }
}

TEST(GrantJsonTest, MalformedDocuments) {
  for (const std::string text :
       {"", "not json", "[]", "null", "{\"grantee\":", "42",
        // the same key twice: the last would silently win
        R"({"grantee":{"kind":"any-researcher"},"purposes":["DUO:0000006"],
            "categories":["imaging"],"categories":["financial"]})"}) {
    StatusOr<Grant> g = ParseGrant(text, kNow);
    ASSERT_FALSE(g.ok()) << text;
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument) << text;
  }
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "[";
  for (int i = 0; i < 100; ++i) deep += "]";
  StatusOr<Grant> g = ParseGrant(R"({"grantee":)" + deep + "}", kNow);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("nested deeper"), std::string::npos)
      << g.status().message();
  // Larger than any grant can be.
  g = ParseGrant(std::string(2u << 20, ' '), kNow);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  // Invalid UTF-8 is refused by the parser.
  const std::string bad_utf8 =
      R"({"grantee":{"kind":"organization","name":"x)" +
      std::string("\xff\xfe") +
      R"("},"purposes":["DUO:0000042"],"categories":["imaging"]})";
  StatusOr<Grant> u = ParseGrant(bad_utf8, kNow);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
}

TEST(GrantJsonTest, StoredRoundTripKeepsEveryField) {
  testing::GrantGenerator gen(20261123);
  for (int i = 0; i < 2000; ++i) {
    const Grant g = gen.Make(kNow);
    StatusOr<Grant> back = GrantFromStoredJson(GrantToJson(g));
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n"
                           << GrantToJson(g);
    ASSERT_EQ(GrantDiff(g, *back), "") << GrantToJson(g);
  }
}

TEST(GrantJsonTest, StoredFormHasIdStatusAndTimes) {
  Grant g = ParseOk(SpecExample());
  g.id = TestId("g_", 1);
  g.status = Grant::Status::kRevoked;
  g.revoked_at = At("2026-02-01T10:00:00Z");
  const json j = json::parse(GrantToJson(g));
  EXPECT_EQ(j["id"], TestId("g_", 1));
  EXPECT_EQ(j["status"], "revoked");
  EXPECT_EQ(j["created"], "2026-01-01T00:00:00Z");
  EXPECT_EQ(j["revoked"], "2026-02-01T10:00:00Z");
  EXPECT_EQ(j["expires"], "2027-12-31T00:00:00Z");
  EXPECT_EQ(j["data_period"],
            json::parse(R"({"start":"2015-01-01","end":null})"));
  EXPECT_EQ(j["purposes"], json::parse(R"(["DUO:0000006"])"));
  // The stored form is also accepted as a new grant (stored fields ignored).
  EXPECT_TRUE(ParseGrant(GrantToJson(g), kNow).ok());
}

TEST(GrantJsonTest, IndexFormLeavesOutExcludes) {
  Grant g = ParseOk(SpecExample());
  g.id = TestId("g_", 2);
  const json j = json::parse(GrantIndexJson(g));
  EXPECT_FALSE(j.contains("exclude"));
  EXPECT_EQ(GrantIndexJson(g).find("35489007"), std::string::npos);
  StatusOr<Grant> back = GrantFromStoredJson(GrantIndexJson(g));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->excludes.empty());
  g.excludes.clear();
  EXPECT_EQ(GrantDiff(g, *back), "");
}

TEST(GrantJsonTest, StoredFormIsValidatedToo) {
  Grant g = ParseOk(SpecExample());
  json j = json::parse(GrantToJson(g));
  j.erase("status");
  EXPECT_FALSE(GrantFromStoredJson(j.dump()).ok());
  j = json::parse(GrantToJson(g));
  j["status"] = "paused";
  EXPECT_FALSE(GrantFromStoredJson(j.dump()).ok());
  j = json::parse(GrantToJson(g));
  j["id"] = "g_1";
  EXPECT_FALSE(GrantFromStoredJson(j.dump()).ok());
  j = json::parse(GrantToJson(g));
  j["categories"] = json::array();
  EXPECT_FALSE(GrantFromStoredJson(j.dump()).ok());
  // No expiry check on stored data: an expired grant still loads.
  j = json::parse(GrantToJson(g));
  j["expires"] = "2001-01-01T00:00:00Z";
  EXPECT_TRUE(GrantFromStoredJson(j.dump()).ok());
}

}  // namespace
}  // namespace tillit::consent
