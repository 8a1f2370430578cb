// Researcher routes (SPEC §5): define studies, read them, ask how many
// citizens could take part, make releases and download them. A researcher
// sees only their own studies and releases: another researcher's is 404,
// like one that does not exist.
//
// From the Api: audit(), consent() (studies, researchers, cohorts),
// vault() and stores() (releases and aggregates), releases() (releases
// being made), privacy() (the budget ledger of aggregates), options()
// (randomness).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "call.h"
#include "http_error.h"
#include "jobs.h"
#include "route.h"
#include "server_log.h"
#include "tillit/research/aggregate.h"
#include "tillit/research/release.h"
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
  for (fhir::Category c : fhir::AllCategories()) {
    if ((s.study.categories & consent::CategoryBit(c)) != 0)
      e.categories.emplace_back(fhir::CategoryName(c));
  }
  return e;
}

// The caller's own study, or NotFound.
StatusOr<StudyDefinition> OwnStudy(Api& api, Call& call) {
  const std::string id = call.Param("id");
  if (!vault::IsValidId(id, "s_")) return NoSuchStudy();
  StatusOr<StudyDefinition> s = api.consent().GetStudy(id);
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
      api.consent().RegisterStudy(std::move(study));
  if (!stored.ok()) {
    // The token's researcher is always registered; anything else is ours.
    if (stored.status().code() == StatusCode::kNotFound)
      return Status::Internal(stored.status().ToString());
    return stored.status();
  }
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, StudyEntry("study.create", *stored)).status());
  call.Reply(StudyJson(*stored), 201);
  return Status::Ok();
}

// GET /v1/studies
Status ListStudies(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<StudyDefinition> all,
                          api.consent().ListStudies());
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
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, StudyEntry("study.read", s)).status());
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
                          api.consent().CountCohort(s.study.id));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, StudyEntry("study.feasibility", s)).status());
  json reasons = json::object();
  for (const auto& [clause, n] : f.reasons) reasons[clause] = Count(n);
  call.Reply({{"study_id", s.study.id},
              {"cohort_size", Count(f.cohort_size)},
              {"reasons", std::move(reasons)}});
  return Status::Ok();
}

json ReleaseJson(const research::ReleaseInfo& r) {
  return {{"id", r.id},
          {"study_id", r.study_id},
          {"created", r.created},
          {"cohort_size", r.cohort_size},
          {"audit_index", r.audit_index},
          {"by_category", r.by_category},
          {"by_type", r.by_type},
          {"bytes", r.sealed_bytes}};
}

// The listed release `rid` of study `s`: 404 for a malformed id, one that
// does not exist, or one of another study.
StatusOr<research::ReleaseInfo> ListedRelease(Api& api,
                                              const StudyDefinition& s,
                                              const std::string& rid) {
  if (!vault::IsValidId(rid, "rel_"))
    return Status::NotFound("no such release");
  StatusOr<research::ReleaseInfo> info = research::GetRelease(api.vault(), rid);
  if (!info.ok()) {
    if (info.status().code() == StatusCode::kNotFound)
      return Status::NotFound("no such release");
    return info.status();
  }
  if (info->study_id != s.study.id) return Status::NotFound("no such release");
  return info;
}

// How a release's job reads in a status answer.
json ReleaseStatusJson(const research::ReleaseInfo& r) {
  json out = ReleaseJson(r);
  out["status"] = "done";
  return out;
}

// The 429 of a full release table, with a hint of when to come back.
Status ReplyBusy(Call& call, const Status& status) {
  call.res.set_header("Retry-After", "10");
  call.res.status = 429;
  call.res.set_content(
      ErrorBody("rate_limited", status.message(), call.request_id()),
      "application/json");
  return Status::Ok();
}

