// ε as micro-ε: the text form, JSON numbers, and that every micro-ε value
// survives being written and read as a JSON number.
#include "tillit/consent/epsilon.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace tillit::consent {
namespace {

constexpr const char* kMessage =
    "ε must be a decimal number from 0 to 100 with at most 6 decimals, such "
    "as 0.5";

// "12.345678": the exact decimal of a micro-ε value.
std::string Decimal(int64_t micro) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%06lld",
                static_cast<long long>(micro / kMicroPerEpsilon),
                static_cast<long long>(micro % kMicroPerEpsilon));
  return buf;
}

TEST(ParseEpsilon, ReadsPlainDecimalsExactly) {
  const struct {
    const char* text;
    int64_t micro;
  } cases[] = {
      {"0", 0},
      {"0.0", 0},
      {"0.5", 500'000},
      {"2", 2'000'000},
      {"0.000001", 1},
      {"3.25", 3'250'000},
      {"0.1", 100'000},
      {"99.999999", 99'999'999},
      {"100", kMaxEpsilonMicro},
      {"100.000000", kMaxEpsilonMicro},
      {"007.5", 7'500'000},
      {"0000000000000000000000000001", kMicroPerEpsilon},
  };
  for (const auto& c : cases) {
    StatusOr<int64_t> e = ParseEpsilon(c.text);
    ASSERT_TRUE(e.ok()) << c.text << ": " << e.status().ToString();
    EXPECT_EQ(*e, c.micro) << c.text;
  }
}

TEST(ParseEpsilon, RefusesEverythingElseWithOneClearMessage) {
  for (const char* text :
       {"",
        "-1",
        "+1",
        "-0",
        "1e-07",
        "1e2",
        "1E2",
        " 0.5",
        "0.5 ",
        ".5",
        "5.",
        "0.1234567",
        "0.0000001",
        "100.000001",
        "101",
        "1000",
        "99999999999999999999999999",
        "0,5",
        "0.5.1",
        "NaN",
        "inf",
        "0x1",
        "1/2",
        "\xef\xbc\x91"}) {  // the last: a full-width digit one
    StatusOr<int64_t> e = ParseEpsilon(text);
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(e.status().message(), kMessage) << text;
  }
  // An embedded NUL is not the end of the text.
  EXPECT_FALSE(ParseEpsilon(std::string_view("0.5\0", 4)).ok());
}

TEST(EpsilonFromDouble, AcceptsTheDoublesOfWholeMicroEpsilon) {
  const struct {
    double value;
    int64_t micro;
  } cases[] = {
      {0.0, 0},         {0.5, 500'000},
      {2.0, 2'000'000}, {100.0, 100'000'000},
      {0.000001, 1},    {1e-5, 10},
      {2.5e-5, 25},     {0.1, 100'000},
      {0.3, 300'000},   {99.999999, 99'999'999},
  };
  for (const auto& c : cases) {
    StatusOr<int64_t> e = EpsilonFromDouble(c.value);
    ASSERT_TRUE(e.ok()) << c.value << ": " << e.status().ToString();
    EXPECT_EQ(*e, c.micro) << c.value;
  }
}

TEST(EpsilonFromDouble, RefusesWhatIsNotAWholeMicroEpsilonInRange) {
  for (double value :
       {-1.0, -0.0, -0.000001, 1e-7, 0.1234567, 100.000001, 101.0, 1e300,
        0.1 + 0.2,  // 0.30000000000000004: not the double of 0.3
        std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::denorm_min()}) {
    StatusOr<int64_t> e = EpsilonFromDouble(value);
    ASSERT_FALSE(e.ok()) << value;
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << value;
    EXPECT_EQ(e.status().message(), kMessage) << value;
  }
}

TEST(EpsilonJson, EveryValueSurvivesAJsonNumberRoundTrip) {
  // Every 997th micro-ε value and the edges: the decimal a person writes,
  // parsed as JSON, is the double EpsilonToDouble gives; that double,
  // printed and parsed again, reads back as the same micro-ε.
  std::vector<int64_t> values = {0,
                                 1,
                                 9,
                                 10,
                                 99,
                                 100,
                                 999'999,
                                 1'000'000,
                                 1'000'001,
                                 kMaxEpsilonMicro - 1,
                                 kMaxEpsilonMicro};
  for (int64_t m = 0; m <= kMaxEpsilonMicro; m += 997) values.push_back(m);
  for (int64_t m : values) {
    const std::string text = Decimal(m);
    ASSERT_EQ(*ParseEpsilon(text), m) << text;
    const nlohmann::json written = nlohmann::json::parse(text);
    ASSERT_EQ(written.get<double>(), EpsilonToDouble(m)) << text;
    const std::string printed = nlohmann::json(EpsilonToDouble(m)).dump();
    const nlohmann::json read = nlohmann::json::parse(printed);
    StatusOr<int64_t> back = EpsilonFromDouble(read.get<double>());
    ASSERT_TRUE(back.ok()) << text << " printed as " << printed;
    ASSERT_EQ(*back, m) << text << " printed as " << printed;
  }
}

TEST(EpsilonJson, SmallValuesArePrintedWithAnExponentAndStillRead) {
  // Why a JSON number is read as a double rather than as its printed text:
  // printers use an exponent below 10^-4.
  EXPECT_EQ(nlohmann::json(EpsilonToDouble(10)).dump(), "1e-05");
  EXPECT_EQ(*EpsilonFromDouble(nlohmann::json::parse("1e-05").get<double>()),
            10);
  EXPECT_EQ(nlohmann::json(EpsilonToDouble(500'000)).dump(), "0.5");
  EXPECT_EQ(nlohmann::json(EpsilonToDouble(100'000)).dump(), "0.1");
  EXPECT_FALSE(
      EpsilonFromDouble(nlohmann::json::parse("1e-07").get<double>()).ok());
}

}  // namespace
}  // namespace tillit::consent
