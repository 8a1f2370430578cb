// FHIR Bulk Data Access v2, patient level (docs/FHIR.md):
//
//   GET    /fhir/Patient/{id}/$export        kick-off (Prefer: respond-async)
//   GET    /fhir/bulk-status/{id}            202 with X-Progress, then the
//                                            manifest
//   DELETE /fhir/bulk-status/{id}            cancel, or forget
//   GET    /fhir/bulk-files/{id}/{type}.ndjson   one file of the output
//
// The caller sees what a search would show them (the citizen all; an app
// what its scopes and the citizen's choices give; a provider what the
// grants release), decided at the kick-off, which writes the audit entry
// (records.export) before any record is read; a provider's download is
// refused once no grant permits them any more. Only the one who kicked a
// job off sees it. Jobs run on their own thread (bulk.h) and live in
// memory: a restart forgets them.
//
// From the Api: bulk(), stores(), policies() (through StandingOf),
// audit(), options().
#include <set>

#include "api.h"
#include "bulk.h"
#include "call.h"
#include "cursor.h"
#include "handlers_citizen.h"
#include "handlers_fhir.h"
#include "provider_access.h"
#include "route.h"
#include "server_log.h"
#include "smart.h"
#include "tillit/consent/policy.h"
#include "tillit/fhir/search.h"

namespace tillit::api::internal {
namespace {

using nlohmann::json;

constexpr size_t kMaxExportBytes = size_t{512} << 20;
constexpr size_t kPage = 500;

// Who a job belongs to: the principal, and for an app its authorisation.
std::string Owner(const Call& call) {
  if (call.who().app) return "app:" + call.who().app->id;
  return std::string(RoleName(call.who().role)) + ":" + call.who().id;
}

// A record as one NDJSON line: as stored when it is on one line already,
// otherwise parsed and written compactly.
std::string Line(const std::string& resource) {
  if (resource.find_first_of("\r\n") == std::string::npos) return resource;
  const json j = json::parse(resource, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded())
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out = resource;  // cannot happen: records are stored parsed
  for (char& c : out) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return out;
}

using Shown = std::function<bool(const vault::StoredRecord&)>;

struct Kickoff {
  std::set<std::string> types;  // empty: every type
  std::optional<int64_t> since;
};

StatusOr<Kickoff> ParseKickoff(const Call& call) {
  Kickoff k;
  for (const auto& [name, value] : call.req.params) {
    if (name == "_type") {
      size_t at = 0;
      while (at <= value.size()) {
        size_t end = value.find(',', at);
        if (end == std::string::npos) end = value.size();
        const std::string type = value.substr(at, end - at);
        if (!IsFhirType(type))
          return Status::InvalidArgument(
              "_type: this server does not serve " +
              (type.empty() ? std::string("an empty type") : type));
        k.types.insert(type);
        at = end + 1;
      }
    } else if (name == "_since") {
      auto since = fhir::ParseDateParam(value);
      if (!since.ok() || since->comparator != fhir::Comparator::kEq)
        return Status::InvalidArgument(
            "_since: an instant, such as "
            "2024-01-01T00:00:00Z");
      k.since = since->start;
    } else if (name == "_outputFormat") {
      if (value != "application/fhir+ndjson" && value != "application/ndjson" &&
          value != "ndjson" && value != "application/fhir ndjson")
        return Status::InvalidArgument(
            "_outputFormat: only application/fhir+ndjson");
    } else {
      return Status::InvalidArgument(name +
                                     ": not a parameter of this export "
                                     "(_type, _since, _outputFormat)");
    }
  }
  return k;
}

// GET /fhir/Patient/{id}/$export
Status ExportKickoff(Api& api, Call& call) {
  if (!FhirNegotiateJson(call)) return Status::Ok();
  if (call.req.get_header_value("Prefer").find("respond-async") ==
      std::string::npos)
    return Status::InvalidArgument(
        "Prefer: respond-async is required (the export runs in the "
        "background)");
  TILLIT_ASSIGN_OR_RETURN(Kickoff k, ParseKickoff(call));
  const std::string id = call.Param("id");
  if (!fhir::IsFhirId(id)) return Status::NotFound("no such patient");
  TILLIT_ASSIGN_OR_RETURN(std::string citizen,
                          FhirCitizenOfPatient(api, call, id));
  const int64_t now = api.Now();
  // What the caller may see, decided now; the audit entry first.
  Shown shown;
  audit::AuditEntry entry;
  bool denied = false;
  TILLIT_RETURN_IF_ERROR(
      api.stores().With(citizen, [&](vault::CitizenStore& store) -> Status {
        if (call.who().role == kProvider) {
          TILLIT_ASSIGN_OR_RETURN(Standing standing,
                                  StandingOf(api, store, call.who().id, now));
          entry = ProviderEntry("records.export", citizen, *standing.policy,
                                standing.decision);
          denied = !standing.decision.permit;
          shown = [policy = standing.policy,
                   decision = standing.decision](const vault::StoredRecord& r) {
            return consent::Releases(*policy, decision, citizen::Facts(r),
                                     /*primary_use=*/true);
          };
          return Status::Ok();
        }
        TILLIT_ASSIGN_OR_RETURN(auto counts, store.CountByCategory());
        entry = citizen::Entry("records.export", call);
        const AppAuthorization* app = call.who().app.get();
        for (const auto& [name, count] : counts) {
          const auto c = fhir::ParseCategory(name);
          if (count > 0 && c &&
              (app == nullptr || (app->categories & consent::CategoryBit(*c))))
            entry.categories.push_back(name);
        }
        if (call.who().app) {
          shown = [app = call.who().app](const vault::StoredRecord& r) {
            return app->Shows(r, /*search=*/true);
          };
        } else {
          shown = [](const vault::StoredRecord&) { return true; };
        }
        return Status::Ok();
      }));
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(entry)).status());
  if (denied) return Status::NotFound("no such patient");

