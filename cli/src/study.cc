// `tillit study budget`: the privacy budgets of differentially private
// aggregate queries (SPEC §5 item 5), kept in the vault's privacy ledger
// (research/privacy_ledger.h): a study's total ε, and the default cap on
// what one study may spend of one citizen's data.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/base/clock.h"
#include "tillit/consent/epsilon.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/random.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

using nlohmann::json;
using research::FormatEpsilon;

constexpr char kCapFlag[] = "default-citizen-cap";

// A JSON object of `fields` in the order given; each value is JSON text
// already. ε values go in as FormatEpsilon's exact decimal (a JSON
// number), which a double printer would not keep ("1e-06").
std::string JsonObject(
    const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out = "{";
  for (const auto& [key, value] : fields) {
    if (out.size() > 1) out += ',';
    out += json(key).dump() + ':' + value;
  }
  return out + "}";
}

void PrintBudget(Io& io, bool as_json, const research::StudyBudget& b) {
  if (as_json) {
    io.out << JsonObject({{"study_id", json(b.study_id).dump()},
                          {"total", FormatEpsilon(b.total)},
                          {"spent", FormatEpsilon(b.spent)},
                          {"remaining", FormatEpsilon(b.remaining())}})
           << "\n";
  } else {
    io.out << b.study_id << ": privacy budget ε " << FormatEpsilon(b.total)
           << ", spent ε " << FormatEpsilon(b.spent) << ", remaining ε "
           << FormatEpsilon(b.remaining()) << "\n";
  }
}

void PrintNoBudget(Io& io, bool as_json, const std::string& study_id) {
  if (as_json) {
    io.out << JsonObject({{"study_id", json(study_id).dump()},
                          {"total", "null"},
                          {"spent", "0"},
                          {"remaining", "0"}})
           << "\n";
  } else {
    io.out << study_id
           << ": no privacy budget set: aggregate queries are refused until "
              "one is\n";
  }
}

void PrintCap(Io& io, bool as_json, int64_t cap) {
  if (as_json) {
    io.out << JsonObject({{"default_citizen_cap", FormatEpsilon(cap)}}) << "\n";
  } else {
    io.out << "default per-citizen cap: ε " << FormatEpsilon(cap)
           << " per study (for citizens whose grants name no "
              "privacy_budget)\n";
  }
}

// Writes `entry` to the audit log, then makes `change`, then signs a
// checkpoint: if the entry cannot be written, nothing changes.
Status AuditedChange(vault::Vault& vault, const audit::AuditEntry& entry,
                     const std::function<Status()>& change) {
  auto log = OpenAuditLog(vault);
  if (!log.ok()) {
    return log.status().WithContext(
        "cannot open the audit log, so nothing was changed");
  }
  if (auto logged = (*log)->Append(entry); !logged.ok()) {
    return logged.status().WithContext(
        "cannot write the audit log, so nothing was changed");
  }
  TILLIT_RETURN_IF_ERROR(change());
  return (*log)->SignedCheckpoint().status();
}

// `--default-citizen-cap=E` as `--default-citizen-cap E`: the flag's value
// is optional, which Args has no form for, so it is taken as a positional
// argument.
std::vector<std::string> SplitCapValue(int argc, char** argv) {
  std::vector<std::string> words(argv, argv + argc);
  const std::string prefix = std::string("--") + kCapFlag + "=";
  for (size_t i = 2; i < words.size() && words[i] != "--"; ++i) {
    if (words[i].rfind(prefix, 0) != 0) continue;
    std::string value = words[i].substr(prefix.size());
    words[i] = std::string("--") + kCapFlag;
    words.insert(words.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                 std::move(value));
    ++i;
  }
  return words;
}

}  // namespace

const char kStudyHelp[] = R"(Usage:
  tillit study budget [--data DIR] [--json] STUDY_ID [--epsilon E]
  tillit study budget [--data DIR] [--json] --default-citizen-cap [E]

Privacy budgets of differentially private aggregate queries
(POST /v1/studies/{id}/aggregates). E is ε as a plain decimal from 0 to
100 with at most 6 decimals, such as 0.5; budgets are kept exactly, in
millionths of ε.

STUDY_ID --epsilon E     sets the study's total ε. Every aggregate query
                         spends its ε from it; when too little remains, the
                         query is refused. The total cannot be set below
                         what the study has already spent.
STUDY_ID                 prints the study's total, spent and remaining ε.
                         A study without a budget answers no aggregate
                         query.
--default-citizen-cap E  sets how much ε one study may spend, over its
                         lifetime, of the data of a citizen whose grant
                         names no privacy_budget (ε 1 until set). A citizen
                         whose cap is spent is left out of the study's
                         further answers.
--default-citizen-cap    prints it.

Each change is written to the audit log first (study.budget,
privacy.default-cap); if it cannot be, nothing changes. --json prints
{"study_id", "total", "spent", "remaining"} (ε as numbers; "total" is null
when no budget is set) or {"default_citizen_cap"}.
)";

