#include "witness.h"

#include "error.h"
#include "tillit/audit/entry.h"
#include "tillit/crypto/encoding.h"

namespace tillit::bridge {
namespace {

using nlohmann::json;

Status ProofInvalid(std::string_view text) {
  return BridgeError(ErrorCode::kProofInvalid, text);
}

StatusOr<audit::Hash> HashFromHex(const json& value) {
  if (!value.is_string()) return ProofInvalid("a proof hash is not a string");
  auto bytes = crypto::HexDecode(value.get_ref<const std::string&>());
  if (!bytes.ok() || bytes->size() != audit::Hash().size())
    return ProofInvalid("a proof hash is not 32 bytes of hex");
  audit::Hash hash;
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

StatusOr<std::vector<audit::Hash>> HashList(const json& value) {
  if (!value.is_array()) return ProofInvalid("a proof is not a list");
  // RFC 6962 proofs have at most 64 hashes for any 64-bit size.
  if (value.size() > 64) return ProofInvalid("a proof is too long");
  std::vector<audit::Hash> hashes;
  for (const json& h : value) {
    TILLIT_ASSIGN_OR_RETURN(audit::Hash hash, HashFromHex(h));
    hashes.push_back(hash);
  }
  return hashes;
}

std::string Describe(const audit::Checkpoint& c) {
  return "size " + std::to_string(c.size) + ", root " +
         crypto::HexEncode(c.root).substr(0, 16) + "…";
}

}  // namespace

StatusOr<AuditKey> ParseAuditKey(std::string_view text) {
  auto parsed = audit::ParseVerifierKey(text);
  if (!parsed.ok()) {
    return ProofInvalid("the audit key is not a verifier key (" +
                        parsed.status().message() + ")");
  }
  AuditKey key;
  key.text = std::string(text);
  key.name = parsed->first;
  key.public_key = parsed->second;
  return key;
}

StatusOr<audit::Checkpoint> OpenServerCheckpoint(std::string_view note,
                                                 const AuditKey& key) {
  auto opened = audit::OpenCheckpoint(note, key.name, key.public_key);
  if (!opened.ok()) {
    return ProofInvalid(
        "the server's checkpoint does not verify under the "
        "audit key (" +
        opened.status().message() + ")");
  }
  return opened;
}

bool NeedsConsistencyProof(const std::optional<Witness>& witnessed,
                           const audit::Checkpoint& latest) {
  return witnessed && witnessed->checkpoint.size > 0 &&
         latest.size > witnessed->checkpoint.size;
}

StatusOr<std::vector<audit::Hash>> ParseConsistencyProof(std::string_view body,
                                                         uint64_t from,
                                                         uint64_t to) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("hashes") ||
      !j.contains("from") || !j.contains("to")) {
    return ProofInvalid("the consistency proof is malformed");
  }
  if (!j["from"].is_number_unsigned() || j["from"].get<uint64_t>() != from ||
      !j["to"].is_number_unsigned() || j["to"].get<uint64_t>() != to) {
    return ProofInvalid("the consistency proof is for other sizes");
  }
  return HashList(j["hashes"]);
}

Status CheckExtends(const std::optional<Witness>& witnessed,
                    const audit::Checkpoint& latest,
                    const std::vector<audit::Hash>& proof) {
  if (!witnessed) return Status::Ok();
  const audit::Checkpoint& old = witnessed->checkpoint;
  if (latest.origin != old.origin) {
    return BridgeError(ErrorCode::kLogFork,
                       "the server's checkpoint names another log");
  }
  if (latest.size < old.size) {
    return BridgeError(ErrorCode::kLogRollback,
                       "the server's log has " + std::to_string(latest.size) +
                           " entries but this device verified " +
                           std::to_string(old.size));
  }
  if (latest.size == old.size) {
    if (latest.root != old.root) {
      return BridgeError(ErrorCode::kLogFork,
                         "the server shows another log of the verified size (" +
                             Describe(latest) + " against " + Describe(old) +
                             ")");
    }
    return Status::Ok();
  }
  if (!audit::VerifyConsistency(old.size, latest.size, proof, old.root,
                                latest.root)) {
    return BridgeError(ErrorCode::kLogFork,
                       "the server's log (" + Describe(latest) +
                           ") does not extend the verified one (" +
                           Describe(old) + ")");
  }
  return Status::Ok();
}

Status VerifyAccessLogEntries(const json& entries,
                              const audit::Checkpoint& checkpoint,
                              std::string_view citizen_id) {
  if (!entries.is_array()) return ProofInvalid("the entry list is malformed");
  for (const json& listed : entries) {
    if (!listed.is_object() || !listed.contains("index") ||
        !listed["index"].is_number_integer() || listed["index"] < 0 ||
        !listed.contains("inclusion_proof")) {
      return ProofInvalid("an entry has no index or inclusion proof");
    }
    const uint64_t index = listed["index"].get<uint64_t>();
    const std::string where = "entry " + std::to_string(index);
    if (index >= checkpoint.size) {
      return ProofInvalid(where + " is beyond the checkpoint");
    }
    TILLIT_ASSIGN_OR_RETURN(std::vector<audit::Hash> proof,
                            HashList(listed["inclusion_proof"]));
    json entry = listed;
    entry.erase("index");
    entry.erase("inclusion_proof");
    if (entry.contains("actor")) {
      if (!entry.contains("actor_id") || entry["actor"] != entry["actor_id"])
        return ProofInvalid(where + ": actor does not match actor_id");
      entry.erase("actor");
    }
    // The device's name beside "via" is the citizen's own label, shown
    // for reading and not hashed (the hashed "via" names the device).
    if (entry.contains("device")) {
      if (!entry["device"].is_string() || !entry.contains("via"))
        return ProofInvalid(where + ": device without via");
      entry.erase("device");
    }
    std::optional<json> shown_on_behalf_of;
    if (entry.contains("on_behalf_of")) {
      shown_on_behalf_of = entry["on_behalf_of"];
      entry.erase("on_behalf_of");
    }
    std::string canonical;
    try {
      canonical = entry.dump(-1, ' ', false, json::error_handler_t::strict);
    } catch (const json::exception&) {
      return ProofInvalid(where + " is not valid UTF-8");
    }
    auto parsed = audit::ParseCanonicalEntry(canonical);
    if (!parsed.ok()) {
      return ProofInvalid(where + " is not a canonical audit entry");
    }
    if (parsed->citizen_id != citizen_id) {
      return ProofInvalid(where + " concerns another citizen");
    }
    // A proxy's entry names the citizen it acted for (SPEC §13): that
    // field is not hashed, so it is checked against the entry.
    const std::string on_behalf_of = audit::OnBehalfOf(*parsed);
    if (on_behalf_of.empty() ? shown_on_behalf_of.has_value()
                             : shown_on_behalf_of != json(on_behalf_of)) {
      return ProofInvalid(where + ": on_behalf_of does not match the entry");
    }
    const audit::Hash leaf = audit::LeafHash(crypto::AsBytes(canonical));
    if (!audit::VerifyInclusion(leaf, index, checkpoint.size, proof,
                                checkpoint.root)) {
      return ProofInvalid(where + ": the inclusion proof does not verify");
    }
  }
  return Status::Ok();
}

}  // namespace tillit::bridge