  const std::string base = FhirBaseUrl(api, call);
  BulkWork work = [&api, citizen, shown, k](BulkProgress& progress,
                                            std::vector<BulkFile>& files) {
    TILLIT_RETURN_IF_ERROR(
        api.stores().With(citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(int64_t total, store.Count());
          progress.SetTotal(static_cast<size_t>(total));
          return Status::Ok();
        }));
    std::map<std::string, BulkFile> by_type;
    size_t bytes = 0;
    vault::RecordFilter f;
    f.limit = kPage;
    for (;;) {
      if (progress.cancelled())
        return Status::FailedPrecondition("the export was cancelled");
      std::vector<vault::StoredRecord> rows;
      // A page at a time: the citizen's other requests go on meanwhile.
      TILLIT_RETURN_IF_ERROR(
          api.stores().With(citizen, [&](vault::CitizenStore& store) -> Status {
            TILLIT_ASSIGN_OR_RETURN(rows, store.List(f));
            return Status::Ok();
          }));
      progress.Add(rows.size());
      for (const vault::StoredRecord& r : rows) {
        if (!k.types.empty() && k.types.count(r.type) == 0) continue;
        if (k.since && r.updated_at < *k.since) continue;
        if (!shown(r)) continue;
        BulkFile& file = by_type[r.type];
        file.type = r.type;
        std::string line = Line(r.resource);
        bytes += line.size() + 1;
        if (bytes > kMaxExportBytes)
          return Status::ResourceExhausted(
              "the export is larger than 512 MiB; ask for fewer types "
              "(_type) or newer records (_since)");
        file.ndjson += line;
        file.ndjson += '\n';
        ++file.count;
      }
      if (rows.size() < kPage) break;
      f.after = PositionOf(rows.back());
    }
    for (auto& [type, file] : by_type) files.push_back(std::move(file));
    return Status::Ok();
  };
  std::string request = base + "/Patient/" + id + "/$export";
  char sep = '?';
  for (const auto& [name, value] : call.req.params) {
    request += sep + FhirPercentEncode(name) + "=" + FhirPercentEncode(value);
    sep = '&';
  }
  auto job = api.bulk().Start(Owner(call), citizen, std::move(request), now,
                              *api.options().rng, std::move(work));
  if (!job.ok()) {
    if (job.status().code() != StatusCode::kResourceExhausted)
      return job.status();
    call.res.set_header("Retry-After", "10");
    FhirReplyOutcome(call, 429, job.status().message());
    return Status::Ok();
  }
  call.res.status = 202;
  call.res.set_header("Content-Location", base + "/bulk-status/" + *job);
  return Status::Ok();
}

