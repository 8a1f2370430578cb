// Signed checkpoints of the audit log: C2SP tlog-checkpoint bodies carried in
// C2SP signed notes, signed with Ed25519.
//
//   <origin>\n<size>\n<base64 root>\n          the body (signed bytes)
//   \n                                         a blank line
//   — <key name> <base64(key id || sig)>\n     one line per signature
//
// The dash is U+2014 EM DASH followed by one space. The key id is the first
// four bytes of SHA-256(key_name || "\n" || 0x01 || public_key), big-endian.
// docs/AUDIT_FORMATS.md has a worked example.
//
// Limits: a note is at most kMaxNoteSize bytes and carries at most
// kMaxNoteSignatures signature lines; key names are non-empty and contain no
// whitespace and no '+'.
//
// Thread-safety: all functions are pure and may be called from any thread.
#ifndef TILLIT_AUDIT_CHECKPOINT_H_
#define TILLIT_AUDIT_CHECKPOINT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "tillit/audit/merkle.h"
#include "tillit/base/status.h"
#include "tillit/crypto/signing.h"

namespace tillit::audit {

inline constexpr size_t kMaxNoteSize = 64 * 1024;
inline constexpr size_t kMaxNoteSignatures = 100;

// A tree head: the log named `origin` had `size` entries with this root.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
};

// The note body: "<origin>\n<size>\n<base64 root>\n".
std::string CheckpointBody(const Checkpoint& checkpoint);

// C2SP signed-note key id for an Ed25519 key: the first 4 bytes of
// SHA-256(key_name || "\n" || 0x01 || public_key), big-endian.
uint32_t NoteKeyId(std::string_view key_name,
                   const crypto::Ed25519PublicKey& pk);

// True when `key_name` is a usable key name: non-empty, valid UTF-8, no
// whitespace (ASCII or Unicode), no control character and no '+'.
bool IsValidKeyName(std::string_view key_name);

// The signed note: body, a blank line, then
// "— <key_name> <base64(4-byte key id || 64-byte signature)>\n".
// The signature is over the body bytes.
// REQUIRES: IsValidKeyName(key_name); checkpoint.origin is non-empty, valid
// UTF-8 without control characters (no newline), and short enough for the
// note to fit in kMaxNoteSize. These are configuration values, never user
// input; a note that breaks them does not open.
std::string SignCheckpoint(const Checkpoint& checkpoint,
                           std::string_view key_name,
                           const crypto::SigningKey& key);

// Parses a signed note and verifies a signature line by `key_name` with
// `pk`. Signature lines by other names, or by the same name with another key
// id, are ignored but must be well formed. Extension lines after the three
// checkpoint lines are allowed and not part of the Checkpoint.
// Errors:
//   InvalidArgument  malformed: too large, not UTF-8 or a control character,
//                    missing blank line, empty origin, bad size (not
//                    canonical decimal or beyond uint64), bad base64 or root
//                    not 32 bytes, empty line in the body, malformed or too
//                    many signature lines, invalid key_name.
//   Unauthenticated  no signature line by that key, or one that fails.
StatusOr<Checkpoint> OpenCheckpoint(std::string_view note,
                                    std::string_view key_name,
                                    const crypto::Ed25519PublicKey& pk);

// The verifier key string of the C2SP note format:
// "<name>+<8 hex digits key id>+<base64(0x01 || pk)>".
// REQUIRES: IsValidKeyName(key_name).
std::string VerifierKey(std::string_view key_name,
                        const crypto::Ed25519PublicKey& pk);
// Its parser: InvalidArgument for a bad name, a key id that is not 8 hex
// digits or does not match the key, bad base64, a key type other than 0x01
// (Ed25519) or a key of the wrong length.
StatusOr<std::pair<std::string, crypto::Ed25519PublicKey>> ParseVerifierKey(
    std::string_view vkey);

// Same origin and size, different root: proof that the log forked. Only
// meaningful for checkpoints that both came out of OpenCheckpoint.
bool IsFork(const Checkpoint& a, const Checkpoint& b);

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_CHECKPOINT_H_
