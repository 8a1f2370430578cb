// The sensitive code list. Keep in step with docs/SENSITIVE_CODES.md (a test
// compares the two): add a row here and in the document's table together.
#include "sensitive_codes.h"

#include <array>
#include <string>
#include <unordered_map>
#include <vector>

namespace tillit::fhir {
namespace {

using enum CodeMatch;
using enum SensitiveArea;

constexpr std::string_view kSct = kSnomedSystem;
constexpr std::string_view kLnc = kLoincSystem;
constexpr std::string_view kIcd = kIcd10System;
constexpr std::string_view kCm = kIcd10CmSystem;

constexpr SensitiveCode kTable[] = {
    // --- SNOMED CT: mental health ---
    {kSct, "74732009", kExact, kMentalHealth, "Mental disorder"},
    {kSct, "35489007", kExact, kMentalHealth, "Depressive disorder"},
    {kSct, "370143000", kExact, kMentalHealth, "Major depressive disorder"},
    {kSct, "36923009", kExact, kMentalHealth,
     "Major depression, single episode"},
    {kSct, "197480006", kExact, kMentalHealth, "Anxiety disorder"},
    {kSct, "21897009", kExact, kMentalHealth, "Generalized anxiety disorder"},
    {kSct, "58214004", kExact, kMentalHealth, "Schizophrenia"},
    {kSct, "69322001", kExact, kMentalHealth, "Psychotic disorder"},
    {kSct, "13746004", kExact, kMentalHealth, "Bipolar disorder"},
    {kSct, "47505003", kExact, kMentalHealth, "Posttraumatic stress disorder"},
    {kSct, "72366004", kExact, kMentalHealth, "Eating disorder"},
    {kSct, "56882008", kExact, kMentalHealth, "Anorexia nervosa"},
    {kSct, "78004001", kExact, kMentalHealth, "Bulimia nervosa"},
    {kSct, "406506008", kExact, kMentalHealth,
     "Attention deficit hyperactivity disorder"},
    {kSct, "82313006", kExact, kMentalHealth, "Suicide attempt"},
    {kSct, "171207006", kExact, kMentalHealth, "Depression screening"},
    // --- SNOMED CT: substance use ---
    {kSct, "7200002", kExact, kSubstanceUse, "Alcoholism"},
    {kSct, "15167005", kExact, kSubstanceUse, "Alcohol abuse"},
    {kSct, "66590003", kExact, kSubstanceUse, "Alcohol dependence"},
    {kSct, "6525002", kExact, kSubstanceUse, "Dependent drug abuse"},
    {kSct, "26416006", kExact, kSubstanceUse, "Drug abuse"},
    {kSct, "75544000", kExact, kSubstanceUse, "Opioid dependence"},
    {kSct, "5602001", kExact, kSubstanceUse, "Opioid abuse"},
    {kSct, "55680006", kExact, kSubstanceUse, "Drug overdose"},
    {kSct, "361055000", kExact, kSubstanceUse, "Misuses drugs"},
    // --- SNOMED CT: HIV ---
    {kSct, "86406008", kExact, kHiv, "Human immunodeficiency virus infection"},
    {kSct, "165816005", kExact, kHiv, "HIV positive"},
    {kSct, "62479008", kExact, kHiv, "Acquired immune deficiency syndrome"},
    {kSct, "91947003", kExact, kHiv, "Asymptomatic HIV infection"},
    // --- SNOMED CT: sexual and reproductive health ---
    {kSct, "72892002", kExact, kSexualReproductiveHealth, "Normal pregnancy"},
    {kSct, "77386006", kExact, kSexualReproductiveHealth, "Pregnant"},
    {kSct, "79586000", kExact, kSexualReproductiveHealth, "Tubal pregnancy"},
    {kSct, "398254007", kExact, kSexualReproductiveHealth, "Pre-eclampsia"},
    {kSct, "17369002", kExact, kSexualReproductiveHealth, "Miscarriage"},
    {kSct, "19169002", kExact, kSexualReproductiveHealth,
     "Miscarriage in first trimester"},
    {kSct, "386639001", kExact, kSexualReproductiveHealth,
     "Termination of pregnancy"},
    {kSct, "714812005", kExact, kSexualReproductiveHealth,
     "Induced termination of pregnancy"},
    {kSct, "386394001", kExact, kSexualReproductiveHealth,
     "Pregnancy termination care"},
    {kSct, "10383002", kExact, kSexualReproductiveHealth,
     "Counseling for termination of pregnancy"},
    {kSct, "5880005", kExact, kSexualReproductiveHealth,
     "Physical exam following abortion"},
    {kSct, "252160004", kExact, kSexualReproductiveHealth,
     "Standard pregnancy test"},
    {kSct, "169230002", kExact, kSexualReproductiveHealth,
     "Ultrasound scan for fetal viability"},
    {kSct, "169553002", kExact, kSexualReproductiveHealth,
     "Insertion of subcutaneous contraceptive"},
    {kSct, "301807007", kExact, kSexualReproductiveHealth,
     "Removal of subcutaneous contraceptive"},
    {kSct, "65200003", kExact, kSexualReproductiveHealth,
     "Insertion of intrauterine contraceptive device"},
    {kSct, "46706006", kExact, kSexualReproductiveHealth,
     "Replacement of contraceptive intrauterine device"},
    {kSct, "287664005", kExact, kSexualReproductiveHealth,
     "Bilateral tubal ligation"},
    {kSct, "22523008", kExact, kSexualReproductiveHealth, "Vasectomy"},
    {kSct, "15628003", kExact, kSexualReproductiveHealth, "Gonorrhea"},
    {kSct, "76272004", kExact, kSexualReproductiveHealth, "Syphilis"},
    {kSct, "105629000", kExact, kSexualReproductiveHealth,
     "Chlamydial infection"},
    {kSct, "33839006", kExact, kSexualReproductiveHealth,
     "Genital herpes simplex"},
    // --- SNOMED CT: genetics ---
    {kSct, "41040004", kExact, kGenetics, "Complete trisomy 21 syndrome"},
    {kSct, "190905008", kExact, kGenetics, "Cystic fibrosis"},
    {kSct, "58756001", kExact, kGenetics, "Huntington's chorea"},
    {kSct, "230265002", kExact, kGenetics,
     "Familial Alzheimer's disease of early onset"},

    // --- ICD-10 (WHO) ---
    // F1 before F: F10-F19 are substance use, the rest of F mental health.
    {kIcd, "F1", kPrefix, kSubstanceUse,
     "F10-F19 Mental and behavioural disorders due to psychoactive substance "
     "use"},
    {kIcd, "F", kPrefix, kMentalHealth,
     "F00-F99 Mental and behavioural disorders"},
    {kIcd, "X6", kPrefix, kMentalHealth, "X60-X69 Intentional self-harm"},
    {kIcd, "X7", kPrefix, kMentalHealth, "X70-X79 Intentional self-harm"},
    {kIcd, "X80", kPrefix, kMentalHealth, "Intentional self-harm"},
    {kIcd, "X81", kPrefix, kMentalHealth, "Intentional self-harm"},
    {kIcd, "X82", kPrefix, kMentalHealth, "Intentional self-harm"},
    {kIcd, "X83", kPrefix, kMentalHealth, "Intentional self-harm"},
    {kIcd, "X84", kPrefix, kMentalHealth, "Intentional self-harm"},
    {kIcd, "Z71.4", kPrefix, kSubstanceUse,
     "Alcohol abuse counselling and surveillance"},
    {kIcd, "Z71.5", kPrefix, kSubstanceUse,
     "Drug abuse counselling and surveillance"},
    {kIcd, "B20", kPrefix, kHiv,
     "HIV disease resulting in infectious and "
     "parasitic diseases"},
    {kIcd, "B21", kPrefix, kHiv,
     "HIV disease resulting in malignant "
     "neoplasms"},
    {kIcd, "B22", kPrefix, kHiv,
     "HIV disease resulting in other specified "
     "diseases"},
    {kIcd, "B23", kPrefix, kHiv, "HIV disease resulting in other conditions"},
    {kIcd, "B24", kPrefix, kHiv, "Unspecified HIV disease"},
    {kIcd, "Z21", kPrefix, kHiv, "Asymptomatic HIV infection status"},
    {kIcd, "R75", kPrefix, kHiv, "Inconclusive laboratory evidence of HIV"},
    {kIcd, "Z20.6", kPrefix, kHiv, "Contact with and exposure to HIV"},
    {kIcd, "Z11.4", kPrefix, kHiv, "Special screening examination for HIV"},
    {kIcd, "Z71.7", kPrefix, kHiv, "HIV counselling"},
    {kIcd, "O", kPrefix, kSexualReproductiveHealth,
     "O00-O99 Pregnancy, childbirth and the puerperium"},
    {kIcd, "Z3", kPrefix, kSexualReproductiveHealth,
     "Z30-Z39 Contraception, procreation, pregnancy, delivery"},
    {kIcd, "A5", kPrefix, kSexualReproductiveHealth,
     "A50-A59 Infections with a predominantly sexual mode of transmission"},
    {kIcd, "A60", kPrefix, kSexualReproductiveHealth,
     "Anogenital herpesviral infection"},
    {kIcd, "A63", kPrefix, kSexualReproductiveHealth,
     "Other predominantly sexually transmitted diseases"},
    {kIcd, "A64", kPrefix, kSexualReproductiveHealth,
     "Unspecified sexually transmitted disease"},
    {kIcd, "Z70", kPrefix, kSexualReproductiveHealth,
     "Counselling related to sexual attitude, behaviour and orientation"},
    {kIcd, "Q9", kPrefix, kGenetics, "Q90-Q99 Chromosomal abnormalities"},

    // --- ICD-10-CM (the same chapters where the codes exist there) ---
    {kCm, "F1", kPrefix, kSubstanceUse,
     "F10-F19 Mental and behavioral disorders due to psychoactive substance "
     "use"},
    {kCm, "F", kPrefix, kMentalHealth,
     "F01-F99 Mental, behavioral and neurodevelopmental disorders"},
    {kCm, "Z71.4", kPrefix, kSubstanceUse,
     "Alcohol abuse counseling and surveillance"},
    {kCm, "Z71.5", kPrefix, kSubstanceUse,
     "Drug abuse counseling and surveillance"},
    {kCm, "B20", kPrefix, kHiv, "Human immunodeficiency virus [HIV] disease"},
    {kCm, "Z21", kPrefix, kHiv, "Asymptomatic HIV infection status"},
    {kCm, "R75", kPrefix, kHiv, "Inconclusive laboratory evidence of HIV"},
    {kCm, "Z20.6", kPrefix, kHiv, "Contact with and exposure to HIV"},
    {kCm, "Z11.4", kPrefix, kHiv, "Encounter for screening for HIV"},
    {kCm, "Z71.7", kPrefix, kHiv, "HIV counseling"},
    {kCm, "O", kPrefix, kSexualReproductiveHealth,
     "O00-O9A Pregnancy, childbirth and the puerperium"},
    {kCm, "Z3", kPrefix, kSexualReproductiveHealth,
     "Z30-Z39 Encounters related to reproduction"},
    {kCm, "A5", kPrefix, kSexualReproductiveHealth,
     "A50-A59 Infections with a predominantly sexual mode of transmission"},
    {kCm, "A60", kPrefix, kSexualReproductiveHealth,
     "Anogenital herpesviral infection"},
    {kCm, "A63", kPrefix, kSexualReproductiveHealth,
     "Other predominantly sexually transmitted diseases"},
    {kCm, "A64", kPrefix, kSexualReproductiveHealth,
     "Unspecified sexually transmitted disease"},
    {kCm, "Z70", kPrefix, kSexualReproductiveHealth,
     "Counseling related to sexual attitude, behavior and orientation"},
    {kCm, "Q9", kPrefix, kGenetics, "Q90-Q99 Chromosomal abnormalities"},
    {kCm, "Z14", kPrefix, kGenetics, "Genetic carrier"},
    {kCm, "Z15", kPrefix, kGenetics, "Genetic susceptibility to disease"},

    // --- LOINC: HIV tests ---
    {kLnc, "7917-8", kExact, kHiv, "HIV 1 Ab [Presence] in Serum"},
    {kLnc, "5221-7", kExact, kHiv,
     "HIV 1 Ab [Presence] in Serum by Immunoblot"},
    {kLnc, "68961-2", kExact, kHiv,
     "HIV 1 Ab [Presence] in Serum or Plasma by Immunoassay"},
    {kLnc, "31201-7", kExact, kHiv, "HIV 1+2 Ab [Presence] in Serum"},
    {kLnc, "56888-1", kExact, kHiv,
     "HIV 1+2 Ab+HIV 1 p24 Ag [Presence] in Serum or Plasma"},
    {kLnc, "75622-1", kExact, kHiv,
     "HIV 1+2 Ab+HIV 1 p24 Ag [Presence] in Serum or Plasma by "
     "Immunoassay"},
    {kLnc, "20447-9", kExact, kHiv,
     "HIV 1 RNA [#/volume] (viral load) in Serum or Plasma"},
    {kLnc, "25836-8", kExact, kHiv,
     "HIV 1 RNA [#/volume] (viral load) in Serum or Plasma"},
    // --- LOINC: genetic tests ---
    {kLnc, "51969-4", kExact, kGenetics, "Genetic analysis report"},
    {kLnc, "55232-3", kExact, kGenetics, "Genetic analysis summary panel"},
    {kLnc, "81247-9", kExact, kGenetics,
     "Master HL7 genetic variant reporting panel"},
    {kLnc, "69548-6", kExact, kGenetics, "Genetic variant assessment"},
    {kLnc, "81252-9", kExact, kGenetics, "Discrete genetic variant"},
    {kLnc, "48018-6", kExact, kGenetics, "Gene studied [ID]"},
    {kLnc, "21636-6", kExact, kGenetics, "BRCA1 gene mutations found"},
    {kLnc, "21637-4", kExact, kGenetics, "BRCA2 gene mutations found"},
    // --- LOINC: mental health and substance use instruments ---
    {kLnc, "44249-1", kExact, kMentalHealth,
     "PHQ-9 quick depression assessment panel"},
    {kLnc, "44261-6", kExact, kMentalHealth, "PHQ-9 total score"},
    {kLnc, "55757-9", kExact, kMentalHealth,
     "PHQ-2 quick depression assessment panel"},
    {kLnc, "55758-7", kExact, kMentalHealth, "PHQ-2 total score"},
    {kLnc, "69737-5", kExact, kMentalHealth, "GAD-7 panel"},
    {kLnc, "70274-6", kExact, kMentalHealth, "GAD-7 total score"},
    {kLnc, "72109-2", kExact, kSubstanceUse, "AUDIT-C panel"},
    {kLnc, "75626-2", kExact, kSubstanceUse, "AUDIT-C total score"},
    {kLnc, "82667-7", kExact, kSubstanceUse, "DAST-10 total score"},
    // --- LOINC: sexual and reproductive health tests ---
    {kLnc, "2106-3", kExact, kSexualReproductiveHealth,
     "Choriogonadotropin (pregnancy test) [Presence] in Urine"},
    {kLnc, "2118-8", kExact, kSexualReproductiveHealth,
     "Choriogonadotropin (pregnancy test) [Presence] in Serum or Plasma"},
    {kLnc, "43304-5", kExact, kSexualReproductiveHealth,
     "Chlamydia trachomatis rRNA [Presence] by NAA"},
    {kLnc, "43305-2", kExact, kSexualReproductiveHealth,
     "Neisseria gonorrhoeae rRNA [Presence] by NAA"},
    {kLnc, "20507-0", kExact, kSexualReproductiveHealth,
     "Reagin Ab [Presence] in Serum by RPR (syphilis)"},
};

// Code without '.' and in upper case: "z71.41" -> "Z7141".
std::string NormalizeIcd(std::string_view code) {
  std::string out;
  out.reserve(code.size());
  for (char c : code) {
    if (c == '.') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

struct Index {
  // Exact rows by code.
  std::unordered_multimap<std::string_view, const SensitiveCode*> exact;
  // Prefix rows in table order, with their normalised prefix.
  std::vector<std::pair<std::string, const SensitiveCode*>> prefix;
};

const Index& GetIndex() {
  static const Index* const index = [] {
    auto* built = new Index;
    for (const SensitiveCode& row : kTable) {
      if (row.match == kExact) {
        built->exact.emplace(row.code, &row);
      } else {
        built->prefix.emplace_back(NormalizeIcd(row.code), &row);
      }
    }
    return built;
  }();
  return *index;
}

}  // namespace

std::string_view SensitiveAreaName(SensitiveArea area) {
  switch (area) {
    case kMentalHealth:
      return "mental-health";
    case kSexualReproductiveHealth:
      return "sexual-reproductive-health";
    case kHiv:
      return "hiv";
    case kSubstanceUse:
      return "substance-use";
    case kGenetics:
      return "genetics";
  }
  return "unknown";
}

std::span<const SensitiveCode> SensitiveCodeTable() { return kTable; }

const SensitiveCode* FindSensitiveCode(std::string_view system,
                                       std::string_view code) {
  if (code.empty()) return nullptr;
  const Index& index = GetIndex();
  if (system == kIcd10System || system == kIcd10CmSystem) {
    const std::string normalized = NormalizeIcd(code);
    for (const auto& [prefix, row] : index.prefix) {
      if (row->system == system && normalized.starts_with(prefix)) return row;
    }
    return nullptr;
  }
  auto [begin, end] = index.exact.equal_range(code);
  const SensitiveCode* first = nullptr;
  for (auto it = begin; it != end; ++it) {
    if (it->second->system == system &&
        (first == nullptr || it->second < first)) {
      first = it->second;
    }
  }
  return first;
}

}  // namespace tillit::fhir
