// Operator routes (register principals, set studies' privacy budgets) and
// citizen enrollment.
//
// From the Api: audit(), vault() and consent() (registration), devices()
// (pairing at enrollment), privacy() (budgets), options() (token
// lifetimes, randomness).
#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "api.h"
#include "call.h"
#include "devices.h"
#include "route.h"
#include "tillit/api/principals.h"
#include "tillit/consent/epsilon.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::api::internal {
namespace {

audit::AuditEntry Entry(std::string action, std::string citizen = "") {
  audit::AuditEntry e;
  e.action = std::move(action);
  e.citizen_id = std::move(citizen);
  return e;
}

// An empty body or an empty JSON object.
Status ExpectNoFields(Call& call) {
  if (call.req.body.empty()) return Status::Ok();
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object() || !j.empty())
    return Status::InvalidArgument("the body must be empty or {}");
  return Status::Ok();
}

Status CreateCitizen(Api& api, Call& call) {
  TILLIT_RETURN_IF_ERROR(ExpectNoFields(call));
  TILLIT_ASSIGN_OR_RETURN(
      NewCitizen c,
      CreateCitizenWithCode(api.vault(), api.options().enrollment_code_ttl));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("citizen.create", c.citizen_id)).status());
  call.Reply({{"citizen_id", c.citizen_id},
              {"enrollment_code", c.enrollment_code.ExposeSecretText()},
              {"expires", c.enrollment_code.expires_at}},
             201);
  return Status::Ok();
}

Status NewCode(Api& api, Call& call) {
  TILLIT_RETURN_IF_ERROR(ExpectNoFields(call));
  const std::string id = call.Param("citizen_id");
  TILLIT_ASSIGN_OR_RETURN(
      vault::IssuedToken code,
      NewEnrollmentCode(api.vault(), id, api.options().enrollment_code_ttl));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("citizen.enrollment-code", id)).status());
  call.Reply({{"citizen_id", id},
              {"enrollment_code", code.ExposeSecretText()},
              {"expires", code.expires_at}},
             201);
  return Status::Ok();
}

Status Researcher(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view body, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(
      Registration r,
      RegisterResearcher(api.vault(), api.consent(), *api.options().rng, body,
                         api.options().principal_token_ttl));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("researcher.register")).status());
  call.Reply({{"researcher_id", r.id},
              {"token", r.token.ExposeSecretText()},
              {"expires", r.token.expires_at}},
             201);
  return Status::Ok();
}

Status Provider(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view body, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(
      Registration r, RegisterProvider(api.vault(), *api.options().rng, body,
                                       api.options().principal_token_ttl));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("provider.register")).status());
  call.Reply({{"provider_id", r.id},
              {"token", r.token.ExposeSecretText()},
              {"expires", r.token.expires_at}},
             201);
  return Status::Ok();
}

Status Auditor(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string_view body, call.JsonText());
  TILLIT_ASSIGN_OR_RETURN(Registration r,
                          RegisterAuditor(api.vault(), *api.options().rng, body,
                                          api.options().principal_token_ttl));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("auditor.register")).status());
  call.Reply({{"auditor_id", r.id},
              {"token", r.token.ExposeSecretText()},
              {"expires", r.token.expires_at}},
             201);
  return Status::Ok();
}

// A device to pair at enrollment, checked before the code is spent.
struct DeviceRequest {
  crypto::Ed25519PublicKey public_key;
  std::string name;
};

StatusOr<std::optional<DeviceRequest>> ParseEnrollment(const json& j,
                                                       std::string* code) {
  const Status shape = Status::InvalidArgument(
      "the body must be {\"enrollment_code\": \"…\"}, optionally with "
      "\"device_public_key\" and \"device_name\"");
  if (!j.is_object() || !j.contains("enrollment_code") ||
      !j["enrollment_code"].is_string()) {
    return shape;
  }
  for (const auto& [key, value] : j.items()) {
    if (key != "enrollment_code" && key != "device_public_key" &&
        key != "device_name") {
      return Status::InvalidArgument(key + ": unknown field");
    }
  }
  *code = j["enrollment_code"].get<std::string>();
  const bool has_key = j.contains("device_public_key");
  if (has_key != j.contains("device_name")) {
    return Status::InvalidArgument(
        "device_public_key and device_name come together");
  }
  if (!has_key) return std::optional<DeviceRequest>();
  if (!j["device_public_key"].is_string() || !j["device_name"].is_string())
    return Status::InvalidArgument(
        "device_public_key and device_name: must be strings");
  DeviceRequest d;
  TILLIT_ASSIGN_OR_RETURN(
      d.public_key,
      ParseDevicePublicKey(j["device_public_key"].get<std::string>()));
  d.name = j["device_name"].get<std::string>();
  TILLIT_RETURN_IF_ERROR(CheckDeviceName(d.name));
  return std::optional<DeviceRequest>(std::move(d));
}

