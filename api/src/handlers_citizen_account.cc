// Citizen routes about the account: the access log (with inclusion
// proofs), paired devices and their pairing codes, and erasure (see
// handlers_citizen.h for the audit rules).
//
// From the Api: audit() (and its log), consent() (break-glass reasons),
// devices(), notifier() (a revoked device's push subscriptions), vault()
// (pairing codes, erasure), stores() (erasure) and privacy() (erasure).
#include <algorithm>
#include <map>

#include "api.h"
#include "call.h"
#include "devices.h"
#include "handlers_citizen.h"
#include "tillit/api/principals.h"
#include "tillit/audit_remote/remote.h"
#include "tillit/crypto/encoding.h"
#include "tillit/research/aggregate.h"

namespace tillit::api::internal::citizen {

// --- access log

Status AccessLog(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(size_t limit, LimitParam(call));
  std::optional<uint64_t> before;
  if (auto b = call.Query("before")) {
    before = ParseInteger<uint64_t>(*b);
    if (!before)
      return Status::InvalidArgument("before: must be an entry index");
  }
  bool proofs = false;
  if (auto p = call.Query("proofs")) {
    if (*p != "true" && *p != "false")
      return Status::InvalidArgument("proofs: must be true or false");
    proofs = *p == "true";
  }
  // This read is itself an access the citizen may see: it is written
  // first, and may then appear in the list.
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("access-log.read", call)).status());
  TILLIT_ASSIGN_OR_RETURN(std::string note,
                          api.audit().log().SignedCheckpoint());
  TILLIT_ASSIGN_OR_RETURN(
      audit::Checkpoint checkpoint,
      audit::OpenCheckpoint(note, api.audit().log().key_name(),
                            api.audit().log().public_key()));
  const uint64_t size = checkpoint.size;
  // Only entries the checkpoint covers, so every proof verifies against it.
  audit::ListQuery q;
  q.citizen_id = call.citizen();
  q.limit = limit;
  q.before = before ? std::min(*before, size) : size;
  TILLIT_ASSIGN_OR_RETURN(std::vector<audit::StoredEntry> entries,
                          api.audit().log().List(q));
  bool more = false;
  if (entries.size() == limit) {
    audit::ListQuery probe = q;
    probe.before = entries.back().index;
    probe.limit = 1;
    TILLIT_ASSIGN_OR_RETURN(auto next, api.audit().log().List(probe));
    more = !next.empty();
  }
  json list = json::array();
  std::map<std::string, std::string> device_names;
  std::map<std::string, std::string> app_names;
  for (const audit::StoredEntry& entry : entries) {
    json j = json::parse(audit::EntryToApiJson(entry));
    // The paired device that made the request, by the name the citizen
    // gave it (not hashed; "via", its id, is). Only the citizen's own
    // devices, and only to the citizen: a proxy's device name is the
    // proxy's, and the citizen's are not for the proxy to read.
    if (call.acting() == nullptr && j.contains("via") && j["via"].is_string()) {
      const std::string via = j["via"];
      auto name = device_names.find(via);
      if (name == device_names.end()) {
        StatusOr<Device> device = api.devices().Find(via);
        const bool own = device.ok() && device->citizen_id == call.citizen();
        name =
            device_names.emplace(via, own ? device->name : std::string()).first;
      }
      if (!name->second.empty()) j["device"] = name->second;
    }
    // An app's read, by the app's name (not hashed; the client id is).
    if (call.acting() == nullptr && j.value("actor_kind", "") == "app" &&
        j.contains("actor_id") && j["actor_id"].is_string()) {
      const std::string client = j["actor_id"];
      auto name = app_names.find(client);
      if (name == app_names.end()) {
        StatusOr<App> app = api.apps().FindApp(client);
        name = app_names.emplace(client, app.ok() ? app->name : "").first;
      }
      if (!name->second.empty()) j["app"] = name->second;
    }
    if (proofs) {
      TILLIT_ASSIGN_OR_RETURN(
          std::vector<audit::Hash> path,
          api.audit().log().InclusionProof(entry.index, size));
      json hashes = json::array();
      for (const audit::Hash& h : path) hashes.push_back(crypto::HexEncode(h));
      j["inclusion_proof"] = std::move(hashes);
    }
    list.push_back(std::move(j));
  }
  // Break-glass sessions opened on the citizen, with the reason the
  // provider gave: the log's entries hold no free text, so the reason
  // travels beside them (the citizen's own data, read from their store).
  TILLIT_ASSIGN_OR_RETURN(consent::CitizenPolicy policy,
                          api.consent().LoadPolicy(call.citizen()));
  json sessions = json::array();
  for (const consent::BreakGlass& b : policy.break_glass) {
    sessions.push_back({{"provider_id", b.provider_id},
                        {"reason", b.reason},
                        {"started", b.started},
                        {"expires", b.expires}});
  }
  call.Reply({{"entries", std::move(list)},
              {"next", more ? json(entries.back().index) : json(nullptr)},
              {"tree_size", size},
              {"checkpoint", note},
              {"break_glass", std::move(sessions)}});
  return Status::Ok();
}