// POST /v1/studies/{id}/releases: decides every candidate on their full
// policy, releases what they permit, and answers once the release is
// audited and its file is in place (201). With `Prefer: respond-async` it
// answers 202 at once and makes the release in the background; its
// status route says when it is done. The body is empty or {}. A
// researcher makes one release at a time, the server two: 429 beyond.
Status CreateRelease(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  if (!call.req.body.empty()) {
    TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
    if (!body.is_object() || !body.empty())
      return Status::InvalidArgument("the body must be empty or {}");
  }
  TILLIT_ASSIGN_OR_RETURN(consent::ResearcherProfile researcher,
                          api.consent().GetResearcher(call.who().id));
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> candidates,
                          api.consent().Candidates(researcher, s.study));
  const int64_t now = api.Now();
  ReleaseJob job{s.study.id, std::make_shared<std::atomic<bool>>(false)};
  ReleaseJobs::Work work =
      [&api, s, researcher, candidates = std::move(candidates), now,
       request_id = std::string(call.request_id()),
       audit_failed = job.audit_failed](
          const std::string& id,
          JobProgress& progress) -> StatusOr<research::ReleaseInfo> {
    research::ReleaseInput in;
    in.study = &s;
    in.researcher = &researcher;
    in.candidates = candidates;
    in.release_id = id;
    in.now = now;
    in.request_id = request_id;
    in.env = api.vault().env();
    in.progress = [&progress](size_t done, size_t total) {
      progress.SetTotal(total);
      progress.SetDone(done);
      return !progress.cancelled();
    };
    // A researcher registered without a key: 409; the audit log
    // refusing: 503; nothing was released either way.
    return research::MakeRelease(
        api.vault(), api.stores(), api.audit().log(), in,
        [&](const std::vector<audit::AuditEntry>& entries) {
          auto indexes = api.audit().AppendBatch(request_id, entries);
          if (!indexes.ok()) audit_failed->store(true);
          return indexes;
        });
  };
  const std::string owner = call.who().id;
  if (call.req.get_header_value("Prefer").find("respond-async") !=
      std::string::npos) {
    StatusOr<std::string> id =
        api.releases().Start(owner, job, now, *api.options().rng, work);
    if (!id.ok()) {
      if (id.status().code() != StatusCode::kResourceExhausted)
        return id.status();
      return ReplyBusy(call, id.status());
    }
    call.res.set_header("Location", "/v1/studies/" + s.study.id + "/releases/" +
                                        *id + "/status");
    call.Reply({{"id", *id}, {"status", "running"}}, 202);
    return Status::Ok();
  }
  StatusOr<ReleaseJobs::View> done =
      api.releases().RunHere(owner, job, now, *api.options().rng, work);
  if (!done.ok()) {
    if (done.status().code() != StatusCode::kResourceExhausted)
      return done.status();
    return ReplyBusy(call, done.status());
  }
  if (done->state != JobState::kDone) {
    call.audit_failed = job.audit_failed->load();
    return done->error;
  }
  call.res.set_header("Location", "/v1/studies/" + s.study.id + "/releases/" +
                                      done->result->id);
  call.Reply(ReleaseJson(*done->result), 201);
  return Status::Ok();
}

// GET /v1/studies/{id}/releases/{rid}/status: 202 while the release is
// being made (with how many candidates have been read, counted as
// feasibility counts: below 10 is "<10"), its listing once it is done, or
// the error that ended it (kept an hour).
Status ReleaseStatus(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  const std::string rid = call.Param("rid");
  if (!vault::IsValidId(rid, "rel_"))
    return Status::NotFound("no such release");
  std::optional<ReleaseJobs::View> job =
      api.releases().Find(rid, call.who().id, api.Now());
  if (job && job->meta.study_id == s.study.id) {
    switch (job->state) {
      case JobState::kRunning:
        call.res.set_header("Retry-After", "2");
        call.Reply({{"id", rid},
                    {"status", "running"},
                    {"citizens_read", Count(static_cast<int64_t>(job->done))},
                    {"citizens", Count(static_cast<int64_t>(job->total))}},
                   202);
        return Status::Ok();
      case JobState::kFailed:
        call.audit_failed = job->meta.audit_failed->load();
        return job->error;
      case JobState::kDone:
        call.Reply(ReleaseStatusJson(*job->result));
        return Status::Ok();
    }
  }
  // Made over an hour ago, or before a restart: the listing says.
  TILLIT_ASSIGN_OR_RETURN(research::ReleaseInfo info,
                          ListedRelease(api, s, rid));
  call.Reply(ReleaseStatusJson(info));
  return Status::Ok();
}

// GET /v1/studies/{id}/releases
Status ListReleases(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  TILLIT_ASSIGN_OR_RETURN(std::vector<research::ReleaseInfo> all,
                          research::ListReleases(api.vault(), s.study.id));
  json releases = json::array();
  for (const research::ReleaseInfo& r : all) releases.push_back(ReleaseJson(r));
  call.Reply({{"releases", std::move(releases)}});
  return Status::Ok();
}

