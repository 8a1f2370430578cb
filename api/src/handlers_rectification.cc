// Rectification (EHDS Art 6, SPEC §13): a citizen asks for a record to be
// corrected; the provider who answers for it lists what waits and accepts
// (with the corrected resource) or declines (with a reason). The work is
// consent::Rectifications'; here are the bodies, the roles and the audit
// entries, each written under the citizen's lock before anything is
// stored, so a request or decision the log cannot record does not happen.
//
// A provider never learns of a request that is not routed to it: any other
// request id is 404, like an unknown one.
//
// From the Api: rectifications(), audit().
#include <set>
#include <string>

#include "api.h"
#include "call.h"
#include "handlers_citizen.h"
#include "route.h"
#include "tillit/vault/source_tag.h"

namespace tillit::api::internal {
namespace {

using consent::RectificationRequest;

json RequestJson(const RectificationRequest& r) {
  json j = {{"id", r.id},
            {"status", r.status},
            {"citizen", r.citizen_id},
            {"record", r.record_type + "/" + r.record_id},
            {"reason", r.reason},
            {"provider", r.provider_id},
            {"created_at", r.created_at}};
  if (!r.proposed.empty()) j["proposed"] = json::parse(r.proposed);
  if (r.decided_at != 0) j["decided_at"] = r.decided_at;
  if (!r.decision_reason.empty()) j["decision_reason"] = r.decision_reason;
  return j;
}

// The text of an optional FHIR resource field of the body ("" if absent).
// The resource in `field` of the body as the client wrote it (decimals
// keep their digits); empty when there is none. `body` is the same text
// parsed.
StatusOr<std::string> ResourceField(const Call& call, const json& body,
                                    const char* field) {
  if (!body.contains(field) || body[field].is_null()) return std::string();
  if (!body[field].is_object()) {
    return Status::InvalidArgument(std::string(field) +
                                   ": must be a FHIR resource");
  }
  TILLIT_ASSIGN_OR_RETURN(std::string_view text, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(std::optional<std::string_view> member,
                          vault::MemberText(text, field));
  if (!member) return Status::Internal("the member went missing");
  return std::string(*member);
}

StatusOr<std::string> ReasonField(const json& body) {
  if (!body.contains("reason") || !body["reason"].is_string()) {
    return Status::InvalidArgument("reason: required, 1 to 1000 bytes");
  }
  return body["reason"].get<std::string>();
}

Status RejectUnknownFields(const json& body,
                           std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (std::string_view a : allowed) known |= key == a;
    if (!known) {
      return Status::InvalidArgument(
          (key.size() > 64 ? key.substr(0, 64) : key) + ": unknown field");
    }
  }
  return Status::Ok();
}

// POST /v1/me/records/{type}/{id}/rectification-requests
Status Ask(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
  if (!body.is_object())
    return Status::InvalidArgument("the body must be a JSON object");
  TILLIT_RETURN_IF_ERROR(RejectUnknownFields(body, {"reason", "proposed"}));
  TILLIT_ASSIGN_OR_RETURN(std::string reason, ReasonField(body));
  TILLIT_ASSIGN_OR_RETURN(std::string proposed,
                          ResourceField(call, body, "proposed"));
  if (call.acting() != nullptr) {
    // A proxy asks only about a record they are shown.
    TILLIT_RETURN_IF_ERROR(api.stores().With(
        call.citizen(), [&](vault::CitizenStore& store) -> Status {
          TILLIT_ASSIGN_OR_RETURN(
              vault::StoredRecord record,
              store.Get(call.Param("type"), call.Param("id")));
          return citizen::CheckShown(call, record);
        }));
  }
  TILLIT_ASSIGN_OR_RETURN(
      RectificationRequest r,
      api.rectifications().Ask(
          call.citizen(), call.Param("type"), call.Param("id"), reason,
          proposed, [&](const RectificationRequest&) {
            return api.audit()
                .Append(call, citizen::Entry("rectification.request", call))
                .status();
          }));
  call.res.set_header("Location", "/v1/rectification-requests");
  call.Reply(RequestJson(r), 201);
  return Status::Ok();
}

// GET /v1/rectification-requests: a citizen's own requests, every status,
// newest first; a provider's pending requests, oldest first. Each citizen
// whose request a provider is shown gets an entry in their access log.
Status List(Api& api, Call& call) {
  std::vector<RectificationRequest> requests;
  if (call.who().role == kCitizen) {
    TILLIT_ASSIGN_OR_RETURN(requests,
                            api.rectifications().ForCitizen(call.who().id));
    TILLIT_RETURN_IF_ERROR(
        api.audit()
            .Append(call, citizen::Entry("rectification.list", call))
            .status());
  } else {
    TILLIT_ASSIGN_OR_RETURN(requests,
                            api.rectifications().PendingFor(call.who().id));
    std::set<std::string> citizens;
    for (const RectificationRequest& r : requests)
      citizens.insert(r.citizen_id);
    if (citizens.empty()) citizens.insert("");  // the listing itself
    for (const std::string& c : citizens) {
      audit::AuditEntry e;
      e.action = "rectification.list";
      e.citizen_id = c;
      TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(e)).status());
    }
  }
  json out = json::array();
  for (const RectificationRequest& r : requests) out.push_back(RequestJson(r));
  call.Reply({{"requests", std::move(out)}});
  return Status::Ok();
}

