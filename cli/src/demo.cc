// `tillit demo`: a demo vault of generated synthetic citizens with consent,
// a researcher and study, a provider and an auditor, fresh tokens, and
// (unless --no-serve) the HTTP API with lines to paste and try.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/common.h"
#include "src/keys.h"
#include "src/serve.h"
#include "src/verbs.h"
#include "tillit/api/principals.h"
#include "tillit/api/server.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/random.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/pgstore/pg_vault_store.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A word bash reads back unchanged: as is when it is plain, otherwise in
// single quotes.
std::string ShellQuote(std::string_view word) {
  if (!word.empty() &&
      word.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                             "_-./:=@%+,") == std::string_view::npos) {
    return std::string(word);
  }
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

constexpr int64_t kDemoTokenTtl = 7LL * 24 * 3600;
constexpr const char* kDemoProvider = "Demo Hospital";
constexpr const char* kDemoAuditor = "Demo Auditor";

struct DemoConsent {
  std::string researcher_id;
  std::string study_id;
  // Set when the researcher was registered in this run.
  std::optional<vault::IssuedToken> researcher_token;
  int grants_added = 0;
  int opted_out = 0;
  consent::Feasibility cohort;
};

// The demo's researcher (with a real X25519 key pair written to
// KEY_PREFIX.key and .pub) and study, made once, and consent decisions for
// the citizens created in this run: most grant research use of their vital
// signs and lab results, some only to this study, some grant their care
// providers, and one in ten opts out of research. What it does is added to
// `audit`.
StatusOr<DemoConsent> SetUpDemoConsent(
    vault::Vault& vault, consent::ConsentService& consents,
    const std::string& key_prefix,
    const std::vector<std::pair<uint64_t, std::string>>& new_citizens,
    std::vector<audit::AuditEntry>* audit) {
  DemoConsent out;
  TILLIT_ASSIGN_OR_RETURN(auto studies, consents.ListStudies());
  if (studies.empty()) {
    crypto::Random& rng = crypto::Random::System();
    TILLIT_ASSIGN_OR_RETURN(std::string public_key,
                            MakeKeyPairFiles(key_prefix, /*replace=*/true));
    const json body = {{"name", "Demo Researcher"},
                       {"organization", "Karolinska Institutet"},
                       {"org_type", "academic"},
                       {"country", "SE"},
                       {"public_key", public_key}};
    TILLIT_ASSIGN_OR_RETURN(
        api::Registration researcher,
        api::RegisterResearcher(vault, consents, rng, body.dump(),
                                kDemoTokenTtl));
    out.researcher_token = std::move(researcher.token);
    audit->push_back(OperatorEntry("researcher.register", ""));
    TILLIT_ASSIGN_OR_RETURN(
        consent::StudyDefinition study,
        consent::ParseStudyDefinition(
            R"({"title": "Blood pressure and HbA1c in primary care",
                "purpose": "DUO:0000006",
                "categories": ["vital-signs", "lab-results"],
                "data_period": {"start": "2015-01-01", "end": null},
                "ethics_approval": "EPM 2026-01234",
                "obligations": ["DUO:0000019"]})"));
    study.study.researcher_id = researcher.id;
    TILLIT_ASSIGN_OR_RETURN(auto stored,
                            consents.RegisterStudy(std::move(study)));
    audit::AuditEntry e = OperatorEntry("study.create", "");
    e.study_id = stored.study.id;
    audit->push_back(e);
    studies.push_back(std::move(stored));
  }
  out.study_id = studies.front().study.id;
  out.researcher_id = studies.front().study.researcher_id;
  for (const auto& [index, citizen] : new_citizens) {
    std::string grant;
    switch (index % 4) {
      case 0:
      case 1:
        grant = R"({"grantee": {"kind": "any-researcher"},
                    "purposes": ["DUO:0000006"],
                    "conditions": [{"code": "DUO:0000046"},
                                   {"code": "DUO:0000022", "countries": ["SE", "NO", "FI", "DK"]}],
                    "categories": ["vital-signs", "lab-results", "patient-summary"],
                    "data_period": {"start": "2015-01-01", "end": null},
                    "expires": null})";
        break;
      case 2:
        grant =
            R"({"grantee": {"kind": "study", "id": ")" + out.study_id + R"("},
                    "purposes": ["DUO:0000042"],
                    "categories": ["vital-signs", "lab-results"],
                    "expires": null})";
        break;
      default:
        grant = R"({"grantee": {"kind": "any-provider"},
                    "purposes": ["DUO:0000043"],
                    "categories": ["patient-summary", "prescriptions", "lab-results",
                                   "vital-signs", "encounters"],
                    "expires": null})";
        break;
    }
    TILLIT_ASSIGN_OR_RETURN(consent::Grant added,
                            consents.AddGrant(citizen, grant));
    audit::AuditEntry e = OperatorEntry("consent.grant", citizen);
    e.grant_ids = {added.id};
    audit->push_back(e);
    ++out.grants_added;
    if (index % 10 == 9) {
      TILLIT_RETURN_IF_ERROR(consents.SetResearchOptOut(citizen, true));
      audit->push_back(OperatorEntry("research-opt-out.update", citizen));
      ++out.opted_out;
    }
  }
  TILLIT_ASSIGN_OR_RETURN(out.cohort, consents.CountCohort(out.study_id));
  return out;
}

