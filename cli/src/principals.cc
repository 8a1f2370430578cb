// `tillit researcher|provider|auditor add` and `tillit token revoke`: the
// principals who call the HTTP API, and their tokens.
#include "tillit/api/principals.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/common.h"
#include "src/verbs.h"
#include "tillit/api/server.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/random.h"
#include "tillit/storage/files.h"

namespace tillit::cli {
namespace {

using nlohmann::json;

constexpr size_t kMaxTokenLine = 1024;

}  // namespace

const char kResearcherHelp[] =
    R"(Usage: tillit researcher add --name NAME --organization ORG
                             --org-type TYPE --country CC
                             --public-key FILE.pub [--data DIR] [--json]

Registers a researcher and prints their id and a token (valid 365 days,
shown only now). TYPE is academic, non-profit, public or commercial; CC an
ISO 3166-1 alpha-2 code such as SE; FILE.pub the researcher's X25519
public key as written by `tillit keygen` (research releases are sealed to
it). --json prints {"researcher_id", "token", "expires"}.
)";

const char kProviderHelp[] =
    R"(Usage: tillit provider add --name NAME [--organization ORG]
                           [--data DIR] [--json]

Registers a care provider and prints their id and a token (valid 365 days,
shown only now). --json prints {"provider_id", "token", "expires"}.
)";

const char kAuditorHelp[] =
    R"(Usage: tillit auditor add --name NAME [--organization ORG]
                          [--data DIR] [--json]

Registers an auditor (reads the audit log over HTTP) and prints their id
and a token (valid 365 days, shown only now). --json prints
{"auditor_id", "token", "expires"}.
)";

const char kAppHelp[] =
    R"(Usage: tillit app add --name NAME --redirect-uri URI [--redirect-uri URI]...
                     [--data DIR] [--json]

Registers a SMART app (a public client: no secret; it proves itself with
PKCE S256) and prints its client id. Each --redirect-uri is an https URL,
or an http URL on a loopback host (127.0.0.1, [::1], localhost); an app
may have up to 10, and /fhir/authorize accepts only these, exactly.
Citizens then authorise the app in the web app (docs/FHIR.md). Takes
effect at once, also for a server running on the same data.
--json prints {"client_id", "name", "redirect_uris"}.
)";

const char kTokenHelp[] =
    R"(Usage:
  tillit token revoke --stdin [--data DIR] [--json]
  tillit token revoke --principal ID [--data DIR] [--json]

--stdin         revokes the token read from the first line of standard
                input (a token is never an argument: it would be kept in
                shell history and shown by ps). With --passphrase-stdin the
                passphrase is the first line and the token the second.
--principal ID  revokes every live token of c_..., p_..., r_..., a_... or
                operator, and prints how many.

Takes effect at once, also for a server running on the same data.
Exit status 1 for a token that was never issued or is already revoked.
--json prints {"revoked": N}.
)";

// ------------------------------------------------------- principals

// `tillit researcher|provider|auditor add`: the same validation as the
// admin routes (api/principals.h), then an operator audit entry.
int CmdRegister(int argc, char** argv, Io& io) {
  const std::string kind = argv[1];
  const bool researcher = kind == "researcher";
  Args a;
  CommonOptions(a).Option("name").Option("organization");
  if (researcher) a.Option("org-type").Option("country").Option("public-key");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, kind, s.message());
  if (a.Has("help")) {
    io.out << (researcher           ? kResearcherHelp
               : kind == "provider" ? kProviderHelp
                                    : kAuditorHelp);
    return kOk;
  }
  if (a.positional().empty() || a.positional()[0] != "add")
    return Usage(io, kind, "the only subcommand is `add`");
  const std::string verb = kind + " add";
  if (a.positional().size() > 1)
    return Usage(io, verb, "unexpected argument " + a.positional()[1]);
  std::vector<std::string> required = {"name"};
  if (researcher) {
    required.insert(required.end(),
                    {"organization", "org-type", "country", "public-key"});
  }
  for (const std::string& r : required) {
    if (!a.Get(r)) return Usage(io, verb, "--" + r + " is required");
  }
  json body = {{"name", *a.Get("name")}};
  if (auto org = a.Get("organization")) body["organization"] = *org;
  if (researcher) {
    body["org_type"] = *a.Get("org-type");
    body["country"] = *a.Get("country");
    auto key = storage::ReadFileLimited(*a.Get("public-key"), 4096);
    if (!key.ok())
      return Fail(io, verb, key.status().WithContext("public_key"));
    std::string line = *key;
    while (!line.empty() &&
           std::isspace(static_cast<unsigned char>(line.back())))
      line.pop_back();
    body["public_key"] = line;
  }
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, verb, setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;
  const int64_t ttl = api::ServerOptions{}.principal_token_ttl;
  crypto::Random& rng = crypto::Random::System();
  StatusOr<api::Registration> reg = Status::Internal("not registered");
  const std::string text = body.dump();
  if (researcher) {
    consent::ConsentService consents(&vault, &Clock::System(), &rng);
    reg = api::RegisterResearcher(vault, consents, rng, text, ttl);
  } else if (kind == "provider") {
    reg = api::RegisterProvider(vault, rng, text, ttl);
  } else {
    reg = api::RegisterAuditor(vault, rng, text, ttl);
  }
  if (!reg.ok()) return Fail(io, verb, reg.status());
  if (Status s = AuditOperator(vault, {OperatorEntry(kind + ".register", "")});
      !s.ok()) {
    // Not announced, not usable: the token never leaves this process.
    (void)vault.RevokeToken(reg->token.ExposeSecretText());
    return Fail(io, verb, s);
  }
  if (a.Has("json")) {
    io.out << json{{kind + "_id", reg->id},
                   {"token", reg->token.ExposeSecretText()},
                   {"expires", reg->token.expires_at}}
                  .dump()
           << "\n";
  } else {
    io.out << kind << " " << reg->id << " registered\n"
           << "token (valid 365 days, shown only this once):\n  "
           << reg->token.ExposeSecretText() << "\n";
  }
  return kOk;
}

