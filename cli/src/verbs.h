// The verbs of `tillit`: one handler and one help text per verb.
//
// A handler takes the whole argv (argv[1] is the verb), writes to the
// streams of `io` and returns an exit status (common.h). The dispatch table
// in cli.cc maps verb names to handlers and help texts; a help text is what
// `tillit VERB --help` prints.
//
// Thread-safety: one verb runs at a time per process (see cli.h).
#ifndef TILLIT_CLI_SRC_VERBS_H_
#define TILLIT_CLI_SRC_VERBS_H_

#include "src/common.h"

namespace tillit::cli {

// init.cc
int CmdInit(int argc, char** argv, Io& io);
extern const char kInitHelp[];

// import.cc
int CmdImport(int argc, char** argv, Io& io);
extern const char kImportHelp[];

// citizen.cc: citizen add|list|verify|erase
int CmdCitizen(int argc, char** argv, Io& io);
extern const char kCitizenHelp[];

// principals.cc: researcher|provider|auditor add (argv[1] says which), and
// token revoke.
int CmdRegister(int argc, char** argv, Io& io);
int CmdToken(int argc, char** argv, Io& io);
int CmdApp(int argc, char** argv, Io& io);
extern const char kAppHelp[];
extern const char kResearcherHelp[];
extern const char kProviderHelp[];
extern const char kAuditorHelp[];
extern const char kTokenHelp[];

// study.cc: study budget (privacy budgets of aggregate queries)
int CmdStudy(int argc, char** argv, Io& io);
extern const char kStudyHelp[];

// keys.cc: keys rotate, keygen, decrypt
int CmdKeys(int argc, char** argv, Io& io);
int CmdKeygen(int argc, char** argv, Io& io);
int CmdDecrypt(int argc, char** argv, Io& io);
extern const char kKeysHelp[];
extern const char kKeygenHelp[];
extern const char kDecryptHelp[];

// backup.cc: backup, backup verify, restore
int CmdMigrate(int argc, char** argv, Io& io);
extern const char kMigrateHelp[];

int CmdBackup(int argc, char** argv, Io& io);
int CmdRestore(int argc, char** argv, Io& io);
extern const char kBackupHelp[];
extern const char kRestoreHelp[];

// audit.cc: audit verify|checkpoint|list|public-key
int CmdAudit(int argc, char** argv, Io& io);
extern const char kAuditHelp[];

// serve.cc
int CmdServe(int argc, char** argv, Io& io);
extern const char kServeHelp[];

// demo.cc
int CmdDemo(int argc, char** argv, Io& io);
extern const char kDemoHelp[];

}  // namespace tillit::cli

#endif  // TILLIT_CLI_SRC_VERBS_H_