// The demo study's total privacy budget for aggregate queries, set once
// (as an operator does with `tillit study budget`).
constexpr int64_t kDemoStudyBudget = 3'000'000;  // ε 3

Status DemoPrivacyBudget(vault::Vault& vault, const std::string& study_id,
                         std::vector<audit::AuditEntry>* audit) {
  TILLIT_ASSIGN_OR_RETURN(std::unique_ptr<research::PrivacyLedger> ledger,
                          OpenPrivacyLedger(vault));
  StatusOr<research::StudyBudget> budget = ledger->GetStudyBudget(study_id);
  if (budget.ok()) return Status::Ok();
  if (budget.status().code() != StatusCode::kNotFound) return budget.status();
  TILLIT_RETURN_IF_ERROR(ledger->SetStudyBudget(study_id, kDemoStudyBudget));
  audit::AuditEntry e = OperatorEntry("study.budget", "");
  e.study_id = study_id;
  audit->push_back(e);
  return Status::Ok();
}

// A citizen with an active any-provider grant (so that the provider's curl
// line returns records): one given such a grant in this run, else the
// first in the vault that has one, else the first citizen.
StatusOr<std::string> DemoCitizen(
    vault::Vault& vault, consent::ConsentService& consents,
    const std::vector<std::pair<uint64_t, std::string>>& new_citizens) {
  for (const auto& [index, citizen] : new_citizens) {
    if (index % 4 == 3) return citizen;
  }
  TILLIT_ASSIGN_OR_RETURN(auto ids, vault.ListCitizenIds());
  if (ids.empty()) return Status::NotFound("the demo vault has no citizens");
  for (const std::string& id : ids) {
    TILLIT_ASSIGN_OR_RETURN(auto grants, consents.ListGrants(id));
    for (const consent::Grant& g : grants) {
      if (g.grantee.kind == consent::Grantee::Kind::kAnyProvider &&
          g.status == consent::Grant::Status::kActive && !g.revoked_at) {
        return id;
      }
    }
  }
  return ids.front();
}

// The id of the directory entry of `kind` named `name`, if any.
StatusOr<std::optional<std::string>> FindByName(vault::Vault& vault,
                                                std::string_view kind,
                                                const std::string& name) {
  TILLIT_ASSIGN_OR_RETURN(auto entries, vault.ListDirectory(kind));
  for (const auto& [id, value] : entries) {
    json j = json::parse(value, nullptr, false);
    if (j.is_object() && j.value("name", "") == name)
      return std::optional<std::string>(id);
  }
  return std::optional<std::string>();
}

struct DemoPrincipal {
  std::string id;
  vault::IssuedToken token;
};

