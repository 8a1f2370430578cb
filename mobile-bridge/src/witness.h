// The access-log witness: what a device checks about the checkpoints and
// proofs a server shows it (docs/MOBILE_BRIDGE.md, "Access-log witness").
//
// Pure functions over data already fetched, so every verdict can be tested
// without a server. Errors are bridge errors:
//   proof_invalid  a checkpoint that does not open under the audit key, a
//                  malformed proof or entry, an inclusion proof that fails;
//   log_rollback   a checkpoint smaller than the witnessed one;
//   log_fork       the same size with another root, another origin, or a
//                  consistency proof that does not verify.
//
// Thread-safety: pure functions.
#ifndef TILLIT_MOBILE_BRIDGE_WITNESS_H_
#define TILLIT_MOBILE_BRIDGE_WITNESS_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/audit/checkpoint.h"
#include "tillit/audit/merkle.h"
#include "tillit/base/status.h"
#include "tillit/crypto/signing.h"

namespace tillit::bridge {

// The audit log's verifier key, parsed.
struct AuditKey {
  std::string text;  // "name+keyid+base64", as pinned
  std::string name;
  crypto::Ed25519PublicKey public_key{};
};
// proof_invalid when `text` is not a verifier key.
StatusOr<AuditKey> ParseAuditKey(std::string_view text);

// The last checkpoint this device verified.
struct Witness {
  audit::Checkpoint checkpoint;
  std::string note;  // the signed note it came from
};

// The checkpoint of a signed note that must verify under `key`.
StatusOr<audit::Checkpoint> OpenServerCheckpoint(std::string_view note,
                                                 const AuditKey& key);

// True when moving from `witnessed` to `latest` needs a consistency proof
// from the server: both non-empty and the log grew.
bool NeedsConsistencyProof(const std::optional<Witness>& witnessed,
                           const audit::Checkpoint& latest);

// The hashes of a GET /v1/audit/proofs/consistency answer, which must name
// `from` and `to`.
StatusOr<std::vector<audit::Hash>> ParseConsistencyProof(std::string_view body,
                                                         uint64_t from,
                                                         uint64_t to);

// OK when `latest` (already opened) extends `witnessed`; `proof` is the
// consistency proof between them (ignored when none is needed). No
// witness yet accepts any checkpoint.
Status CheckExtends(const std::optional<Witness>& witnessed,
                    const audit::Checkpoint& latest,
                    const std::vector<audit::Hash>& proof);

// Checks each entry of a GET /v1/me/access-log?proofs=true answer against
// `checkpoint` (already opened and checked to extend the witness): its
// "index" below the checkpoint's size, "actor" equal to "actor_id", the
// canonical entry (without index, actor and inclusion_proof) a valid audit
// entry for `citizen_id`, and its inclusion proof leading to the root.
Status VerifyAccessLogEntries(const nlohmann::json& entries,
                              const audit::Checkpoint& checkpoint,
                              std::string_view citizen_id);

}  // namespace tillit::bridge

#endif  // TILLIT_MOBILE_BRIDGE_WITNESS_H_
