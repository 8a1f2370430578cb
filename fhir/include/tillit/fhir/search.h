// FHIR R4 search values (https://hl7.org/fhir/R4/search.html) as the vault's
// /fhir interface reads them: dates with their comparator and precision,
// tokens (system|code), and the codings of a resource's element to match
// tokens against. Parsing and matching only: no I/O, no HTTP.
//
// Thread-safety: pure functions.
#ifndef TILLIT_FHIR_SEARCH_H_
#define TILLIT_FHIR_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::fhir {

// The comparators of date search values this interface supports.
enum class Comparator { kEq, kNe, kGt, kLt, kGe, kLe };

// A date search value: its comparator and the range of time its precision
// covers, [start, end) in Unix seconds: "2021" is all of 2021, "2021-03"
// that month, "2021-03-04" that day, a dateTime to the second that second
// (a fraction is dropped). A dateTime with a zone is read in that zone; a
// date, in UTC.
struct DateParam {
  Comparator comparator = Comparator::kEq;
  int64_t start = 0;
  int64_t end = 0;
};
// "ge2021-03", "2021-03-04T10:00:00Z", ...: InvalidArgument naming the
// problem for anything else (sa, eb and ap are refused).
StatusOr<DateParam> ParseDateParam(std::string_view text);
// Whether an instant matches, R4's rules for a point in time: eq within
// the range, ne outside it, gt after it, lt before it, ge not before its
// start, le before its end.
bool DateMatches(const DateParam& param, int64_t instant);

// A token search value: "code" (any system), "system|code", "|code" (a
// coding without a system) or "system|" (any code of the system).
struct TokenParam {
  std::optional<std::string> system;  // nullopt: any; "": none
  std::optional<std::string> code;    // nullopt: any
};
// Comma-separated values, any of which may match (R4's OR), with "\,"
// and "\|" and "\\" escapes. InvalidArgument for an empty value or one
// with neither system nor code.
StatusOr<std::vector<TokenParam>> ParseTokenParam(std::string_view text);

struct Coding {
  std::optional<std::string> system;
  std::string code;
};
// The codings of the member `element` of a resource (its JSON text): a
// CodeableConcept, a Coding, a code string, or an array of any of those.
// Empty when the member is absent or the text is not a JSON object.
std::vector<Coding> CodingsOf(std::string_view resource_json,
                              std::string_view element);
// Whether any coding matches any token.
bool TokenMatches(const std::vector<Coding>& codings,
                  const std::vector<TokenParam>& tokens);

// A reference search value naming a Patient: "Patient/<id>", "<id>", or
// an absolute URL ending in "/Patient/<id>". The id, or InvalidArgument
// when it is not a FHIR id or names another resource type.
StatusOr<std::string> PatientReferenceId(std::string_view text);

// Whether `s` is a FHIR id: 1 to 64 of A-Z a-z 0-9 '-' '.'.
bool IsFhirId(std::string_view s);

}  // namespace tillit::fhir

#endif  // TILLIT_FHIR_SEARCH_H_
