// `tillit backup`, `tillit backup verify` and `tillit restore`: backups of
// a data directory (tillit/backup/backup.h does the work).
#include "tillit/backup/backup.h"

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/storage/files.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr size_t kMaxCheckpointBytes = 64 * 1024;

// "12.3 MB" (millions of bytes).
std::string Megabytes(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return buf;
}

// "3 citizens", "1 citizen"; `plural` when it is not `noun` + "s".
std::string Count(uint64_t n, const std::string& noun,
                  const std::string& plural = "") {
  if (n == 1) return "1 " + noun;
  return std::to_string(n) + " " + (plural.empty() ? noun + "s" : plural);
}

// "2026-03-01 14:05:09 UTC".
std::string UtcTime(int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char buf[32];
  if (gmtime_r(&t, &tm) == nullptr ||
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
    return std::to_string(unix_seconds) + " (Unix time)";
  }
  return buf;
}

// `path` made absolute, as `tillit init --json` prints its data directory.
std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

// Shows the library's reports on the terminal as "WHAT DONE/TOTAL"; none
// when standard error is not a terminal. `progress` must outlive the
// returned function's calls.
backup::ProgressFn ProgressLine(Io& io, Progress& progress) {
  if (!io.terminal) return nullptr;
  return [&progress](const std::string& what, size_t done, size_t total) {
    progress.Show(what + " " + std::to_string(done) + "/" +
                  std::to_string(total));
  };
}

// The signed note of --checkpoint FILE, or "" without it.
StatusOr<std::string> SavedCheckpoint(const Args& a) {
  const auto path = a.Get("checkpoint");
  if (!path) return std::string();
  auto text = storage::ReadFileLimited(*path, kMaxCheckpointBytes);
  if (!text.ok()) return text.status().WithContext("--checkpoint " + *path);
  return text;
}

// The restore options of the command line. The root keys come only from
// --key-file or $TILLIT_KEY_FILE, never from a default path. REQUIRES:
// `setup` outlives the options (they point to its passphrase).
backup::RestoreOptions RestoreOptionsOf(const VaultSetup& setup,
                                        const std::string& from,
                                        const std::string& saved_checkpoint) {
  backup::RestoreOptions o;
  o.from = from;
  o.key_path = setup.options.key_path;
  o.passphrase = setup.passphrase ? &*setup.passphrase : nullptr;
  o.saved_checkpoint = saved_checkpoint;
  o.env = FileEnv();
  return o;
}

// `tillit backup verify BACKUP_DIR`: `a` is parsed, a.positional()[0] is
// "verify".
int VerifyVerb(const Args& a, Io& io) {
  const std::string verb = "backup verify";
  if (a.positional().size() < 2)
    return Usage(io, verb, "name the backup directory to verify");
  if (a.positional().size() > 2)
    return Usage(io, verb, "unexpected argument " + a.positional()[2]);
  for (const char* other : {"out", "include-key-file", "data"}) {
    if (a.Has(other)) {
      return Usage(io, verb,
                   std::string("--") + other +
                       " is not an option of `backup verify`, which reads "
                       "only the backup");
    }
  }
  const bool as_json = a.Has("json");
  auto fail = [&](const Status& s) {
    if (as_json)
      io.out << json{{"ok", false}, {"problem", s.message()}}.dump() << "\n";
    return Fail(io, verb, s);
  };
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return fail(setup.status());
  auto saved = SavedCheckpoint(a);
  if (!saved.ok()) return fail(saved.status());
  backup::RestoreOptions o =
      RestoreOptionsOf(*setup, a.positional()[1], *saved);
  Progress progress(io);
  o.progress = ProgressLine(io, progress);
  auto report = backup::VerifyBackup(o);
  progress.Done();
  if (!report.ok()) {
    if (report.status().code() == StatusCode::kFailedPrecondition &&
        !o.key_path && !saved->empty()) {
      // Checking the log against the saved checkpoint takes the keys.
      return fail(Status::FailedPrecondition(
          "the backup holds no root keys, so its audit log cannot be "
          "checked against --checkpoint: give the key file of the backup's "
          "day (--key-file)"));
    }
    return fail(report.status());
  }
  const backup::Manifest& m = report->manifest;
  const bool keys_used = o.key_path.has_value() || !m.key_file.empty();
  // Without keys, the counts are those the signed manifest lists.
  const uint64_t citizens = keys_used ? report->citizens : m.citizens.size();
  const uint64_t entries =
      keys_used ? report->audit_entries : m.audit_tree_size;
  if (as_json) {
    io.out << json{{"ok", true},
                   {"files", m.files.size()},
                   {"bytes", report->bytes},
                   {"keys_used", keys_used},
                   {"citizens", citizens},
                   {"audit_entries", entries},
                   {"root_key_version", m.root_key_version},
                   {"created", m.created}}
                  .dump()
           << "\n";
  } else if (keys_used) {
    io.out << "backup verified: " << Count(m.files.size(), "file") << ", "
           << Megabytes(report->bytes)
           << ", every hash and the signature hold; "
           << Count(citizens, "citizen store")
           << (citizens == 1 ? " opens and verifies" : " open and verify")
           << "; audit log of " << Count(entries, "entry", "entries")
           << " verifies\n";
  } else {
    io.out << "backup checked without keys: " << Count(m.files.size(), "file")
           << ", " << Megabytes(report->bytes)
           << ", every hash and the signature hold (give --key-file to open "
              "the stores and verify the audit log)\n";
  }
  return kOk;
}

}  // namespace

