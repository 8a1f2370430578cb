// `tillit audit verify|checkpoint|list|public-key`: the audit log of a
// data directory, or (verify --url) of a server.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/audit_remote/remote.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"
#include "tillit/storage/files.h"

namespace tillit::cli {
namespace {

using nlohmann::json;

}  // namespace

const char kAuditHelp[] = R"(Usage:
  tillit audit verify [--data DIR] [--checkpoint FILE] [--json]
  tillit audit verify --url URL --token T [--key VKEY] [--checkpoint FILE] [--json]
  tillit audit checkpoint [--data DIR]
  tillit audit list [--data DIR] [--citizen ID] [--actor ID] [--limit N] [--json]
  tillit audit public-key [--data DIR]

verify      recomputes the Merkle tree (RFC 6962) from every stored entry,
            checks that indexes are contiguous and every leaf hash, every
            stored checkpoint's Ed25519 signature, its root, and the
            consistency proof between successive checkpoints. With
            --checkpoint FILE it also checks the log against a signed note
            saved earlier (a fork or rollback fails). With --url it fetches
            the entries, the latest checkpoint and the key from a server
            (--key pins the verifier key, as printed by `audit public-key`)
            and checks the same. Exit 0 only when all holds; otherwise
            prints the first bad index.
checkpoint  signs the current tree head and prints the C2SP signed note
            (save it to verify against later).
list        entries, newest first, optionally about one citizen or actor.
public-key  the checkpoint verifier key (C2SP note format).
)";

int CmdAudit(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a)
      .Option("checkpoint")
      .Option("citizen")
      .Option("actor")
      .Option("limit")
      .Option("url")
      .Option("token")
      .Option("key");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "audit", s.message());
  if (a.Has("help")) return io.out << kAuditHelp, kOk;
  if (a.positional().size() != 1) {
    return Usage(io, "audit",
                 "name a subcommand: verify, checkpoint, list or public-key");
  }
  const std::string sub = a.positional()[0];
  const std::string verb = "audit " + sub;
  if (sub != "verify" && sub != "checkpoint" && sub != "list" &&
      sub != "public-key") {
    return Usage(io, "audit", "unknown subcommand " + sub);
  }
  size_t limit = 100;
  if (auto l = a.Get("limit")) {
    if (l->empty() || l->size() > 4 ||
        l->find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(*l) < 1 || std::stoul(*l) > 1000) {
      return Usage(io, verb, "--limit takes a number from 1 to 1000");
    }
    limit = std::stoul(*l);
  }
  std::string external;
  if (auto f = a.Get("checkpoint")) {
    auto text = storage::ReadFileLimited(*f, 64 * 1024);
    if (!text.ok()) return Fail(io, verb, text.status());
    external = *text;
  }
  StatusOr<std::unique_ptr<vault::Vault>> v =
      Status::NotFound("no vault opened");
  std::optional<VaultSetup> setup;
  const bool remote = a.Get("url").has_value();
  if (remote && sub != "verify")
    return Usage(io, verb, "--url is for `audit verify` only");
  if (remote && !a.Get("token")) return Usage(io, verb, "--url needs --token");
  if (!remote) {
    auto s = MakeSetup(a, io);
    if (!s.ok()) return Fail(io, verb, s.status());
    setup = std::move(s).value();
    v = OpenVault(*setup);
    if (!v.ok()) return Fail(io, verb, v.status());
  }
  if (sub == "verify") {
    StatusOr<audit::VerifyReport> report = Status::Internal("not run");
    if (remote) {
      audit::RemoteVerifyOptions o;
      o.url = *a.Get("url");
      o.token = *a.Get("token");
      o.pinned_key = a.Get("key").value_or("");
      o.saved_note = external;
      report = audit::VerifyRemoteLog(o);
    } else {
      pgstore::PgVaultStore* const shared = PgStoreOf(**v);
      report = shared != nullptr
                   ? shared->VerifyAuditLog(**v, external)
                   : audit::VerifyStoredLog((*v)->data_dir(), **v, external);
    }
    if (!report.ok()) return Fail(io, verb, report.status());
    if (a.Has("json")) {
      json j = {{"ok", report->ok},
                {"entries", report->entries},
                {"checkpoints", report->checkpoints}};
      if (report->first_bad_index)
        j["first_bad_index"] = *report->first_bad_index;
      if (!report->ok) j["problem"] = report->problem;
      io.out << j.dump() << "\n";
    } else if (report->ok) {
      io.out << "audit log verified: " << report->entries << " entries, "
             << report->checkpoints
             << " signed checkpoint(s), every signature and "
             << "consistency proof holds\n";
    } else {
      io.out << "audit log does NOT verify: first bad index "
             << *report->first_bad_index << ": " << report->problem << "\n";
    }
    return report->ok ? kOk : kFailed;
  }
  auto log = OpenAuditLog(**v);
  if (!log.ok()) return Fail(io, verb, log.status());
  if (sub == "checkpoint") {
    auto note = (*log)->SignedCheckpoint();
    if (!note.ok()) return Fail(io, verb, note.status());
    io.out << *note;
    return kOk;
  }
  if (sub == "public-key") {
    io.out << (*log)->verifier_key() << "\n";
    return kOk;
  }
  audit::ListQuery q;
  q.citizen_id = a.Get("citizen").value_or("");
  q.actor_id = a.Get("actor").value_or("");
  q.limit = limit;
  auto entries = (*log)->List(q);
  if (!entries.ok()) return Fail(io, verb, entries.status());
  json out = json::array();
  for (const auto& e : *entries) {
    json j = json::parse(e.canonical);
    j["index"] = e.index;
    if (a.Has("json")) {
      out.push_back(j);
    } else {
      io.out << e.index << "  " << e.entry.time << "  " << e.entry.actor_kind
             << ":" << e.entry.actor_id << "  " << e.entry.action << "  "
             << e.entry.citizen_id << "\n";
    }
  }
  if (a.Has("json")) io.out << out.dump() << "\n";
  return kOk;
}

}  // namespace tillit::cli
