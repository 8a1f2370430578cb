#include "tillit/audit/checkpoint.h"

#include <cassert>
#include <charconv>
#include <cstring>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"

namespace tillit::audit {
namespace {

// U+2014 EM DASH and a space: the start of every signature line.
constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";
constexpr uint8_t kEd25519Type = 0x01;
constexpr size_t kKeyIdSize = 4;
constexpr size_t kSignatureSize = 64;

// Decodes one UTF-8 code point at text[*pos] and advances *pos. Returns
// false for an invalid, overlong or surrogate encoding.
bool NextCodePoint(std::string_view text, size_t* pos, uint32_t* cp) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t b0 = byte(*pos);
  int extra;
  uint32_t min;
  if (b0 < 0x80) {
    *cp = b0;
    *pos += 1;
    return true;
  } else if ((b0 & 0xE0) == 0xC0) {
    extra = 1, min = 0x80, *cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    extra = 2, min = 0x800, *cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    extra = 3, min = 0x10000, *cp = b0 & 0x07;
  } else {
    return false;
  }
  if (text.size() - *pos <= static_cast<size_t>(extra)) return false;
  for (int i = 1; i <= extra; ++i) {
    const uint8_t b = byte(*pos + i);
    if ((b & 0xC0) != 0x80) return false;
    *cp = (*cp << 6) | (b & 0x3F);
  }
  if (*cp < min || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
    return false;
  }
  *pos += 1 + extra;
  return true;
}

bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp < 0xA0); }

// Unicode White_Space code points outside ASCII.
bool IsUnicodeSpace(uint32_t cp) {
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Valid UTF-8 with no control character other than '\n'.
bool IsNoteText(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp;
    if (!NextCodePoint(text, &pos, &cp)) return false;
    if (cp != '\n' && IsControl(cp)) return false;
  }
  return true;
}

void AppendBigEndian32(uint32_t v, std::vector<uint8_t>* out) {
  out->push_back(static_cast<uint8_t>(v >> 24));
  out->push_back(static_cast<uint8_t>(v >> 16));
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v));
}

uint32_t ReadBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Canonical decimal: digits only, no sign, no leading zero (except "0"),
// at most UINT64_MAX.
bool ParseSize(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Splits text that ends in '\n' into its lines (without the newlines).
std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

struct SignatureLine {
  std::string_view name;
  uint32_t key_id = 0;
  std::vector<uint8_t> signature;  // without the key id
};

StatusOr<Checkpoint> ParseBody(std::string_view body) {
  const std::vector<std::string_view> lines = SplitLines(body);
  if (lines.size() < 3) {
    return Status::InvalidArgument("checkpoint needs origin, size and root");
  }
  for (std::string_view line : lines) {
    if (line.empty()) {
      return Status::InvalidArgument("checkpoint has an empty line");
    }
  }
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (!ParseSize(lines[1], &cp.size)) {
    return Status::InvalidArgument("checkpoint size is not a decimal number");
  }
  auto root = crypto::Base64Decode(lines[2]);
  if (!root.ok() || root->size() != cp.root.size()) {
    return Status::InvalidArgument("checkpoint root is not 32 base64 bytes");
  }
  std::memcpy(cp.root.data(), root->data(), cp.root.size());
  return cp;
}

StatusOr<std::vector<SignatureLine>> ParseSignatures(std::string_view text) {
  const std::vector<std::string_view> lines = SplitLines(text);
  if (lines.empty()) return Status::InvalidArgument("note has no signature");
  if (lines.size() > kMaxNoteSignatures) {
    return Status::InvalidArgument("note has too many signatures");
  }
  std::vector<SignatureLine> sigs;
  for (std::string_view line : lines) {
    if (!line.starts_with(kSigPrefix)) {
      return Status::InvalidArgument("malformed signature line");
    }
    line.remove_prefix(kSigPrefix.size());
    const size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return Status::InvalidArgument("malformed signature line");
    }
    SignatureLine sig;
    sig.name = line.substr(0, space);
    if (!IsValidKeyName(sig.name)) {
      return Status::InvalidArgument("malformed signature key name");
    }
    auto bytes = crypto::Base64Decode(line.substr(space + 1));
    if (!bytes.ok() || bytes->size() <= kKeyIdSize) {
      return Status::InvalidArgument("malformed signature encoding");
    }
    sig.key_id = ReadBigEndian32(bytes->data());
    sig.signature.assign(bytes->begin() + kKeyIdSize, bytes->end());
    sigs.push_back(std::move(sig));
  }
  return sigs;
}

}  // namespace

bool IsValidKeyName(std::string_view key_name) {
  if (key_name.empty()) return false;
  size_t pos = 0;
  while (pos < key_name.size()) {
    uint32_t cp;
    if (!NextCodePoint(key_name, &pos, &cp)) return false;
    if (cp == '+' || cp == ' ' || IsControl(cp) || IsUnicodeSpace(cp)) {
      return false;
    }
  }
  return true;
}

std::string CheckpointBody(const Checkpoint& checkpoint) {
  std::string body = checkpoint.origin;
  body += '\n';
  body += std::to_string(checkpoint.size);
  body += '\n';
  body += crypto::Base64Encode(checkpoint.root);
  body += '\n';
  return body;
}