// POST /v1/rectification-requests/{id}/decision
Status Decide(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json body, call.Json());
  if (!body.is_object())
    return Status::InvalidArgument("the body must be a JSON object");
  if (!body.contains("decision") || !body["decision"].is_string() ||
      (body["decision"] != "accept" && body["decision"] != "decline")) {
    return Status::InvalidArgument("decision: \"accept\" or \"decline\"");
  }
  const bool accept = body["decision"] == "accept";
  const std::string id = call.Param("id");
  auto admit = [&](const RectificationRequest& r) {
    audit::AuditEntry e;
    e.action = accept ? "rectification.accept" : "rectification.decline";
    e.citizen_id = r.citizen_id;
    return api.audit().Append(call, std::move(e)).status();
  };
  RectificationRequest decided;
  if (accept) {
    TILLIT_RETURN_IF_ERROR(RejectUnknownFields(body, {"decision", "resource"}));
    if (!body.contains("resource") || !body["resource"].is_object()) {
      return Status::InvalidArgument(
          "resource: required to accept (the corrected record)");
    }
    TILLIT_ASSIGN_OR_RETURN(std::string written,
                            ResourceField(call, body, "resource"));
    // The corrected version is the provider's, whatever it claims.
    StatusOr<std::string> resource =
        vault::TagAsProviders(written, call.who().id);
    if (!resource.ok()) {
      return Status(resource.status().code(),
                    "resource: " + resource.status().message());
    }
    TILLIT_ASSIGN_OR_RETURN(decided, api.rectifications().Accept(
                                         call.who().id, id, *resource, admit));
  } else {
    TILLIT_RETURN_IF_ERROR(RejectUnknownFields(body, {"decision", "reason"}));
    TILLIT_ASSIGN_OR_RETURN(std::string reason, ReasonField(body));
    TILLIT_ASSIGN_OR_RETURN(decided, api.rectifications().Decline(
                                         call.who().id, id, reason, admit));
  }
  call.Reply(RequestJson(decided));
  return Status::Ok();
}

}  // namespace

std::vector<Route> RectificationRoutes() {
  return {
      {{"POST",
        "/v1/me/records/{type}/{id}/rectification-requests",
        kCitizen,
        {},
        false},
       Ask,
       false,
       {}},
      {{"GET", "/v1/rectification-requests", kCitizen | kProvider, {}, false},
       List,
       false,
       {}},
      {{"POST",
        "/v1/rectification-requests/{id}/decision",
        kProvider,
        {},
        false},
       Decide,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