// The demo's provider or auditor: registered on the first run, a fresh
// token on later ones.
StatusOr<DemoPrincipal> DemoRegistrant(vault::Vault& vault,
                                       std::string_view kind,
                                       const std::string& name,
                                       const std::string& organization,
                                       std::vector<audit::AuditEntry>* audit) {
  TILLIT_ASSIGN_OR_RETURN(auto existing, FindByName(vault, kind, name));
  if (existing) {
    TILLIT_ASSIGN_OR_RETURN(vault::IssuedToken token,
                            vault.IssueToken(kind, *existing, kDemoTokenTtl));
    return DemoPrincipal{*existing, std::move(token)};
  }
  const std::string body =
      json{{"name", name}, {"organization", organization}}.dump();
  crypto::Random& rng = crypto::Random::System();
  TILLIT_ASSIGN_OR_RETURN(
      api::Registration r,
      kind == "provider"
          ? api::RegisterProvider(vault, rng, body, kDemoTokenTtl)
          : api::RegisterAuditor(vault, rng, body, kDemoTokenTtl));
  audit->push_back(OperatorEntry(std::string(kind) + ".register", ""));
  return DemoPrincipal{r.id, std::move(r.token)};
}

// The `curl` lines (and an audit verification) to paste into bash.
json DemoTryLines(const std::string& url, const std::string& tillit,
                  const std::map<std::string, DemoPrincipal>& p,
                  const std::string& study_id) {
  auto get = [&](const std::string& who, const std::string& path) {
    std::string line = "curl -sS";
    if (!who.empty()) {
      std::string header = "Authorization: Bearer ";
      header += p.at(who).token.ExposeSecretText();
      line += " -H " + ShellQuote(header);
    }
    return line + " " + ShellQuote(url + path);
  };
  auto post = [&](const std::string& who, const std::string& path,
                  const std::string& body) {
    std::string header = "Authorization: Bearer ";
    header += p.at(who).token.ExposeSecretText();
    return "curl -sS -H " + ShellQuote(header) +
           " -H 'Content-Type: application/json' -d " + ShellQuote(body) + " " +
           ShellQuote(url + path);
  };
  json curl = json::array(
      {get("", "/healthz"), get("citizen", "/v1/me/records?limit=2"),
       get("provider",
           "/v1/patients/" + p.at("citizen").id + "/records?limit=2"),
       get("researcher", "/v1/studies/" + study_id + "/feasibility"),
       post("researcher", "/v1/studies/" + study_id + "/aggregates",
            R"({"query":"latest_value","epsilon":0.5,)"
            R"("code":"http://loinc.org|4548-4","bins":[5.7,6.5]})"),
       get("citizen", "/v1/me/privacy-budget"),
       get("auditor", "/v1/audit/entries?limit=5"),
       get("auditor", "/v1/audit/checkpoint")});
  return {{"curl", curl},
          {"verify", ShellQuote(tillit) + " audit verify --url " +
                         ShellQuote(url) + " --token " +
                         ShellQuote(p.at("auditor").token.ExposeSecretText())}};
}

// Three bash lines: make a release of the demo study, download it, open it
// with the demo researcher's key.
json DemoReleaseLines(const std::string& url, const std::string& tillit,
                      const std::string& dir, std::string_view token,
                      const std::string& study_id) {
  std::string header = "Authorization: Bearer ";
  header += token;
  const std::string auth = ShellQuote(header);
  const std::string releases = url + "/v1/studies/" + study_id + "/releases";
  const std::string file = dir + "/release.tillit";
  return json::array(
      {"rid=$(curl -sS -H " + auth +
           " -H 'Content-Type: application/json' -d '{}' " +
           ShellQuote(releases) +
           R"sh( | sed -n 's/.*"id":"\(rel_[0-9a-f]*\)".*/\1/p'))sh",
       "curl -sS -H " + auth + " -o " + ShellQuote(file) + " " +
           ShellQuote(releases + "/") + "\"$rid\"",
       ShellQuote(tillit) + " decrypt --key " +
           ShellQuote(dir + "/demo-researcher.key") + " --out " +
           ShellQuote(dir + "/release-") + "\"$rid\" " + ShellQuote(file)});
}

// Lines that pair a phone with the reference citizen app of the mobile
// bridge (mobile-bridge/examples), record a reading offline, sync it and
// verify the access log. The app is looked for beside the build's `tillit`
// (build/cli/tillit → build/mobile-bridge/tillit-app). Each run gets a
// phone state directory of its own (a phone pairs once), beside one shared
// stand-in for the platform keychain.
json DemoPhoneLines(const std::string& url, const std::string& tillit,
                    const std::string& dir, std::string_view code) {
  std::string app = "tillit-app";
  if (tillit.find('/') != std::string::npos) {
    const fs::path beside = fs::path(tillit).parent_path().parent_path() /
                            "mobile-bridge" / "tillit-app";
    if (fs::exists(beside)) app = beside.string();
  }
  const std::string run =
      ShellQuote(app) + " --url " + ShellQuote(url) + " --state " +
      ShellQuote(dir + "/phone-" + crypto::Random::System().Hex(4)) +
      " --keys " + ShellQuote(dir + "/phone-keychain");
  return json::array(
      {run + " pair " + ShellQuote(code) + " 'Demo phone'",
       run + " queue " +
           ShellQuote(R"({"resourceType":"Observation","status":"final",)"
                      R"("code":{"coding":[{"system":"http://loinc.org",)"
                      R"("code":"8867-4","display":"Heart rate"}]},)"
                      R"("effectiveDateTime":"2026-11-23T08:00:00Z",)"
                      R"("valueQuantity":{"value":62,"unit":"/min"}})"),
       run + " sync", run + " log --verify"});
}

}  // namespace

