// The aggregate queries: their JSON form, their words, their cells and
// what one citizen contributes to them. Pure functions.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "cohort.h"
#include "tillit/consent/epsilon.h"
#include "tillit/fhir/fhir.h"
#include "tillit/research/aggregate.h"

namespace tillit::research {
namespace {

using nlohmann::json;

constexpr size_t kMaxAgeBands = 20;
constexpr size_t kMaxBins = 50;
// Codes and the condition stay short enough that the query in words fits
// the ledger's 500 bytes whatever the query.
constexpr size_t kMaxCodeBytes = 128;
constexpr std::string_view kSexes[] = {"female", "male", "other", "unknown"};
const std::vector<int> kDefaultAgeBands = {0, 18, 30, 45, 65, 80};

struct KindName {
  AggregateKind kind;
  std::string_view name;
};
constexpr KindName kKinds[] = {
    {AggregateKind::kCount, "count"},
    {AggregateKind::kAgeSex, "age_sex"},
    {AggregateKind::kCategories, "categories"},
    {AggregateKind::kLatestValue, "latest_value"},
    {AggregateKind::kMean, "mean"},
};

std::string_view KindToName(AggregateKind k) {
  for (const KindName& n : kKinds)
    if (n.kind == k) return n.name;
  return "count";
}

Status Bad(const std::string& field, const std::string& why) {
  return Status::InvalidArgument(field + ": " + why);
}

// A code as the records carry them: "system|code" or a bare code, printable
// ASCII without spaces.
Status CheckCode(const json& v, const std::string& field, std::string* out) {
  if (!v.is_string()) return Bad(field, "must be a string");
  const std::string s = v.get<std::string>();
  if (s.empty() || s.size() > kMaxCodeBytes)
    return Bad(field, "must be 1 to 128 characters");
  for (char c : s) {
    if (c <= ' ' || c > '~') return Bad(field, "must be printable, no spaces");
  }
  if (s.front() == '|' || s.back() == '|')
    return Bad(field, "must be \"system|code\" or a code");
  *out = s;
  return Status::Ok();
}

StatusOr<double> Finite(const json& v, const std::string& field) {
  if (!v.is_number()) return Bad(field, "must be a number");
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > 1e12)
    return Bad(field, "must be a finite number within ±10^12");
  return d;
}

// "%g" without locale surprises.
std::string Num(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

std::string AgeBandLabel(const std::vector<int>& bands, size_t i) {
  if (i == bands.size()) return "unknown";
  if (i + 1 == bands.size()) return std::to_string(bands[i]) + "+";
  return std::to_string(bands[i]) + "-" + std::to_string(bands[i + 1] - 1);
}

std::string BinLabel(const std::vector<double>& bins, size_t i) {
  if (i == 0) return "<" + Num(bins[0]);
  if (i == bins.size()) return ">=" + Num(bins.back());
  return Num(bins[i - 1]) + " to <" + Num(bins[i]);
}

std::vector<fhir::Category> StudyCategories(const consent::Study& s) {
  std::vector<fhir::Category> out;
  for (fhir::Category c : fhir::AllCategories()) {
    if ((s.categories & consent::CategoryBit(c)) != 0) out.push_back(c);
  }
  return out;
}

// The latest numeric value of an Observation with `code`, by effective
// time (then insertion order).
std::optional<double> LatestValue(
    const std::string& code, const std::vector<vault::StoredRecord>& records) {
  const vault::StoredRecord* best = nullptr;
  std::optional<double> value;
  for (const vault::StoredRecord& r : records) {
    if (r.type != "Observation" || !internal::CodeMatches(code, r.codes))
      continue;
    const int64_t when =
        r.effective.value_or(std::numeric_limits<int64_t>::min());
    if (best != nullptr) {
      const int64_t best_when =
          best->effective.value_or(std::numeric_limits<int64_t>::min());
      if (when < best_when || (when == best_when && r.seq < best->seq))
        continue;
    }
    const json o = json::parse(r.resource, nullptr, false);
    if (!o.is_object()) continue;
    auto q = o.find("valueQuantity");
    if (q == o.end() || !q->is_object()) continue;
    auto v = q->find("value");
    if (v == q->end() || !v->is_number()) continue;
    const double d = v->get<double>();
    if (!std::isfinite(d)) continue;
    best = &r;
    value = d;
  }
  return value;
}

bool HasCondition(const std::string& code,
                  const std::vector<vault::StoredRecord>& records) {
  for (const vault::StoredRecord& r : records) {
    if (r.type == "Condition" && internal::CodeMatches(code, r.codes))
      return true;
  }
  return false;
}

}  // namespace

StatusOr<AggregateQuery> ParseAggregateQuery(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object())
    return Status::InvalidArgument("the body must be a query object");
  AggregateQuery q;
  auto kind = j.find("query");
  if (kind == j.end() || !kind->is_string())
    return Bad("query",
               "required: count, age_sex, categories, latest_value "
               "or mean");
  bool known = false;
  for (const KindName& n : kKinds) {
    if (kind->get<std::string>() == n.name) {
      q.kind = n.kind;
      known = true;
    }
  }
  if (!known)
    return Bad("query",
               "must be count, age_sex, categories, latest_value or "
               "mean");

