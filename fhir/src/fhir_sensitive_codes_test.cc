// The sensitive code list: matching rules, and agreement between the C++
// table and its documentation (docs/SENSITIVE_CODES.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "sensitive_codes.h"

namespace tillit::fhir {
namespace {

std::filesystem::path DocPath() {
#ifdef TILLIT_SOURCE_DIR
  const std::filesystem::path root = TILLIT_SOURCE_DIR;
#else
  // This file is <root>/vault/src/fhir_sensitive_codes_test.cc.
  const std::filesystem::path root =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
#endif
  return root / "docs" / "SENSITIVE_CODES.md";
}

using Row = std::tuple<std::string, std::string, std::string, std::string>;

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t");
  const auto last = s.find_last_not_of(" \t");
  if (first == std::string::npos) return "";
  s = s.substr(first, last - first + 1);
  if (s.size() >= 2 && s.front() == '`' && s.back() == '`') {
    s = s.substr(1, s.size() - 2);
  }
  return s;
}

// Rows of the "The list" table: | `system` | `code` | match | area | meaning |
std::vector<Row> DocumentedRows() {
  std::ifstream in(DocPath());
  EXPECT_TRUE(in.good()) << "cannot read " << DocPath();
  std::vector<Row> rows;
  bool in_list = false;
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("## ")) in_list = line == "## The list";
    if (!in_list || !line.starts_with("| `")) continue;
    std::vector<std::string> cells;
    std::stringstream cells_in(line.substr(1));
    std::string cell;
    while (std::getline(cells_in, cell, '|')) cells.push_back(Trim(cell));
    EXPECT_GE(cells.size(), 5u) << line;
    if (cells.size() < 5) continue;
    rows.emplace_back(cells[0], cells[1], cells[2], cells[3]);
  }
  return rows;
}

std::vector<Row> TableRows() {
  std::vector<Row> rows;
  for (const SensitiveCode& c : SensitiveCodeTable()) {
    rows.emplace_back(std::string(c.system), std::string(c.code),
                      c.match == CodeMatch::kExact ? "exact" : "prefix",
                      std::string(SensitiveAreaName(c.area)));
  }
  return rows;
}

TEST(SensitiveCodesDocTest, EveryDocumentedCodeIsInTheTable) {
  const std::vector<Row> documented = DocumentedRows();
  ASSERT_FALSE(documented.empty());
  const std::vector<Row> table = TableRows();
  const std::set<Row> in_table(table.begin(), table.end());
  for (const Row& row : documented) {
    EXPECT_TRUE(in_table.count(row))
        << "documented but not in sensitive_codes.cc: " << std::get<0>(row)
        << " " << std::get<1>(row) << " " << std::get<2>(row) << " "
        << std::get<3>(row);
  }
}

TEST(SensitiveCodesDocTest, EveryTableRowIsDocumentedInTheSameOrder) {
  const std::vector<Row> documented = DocumentedRows();
  const std::set<Row> in_doc(documented.begin(), documented.end());
  for (const Row& row : TableRows()) {
    EXPECT_TRUE(in_doc.count(row))
        << "in sensitive_codes.cc but not documented: " << std::get<0>(row)
        << " " << std::get<1>(row);
  }
  EXPECT_EQ(documented, TableRows());
}

TEST(SensitiveCodesTest, NoRepeatedRowsAndPrefixOnlyForIcd) {
  std::set<std::pair<std::string_view, std::string_view>> seen;
  for (const SensitiveCode& c : SensitiveCodeTable()) {
    EXPECT_TRUE(seen.emplace(c.system, c.code).second)
        << c.system << " " << c.code;
    if (c.match == CodeMatch::kPrefix) {
      EXPECT_TRUE(c.system == kIcd10System || c.system == kIcd10CmSystem)
          << c.code;
    }
    EXPECT_FALSE(c.meaning.empty()) << c.code;
  }
}