uint32_t NoteKeyId(std::string_view key_name,
                   const crypto::Ed25519PublicKey& pk) {
  crypto::Sha256Hasher hasher;
  hasher.Update(crypto::AsBytes(key_name));
  const uint8_t sep[2] = {'\n', kEd25519Type};
  hasher.Update(sep);
  hasher.Update(pk);
  const crypto::Digest digest = hasher.Finish();
  return ReadBigEndian32(digest.data());
}

std::string SignCheckpoint(const Checkpoint& checkpoint,
                           std::string_view key_name,
                           const crypto::SigningKey& key) {
  assert(IsValidKeyName(key_name));
  assert(!checkpoint.origin.empty() && IsNoteText(checkpoint.origin) &&
         checkpoint.origin.find('\n') == std::string::npos);
  const std::string body = CheckpointBody(checkpoint);
  const crypto::Ed25519Signature sig = key.Sign(crypto::AsBytes(body));
  std::vector<uint8_t> blob;
  blob.reserve(kKeyIdSize + sig.size());
  AppendBigEndian32(NoteKeyId(key_name, key.public_key()), &blob);
  blob.insert(blob.end(), sig.begin(), sig.end());

  std::string note = body;
  note += '\n';
  note += kSigPrefix;
  note += key_name;
  note += ' ';
  note += crypto::Base64Encode(blob);
  note += '\n';
  assert(note.size() <= kMaxNoteSize);
  return note;
}

StatusOr<Checkpoint> OpenCheckpoint(std::string_view note,
                                    std::string_view key_name,
                                    const crypto::Ed25519PublicKey& pk) {
  if (!IsValidKeyName(key_name)) {
    return Status::InvalidArgument("invalid key name");
  }
  if (note.size() > kMaxNoteSize) {
    return Status::InvalidArgument("note is larger than 64 KiB");
  }
  if (!IsNoteText(note)) {
    return Status::InvalidArgument("note is not UTF-8 text");
  }
  // The signatures follow the last blank line; the body keeps its final
  // newline and is exactly the signed bytes.
  const size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Status::InvalidArgument("note has no blank line before signatures");
  }
  const std::string_view body = note.substr(0, split + 1);
  const std::string_view sig_text = note.substr(split + 2);
  if (sig_text.empty() || sig_text.back() != '\n') {
    return Status::InvalidArgument("note must end with a signature line");
  }
  TILLIT_ASSIGN_OR_RETURN(std::vector<SignatureLine> sigs,
                          ParseSignatures(sig_text));
  TILLIT_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseBody(body));

  // Per C2SP signed-note: lines by unknown keys are ignored, but a line by
  // the known key that does not verify rejects the whole note.
  const uint32_t key_id = NoteKeyId(key_name, pk);
  bool verified = false;
  for (const SignatureLine& sig : sigs) {
    if (sig.name != key_name || sig.key_id != key_id) continue;
    if (sig.signature.size() != kSignatureSize ||
        !crypto::VerifyEd25519(pk, crypto::AsBytes(body), sig.signature)) {
      return Status::Unauthenticated("checkpoint signature does not verify");
    }
    verified = true;
  }
  if (!verified) {
    return Status::Unauthenticated("checkpoint has no signature by the key");
  }
  return checkpoint;
}

std::string VerifierKey(std::string_view key_name,
                        const crypto::Ed25519PublicKey& pk) {
  assert(IsValidKeyName(key_name));
  std::vector<uint8_t> id;
  AppendBigEndian32(NoteKeyId(key_name, pk), &id);
  std::vector<uint8_t> typed_key;
  typed_key.push_back(kEd25519Type);
  typed_key.insert(typed_key.end(), pk.begin(), pk.end());
  std::string vkey(key_name);
  vkey += '+';
  vkey += crypto::HexEncode(id);
  vkey += '+';
  vkey += crypto::Base64Encode(typed_key);
  return vkey;
}

StatusOr<std::pair<std::string, crypto::Ed25519PublicKey>> ParseVerifierKey(
    std::string_view vkey) {
  // The name holds no '+'; base64 may, so split at the first two only.
  const size_t first = vkey.find('+');
  if (first == std::string_view::npos) {
    return Status::InvalidArgument("verifier key has no '+'");
  }
  const std::string_view name = vkey.substr(0, first);
  const std::string_view rest = vkey.substr(first + 1);
  if (!IsValidKeyName(name)) {
    return Status::InvalidArgument("verifier key has an invalid name");
  }
  if (rest.size() < 9 || rest[8] != '+') {
    return Status::InvalidArgument("verifier key id is not 8 hex digits");
  }
  auto id = crypto::HexDecode(rest.substr(0, 8));
  if (!id.ok() || id->size() != kKeyIdSize) {
    return Status::InvalidArgument("verifier key id is not 8 hex digits");
  }
  auto typed_key = crypto::Base64Decode(rest.substr(9));
  crypto::Ed25519PublicKey pk;
  if (!typed_key.ok() || typed_key->size() != 1 + pk.size() ||
      (*typed_key)[0] != kEd25519Type) {
    return Status::InvalidArgument("verifier key is not an Ed25519 key");
  }
  std::memcpy(pk.data(), typed_key->data() + 1, pk.size());
  if (ReadBigEndian32(id->data()) != NoteKeyId(name, pk)) {
    return Status::InvalidArgument("verifier key id does not match the key");
  }
  return std::make_pair(std::string(name), pk);
}

bool IsFork(const Checkpoint& a, const Checkpoint& b) {
  return a.origin == b.origin && a.size == b.size && a.root != b.root;
}

}  // namespace tillit::audit
