#include "client.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <utility>

#include "device_key.h"
#include "error.h"
#include "json_input.h"
#include "tillit/crypto/encoding.h"
#include "tillit/http_signature/http_signature.h"

namespace tillit::bridge {
namespace {

using nlohmann::json;

constexpr size_t kPlatformKeySize = 32;

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Invalid(std::string_view text) {
  return BridgeError(ErrorCode::kInvalidArgument, text);
}

bool IsSuccess(int status) { return status >= 200 && status < 300; }

// The body of a 2xx answer; the bridge error of any other.
StatusOr<std::string> BodyOf(HttpResponse response) {
  if (!IsSuccess(response.status)) return ServerError(response);
  return std::move(response.body);
}

// A server answer that should be a JSON object but is not.
Status Malformed(std::string_view what) {
  return BridgeError(ErrorCode::kServer,
                     std::string("the server's answer to ") +
                         std::string(what) + " is malformed");
}

json WitnessJson(const std::optional<Witness>& w) {
  if (!w) return nullptr;
  return {{"size", w->checkpoint.size},
          {"root", crypto::HexEncode(w->checkpoint.root)}};
}

// A path and query for tillit_call: "/v1/" then printable ASCII without
// spaces or a fragment.
bool IsCallPath(std::string_view path) {
  if (path.rfind("/v1/", 0) != 0 || path.size() > 2048) return false;
  for (char c : path) {
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
  }
  return true;
}

}  // namespace

Client::Client(ClientOptions options, std::unique_ptr<HttpChannel> http,
               std::unique_ptr<LocalStore> store,
               std::optional<AuditKey> pinned_audit_key)
    : options_(std::move(options)),
      rng_(options_.rng != nullptr ? *options_.rng : crypto::Random::System()),
      http_(std::move(http)),
      store_(std::move(store)),
      pinned_audit_key_(std::move(pinned_audit_key)) {}

Client::~Client() {
  // Waits for a call in progress to finish before members go away.
  MutexLock lock(&mu_);
}

StatusOr<std::unique_ptr<Client>> Client::Open(ClientOptions options) {
  if (options.state_dir.empty()) return Invalid("state_dir: required");
  if (options.base_url.empty()) return Invalid("base_url: required");
  if (!options.platform_keys) return Invalid("key_provider: required");
  if (!options.now) options.now = SystemNow;
  std::optional<AuditKey> pinned;
  if (!options.audit_key.empty()) {
    auto key = ParseAuditKey(options.audit_key);
    if (!key.ok()) return Invalid("audit_key: not a verifier key");
    pinned = std::move(key).value();
  }
  TILLIT_ASSIGN_OR_RETURN(
      std::unique_ptr<HttpChannel> http,
      HttpChannel::Create(options.base_url, options.timeout_ms));
  std::unique_ptr<Client> client(new Client(std::move(options), std::move(http),
                                            nullptr, std::move(pinned)));
  TILLIT_RETURN_IF_ERROR(client->OpenStore());
  return client;
}

Status Client::OpenStore() {
  MutexLock lock(&mu_);
  // The queue key is needed only to open the database; it is wiped when
  // `queue_key` goes out of scope.
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes queue_key, PlatformKey("queue"));
  TILLIT_ASSIGN_OR_RETURN(store_,
                          LocalStore::Open(options_.state_dir, queue_key));
  return Status::Ok();
}

StatusOr<crypto::SecretBytes> Client::PlatformKey(std::string_view name) {
  crypto::SecretBytes key = crypto::SecretBytes::Allocate(kPlatformKeySize);
  const bool ok = options_.platform_keys(
      name, std::span<uint8_t>(key.ExposeSecret(), key.size()));
  if (!ok) {
    return BridgeError(
        ErrorCode::kKeyUnavailable,
        "the platform key callback failed for \"" + std::string(name) + "\"");
  }
  if (key.IsAllZero()) {
    return BridgeError(ErrorCode::kKeyUnavailable,
                       "the platform key callback gave no key for \"" +
                           std::string(name) + "\"");
  }
  return key;
}

