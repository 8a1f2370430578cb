#include "tillit/cli/cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tillit/crypto/encoding.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int code;
  std::string out;
  std::string err;
};

Result Tillit(std::vector<std::string> args,
              const std::string& stdin_text = "") {
  args.insert(args.begin(), "tillit");
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  std::ostringstream out, err;
  std::istringstream in(stdin_text);
  int code = RunCli(static_cast<int>(argv.size()), argv.data(), out, err, in);
  return {code, out.str(), err.str()};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-cli-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    data_ = dir_ + "/data";
    unsetenv("TILLIT_DATA");
    unsetenv("TILLIT_KEY_FILE");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_, data_;
};

TEST_F(CliTest, NoArgumentsIsAUsageError) {
  Result r = Tillit({});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Verbs:"), std::string::npos);
}

TEST_F(CliTest, HelpForEveryVerb) {
  Result top = Tillit({"--help"});
  EXPECT_EQ(top.code, 0);
  for (const char* verb :
       {"init", "import", "citizen", "keys", "keygen", "demo"}) {
    EXPECT_NE(top.out.find(std::string("  ") + verb), std::string::npos)
        << verb;
    Result r = Tillit({verb, "--help"});
    EXPECT_EQ(r.code, 0) << verb;
    EXPECT_EQ(r.out.rfind("Usage:", 0), 0u) << verb;
  }
  EXPECT_EQ(Tillit({"--version"}).out, "tillit 0.1.0\n");
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

TEST_F(CliTest, KeysRotate) {
  ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
  EXPECT_EQ(Tillit({"keys", "--data", data_}).code, 2);
  Result r = Tillit({"keys", "rotate", "--data", data_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["root_key_version"], 2);
  const std::string id = json::parse(
      Tillit({"citizen", "add", "--data", data_, "--json"}).out)["citizen_id"];
  EXPECT_EQ(Tillit({"keys", "rotate", "--data", data_, "--citizen", id}).code,
            0);
  EXPECT_EQ(
      Tillit({"keys", "rotate", "--data", data_, "--citizen", "c_x"}).code, 1);
}

TEST_F(CliTest, KeygenWritesAPairAndRefusesToOverwrite) {
  EXPECT_EQ(Tillit({"keygen"}).code, 2);
  const std::string prefix = dir_ + "/researcher";
  Result r = Tillit({"keygen", "--out", prefix});
  ASSERT_EQ(r.code, 0) << r.err;
  std::ifstream pub(prefix + ".pub");
  std::string line;
  std::getline(pub, line);
  auto decoded = crypto::Base64Decode(line);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->size(), 32u);
  struct stat st;
  ASSERT_EQ(::stat((prefix + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  Result again = Tillit({"keygen", "--out", prefix});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
}

TEST_F(CliTest, DemoIsRepeatable) {
  Result r = Tillit({"demo", "--data", data_, "--citizens", "3", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["citizens"], 3);
  EXPECT_GT(j["resources_written"].get<int>(), 0);
  EXPECT_TRUE(j.contains("admin_token"));
  EXPECT_TRUE(j["study_id"].get<std::string>().rfind("s_", 0) == 0);
  EXPECT_EQ(j["grants_added"], 3);
  EXPECT_EQ(j["cohort_size"], "<10");
  Result again = Tillit({"demo", "--data", data_, "--citizens", "3", "--json"});
  ASSERT_EQ(again.code, 0);
  json k = json::parse(again.out);
  EXPECT_EQ(k["citizens"], 3);
  EXPECT_EQ(k["resources_written"], 0);
  EXPECT_FALSE(k.contains("admin_token"));
  EXPECT_EQ(k["grants_added"], 0);
  EXPECT_EQ(k["study_id"], j["study_id"]);
  EXPECT_EQ(Tillit({"demo", "--data", data_, "--citizens", "0"}).code, 2);
  EXPECT_EQ(Tillit({"demo", "--data", data_, "--citizens", "many"}).code, 2);
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

}  // namespace
}  // namespace tillit::cli