  // Which fields each query takes.
  std::set<std::string> allowed = {"query", "epsilon", "condition"};
  if (q.kind == AggregateKind::kAgeSex) allowed.insert("age_bands");
  if (q.kind == AggregateKind::kLatestValue) {
    allowed.insert("code");
    allowed.insert("bins");
  }
  if (q.kind == AggregateKind::kMean) {
    allowed.insert("code");
    allowed.insert("bounds");
  }
  for (const auto& [key, value] : j.items()) {
    if (allowed.count(key) == 0) {
      return Bad(key, "not a field of a " + std::string(KindToName(q.kind)) +
                          " query");
    }
  }

  auto eps = j.find("epsilon");
  if (eps == j.end()) return Bad("epsilon", "required, e.g. 0.5");
  if (!eps->is_number()) return Bad("epsilon", "must be a number, e.g. 0.5");
  StatusOr<int64_t> e = consent::EpsilonFromDouble(eps->get<double>());
  if (!e.ok()) return Bad("epsilon", e.status().message());
  if (*e < kMinQueryEpsilon || *e > kMaxQueryEpsilon)
    return Bad("epsilon", "must be from 0.01 to 10");
  q.epsilon = *e;

  if (auto c = j.find("condition"); c != j.end()) {
    std::string code;
    TILLIT_RETURN_IF_ERROR(CheckCode(*c, "condition", &code));
    q.condition = code;
  }

  if (q.kind == AggregateKind::kAgeSex) {
    q.age_bands = kDefaultAgeBands;
    if (auto b = j.find("age_bands"); b != j.end()) {
      if (!b->is_array() || b->empty() || b->size() > kMaxAgeBands)
        return Bad("age_bands",
                   "must be 1 to 20 lower edges, e.g. [0, 18, 65]");
      q.age_bands.clear();
      for (const json& v : *b) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 ||
            v.get<int64_t>() > 150)
          return Bad("age_bands", "each edge must be a whole age 0 to 150");
        const int edge = static_cast<int>(v.get<int64_t>());
        if (!q.age_bands.empty() && edge <= q.age_bands.back())
          return Bad("age_bands", "edges must be ascending");
        q.age_bands.push_back(edge);
      }
      if (q.age_bands.front() != 0)
        return Bad("age_bands", "the first edge must be 0");
    }
  }

  if (q.kind == AggregateKind::kLatestValue || q.kind == AggregateKind::kMean) {
    auto c = j.find("code");
    if (c == j.end())
      return Bad("code",
                 "required: the Observation code, e.g. "
                 "\"http://loinc.org|4548-4\"");
    TILLIT_RETURN_IF_ERROR(CheckCode(*c, "code", &q.code));
  }
  if (q.kind == AggregateKind::kLatestValue) {
    auto b = j.find("bins");
    if (b == j.end() || !b->is_array() || b->empty() || b->size() > kMaxBins)
      return Bad("bins", "required: 1 to 50 bin edges, e.g. [5.7, 6.5]");
    for (const json& v : *b) {
      TILLIT_ASSIGN_OR_RETURN(double d, Finite(v, "bins"));
      if (!q.bins.empty() && d <= q.bins.back())
        return Bad("bins", "edges must be ascending");
      q.bins.push_back(d);
    }
  }
  if (q.kind == AggregateKind::kMean) {
    auto b = j.find("bounds");
    if (b == j.end() || !b->is_array() || b->size() != 2)
      return Bad("bounds", "required: [lower, upper], e.g. [0, 20]");
    TILLIT_ASSIGN_OR_RETURN(q.lower, Finite((*b)[0], "bounds"));
    TILLIT_ASSIGN_OR_RETURN(q.upper, Finite((*b)[1], "bounds"));
    if (!(q.lower < q.upper)) return Bad("bounds", "lower must be below upper");
  }
  return q;
}

