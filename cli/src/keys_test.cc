// Tests of `tillit keys rotate`, `tillit keygen` and `tillit decrypt`.
#include "src/keys.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "src/cli_fixture.h"
#include "tillit/crypto/encoding.h"
#include "tillit/research/sealed.h"
#include "tillit/testing/fault_injection_env.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

// The key files are written through the Env given: each failed step is an
// IoError that leaves no key file, no public key file and no temporary one.
TEST_F(CliTest, KeyPairFilesGoThroughTheEnvAndAFailureLeavesNone) {
  using testing::FaultOp;
  const std::string prefix = dir_ + "/researcher";
  auto expect_none = [&](const std::string& step) {
    for (const char* suffix : {".key", ".pub", ".key.tmp", ".pub.tmp"})
      EXPECT_FALSE(fs::exists(prefix + suffix)) << step << " " << suffix;
  };
  struct Case {
    FaultOp op;
    int nth;
    bool replace;
  };
  for (const Case& c :
       {Case{FaultOp::kCreate, 1, false}, Case{FaultOp::kCreate, 2, false},
        Case{FaultOp::kWrite, 1, false}, Case{FaultOp::kWrite, 2, false},
        Case{FaultOp::kSync, 1, false}, Case{FaultOp::kSync, 2, false},
        Case{FaultOp::kSyncDirectory, 1, false}, Case{FaultOp::kWrite, 1, true},
        Case{FaultOp::kSync, 2, true}, Case{FaultOp::kRename, 1, true},
        Case{FaultOp::kRename, 2, true}}) {
    const std::string step = std::to_string(static_cast<int>(c.op)) + "/" +
                             std::to_string(c.nth) +
                             (c.replace ? " replace" : "");
    testing::FaultInjectionEnv env;
    env.FailNth(c.op, c.nth, ENOSPC);
    StatusOr<std::string> made = MakeKeyPairFiles(prefix, c.replace, &env);
    ASSERT_FALSE(made.ok()) << step;
    EXPECT_EQ(made.status().code(), StatusCode::kIoError) << step;
    EXPECT_NE(made.status().message().find("No space left on device"),
              std::string::npos)
        << made.status().message();
    EXPECT_EQ(env.Count(c.op), c.nth) << step;
    expect_none(step);
  }
}

TEST_F(CliTest, KeyPairFilesSurviveAPowerCutAndAreNeverOverwritten) {
  const std::string prefix = dir_ + "/researcher";
  testing::FaultInjectionEnv env;
  StatusOr<std::string> made = MakeKeyPairFiles(prefix, false, &env);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadWhole(prefix + ".pub"), *made + "\n");
  const std::string key = ReadWhole(prefix + ".key");
  EXPECT_FALSE(key.empty());
  // Exclusive creation: a second pair is refused and changes nothing.
  EXPECT_EQ(MakeKeyPairFiles(prefix, false, &env).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadWhole(prefix + ".key"), key);
  EXPECT_EQ(ReadWhole(prefix + ".pub"), *made + "\n");
}

// Seals `members` to the public key in PREFIX.pub into `path`.
void SealRelease(
    const std::string& prefix, const std::string& path,
    const std::vector<std::pair<std::string, std::string>>& members) {
  std::ifstream pub(prefix + ".pub");
  std::string line;
  std::getline(pub, line);
  auto decoded = crypto::Base64Decode(line);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->size(), 32u);
  crypto::X25519PublicKey pk;
  std::copy(decoded->begin(), decoded->end(), pk.begin());
  std::ofstream file(path, std::ios::binary);
  auto w =
      research::SealedWriter::Start(pk, [&file](std::span<const uint8_t> b) {
        file.write(reinterpret_cast<const char*>(b.data()),
                   static_cast<std::streamsize>(b.size()));
        return file ? Status::Ok() : Status::IoError("write");
      });
  ASSERT_TRUE(w.ok());
  for (const auto& [name, bytes] : members)
    ASSERT_TRUE((*w)->Append(name, bytes).ok());
  ASSERT_TRUE((*w)->Finish().ok());
}

