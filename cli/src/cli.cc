// RunCli: the table of verbs (name, handler, help text and the lines it
// adds to `tillit --help`) that both the dispatcher and the top-level help
// read, and the dispatcher itself.
#include "tillit/cli/cli.h"

#include <unistd.h>

#include <iostream>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/base/build_info.h"

namespace tillit::cli {
namespace {

// One line of the verb list in `tillit --help`.
struct VerbLine {
  const char* synopsis;
  const char* summary;
};

struct Verb {
  const char* name;
  int (*run)(int argc, char** argv, Io& io);
  const char* help;             // `tillit VERB --help`, `tillit help VERB`
  std::vector<VerbLine> lines;  // its lines in `tillit --help`
};

// Every verb, in the order of `tillit --help`.
const std::vector<Verb>& Verbs() {
  static const auto* verbs = new std::vector<Verb>{
      {"init",
       CmdInit,
       kInitHelp,
       {{"init", "create a data directory with a new root key"}}},
      {"import",
       CmdImport,
       kImportHelp,
       {{"import FILE|DIR...", "import FHIR R4 bundles, resources or NDJSON"}}},
      {"citizen",
       CmdCitizen,
       kCitizenHelp,
       {{"citizen add", "create an empty citizen"},
        {"citizen list", "list citizens with record counts"},
        {"citizen verify [ID]",
         "read every page of citizen stores (integrity check)"},
        {"citizen erase ID", "crypto-shred a citizen (irreversible)"}}},
      {"audit",
       CmdAudit,
       kAuditHelp,
       {{"audit verify", "check the tamper-evident audit log end to end"},
        {"audit checkpoint", "sign and print the current audit tree head"}}},
      {"keys",
       CmdKeys,
       kKeysHelp,
       {{"keys rotate", "rotate the root key, or one citizen's data key"}}},
      {"backup",
       CmdBackup,
       kBackupHelp,
       {{"backup --out DIR", "take an online, encrypted backup (incremental)"},
        {"backup verify DIR",
         "check a backup: signature, hashes, and with the key every store"}}},
      {"restore",
       CmdRestore,
       kRestoreHelp,
       {{"restore --from DIR", "restore a backup into a new data directory"}}},
      {"migrate",
       CmdMigrate,
       kMigrateHelp,
       {{"migrate --from DIR --to URL",
         "move a data directory's vault into PostgreSQL, verified"}}},
      {"keygen",
       CmdKeygen,
       kKeygenHelp,
       {{"keygen", "make an X25519 key pair for receiving releases"}}},
      {"decrypt",
       CmdDecrypt,
       kDecryptHelp,
       {{"decrypt FILE", "open a research release sealed to your key"}}},
      {"serve",
       CmdServe,
       kServeHelp,
       {{"serve", "serve the HTTP API until SIGTERM or SIGINT"}}},
      {"researcher",
       CmdRegister,
       kResearcherHelp,
       {{"researcher add", "register a researcher and print their token"}}},
      {"provider",
       CmdRegister,
       kProviderHelp,
       {{"provider add", "register a care provider and print their token"}}},
      {"auditor",
       CmdRegister,
       kAuditorHelp,
       {{"auditor add", "register an auditor and print their token"}}},
      {"app",
       CmdApp,
       kAppHelp,
       {{"app add", "register a SMART app (a FHIR client) and print its id"}}},
      {"token",
       CmdToken,
       kTokenHelp,
       {{"token revoke", "revoke a token, or every token of a principal"}}},
      {"study",
       CmdStudy,
       kStudyHelp,
       {{"study budget",
         "show or set the privacy budgets (ε) of aggregate queries"}}},
      {"demo",
       CmdDemo,
       kDemoHelp,
       {{"demo", "build a demo vault of synthetic citizens and serve it"}}},
  };
  return *verbs;
}

const Verb* FindVerb(std::string_view name) {
  for (const Verb& verb : Verbs()) {
    if (name == verb.name) return &verb;
  }
  return nullptr;
}

constexpr const char* kHelpHead =
    R"(tillit — a citizen-controlled health data vault

Usage: tillit <verb> [options]

Verbs:
)";

constexpr const char* kHelpTail = R"(
Common options:
  --data DIR           data directory (default $TILLIT_DATA or ./tillit-data)
  --key-file FILE      root key file (default $TILLIT_KEY_FILE or DIR/root.key)
  --passphrase-stdin   the root key is sealed under a passphrase read from
                       the first line of standard input
  --json               machine-readable output
  --help               help for a verb, e.g. `tillit import --help`
  --version            print the version and the commit it was built from

Exit status: 0 on success, 1 when the operation failed, 2 for bad usage.
)";

// `tillit --help`: every verb's lines, summaries aligned in one column.
std::string MainHelp() {
  constexpr size_t kSummaryColumn = 21;
  std::string text = kHelpHead;
  for (const Verb& verb : Verbs()) {
    for (const VerbLine& line : verb.lines) {
      const std::string synopsis = line.synopsis;
      text += "  " + synopsis;
      text.append(synopsis.size() + 2 <= kSummaryColumn
                      ? kSummaryColumn - synopsis.size()
                      : 2,
                  ' ');
      text += line.summary;
      text += '\n';
    }
  }
  return text + kHelpTail;
}

}  // namespace

int RunCli(int argc, char** argv, std::ostream& out, std::ostream& err,
           std::istream& in) {
  Io io{out, err, in, &err == &std::cerr && ::isatty(STDERR_FILENO) == 1};
  if (argc < 2) {
    err << MainHelp();
    return kUsage;
  }
  const std::string verb = argv[1];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    if (verb == "help" && argc > 2) {
      if (const Verb* v = FindVerb(argv[2])) return out << v->help, kOk;
    }
    return out << MainHelp(), kOk;
  }
  if (verb == "--version" || verb == "version") {
    return out << "tillit " << BuildVersion() << " (" << BuildCommit() << ")\n",
           kOk;
  }
  const Verb* found = FindVerb(verb);
  if (found == nullptr) {
    err << "tillit: unknown verb `" << verb << "`\n\n" << MainHelp();
    return kUsage;
  }
  try {
    return found->run(argc, argv, io);
  } catch (const std::bad_alloc&) {
    err << "tillit " << verb << ": out of memory\n";
    return kFailed;
  } catch (const std::exception&) {
    // Library exception text may quote input; never print it.
    err << "tillit " << verb << ": internal error\n";
    return kFailed;
  }
}

}  // namespace tillit::cli
