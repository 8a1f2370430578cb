#include "manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"

namespace tillit::backup {
namespace {

using nlohmann::json;

constexpr char kFormat[] = "tillit-backup";
// What a manifest signature covers besides the text: no signature by this
// key means anything else.
constexpr char kSignedPrefix[] = "tillit-backup-manifest/1\n";
constexpr size_t kChunk = 1 << 20;

bool IsHexId(std::string_view s, std::string_view prefix, size_t hex) {
  if (s.size() != prefix.size() + hex || s.substr(0, prefix.size()) != prefix)
    return false;
  for (char c : s.substr(prefix.size())) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool EndsWith(std::string_view s, std::string_view end) {
  return s.size() >= end.size() && s.substr(s.size() - end.size()) == end;
}

Status Errno(std::string_view what, const std::string& path) {
  std::string m(what);
  m += " " + path + ": " + std::strerror(errno);
  if (errno == ENOENT) return Status::NotFound(m);
  return Status::IoError(m);
}

// Reads `path` in chunks, handing each to `take`.
template <typename Take>
Status ReadChunks(const std::string& path, Take take) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  std::vector<uint8_t> buf(kChunk);
  Status s;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s = Errno("cannot read", path);
      break;
    }
    if (n == 0) break;
    s = take(std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    if (!s.ok()) break;
  }
  ::close(fd);
  return s;
}

}  // namespace

bool IsBackupPath(const std::string& path) {
  if (path == "vault.json" || path == "registry.db" || path == "audit.db" ||
      path == "privacy.db" || path == "root.key" || path == "root.sealed") {
    return true;
  }
  std::string_view p = path;
  if (p.substr(0, 9) == "citizens/" && EndsWith(p, ".db")) {
    return IsHexId(p.substr(9, p.size() - 9 - 3), "c_", 32);
  }
  if (p.substr(0, 9) == "releases/" && EndsWith(p, ".tillit")) {
    return IsHexId(p.substr(9, p.size() - 9 - 7), "rel_", 32);
  }
  return false;
}