// --- paired devices

namespace {

json DeviceJson(const Device& d, const Call& call) {
  return {{"id", d.id},
          {"name", d.name},
          {"created", d.created},
          {"revoked", d.revoked ? json(*d.revoked) : json(nullptr)},
          {"this_device", d.id == call.who().device_id}};
}

}  // namespace

Status ListDevices(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::vector<Device> devices,
                          api.devices().List(call.citizen()));
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("device.list", call)).status());
  json list = json::array();
  for (const Device& d : devices) list.push_back(DeviceJson(d, call));
  call.Reply({{"devices", std::move(list)}});
  return Status::Ok();
}

// A one-time enrollment code for the calling citizen, for another device
// (docs/MOBILE_BRIDGE.md): redeemed at POST /v1/enroll like an operator's.
// Earlier codes, the caller's token and paired devices are left as they
// are.
Status NewPairingCode(Api& api, Call& call) {
  // Checked before the entry is written: any other body leaves no trace.
  if (!call.req.body.empty()) {
    TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
    if (!j.is_object() || !j.empty())
      return Status::InvalidArgument("the body must be empty or {}");
  }
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("device.pairing-code", call)).status());
  TILLIT_ASSIGN_OR_RETURN(vault::IssuedToken code,
                          NewEnrollmentCode(api.vault(), call.citizen(),
                                            api.options().pairing_code_ttl));
  call.Reply(
      {{"pairing_code", code.ExposeSecretText()}, {"expires", code.expires_at}},
      201);
  return Status::Ok();
}

Status RevokeDevice(Api& api, Call& call) {
  const std::string id = call.Param("id");
  // Checked before the entry is written: another citizen's device or an
  // unknown id is 404 and leaves no trace.
  TILLIT_ASSIGN_OR_RETURN(Device d, api.devices().Find(id));
  if (d.citizen_id != call.citizen()) return Status::NotFound("no such device");
  if (d.revoked)
    return Status::FailedPrecondition("the device is already revoked");
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("device.revoke", call)).status());
  // A lost phone is told of nothing more either. First, so that a failure
  // here leaves the device as it was and the request can be repeated.
  TILLIT_RETURN_IF_ERROR(
      api.notifier().UnsubscribeDevice(d.citizen_id, id).status());
  TILLIT_ASSIGN_OR_RETURN(d,
                          api.devices().Revoke(call.citizen(), id, api.Now()));
  call.Reply({{"id", d.id}, {"revoked", *d.revoked}});
  return Status::Ok();
}

// --- erasure

Status Erase(Api& api, Call& call) {
  const std::string id = call.citizen();
  TILLIT_ASSIGN_OR_RETURN(json j, call.Json());
  if (!j.is_object() || j.size() != 1 || !j.contains("confirm") ||
      !j["confirm"].is_string() || j["confirm"].get<std::string>() != id) {
    return Status::InvalidArgument(
        "confirm: the body must be {\"confirm\": \"<your citizen id>\"}");
  }
  TILLIT_RETURN_IF_ERROR(
      api.audit().Append(call, Entry("citizen.erase", call)).status());
  // The caller holds a live token of this citizen, so NotFound means an
  // earlier erasure removed the data and then failed on a disk error
  // before the tokens went: finish that.
  Status erased =
      api.stores().Exclusive(id, [&] { return api.vault().EraseCitizen(id); });
  if (!erased.ok() && erased.code() != StatusCode::kNotFound) return erased;
  TILLIT_RETURN_IF_ERROR(api.vault().RevokePrincipalTokens(id).status());
  TILLIT_RETURN_IF_ERROR(api.devices().RevokeAll(id, api.Now()).status());
  TILLIT_RETURN_IF_ERROR(api.apps().RevokeAll(id, api.Now()).status());
  api.notifier().Forget(id);
  // Which aggregate queries examined them goes with them too.
  TILLIT_RETURN_IF_ERROR(
      research::ForgetAggregateParticipation(api.privacy(), id));
  call.Reply({{"erased", id}});
  return Status::Ok();
}

}  // namespace tillit::api::internal::citizen
