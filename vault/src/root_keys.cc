#include "tillit/vault/root_keys.h"

#include <cstring>
#include <string_view>
#include <vector>

#include "tillit/crypto/aead.h"
#include "tillit/crypto/encoding.h"
#include "tillit/storage/files.h"

namespace tillit::vault {
namespace {

constexpr std::string_view kKeyFileMagic = "tillit-root-keys 1";
constexpr std::string_view kSealedMagic = "tillit-sealed-root-keys 1";
constexpr std::string_view kSealedAd = "tillit/sealed-root-keys/1";
constexpr size_t kMaxKeyFileBytes = 64 * 1024;
constexpr size_t kRootKeyBytes = 32;

// Splits secure text into lines without copying it out of secure memory.
std::vector<std::string_view> Lines(const crypto::SecretBytes& text) {
  std::vector<std::string_view> out;
  std::string_view all(reinterpret_cast<const char*>(text.ExposeSecret()),
                       text.size());
  while (!all.empty()) {
    size_t nl = all.find('\n');
    std::string_view line = all.substr(0, nl);
    if (!line.empty()) out.push_back(line);
    if (nl == std::string_view::npos) break;
    all.remove_prefix(nl + 1);
  }
  return out;
}

std::optional<uint32_t> ParseVersion(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v == 0) return std::nullopt;
  return v;
}

// Appends to a secure buffer (grown by copying into a larger one).
void Append(crypto::SecretBytes& buf, size_t& used, std::string_view s) {
  if (used + s.size() > buf.size()) {
    crypto::SecretBytes bigger =
        crypto::SecretBytes::Allocate((used + s.size()) * 2);
    if (used > 0) std::memcpy(bigger.ExposeSecret(), buf.ExposeSecret(), used);
    buf = std::move(bigger);
  }
  std::memcpy(buf.ExposeSecret() + used, s.data(), s.size());
  used += s.size();
}

}  // namespace

RootKeys RootKeys::Generate(crypto::Random& rng) {
  RootKeys keys;
  keys.current_ = 1;
  keys.keys_.emplace(1, rng.Secret(kRootKeyBytes));
  return keys;
}

uint32_t RootKeys::AddVersion(crypto::Random& rng) {
  uint32_t next = keys_.empty() ? 1 : keys_.rbegin()->first + 1;
  keys_.emplace(next, rng.Secret(kRootKeyBytes));
  current_ = next;
  return next;
}

void RootKeys::DropAllButCurrent() {
  for (auto it = keys_.begin(); it != keys_.end();) {
    it = it->first == current_ ? std::next(it) : keys_.erase(it);
  }
}

StatusOr<crypto::Keyring> RootKeys::MakeKeyring() const {
  std::vector<crypto::AeadKey> aead;
  for (const auto& [version, key] : keys_) {
    TILLIT_ASSIGN_OR_RETURN(auto k,
                            crypto::AeadKey::Create(key.Clone(), version));
    aead.push_back(std::move(k));
  }
  return crypto::Keyring::Create(std::move(aead), current_);
}

crypto::SecretBytes RootKeys::Serialize() const {
  crypto::SecretBytes buf = crypto::SecretBytes::Allocate(256);
  size_t used = 0;
  Append(buf, used, kKeyFileMagic);
  Append(buf, used, "\ncurrent ");
  Append(buf, used, std::to_string(current_));
  Append(buf, used, "\n");
  for (const auto& [version, key] : keys_) {
    Append(buf, used, "key ");
    Append(buf, used, std::to_string(version));
    Append(buf, used, " ");
    crypto::SecretBytes b64 = crypto::Base64EncodeSecret(key);
    Append(buf, used,
           std::string_view(reinterpret_cast<const char*>(b64.ExposeSecret()),
                            b64.size()));
    Append(buf, used, "\n");
  }
  crypto::SecretBytes out = crypto::SecretBytes::Allocate(used);
  std::memcpy(out.ExposeSecret(), buf.ExposeSecret(), used);
  return out;
}

