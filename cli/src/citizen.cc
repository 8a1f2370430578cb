// `tillit citizen add|list|verify|erase`.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/api/principals.h"
#include "tillit/api/server.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

using nlohmann::json;

// Removes the citizen's rows from the privacy-budget ledger (what their
// data spent on each study, and the listing of those queries).
Status ForgetInLedger(vault::Vault& vault, const std::string& citizen_id) {
  TILLIT_ASSIGN_OR_RETURN(auto ledger, OpenPrivacyLedger(vault));
  return ledger->ForgetCitizen(citizen_id);
}

}  // namespace

const char kCitizenHelp[] = R"(Usage:
  tillit citizen add [--data DIR] [--json]
  tillit citizen list [--data DIR] [--json]
  tillit citizen verify [--data DIR] [--json] [ID...]
  tillit citizen erase [--data DIR] --yes ID

add     creates an empty citizen and prints its id and a one-time
        enrollment code (valid 72 hours) that the citizen exchanges for a
        token at POST /v1/enroll; --json prints {"citizen_id",
        "enrollment_code", "expires"}.
list    prints each citizen with record counts; --json prints
        [{"citizen_id", "records", "by_category", "by_type"}].
verify  opens each citizen store (key, rollback check) and reads every page
        (per-page HMAC and structure); all citizens when no ID is given.
erase   destroys the citizen's wrapped data key, rotates the root key so
        older copies of the registry cannot unwrap it, deletes the file,
        then removes the citizen's rows from the privacy-budget ledger
        (what their data spent on each study's aggregate queries). In a
        PostgreSQL store (--store) the root key, which every node holds,
        is not rotated: the wrapped key and the rows are deleted.
        Irreversible; --yes is required.
)";

