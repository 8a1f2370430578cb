// The names of the consent model: DUO codes, organisation types, clauses.
#include "tillit/consent/policy.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tillit::consent {
namespace {

constexpr std::array<std::string_view, 5> kPurposeIds = {
    "DUO:0000042",  // GRU
    "DUO:0000006",  // HMB
    "DUO:0000007",  // DS
    "DUO:0000011",  // POA
    "DUO:0000043",  // CC
};

constexpr std::array<std::string_view, 15> kConditionIds = {
    "DUO:0000045",  // NPU
    "DUO:0000046",  // NCU
    "DUO:0000018",  // NPUNCU
    "DUO:0000021",  // IRB
    "DUO:0000022",  // GS
    "DUO:0000025",  // TS
    "DUO:0000026",  // US
    "DUO:0000027",  // PS
    "DUO:0000028",  // IS
    "DUO:0000016",  // GSO
    "DUO:0000044",  // NPOA
    "DUO:0000019",  // PUB
    "DUO:0000020",  // COL
    "DUO:0000029",  // RTN
    "DUO:0000024",  // MOR
};

constexpr std::array<std::string_view, 4> kOrgTypeNames = {
    "academic", "non-profit", "public", "commercial"};

constexpr std::array<std::string_view, 7> kClauseNames = {
    "opt-out", "revoked",   "expired",   "grantee",
    "purpose", "condition", "categories"};

}  // namespace

std::string_view DuoId(Purpose p) {
  const auto i = static_cast<size_t>(p);
  return i < kPurposeIds.size() ? kPurposeIds[i] : std::string_view();
}

std::string_view DuoId(ConditionCode c) {
  const auto i = static_cast<size_t>(c);
  return i < kConditionIds.size() ? kConditionIds[i] : std::string_view();
}

std::optional<Purpose> ParsePurpose(std::string_view duo_id) {
  for (size_t i = 0; i < kPurposeIds.size(); ++i) {
    if (kPurposeIds[i] == duo_id) return static_cast<Purpose>(i);
  }
  return std::nullopt;
}

std::optional<ConditionCode> ParseCondition(std::string_view duo_id) {
  for (size_t i = 0; i < kConditionIds.size(); ++i) {
    if (kConditionIds[i] == duo_id) return static_cast<ConditionCode>(i);
  }
  return std::nullopt;
}

bool IsObligation(ConditionCode c) {
  return c == ConditionCode::kPUB || c == ConditionCode::kCOL ||
         c == ConditionCode::kRTN || c == ConditionCode::kMOR;
}

std::optional<OrgType> ParseOrgType(std::string_view name) {
  for (size_t i = 0; i < kOrgTypeNames.size(); ++i) {
    if (kOrgTypeNames[i] == name) return static_cast<OrgType>(i);
  }
  return std::nullopt;
}

std::string_view OrgTypeName(OrgType t) {
  const auto i = static_cast<size_t>(t);
  return i < kOrgTypeNames.size() ? kOrgTypeNames[i] : std::string_view();
}

std::string_view ClauseName(Clause c) {
  const auto i = static_cast<size_t>(c);
  return i < kClauseNames.size() ? kClauseNames[i] : std::string_view();
}

void Decision::Clear() {
  permit = false;
  break_glass = false;
  permitting.clear();
  reasons.clear();
  scope.clear();
}

}  // namespace tillit::consent
