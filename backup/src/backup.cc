#include "tillit/backup/backup.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "manifest.h"
#include "tillit/audit/audit_log.h"
#include "tillit/base/build_info.h"
#include "tillit/base/clock.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"
#include "tillit/research/privacy_ledger.h"
#include "tillit/storage/files.h"

namespace tillit::backup {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxVaultJsonBytes = 64 * 1024;

void Report(const ProgressFn& progress, const std::string& what, size_t done,
            size_t total) {
  if (progress) progress(what, done, total);
}

// The files under `dir`, relative to it, sorted.
StatusOr<std::vector<std::string>> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    out.push_back(fs::relative(it->path(), dir, ec).generic_string());
  }
  if (ec) return Status::IoError("cannot list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// The previous backup in `dir`, if it is one of this vault's.
std::optional<Manifest> PreviousManifest(const std::string& dir,
                                         const crypto::SigningKey& signer) {
  auto text =
      storage::ReadFileLimited(dir + "/" + kManifestFile, kMaxManifestBytes);
  auto sig = storage::ReadFileLimited(dir + "/" + kSignatureFile, 4096);
  if (!text.ok() || !sig.ok() ||
      !ManifestSignatureVerifies(signer.public_key(), *text, *sig)) {
    return std::nullopt;
  }
  auto m = ParseManifest(*text);
  if (!m.ok()) return std::nullopt;
  return std::move(m).value();
}

// Refuses to write into a directory that holds anything but a backup.
Status CheckOutputDirectory(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::Ok();
  if (!fs::is_directory(dir, ec)) {
    return Status::FailedPrecondition(dir + " exists and is not a directory");
  }
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> files, ListFiles(dir));
  for (const std::string& f : files) {
    std::string base = f;
    for (const char* suffix : {"-wal", "-shm", "-journal", ".tmp"}) {
      const std::string s(suffix);
      if (base.size() > s.size() &&
          base.compare(base.size() - s.size(), s.size(), s) == 0) {
        base.resize(base.size() - s.size());
      }
    }
    if (base != kManifestFile && base != kSignatureFile &&
        !IsBackupPath(base)) {
      return Status::FailedPrecondition(
          dir + " holds " + f +
          ", which is not part of a tillit backup: choose an empty "
          "directory or an earlier backup");
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<BackupReport> TakeBackup(vault::Vault& vault,
                                  const BackupOptions& options) {
  Env* const env = options.env;
  const std::string& out = options.out_dir;
  if (vault.shared_store() != nullptr) {
    return Status::FailedPrecondition(
        "`tillit backup` copies a data directory; a vault in PostgreSQL is "
        "backed up by the database's own means (base backups and WAL "
        "archiving)");
  }
  if (out.empty()) return Status::InvalidArgument("no backup directory");
  std::error_code ec;
  if (fs::exists(out, ec) && fs::equivalent(out, vault.data_dir(), ec)) {
    return Status::InvalidArgument("the backup cannot go into the vault");
  }
  TILLIT_RETURN_IF_ERROR(CheckOutputDirectory(out));
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey signer, ManifestSigner(vault));
  const std::optional<Manifest> previous = PreviousManifest(out, signer);
  std::map<std::string, ManifestFile> before;
  // Each citizen's (generation, data key version) in the previous backup.
  std::map<std::string, std::pair<int64_t, int64_t>> before_citizen;
  if (previous) {
    for (const ManifestFile& f : previous->files) before[f.path] = f;
    for (const auto& c : previous->citizens)
      before_citizen[c.id] = {c.generation, c.dek_version};
  }
  TILLIT_RETURN_IF_ERROR(env->CreateDirectories(out + "/citizens"));
  TILLIT_RETURN_IF_ERROR(env->CreateDirectories(out + "/releases"));
  // Withdraw the previous manifest first: until the new one is written,
  // the directory is not a valid backup.
  TILLIT_RETURN_IF_ERROR(
      storage::RemoveFileIfExists(out + "/" + kSignatureFile, env));
  TILLIT_RETURN_IF_ERROR(
      storage::RemoveFileIfExists(out + "/" + kManifestFile, env));
  TILLIT_RETURN_IF_ERROR(env->SyncDirectory(out));

  const std::string vault_json = vault.data_dir() + "/vault.json";
  TILLIT_ASSIGN_OR_RETURN(
      const std::string keys_at_start,
      storage::ReadFileLimited(vault_json, kMaxVaultJsonBytes));
  BackupReport report;
  Manifest m;
  m.created = Clock::System().NowSeconds();
  m.tillit_version = std::string(BuildVersion());
  m.root_key_version = vault.root_key_version();
  m.sealed = vault.sealed();
  m.signer = crypto::Base64Encode(signer.public_key());
  {
    const fs::path key_dir = fs::path(vault.root_key_path()).parent_path();
    m.key_in_data_dir = fs::equivalent(key_dir, vault.data_dir(), ec);
  }
  auto add = [&](const std::string& path, const FileDigest& d, bool copied) {
    m.files.push_back({path, d.size, d.sha256});
    report.bytes += d.size;
    if (copied) {
      ++report.copied;
      report.bytes_copied += d.size;
    } else {
      ++report.skipped;
    }
  };
  auto add_copied = [&](const std::string& path) -> Status {
    TILLIT_ASSIGN_OR_RETURN(FileDigest d, DigestFile(out + "/" + path));
    add(path, d, true);
    return Status::Ok();
  };
  // Whether the file in the backup is still the one the previous manifest
  // describes.
  auto unchanged = [&](const std::string& path) -> StatusOr<bool> {
    auto it = before.find(path);
    if (it == before.end() || !fs::exists(out + "/" + path, ec)) return false;
    TILLIT_ASSIGN_OR_RETURN(FileDigest d, DigestFile(out + "/" + path));
    return d.size == it->second.size && d.sha256 == it->second.sha256;
  };

  // 1. The registry with vault.json, first: every citizen file copied
  //    after it is at least as new as the generation it records.
  Report(options.progress, "registry", 0, 1);
  TILLIT_RETURN_IF_ERROR(RemoveWithCompanions(out + "/registry.db", env));
  TILLIT_ASSIGN_OR_RETURN(std::vector<vault::Vault::CopiedCitizen> citizens,
                          vault.CopyRegistry(out, env));
  TILLIT_RETURN_IF_ERROR(add_copied("vault.json"));
  TILLIT_RETURN_IF_ERROR(add_copied("registry.db"));

  // 2. Every citizen the copied registry holds.
  for (size_t i = 0; i < citizens.size(); ++i) {
    const auto& c = citizens[i];
    Report(options.progress, "citizen stores", i, citizens.size());
    const std::string path = "citizens/" + c.id + ".db";
    TILLIT_ASSIGN_OR_RETURN(int64_t live, vault.CitizenGeneration(c.id));
    // Kept only when neither a write (the generation) nor a rekey (the
    // data key version) changed the store since the previous backup.
    auto prev = before_citizen.find(c.id);
    if (prev != before_citizen.end() &&
        prev->second == std::make_pair(live, c.dek_version)) {
      TILLIT_ASSIGN_OR_RETURN(bool same, unchanged(path));
      if (same) {
        add(path, {before[path].size, before[path].sha256}, false);
        m.citizens.push_back({c.id, live, c.dek_version});
        continue;
      }
    }
    TILLIT_RETURN_IF_ERROR(RemoveWithCompanions(out + "/" + path, env));
    StatusOr<int64_t> generation =
        vault.CopyCitizen(c.id, c.dek_version, out + "/" + path, env);
    if (generation.status().code() == StatusCode::kNotFound) {
      return Status::FailedPrecondition(
          "citizen " + c.id +
          " was erased while the backup was taken; take it again");
    }
    if (!generation.ok()) return generation.status().WithContext(c.id);
    TILLIT_RETURN_IF_ERROR(add_copied(path));
    m.citizens.push_back({c.id, *generation, c.dek_version});
  }
  report.citizens = citizens.size();

  // 3. The audit log, and a signed checkpoint of the copy.
  Report(options.progress, "audit log", 0, 1);
  TILLIT_RETURN_IF_ERROR(RemoveWithCompanions(out + "/audit.db", env));
  TILLIT_RETURN_IF_ERROR(audit::AuditLog::CopyDatabase(vault.data_dir(), vault,
                                                       out + "/audit.db", env));
  {
    TILLIT_ASSIGN_OR_RETURN(auto log,
                            audit::AuditLog::OpenInDirectory(out, vault, env));
    TILLIT_ASSIGN_OR_RETURN(m.audit_checkpoint, log->SignedCheckpoint());
    m.audit_tree_size = log->size();
  }
  TILLIT_RETURN_IF_ERROR(add_copied("audit.db"));
  report.audit_entries = m.audit_tree_size;

  // 4. The privacy-budget ledger, when the vault has one.
  TILLIT_RETURN_IF_ERROR(RemoveWithCompanions(out + "/privacy.db", env));
  if (fs::exists(vault.data_dir() + "/privacy.db", ec)) {
    TILLIT_RETURN_IF_ERROR(research::PrivacyLedger::CopyDatabase(
        vault.data_dir(), vault, out + "/privacy.db", env));
    TILLIT_RETURN_IF_ERROR(add_copied("privacy.db"));
  }

  // 5. Releases: written once, never changed; new ones are copied.
  std::vector<std::string> releases;
  for (fs::directory_iterator it(vault.data_dir() + "/releases", ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = "releases/" + it->path().filename().string();
    if (it->is_regular_file(ec) && IsBackupPath(name)) releases.push_back(name);
  }
  std::sort(releases.begin(), releases.end());
  for (size_t i = 0; i < releases.size(); ++i) {
    Report(options.progress, "releases", i, releases.size());
    const std::string& path = releases[i];
    TILLIT_ASSIGN_OR_RETURN(bool same, unchanged(path));
    if (same) {
      add(path, {before[path].size, before[path].sha256}, false);
      continue;
    }
    TILLIT_RETURN_IF_ERROR(storage::RemoveFileIfExists(out + "/" + path, env));
    TILLIT_ASSIGN_OR_RETURN(
        FileDigest d,
        CopyFileDurably(vault.data_dir() + "/" + path, out + "/" + path, env));
    add(path, d, true);
  }

  // 6. The root keys, only on purpose.
  for (const char* name : {"root.key", "root.sealed"}) {
    TILLIT_RETURN_IF_ERROR(storage::RemoveFileIfExists(out + "/" + name, env));
  }
  if (options.include_key_file) {
    m.key_file = m.sealed ? "root.sealed" : "root.key";
    TILLIT_ASSIGN_OR_RETURN(
        FileDigest d,
        CopyFileDurably(vault.root_key_path(), out + "/" + m.key_file, env));
    add(m.key_file, d, true);
    report.key_included = true;
  }

  // 7. Nothing else: files of citizens erased since the previous backup
  //    and releases no longer kept go.
  std::set<std::string> keep;
  for (const ManifestFile& f : m.files) keep.insert(f.path);
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> present, ListFiles(out));
  for (const std::string& f : present) {
    if (!keep.count(f)) {
      TILLIT_RETURN_IF_ERROR(env->RemoveFile(out + "/" + f));
    }
  }
  for (const char* sub : {"/citizens", "/releases", ""}) {
    TILLIT_RETURN_IF_ERROR(env->SyncDirectory(out + sub));
  }

  // 8. The root keys must not have changed under the copy (an erasure or
  //    rotation by a running server): the registry's data keys and the
  //    citizens' files would then not be of one version.
  TILLIT_ASSIGN_OR_RETURN(
      const std::string keys_at_end,
      storage::ReadFileLimited(vault_json, kMaxVaultJsonBytes));
  if (keys_at_end != keys_at_start) {
    return Status::FailedPrecondition(
        "the root keys were replaced while the backup was taken (an erasure "
        "or a key rotation); take it again");
  }

  // 9. The manifest, then its signature: with both, the backup is whole.
  std::sort(m.files.begin(), m.files.end(),
            [](const ManifestFile& a, const ManifestFile& b) {
              return a.path < b.path;
            });
  const std::string text = ManifestText(m);
  TILLIT_RETURN_IF_ERROR(
      storage::WriteFileAtomic(out + "/" + kManifestFile, text, 0600, env));
  if (Status s = storage::WriteFileAtomic(
          out + "/" + kSignatureFile, SignManifest(signer, text), 0600, env);
      !s.ok()) {
    // Renamed into place but not made durable: withdrawn, so that a
    // backup reported as failed is never taken for valid.
    (void)env->RemoveFile(out + "/" + kSignatureFile);
    return s;
  }
  report.files = m.files.size();
  report.root_key_version = m.root_key_version;
  Report(options.progress, "done", 1, 1);
  return report;
}

StatusOr<CheckReport> CheckBackup(
    const std::string& dir,
    const std::optional<crypto::Ed25519PublicKey>& expected_signer,
    const ProgressFn& progress) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return Status::NotFound(dir + " is not a directory");
  auto text =
      storage::ReadFileLimited(dir + "/" + kManifestFile, kMaxManifestBytes);
  if (!text.ok()) {
    return Status::DataLoss(
        "no readable manifest.json: not a backup, or one that never "
        "finished");
  }
  auto sig = storage::ReadFileLimited(dir + "/" + kSignatureFile, 4096);
  if (!sig.ok()) {
    return Status::DataLoss(
        "no readable manifest.sig: the backup never finished, or its "
        "signature was removed");
  }
  TILLIT_ASSIGN_OR_RETURN(Manifest m, ParseManifest(*text));
  auto signer_bytes = crypto::Base64Decode(m.signer);
  if (!signer_bytes.ok()) return Status::DataLoss("manifest.json: bad signer");
  auto signer = crypto::Ed25519PublicKeyFromBytes(*signer_bytes);
  if (!signer.ok()) return Status::DataLoss("manifest.json: bad signer");
  if (expected_signer && *expected_signer != *signer) {
    return Status::DataLoss(
        "manifest.json is signed by another key than this vault's");
  }
  if (!ManifestSignatureVerifies(*signer, *text, *sig)) {
    return Status::DataLoss(
        "manifest.sig: the manifest's signature does not verify (the "
        "manifest or its signature was changed)");
  }
  CheckReport report;
  std::set<std::string> listed;
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    Report(progress, "checking", i, m.files.size());
    listed.insert(f.path);
    const std::string path = dir + "/" + f.path;
    if (!fs::is_regular_file(path, ec))
      return Status::DataLoss(f.path + ": missing");
    auto d = DigestFile(path);
    if (!d.ok()) return d.status().WithContext(f.path);
    if (d->size != f.size) {
      return Status::DataLoss(f.path + ": " + std::to_string(d->size) +
                              " bytes where the manifest says " +
                              std::to_string(f.size) +
                              " (truncated or changed)");
    }
    if (d->sha256 != f.sha256) {
      return Status::DataLoss(f.path +
                              ": changed (its SHA-256 is not the manifest's)");
    }
    report.bytes += d->size;
  }
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> present, ListFiles(dir));
  for (const std::string& f : present) {
    if (f == kManifestFile || f == kSignatureFile) continue;
    if (!listed.count(f))
      return Status::DataLoss(f + ": not in the manifest (an extra file)");
  }
  report.manifest = std::move(m);
  return report;
}

