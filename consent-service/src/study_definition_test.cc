#include "tillit/consent_service/study_definition.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

TEST(StudyDefinition, InvalidDefinitionsAreRefused) {
  EXPECT_EQ(ParseStudyDefinition(
                R"({"purpose": "DUO:0000006", "categories": ["vital-signs"]})")
                .status()
                .code(),
            StatusCode::kInvalidArgument);  // no title
  for (
      const char* bad :
      {R"({"title": "t", "purpose": "DUO:0000043", "categories": ["vital-signs"]})",
       R"({"title": "t", "purpose": "DUO:0000007", "categories": ["vital-signs"]})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": []})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["x"]})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"], "obligations": ["DUO:0000045"]})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"], "data_period": {"start": "2020-01-01", "end": "2019-01-01"}})",
       R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"], "sponsor": "x"})"}) {
    EXPECT_EQ(ParseStudyDefinition(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(StudyDefinition, DiseaseSpecificStudyRoundTrips) {
  auto ds = ParseStudyDefinition(
      R"({"title": "T2D", "purpose": {"code": "DUO:0000007", "disease": "MONDO:0005148"},
          "categories": ["lab-results"], "obligations": ["DUO:0000019"],
          "data_period": {"start": "2015-01-01", "end": "2020-12-31"}, "genetic": true})");
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->study.purpose.disease, "MONDO:0005148");
  EXPECT_TRUE(ds->study.genetic);
  auto again = ParseStudyDefinition(StudyToJson(*ds));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->study.data_period.start, ds->study.data_period.start);
  EXPECT_EQ(again->study.data_period.end, ds->study.data_period.end);
  EXPECT_EQ(again->study.obligations, ds->study.obligations);
}

TEST(StudyDefinition, CriteriaEthicsAndFlagsRoundTrip) {
  auto d = ParseStudyDefinition(
      R"({"title": "Adults", "purpose": "DUO:0000042",
          "categories": ["vital-signs", "lab-results"],
          "criteria": {"age": {"min": 18}}, "ethics_approval": "EPN 2025-01",
          "obligations": ["DUO:0000019", "DUO:0000019"],
          "commercial_use": true})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->study.purpose.purpose, Purpose::kGRU);
  EXPECT_EQ(d->study.categories, CategoryBit(Category::kVitalSigns) |
                                     CategoryBit(Category::kLabResults));
  EXPECT_EQ(d->criteria.min_age, 18);
  EXPECT_FALSE(d->criteria.max_age.has_value());
  EXPECT_EQ(d->study.ethics_approval, "EPN 2025-01");
  EXPECT_EQ(d->study.obligations.size(), 1u);  // a repeat is kept once
  EXPECT_TRUE(d->study.commercial_use);
  EXPECT_FALSE(d->study.genetic);
  d->study.id = "s_1";
  d->study.researcher_id = "r_1";

  auto again = ParseStudyDefinition(StudyToJson(*d));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->title, "Adults");
  EXPECT_EQ(again->study.id, "s_1");
  EXPECT_EQ(again->study.researcher_id, "r_1");
  EXPECT_EQ(again->criteria_json, d->criteria_json);
  EXPECT_EQ(again->criteria.min_age, 18);
  EXPECT_EQ(again->study.ethics_approval, "EPN 2025-01");
  EXPECT_EQ(again->study.categories, d->study.categories);
  EXPECT_TRUE(again->study.commercial_use);
}

TEST(StudyDefinition, BadCriteriaNameTheField) {
  auto d = ParseStudyDefinition(
      R"({"title": "t", "purpose": "DUO:0000006", "categories": ["vital-signs"],
          "criteria": {"age": {"min": 70, "max": 40}}})");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(d.status().message().find("criteria.age"), std::string::npos)
      << d.status().message();
  EXPECT_EQ(ParseStudyDefinition(
                R"({"title": "t", "purpose": "DUO:0000006",
                    "categories": ["vital-signs"], "criteria": []})")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(CohortCriteria, AllFieldsAreRead) {
  auto c = ParseCohortCriteria(
      R"({"conditions": ["http://snomed.info/sct|44054006", "E11"],
          "age": {"min": 40, "max": 70}, "sex": "female"})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->conditions, (std::vector<std::string>{
                               "http://snomed.info/sct|44054006", "E11"}));
  EXPECT_EQ(c->min_age, 40);
  EXPECT_EQ(c->max_age, 70);
  EXPECT_EQ(c->sex, "female");
  EXPECT_FALSE(c->empty());
}

TEST(CohortCriteria, AbsentOrNullFieldsAreEmpty) {
  for (const char* text :
       {"{}", R"({"conditions": null, "age": null, "sex": null})",
        R"({"age": {"min": null, "max": null}})"}) {
    auto c = ParseCohortCriteria(text);
    ASSERT_TRUE(c.ok()) << text << ": " << c.status().ToString();
    EXPECT_TRUE(c->empty()) << text;
  }
}

TEST(CohortCriteria, InvalidCriteriaAreRefused) {
  std::string many = R"({"conditions": ["E0")";  // 101 codes
  for (int i = 1; i <= 100; ++i) many += ",\"E" + std::to_string(i) + "\"";
  many += "]}";
  for (const std::string& bad : std::vector<std::string>{
           "[]", "not json", R"({"colour": 1})", R"({"conditions": "E11"})",
           R"({"conditions": [""]})", R"({"conditions": [11]})", many,
           R"({"age": 40})", R"({"age": {"min": -1}})",
           R"({"age": {"max": 151}})", R"({"age": {"min": 1.5}})",
           R"({"age": {"min": 70, "max": 40}})",
           R"({"age": {"min": 1, "step": 2}})", R"({"sex": "x"})",
           R"({"sex": 1})"}) {
    EXPECT_EQ(ParseCohortCriteria(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace tillit::consent