std::string AggregateQueryToJson(const AggregateQuery& q) {
  json j = {{"query", KindToName(q.kind)},
            {"epsilon", json::parse(FormatEpsilon(q.epsilon))}};
  if (q.condition) j["condition"] = *q.condition;
  if (q.kind == AggregateKind::kAgeSex) j["age_bands"] = q.age_bands;
  if (q.kind == AggregateKind::kLatestValue) {
    j["code"] = q.code;
    j["bins"] = q.bins;
  }
  if (q.kind == AggregateKind::kMean) {
    j["code"] = q.code;
    j["bounds"] = {q.lower, q.upper};
  }
  return j.dump();
}

std::string DescribeQuery(const AggregateQuery& q,
                          const consent::StudyDefinition& study) {
  std::string s;
  switch (q.kind) {
    case AggregateKind::kCount:
      s = "number of citizens";
      break;
    case AggregateKind::kAgeSex:
      s = "number of citizens by age band and sex";
      break;
    case AggregateKind::kCategories: {
      s = "number of citizens with records in each of";
      for (fhir::Category c : StudyCategories(study.study))
        s += " " + std::string(fhir::CategoryName(c));
      break;
    }
    case AggregateKind::kLatestValue:
      s = "number of citizens by their latest " + q.code + " value";
      break;
    case AggregateKind::kMean:
      s = "mean of the latest " + q.code + " value, between " + Num(q.lower) +
          " and " + Num(q.upper);
      break;
  }
  if (q.condition) s += ", among those with condition " + *q.condition;
  s += " (epsilon " + FormatEpsilon(q.epsilon) + ")";
  return s;
}

int64_t Sensitivity(const AggregateQuery& q,
                    const consent::StudyDefinition& study) {
  switch (q.kind) {
    case AggregateKind::kCategories:
      return std::max<int64_t>(
          1, static_cast<int64_t>(StudyCategories(study.study).size()));
    case AggregateKind::kMean:
      return kMeanSteps;  // the sum's; the count's is 1
    default:
      return 1;
  }
}

std::vector<CellSpec> Cells(const AggregateQuery& q,
                            const consent::StudyDefinition& study) {
  std::vector<CellSpec> cells;
  const int64_t s = Sensitivity(q, study);
  auto add = [&](std::string label, std::map<std::string, std::string> key,
                 int64_t sensitivity, int64_t epsilon) {
    cells.push_back(
        CellSpec{std::move(label), std::move(key), sensitivity, epsilon});
  };
  switch (q.kind) {
    case AggregateKind::kCount:
      add("citizens", {}, s, q.epsilon);
      break;
    case AggregateKind::kAgeSex:
      for (std::string_view sex : kSexes) {
        for (size_t b = 0; b <= q.age_bands.size(); ++b) {
          const std::string band = AgeBandLabel(q.age_bands, b);
          add(std::string(sex) + ", " + band,
              {{"sex", std::string(sex)}, {"age_band", band}}, s, q.epsilon);
        }
      }
      break;
    case AggregateKind::kCategories:
      for (fhir::Category c : StudyCategories(study.study)) {
        const std::string name(fhir::CategoryName(c));
        add(name, {{"category", name}}, s, q.epsilon);
      }
      break;
    case AggregateKind::kLatestValue:
      for (size_t b = 0; b <= q.bins.size(); ++b) {
        const std::string label = BinLabel(q.bins, b);
        add(label, {{"bin", label}}, s, q.epsilon);
      }
      break;
    case AggregateKind::kMean: {
      const int64_t half = q.epsilon / 2;
      add("count", {}, 1, half);
      add("sum", {}, kMeanSteps, q.epsilon - half);
      break;
    }
  }
  return cells;
}

