// Researcher routes (SPEC §5): define studies, read them, ask how many
// citizens could take part. A researcher sees only their own studies:
// another researcher's study is 404, like one that does not exist.
#include "internal.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {
namespace {

using consent::StudyDefinition;

Status NoSuchStudy() { return Status::NotFound("no such study"); }

json StudyJson(const StudyDefinition& s) {
  return json::parse(consent::StudyToJson(s), nullptr, false);
}

audit::AuditEntry StudyEntry(std::string action, const StudyDefinition& s) {
  audit::AuditEntry e;
  e.action = std::move(action);
  e.study_id = s.study.id;
  e.purpose = std::string(consent::DuoId(s.study.purpose.purpose));
  for (vault::Category c : vault::AllCategories()) {
    if ((s.study.categories & consent::CategoryBit(c)) != 0)
      e.categories.emplace_back(vault::CategoryName(c));
  }
  return e;
}

// The caller's own study, or NotFound.
StatusOr<StudyDefinition> OwnStudy(Api& api, Call& call) {
  const std::string id = call.Param("id");
  if (!vault::IsValidId(id, "s_")) return NoSuchStudy();
  StatusOr<StudyDefinition> s = api.consent.GetStudy(id);
  if (!s.ok()) {
    if (s.status().code() == StatusCode::kNotFound) return NoSuchStudy();
    return s.status();
  }
  if (s->study.researcher_id != call.who().id) return NoSuchStudy();
  return s;
}

// A count as the API shows it: a number from 10, "<10" below.
json Count(int64_t n) {
  if (n < 10) return consent::FormatCount(n);
  return n;
}

// POST /v1/studies
Status CreateStudy(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
  if (!body.is_object())
    return Status::InvalidArgument("the body must be a study object");
  // The vault assigns these.
  for (const char* field : {"id", "researcher_id"}) {
    if (body.contains(field)) {
      return Status::InvalidArgument(std::string(field) +
                                     ": assigned by the vault");
    }
  }
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition study,
                          consent::ParseStudyDefinition(text));
  study.study.researcher_id = call.who().id;
  StatusOr<StudyDefinition> stored =
      api.consent.RegisterStudy(std::move(study));
  if (!stored.ok()) {
    // The token's researcher is always registered; anything else is ours.
    if (stored.status().code() == StatusCode::kNotFound)
      return Status::Internal(stored.status().ToString());
    return stored.status();
  }
  TILLIT_RETURN_IF_ERROR(
      api.Audit(call, StudyEntry("study.create", *stored)).status());
  call.Reply(StudyJson(*stored), 201);
  return Status::Ok();
}

// GET /v1/studies
Status ListStudies(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<StudyDefinition> all,
                          api.consent.ListStudies());
  json studies = json::array();
  for (const StudyDefinition& s : all) {
    if (s.study.researcher_id == call.who().id) studies.push_back(StudyJson(s));
  }
  call.Reply({{"studies", std::move(studies)}});
  return Status::Ok();
}

// GET /v1/studies/{id}
Status ReadStudy(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  TILLIT_RETURN_IF_ERROR(api.Audit(call, StudyEntry("study.read", s)).status());
  call.Reply(StudyJson(s));
  return Status::Ok();
}

// GET /v1/studies/{id}/feasibility: from the consent index only. Every
// count below 10, the cohort's and each reason's, is "<10"; the number of
// citizens in the index is not shown (with it, small cohorts could be
// worked out by subtraction).
Status Feasibility(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  TILLIT_ASSIGN_OR_RETURN(consent::Feasibility f,
                          api.consent.CountCohort(s.study.id));
  TILLIT_RETURN_IF_ERROR(
      api.Audit(call, StudyEntry("study.feasibility", s)).status());
  json reasons = json::object();
  for (const auto& [clause, n] : f.reasons) reasons[clause] = Count(n);
  call.Reply({{"study_id", s.study.id},
              {"cohort_size", Count(f.cohort_size)},
              {"reasons", std::move(reasons)}});
  return Status::Ok();
}

}  // namespace

std::vector<Route> ResearchRoutes() {
  return {
      {{"POST", "/v1/studies", kResearcher, {}, false}, CreateStudy, false, {}},
      {{"GET", "/v1/studies", kResearcher, {}, false}, ListStudies, false, {}},
      {{"GET", "/v1/studies/{id}", kResearcher, {}, false},
       ReadStudy,
       false,
       {}},
      {{"GET", "/v1/studies/{id}/feasibility", kResearcher, {}, false},
       Feasibility,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