const char kBackupHelp[] = R"(Usage:
  tillit backup [--data DIR] --out BACKUP_DIR [--include-key-file] [--json]
  tillit backup verify BACKUP_DIR [--key-file FILE] [--passphrase-stdin]
                [--checkpoint FILE] [--json]

backup  copies the data directory DIR into BACKUP_DIR (created when
        missing), opening the vault as the other verbs do (--key-file,
        --passphrase-stdin). It works online, beside a running `tillit
        serve`: each database is copied as one consistent snapshot while
        the server goes on writing. The backup is encrypted exactly as the
        data is (nothing is decrypted on the way) and holds no root keys
        unless --include-key-file is given; with it the backup alone opens
        everything, so keep it as safe as the key file. Without it, keep a
        copy of today's key file (root.key, or root.sealed of a passphrase
        vault) apart from the backup: a restore needs it. A signed manifest
        lists every file with its size and SHA-256, each citizen's
        generation, the root-key version and a signed checkpoint of the
        audit log.
        Taken again into the same BACKUP_DIR it is incremental: citizen
        stores that did not change and releases already there are kept,
        the rest is copied, and the files of citizens erased since are
        removed. The old manifest is withdrawn first, so a backup stopped
        half way is never taken for a valid one.
        --json prints {"files", "copied", "skipped", "bytes",
        "bytes_copied", "citizens", "audit_entries", "root_key_version",
        "key_included", "out"} (skipped: kept from the previous backup).
verify  checks the manifest's signature, every file's size and SHA-256,
        and that no file is missing or extra. With the root keys
        (--key-file FILE or $TILLIT_KEY_FILE, with --passphrase-stdin for a
        sealed file, or the keys the backup includes) it also restores the
        backup into a scratch directory beside it, opens and verifies every
        citizen store and the audit log, then removes the scratch
        directory; the live vault is not touched.
        --checkpoint FILE: a signed checkpoint saved earlier (`tillit audit
        checkpoint > FILE`); a backup whose audit log is older than it is
        refused as a rollback (this needs the root keys).
        --json prints {"ok": true, "files", "bytes", "keys_used",
        "citizens", "audit_entries", "root_key_version", "created"}
        (created: Unix seconds; without keys, the citizens and audit
        entries the signed manifest lists), or {"ok": false, "problem"}.

Every erasure (`tillit citizen erase`, DELETE /v1/me) and `tillit keys
rotate` replaces the root keys: an older backup opens only with the key file
of its day, and today's key file opens nothing in it (crypto-shredding
covers backups). See docs/OPERATIONS.md, Backups, for how long to keep old
key files. Exit status 1 when the backup cannot be taken or does not
verify (the message names the first bad file).
)";

const char kRestoreHelp[] =
    R"(Usage: tillit restore --from BACKUP_DIR --data NEWDIR [--key-file FILE]
                      [--passphrase-stdin] [--checkpoint FILE] [--json]

Restores a backup made by `tillit backup` into NEWDIR, a new data
directory. NEWDIR must be missing or empty (anything else is refused) and
--data is required: $TILLIT_DATA and ./tillit-data are not used.
Everything is verified before the data appears at NEWDIR: the manifest's
signature, every file's size and SHA-256, nothing missing or extra; then
the directory is rebuilt beside NEWDIR, opened with the root keys, every
citizen store and the audit log are verified (the log no older than the
backup's checkpoint), and only then is it renamed to NEWDIR. On any error
nothing is left at NEWDIR.

The root keys are those the backup includes (`backup --include-key-file`),
else --key-file FILE or $TILLIT_KEY_FILE: the key file, or the sealed file
with --passphrase-stdin, of the day the backup was taken. When the vault
kept its keys in its data directory, that file is copied into NEWDIR too.
After an erasure or `tillit keys rotate` an older backup needs the key file
of its day: today's key file opens nothing in it (crypto-shredding covers
backups), and a citizen erased since comes back only with that old file.