// GET /v1/studies/{id}/releases/{rid}: the sealed file, streamed.
Status DownloadRelease(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  const std::string rid = call.Param("rid");
  TILLIT_ASSIGN_OR_RETURN(research::ReleaseInfo info,
                          ListedRelease(api, s, rid));
  const int fd = ::open(research::ReleasePath(api.vault(), rid).c_str(),
                        O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::DataLoss("the release file is missing");
  struct stat st {};
  if (::fstat(fd, &st) != 0 ||
      static_cast<uint64_t>(st.st_size) != info.sealed_bytes) {
    ::close(fd);
    return Status::DataLoss("the release file does not match its listing");
  }
  audit::AuditEntry e = StudyEntry("research.download", s);
  if (Status audited = api.audit().Append(call, e).status(); !audited.ok()) {
    ::close(fd);
    return audited;
  }
  auto file = std::shared_ptr<int>(new int(fd), [](int* p) {
    ::close(*p);
    delete p;
  });
  call.res.status = 200;
  call.res.set_header("Content-Disposition",
                      "attachment; filename=\"" + rid + ".tillit\"");
  call.res.set_content_provider(
      static_cast<size_t>(st.st_size), "application/octet-stream",
      [file](size_t offset, size_t length, httplib::DataSink& sink) {
        char buf[65536];
        const size_t want = std::min(length, sizeof buf);
        const ssize_t got =
            ::pread(*file, buf, want, static_cast<off_t>(offset));
        if (got <= 0) return false;
        return sink.write(buf, static_cast<size_t>(got));
      });
  return Status::Ok();
}

json AggregateJson(const research::AggregateResult& r) {
  json cells = json::array();
  for (const research::AggregateCell& c : r.cells) {
    json cell = {{"label", c.spec.label},
                 {"value", c.value},
                 {"error_bound_95", c.error_bound},
                 {"below_noise", c.below_noise},
                 {"sensitivity", c.spec.sensitivity},
                 {"epsilon", EpsilonJson(c.spec.epsilon)}};
    if (!c.spec.key.empty()) cell["key"] = c.spec.key;
    cells.push_back(std::move(cell));
  }
  json out = {{"id", r.id},
              {"study_id", r.study_id},
              {"query", json::parse(research::AggregateQueryToJson(r.query))},
              {"description", r.description},
              {"time", ServerLog::Rfc3339(r.time)},
              {"mechanism", "discrete Laplace"},
              {"epsilon", EpsilonJson(r.query.epsilon)},
              {"delta", 0},
              {"cells", std::move(cells)},
              {"budget",
               {{"total", EpsilonJson(r.budget.total)},
                {"spent", EpsilonJson(r.budget.spent)},
                {"remaining",
                 EpsilonJson(std::max<int64_t>(0, r.budget.remaining()))}}}};
  if (r.query.kind == research::AggregateKind::kMean)
    out["mean"] = r.mean ? json(*r.mean) : json(nullptr);
  return out;
}

// POST /v1/studies/{id}/aggregates: a differentially private answer over
// the study's consenting cohort (research/aggregate.h). 403 when the study
// has no privacy budget or too little left; nothing is spent then.
Status CreateAggregate(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(StudyDefinition s, OwnStudy(api, call));
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(research::AggregateQuery query,
                          research::ParseAggregateQuery(text));
  TILLIT_ASSIGN_OR_RETURN(consent::ResearcherProfile researcher,
                          api.consent().GetResearcher(call.who().id));
  research::AggregateInput in;
  in.study = &s;
  in.researcher = &researcher;
  in.query = std::move(query);
  TILLIT_ASSIGN_OR_RETURN(
      in.candidates, api.consent().AggregateCandidates(researcher, s.study));
  in.id = "agg_" + api.options().rng->Hex(16);
  in.now = api.Now();
  in.request_id = call.request_id();
  in.rng = api.options().rng;
  TILLIT_ASSIGN_OR_RETURN(
      research::AggregateResult made,
      research::RunAggregate(
          api.stores(), api.privacy(), in,
          [&](const std::vector<audit::AuditEntry>& entries) {
            return api.audit().AppendBatch(call, entries);
          }));
  call.Reply(AggregateJson(made));
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
      {{"POST", "/v1/studies/{id}/releases", kResearcher, {}, false},
       CreateRelease,
       false,
       {}},
      {{"GET", "/v1/studies/{id}/releases", kResearcher, {}, false},
       ListReleases,
       false,
       {}},
      {{"POST", "/v1/studies/{id}/aggregates", kResearcher, {}, false},
       CreateAggregate,
       false,
       {}},
      {{"GET", "/v1/studies/{id}/releases/{rid}", kResearcher, {}, false},
       DownloadRelease,
       false,
       {}},
      {{"GET",
        "/v1/studies/{id}/releases/{rid}/status",
        kResearcher,
        {},
        false},
       ReleaseStatus,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
