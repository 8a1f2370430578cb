// FHIR search values: dates with comparators and precision, tokens,
// codings and patient references.
#include "tillit/fhir/search.h"

#include <gtest/gtest.h>

#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

int64_t At(std::string_view text) {
  auto t = ParseFhirDateTime(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.ok() ? *t : 0;
}

TEST(SearchDateTest, PrecisionSetsTheRange) {
  auto year = ParseDateParam("2021");
  ASSERT_TRUE(year.ok());
  EXPECT_EQ(year->comparator, Comparator::kEq);
  EXPECT_EQ(year->start, At("2021-01-01"));
  EXPECT_EQ(year->end, At("2022-01-01"));
  auto month = ParseDateParam("2020-12");
  ASSERT_TRUE(month.ok());
  EXPECT_EQ(month->end, At("2021-01-01"));
  auto feb = ParseDateParam("2024-02");
  ASSERT_TRUE(feb.ok());
  EXPECT_EQ(feb->end - feb->start, 29 * 86400);  // a leap year
  auto day = ParseDateParam("2021-03-04");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(day->end - day->start, 86400);
  auto second = ParseDateParam("2021-03-04T10:00:00+02:00");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->start, At("2021-03-04T08:00:00Z"));
  EXPECT_EQ(second->end - second->start, 1);
}

TEST(SearchDateTest, ComparatorsFollowR4ForAnInstant) {
  auto p = [](std::string_view text) {
    auto d = ParseDateParam(text);
    EXPECT_TRUE(d.ok()) << text;
    return *d;
  };
  const int64_t march = At("2021-03-15T12:00:00Z");
  EXPECT_TRUE(DateMatches(p("2021-03"), march));
  EXPECT_TRUE(DateMatches(p("eq2021"), march));
  EXPECT_FALSE(DateMatches(p("2021-04"), march));
  EXPECT_TRUE(DateMatches(p("ne2021-04"), march));
  EXPECT_FALSE(DateMatches(p("ne2021-03"), march));
  EXPECT_TRUE(DateMatches(p("gt2021-02"), march));
  EXPECT_FALSE(DateMatches(p("gt2021-03"), march));  // after all of March
  EXPECT_TRUE(DateMatches(p("lt2021-04"), march));
  EXPECT_FALSE(DateMatches(p("lt2021-03"), march));
  EXPECT_TRUE(DateMatches(p("ge2021-03"), march));
  EXPECT_FALSE(DateMatches(p("ge2021-04"), march));
  EXPECT_TRUE(DateMatches(p("le2021-03"), march));
  EXPECT_FALSE(DateMatches(p("le2021-02"), march));
}

TEST(SearchDateTest, BadValuesAreRefused) {
  for (std::string_view bad :
       {"", "ge", "sa2021", "ap2021", "xx2021", "2021-13", "2021-02-30", "21",
        "2021-03-04T10:00", "ge 2021", "2021-03-04T10:00:00Q"}) {
    auto d = ParseDateParam(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(SearchTokenTest, FormsAndEscapes) {
  auto t = ParseTokenParam("http://loinc.org|4548-4,|plain,bare,sys|");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 4u);
  EXPECT_EQ((*t)[0].system, "http://loinc.org");
  EXPECT_EQ((*t)[0].code, "4548-4");
  EXPECT_EQ((*t)[1].system, "");
  EXPECT_EQ((*t)[1].code, "plain");
  EXPECT_FALSE((*t)[2].system.has_value());
  EXPECT_EQ((*t)[2].code, "bare");
  EXPECT_EQ((*t)[3].system, "sys");
  EXPECT_FALSE((*t)[3].code.has_value());
  auto escaped = ParseTokenParam(R"(a\,b\|c)");
  ASSERT_TRUE(escaped.ok());
  ASSERT_EQ(escaped->size(), 1u);
  EXPECT_EQ((*escaped)[0].code, "a,b|c");
  for (std::string_view bad : {"", ",", "a,", "|"}) {
    EXPECT_FALSE(ParseTokenParam(bad).ok()) << bad;
  }
}

TEST(SearchTokenTest, CodingsOfEveryShapeMatch) {
  const std::string obs = R"({"resourceType":"Observation","category":[
    {"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
    "code":{"coding":[{"system":"http://loinc.org","code":"4548-4"},{"code":"local"}]}})";
  auto category = CodingsOf(obs, "category");
  ASSERT_EQ(category.size(), 1u);
  auto any = [](std::string_view text) { return *ParseTokenParam(text); };
  EXPECT_TRUE(TokenMatches(category, any("laboratory")));
  EXPECT_TRUE(TokenMatches(
      category,
      any("http://terminology.hl7.org/CodeSystem/observation-category|")));
  EXPECT_FALSE(TokenMatches(category, any("vital-signs")));
  EXPECT_FALSE(TokenMatches(category, any("|laboratory")));  // has a system
  auto code = CodingsOf(obs, "code");
  ASSERT_EQ(code.size(), 2u);
  EXPECT_TRUE(TokenMatches(code, any("http://loinc.org|4548-4")));
  EXPECT_TRUE(TokenMatches(code, any("|local")));
  EXPECT_TRUE(TokenMatches(code, any("nothing,local")));
  EXPECT_FALSE(TokenMatches(code, any("http://snomed.info/sct|4548-4")));
  // AllergyIntolerance.category is an array of code strings.
  auto allergy =
      CodingsOf(R"({"resourceType":"AllergyIntolerance","category":["food"]})",
                "category");
  EXPECT_TRUE(TokenMatches(allergy, any("food")));
  EXPECT_TRUE(CodingsOf("not json", "code").empty());
  EXPECT_TRUE(CodingsOf(obs, "absent").empty());
}

TEST(SearchReferenceTest, PatientReferences) {
  EXPECT_EQ(*PatientReferenceId("Patient/abc-1"), "abc-1");
  EXPECT_EQ(*PatientReferenceId("abc-1"), "abc-1");
  EXPECT_EQ(*PatientReferenceId("https://x.example/fhir/Patient/abc"), "abc");
  for (std::string_view bad :
       {"", "Group/abc", "Patient/", "Patient/a_b", "a/b", "XPatient/abc"}) {
    EXPECT_FALSE(PatientReferenceId(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace tillit::fhir
