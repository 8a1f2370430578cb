#include "cohort.h"

#include <chrono>
#include <cstdio>
#include <limits>

#include "tillit/consent_service/consent_service.h"

namespace tillit::research::internal {
namespace {

using nlohmann::json;

constexpr size_t kPage = 500;  // records read per store visit

}  // namespace

std::string IsoTime(int64_t t) {
  const auto day = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds(std::chrono::seconds(t)));
  const std::chrono::year_month_day ymd(day);
  const int64_t secs =
      t - std::chrono::sys_seconds(day).time_since_epoch().count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ",
                static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

// Whole years from a FHIR date ("YYYY", "YYYY-MM" or "YYYY-MM-DD") to the
// UTC day of `now`; nullopt for anything else. A partial date counts from
// its latest possible day, so an age is never overstated.
std::optional<int> AgeAt(std::string_view birth, int64_t now) {
  auto num = [&](size_t at, size_t len) -> std::optional<int> {
    if (birth.size() < at + len) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (birth[i] < '0' || birth[i] > '9') return std::nullopt;
      v = v * 10 + (birth[i] - '0');
    }
    return v;
  };
  auto y = num(0, 4);
  if (!y) return std::nullopt;
  int m = 12, d = 31;
  if (birth.size() >= 7) {
    auto mm = num(5, 2);
    if (!mm || birth[4] != '-' || *mm < 1 || *mm > 12) return std::nullopt;
    m = *mm;
  }
  if (birth.size() >= 10) {
    auto dd = num(8, 2);
    if (!dd || birth[7] != '-' || *dd < 1 || *dd > 31) return std::nullopt;
    d = *dd;
  }
  const std::chrono::year_month_day today(std::chrono::floor<std::chrono::days>(
      std::chrono::sys_seconds(std::chrono::seconds(now))));
  const int ty = static_cast<int>(today.year());
  const int tm = static_cast<int>(static_cast<unsigned>(today.month()));
  const int td = static_cast<int>(static_cast<unsigned>(today.day()));
  int age = ty - *y;
  if (tm < m || (tm == m && td < d)) --age;
  return age;
}

bool CodeMatches(const std::string& wanted,
                 const std::vector<std::string>& codes) {
  const bool has_system = wanted.find('|') != std::string::npos;
  for (const std::string& c : codes) {
    if (has_system) {
      if (c == wanted) return true;
    } else {
      const size_t bar = c.rfind('|');
      if (std::string_view(c).substr(bar == std::string::npos ? 0 : bar + 1) ==
          wanted)
        return true;
    }
  }
  return false;
}

audit::AuditEntry ResearchEntry(std::string action,
                                const consent::ResearcherProfile& researcher,
                                const consent::StudyDefinition& study,
                                std::string citizen, int64_t now,
                                const std::string& request_id) {
  audit::AuditEntry e;
  e.time = now;
  e.actor_kind = "researcher";
  e.actor_id = researcher.id;
  e.action = std::move(action);
  e.citizen_id = std::move(citizen);
  e.purpose = std::string(consent::DuoId(study.study.purpose.purpose));
  e.study_id = study.study.id;
  e.decision = "permit";
  e.request_id = request_id;
  return e;
}

Status ReadCohortMember(vault::CitizenStore& store,
                        const consent::ResearcherProfile& researcher,
                        const consent::StudyDefinition& study, int64_t now,
                        CohortMember* out) {
  TILLIT_ASSIGN_OR_RETURN(out->policy,
                          consent::ConsentService::ReadPolicy(store));
  const consent::CitizenPolicy& policy = out->policy;
  consent::Decision& decision = out->decision;
  consent::ResearchRequest request{&researcher, &study.study};
  consent::DecideResearch(policy, request, now, &decision);
  if (!decision.permit) return Status::Ok();

  std::vector<vault::StoredRecord>& released = out->released;
  std::optional<vault::RecordFilter::Position> after;
  for (;;) {
    vault::RecordFilter f;
    f.after = after;
    f.limit = kPage;
    TILLIT_ASSIGN_OR_RETURN(std::vector<vault::StoredRecord> page,
                            store.List(f));
    if (!page.empty()) {
      after = vault::RecordFilter::Position{
          page.back().effective.value_or(std::numeric_limits<int64_t>::min()),
          page.back().seq};
    }
    for (vault::StoredRecord& r : page) {
      consent::RecordFacts facts{r.type,      r.id,        r.category,
                                 r.effective, r.sensitive, r.codes};
      if (consent::Releases(policy, decision, facts, false))
        released.push_back(std::move(r));
    }
    if (page.size() < kPage) break;
  }

  // Criteria, on released records only.
  const consent::CohortCriteria& criteria = study.criteria;
  std::string& patient_id = out->patient_id;
  std::optional<json>& patient = out->patient;
  for (const vault::StoredRecord& r : released) {
    if (r.type == "Patient") {
      patient_id = r.id;
      patient = json::parse(r.resource, nullptr, false);
      break;
    }
  }
  if (criteria.min_age || criteria.max_age || criteria.sex) {
    if (!patient || !patient->is_object()) return Status::Ok();
    if (criteria.sex && patient->value("gender", "") != *criteria.sex)
      return Status::Ok();
    if (criteria.min_age || criteria.max_age) {
      const json& b =
          patient->contains("birthDate") ? (*patient)["birthDate"] : json();
      if (!b.is_string()) return Status::Ok();
      std::optional<int> age = AgeAt(b.get<std::string>(), now);
      if (!age || (criteria.min_age && *age < *criteria.min_age) ||
          (criteria.max_age && *age > *criteria.max_age))
        return Status::Ok();
    }
  }
  if (!criteria.conditions.empty()) {
    bool found = false;
    for (const vault::StoredRecord& r : released) {
      if (r.type != "Condition") continue;
      for (const std::string& wanted : criteria.conditions) {
        if (CodeMatches(wanted, r.codes)) {
          found = true;
          break;
        }
      }
      if (found) break;
    }
    if (!found) return Status::Ok();
  }

  out->in_cohort = true;
  return Status::Ok();
}

}  // namespace tillit::research::internal