StatusOr<PairedDevice> Client::RequirePaired() {
  TILLIT_ASSIGN_OR_RETURN(std::optional<PairedDevice> device,
                          store_->LoadDevice());
  if (!device) {
    return BridgeError(ErrorCode::kNotPaired,
                       "this device is not paired; call tillit_pair first");
  }
  return std::move(*device);
}

StatusOr<crypto::SigningKey> Client::UnsealSigningKey(
    const PairedDevice& device) {
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes platform_key,
                          PlatformKey("device-key"));
  return UnsealDeviceKey(platform_key, device.sealed_seed, device.device_id,
                         device.public_key);
}

StatusOr<AuditKey> Client::TrustedAuditKey(const PairedDevice& device) {
  if (pinned_audit_key_) return *pinned_audit_key_;
  auto key = ParseAuditKey(device.audit_key);
  if (!key.ok()) {
    return BridgeError(ErrorCode::kStorage, "the stored audit key is damaged");
  }
  return key;
}

StatusOr<HttpResponse> Client::SendSigned(const crypto::SigningKey& key,
                                          std::string_view device_id,
                                          std::string_view method,
                                          const std::string& target,
                                          const std::string& body,
                                          HeaderList extra_headers) {
  http_signature::SignatureParams params;
  params.created = options_.now();
  params.keyid = std::string(device_id);
  params.nonce = rng_.Hex(16);
  http_signature::SignedFields fields =
      http_signature::SignRequest(key, method, target, body, params);
  HeaderList headers = std::move(extra_headers);
  headers.emplace_back("Content-Digest", std::move(fields.content_digest));
  headers.emplace_back("Signature-Input", std::move(fields.signature_input));
  headers.emplace_back("Signature", std::move(fields.signature));
  return http_->Send(method, target, headers, body);
}

StatusOr<std::string> Client::SignedCall(std::string_view method,
                                         const std::string& target,
                                         const std::string& body) {
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey key, UnsealSigningKey(device));
  TILLIT_ASSIGN_OR_RETURN(
      HttpResponse response,
      SendSigned(key, device.device_id, method, target, body));
  return BodyOf(std::move(response));
}

// --- status and pairing

StatusOr<std::string> Client::StatusJson() {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(std::optional<PairedDevice> device,
                          store_->LoadDevice());
  TILLIT_ASSIGN_OR_RETURN(int64_t queued, store_->QueuedCount());
  TILLIT_ASSIGN_OR_RETURN(std::optional<Witness> witness,
                          store_->LoadWitness());
  json out = {{"paired", device.has_value()},
              {"citizen_id", nullptr},
              {"device_id", nullptr},
              {"device_public_key", nullptr},
              {"queued", queued},
              {"witness", WitnessJson(witness)}};
  if (device) {
    out["citizen_id"] = device->citizen_id;
    out["device_id"] = device->device_id;
    out["device_public_key"] = crypto::Base64Encode(device->public_key);
  }
  return out.dump();
}

