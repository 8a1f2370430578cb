// Tests of the `tillit` verbs other than keys, keygen and decrypt
// (keys_test.cc), through RunCli.
#include "tillit/cli/cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "src/cli_fixture.h"
#include "src/common.h"
#include "tillit/base/build_info.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/encoding.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/vault/vault.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

TEST_F(CliTest, NoArgumentsIsAUsageError) {
  Result r = Tillit({});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Verbs:"), std::string::npos);
}

TEST_F(CliTest, HelpForEveryVerb) {
  Result top = Tillit({"--help"});
  EXPECT_EQ(top.code, 0);
  for (const char* verb : {"init", "import", "citizen", "keys", "keygen",
                           "decrypt", "demo", "serve", "researcher", "provider",
                           "auditor", "token", "backup", "restore", "app"}) {
    EXPECT_NE(top.out.find(std::string("  ") + verb), std::string::npos)
        << verb;
    Result r = Tillit({verb, "--help"});
    EXPECT_EQ(r.code, 0) << verb;
    EXPECT_EQ(r.out.rfind("Usage:", 0), 0u) << verb;
  }
}

// `tillit <version> (<commit>)`: the project's version and the build's
// commit, the same for `--version` and `version`.
TEST_F(CliTest, VersionNamesTheVersionAndTheCommit) {
  const std::string version(BuildVersion()), commit(BuildCommit());
  // X.Y.Z
  int dots = 0;
  for (char c : version) dots += c == '.';
  EXPECT_EQ(dots, 2) << version;
  EXPECT_EQ(version.find_first_not_of("0123456789."), std::string::npos)
      << version;
  EXPECT_EQ(version.find(".."), std::string::npos) << version;
  EXPECT_TRUE(version.front() != '.' && version.back() != '.') << version;
  // 12 hex digits from git, "unknown" outside a git checkout, or what a
  // packager named with TILLIT_COMMIT (base/build_info.cmake checks it).
  EXPECT_FALSE(commit.empty());
  EXPECT_EQ(commit.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ.+~-"),
            std::string::npos)
      << commit;
  for (const char* spelling : {"--version", "version"}) {
    Result r = Tillit({spelling});
    EXPECT_EQ(r.code, 0) << spelling;
    EXPECT_EQ(r.out, "tillit " + version + " (" + commit + ")\n") << spelling;
    EXPECT_EQ(r.err, "") << spelling;
  }
}

