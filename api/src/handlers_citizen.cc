// The /v1/me route table and the helpers the citizen handler files share
// (handlers_citizen.h).
#include "handlers_citizen.h"

#include <utility>

#include "call.h"
#include "route.h"

namespace tillit::api::internal {
namespace citizen {

audit::AuditEntry Entry(std::string action, const Call& call) {
  audit::AuditEntry e;
  e.action = std::move(action);
  e.citizen_id = call.citizen();
  return e;
}

Status CheckShown(const Call& call, const vault::StoredRecord& r) {
  const Acting* acting = call.acting();
  if (acting == nullptr) return Status::Ok();
  // A record hidden from the proxy (sensitive, restricted) answers as an
  // absent one whatever its category: a 403 would tell it exists.
  consent::ProxyDecision any_category = acting->decision;
  any_category.categories = consent::kAllCategories;
  if (!consent::ProxyReleases(acting->policy->restrictions, any_category,
                              Facts(r))) {
    return Status::NotFound("no such record");
  }
  return call.Covers(r.category);
}

std::vector<std::string> CategoryNames(const std::set<fhir::Category>& set) {
  std::vector<std::string> out;
  for (fhir::Category c : set) out.emplace_back(fhir::CategoryName(c));
  return out;
}

std::vector<std::string> CategoryNames(consent::CategorySet set) {
  std::vector<std::string> out;
  for (fhir::Category c : fhir::AllCategories()) {
    if (set & consent::CategoryBit(c)) out.emplace_back(fhir::CategoryName(c));
  }
  return out;
}

std::string RecordsPath(const Call& call) {
  if (call.acting() == nullptr) return "/v1/me/records";
  return "/v1/citizens/" + call.citizen() + "/records";
}

StatusOr<size_t> LimitParam(const Call& call) {
  std::optional<std::string> text = call.Query("limit");
  if (!text) return kDefaultLimit;
  std::optional<int64_t> n = ParseInteger<int64_t>(*text);
  if (!n || *n < 1 || *n > static_cast<int64_t>(kMaxLimit))
    return Status::InvalidArgument("limit: must be an integer from 1 to 1000");
  return static_cast<size_t>(*n);
}

}  // namespace citizen

std::vector<Route> CitizenRoutes() {
  const std::vector<std::string> list_query = {"category", "type",  "since",
                                               "until",    "limit", "cursor"};
  const std::vector<std::string> log_query = {"limit", "before", "proofs"};
  // Literal paths come before parameterised ones of the same length.
  return {
      {{"GET", "/v1/me", kCitizen, {}, false}, citizen::Summary, false, {}},
      {{"DELETE", "/v1/me", kCitizen, {}, false}, citizen::Erase, false, {}},
      {{"POST", "/v1/me/import", kCitizen, {}, true},
       citizen::Import,
       false,
       {}},
      {{"GET", "/v1/me/records", kCitizen, list_query, false},
       citizen::ListRecords,
       false,
       {}},
      {{"POST", "/v1/me/records", kCitizen, {}, false},
       citizen::AddRecord,
       false,
       {}},
      {{"GET", "/v1/me/records/{type}/{id}", kCitizen, {}, false},
       citizen::ReadRecord,
       false,
       {}},
      {{"PUT", "/v1/me/records/{type}/{id}", kCitizen, {}, false},
       citizen::CorrectRecord,
       false,
       {}},
      {{"GET", "/v1/me/records/{type}/{id}/history", kCitizen, {}, false},
       citizen::RecordHistory,
       false,
       {}},
      {{"GET", "/v1/me/export", kCitizen, {}, false},
       citizen::Export,
       false,
       {}},
      {{"GET", "/v1/me/consents", kCitizen, {}, false},
       citizen::ListConsents,
       false,
       {}},
      {{"POST", "/v1/me/consents", kCitizen, {}, false},
       citizen::AddConsent,
       false,
       {}},
      {{"POST", "/v1/me/consents/preview", kCitizen, {}, false},
       citizen::PreviewConsent,
       false,
       {}},
      {{"DELETE", "/v1/me/consents/{id}", kCitizen, {}, false},
       citizen::RevokeConsent,
       false,
       {}},
      {{"GET", "/v1/me/restrictions", kCitizen, {}, false},
       citizen::GetRestrictions,
       false,
       {}},
      {{"PUT", "/v1/me/restrictions", kCitizen, {}, false},
       citizen::PutRestrictions,
       false,
       {}},
      {{"GET", "/v1/me/research-opt-out", kCitizen, {}, false},
       citizen::GetOptOut,
       false,
       {}},
      {{"PUT", "/v1/me/research-opt-out", kCitizen, {}, false},
       citizen::PutOptOut,
       false,
       {}},
      {{"GET", "/v1/me/primary-use-opt-out", kCitizen, {}, false},
       citizen::GetPrimaryOptOut,
       false,
       {}},
      {{"PUT", "/v1/me/primary-use-opt-out", kCitizen, {}, false},
       citizen::PutPrimaryOptOut,
       false,
       {}},
      {{"GET", "/v1/me/privacy-budget", kCitizen, {}, false},
       citizen::PrivacyBudget,
       false,
       {}},
      {{"GET", "/v1/me/access-log", kCitizen, log_query, false},
       citizen::AccessLog,
       false,
       {}},
      {{"GET", "/v1/me/devices", kCitizen, {}, false},
       citizen::ListDevices,
       false,
       {}},
      {{"POST", "/v1/me/devices/pairing-codes", kCitizen, {}, false},
       citizen::NewPairingCode,
       false,
       {}},
      {{"DELETE", "/v1/me/devices/{id}", kCitizen, {}, false},
       citizen::RevokeDevice,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
