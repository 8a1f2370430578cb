// FHIR R4 search values: dates, tokens, codings and patient references.
#include "tillit/fhir/search.h"

#include <nlohmann/json.hpp>

#include "fhir_classify.h"
#include "tillit/fhir/fhir.h"

namespace tillit::fhir {
namespace {

using nlohmann::json;

// The next year, month or day after a date of that precision, as text.
std::string Pad(int value, int width) {
  std::string s = std::to_string(value);
  while (static_cast<int>(s.size()) < width) s.insert(s.begin(), '0');
  return s;
}

void AddCodings(const json& value, std::vector<Coding>* out) {
  if (value.is_string()) {
    out->push_back({std::nullopt, value.get<std::string>()});
  } else if (value.is_array()) {
    for (const json& v : value) AddCodings(v, out);
  } else if (value.is_object()) {
    auto coding = value.find("coding");
    if (coding != value.end() && coding->is_array()) {
      for (const json& c : *coding) AddCodings(c, out);
      return;
    }
    auto code = value.find("code");
    if (code == value.end() || !code->is_string()) return;
    Coding c{std::nullopt, code->get<std::string>()};
    auto system = value.find("system");
    if (system != value.end() && system->is_string())
      c.system = system->get<std::string>();
    out->push_back(std::move(c));
  }
}

}  // namespace

bool IsFhirId(std::string_view s) { return fhir_internal::IsValidFhirId(s); }

StatusOr<DateParam> ParseDateParam(std::string_view text) {
  DateParam p;
  static constexpr struct {
    const char* prefix;
    Comparator comparator;
  } kPrefixes[] = {{"eq", Comparator::kEq}, {"ne", Comparator::kNe},
                   {"gt", Comparator::kGt}, {"lt", Comparator::kLt},
                   {"ge", Comparator::kGe}, {"le", Comparator::kLe}};
  if (text.size() >= 2 && text[0] >= 'a' && text[0] <= 'z') {
    bool known = false;
    for (const auto& k : kPrefixes) {
      if (text.substr(0, 2) == k.prefix) {
        p.comparator = k.comparator;
        known = true;
      }
    }
    if (!known) {
      return Status::InvalidArgument(
          "a date's prefix must be one of eq, ne, gt, lt, ge, le");
    }
    text.remove_prefix(2);
  }
  TILLIT_ASSIGN_OR_RETURN(p.start, ParseFhirDateTime(text));
  // The end of the range the value's precision covers.
  const int year = std::stoi(std::string(text.substr(0, 4)));
  if (text.size() == 4) {
    if (year == 9999) {
      p.end = p.start + 365 * 86400;
    } else {
      TILLIT_ASSIGN_OR_RETURN(p.end, ParseFhirDateTime(Pad(year + 1, 4)));
    }
  } else if (text.size() == 7) {
    const int month = std::stoi(std::string(text.substr(5, 2)));
    const std::string next = month == 12
                                 ? Pad(year + 1, 4) + "-01"
                                 : Pad(year, 4) + "-" + Pad(month + 1, 2);
    if (month == 12 && year == 9999) {
      p.end = p.start + 31 * 86400;
    } else {
      TILLIT_ASSIGN_OR_RETURN(p.end, ParseFhirDateTime(next));
    }
  } else if (text.size() == 10) {
    p.end = p.start + 86400;
  } else {
    p.end = p.start + 1;
  }
  return p;
}

bool DateMatches(const DateParam& p, int64_t t) {
  switch (p.comparator) {
    case Comparator::kEq:
      return t >= p.start && t < p.end;
    case Comparator::kNe:
      return t < p.start || t >= p.end;
    case Comparator::kGt:
      return t >= p.end;
    case Comparator::kLt:
      return t < p.start;
    case Comparator::kGe:
      return t >= p.start;
    case Comparator::kLe:
      return t < p.end;
  }
  return false;
}

StatusOr<std::vector<TokenParam>> ParseTokenParam(std::string_view text) {
  std::vector<TokenParam> out;
  // Split on unescaped commas, then each value on its first unescaped '|'.
  std::string part;
  std::optional<std::string> system;
  bool bar = false;
  auto finish = [&]() -> Status {
    TokenParam t;
    if (bar) {
      t.system = std::move(system).value_or("");
      if (!part.empty()) t.code = part;
      if (t.system->empty() && !t.code) {
        return Status::InvalidArgument("a token needs a system or a code");
      }
    } else {
      if (part.empty()) return Status::InvalidArgument("an empty token");
      t.code = part;
    }
    out.push_back(std::move(t));
    part.clear();
    system.reset();
    bar = false;
    return Status::Ok();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size() &&
        (text[i + 1] == ',' || text[i + 1] == '|' || text[i + 1] == '$' ||
         text[i + 1] == '\\')) {
      part += text[++i];
    } else if (c == ',') {
      TILLIT_RETURN_IF_ERROR(finish());
    } else if (c == '|' && !bar) {
      system = std::move(part);
      part.clear();
      bar = true;
    } else {
      part += c;
    }
  }
  TILLIT_RETURN_IF_ERROR(finish());
  return out;
}

std::vector<Coding> CodingsOf(std::string_view resource_json,
                              std::string_view element) {
  std::vector<Coding> out;
  json r = json::parse(resource_json, nullptr, /*allow_exceptions=*/false);
  if (!r.is_object()) return out;
  auto it = r.find(std::string(element));
  if (it != r.end()) AddCodings(*it, &out);
  return out;
}

bool TokenMatches(const std::vector<Coding>& codings,
                  const std::vector<TokenParam>& tokens) {
  for (const TokenParam& t : tokens) {
    for (const Coding& c : codings) {
      if (t.code && c.code != *t.code) continue;
      if (t.system) {
        if (t.system->empty() ? c.system.has_value() : c.system != *t.system) {
          continue;
        }
      }
      return true;
    }
  }
  return false;
}

StatusOr<std::string> PatientReferenceId(std::string_view text) {
  constexpr std::string_view kPatient = "Patient/";
  std::string_view id = text;
  const size_t at = text.rfind(kPatient);
  if (at != std::string_view::npos && (at == 0 || text[at - 1] == '/')) {
    id = text.substr(at + kPatient.size());
  } else if (text.find('/') != std::string_view::npos) {
    return Status::InvalidArgument("not a reference to a Patient");
  }
  if (!IsFhirId(id)) return Status::InvalidArgument("not a Patient's id");
  return std::string(id);
}

}  // namespace tillit::fhir