TEST_F(CliTest, DecryptOpensAReleaseSealedToAKeygenKey) {
  const std::string prefix = dir_ + "/researcher";
  ASSERT_EQ(Tillit({"keygen", "--out", prefix}).code, 0);
  const std::string release = dir_ + "/release.tillit";
  const std::string big(200000, 'o');
  SealRelease(prefix, release,
              {{"Patient.ndjson", "{\"id\":\"p1\"}\n"},
               {"Observation.ndjson", big},
               {"manifest.json", "{\"study\":\"s_1\"}"}});
  const std::string out = dir_ + "/opened";
  Result r = Tillit(
      {"decrypt", "--key", prefix + ".key", "--out", out, "--json", release});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["out"], out);
  ASSERT_EQ(j["members"].size(), 3u);
  EXPECT_EQ(j["members"][0]["name"], "Patient.ndjson");
  EXPECT_EQ(j["members"][1]["name"], "Observation.ndjson");
  EXPECT_EQ(j["members"][1]["bytes"], 200000);
  EXPECT_EQ(j["members"][2]["name"], "manifest.json");
  EXPECT_EQ(ReadWhole(out + "/Patient.ndjson"), "{\"id\":\"p1\"}\n");
  EXPECT_EQ(ReadWhole(out + "/Observation.ndjson"), big);
  EXPECT_EQ(ReadWhole(out + "/manifest.json"), "{\"study\":\"s_1\"}");
  // The secret key never reaches the output.
  std::string secret = ReadWhole(prefix + ".key");
  secret.pop_back();  // newline
  EXPECT_EQ(r.out.find(secret), std::string::npos);
  EXPECT_EQ(r.err.find(secret), std::string::npos);

  // Without --json: one line per member. A second run refuses to overwrite.
  const std::string out2 = dir_ + "/opened2";
  Result text =
      Tillit({"decrypt", "--key", prefix + ".key", "--out", out2, release});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("wrote 3 members"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("manifest.json"), std::string::npos);
  Result again =
      Tillit({"decrypt", "--key", prefix + ".key", "--out", out2, release});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
}

TEST_F(CliTest, DecryptRefusesABadFileAndWritesNothing) {
  const std::string prefix = dir_ + "/researcher";
  ASSERT_EQ(Tillit({"keygen", "--out", prefix}).code, 0);
  ASSERT_EQ(Tillit({"keygen", "--out", dir_ + "/other"}).code, 0);
  const std::string release = dir_ + "/release.tillit";
  SealRelease(prefix, release, {{"manifest.json", std::string(100000, 'm')}});
  const std::string good = ReadWhole(release);
  const std::string out = dir_ + "/opened";
  auto run = [&](const std::string& bytes, const std::string& key) {
    std::ofstream(dir_ + "/bad.tillit", std::ios::binary) << bytes;
    return Tillit(
        {"decrypt", "--key", key, "--out", out, dir_ + "/bad.tillit"});
  };
  auto expect_refused = [&](const Result& r, const std::string& why) {
    EXPECT_EQ(r.code, 1) << why;
    EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out));
    for (const auto& e : fs::directory_iterator(dir_))
      EXPECT_EQ(e.path().filename().string().find(".opened"), std::string::npos)
          << e.path();
  };
  std::string altered = good;
  altered[good.size() - 100] ^= 1;
  expect_refused(run(altered, prefix + ".key"), "altered");
  expect_refused(run(good.substr(0, good.size() - 1), prefix + ".key"),
                 "truncated");
  expect_refused(run(good.substr(0, 116 + 65553), prefix + ".key"),
                 "truncated");
  expect_refused(run(good + "x", prefix + ".key"), "extended");
  expect_refused(run(good + std::string(70000, 'x'), prefix + ".key"),
                 "extended");
  expect_refused(run(good, dir_ + "/other.key"), "not sealed to this key");
  expect_refused(run("{\"resourceType\":\"Bundle\"}", prefix + ".key"),
                 "not a tillit release");
  // A public key file is not a secret key (and is world-readable).
  expect_refused(run(good, prefix + ".pub"), "0600");
}

TEST_F(CliTest, DecryptUsageErrors) {
  const std::string prefix = dir_ + "/researcher";
  ASSERT_EQ(Tillit({"keygen", "--out", prefix}).code, 0);
  const std::string key = prefix + ".key", out = dir_ + "/out";
  EXPECT_EQ(Tillit({"decrypt", "--out", out, "f"}).code, 2);
  EXPECT_EQ(Tillit({"decrypt", "--key", key, "f"}).code, 2);
  EXPECT_EQ(Tillit({"decrypt", "--key", key, "--out", out}).code, 2);
  EXPECT_EQ(Tillit({"decrypt", "--key", key, "--out", out, "a", "b"}).code, 2);
  EXPECT_EQ(
      Tillit({"decrypt", "--key", key, "--out", out, "--bogus", "f"}).code, 2);
  Result help = Tillit({"decrypt", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--key PREFIX.key --out DIR"), std::string::npos);
  Result missing = Tillit({"decrypt", "--key", key, "--out", out, "nope"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace tillit::cli