StatusOr<std::string> Client::Pair(std::string_view enrollment_code,
                                   std::string_view device_name) {
  MutexLock lock(&mu_);
  if (enrollment_code.empty() || enrollment_code.size() > 256 ||
      !std::all_of(enrollment_code.begin(), enrollment_code.end(),
                   [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Invalid("enrollment_code: required, printable, at most 256 bytes");
  }
  if (!IsDeviceName(device_name)) {
    return Invalid(
        "device_name: 1 to 64 bytes of UTF-8 without control characters");
  }
  TILLIT_ASSIGN_OR_RETURN(std::optional<PairedDevice> existing,
                          store_->LoadDevice());
  if (existing) {
    return BridgeError(ErrorCode::kAlreadyPaired,
                       "this device is paired; call tillit_unpair first");
  }
  // The platform key first: if it is unavailable nothing is sent (and no
  // enrollment code is spent).
  TILLIT_ASSIGN_OR_RETURN(crypto::SecretBytes platform_key,
                          PlatformKey("device-key"));
  // The audit key next (a public route): the app's, which the server must
  // present, or the one the server presents now, kept from here on. A
  // server that fails this check never sees the code.
  TILLIT_ASSIGN_OR_RETURN(
      HttpResponse key_answer,
      http_->Send("GET", "/v1/audit/public-key", {}, std::string()));
  TILLIT_ASSIGN_OR_RETURN(std::string served_key,
                          BodyOf(std::move(key_answer)));
  while (!served_key.empty() &&
         (served_key.back() == '\n' || served_key.back() == '\r')) {
    served_key.pop_back();
  }
  if (pinned_audit_key_ && served_key != pinned_audit_key_->text) {
    return BridgeError(ErrorCode::kProofInvalid,
                       "the server's audit key is not the app's pinned key");
  }
  TILLIT_ASSIGN_OR_RETURN(AuditKey audit_key, ParseAuditKey(served_key));

  crypto::SecretBytes seed = rng_.Secret(crypto::kEd25519SeedSize);
  auto signing = crypto::SigningKey::FromSeed(seed);
  if (!signing.ok())
    return AsBridgeError(signing.status(), ErrorCode::kInternal);
  const crypto::SigningKey& key = *signing;

  const json enroll = {
      {"enrollment_code", enrollment_code},
      {"device_public_key", crypto::Base64Encode(key.public_key())},
      {"device_name", device_name}};
  TILLIT_ASSIGN_OR_RETURN(HttpResponse enrolled,
                          http_->Send("POST", "/v1/enroll", {}, enroll.dump()));
  TILLIT_ASSIGN_OR_RETURN(std::string enrolled_body,
                          BodyOf(std::move(enrolled)));
  json answer = json::parse(enrolled_body, nullptr, false);
  if (!answer.is_object() || !answer.contains("citizen_id") ||
      !answer["citizen_id"].is_string() || !answer.contains("device_id") ||
      !answer["device_id"].is_string() ||
      !IsServerId(answer["citizen_id"].get<std::string>(), "c_") ||
      !IsServerId(answer["device_id"].get<std::string>(), "d_")) {
    return BridgeError(ErrorCode::kServer,
                       "the server did not register a device (does it "
                       "support device pairing?)");
  }
  PairedDevice device;
  device.citizen_id = answer["citizen_id"].get<std::string>();
  device.device_id = answer["device_id"].get<std::string>();
  device.public_key = key.public_key();
  device.paired_at = options_.now();
  device.audit_key = audit_key.text;

  // The code is spent: keep the pairing at once, so nothing that fails
  // from here on can waste it.
  TILLIT_ASSIGN_OR_RETURN(
      device.sealed_seed,
      SealDeviceSeed(platform_key, seed, device.device_id, rng_));
  TILLIT_RETURN_IF_ERROR(store_->SavePairing(device));
  json out = {{"citizen_id", device.citizen_id},
              {"device_id", device.device_id},
              {"witness", nullptr}};
  // The first witness. A checkpoint that does not verify is reported (the
  // device stays paired); a network or server failure is not an error of
  // the pairing: the next sync takes the first witness.
  auto witness = WitnessLatest(key, device);
  if (witness.ok()) {
    out["witness"] = WitnessJson(*witness);
  } else {
    const ErrorCode code = CodeOf(witness.status());
    if (code != ErrorCode::kNetwork && code != ErrorCode::kServer &&
        code != ErrorCode::kAuditUnavailable &&
        code != ErrorCode::kRateLimited) {
      return witness.status();
    }
  }
  return out.dump();
}

Status Client::Unpair() {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey key, UnsealSigningKey(device));
  TILLIT_ASSIGN_OR_RETURN(
      HttpResponse response,
      SendSigned(key, device.device_id, "DELETE",
                 "/v1/me/devices/" + PercentEncode(device.device_id), ""));
  // 401: the server no longer accepts this device (revoked from another
  // device, or the citizen erased). Nothing can be sent with it any more,
  // so unpairing only has the local state left to forget.
  if (!IsSuccess(response.status) && response.status != 401)
    return ServerError(response);
  return store_->Forget();
}

// --- typed calls

StatusOr<std::string> Client::ListRecords(const char* query_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(std::string query, RecordsQuery(query_json));
  return SignedCall("GET", "/v1/me/records" + query, "");
}

StatusOr<std::string> Client::GetRecord(std::string_view type,
                                        std::string_view id) {
  MutexLock lock(&mu_);
  if (!IsResourceType(type)) return Invalid("type: not a FHIR resource type");
  if (!IsPathId(id)) return Invalid("id: 1 to 64 of A-Z a-z 0-9 _ - .");
  return SignedCall(
      "GET", "/v1/me/records/" + std::string(type) + "/" + PercentEncode(id),
      "");
}

StatusOr<HttpResponse> Client::PostRecord(const crypto::SigningKey& key,
                                          const PairedDevice& device,
                                          const std::string& resource,
                                          const std::string& idempotency_key) {
  return SendSigned(key, device.device_id, "POST", "/v1/me/records", resource,
                    {{"Idempotency-Key", "\"" + idempotency_key + "\""}});
}

StatusOr<std::string> Client::AddRecord(const char* resource_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(std::string resource,
                          CitizenResourceText(resource_json));
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey key, UnsealSigningKey(device));
  const std::string idempotency_key = rng_.Hex(16);
  StatusOr<HttpResponse> response =
      PostRecord(key, device, resource, idempotency_key);
  if (!response.ok() && CodeOf(response.status()) == ErrorCode::kNetwork) {
    // The answer may have been lost after the server stored the record:
    // the same key makes the retry a replay, never a second record.
    response = PostRecord(key, device, resource, idempotency_key);
  }
  if (!response.ok()) return response.status();
  return BodyOf(std::move(response).value());
}