bool NeedsStores(const AggregateQuery& q,
                 const consent::StudyDefinition& study) {
  return q.kind != AggregateKind::kCount || q.condition.has_value() ||
         !study.criteria.empty();
}

Contribution Contribute(const AggregateQuery& q,
                        const consent::StudyDefinition& study,
                        const std::vector<vault::StoredRecord>& released,
                        int64_t now) {
  Contribution c(Cells(q, study).size(), 0);
  if (q.condition && !HasCondition(*q.condition, released)) return c;
  switch (q.kind) {
    case AggregateKind::kCount:
      c[0] = 1;
      break;
    case AggregateKind::kAgeSex: {
      const vault::StoredRecord* patient = nullptr;
      for (const vault::StoredRecord& r : released) {
        if (r.type == "Patient") {
          patient = &r;
          break;
        }
      }
      size_t sex = 3;                    // unknown
      size_t band = q.age_bands.size();  // unknown
      if (patient != nullptr) {
        const json p = json::parse(patient->resource, nullptr, false);
        if (p.is_object()) {
          const std::string g = p.contains("gender") && p["gender"].is_string()
                                    ? p["gender"].get<std::string>()
                                    : "";
          for (size_t i = 0; i < 3; ++i)
            if (g == kSexes[i]) sex = i;
          if (p.contains("birthDate") && p["birthDate"].is_string()) {
            std::optional<int> age =
                internal::AgeAt(p["birthDate"].get<std::string>(), now);
            if (age && *age >= 0) {
              band = 0;
              for (size_t i = 0; i < q.age_bands.size(); ++i)
                if (*age >= q.age_bands[i]) band = i;
            }
          }
        }
      }
      c[sex * (q.age_bands.size() + 1) + band] = 1;
      break;
    }
    case AggregateKind::kCategories: {
      const std::vector<fhir::Category> cats = StudyCategories(study.study);
      for (size_t i = 0; i < cats.size(); ++i) {
        c[i] = std::any_of(released.begin(), released.end(),
                           [&](const vault::StoredRecord& r) {
                             return r.category == cats[i];
                           })
                   ? 1
                   : 0;
      }
      break;
    }
    case AggregateKind::kLatestValue: {
      std::optional<double> v = LatestValue(q.code, released);
      if (!v) break;
      size_t bin = 0;
      while (bin < q.bins.size() && *v >= q.bins[bin]) ++bin;
      c[bin] = 1;
      break;
    }
    case AggregateKind::kMean: {
      std::optional<double> v = LatestValue(q.code, released);
      if (!v) break;
      const double clamped = std::clamp(*v, q.lower, q.upper);
      c[0] = 1;
      c[1] =
          std::llround((clamped - q.lower) / (q.upper - q.lower) * kMeanSteps);
      c[1] = std::clamp<int64_t>(c[1], 0, kMeanSteps);
      break;
    }
  }
  return c;
}

int64_t CitizenCap(const consent::CitizenPolicy& policy,
                   const consent::Decision& decision, int64_t default_cap) {
  std::optional<int64_t> cap;
  for (uint32_t g : decision.permitting) {
    const std::optional<int64_t>& named = policy.grants[g].privacy_budget;
    if (named && (!cap || *named < *cap)) cap = named;
  }
  return cap.value_or(default_cap);
}

}  // namespace tillit::research