TEST(SensitiveCodesTest, EveryRowMatchesItself) {
  for (const SensitiveCode& c : SensitiveCodeTable()) {
    const SensitiveCode* found = FindSensitiveCode(c.system, c.code);
    ASSERT_NE(found, nullptr) << c.system << " " << c.code;
    EXPECT_EQ(found->area, c.area) << c.system << " " << c.code;
  }
}

TEST(SensitiveCodesTest, CoversEveryArea) {
  std::set<SensitiveArea> areas;
  for (const SensitiveCode& c : SensitiveCodeTable()) areas.insert(c.area);
  EXPECT_EQ(areas.size(), 5u);
}

TEST(SensitiveCodesTest, ExactCodesNeedTheirSystem) {
  ASSERT_NE(FindSensitiveCode(kSnomedSystem, "35489007"), nullptr);
  EXPECT_EQ(FindSensitiveCode(kSnomedSystem, "35489007")->area,
            SensitiveArea::kMentalHealth);
  EXPECT_EQ(FindSensitiveCode(kLoincSystem, "35489007"), nullptr);
  EXPECT_EQ(FindSensitiveCode("", "35489007"), nullptr);
  EXPECT_EQ(FindSensitiveCode(kSnomedSystem, "3548900"), nullptr);
  EXPECT_EQ(FindSensitiveCode(kSnomedSystem, "354890071"), nullptr);
  EXPECT_EQ(FindSensitiveCode(kSnomedSystem, ""), nullptr);
}

TEST(SensitiveCodesTest, IcdPrefixes) {
  const auto area = [](std::string_view system, std::string_view code) {
    const SensitiveCode* c = FindSensitiveCode(system, code);
    return c == nullptr ? std::string("none")
                        : std::string(SensitiveAreaName(c->area));
  };
  EXPECT_EQ(area(kIcd10System, "F32.9"), "mental-health");
  EXPECT_EQ(area(kIcd10System, "f329"), "mental-health");
  EXPECT_EQ(area(kIcd10System, "F10.2"), "substance-use");  // F1 before F
  EXPECT_EQ(area(kIcd10System, "F19"), "substance-use");
  EXPECT_EQ(area(kIcd10System, "F20"), "mental-health");
  EXPECT_EQ(area(kIcd10System, "B20"), "hiv");
  EXPECT_EQ(area(kIcd10System, "B23.8"), "hiv");
  EXPECT_EQ(area(kIcd10System, "B25"), "none");
  EXPECT_EQ(area(kIcd10System, "Z21"), "hiv");
  EXPECT_EQ(area(kIcd10System, "Z20.6"), "hiv");
  EXPECT_EQ(area(kIcd10System, "Z20.5"), "none");
  EXPECT_EQ(area(kIcd10System, "Z71.4"), "substance-use");
  EXPECT_EQ(area(kIcd10System, "Z71.41"), "substance-use");
  EXPECT_EQ(area(kIcd10System, "Z71.3"), "none");
  EXPECT_EQ(area(kIcd10System, "O09.1"), "sexual-reproductive-health");
  EXPECT_EQ(area(kIcd10System, "Z34"), "sexual-reproductive-health");
  EXPECT_EQ(area(kIcd10System, "Z40"), "none");
  EXPECT_EQ(area(kIcd10System, "A56.1"), "sexual-reproductive-health");
  EXPECT_EQ(area(kIcd10System, "A49"), "none");
  EXPECT_EQ(area(kIcd10System, "X71"), "mental-health");
  EXPECT_EQ(area(kIcd10System, "X85"), "none");
  EXPECT_EQ(area(kIcd10System, "Q90.0"), "genetics");
  EXPECT_EQ(area(kIcd10System, "E11"), "none");
  EXPECT_EQ(area(kIcd10CmSystem, "Z15.01"), "genetics");
  EXPECT_EQ(area(kIcd10System, "Z15.01"), "none");  // ICD-10-CM only
  EXPECT_EQ(area(kIcd10CmSystem, "B21"), "none");   // not in ICD-10-CM
  EXPECT_EQ(area(kIcd10System, ""), "none");
  EXPECT_EQ(area(kSnomedSystem, "F32"), "none");  // prefixes are ICD only
}

}  // namespace
}  // namespace tillit::fhir