StatusOr<std::string> Client::Export() {
  MutexLock lock(&mu_);
  return SignedCall("GET", "/v1/me/export", "");
}

StatusOr<std::string> Client::ListConsents() {
  MutexLock lock(&mu_);
  return SignedCall("GET", "/v1/me/consents", "");
}

StatusOr<std::string> Client::GrantConsent(const char* grant_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(json grant, ParseJsonObject(grant_json, "grant"));
  TILLIT_ASSIGN_OR_RETURN(std::string body, JsonText(grant, "grant"));
  return SignedCall("POST", "/v1/me/consents", body);
}

StatusOr<std::string> Client::RevokeConsent(std::string_view grant_id) {
  MutexLock lock(&mu_);
  if (!IsPathId(grant_id)) return Invalid("grant_id: not a grant id");
  return SignedCall("DELETE", "/v1/me/consents/" + PercentEncode(grant_id), "");
}

StatusOr<std::string> Client::PreviewConsent(const char* grant_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(json grant, ParseJsonObject(grant_json, "grant"));
  TILLIT_ASSIGN_OR_RETURN(std::string body, JsonText(grant, "grant"));
  return SignedCall("POST", "/v1/me/consents/preview", body);
}

StatusOr<std::string> Client::GetRestrictions() {
  MutexLock lock(&mu_);
  return SignedCall("GET", "/v1/me/restrictions", "");
}

StatusOr<std::string> Client::SetRestrictions(const char* restrictions_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(json r,
                          ParseJsonObject(restrictions_json, "restrictions"));
  TILLIT_ASSIGN_OR_RETURN(std::string body, JsonText(r, "restrictions"));
  return SignedCall("PUT", "/v1/me/restrictions", body);
}

StatusOr<std::string> Client::SetResearchOptOut(bool opted_out) {
  MutexLock lock(&mu_);
  return SignedCall("PUT", "/v1/me/research-opt-out",
                    json{{"opted_out", opted_out}}.dump());
}

StatusOr<std::string> Client::ListDevices() {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(std::string body,
                          SignedCall("GET", "/v1/me/devices", ""));
  json list = json::parse(body, nullptr, false);
  if (!list.is_object() || !list.contains("devices") ||
      !list["devices"].is_array()) {
    return Malformed("GET /v1/me/devices");
  }
  for (json& d : list["devices"]) {
    if (!d.is_object() || !d.contains("id"))
      return Malformed("GET /v1/me/devices");
    d["this_device"] = d["id"] == device.device_id;
  }
  return list.dump();
}

StatusOr<std::string> Client::RevokeDevice(std::string_view device_id) {
  MutexLock lock(&mu_);
  if (!IsPathId(device_id)) return Invalid("device_id: not a device id");
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  if (device_id == device.device_id) {
    return Invalid("device_id: this device's own id; use tillit_unpair");
  }
  return SignedCall("DELETE", "/v1/me/devices/" + PercentEncode(device_id), "");
}