namespace {

// Restore's work inside `tmp` (a new directory); the caller removes it on
// error.
StatusOr<RestoreReport> RestoreInto(const RestoreOptions& options,
                                    const CheckReport& checked,
                                    const std::string& tmp) {
  Env* const env = options.env;
  const Manifest& m = checked.manifest;
  RestoreReport report;
  report.manifest = m;
  TILLIT_RETURN_IF_ERROR(env->CreateDirectories(tmp + "/citizens"));
  TILLIT_RETURN_IF_ERROR(env->CreateDirectories(tmp + "/releases"));
  for (size_t i = 0; i < m.files.size(); ++i) {
    const ManifestFile& f = m.files[i];
    Report(options.progress, "restoring", i, m.files.size());
    TILLIT_ASSIGN_OR_RETURN(
        FileDigest d,
        CopyFileDurably(options.from + "/" + f.path, tmp + "/" + f.path, env));
    // Checked again on the way: the backup may change after CheckBackup.
    if (d.size != f.size || d.sha256 != f.sha256)
      return Status::DataLoss(f.path + ": changed while it was restored");
    report.bytes += d.size;
  }
  vault::VaultOptions vo;
  vo.data_dir = tmp;
  vo.passphrase = options.passphrase;
  vo.env = env;
  if (m.key_file.empty()) {
    if (!options.key_path) {
      return Status::FailedPrecondition(
          "the backup holds no root keys: give the key file (--key-file)");
    }
    if (m.key_in_data_dir) {
      // The vault kept its keys beside its data: so does the restored one.
      const std::string name = m.sealed ? "root.sealed" : "root.key";
      TILLIT_RETURN_IF_ERROR(
          CopyFileDurably(*options.key_path, tmp + "/" + name, env).status());
    } else {
      vo.key_path = options.key_path;
    }
  }
  for (const char* sub : {"/citizens", "/releases", ""}) {
    TILLIT_RETURN_IF_ERROR(env->SyncDirectory(tmp + sub));
  }
  auto opened = vault::Vault::Open(vo);
  if (!opened.ok()) {
    const StatusCode code = opened.status().code();
    if (code == StatusCode::kDataLoss || code == StatusCode::kUnauthenticated) {
      return Status::Unauthenticated(
          "the root keys given do not open this backup, taken under root-key "
          "version " +
          std::to_string(m.root_key_version) +
          ": every erasure and key rotation since replaced them (citizens "
          "erased since cannot be brought back with today's keys); give the "
          "key file of the backup's day to restore it as it was (" +
          opened.status().message() + ")");
    }
    return opened.status();
  }
  vault::Vault& v = **opened;
  TILLIT_ASSIGN_OR_RETURN(crypto::SigningKey signer, ManifestSigner(v));
  if (crypto::Base64Encode(signer.public_key()) != m.signer) {
    return Status::DataLoss(
        "manifest.json is signed by another key than this vault's");
  }
  // Every citizen the manifest names, and no other, opens and verifies
  // (opening refuses a store older than the registry's generation).
  TILLIT_ASSIGN_OR_RETURN(std::vector<std::string> ids, v.ListCitizenIds());
  std::set<std::string> registered(ids.begin(), ids.end());
  if (registered.size() != m.citizens.size()) {
    return Status::DataLoss("the registry holds " +
                            std::to_string(registered.size()) +
                            " citizens where the manifest names " +
                            std::to_string(m.citizens.size()));
  }
  for (size_t i = 0; i < m.citizens.size(); ++i) {
    const Manifest::Citizen& c = m.citizens[i];
    Report(options.progress, "verifying citizen stores", i, m.citizens.size());
    if (!registered.count(c.id))
      return Status::DataLoss(c.id + ": in the manifest, not the registry");
    Status s = v.VerifyCitizen(c.id);
    if (!s.ok()) return s.WithContext(c.id);
    ++report.citizens;
  }
  // The audit log verifies, and is the log the backup's checkpoint signed.
  Report(options.progress, "verifying the audit log", 0, 1);
  TILLIT_ASSIGN_OR_RETURN(audit::VerifyReport log,
                          audit::VerifyStoredLog(tmp, v, m.audit_checkpoint));
  if (!log.ok) return Status::DataLoss("audit log: " + log.problem);
  if (log.entries < m.audit_tree_size) {
    return Status::DataLoss("audit log: " + std::to_string(log.entries) +
                            " entries where the manifest says " +
                            std::to_string(m.audit_tree_size));
  }
  report.audit_entries = log.entries;
  if (!options.saved_checkpoint.empty()) {
    TILLIT_ASSIGN_OR_RETURN(
        audit::VerifyReport against,
        audit::VerifyStoredLog(tmp, v, options.saved_checkpoint));
    if (!against.ok) {
      return Status::DataLoss(
          "rollback: this backup's audit log is not the one the saved "
          "checkpoint signed, or is older than it: " +
          against.problem);
    }
  }
  return report;
}

std::string Sibling(const std::string& path, const std::string& what) {
  fs::path p = fs::path(path).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  const std::string name = "." + p.filename().string() + "." + what + "-" +
                           crypto::Random::System().Hex(6);
  return (p.parent_path() / name).string();
}

}  // namespace