StatusOr<RootKeys> RootKeys::Parse(const crypto::SecretBytes& text) {
  const Status bad = Status::DataLoss("root key file is malformed");
  std::vector<std::string_view> lines = Lines(text);
  if (lines.size() < 3 || lines[0] != kKeyFileMagic) return bad;
  RootKeys keys;
  if (lines[1].substr(0, 8) != "current ") return bad;
  auto current = ParseVersion(lines[1].substr(8));
  if (!current) return bad;
  keys.current_ = *current;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.substr(0, 4) != "key ") return bad;
    line.remove_prefix(4);
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) return bad;
    auto version = ParseVersion(line.substr(0, sp));
    if (!version || keys.keys_.count(*version) != 0) return bad;
    auto key = crypto::Base64DecodeSecret(line.substr(sp + 1));
    if (!key.ok() || key->size() != kRootKeyBytes) return bad;
    keys.keys_.emplace(*version, std::move(key).value());
  }
  if (keys.keys_.count(keys.current_) == 0) return bad;
  return keys;
}

StatusOr<RootKeys> RootKeys::Load(const Location& where) {
  if (where.passphrase == nullptr) {
    TILLIT_ASSIGN_OR_RETURN(
        crypto::SecretBytes text,
        storage::ReadSecretFile(where.path, kMaxKeyFileBytes));
    return Parse(text);
  }
  TILLIT_ASSIGN_OR_RETURN(
      std::string sealed,
      storage::ReadFileLimited(where.path, kMaxKeyFileBytes));
  const Status bad = Status::DataLoss("sealed root key file is malformed");
  std::vector<std::string_view> lines;
  {
    std::string_view all = sealed;
    while (!all.empty()) {
      size_t nl = all.find('\n');
      if (nl != 0) lines.push_back(all.substr(0, nl));
      if (nl == std::string_view::npos) break;
      all.remove_prefix(nl + 1);
    }
  }
  if (lines.size() != 3 || lines[0] != kSealedMagic ||
      lines[1].substr(0, 4) != "kdf " || lines[2].substr(0, 7) != "sealed ") {
    return bad;
  }
  auto params = crypto::ParseArgon2Params(lines[1].substr(4));
  if (!params.ok()) return bad;
  auto envelope = crypto::Base64Decode(lines[2].substr(7));
  if (!envelope.ok()) return bad;
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes kek,
      crypto::DeriveKeyFromPassphrase(*where.passphrase, *params));
  TILLIT_ASSIGN_OR_RETURN(auto key, crypto::AeadKey::Create(std::move(kek), 0));
  auto text = key.OpenSecret(*envelope, crypto::AsBytes(kSealedAd));
  if (!text.ok()) {
    return Status::Unauthenticated(
        "the passphrase does not unseal the root keys");
  }
  return Parse(*text);
}

Status RootKeys::Save(const Location& where, crypto::Random& rng) const {
  crypto::SecretBytes text = Serialize();
  if (where.passphrase == nullptr) {
    return storage::WriteFileAtomic(where.path, text.ExposeSecretSpan(), 0600,
                                    where.env);
  }
  crypto::Argon2Params params =
      where.argon2.has_value() ? *where.argon2 : crypto::NewArgon2Params(rng);
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes kek,
      crypto::DeriveKeyFromPassphrase(*where.passphrase, params));
  TILLIT_ASSIGN_OR_RETURN(auto key, crypto::AeadKey::Create(std::move(kek), 0));
  std::vector<uint8_t> envelope =
      key.SealSecret(text, crypto::AsBytes(kSealedAd), rng);
  std::string out(kSealedMagic);
  out += "\nkdf ";
  out += crypto::SerializeArgon2Params(params);
  out += "\nsealed ";
  out += crypto::Base64Encode(envelope);
  out += "\n";
  return storage::WriteFileAtomic(where.path, out, 0600, where.env);
}

}  // namespace tillit::vault