TEST_F(CliTest, UnknownVerbAndOptionAreUsageErrors) {
  EXPECT_EQ(Tillit({"frobnicate"}).code, 2);
  Result r = Tillit({"init", "--data", data_, "--bogus"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--bogus"), std::string::npos);
  EXPECT_FALSE(fs::exists(data_));
}

TEST_F(CliTest, InitJsonShapeAndRefusalToReinit) {
  Result r = Tillit({"init", "--data", data_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["admin_token"].get<std::string>().rfind("tlk_", 0), 0u);
  EXPECT_EQ(j["data_dir"], fs::absolute(data_).lexically_normal().string());
  Result again = Tillit({"init", "--data", data_});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
}

TEST_F(CliTest, DataDirFromEnvironment) {
  setenv("TILLIT_DATA", data_.c_str(), 1);
  ASSERT_EQ(Tillit({"init"}).code, 0);
  EXPECT_TRUE(fs::exists(data_ + "/vault.json"));
  Result list = Tillit({"citizen", "list", "--json"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, "[]\n");
  unsetenv("TILLIT_DATA");
}

TEST_F(CliTest, CommandsOnAMissingVaultFail) {
  Result r = Tillit({"citizen", "list", "--data", data_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("tillit init"), std::string::npos);
}

TEST_F(CliTest, ImportUsageAndRejections) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  EXPECT_EQ(Tillit({"import", "--data", data_}).code, 2);
  std::ofstream(dir_ + "/bad.json")
      << "{\"resourceType\": \"Bundle\", \"type\": \"searchset\", \"entry\": "
         "[]}";
  Result r = Tillit({"import", "--data", data_, "--json",
                     dir_ + "/missing.json", dir_ + "/bad.json"});
  EXPECT_EQ(r.code, 1);
  json j = json::parse(r.out);
  EXPECT_TRUE(j["citizens"].empty());
  ASSERT_EQ(j["rejected"].size(), 2u);
  EXPECT_EQ(j["rejected"][0]["file"], dir_ + "/missing.json");
  EXPECT_EQ(j["rejected"][1]["file"], dir_ + "/bad.json");
  fs::create_directories(dir_ + "/empty");
  Result e = Tillit({"import", "--data", data_, "--json", dir_ + "/empty"});
  EXPECT_EQ(e.code, 1);
  EXPECT_EQ(json::parse(e.out)["rejected"].size(), 1u);
}

TEST_F(CliTest, CitizenSubcommands) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  EXPECT_EQ(Tillit({"citizen", "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"citizen", "fly", "--data", data_}).code, 2);
  Result add = Tillit({"citizen", "add", "--data", data_, "--json"});
  ASSERT_EQ(add.code, 0) << add.err;
  const std::string id = json::parse(add.out)["citizen_id"];
  const std::string code = json::parse(add.out)["enrollment_code"];
  EXPECT_TRUE(json::parse(add.out)["expires"].is_number());
  {
    auto v = OpenVault();
    auto info = v->VerifyToken(code);
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->role, "enroll");
    EXPECT_EQ(info->principal, id);
  }
  Result text = Tillit({"citizen", "add", "--data", data_});
  ASSERT_EQ(text.code, 0);
  EXPECT_EQ(text.out.rfind("c_", 0), 0u);
  EXPECT_NE(text.out.find("enrollment code"), std::string::npos);
  ASSERT_EQ(Tillit({"citizen", "erase", "--data", data_, "--yes",
                    text.out.substr(0, 34)})
                .code,
            0);
  Result list = Tillit({"citizen", "list", "--data", data_, "--json"});
  ASSERT_EQ(list.code, 0);
  json l = json::parse(list.out);
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0]["citizen_id"], id);
  EXPECT_EQ(l[0]["records"], 0);
  EXPECT_TRUE(l[0]["by_category"].is_object());

  EXPECT_EQ(Tillit({"citizen", "verify", "--data", data_}).code, 0);
  EXPECT_EQ(Tillit({"citizen", "verify", "--data", data_, "c_nope"}).code, 1);

  Result no_yes = Tillit({"citizen", "erase", "--data", data_, id});
  EXPECT_EQ(no_yes.code, 2);
  EXPECT_NE(no_yes.err.find("--yes"), std::string::npos);
  EXPECT_EQ(Tillit({"citizen", "erase", "--data", data_, "--yes"}).code, 2);
  EXPECT_EQ(Tillit({"citizen", "erase", "--data", data_, "--yes",
                    "c_00000000000000000000000000000000"})
                .code,
            1);
  ASSERT_EQ(Tillit({"citizen", "erase", "--data", data_, "--yes", id}).code, 0);
  EXPECT_EQ(Tillit({"citizen", "list", "--data", data_, "--json"}).out, "[]\n");
}

TEST_F(CliTest, DemoIsRepeatable) {
  Result r = Tillit(
      {"demo", "--data", data_, "--citizens", "5", "--json", "--no-serve"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["citizens"], 5);
  EXPECT_GT(j["resources_written"].get<int>(), 0);
  EXPECT_FALSE(j.contains("admin_token"));
  EXPECT_FALSE(j.contains("url"));
  EXPECT_FALSE(j.contains("curl"));
  EXPECT_TRUE(j["study_id"].get<std::string>().rfind("s_", 0) == 0);
  EXPECT_EQ(j["grants_added"], 5);
  EXPECT_EQ(j["cohort_size"], "<10");
  {
    auto v = OpenVault();
    ASSERT_TRUE(v);
    const std::map<std::string, std::string> ids = {
        {"admin", "operator"},
        {"citizen", j["citizen_id"].get<std::string>()},
        {"provider", j["provider_id"].get<std::string>()},
        {"researcher", j["researcher_id"].get<std::string>()},
        {"auditor", j["auditor_id"].get<std::string>()}};
    ASSERT_EQ(j["tokens"].size(), ids.size());
    for (const auto& [role, id] : ids) {
      auto info = v->VerifyToken(j["tokens"][role].get<std::string>());
      ASSERT_TRUE(info.ok()) << role;
      EXPECT_EQ(info->role, role);
      EXPECT_EQ(info->principal, id);
      EXPECT_LE(info->expires_at - std::time(nullptr), 7 * 24 * 3600);
      EXPECT_GT(info->expires_at - std::time(nullptr), 6 * 24 * 3600);
    }
    // The printed citizen granted any provider (index 3 of the five).
    consent::ConsentService consents(v.get(), &Clock::System(),
                                     &crypto::Random::System());
    auto grants = consents.ListGrants(j["citizen_id"].get<std::string>());
    ASSERT_TRUE(grants.ok());
    ASSERT_EQ(grants->size(), 1u);
    EXPECT_EQ((*grants)[0].grantee.kind, consent::Grantee::Kind::kAnyProvider);
    // The researcher is registered with the demo key pair's public half.
    auto researcher =
        consents.GetResearcher(j["researcher_id"].get<std::string>());
    ASSERT_TRUE(researcher.ok());
    std::ifstream pub(data_ + "/demo-researcher.pub");
    std::string line;
    std::getline(pub, line);
    EXPECT_EQ(researcher->public_key, line);
    EXPECT_EQ(j["researcher_public_key_file"],
              fs::absolute(data_).lexically_normal().string() +
                  "/demo-researcher.pub");
    struct stat st;
    ASSERT_EQ(::stat((data_ + "/demo-researcher.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
  Result again = Tillit(
      {"demo", "--data", data_, "--citizens", "5", "--json", "--no-serve"});
  ASSERT_EQ(again.code, 0) << again.err;
  json k = json::parse(again.out);
  EXPECT_EQ(k["citizens"], 5);
  EXPECT_EQ(k["resources_written"], 0);
  EXPECT_EQ(k["grants_added"], 0);
  EXPECT_EQ(k["study_id"], j["study_id"]);
  // The same principals, with fresh tokens.
  for (const char* id :
       {"citizen_id", "provider_id", "researcher_id", "auditor_id"}) {
    EXPECT_EQ(k[id], j[id]) << id;
  }
  for (const auto& [role, token] : k["tokens"].items())
    EXPECT_NE(token, j["tokens"][role]) << role;
  Result text =
      Tillit({"demo", "--data", data_, "--citizens", "5", "--no-serve"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("Tokens, valid 7 days"), std::string::npos);
  EXPECT_NE(text.out.find("  citizen     tlk_"), std::string::npos);
  EXPECT_NE(text.out.find("tillit serve --data "), std::string::npos);
  EXPECT_EQ(Tillit({"demo", "--data", data_, "--citizens", "0"}).code, 2);
  EXPECT_EQ(Tillit({"demo", "--data", data_, "--citizens", "many"}).code, 2);
}

TEST_F(CliTest, DemoUsageErrors) {
  for (const char* listen : {"8080", "127.0.0.1:99999", ":8080", "x y:80"}) {
    Result r = Tillit({"demo", "--data", data_, "--listen", listen});
    EXPECT_EQ(r.code, 2) << listen;
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << r.err;
  }
  EXPECT_EQ(
      Tillit({"demo", "--data", data_, "--no-serve", "--listen", "127.0.0.1:0"})
          .code,
      2);
  EXPECT_FALSE(fs::exists(data_));
}

TEST_F(CliTest, ServeUsageErrors) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  for (const char* listen :
       {"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
        "127.0.0.1:80x", ":8443", "::1:8443", "[::1:8443", "[]:80", "a/b:80"}) {
    Result r = Tillit({"serve", "--data", data_, "--listen", listen});
    EXPECT_EQ(r.code, 2) << listen;
    EXPECT_NE(r.err.find("--listen"), std::string::npos) << listen;
    EXPECT_EQ(r.out, "") << listen;
  }
  const std::vector<std::vector<std::string>> bad = {
      {"--threads", "0"},
      {"--threads", "5000"},
      {"--cache", "0"},
      {"--rate", "-1"},
      {"--rate", "fast"},
      {"--max-body", "10"},
      {"--log-format", "xml"},
      {"--log-format", "JSON"},
      {"--opt-out-break-glass", "maybe"},
      {"--opt-out-break-glass", "Allow"},
      {"--rectification-provider", "records-office"},
      {"--rectification-provider", "c_00000000000000000000000000000000"},
      {"--guardian-hidden-categories", "lab"},
      {"--guardian-hidden-categories", "lab-results,lab-results"},
      {"--guardian-hidden-categories", "lab-results,"},
      {"--guardian-hidden-categories", ""},
      {"--push-hosts", ""},
      {"--push-hosts", "a,,b"},
      {"--push-hosts", "push host"},
      {"--vapid-subject", "operator@example.org"},
      {"--vapid-subject", "http://example.org"},
      {"--notify-webhook", "ftp://x/y"},
      {"--notify-webhook", "not a url"},
      {"--digest-hour", "24"},
      {"--digest-hour", "-1"},
      {"--tls-cert", "c.pem"},
      {"--tls-key", "k.pem"},
      {"--json"},
      {"extra"},
  };
  for (const auto& extra : bad) {
    std::vector<std::string> args = {"serve", "--data", data_};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = Tillit(args);
    EXPECT_EQ(r.code, 2) << extra[0];
    EXPECT_EQ(r.out, "") << extra[0];
  }
  // A missing vault fails before anything listens.
  Result missing =
      Tillit({"serve", "--data", dir_ + "/none", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
}

TEST_F(CliTest, RegistrationVerbs) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  ASSERT_EQ(Tillit({"keygen", "--out", dir_ + "/r"}).code, 0);
  const std::vector<std::string> researcher = {
      "researcher",   "add",          "--data",         data_,
      "--name",       "Ada",          "--organization", "Uppsala universitet",
      "--org-type",   "academic",     "--country",      "SE",
      "--public-key", dir_ + "/r.pub"};
  Result r = Tillit(researcher);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("researcher r_", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("tlk_"), std::string::npos);

  // Each required flag, left out in turn.
  for (size_t i = 4; i < researcher.size(); i += 2) {
    std::vector<std::string> args(researcher.begin(), researcher.begin() + i);
    args.insert(args.end(), researcher.begin() + i + 2, researcher.end());
    Result missing = Tillit(args);
    EXPECT_EQ(missing.code, 2) << researcher[i];
    EXPECT_NE(missing.err.find(researcher[i]), std::string::npos)
        << missing.err;
  }
  auto with = [&](const std::string& flag, const std::string& value) {
    std::vector<std::string> args = researcher;
    for (size_t i = 4; i < args.size(); i += 2) {
      if (args[i] == flag) args[i + 1] = value;
    }
    return Tillit(args);
  };
  Result org = with("--org-type", "pharma");
  EXPECT_EQ(org.code, 1);
  EXPECT_NE(org.err.find("org_type"), std::string::npos) << org.err;
  Result country = with("--country", "Sweden");
  EXPECT_EQ(country.code, 1);
  EXPECT_NE(country.err.find("country"), std::string::npos) << country.err;
  Result no_file = with("--public-key", dir_ + "/none.pub");
  EXPECT_EQ(no_file.code, 1);
  EXPECT_NE(no_file.err.find("public_key"), std::string::npos) << no_file.err;
  std::ofstream(dir_ + "/zero.pub")
      << crypto::Base64Encode(std::vector<uint8_t>(32, 0)) << "\n";
  Result low_order = with("--public-key", dir_ + "/zero.pub");
  EXPECT_EQ(low_order.code, 1);
  EXPECT_NE(low_order.err.find("public_key"), std::string::npos)
      << low_order.err;
  Result control = with("--name", "A\tB");
  EXPECT_EQ(control.code, 1);
  EXPECT_NE(control.err.find("name"), std::string::npos);

  Result p = Tillit({"provider", "add", "--data", data_, "--name", "Clinic",
                     "--organization", "Region", "--json"});
  ASSERT_EQ(p.code, 0) << p.err;
  json pj = json::parse(p.out);
  EXPECT_EQ(pj.size(), 3u);
  Result a =
      Tillit({"auditor", "add", "--data", data_, "--name", "Insp", "--json"});
  ASSERT_EQ(a.code, 0) << a.err;
  json aj = json::parse(a.out);
  {
    auto v = OpenVault();
    auto pi = v->VerifyToken(pj["token"].get<std::string>());
    ASSERT_TRUE(pi.ok());
    EXPECT_EQ(pi->role, "provider");
    EXPECT_EQ(pi->principal, pj["provider_id"]);
    EXPECT_EQ(pi->expires_at, pj["expires"]);
    auto ai = v->VerifyToken(aj["token"].get<std::string>());
    ASSERT_TRUE(ai.ok());
    EXPECT_EQ(ai->role, "auditor");
    EXPECT_EQ(ai->principal, aj["auditor_id"]);
  }
  EXPECT_EQ(Tillit({"provider", "add", "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"provider", "--data", data_, "--name", "x"}).code, 2);
  EXPECT_EQ(Tillit({"auditor", "remove", "--data", data_, "--name", "x"}).code,
            2);
  EXPECT_EQ(Tillit({"provider", "add", "--data", data_, "--name", "x",
                    "--country", "SE"})
                .code,
            2);
  EXPECT_EQ(Tillit({"provider", "add", "--data", data_, "--name", ""}).code, 1);
  EXPECT_EQ(
      Tillit({"auditor", "add", "--data", dir_ + "/none", "--name", "x"}).code,
      1);

  // Audited as the operator.
  Result list = Tillit({"audit", "list", "--data", data_, "--json"});
  ASSERT_EQ(list.code, 0);
  std::multiset<std::string> actions;
  for (const auto& e : json::parse(list.out)) {
    actions.insert(e["action"].get<std::string>());
    EXPECT_EQ(e["actor_kind"], "operator");
  }
  EXPECT_EQ(actions.count("researcher.register"), 1u);
  EXPECT_EQ(actions.count("provider.register"), 1u);
  EXPECT_EQ(actions.count("auditor.register"), 1u);
  EXPECT_EQ(Tillit({"audit", "verify", "--data", data_}).code, 0);
}

TEST_F(CliTest, AppAddRegistersASmartClient) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  Result r = Tillit({"app", "add", "--data", data_, "--name", "Diary",
                     "--redirect-uri", "https://diary.example/cb",
                     "--redirect-uri", "http://127.0.0.1:8080/cb", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["client_id"].get<std::string>().rfind("app_", 0), 0u);
  EXPECT_EQ(j["name"], "Diary");
  EXPECT_EQ(j["redirect_uris"], json::array({"https://diary.example/cb",
                                             "http://127.0.0.1:8080/cb"}));
  {
    auto v = OpenVault();
    auto stored =
        v->GetDirectoryEntry("app", j["client_id"].get<std::string>());
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(json::parse(*stored)["redirect_uris"], j["redirect_uris"]);
  }
  Result plain = Tillit({"app", "add", "--data", data_, "--name", "Other",
                         "--redirect-uri", "https://other.example/cb"});
  ASSERT_EQ(plain.code, 0) << plain.err;
  EXPECT_EQ(plain.out.rfind("app app_", 0), 0u) << plain.out;

  // Usage errors (2) and refused values (1, nothing stored).
  EXPECT_EQ(Tillit({"app", "add", "--data", data_, "--name", "x"}).code, 2);
  EXPECT_EQ(Tillit({"app", "add", "--data", data_, "--redirect-uri",
                    "https://x.example/"})
                .code,
            2);
  EXPECT_EQ(Tillit({"app", "list", "--data", data_}).code, 2);
  Result http = Tillit({"app", "add", "--data", data_, "--name", "x",
                        "--redirect-uri", "http://x.example/cb"});
  EXPECT_EQ(http.code, 1);
  EXPECT_NE(http.err.find("redirect_uri"), std::string::npos) << http.err;
  EXPECT_EQ(Tillit({"app", "add", "--data", data_, "--name", "",
                    "--redirect-uri", "https://x.example/cb"})
                .code,
            1);
  EXPECT_EQ(Tillit({"app", "add", "--data", data_, "--name", "\xff\xfe",
                    "--redirect-uri", "https://x.example/cb"})
                .code,
            1);
  auto v = OpenVault();
  EXPECT_EQ(v->ListDirectory("app")->size(), 2u);
}

TEST_F(CliTest, TokenRevoke) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  EXPECT_EQ(Tillit({"token", "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"token", "issue", "--data", data_, "--stdin"}).code, 2);
  Result neither = Tillit({"token", "revoke", "--data", data_});
  EXPECT_EQ(neither.code, 2);
  EXPECT_NE(neither.err.find("--stdin"), std::string::npos);
  EXPECT_EQ(Tillit({"token", "revoke", "--data", data_, "--stdin",
                    "--principal", "operator"},
                   "x\n")
                .code,
            2);
  EXPECT_EQ(
      Tillit({"token", "revoke", "--data", data_, "--principal", "p_x"}).code,
      2);
  // A token is never an argument.
  EXPECT_EQ(Tillit({"token", "revoke", "--data", data_, "tlk_abc"}).code, 2);

  const std::string t1 = json::parse(
      Tillit({"provider", "add", "--data", data_, "--name", "A", "--json"})
          .out)["token"];
  json p2 = json::parse(
      Tillit({"provider", "add", "--data", data_, "--name", "B", "--json"})
          .out);
  Result ok = Tillit({"token", "revoke", "--data", data_, "--stdin", "--json"},
                     "  " + t1 + "\r\n");
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(json::parse(ok.out)["revoked"], 1);
  {
    auto v = OpenVault();
    EXPECT_EQ(v->VerifyToken(t1).status().code(), StatusCode::kUnauthenticated);
    EXPECT_TRUE(v->VerifyToken(p2["token"].get<std::string>()).ok());
  }
  Result again =
      Tillit({"token", "revoke", "--data", data_, "--stdin"}, t1 + "\n");
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already revoked"), std::string::npos);
  Result unknown = Tillit({"token", "revoke", "--data", data_, "--stdin"},
                          "tlk_" + std::string(64, '0') + "\n");
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("no such token"), std::string::npos);
  Result empty = Tillit({"token", "revoke", "--data", data_, "--stdin"}, "");
  EXPECT_EQ(empty.code, 1);
  EXPECT_NE(empty.err.find("no token"), std::string::npos);
  Result huge = Tillit({"token", "revoke", "--data", data_, "--stdin"},
                       std::string(5000, 'a'));
  EXPECT_EQ(huge.code, 1);

  Result all = Tillit({"token", "revoke", "--data", data_, "--principal",
                       p2["provider_id"].get<std::string>(), "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_EQ(json::parse(all.out)["revoked"], 1);
  Result none = Tillit({"token", "revoke", "--data", data_, "--principal",
                        p2["provider_id"].get<std::string>()});
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out, "revoked 0 token(s)\n");

  // A citizen's revocation shows in the citizen's own log.
  json c =
      json::parse(Tillit({"citizen", "add", "--data", data_, "--json"}).out);
  Result code = Tillit({"token", "revoke", "--data", data_, "--stdin"},
                       c["enrollment_code"].get<std::string>() + "\n");
  ASSERT_EQ(code.code, 0) << code.err;
  Result log = Tillit({"audit", "list", "--data", data_, "--json", "--citizen",
                       c["citizen_id"].get<std::string>()});
  json entries = json::parse(log.out);
  ASSERT_EQ(entries.size(), 2u) << log.out;
  EXPECT_EQ(entries[0]["action"], "token.revoke");
  EXPECT_EQ(entries[1]["action"], "citizen.create");

  // With a sealed root key the passphrase comes first, then the token.
  const std::string sealed = dir_ + "/sealed";
  ASSERT_EQ(
      Tillit({"init", "--data", sealed, "--passphrase-stdin"}, "pw\n").code, 0);
  json p3 = json::parse(Tillit({"provider", "add", "--data", sealed, "--name",
                                "C", "--json", "--passphrase-stdin"},
                               "pw\n")
                            .out);
  Result sealed_revoke = Tillit(
      {"token", "revoke", "--data", sealed, "--stdin", "--passphrase-stdin"},
      "pw\n" + p3["token"].get<std::string>() + "\n");
  EXPECT_EQ(sealed_revoke.code, 0) << sealed_revoke.err;
}

TEST_F(CliTest, PassphraseSealedVaultNeedsThePassphrase) {
  Result init = Tillit({"init", "--data", data_, "--passphrase-stdin"},
                       "s3cret phrase\n");
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_TRUE(fs::exists(data_ + "/root.sealed"));
  Result without = Tillit({"citizen", "list", "--data", data_});
  EXPECT_EQ(without.code, 1);
  EXPECT_NE(without.err.find("--passphrase-stdin"), std::string::npos);
  EXPECT_EQ(Tillit({"citizen", "list", "--data", data_, "--passphrase-stdin"},
                   "wrong\n")
                .code,
            1);
  EXPECT_EQ(
      Tillit({"citizen", "list", "--data", data_, "--passphrase-stdin"}, "")
          .code,
      1);
  EXPECT_EQ(Tillit({"citizen", "list", "--data", data_, "--passphrase-stdin"},
                   "s3cret phrase\n")
                .code,
            0);
}

TEST_F(CliTest, AuditSubcommands) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  EXPECT_EQ(Tillit({"audit", "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"audit", "shred", "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"audit", "list", "--data", data_, "--limit", "0"}).code, 2);
  Result empty = Tillit({"audit", "verify", "--data", data_, "--json"});
  ASSERT_EQ(empty.code, 0) << empty.err;
  EXPECT_EQ(nlohmann::json::parse(empty.out)["entries"], 0);
  Result key = Tillit({"audit", "public-key", "--data", data_});
  ASSERT_EQ(key.code, 0);
  EXPECT_EQ(key.out.rfind("tillit-audit+", 0), 0u) << key.out;
  Result note = Tillit({"audit", "checkpoint", "--data", data_});
  ASSERT_EQ(note.code, 0);
  EXPECT_EQ(note.out.rfind("tillit.health/audit\n0\n", 0), 0u) << note.out;
  EXPECT_EQ(Tillit({"audit", "verify", "--data", data_, "--checkpoint",
                    dir_ + "/none"})
                .code,
            1);
  std::ofstream(dir_ + "/bogus.note") << "not a note";
  Result bogus = Tillit({"audit", "verify", "--data", data_, "--checkpoint",
                         dir_ + "/bogus.note"});
  EXPECT_EQ(bogus.code, 1);
  EXPECT_EQ(Tillit({"audit", "verify", "--url", "http://127.0.0.1:1"}).code,
            2);  // no token
  EXPECT_EQ(
      Tillit({"audit", "list", "--url", "http://127.0.0.1:1", "--token", "t"})
          .code,
      2);
  Result unreachable = Tillit(
      {"audit", "verify", "--url", "http://127.0.0.1:1", "--token", "t"});
  EXPECT_EQ(unreachable.code, 1);
  EXPECT_NE(unreachable.err.find("cannot reach"), std::string::npos)
      << unreachable.err;
  // A deleted log does not pass for an empty one.
  fs::remove(data_ + "/audit.db");
  Result gone = Tillit({"audit", "verify", "--data", data_});
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
}

// A generated bundle of one synthetic citizen (Patient and records).
void WriteBundle(const std::string& path, uint64_t index) {
  std::ofstream(path) << fhir::GenerateSyntheticBundle(2026, index);
}

TEST_F(CliTest, ImportFailsClosedWhenTheAuditLogCannotBeWritten) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  const std::string bundle = dir_ + "/bundle.json";
  WriteBundle(bundle, 0);

  // A new citizen: no entry, so no citizen and no file.
  FailAuditWriteForTesting(1);
  Result r = Tillit({"import", "--data", data_, "--json", bundle});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("tillit import: cannot write the audit log, so "
                       "nothing was imported from " +
                       bundle + ": "),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Tillit({"citizen", "list", "--data", data_, "--json"}).out, "[]\n");
  EXPECT_TRUE(fs::is_empty(data_ + "/citizens"));

  // A citizen named with --citizen: no entry, so no record.
  Result add = Tillit({"citizen", "add", "--data", data_, "--json"});
  ASSERT_EQ(add.code, 0) << add.err;
  const std::string id = json::parse(add.out)["citizen_id"];
  const std::string nd = dir_ + "/extra.ndjson";
  std::ofstream(nd)
      << R"({"resourceType":"Observation","id":"extra-1","status":"final",)"
         R"("code":{"text":"x"},"effectiveDateTime":"2024-01-01"})"
      << "\n";
  FailAuditWriteForTesting(1);
  Result named = Tillit({"import", "--data", data_, "--citizen", id, nd});
  EXPECT_EQ(named.code, 1);
  EXPECT_NE(named.err.find("cannot write the audit log"), std::string::npos)
      << named.err;
  json list =
      json::parse(Tillit({"citizen", "list", "--data", data_, "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["records"], 0);

  // Two files, the second entry refused: the first is imported, the
  // command stops at the second and fails.
  fs::create_directories(dir_ + "/two");
  WriteBundle(dir_ + "/two/a.json", 1);
  WriteBundle(dir_ + "/two/b.json", 2);
  FailAuditWriteForTesting(2);
  Result two = Tillit({"import", "--data", data_, dir_ + "/two"});
  EXPECT_EQ(two.code, 1);
  EXPECT_NE(two.err.find("nothing was imported from " + dir_ + "/two/b.json"),
            std::string::npos)
      << two.err;
  EXPECT_EQ(
      json::parse(Tillit({"citizen", "list", "--data", data_, "--json"}).out)
          .size(),
      2u);

  // The log holds what happened, each entry before its change, and
  // verifies.
  json entries =
      json::parse(Tillit({"audit", "list", "--data", data_, "--json"}).out);
  ASSERT_EQ(entries.size(), 2u) << entries.dump();
  EXPECT_EQ(entries[0]["action"], "records.import");
  EXPECT_EQ(entries[1]["action"], "citizen.create");
  EXPECT_EQ(Tillit({"audit", "verify", "--data", data_}).code, 0);

  // With the log writable again, the same files import.
  Result ok = Tillit({"import", "--data", data_, "--json", bundle});
  ASSERT_EQ(ok.code, 0) << ok.err;
  const std::string imported = json::parse(ok.out)["citizens"][0]["citizen_id"];
  json own = json::parse(Tillit({"audit", "list", "--data", data_, "--json",
                                 "--citizen", imported})
                             .out);
  ASSERT_EQ(own.size(), 1u);
  EXPECT_EQ(own[0]["action"], "records.import");
  EXPECT_EQ(Tillit({"import", "--data", data_, "--citizen", id, nd}).code, 0);
}

TEST_F(CliTest, EraseFailsClosedWhenTheAuditLogCannotBeWritten) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  WriteBundle(dir_ + "/bundle.json", 0);
  Result imported =
      Tillit({"import", "--data", data_, "--json", dir_ + "/bundle.json"});
  ASSERT_EQ(imported.code, 0) << imported.err;
  const std::string id = json::parse(imported.out)["citizens"][0]["citizen_id"];
  const std::string vault_json = ReadWhole(data_ + "/vault.json");
  const std::string root_key = ReadWhole(data_ + "/root.key");

  FailAuditWriteForTesting(1);
  Result r = Tillit({"citizen", "erase", "--data", data_, "--yes", id});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("tillit citizen erase: cannot write the audit log, so "
                       "nothing was erased: "),
            std::string::npos)
      << r.err;
  // The citizen, their records and the root keys are as they were.
  EXPECT_TRUE(fs::exists(data_ + "/citizens/" + id + ".db"));
  EXPECT_EQ(Tillit({"citizen", "verify", "--data", data_, id}).code, 0);
  json list =
      json::parse(Tillit({"citizen", "list", "--data", data_, "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_GT(list[0]["records"].get<int>(), 0);
  EXPECT_EQ(ReadWhole(data_ + "/vault.json"), vault_json);
  EXPECT_EQ(ReadWhole(data_ + "/root.key"), root_key);
  json entries =
      json::parse(Tillit({"audit", "list", "--data", data_, "--json"}).out);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["action"], "records.import");

  ASSERT_EQ(Tillit({"citizen", "erase", "--data", data_, "--yes", id}).code, 0);
  EXPECT_FALSE(fs::exists(data_ + "/citizens/" + id + ".db"));
}

TEST_F(CliTest, ImportAndEraseRefuseWhenTheAuditLogCannotBeOpened) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  WriteBundle(dir_ + "/a.json", 0);
  Result imported =
      Tillit({"import", "--data", data_, "--json", dir_ + "/a.json"});
  ASSERT_EQ(imported.code, 0) << imported.err;
  const std::string id = json::parse(imported.out)["citizens"][0]["citizen_id"];
  // A directory where the log's database should be.
  for (const char* f : {"/audit.db", "/audit.db-wal", "/audit.db-shm"})
    fs::remove(data_ + f);
  fs::create_directory(data_ + "/audit.db");

  WriteBundle(dir_ + "/b.json", 1);
  Result imp = Tillit({"import", "--data", data_, dir_ + "/b.json"});
  EXPECT_EQ(imp.code, 1);
  EXPECT_NE(imp.err.find("tillit import: cannot open the audit log, so "
                         "nothing was imported"),
            std::string::npos)
      << imp.err;
  Result erase = Tillit({"citizen", "erase", "--data", data_, "--yes", id});
  EXPECT_EQ(erase.code, 1);
  EXPECT_NE(erase.err.find("tillit citizen erase: cannot open the audit log, "
                           "so nothing was erased"),
            std::string::npos)
      << erase.err;
  json list =
      json::parse(Tillit({"citizen", "list", "--data", data_, "--json"}).out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["citizen_id"], id);
  EXPECT_EQ(Tillit({"citizen", "verify", "--data", data_, id}).code, 0);
}

}  // namespace
}  // namespace tillit::cli