StatusOr<std::string> Client::Call(std::string_view method,
                                   std::string_view path, std::string_view body,
                                   int* http_status) {
  MutexLock lock(&mu_);
  if (http_status != nullptr) *http_status = 0;
  if (method != "GET" && method != "POST" && method != "PUT" &&
      method != "DELETE") {
    return Invalid("method: must be GET, POST, PUT or DELETE");
  }
  if (!IsCallPath(path)) {
    return Invalid(
        "path: must start with /v1/ and hold printable ASCII "
        "without spaces");
  }
  if (body.size() > kMaxJsonArgumentBytes)
    return Invalid("body: larger than 1 MiB");
  if (!body.empty() && !json::accept(body.begin(), body.end())) {
    return Invalid("body: not valid JSON");
  }
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey key, UnsealSigningKey(device));
  TILLIT_ASSIGN_OR_RETURN(HttpResponse response,
                          SendSigned(key, device.device_id, method,
                                     std::string(path), std::string(body)));
  if (http_status != nullptr) *http_status = response.status;
  if (response.status >= 400) return ServerError(response);
  return std::move(response.body);
}

// --- witness

StatusOr<Witness> Client::AdvanceWitness(const crypto::SigningKey& key,
                                         const PairedDevice& device,
                                         const audit::Checkpoint& latest,
                                         const std::string& note) {
  TILLIT_ASSIGN_OR_RETURN(std::optional<Witness> witnessed,
                          store_->LoadWitness());
  std::vector<audit::Hash> proof;
  if (NeedsConsistencyProof(witnessed, latest)) {
    const uint64_t from = witnessed->checkpoint.size;
    TILLIT_ASSIGN_OR_RETURN(
        HttpResponse answer,
        SendSigned(key, device.device_id, "GET",
                   "/v1/audit/proofs/consistency?from=" + std::to_string(from) +
                       "&to=" + std::to_string(latest.size),
                   ""));
    TILLIT_ASSIGN_OR_RETURN(std::string body, BodyOf(std::move(answer)));
    TILLIT_ASSIGN_OR_RETURN(proof,
                            ParseConsistencyProof(body, from, latest.size));
  }
  TILLIT_RETURN_IF_ERROR(CheckExtends(witnessed, latest, proof));
  Witness next{latest, note};
  if (!witnessed || witnessed->checkpoint.size != latest.size) {
    TILLIT_RETURN_IF_ERROR(store_->SaveWitness(next));
  } else {
    next = std::move(*witnessed);  // the same tree head: keep the first note
  }
  return next;
}

StatusOr<Witness> Client::WitnessLatest(const crypto::SigningKey& key,
                                        const PairedDevice& device) {
  TILLIT_ASSIGN_OR_RETURN(AuditKey audit_key, TrustedAuditKey(device));
  std::string note;
  TILLIT_ASSIGN_OR_RETURN(
      audit::Checkpoint latest,
      FetchCheckpoint(key, device.device_id, audit_key, &note));
  return AdvanceWitness(key, device, latest, note);
}

StatusOr<audit::Checkpoint> Client::FetchCheckpoint(
    const crypto::SigningKey& key, const std::string& device_id,
    const AuditKey& audit_key, std::string* note) {
  TILLIT_ASSIGN_OR_RETURN(
      HttpResponse answer,
      SendSigned(key, device_id, "GET", "/v1/audit/checkpoint", ""));
  TILLIT_ASSIGN_OR_RETURN(*note, BodyOf(std::move(answer)));
  return OpenServerCheckpoint(*note, audit_key);
}