const char kDemoHelp[] =
    R"(Usage: tillit demo [--data DIR] [--citizens N] [--seed S]
                   [--listen HOST:PORT] [--no-serve] [--quiet] [--json]

Builds a demo vault in DIR (default ./tillit-demo) from N generated
synthetic citizens (default 20, at most 5000) with seed S (default 2026),
registers a demo researcher (with an X25519 key pair written to
DIR/demo-researcher.key and .pub, for `tillit decrypt`; demo keys only),
a study, a provider ("Demo Hospital") and an auditor, records consent
decisions for the new citizens (research grants, study grants, provider
grants, some research opt-outs), and prints what was stored and the
study's cohort size from the consent index. Creates the vault when it does
not exist; running it again re-imports the same data, which changes
nothing.

Every run issues fresh tokens, valid 7 days and shown only then: admin,
one citizen (among those who granted any provider), provider, researcher
and auditor. Then, unless --no-serve, it serves the HTTP API like
`tillit serve` on --listen (default 127.0.0.1:8080; port 0 = any free
port), with the demo hospital answering citizens' requests to correct
imported records (serve's --rectification-provider), and prints the URL;
the citizen web app's URL (URL/app/) with a
one-time code, valid 7 days, that pairs a browser with the citizen;
`curl` lines to try; three bash lines that make a research release of the
study, download it and open it with `tillit decrypt` and the demo key;
and four that pair a phone with the mobile bridge's reference app
(build/mobile-bridge/tillit-app) using another one-time enrollment code
for the citizen, queue a reading, sync it and verify the access log. It
serves until SIGTERM or Ctrl-C. --quiet logs only errors; --listen and
--quiet are for serving and are refused with --no-serve. --json prints
one object with "url", "app" ({"url", "pairing_code"}), "tokens", the
ids, "curl", "release", "enrollment_code", "phone" and what was stored,
then serves.
)";