int CmdStudy(int argc, char** argv, Io& io) {
  std::vector<std::string> words = SplitCapValue(argc, argv);
  std::vector<char*> word_ptrs;
  for (std::string& w : words) word_ptrs.push_back(w.data());
  Args a;
  CommonOptions(a).Option("epsilon").Flag(kCapFlag);
  if (Status s =
          a.Parse(static_cast<int>(word_ptrs.size()), word_ptrs.data(), 2);
      !s.ok()) {
    return Usage(io, "study", s.message());
  }
  if (a.Has("help")) return io.out << kStudyHelp, kOk;
  if (a.positional().empty())
    return Usage(io, "study", "name a subcommand: budget");
  if (a.positional()[0] != "budget")
    return Usage(io, "study", "unknown subcommand " + a.positional()[0]);
  const std::string verb = "study budget";
  const std::vector<std::string> rest(a.positional().begin() + 1,
                                      a.positional().end());
  const bool cap = a.Has(kCapFlag);
  const bool as_json = a.Has("json");

  // What to set, if anything, and for which study: all checked before the
  // vault is opened.
  std::optional<std::string> epsilon_text;
  std::string epsilon_origin;
  std::string study_id;
  if (cap) {
    if (a.Get("epsilon")) {
      return Usage(io, verb,
                   "--default-citizen-cap takes its ε itself: "
                   "--default-citizen-cap E");
    }
    if (!rest.empty() && rest[0].rfind("s_", 0) == 0)
      return Usage(io, verb, "--default-citizen-cap names no study");
    if (rest.size() > 1)
      return Usage(io, verb, "unexpected argument " + rest[1]);
    if (!rest.empty()) epsilon_text = rest[0];
    epsilon_origin = std::string("--") + kCapFlag;
  } else {
    if (rest.empty()) {
      return Usage(io, verb,
                   "name a study id (s_...), or give --default-citizen-cap");
    }
    if (rest.size() > 1)
      return Usage(io, verb, "unexpected argument " + rest[1]);
    study_id = rest[0];
    if (!vault::IsValidId(study_id, "s_")) {
      return Usage(io, verb,
                   "`" + study_id +
                       "` is not a study id (s_ and 32 hexadecimal digits)");
    }
    epsilon_text = a.Get("epsilon");
    epsilon_origin = a.Origin("epsilon");
  }
  std::optional<int64_t> epsilon;
  if (epsilon_text) {
    auto parsed = consent::ParseEpsilon(*epsilon_text);
    if (!parsed.ok())
      return Usage(io, verb, epsilon_origin + ": " + parsed.status().message());
    epsilon = *parsed;
  }

  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, verb, setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;
  if (!cap) {
    consent::ConsentService consents(&vault, &Clock::System(),
                                     &crypto::Random::System());
    if (auto study = consents.GetStudy(study_id); !study.ok()) {
      return Fail(io, verb,
                  study.status().code() == StatusCode::kNotFound
                      ? Status::NotFound("no such study " + study_id)
                      : study.status());
    }
  }
  auto opened = OpenPrivacyLedger(vault);
  if (!opened.ok()) {
    return Fail(io, verb,
                opened.status().WithContext("cannot open the privacy ledger"));
  }
  research::PrivacyLedger& ledger = **opened;

  if (cap) {
    if (epsilon) {
      if (Status s = AuditedChange(
              vault, OperatorEntry("privacy.default-cap", ""),
              [&] { return ledger.SetDefaultCitizenCap(*epsilon); });
          !s.ok()) {
        return Fail(io, verb, s);
      }
    }
    auto current = ledger.DefaultCitizenCap();
    if (!current.ok()) return Fail(io, verb, current.status());
    PrintCap(io, as_json, *current);
    return kOk;
  }

  auto budget = ledger.GetStudyBudget(study_id);
  const bool none = budget.status().code() == StatusCode::kNotFound;
  if (!budget.ok() && !none) return Fail(io, verb, budget.status());
  if (!epsilon) {
    if (none) {
      PrintNoBudget(io, as_json, study_id);
    } else {
      PrintBudget(io, as_json, *budget);
    }
    return kOk;
  }
  // Checked here as well as by the ledger, so that the usual refusal
  // leaves no audit entry for a change that did not happen.
  if (!none && *epsilon < budget->spent) {
    return Fail(io, verb,
                Status::FailedPrecondition(
                    "study " + study_id + " has already spent ε " +
                    FormatEpsilon(budget->spent) +
                    "; its total cannot be set below that"));
  }
  audit::AuditEntry entry = OperatorEntry("study.budget", "");
  entry.study_id = study_id;
  if (Status s = AuditedChange(
          vault, entry,
          [&] { return ledger.SetStudyBudget(study_id, *epsilon); });
      !s.ok()) {
    return Fail(io, verb, s);
  }
  auto after = ledger.GetStudyBudget(study_id);
  if (!after.ok()) return Fail(io, verb, after.status());
  PrintBudget(io, as_json, *after);
  return kOk;
}

}  // namespace tillit::cli