std::string ManifestText(const Manifest& m) {
  json files = json::array();
  for (const ManifestFile& f : m.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  json citizens = json::array();
  for (const Manifest::Citizen& c : m.citizens) {
    citizens.push_back({{"id", c.id},
                        {"generation", c.generation},
                        {"dek_version", c.dek_version}});
  }
  json j = {
      {"format", kFormat},
      {"version", kManifestVersion},
      {"created", m.created},
      {"tillit_version", m.tillit_version},
      {"root_keys",
       {{"version", m.root_key_version},
        {"sealed", m.sealed},
        {"file", m.key_file.empty() ? json(nullptr) : json(m.key_file)},
        {"in_data_dir", m.key_in_data_dir}}},
      {"audit",
       {{"tree_size", m.audit_tree_size}, {"checkpoint", m.audit_checkpoint}}},
      {"signer", m.signer},
      {"citizens", std::move(citizens)},
      {"files", std::move(files)}};
  return j.dump(1) + "\n";
}

StatusOr<Manifest> ParseManifest(const std::string& text) {
  auto bad = [](const std::string& what) {
    return Status::DataLoss("manifest.json: " + what);
  };
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  if (j.value("format", "") != kFormat) return bad("not a tillit backup");
  if (!j.contains("version") || !j["version"].is_number_integer())
    return bad("no version");
  if (j["version"].get<int64_t>() != kManifestVersion) {
    return Status::FailedPrecondition(
        "manifest.json: backup format " +
        std::to_string(j["version"].get<int64_t>()) +
        " is not one this tillit reads (" + std::to_string(kManifestVersion) +
        ")");
  }
  Manifest m;
  try {
    m.created = j.at("created").get<int64_t>();
    m.tillit_version = j.at("tillit_version").get<std::string>();
    const json& keys = j.at("root_keys");
    m.root_key_version = keys.at("version").get<uint32_t>();
    m.sealed = keys.at("sealed").get<bool>();
    if (!keys.at("file").is_null())
      m.key_file = keys.at("file").get<std::string>();
    m.key_in_data_dir = keys.at("in_data_dir").get<bool>();
    m.audit_tree_size = j.at("audit").at("tree_size").get<uint64_t>();
    m.audit_checkpoint = j.at("audit").at("checkpoint").get<std::string>();
    m.signer = j.at("signer").get<std::string>();
    for (const json& c : j.at("citizens")) {
      m.citizens.push_back({c.at("id").get<std::string>(),
                            c.at("generation").get<int64_t>(),
                            c.at("dek_version").get<int64_t>()});
    }
    for (const json& f : j.at("files")) {
      m.files.push_back({f.at("path").get<std::string>(),
                         f.at("size").get<uint64_t>(),
                         f.at("sha256").get<std::string>()});
    }
  } catch (const json::exception&) {
    return bad("a field is missing or of the wrong type");
  }
  std::vector<std::string> seen;
  for (const ManifestFile& f : m.files) {
    if (!IsBackupPath(f.path)) return bad("names a file no backup holds");
    if (f.sha256.size() != 64 || !IsHexId(f.sha256, "", 64))
      return bad(f.path + ": not a SHA-256");
    seen.push_back(f.path);
  }
  std::sort(seen.begin(), seen.end());
  if (std::adjacent_find(seen.begin(), seen.end()) != seen.end())
    return bad("names a file twice");
  if (!m.key_file.empty() && m.key_file != "root.key" &&
      m.key_file != "root.sealed") {
    return bad("names an unknown key file");
  }
  for (const Manifest::Citizen& c : m.citizens) {
    if (!IsHexId(c.id, "c_", 32)) return bad("names a citizen wrongly");
  }
  return m;
}

StatusOr<crypto::SigningKey> ManifestSigner(const crypto::KeyDeriver& keys) {
  TILLIT_ASSIGN_OR_RETURN(
      crypto::SecretBytes seed,
      keys.DeriveKey(crypto::KdfContext::kBackupSigning, 1));
  return crypto::SigningKey::FromSeed(seed);
}

std::string SignManifest(const crypto::SigningKey& key,
                         const std::string& text) {
  const std::string message = kSignedPrefix + text;
  const crypto::Ed25519Signature sig = key.Sign(std::span<const uint8_t>(
      reinterpret_cast<const uint8_t*>(message.data()), message.size()));
  return crypto::Base64Encode(sig) + "\n";
}

bool ManifestSignatureVerifies(const crypto::Ed25519PublicKey& signer,
                               const std::string& text,
                               const std::string& sig) {
  std::string_view b64 = sig;
  if (!b64.empty() && b64.back() == '\n') b64.remove_suffix(1);
  auto raw = crypto::Base64Decode(b64);
  if (!raw.ok()) return false;
  const std::string message = kSignedPrefix + text;
  return crypto::VerifyEd25519(
      signer,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(message.data()),
                               message.size()),
      *raw);
}

StatusOr<FileDigest> DigestFile(const std::string& path) {
  FileDigest d;
  crypto::Sha256Hasher hasher;
  TILLIT_RETURN_IF_ERROR(ReadChunks(path, [&](std::span<const uint8_t> b) {
    hasher.Update(b);
    d.size += b.size();
    return Status::Ok();
  }));
  d.sha256 = crypto::HexEncode(hasher.Finish());
  return d;
}

StatusOr<FileDigest> CopyFileDurably(const std::string& from,
                                     const std::string& to, Env* env) {
  FileDigest d;
  crypto::Sha256Hasher hasher;
  Status s;
  {
    TILLIT_ASSIGN_OR_RETURN(auto out,
                            env->NewWritableFile(to, 0600, /*exclusive=*/true));
    s = ReadChunks(from, [&](std::span<const uint8_t> b) {
      hasher.Update(b);
      d.size += b.size();
      return out->Append(b);
    });
    if (s.ok()) s = out->Sync();
    Status closed = out->Close();
    if (s.ok()) s = closed;
  }
  if (!s.ok()) {
    (void)env->RemoveFile(to);
    return s;
  }
  d.sha256 = crypto::HexEncode(hasher.Finish());
  return d;
}

Status RemoveWithCompanions(const std::string& path, Env* env) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    Status s = env->RemoveFile(path + suffix);
    if (!s.ok() && s.code() != StatusCode::kNotFound) return s;
  }
  return Status::Ok();
}

}  // namespace tillit::backup