int CmdDemo(int argc, char** argv, Io& io) {
  Args a;
  CommonOptions(a)
      .Option("citizens")
      .Option("seed")
      .Option("listen")
      .Flag("no-serve")
      .Flag("quiet");
  if (Status s = a.Parse(argc, argv, 2); !s.ok())
    return Usage(io, "demo", s.message());
  if (a.Has("help")) return io.out << kDemoHelp, kOk;
  if (!a.positional().empty())
    return Usage(io, "demo", "unexpected argument " + a.positional()[0]);
  auto count = ParseNumber(a.Get("citizens"), 20, 1, 5000);
  if (!count)
    return Usage(io, "demo", "--citizens takes a number from 1 to 5000");
  auto seed = ParseNumber(a.Get("seed"), 2026, 0, UINT64_MAX);
  if (!seed) return Usage(io, "demo", "--seed takes a non-negative number");
  const bool serve = !a.Has("no-serve");
  if (!serve && (a.Get("listen") || a.Has("quiet")))
    return Usage(io, "demo",
                 "--listen and --quiet are for serving; drop "
                 "--no-serve");
  api::ServerOptions server_options;
  if (Status s = ServerFlags(a, "127.0.0.1:8080", &server_options); !s.ok())
    return Usage(io, "demo", s.message());
  server_options.log = &io.err;
  server_options.access_log = !a.Has("quiet");
  std::string tillit = "tillit";
  if (std::string_view(argv[0]).find('/') != std::string_view::npos)
    tillit = fs::absolute(argv[0]).lexically_normal().string();

  auto setup = MakeSetup(a, io, "./tillit-demo");
  if (!setup.ok()) return Fail(io, "demo", setup.status());
  setup->options.passphrase = setup->passphrase ? &*setup->passphrase : nullptr;
  std::unique_ptr<vault::Vault> vault;
  {
    auto opened = vault::Vault::Open(setup->options);
    if (opened.ok()) {
      vault = std::move(opened).value();
    } else if (opened.status().code() == StatusCode::kNotFound) {
      auto created = vault::Vault::Init(setup->options);
      if (!created.ok()) return Fail(io, "demo", created.status());
      if (Status s = StartAuditLog(*created->vault); !s.ok())
        return Fail(io, "demo", s);
      vault = std::move(created->vault);
      // Never shown (the demo prints a 7-day admin token instead), so it
      // must not stay valid.
      if (Status s =
              vault->RevokeToken(created->admin_token.ExposeSecretText());
          !s.ok())
        return Fail(io, "demo", s);
    } else {
      return Fail(io, "demo", opened.status());
    }
  }
  const std::string dir =
      fs::absolute(setup->options.data_dir).lexically_normal().string();
  Progress progress(io);
  size_t resources = 0, bytes = 0, written = 0;
  std::map<std::string, size_t> by_type;
  std::vector<audit::AuditEntry> audit;
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::pair<uint64_t, std::string>> new_citizens;
  for (uint64_t i = 0; i < *count; ++i) {
    const std::string bundle = fhir::GenerateSyntheticBundle(*seed, i);
    auto outcome = vault->Import(bundle, vault::ImportFormat::kJson);
    if (!outcome.ok()) return Fail(io, "demo", outcome.status());
    if (outcome->created) new_citizens.emplace_back(i, outcome->citizen_id);
    if (outcome->written > 0)
      audit.push_back(OperatorEntry("records.import", outcome->citizen_id));
    resources += outcome->imported;
    written += outcome->written;
    bytes += bundle.size();
    for (const auto& [t, n] : outcome->by_type) by_type[t] += n;
    progress.Show("generating and importing citizen " + std::to_string(i + 1) +
                  "/" + std::to_string(*count));
  }
  progress.Done();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started)
          .count();

  // Consent, principals and fresh tokens. Tokens issued in this run are
  // revoked again if the run fails before printing them.
  std::map<std::string, DemoPrincipal> principals;
  // One-time codes that pair a phone and a browser with the citizen.
  std::optional<vault::IssuedToken> phone_code, browser_code;
  auto fail = [&](const Status& s) {
    for (const auto& [role, p] : principals) {
      (void)vault->RevokeToken(p.token.ExposeSecretText());
    }
    for (const auto* code : {&phone_code, &browser_code}) {
      if (*code) (void)vault->RevokeToken((*code)->ExposeSecretText());
    }
    return Fail(io, "demo", s);
  };
  consent::ConsentService consents(vault.get(), &Clock::System(),
                                   &crypto::Random::System());
  const std::string key_prefix = dir + "/demo-researcher";
  auto demo =
      SetUpDemoConsent(*vault, consents, key_prefix, new_citizens, &audit);
  if (!demo.ok()) return Fail(io, "demo", demo.status());
  if (Status s = DemoPrivacyBudget(*vault, demo->study_id, &audit); !s.ok())
    return Fail(io, "demo", s);
  if (demo->researcher_token) {
    principals["researcher"] = {demo->researcher_id,
                                std::move(*demo->researcher_token)};
  } else {
    auto t =
        vault->IssueToken("researcher", demo->researcher_id, kDemoTokenTtl);
    if (!t.ok()) return fail(t.status());
    principals["researcher"] = {demo->researcher_id, std::move(*t)};
  }
  auto provider =
      DemoRegistrant(*vault, "provider", kDemoProvider, "Demo Region", &audit);
  if (!provider.ok()) return fail(provider.status());
  principals["provider"] = std::move(*provider);
  // The demo's hospital also answers requests to correct imported records
  // (in a region, the operator names its records office).
  server_options.rectification_provider = principals["provider"].id;
  auto auditor = DemoRegistrant(*vault, "auditor", kDemoAuditor,
                                "Demo Supervisory Authority", &audit);
  if (!auditor.ok()) return fail(auditor.status());
  principals["auditor"] = std::move(*auditor);
  auto citizen = DemoCitizen(*vault, consents, new_citizens);
  if (!citizen.ok()) return fail(citizen.status());
  auto citizen_token = vault->IssueToken("citizen", *citizen, kDemoTokenTtl);
  if (!citizen_token.ok()) return fail(citizen_token.status());
  principals["citizen"] = {*citizen, std::move(*citizen_token)};
  audit.push_back(OperatorEntry("citizen.enroll", *citizen));
  if (serve) {
    for (auto* code : {&phone_code, &browser_code}) {
      auto issued = api::NewEnrollmentCode(*vault, *citizen, kDemoTokenTtl);
      if (!issued.ok()) return fail(issued.status());
      *code = std::move(*issued);
      audit.push_back(OperatorEntry("citizen.enrollment-code", *citizen));
    }
  }
  auto admin = vault->IssueToken("admin", "operator", kDemoTokenTtl);
  if (!admin.ok()) return fail(admin.status());
  principals["admin"] = {"operator", std::move(*admin)};
  if (Status s = AuditOperator(*vault, audit); !s.ok()) return fail(s);

  auto ids = vault->ListCitizenIds();
  if (!ids.ok()) return fail(ids.status());
  std::map<std::string, int64_t> by_category;
  for (const auto& id : *ids) {
    auto s = vault->Summarize(id);
    if (!s.ok()) return fail(s.status());
    for (const auto& [c, n] : s->by_category) by_category[c] += n;
  }

  std::unique_ptr<api::Server> server;
  std::string url;
  json try_lines;
  if (serve) {
    auto started_server = StartServer(*vault, server_options);
    if (!started_server.ok()) return fail(started_server.status());
    server = std::move(started_server).value();
    url = server->url();
    try_lines = DemoTryLines(url, tillit, principals, demo->study_id);
  }
  const bool have_keys = fs::exists(key_prefix + ".key");
  if (serve && have_keys) {
    try_lines["release"] = DemoReleaseLines(
        url, tillit, dir, principals["researcher"].token.ExposeSecretText(),
        demo->study_id);
  }

  if (serve) {
    try_lines["phone"] =
        DemoPhoneLines(url, tillit, dir, phone_code->ExposeSecretText());
  }

  if (a.Has("json")) {
    json j = {{"data_dir", dir},
              {"citizens", ids->size()},
              {"resources_imported", resources},
              {"resources_written", written},
              {"by_type", CountsJson(by_type)},
              {"by_category", CountsJson(by_category)}};
    j["researcher_id"] = demo->researcher_id;
    j["study_id"] = demo->study_id;
    j["grants_added"] = demo->grants_added;
    j["cohort_size"] = consent::FormatCount(demo->cohort.cohort_size);
    j["citizen_id"] = principals["citizen"].id;
    j["provider_id"] = principals["provider"].id;
    j["auditor_id"] = principals["auditor"].id;
    json tokens = json::object();
    for (const auto& [role, p] : principals)
      tokens[role] = p.token.ExposeSecretText();
    j["tokens"] = tokens;
    j["tokens_expire"] = principals["admin"].token.expires_at;
    if (have_keys) {
      j["researcher_key_file"] = key_prefix + ".key";
      j["researcher_public_key_file"] = key_prefix + ".pub";
    }
    if (serve) {
      j["url"] = url;
      j["curl"] = try_lines["curl"];
      j["verify"] = try_lines["verify"];
      if (try_lines.contains("release")) j["release"] = try_lines["release"];
      j["app"] = {{"url", url + "/app/"},
                  {"pairing_code", browser_code->ExposeSecretText()}};
      j["enrollment_code"] = phone_code->ExposeSecretText();
      j["phone"] = try_lines["phone"];
    }
    io.out << j.dump() << "\n" << std::flush;
    return serve ? ServeUntilSignal(io, *server, true, a.Has("quiet")) : kOk;
  }
  io.out << "tillit demo vault: " << dir << "\n"
         << "  " << *count << " synthetic citizens generated (seed " << *seed
         << "), " << resources << " FHIR resources (" << bytes / 1024
         << " KiB) imported in " << static_cast<int>(secs * 1000) << " ms; "
         << written << " new or changed\n"
         << "  " << ids->size()
         << " citizens in the vault, each in its own encrypted "
         << "SQLCipher file under " << dir << "/citizens/\n"
         << "  records by category:\n";
  for (const auto& [c, n] : by_category)
    io.out << "    " << c << ": " << n << "\n";
  io.out << "  resources by type:\n";
  for (const auto& [t, n] : by_type) io.out << "    " << t << ": " << n << "\n";
  io.out << "  consent: " << demo->grants_added << " grants and "
         << demo->opted_out << " research opt-outs added this run\n"
         << "  study " << demo->study_id
         << " (HMB, vital-signs + lab-results) of "
         << "researcher " << demo->researcher_id << ": cohort "
         << consent::FormatCount(demo->cohort.cohort_size) << " of "
         << demo->cohort.citizens << " citizens in the consent index\n"
         << "  privacy budget of the study for differentially private "
         << "aggregates: epsilon " << research::FormatEpsilon(kDemoStudyBudget)
         << " (docs/PRIVACY.md)\n";
  io.out << "Tokens, valid 7 days and shown only now (each run makes new "
            "ones):\n"
         << "  admin       " << principals["admin"].token.ExposeSecretText()
         << "\n"
         << "  citizen     " << principals["citizen"].token.ExposeSecretText()
         << "  (" << principals["citizen"].id << ")\n"
         << "  provider    " << principals["provider"].token.ExposeSecretText()
         << "  (" << principals["provider"].id << ", " << kDemoProvider << ")\n"
         << "  researcher  "
         << principals["researcher"].token.ExposeSecretText() << "  ("
         << principals["researcher"].id;
  if (have_keys) {
    io.out << "; demo key pair " << key_prefix << ".key and .pub";
  }
  io.out << ")\n"
         << "  auditor     " << principals["auditor"].token.ExposeSecretText()
         << "  (" << principals["auditor"].id << ")\n";
  if (!serve) {
    io.out << "Serve it with:\n  " << ShellQuote(tillit) << " serve --data "
           << ShellQuote(dir) << " --listen 127.0.0.1:8080\n";
    return kOk;
  }
  io.out << "listening on " << url << "\n"
         << "Citizen web app: " << url << "/app/  (pair this browser with code "
         << browser_code->ExposeSecretText() << ", valid 7 days)\n"
         << "Try (bash):\n";
  for (const auto& line : try_lines["curl"])
    io.out << "  " << line.get<std::string>() << "\n";
  io.out << "  " << try_lines["verify"].get<std::string>() << "\n";
  if (try_lines.contains("release")) {
    io.out << "Make, download and open a research release (bash):\n";
    for (const auto& line : try_lines["release"])
      io.out << "  " << line.get<std::string>() << "\n";
  }
  io.out << "Pair a phone with the reference citizen app (mobile bridge; "
            "bash):\n";
  for (const auto& line : try_lines["phone"])
    io.out << "  " << line.get<std::string>() << "\n";
  io.out << "Serving until Ctrl-C or SIGTERM.\n" << std::flush;
  return ServeUntilSignal(io, *server, false, a.Has("quiet"));
}

}  // namespace tillit::cli