int CmdCitizen(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Flag("yes");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "citizen", s.message());
  if (a.Has("help") || a.positional().empty()) {
    if (!a.Has("help"))
      return Usage(io, "citizen",
                   "name a subcommand: add, list, verify or erase");
    return io.out << kCitizenHelp, kOk;
  }
  const std::string sub = a.positional()[0];
  const std::vector<std::string> ids(a.positional().begin() + 1,
                                     a.positional().end());
  const std::string verb = "citizen " + sub;
  if (sub != "add" && sub != "list" && sub != "verify" && sub != "erase") {
    return Usage(io, "citizen", "unknown subcommand " + sub);
  }
  if ((sub == "add" || sub == "list") && !ids.empty()) {
    return Usage(io, verb, "unexpected argument " + ids[0]);
  }
  if (sub == "erase" && ids.size() != 1)
    return Usage(io, verb, "name exactly one citizen id");
  if (sub == "erase" && !a.Has("yes")) {
    return Usage(io, verb, "erasure is irreversible; add --yes to confirm");
  }
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, verb, setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;

  if (sub == "add") {
    auto created = api::CreateCitizenWithCode(
        vault, api::ServerOptions{}.enrollment_code_ttl);
    if (!created.ok()) return Fail(io, verb, created.status());
    if (Status s = AuditOperator(
            vault, {OperatorEntry("citizen.create", created->citizen_id)});
        !s.ok()) {
      return Fail(io, verb, s);
    }
    if (a.Has("json")) {
      io.out << json{{"citizen_id", created->citizen_id},
                     {"enrollment_code",
                      created->enrollment_code.ExposeSecretText()},
                     {"expires", created->enrollment_code.expires_at}}
                    .dump()
             << "\n";
    } else {
      io.out << created->citizen_id << "\n"
             << "enrollment code (single use, valid 72 hours; the citizen "
                "exchanges it at POST /v1/enroll):\n  "
             << created->enrollment_code.ExposeSecretText() << "\n";
    }
    return kOk;
  }
  if (sub == "list") {
    auto list = vault.ListCitizenIds();
    if (!list.ok()) return Fail(io, verb, list.status());
    json out = json::array();
    for (const std::string& id : *list) {
      auto s = vault.Summarize(id);
      if (!s.ok()) return Fail(io, verb, s.status().WithContext(id));
      if (a.Has("json")) {
        out.push_back({{"citizen_id", id},
                       {"records", s->records},
                       {"by_category", CountsJson(s->by_category)},
                       {"by_type", CountsJson(s->by_type)}});
      } else {
        io.out << id << "  " << s->records << " records";
        for (const auto& [cat, n] : s->by_category)
          io.out << "  " << cat << "=" << n;
        io.out << "\n";
      }
    }
    if (a.Has("json"))
      io.out << out.dump() << "\n";
    else
      io.out << list->size() << " citizen(s)\n";
    return kOk;
  }
  if (sub == "verify") {
    std::vector<std::string> targets = ids;
    if (targets.empty()) {
      auto list = vault.ListCitizenIds();
      if (!list.ok()) return Fail(io, verb, list.status());
      targets = *list;
    }
    json results = json::array();
    int bad = 0;
    Progress progress(io);
    for (size_t i = 0; i < targets.size(); ++i) {
      progress.Show("verifying " + std::to_string(i + 1) + "/" +
                    std::to_string(targets.size()));
      Status s = vault.VerifyCitizen(targets[i]);
      if (!s.ok()) ++bad;
      if (a.Has("json")) {
        json r = {{"citizen_id", targets[i]}, {"ok", s.ok()}};
        if (!s.ok()) r["error"] = s.message();
        results.push_back(r);
      } else if (!s.ok()) {
        progress.Done();
        io.err << targets[i] << ": " << s.message() << "\n";
      }
    }
    progress.Done();
    if (a.Has("json")) {
      io.out << results.dump() << "\n";
    } else {
      io.out << targets.size() - bad << " of " << targets.size()
             << " citizen store(s) verified\n";
    }
    return bad == 0 ? kOk : kFailed;
  }
  // erase: logged first; no log entry, no erasure.
  auto log = OpenAuditLog(vault);
  if (!log.ok()) {
    return Fail(io, verb,
                log.status().WithContext(
                    "cannot open the audit log, so nothing was erased"));
  }
  if (auto logged = (*log)->Append(OperatorEntry("citizen.erase", ids[0]));
      !logged.ok()) {
    return Fail(io, verb,
                logged.status().WithContext(
                    "cannot write the audit log, so nothing was erased"));
  }
  const std::string& id = ids[0];
  Status s = vault.EraseCitizen(id);
  // The citizen's rows in the privacy-budget ledger go with them. An id
  // the vault no longer knows has its rows removed too, so that running
  // erase again finishes an erasure whose ledger step failed.
  Status forgot = Status::Ok();
  if (s.ok() ||
      (s.code() == StatusCode::kNotFound && vault::IsValidId(id, "c_"))) {
    forgot = ForgetInLedger(vault, id);
  }
  if (!s.ok()) {
    if (!forgot.ok()) {
      io.err << "tillit " << verb << ": "
             << forgot.WithContext("the privacy-budget ledger").message()
             << "\n";
    }
    return Fail(io, verb, s);
  }
  const Status note = (*log)->SignedCheckpoint().status();
  if (!forgot.ok()) {
    io.err << "tillit " << verb << ": erased " << id
           << "; root key rotated to version " << vault.root_key_version()
           << " (back up the new key file)\n";
    if (!note.ok())
      io.err << "tillit " << verb << ": " << note.message() << "\n";
    return Fail(io, verb,
                forgot.WithContext(
                    "the privacy-budget ledger still holds their rows; run "
                    "`tillit citizen erase --yes " +
                    id +
                    "` again to remove them (it will then say there is no "
                    "such citizen)"));
  }
  if (!note.ok()) return Fail(io, verb, note);
  if (a.Has("json")) {
    io.out << json{{"erased", id},
                   {"root_key_version", vault.root_key_version()}}
                  .dump()
           << "\n";
  } else {
    io.out << "erased " << id << "; root key rotated to version "
           << vault.root_key_version() << " (back up the new key file)\n";
  }
  return kOk;
}

}  // namespace tillit::cli