Status NoSuchExport() {
  return Status::NotFound(
      "no such export: it was cancelled, or ended over an hour ago");
}

// GET /fhir/bulk-status/{id}
Status ExportStatus(Api& api, Call& call) {
  const std::string id = call.Param("id");
  auto job = api.bulk().Find(id, Owner(call), api.Now());
  if (!job) return NoSuchExport();
  switch (job->state) {
    case BulkJobView::State::kRunning:
      call.res.status = 202;
      call.res.set_header("X-Progress",
                          "read " + std::to_string(job->read) + " of " +
                              std::to_string(job->total) + " records");
      call.res.set_header("Retry-After", "2");
      return Status::Ok();
    case BulkJobView::State::kFailed:
      FhirReplyOutcome(call, 500, "the export failed: " + job->error);
      return Status::Ok();
    case BulkJobView::State::kDone:
      break;
  }
  const std::string base = FhirBaseUrl(api, call);
  json output = json::array();
  for (const auto& [type, count] : job->files) {
    output.push_back(
        {{"type", type},
         {"url", base + "/bulk-files/" + id + "/" + type + ".ndjson"},
         {"count", count}});
  }
  call.Reply({{"transactionTime", ServerLog::Rfc3339(job->transaction_time)},
              {"request", job->request},
              {"requiresAccessToken", true},
              {"output", std::move(output)},
              {"error", json::array()}});
  call.res.set_header("Expires", ServerLog::Rfc3339(job->expires));
  return Status::Ok();
}

// DELETE /fhir/bulk-status/{id}
Status ExportCancel(Api& api, Call& call) {
  if (!api.bulk().Delete(call.Param("id"), Owner(call))) return NoSuchExport();
  call.res.status = 202;
  return Status::Ok();
}

// GET /fhir/bulk-files/{id}/{file}
Status ExportFile(Api& api, Call& call) {
  const std::string id = call.Param("id");
  const std::string name = call.Param("file");
  constexpr std::string_view kSuffix = ".ndjson";
  const Status no_file = Status::NotFound("no such file");
  if (name.size() <= kSuffix.size() ||
      name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return no_file;
  const std::string type = name.substr(0, name.size() - kSuffix.size());
  const int64_t now = api.Now();
  auto job = api.bulk().Find(id, Owner(call), now);
  if (!job) return no_file;
  std::shared_ptr<const BulkFile> file =
      api.bulk().File(id, Owner(call), type, now);
  if (!file) return no_file;
  if (call.who().role == kProvider) {
    // A provider whose grants no longer permit them gets nothing more.
    bool permit = false;
    TILLIT_RETURN_IF_ERROR(api.stores().With(
        job->citizen, [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(Standing standing,
                                  StandingOf(api, store, call.who().id, now));
          permit = standing.decision.permit;
          return Status::Ok();
        }));
    if (!permit) return no_file;
  }
  call.res.status = 200;
  call.res.set_content_provider(
      file->ndjson.size(), "application/fhir+ndjson",
      [file](size_t offset, size_t length, httplib::DataSink& sink) {
        return sink.write(file->ndjson.data() + offset,
                          std::min<size_t>(length, 1 << 16));
      });
  return Status::Ok();
}

Route BulkRoute(std::string method, std::string path, Handler handler,
                std::vector<std::string> query) {
  Route r{{std::move(method), std::move(path), kCitizen | kProvider | kApp,
           std::move(query), false},
          handler,
          false,
          {}};
  r.fhir = true;
  return r;
}

}  // namespace

std::vector<Route> BulkRoutes() {
  return {
      BulkRoute("GET", "/fhir/Patient/{id}/$export", ExportKickoff,
                {"_type", "_since", "_outputFormat"}),
      BulkRoute("GET", "/fhir/bulk-status/{id}", ExportStatus, {}),
      BulkRoute("DELETE", "/fhir/bulk-status/{id}", ExportCancel, {}),
      BulkRoute("GET", "/fhir/bulk-files/{id}/{file}", ExportFile, {}),
  };
}

}  // namespace tillit::api::internal