// ----------------------------------------------------------------- app

int CmdApp(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Option("name").Option("redirect-uri");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "app", s.message());
  if (a.Has("help")) return io.out << kAppHelp, kOk;
  if (a.positional().empty() || a.positional()[0] != "add")
    return Usage(io, "app", "the only subcommand is `add`");
  const std::string verb = "app add";
  if (a.positional().size() > 1)
    return Usage(io, verb, "unexpected argument " + a.positional()[1]);
  if (!a.Get("name")) return Usage(io, verb, "--name is required");
  const std::vector<std::string> uris = a.GetAll("redirect-uri");
  if (uris.empty()) return Usage(io, verb, "--redirect-uri is required");
  auto setup = MakeSetup(a, io);
  if (!setup.ok()) return Fail(io, verb, setup.status());
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;
  auto app = api::RegisterApp(vault, crypto::Random::System(), *a.Get("name"),
                              uris, Clock::System().NowSeconds());
  if (!app.ok()) return Fail(io, verb, app.status());
  if (Status s = AuditOperator(vault, {OperatorEntry("app.register", "")});
      !s.ok())
    return Fail(io, verb, s);
  if (a.Has("json")) {
    io.out << json{{"client_id", app->client_id},
                   {"name", app->name},
                   {"redirect_uris", app->redirect_uris}}
                  .dump()
           << "\n";
  } else {
    io.out << "app " << app->client_id << " registered (client_id)\n";
  }
  return kOk;
}

// --------------------------------------------------------------- token

int CmdToken(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a).Flag("stdin").Option("principal");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "token", s.message());
  if (a.Has("help")) return io.out << kTokenHelp, kOk;
  if (a.positional().size() != 1 || a.positional()[0] != "revoke")
    return Usage(io, "token", "the only subcommand is `revoke`");
  const std::string verb = "token revoke";
  const auto principal = a.Get("principal");
  if (a.Has("stdin") == principal.has_value())
    return Usage(io, verb, "give exactly one of --stdin and --principal ID");
  if (principal && *principal != "operator" &&
      !vault::IsValidId(*principal, "c_") &&
      !vault::IsValidId(*principal, "p_") &&
      !vault::IsValidId(*principal, "r_") &&
      !vault::IsValidId(*principal, "a_")) {
    return Usage(io, verb,
                 "--principal takes an id (c_..., p_..., r_..., a_...) or "
                 "operator");
  }
  auto setup = MakeSetup(a, io);  // the passphrase, if any, comes first
  if (!setup.ok()) return Fail(io, verb, setup.status());
  std::string token;
  if (a.Has("stdin")) {
    for (;;) {
      const int c = io.in.get();
      if (c == EOF || c == '\n') break;
      if (token.size() == kMaxTokenLine)
        return Fail(io, verb, Status::NotFound("no such token"));
      token += static_cast<char>(c);
    }
    while (!token.empty() &&
           std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    while (!token.empty() &&
           std::isspace(static_cast<unsigned char>(token.front())))
      token.erase(0, 1);
    if (token.empty()) {
      return Fail(io, verb,
                  Status::InvalidArgument("no token on standard input"));
    }
  }
  auto v = OpenVault(*setup);
  if (!v.ok()) return Fail(io, verb, v.status());
  vault::Vault& vault = **v;
  int64_t revoked = 0;
  std::string citizen;
  if (principal) {
    auto n = vault.RevokePrincipalTokens(*principal);
    if (!n.ok()) return Fail(io, verb, n.status());
    revoked = *n;
    if (principal->rfind("c_", 0) == 0) citizen = *principal;
  } else {
    // Whose token it was, while it is still live (for the citizen's own
    // access log).
    if (auto info = vault.VerifyToken(token);
        info.ok() && info->principal.rfind("c_", 0) == 0) {
      citizen = info->principal;
    }
    Status s = vault.RevokeToken(token);
    if (s.code() == StatusCode::kNotFound)
      return Fail(io, verb, Status::NotFound("no such token"));
    if (s.code() == StatusCode::kFailedPrecondition) {
      return Fail(io, verb,
                  Status::FailedPrecondition("the token is already revoked"));
    }
    if (!s.ok()) return Fail(io, verb, s);
    revoked = 1;
  }
  if (revoked > 0) {
    if (Status s =
            AuditOperator(vault, {OperatorEntry("token.revoke", citizen)});
        !s.ok()) {
      io.err << "tillit " << verb << ": revoked " << revoked
             << " token(s), but the audit log could not be written\n";
      return Fail(io, verb, s);
    }
  }
  if (a.Has("json")) {
    io.out << json{{"revoked", revoked}}.dump() << "\n";
  } else {
    io.out << "revoked " << revoked << " token(s)\n";
  }
  return kOk;
}

}  // namespace tillit::cli
