// Auditor routes (SPEC §6): the entries, the latest signed checkpoint and
// Merkle proofs. Entries hold ids and codes only, never health data.
// Checkpoints and proofs are hashes: they are not logged (a client polling
// them would otherwise grow the log with every poll).
//
// From the Api: audit() only.
#include <charconv>

#include "api.h"
#include "call.h"
#include "route.h"
#include "tillit/audit_remote/remote.h"
#include "tillit/crypto/encoding.h"
#include "tillit/vault/vault.h"

namespace tillit::api::internal {
namespace {

// A decimal integer in [min, max]; `name` and the range in the message.
StatusOr<int64_t> ParseInteger(const std::optional<std::string>& text,
                               const char* name, int64_t min, int64_t max) {
  const Status bad = Status::InvalidArgument(
      std::string(name) + ": must be a number from " + std::to_string(min) +
      " to " + std::to_string(max));
  if (!text) return Status::InvalidArgument(std::string(name) + ": required");
  int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (text->empty() || ec != std::errc() || ptr != end || value < min ||
      value > max) {
    return bad;
  }
  return value;
}

bool IsActorId(std::string_view id) {
  if (id == "operator" || id == "system") return true;
  for (const char* prefix : {"c_", "p_", "r_", "a_"}) {
    if (vault::IsValidId(id, prefix)) return true;
  }
  return false;
}

json HexHashes(const std::vector<audit::Hash>& hashes) {
  json out = json::array();
  for (const audit::Hash& h : hashes) out.push_back(crypto::HexEncode(h));
  return out;
}

// GET /v1/audit/entries?after=&limit=&citizen=&actor=
Status Entries(Api& api, Call& call) {
  audit::ListQuery q;
  q.after = -1;
  if (auto after = call.Query("after")) {
    TILLIT_ASSIGN_OR_RETURN(q.after,
                            ParseInteger(after, "after", -1, INT64_MAX - 1));
  }
  if (auto limit = call.Query("limit")) {
    TILLIT_ASSIGN_OR_RETURN(int64_t n, ParseInteger(limit, "limit", 1, 1000));
    q.limit = static_cast<size_t>(n);
  }
  if (auto citizen = call.Query("citizen")) {
    if (!vault::IsValidId(*citizen, "c_"))
      return Status::InvalidArgument("citizen: not a citizen id");
    q.citizen_id = *citizen;
  }
  if (auto actor = call.Query("actor")) {
    if (!IsActorId(*actor))
      return Status::InvalidArgument("actor: not a principal id");
    q.actor_id = *actor;
  }
  audit::AuditEntry e;
  e.action = "audit.entries";
  TILLIT_RETURN_IF_ERROR(api.audit().Append(call, std::move(e)).status());
  TILLIT_ASSIGN_OR_RETURN(std::vector<audit::StoredEntry> entries,
                          api.audit().log().List(q));
  std::string body = "{\"entries\":[";
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i > 0) body += ',';
    body += audit::EntryToApiJson(entries[i]);
  }
  body += "],\"next\":";
  // A full page may have more after it; a short one is the end.
  body +=
      entries.size() == q.limit ? std::to_string(entries.back().index) : "null";
  body += '}';
  call.ReplyText(std::move(body), "application/json");
  return Status::Ok();
}

// GET /v1/audit/checkpoint
Status LatestCheckpoint(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(std::string note,
                          api.audit().log().SignedCheckpoint());
  call.ReplyText(std::move(note), "text/plain; charset=utf-8");
  return Status::Ok();
}

// The log's size as stored, with the tree brought up to it: a client may
// have its checkpoint from another node of the cluster, further on than
// this node's own appends.
StatusOr<int64_t> StoredEntries(Api& api) {
  TILLIT_RETURN_IF_ERROR(api.audit().log().Refresh());
  return static_cast<int64_t>(api.audit().log().size());
}

// GET /v1/audit/proofs/inclusion?index=&size=
Status InclusionProof(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(const int64_t entries, StoredEntries(api));
  if (entries == 0)
    return Status::InvalidArgument("the log has no entries yet");
  TILLIT_ASSIGN_OR_RETURN(int64_t size,
                          ParseInteger(call.Query("size"), "size", 1, entries));
  TILLIT_ASSIGN_OR_RETURN(
      int64_t index, ParseInteger(call.Query("index"), "index", 0, size - 1));
  TILLIT_ASSIGN_OR_RETURN(
      std::vector<audit::Hash> proof,
      api.audit().log().InclusionProof(static_cast<uint64_t>(index),
                                       static_cast<uint64_t>(size)));
  call.Reply({{"index", index}, {"size", size}, {"hashes", HexHashes(proof)}});
  return Status::Ok();
}

// GET /v1/audit/proofs/consistency?from=&to=
Status ConsistencyProof(Api& api, Call& call) {
  TILLIT_ASSIGN_OR_RETURN(const int64_t entries, StoredEntries(api));
  if (entries == 0)
    return Status::InvalidArgument("the log has no entries yet");
  TILLIT_ASSIGN_OR_RETURN(int64_t to,
                          ParseInteger(call.Query("to"), "to", 1, entries));
  TILLIT_ASSIGN_OR_RETURN(int64_t from,
                          ParseInteger(call.Query("from"), "from", 1, to));
  TILLIT_ASSIGN_OR_RETURN(
      std::vector<audit::Hash> proof,
      api.audit().log().ConsistencyProof(static_cast<uint64_t>(from),
                                         static_cast<uint64_t>(to)));
  call.Reply({{"from", from}, {"to", to}, {"hashes", HexHashes(proof)}});
  return Status::Ok();
}

}  // namespace

std::vector<Route> AuditRoutes() {
  return {
      {{"GET",
        "/v1/audit/entries",
        kAuditor,
        {"after", "limit", "citizen", "actor"},
        false},
       Entries,
       false,
       {}},
      {{"GET", "/v1/audit/checkpoint", kAuditor | kCitizen, {}, false},
       LatestCheckpoint,
       false,
       {}},
      {{"GET",
        "/v1/audit/proofs/inclusion",
        kAuditor | kCitizen,
        {"index", "size"},
        false},
       InclusionProof,
       false,
       {}},
      {{"GET",
        "/v1/audit/proofs/consistency",
        kAuditor | kCitizen,
        {"from", "to"},
        false},
       ConsistencyProof,
       false,
       {}},
  };
}

}  // namespace tillit::api::internal