--checkpoint FILE  a signed checkpoint saved earlier (`tillit audit
                   checkpoint > FILE`): a backup whose audit log is older
                   than it is refused as a rollback.
--json prints {"citizens", "audit_entries", "bytes", "data_dir",
"root_key_version", "created"} (created: the backup's time, Unix seconds).
Exit status 1 when the backup is refused (the message says why).
)";

int CmdBackup(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("out").Flag("include-key-file").Option("checkpoint");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "backup", s.message());
  if (a.Has("help")) return io.out << kBackupHelp, kOk;
  if (!a.positional().empty() && a.positional()[0] == "verify")
    return VerifyVerb(a, io);
  if (!a.positional().empty())
    return Usage(io, "backup", "unexpected argument " + a.positional()[0]);
  if (a.Has("checkpoint")) {
    return Usage(io, "backup",
                 "--checkpoint is an option of `backup verify` and `restore`");
  }
  const auto out = a.Get("out");
  if (!out || out->empty())
    return Usage(io, "backup", "--out BACKUP_DIR is required");
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "backup", setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, "backup", v.status());
  backup::BackupOptions o;
  o.out_dir = *out;
  o.include_key_file = a.Has("include-key-file");
  o.env = FileEnv();
  Progress progress(io);
  o.progress = ProgressLine(io, progress);
  auto report = backup::TakeBackup(**v, o);
  progress.Done();
  if (!report.ok()) return Fail(io, "backup", report.status());
  if (a.Has("json")) {
    io.out << json{{"files", report->files},
                   {"copied", report->copied},
                   {"skipped", report->skipped},
                   {"bytes", report->bytes},
                   {"bytes_copied", report->bytes_copied},
                   {"citizens", report->citizens},
                   {"audit_entries", report->audit_entries},
                   {"root_key_version", report->root_key_version},
                   {"key_included", report->key_included},
                   {"out", AbsolutePath(*out)}}
                  .dump()
           << "\n";
    return kOk;
  }
  io.out << "backed up " << Count(report->citizens, "citizen") << " and "
         << Count(report->audit_entries, "audit entry", "audit entries")
         << " into " << *out << ": " << Count(report->files, "file") << ", "
         << Megabytes(report->bytes) << "; copied " << report->copied << " ("
         << Megabytes(report->bytes_copied) << "), kept " << report->skipped
         << " from the previous backup; root-key version "
         << report->root_key_version << "; "
         << (report->key_included
                 ? "root keys included: this backup alone opens everything, "
                   "keep it as safe as the key file\n"
                 : "no root keys in it: keep a copy of today's key file "
                   "apart, a restore needs it\n");
  return kOk;
}

int CmdRestore(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("from").Option("checkpoint");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "restore", s.message());
  if (a.Has("help")) return io.out << kRestoreHelp, kOk;
  if (!a.positional().empty())
    return Usage(io, "restore", "unexpected argument " + a.positional()[0]);
  const auto from = a.Get("from");
  if (!from || from->empty())
    return Usage(io, "restore", "--from BACKUP_DIR is required");
  // Never a default: restoring is only ever into the directory named.
  const auto to = a.Get("data");
  if (!to || to->empty()) {
    return Usage(io, "restore",
                 "--data NEWDIR is required (the new data directory; "
                 "$TILLIT_DATA is not used)");
  }
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, "restore", setup.status());
  auto saved = SavedCheckpoint(a);
  if (!saved.ok()) return Fail(io, "restore", saved.status());
  backup::RestoreOptions o = RestoreOptionsOf(*setup, *from, *saved);
  o.to = *to;
  Progress progress(io);
  o.progress = ProgressLine(io, progress);
  auto report = backup::Restore(o);
  progress.Done();
  if (!report.ok()) return Fail(io, "restore", report.status());
  const backup::Manifest& m = report->manifest;
  if (a.Has("json")) {
    io.out << json{{"citizens", report->citizens},
                   {"audit_entries", report->audit_entries},
                   {"bytes", report->bytes},
                   {"data_dir", AbsolutePath(*to)},
                   {"root_key_version", m.root_key_version},
                   {"created", m.created}}
                  .dump()
           << "\n";
    return kOk;
  }
  io.out << "restored " << Count(report->citizens, "citizen") << ", "
         << Count(report->audit_entries, "audit entry", "audit entries") << ", "
         << Megabytes(report->bytes) << " into " << *to << " (backup of "
         << UtcTime(m.created) << ", root-key version " << m.root_key_version
         << ")\n";
  if (m.key_file.empty() && !m.key_in_data_dir) {
    io.out << "its root keys stay outside it: open it with --key-file "
           << o.key_path.value_or("FILE") << "\n";
  }
  return kOk;
}

}  // namespace tillit::cli