StatusOr<RestoreReport> Restore(const RestoreOptions& options) {
  if (options.from.empty() || options.to.empty())
    return Status::InvalidArgument("restore needs a backup and a target");
  std::error_code ec;
  if (fs::exists(options.to, ec) &&
      (!fs::is_directory(options.to, ec) || !fs::is_empty(options.to, ec))) {
    return Status::FailedPrecondition(
        options.to + " is not empty: restore only into a new directory");
  }
  TILLIT_ASSIGN_OR_RETURN(
      CheckReport checked,
      CheckBackup(options.from, std::nullopt, options.progress));
  // Built beside the target and renamed into place once it all verifies.
  const std::string tmp = Sibling(options.to, "restoring");
  auto restored = RestoreInto(options, checked, tmp);
  if (!restored.ok()) {
    fs::remove_all(tmp, ec);
    return restored.status();
  }
  if (fs::exists(options.to, ec)) fs::remove(options.to, ec);  // empty
  Status moved = options.env->RenameNoReplace(tmp, options.to);
  if (!moved.ok()) {
    fs::remove_all(tmp, ec);
    return moved;
  }
  const fs::path parent = fs::absolute(options.to).parent_path();
  if (Status synced = options.env->SyncDirectory(parent.string());
      !synced.ok()) {
    // In place but not durably: taken back, so that a failed restore
    // leaves nothing at the target.
    fs::remove_all(options.to, ec);
    return synced;
  }
  return restored;
}

StatusOr<RestoreReport> VerifyBackup(const RestoreOptions& options) {
  TILLIT_ASSIGN_OR_RETURN(
      CheckReport checked,
      CheckBackup(options.from, std::nullopt, options.progress));
  if (checked.manifest.key_file.empty() && !options.key_path) {
    if (!options.saved_checkpoint.empty()) {
      return Status::FailedPrecondition(
          "checking the audit log against a saved checkpoint needs the root "
          "keys (the key file)");
    }
    RestoreReport report;
    report.manifest = std::move(checked.manifest);
    report.bytes = checked.bytes;
    return report;
  }
  const std::string scratch = Sibling(options.from, "verifying");
  auto result = RestoreInto(options, checked, scratch);
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return result;
}

}  // namespace tillit::backup
