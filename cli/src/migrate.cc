// `tillit migrate --from DIR --to URL`: a data directory's vault moved into
// PostgreSQL under the same keys, verified, and only then made a vault
// there (the header written last).
#include <filesystem>
#include <optional>
#include <string>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/audit/stored_log.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

using nlohmann::json;

std::string Line(const vault::Vault::CopyProgress& p) {
  return std::string(p.stage) + ": " + std::to_string(p.done) + " of " +
         std::to_string(p.total);
}

}  // namespace

const char kMigrateHelp[] =
    R"(Usage: tillit migrate --from DIR --to URL [--key-file FILE]
                      [--passphrase-stdin] [--json]

Moves the vault of the data directory DIR into PostgreSQL (URL: a
postgresql:// URL as `--store` takes it, its password in a password file,
never in the URL). Everything moves under the same keys: the citizens with
their wrapped data keys, every record with its earlier versions, grants,
restrictions and every other document, the directory of researchers,
providers and studies, the tokens (they stay valid), the audit log entry
for entry with its signed checkpoints (the tree keeps its root hash, so
proofs handed out before still verify), and the privacy ledger.

Steps, each shown on a terminal: the registry, the citizens' stores, the
audit log, the ledger; then a verify step reads both back and compares
them; then the vault's header is written. Only then is there a vault in
the database: all or nothing. An interrupted or failed run leaves none
(`tillit init --store` refuses its rows, and nodes find no vault), and
running it again discards what it left and starts over. A database that
already holds a vault is refused, unchanged. The move itself writes
nothing to DIR, but opening DIR finishes an interrupted erasure or key
rotation as every verb does: stop every `tillit serve` on DIR first (the
verify step catches a change made meanwhile to a store, the registry, the
ledger or the audit log's length, but nothing locks DIR).

Afterwards each node runs `tillit serve --store URL` with a copy, made
after the move, of the root key file (DIR/root.key, or --key-file FILE;
for a sealed vault the sealed file, with the passphrase); DIR itself is no
longer used. Research release files stay in DIR (fetch them before you retire
it); erasure no longer rotates the root keys (README, "Several nodes on one
PostgreSQL").

--json prints {"citizens", "audit_entries", "checkpoints",
"ledger_queries", "discarded_rows", "verified": true}.
Exit status 1 when the move is refused or fails (the message says why).
)";

int CmdMigrate(int argc, char** argv, Io& io) {
  Args a;
  a.Option("from")
      .Option("to")
      .Option("key-file")
      .Flag("passphrase-stdin")
      .Flag("json")
      .Flag("help");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "migrate", s.message());
  if (a.Has("help")) return io.out << kMigrateHelp, kOk;
  if (!a.positional().empty())
    return Usage(io, "migrate", "unexpected argument " + a.positional()[0]);
  const std::optional<std::string> from = a.Get("from");
  const std::optional<std::string> to = a.Get("to");
  if (!from || from->empty())
    return Usage(io, "migrate", "--from DIR (the data directory) is required");
  if (!to || to->empty())
    return Usage(io, "migrate", "--to URL (the PostgreSQL store) is required");
  auto conninfo = StoreConnInfo(*to);
  if (!conninfo.ok())
    return Fail(io, "migrate", conninfo.status().WithContext("--to"));

  auto setup = MakeDirectorySetup(a, io, *from);
  if (!setup.ok()) return Fail(io, "migrate", setup.status());
  auto opened = OpenVault(*setup);
  if (!opened.ok()) return Fail(io, "migrate", opened.status());
  vault::Vault& vault = **opened;
  auto header = vault.DataDirHeader();
  if (!header.ok()) return Fail(io, "migrate", header.status());

  auto store_or = pgstore::PgVaultStore::Open(*conninfo);
  if (!store_or.ok())
    return Fail(io, "migrate", store_or.status().WithContext("the store"));
  pgstore::PgVaultStore& store = **store_or;
  auto existing = store.ReadHeader();
  if (existing.ok()) {
    return Fail(io, "migrate",
                Status::AlreadyExists(
                    "the store already holds a vault; migrate moves a data "
                    "directory into a database that holds none"));
  }
  if (existing.status().code() != StatusCode::kNotFound)
    return Fail(io, "migrate", existing.status().WithContext("the store"));
  auto discarded = store.DiscardUnfinished();
  if (!discarded.ok()) return Fail(io, "migrate", discarded.status());

  // A log that does not verify is not moved: the copy would carry the
  // damage under a new name.
  auto source_log = audit::VerifyStoredLog(*from, vault);
  if (!source_log.ok())
    return Fail(io, "migrate", source_log.status().WithContext("audit log"));
  if (!source_log->ok) {
    return Fail(io, "migrate",
                Status::DataLoss("the data directory's audit log does not "
                                 "verify: " +
                                 source_log->problem));
  }

  Progress progress(io);
  auto show = [&](const vault::Vault::CopyProgress& p) {
    progress.Show(Line(p));
  };
  auto fail = [&](const Status& s) {
    progress.Done();
    return Fail(io, "migrate", s);
  };
  if (Status s = vault.CopyIntoShared(store, show); !s.ok()) return fail(s);

  // The audit log, entry for entry, and its checkpoints.
  auto from_log = audit::OpenStoredLogStorage(*from, vault);
  if (!from_log.ok()) return fail(from_log.status().WithContext("audit log"));
  auto to_log = store.OpenAuditStorage(vault);
  if (!to_log.ok()) return fail(to_log.status());
  const uint64_t entries = source_log->entries;
  auto copied = audit::CopyLogRows(**from_log, **to_log, [&](uint64_t n) {
    show({"audit log", n, entries});
  });
  if (!copied.ok()) return fail(copied.status().WithContext("audit log"));
  auto latest = audit::LatestCheckpoint(**from_log);
  if (!latest.ok()) return fail(latest.status());
  to_log->reset();

  // The privacy ledger, when the data directory has one (opening it would
  // create it): both handles stay open for the verify step.
  std::unique_ptr<research::PrivacyLedger> source_ledger;
  std::unique_ptr<research::PrivacyLedger> ledger;
  size_t queries = 0;
  std::error_code ec;
  const bool has_ledger = std::filesystem::exists(*from + "/privacy.db", ec);
  if (ec) {
    return fail(
        Status::IoError("privacy ledger: " + *from +
                        "/privacy.db cannot be looked at: " + ec.message()));
  }
  if (has_ledger) {
    show({"privacy ledger", 0, 1});
    auto source =
        research::PrivacyLedger::OpenInDirectory(*from, vault, FileEnv());
    if (!source.ok()) return fail(source.status());
    auto rows = (*source)->ExportRows();
    if (!rows.ok()) return fail(rows.status().WithContext("privacy ledger"));
    auto target = store.OpenPrivacyLedger(vault);
    if (!target.ok()) return fail(target.status());
    if (Status s = (*target)->ImportRows(*rows); !s.ok())
      return fail(s.WithContext("privacy ledger"));
    queries = rows->queries.size();
    source_ledger = std::move(source).value();
    ledger = std::move(target).value();
    show({"privacy ledger", 1, 1});
  }

  // Verify: both read back and compared; the log checked as a whole and
  // against the data directory's last checkpoint.
  if (Status s = vault.VerifySharedCopy(store, show); !s.ok()) return fail(s);
  show({"verify audit log", 0, entries});
  auto report = store.VerifyAuditLog(vault, latest->value_or(""));
  if (!report.ok()) return fail(report.status().WithContext("audit log"));
  if (!report->ok || report->entries != entries) {
    return fail(
        Status::DataLoss("the copy of the audit log does not verify: " +
                         (report->ok ? std::string("another number of entries")
                                     : report->problem)));
  }
  if (ledger) {
    // The data directory's ledger read again: a charge made during the
    // run shows as a difference.
    auto ours = source_ledger->ExportRows();
    if (!ours.ok()) return fail(ours.status().WithContext("privacy ledger"));
    auto theirs = ledger->ExportRows();
    if (!theirs.ok())
      return fail(theirs.status().WithContext("privacy ledger"));
    if (*ours != *theirs) {
      return fail(Status::DataLoss(
          "the copy of the privacy ledger differs from the data "
          "directory's (was a server running on it?)"));
    }
  }
  // And its audit log: an entry appended during the run shows too (a leaf
  // where the copied log ends).
  std::vector<audit::Hash> later;
  if (Status s = (*from_log)->ReadLeaves(entries, entries + 1, &later);
      !s.ok()) {
    return fail(s.WithContext("audit log"));
  }
  if (!later.empty()) {
    return fail(Status::DataLoss(
        "the data directory's audit log grew during the migration (was a "
        "server running on it?); stop it and run the migration again"));
  }

  // Last: the header makes it a vault.
  if (Status s = store.CreateMigratedHeader(*header); !s.ok()) return fail(s);
  progress.Done();

  auto citizens = vault.ListCitizenIds();
  const size_t citizen_count = citizens.ok() ? citizens->size() : 0;
  if (a.Has("json")) {
    io.out << json{{"citizens", citizen_count},
                   {"audit_entries", *copied},
                   {"checkpoints", report->checkpoints},
                   {"ledger_queries", queries},
                   {"discarded_rows", *discarded},
                   {"verified", true}}
                  .dump()
           << "\n";
    return kOk;
  }
  if (*discarded > 0) {
    io.out << "discarded " << *discarded
           << " rows an unfinished migration had left\n";
  }
  io.out << "moved " << citizen_count << " citizens, " << *copied
         << " audit entries and " << queries
         << " aggregate queries into the store, and verified them\n"
         << "start each node with --store and a copy of the root key file; "
         << *from << " is no longer used\n";
  return kOk;
}

}  // namespace tillit::cli