StatusOr<std::string> Client::AccessLog(const char* query_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(AccessLogQuery query,
                          ParseAccessLogQuery(query_json));
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey key, UnsealSigningKey(device));
  TILLIT_ASSIGN_OR_RETURN(
      HttpResponse response,
      SendSigned(key, device.device_id, "GET", AccessLogTarget(query), ""));
  TILLIT_ASSIGN_OR_RETURN(std::string body, BodyOf(std::move(response)));
  if (!query.verify) return body;

  json log = json::parse(body, nullptr, false);
  if (!log.is_object() || !log.contains("checkpoint") ||
      !log["checkpoint"].is_string() || !log.contains("entries") ||
      !log.contains("tree_size") || !log["tree_size"].is_number_unsigned()) {
    return BridgeError(ErrorCode::kProofInvalid,
                       "the access log carries no checkpoint to verify");
  }
  TILLIT_ASSIGN_OR_RETURN(AuditKey audit_key, TrustedAuditKey(device));
  const std::string note = log["checkpoint"].get<std::string>();
  TILLIT_ASSIGN_OR_RETURN(audit::Checkpoint checkpoint,
                          OpenServerCheckpoint(note, audit_key));
  if (log["tree_size"].get<uint64_t>() != checkpoint.size) {
    return BridgeError(ErrorCode::kProofInvalid,
                       "tree_size is not the checkpoint's size");
  }
  // The entries first: a checkpoint becomes the witness only together
  // with entries that verify against it.
  TILLIT_RETURN_IF_ERROR(
      VerifyAccessLogEntries(log["entries"], checkpoint, device.citizen_id));
  TILLIT_RETURN_IF_ERROR(
      AdvanceWitness(key, device, checkpoint, note).status());
  log["verified"] = true;
  return log.dump();
}

// --- queue and sync

StatusOr<std::string> Client::QueueRecord(const char* resource_json) {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(std::string resource,
                          CitizenResourceText(resource_json));
  TILLIT_RETURN_IF_ERROR(RequirePaired().status());
  const std::string idempotency_key = rng_.Hex(16);
  TILLIT_ASSIGN_OR_RETURN(
      int64_t queue_id,
      store_->Enqueue(idempotency_key, resource, options_.now()));
  return json{{"queue_id", queue_id}, {"idempotency_key", idempotency_key}}
      .dump();
}

StatusOr<std::string> Client::Sync() {
  MutexLock lock(&mu_);
  TILLIT_ASSIGN_OR_RETURN(PairedDevice device, RequirePaired());
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey key, UnsealSigningKey(device));
  int64_t sent = 0;
  json failed = json::array();
  // Acknowledged records are removed in batches: one local commit (an
  // fsync) per record would halve the sync rate. A crash loses at most the
  // batch's removals, and those records are sent again with their
  // idempotency keys, which the server answers from what it stored: never
  // a duplicate.
  constexpr size_t kRemoveBatch = 32;
  std::vector<int64_t> acknowledged;
  LocalStore* const store = store_.get();
  auto flush = [&]() -> Status {
    Status s = store->RemoveQueued(acknowledged);
    acknowledged.clear();
    return s;
  };
  for (int64_t after = 0;;) {
    TILLIT_ASSIGN_OR_RETURN(std::optional<QueuedRecord> record,
                            store_->NextQueued(after));
    if (!record) break;
    after = record->queue_id;
    // A network failure ends the sync here: this record stays queued and
    // the next sync sends it again with the same key.
    auto posted =
        PostRecord(key, device, record->resource, record->idempotency_key);
    if (!posted.ok()) {
      TILLIT_RETURN_IF_ERROR(flush());
      return posted.status();
    }
    const HttpResponse& response = *posted;
    if (IsSuccess(response.status)) {
      acknowledged.push_back(record->queue_id);
      ++sent;
      if (acknowledged.size() >= kRemoveBatch) TILLIT_RETURN_IF_ERROR(flush());
      continue;
    }
    const Status error = ServerError(response);
    const int s = response.status;
    if (s == 400 || s == 409 || s == 413 || s == 422) {
      // The server refuses this record as it is: keep it, go on.
      TILLIT_RETURN_IF_ERROR(
          store_->NoteRefused(record->queue_id, error.message()));
      failed.push_back(
          {{"queue_id", record->queue_id}, {"error", error.message()}});
      continue;
    }
    TILLIT_RETURN_IF_ERROR(flush());
    return error;  // the device, the server or its audit log: stop here
  }
  TILLIT_RETURN_IF_ERROR(flush());
  TILLIT_ASSIGN_OR_RETURN(Witness witness, WitnessLatest(key, device));
  TILLIT_ASSIGN_OR_RETURN(int64_t remaining, store_->QueuedCount());
  return json{{"sent", sent},
              {"failed", std::move(failed)},
              {"remaining", remaining},
              {"witness", WitnessJson(witness)}}
      .dump();
}

}  // namespace tillit::bridge