// POST /v1/enroll: a bearer token, or (with a device key) a paired device.
Status Enroll(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  std::string code;
  TILLIT_ASSIGN_OR_RETURN(std::optional<DeviceRequest> device,
                          ParseEnrollment(j, &code));
  auto redeemed = api.vault().RedeemToken(code, "enroll");
  if (!redeemed.ok()) {
    if (redeemed.status().code() == StatusCode::kUnauthenticated) {
      return Status::Unauthenticated(
          "invalid, used or expired enrollment code");
    }
    return redeemed.status();
  }
  const std::string citizen = redeemed->principal;
  audit::AuditEntry e =
      Entry(device ? "device.pair" : "citizen.enroll", citizen);
  e.actor_kind = "citizen";
  e.actor_id = citizen;
  if (device) {
    TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
    TILLIT_ASSIGN_OR_RETURN(Device paired,
                            api.devices().Pair(citizen, device->public_key,
                                               device->name, api.Now()));
    call.Reply({{"citizen_id", citizen}, {"device_id", paired.id}});
    return Status::Ok();
  }
  TILLIT_ASSIGN_OR_RETURN(
      vault::IssuedToken token,
      api.vault().IssueToken("citizen", citizen,
                             api.options().citizen_token_ttl));
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  call.Reply({{"citizen_id", citizen},
              {"token", token.ExposeSecretText()},
              {"expires", token.expires_at}});
  return Status::Ok();
}

// PUT /v1/admin/studies/{id}/privacy-budget {"epsilon": 3}: the study's
// total ε for aggregate queries. 404 for an unknown study, 409 when what
// is already spent exceeds the new total.
Status StudyBudget(Api& api, Call& call) {
  const std::string id = call.Param("id");
  if (!vault::IsValidId(id, "s_")) return Status::NotFound("no such study");
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object() || j.size() != 1 || !j.contains("epsilon") ||
      !j["epsilon"].is_number()) {
    return Status::InvalidArgument(
        "epsilon: the body must be {\"epsilon\": <the study's total>}");
  }
  StatusOr<int64_t> total =
      consent::EpsilonFromDouble(j["epsilon"].get<double>());
  if (!total.ok())
    return Status::InvalidArgument("epsilon: " + total.status().message());
  StatusOr<consent::StudyDefinition> study = api.consent().GetStudy(id);
  if (!study.ok()) {
    if (study.status().code() == StatusCode::kNotFound)
      return Status::NotFound("no such study");
    return study.status();
  }
  // Refused before the entry is written: a change that cannot happen
  // leaves no trace.
  if (StatusOr<research::StudyBudget> now = api.privacy().GetStudyBudget(id);
      now.ok() && now->spent > *total) {
    return Status::FailedPrecondition("the study has already spent epsilon " +
                                      research::FormatEpsilon(now->spent) +
                                      ", more than " +
                                      research::FormatEpsilon(*total));
  }
  audit::AuditEntry e = Entry("study.budget");
  e.study_id = id;
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, e).status());
  TILLIT_RETURN_IF_ERROR(api.privacy().SetStudyBudget(id, *total));
  TILLIT_ASSIGN_OR_RETURN(research::StudyBudget b,
                          api.privacy().GetStudyBudget(id));
  call.Reply({{"study_id", id},
              {"total", EpsilonJson(b.total)},
              {"spent", EpsilonJson(b.spent)},
              {"remaining", EpsilonJson(std::max<int64_t>(0, b.remaining()))}});
  return Status::Ok();
}

}  // namespace

std::vector<Route> AdminRoutes() {
  return {
      {{"POST", "/v1/admin/citizens", kAdmin, {}, false},
       CreateCitizen,
       false,
       {}},
      {{"POST",
        "/v1/admin/citizens/{citizen_id}/enrollment-code",
        kAdmin,
        {},
        false},
       NewCode,
       false,
       {}},
      {{"POST", "/v1/admin/researchers", kAdmin, {}, false},
       Researcher,
       false,
       {}},
      {{"POST", "/v1/admin/providers", kAdmin, {}, false}, Provider, false, {}},
      {{"POST", "/v1/admin/auditors", kAdmin, {}, false}, Auditor, false, {}},
      {{"PUT", "/v1/admin/studies/{id}/privacy-budget", kAdmin, {}, false},
       StudyBudget,
       false,
       {}},
      {{"POST", "/v1/enroll", kAnyone, {}, false}, Enroll, true, {}},
  };
}

}  // namespace tillit::api::internal
