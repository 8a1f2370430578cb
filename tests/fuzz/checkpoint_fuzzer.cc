// Fuzz target: signed-note checkpoints of the audit log
// (audit/include/tillit/audit/checkpoint.h, docs/AUDIT_FORMATS.md), as
// `tillit audit verify --url`, the mobile bridge and witnesses read them,
// and the C2SP verifier key string (ParseVerifierKey).
//
// The bytes are opened three ways with the fixed test key of
// docs/AUDIT_FORMATS.md (seed 00 01 .. 1f, name example.org/tillit/audit):
//   1. as a whole note (OpenCheckpoint);
//   2. when they contain no blank line and end in a newline, as a note body
//      that this target signs with the test key, so that the body parser is
//      reached behind a valid signature: a correctly signed note may be
//      refused as malformed but never as unauthenticated;
//   3. as a verifier key.
// An opened checkpoint's canonical body must start the note, and signing
// it again must open to the same checkpoint; a parsed verifier key must
// survive VerifierKey and ParseVerifierKey unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "tillit/audit/checkpoint.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/secret.h"
#include "tillit/crypto/signing.h"

namespace tillit::fuzz {
namespace {

constexpr std::string_view kName = "example.org/tillit/audit";
constexpr std::string_view kDash = "\xE2\x80\x94";  // U+2014 EM DASH

const crypto::SigningKey& TestKey() {
  static const crypto::SigningKey* const key = [] {
    std::vector<uint8_t> seed(32);
    for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i);
    StatusOr<crypto::SigningKey> k =
        crypto::SigningKey::FromSeed(crypto::SecretBytes::CopyFrom(seed));
    TILLIT_FUZZ_CHECK(k.ok());
    return new crypto::SigningKey(*std::move(k));
  }();
  return *key;
}

void CheckOpened(const audit::Checkpoint& cp, std::string_view note) {
  TILLIT_FUZZ_CHECK(!cp.origin.empty());
  TILLIT_FUZZ_CHECK(cp.origin.find('\n') == std::string::npos);
  const std::string body = audit::CheckpointBody(cp);
  TILLIT_FUZZ_CHECK(note.starts_with(body));
  // Signing the checkpoint again opens to the same one (when the new note
  // still fits in kMaxNoteSize; ours has one signature line).
  if (body.size() + 256 > audit::kMaxNoteSize) return;
  const std::string again = audit::SignCheckpoint(cp, kName, TestKey());
  StatusOr<audit::Checkpoint> reopened =
      audit::OpenCheckpoint(again, kName, TestKey().public_key());
  TILLIT_FUZZ_CHECK(reopened.ok());
  TILLIT_FUZZ_CHECK(reopened->origin == cp.origin);
  TILLIT_FUZZ_CHECK(reopened->size == cp.size);
  TILLIT_FUZZ_CHECK(reopened->root == cp.root);
  TILLIT_FUZZ_CHECK(!audit::IsFork(cp, *reopened));
}

// `body` + blank line + a valid signature line by the test key.
std::string SignBody(std::string_view body) {
  const crypto::SigningKey& key = TestKey();
  const uint32_t id = audit::NoteKeyId(kName, key.public_key());
  std::vector<uint8_t> blob = {
      static_cast<uint8_t>(id >> 24), static_cast<uint8_t>(id >> 16),
      static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  const crypto::Ed25519Signature sig = key.Sign(crypto::AsBytes(body));
  blob.insert(blob.end(), sig.begin(), sig.end());
  return std::string(body) + "\n" + std::string(kDash) + " " +
         std::string(kName) + " " + crypto::Base64Encode(blob) + "\n";
}

}  // namespace
}  // namespace tillit::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tillit;
  using namespace tillit::fuzz;
  const std::string_view text = AsText(data, size);
  const crypto::Ed25519PublicKey& pk = TestKey().public_key();

  StatusOr<audit::Checkpoint> cp = audit::OpenCheckpoint(text, kName, pk);
  if (cp.ok()) CheckOpened(*cp, text);

  if (!text.empty() && text.back() == '\n' &&
      text.find("\n\n") == std::string_view::npos) {
    const std::string note = SignBody(text);
    StatusOr<audit::Checkpoint> signed_cp =
        audit::OpenCheckpoint(note, kName, pk);
    if (signed_cp.ok()) {
      CheckOpened(*signed_cp, note);
    } else {
      TILLIT_FUZZ_CHECK(signed_cp.status().code() ==
                        StatusCode::kInvalidArgument);
    }
  }

  auto vkey = audit::ParseVerifierKey(text);
  if (vkey.ok()) {
    TILLIT_FUZZ_CHECK(audit::IsValidKeyName(vkey->first));
    const std::string written = audit::VerifierKey(vkey->first, vkey->second);
    auto again = audit::ParseVerifierKey(written);
    TILLIT_FUZZ_CHECK(again.ok());
    TILLIT_FUZZ_CHECK(again->first == vkey->first);
    TILLIT_FUZZ_CHECK(again->second == vkey->second);
  }
  return 0;
}
