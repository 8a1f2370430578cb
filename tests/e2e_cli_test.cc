// End-to-end tests of the `tillit` binary over the 32 shared Synthea
// bundles: what a newcomer and an attacker with disk access would see.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tillit/audit/audit_log.h"
#include "tillit/crypto/kdf.h"
#include "tillit/research/privacy_ledger.h"
#include "tillit/storage/database.h"
#include "tillit/vault/vault.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kTillit = std::string(TILLIT_BINARY_DIR) + "/cli/tillit";
const std::string kFixtures = TILLIT_FIXTURES_DIR;

struct Result {
  int code;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

// Shared by the tests: one data directory with all 32 bundles imported.
class EndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-e2e-XXXXXX").string();
    root_ = mkdtemp(tmpl.data());
    data_ = root_ + "/data";
    for (const auto& e : fs::directory_iterator(kFixtures)) {
      if (e.path().extension() == ".json")
        fixtures_.push_back(e.path().string());
    }
    std::sort(fixtures_.begin(), fixtures_.end());
    Result init = Tillit({"init", "--data", data_, "--json"});
    ASSERT_EQ(init.code, 0) << init.err;
    import_ = Tillit({"import", "--data", data_, "--json", kFixtures});
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static Result Tillit(const std::vector<std::string>& args) {
    std::string cmd = kTillit;
    for (const auto& a : args) cmd += " '" + a + "'";
    const std::string out = root_ + "/stdout", err = root_ + "/stderr";
    cmd += " >" + out + " 2>" + err + " </dev/null";
    int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadAll(out),
            ReadAll(err)};
  }

  // A private copy of the shared data directory for destructive tests.
  std::string CopyData(const std::string& name) {
    const std::string dst = root_ + "/" + name;
    fs::remove_all(dst);
    fs::copy(data_, dst, fs::copy_options::recursive);
    return dst;
  }

  static std::string root_, data_;
  static std::vector<std::string> fixtures_;
  static Result import_;
};

std::string EndToEnd::root_, EndToEnd::data_;
std::vector<std::string> EndToEnd::fixtures_;
Result EndToEnd::import_;

// The bundle's own resource counts, computed from its JSON.
std::map<std::string, int> CountsOf(const json& bundle) {
  std::map<std::string, int> counts;
  for (const auto& e : bundle["entry"]) counts[e["resource"]["resourceType"]]++;
  return counts;
}

TEST_F(EndToEnd, AllFixturesImportWithTheirOwnCounts) {
  ASSERT_EQ(fixtures_.size(), 32u);
  ASSERT_EQ(import_.code, 0) << import_.err;
  json report = json::parse(import_.out);
  EXPECT_TRUE(report["rejected"].empty()) << report["rejected"].dump();
  ASSERT_EQ(report["citizens"].size(), 32u);

  std::map<std::string, json> by_patient;
  for (const auto& c : report["citizens"]) by_patient[c["source_patient"]] = c;
  Result list = Tillit({"citizen", "list", "--data", data_, "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  std::map<std::string, json> stored;
  for (const auto& c : json::parse(list.out)) stored[c["citizen_id"]] = c;
  ASSERT_EQ(stored.size(), 32u);

  for (const std::string& file : fixtures_) {
    json bundle = json::parse(ReadAll(file));
    std::string patient;
    for (const auto& e : bundle["entry"]) {
      if (e["resource"]["resourceType"] == "Patient")
        patient = e["resource"]["id"];
    }
    ASSERT_TRUE(by_patient.count(patient)) << file;
    const json& reported = by_patient[patient];
    const json& in_vault = stored[reported["citizen_id"].get<std::string>()];
    const auto expected = CountsOf(bundle);
    int total = 0;
    for (const auto& [type, n] : expected) {
      EXPECT_EQ(reported["by_type"].value(type, -1), n) << file << " " << type;
      EXPECT_EQ(in_vault["by_type"].value(type, -1), n) << file << " " << type;
      total += n;
    }
    EXPECT_EQ(reported["by_type"].size(), expected.size()) << file;
    EXPECT_EQ(in_vault["records"], total) << file;
    EXPECT_EQ(reported["imported"], total) << file;
    int by_category_total = 0;
    for (const auto& [cat, n] : in_vault["by_category"].items())
      by_category_total += n.get<int>();
    EXPECT_EQ(by_category_total, total) << file;
  }
}

TEST_F(EndToEnd, ReimportAddsNothing) {
  const std::string data = CopyData("reimport");
  Result again = Tillit({"import", "--data", data, "--json", fixtures_[0]});
  ASSERT_EQ(again.code, 0) << again.err;
  Result list = Tillit({"citizen", "list", "--data", data, "--json"});
  EXPECT_EQ(json::parse(list.out).size(), 32u);
}

TEST_F(EndToEnd, NoPlaintextOnDisk) {
  // Names of every patient in the fixtures.
  std::set<std::string> names;
  for (const std::string& file : fixtures_) {
    json bundle = json::parse(ReadAll(file));
    for (const auto& e : bundle["entry"]) {
      const json& r = e["resource"];
      if (r["resourceType"] != "Patient") continue;
      for (const auto& n : r.value("name", json::array())) {
        if (n.contains("family")) names.insert(n["family"].get<std::string>());
        for (const auto& g : n.value("given", json::array()))
          names.insert(g.get<std::string>());
      }
    }
  }
  ASSERT_GT(names.size(), 32u);
  size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_)) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string bytes = ReadAll(e.path());
    EXPECT_EQ(bytes.find("resourceType"), std::string::npos) << e.path();
    EXPECT_EQ(bytes.find("SQLite format 3"), std::string::npos) << e.path();
    for (const std::string& name : names) {
      // Ciphertext is random: a bare 4-letter name turns up by chance in
      // ~12 MB of it about once in 40 runs. Short names are looked for as
      // the quoted JSON strings plaintext would hold; from 6 letters on,
      // a chance match is below one in a million runs.
      const std::string needle = name.size() >= 6 ? name : "\"" + name + "\"";
      EXPECT_EQ(bytes.find(needle), std::string::npos)
          << e.path() << " contains the name " << needle;
    }
  }
  EXPECT_GE(files, 34u);  // 32 citizens + registry + vault.json + key
}

TEST_F(EndToEnd, BrokenBundleStoresNothing) {
  const std::string data = CopyData("broken");
  json bundle = json::parse(ReadAll(fixtures_[1]));
  // A fresh patient (so nothing is deduplicated), broken at entry 5.
  for (auto& e : bundle["entry"]) {
    if (e["resource"]["resourceType"] == "Patient")
      e["resource"]["id"] = "fresh-patient-1";
  }
  bundle["entry"][5]["resource"].erase("resourceType");
  const std::string file = root_ + "/broken.json";
  WriteAll(file, bundle.dump());
  Result r = Tillit({"import", "--data", data, "--json", file});
  EXPECT_EQ(r.code, 1);
  json report = json::parse(r.out);
  ASSERT_EQ(report["rejected"].size(), 1u);
  EXPECT_EQ(report["rejected"][0]["file"], file);
  EXPECT_NE(report["rejected"][0]["error"].get<std::string>().find("entry 5"),
            std::string::npos)
      << report.dump();
  EXPECT_EQ(
      json::parse(Tillit({"citizen", "list", "--data", data, "--json"}).out)
          .size(),
      32u);
  size_t citizen_files = 0;
  for (const auto& e : fs::directory_iterator(data + "/citizens")) {
    if (e.path().extension() == ".db") ++citizen_files;
  }
  EXPECT_EQ(citizen_files, 32u);
}

TEST_F(EndToEnd, WrongRootKeyIsRefused) {
  const std::string data = CopyData("wrongkey");
  const std::string other = root_ + "/other";
  fs::remove_all(other);
  ASSERT_EQ(Tillit({"init", "--data", other}).code, 0);
  fs::copy_file(other + "/root.key", data + "/root.key",
                fs::copy_options::overwrite_existing);
  Result r = Tillit({"citizen", "list", "--data", data});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("wrong key file"), std::string::npos) << r.err;
}

std::string FirstCitizen(const std::string& list_json) {
  return json::parse(list_json)[0]["citizen_id"];
}

TEST_F(EndToEnd, FlippedByteInACitizenFileIsDetected) {
  const std::string data = CopyData("flipped");
  const std::string id =
      FirstCitizen(Tillit({"citizen", "list", "--data", data, "--json"}).out);
  ASSERT_EQ(Tillit({"citizen", "verify", "--data", data, id}).code, 0);
  const std::string file = data + "/citizens/" + id + ".db";
  std::string bytes = ReadAll(file);
  bytes[bytes.size() / 2] ^= 0x20;
  WriteAll(file, bytes);
  Result r = Tillit({"citizen", "verify", "--data", data, "--json", id});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(json::parse(r.out)[0]["ok"], false);
}

TEST_F(EndToEnd, RolledBackCitizenFileIsRefused) {
  const std::string data = CopyData("rollback");
  const std::string id =
      FirstCitizen(Tillit({"citizen", "list", "--data", data, "--json"}).out);
  const std::string file = data + "/citizens/" + id + ".db";
  const std::string old_copy = ReadAll(file);
  // One more write to this citizen: a new record in an NDJSON file.
  const std::string nd = root_ + "/extra.ndjson";
  WriteAll(
      nd,
      R"({"resourceType":"Observation","id":"extra-1","status":"final","code":{"text":"x"},"effectiveDateTime":"2024-01-01"})"
      "\n");
  Result add = Tillit({"import", "--data", data, "--citizen", id, nd});
  ASSERT_EQ(add.code, 0) << add.err;
  WriteAll(file, old_copy);
  Result r = Tillit({"citizen", "list", "--data", data});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("rolled back"), std::string::npos) << r.err;
}

TEST_F(EndToEnd, ErasedCitizenCannotBeDecryptedFromEarlierCopies) {
  const std::string data = CopyData("erase");
  const std::string before = CopyData("erase-before");  // the attacker's copy
  const std::string id =
      FirstCitizen(Tillit({"citizen", "list", "--data", data, "--json"}).out);
  Result erase = Tillit({"citizen", "erase", "--data", data, "--yes", id});
  ASSERT_EQ(erase.code, 0) << erase.err;
  EXPECT_FALSE(fs::exists(data + "/citizens/" + id + ".db"));
  EXPECT_EQ(
      json::parse(Tillit({"citizen", "list", "--data", data, "--json"}).out)
          .size(),
      31u);

  // The old copy with today's key file: the vault does not open at all...
  fs::copy_file(data + "/root.key", before + "/root.key",
                fs::copy_options::overwrite_existing);
  EXPECT_EQ(Tillit({"citizen", "list", "--data", before}).code, 1);
  // ...and with today's vault.json, the old registry opens but the erased
  // citizen's old file cannot be decrypted.
  fs::copy_file(data + "/vault.json", before + "/vault.json",
                fs::copy_options::overwrite_existing);
  Result r = Tillit({"citizen", "verify", "--data", before, "--json", id});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("cannot be unwrapped"), std::string::npos) << r.out;
}

TEST_F(EndToEnd, ImportsAreAuditedAndTheLogVerifies) {
  const std::string data = CopyData("audit");
  Result verify = Tillit({"audit", "verify", "--data", data, "--json"});
  ASSERT_EQ(verify.code, 0) << verify.out << verify.err;
  json report = json::parse(verify.out);
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["entries"], 32);  // one records.import entry per citizen
  EXPECT_GE(report["checkpoints"].get<int>(), 1);
  Result list =
      Tillit({"audit", "list", "--data", data, "--json", "--limit", "1000"});
  ASSERT_EQ(list.code, 0) << list.err;
  for (const auto& e : json::parse(list.out)) {
    EXPECT_EQ(e["action"], "records.import");
    EXPECT_EQ(e["actor_kind"], "operator");
  }
  // Save a checkpoint, erase a citizen (logged first), verify against it.
  Result note = Tillit({"audit", "checkpoint", "--data", data});
  ASSERT_EQ(note.code, 0);
  WriteAll(root_ + "/saved.note", note.out);
  const std::string id =
      FirstCitizen(Tillit({"citizen", "list", "--data", data, "--json"}).out);
  ASSERT_EQ(Tillit({"citizen", "erase", "--data", data, "--yes", id}).code, 0);
  Result after = Tillit({"audit", "verify", "--data", data, "--checkpoint",
                         root_ + "/saved.note", "--json"});
  EXPECT_EQ(after.code, 0) << after.out;
  EXPECT_EQ(json::parse(after.out)["entries"], 33);
  Result erased =
      Tillit({"audit", "list", "--data", data, "--json", "--citizen", id});
  ASSERT_EQ(json::parse(erased.out).size(), 2u);  // import, then erase
  EXPECT_EQ(json::parse(erased.out)[0]["action"], "citizen.erase");
}

TEST_F(EndToEnd, DamagedAuditLogFailsVerification) {
  const std::string data = CopyData("audit-damaged");
  const std::string file = data + "/audit.db";
  std::string bytes = ReadAll(file);
  ASSERT_GT(bytes.size(), 8192u);
  bytes[bytes.size() - 100] ^= 0x01;
  WriteAll(file, bytes);
  Result r = Tillit({"audit", "verify", "--data", data});
  EXPECT_NE(r.code, 0);
}

// ------------------------------------------------------------ data formats

// Writes `version` into the header of the data directory's `file`
// (registry.db or audit.db, keyed by `context`), as a newer tillit would.
void StampFuture(const std::string& data, tillit::crypto::KdfContext context,
                 const std::string& file, int64_t version) {
  tillit::vault::VaultOptions o;
  o.data_dir = data;
  auto vault = tillit::vault::Vault::Open(o);
  ASSERT_TRUE(vault.ok()) << vault.status().ToString();
  auto key = (*vault)->DeriveKey(context, 1);
  ASSERT_TRUE(key.ok());
  vault->reset();
  auto db = tillit::storage::Database::Open(
      data + "/" + file, &*key, {}, [version](tillit::storage::Database& d) {
        std::string sql = "PRAGMA user_version = ";
        sql += std::to_string(version);
        return d.Exec(sql.c_str());
      });
  ASSERT_TRUE(db.ok()) << db.status().ToString();
}

std::string NewerMessage(const std::string& what, int64_t found,
                         int64_t supported) {
  return what + ": format " + std::to_string(found) +
         " is newer than this tillit supports (" + std::to_string(supported) +
         "); upgrade tillit";
}

TEST_F(EndToEnd, RegistryFromANewerTillitIsRefused) {
  const std::string data = CopyData("future-registry");
  const int64_t current = tillit::vault::Vault::kRegistrySchemaVersion;
  StampFuture(data, tillit::crypto::kContextRegistry, "registry.db",
              current + 1);
  const std::string message =
      NewerMessage("registry at registry.db", current + 1, current);
  Result r = Tillit({"citizen", "list", "--data", data});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  // Refusing changed nothing: a second run is refused the same way.
  Result again = Tillit({"citizen", "list", "--data", data});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find(message), std::string::npos) << again.err;
}

TEST_F(EndToEnd, AuditLogFromANewerTillitIsRefused) {
  const std::string data = CopyData("future-audit");
  ASSERT_TRUE(fs::exists(data + "/audit.db"));
  const int64_t current = tillit::audit::AuditLog::kSchemaVersion;
  StampFuture(data, tillit::crypto::KdfContext::kAuditDatabase, "audit.db",
              current + 1);
  Result r = Tillit({"audit", "verify", "--data", data});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(
      r.err.find(NewerMessage("audit log at audit.db", current + 1, current)),
      std::string::npos)
      << r.err;
}

TEST_F(EndToEnd, PrivacyLedgerFromANewerTillitIsRefused) {
  const std::string data = CopyData("future-privacy");
  // The ledger is made by the first verb that needs it.
  Result made =
      Tillit({"study", "budget", "--data", data, "--default-citizen-cap", "2"});
  ASSERT_EQ(made.code, 0) << made.err;
  ASSERT_TRUE(fs::exists(data + "/privacy.db"));
  const int64_t current = tillit::research::PrivacyLedger::kSchemaVersion;
  StampFuture(data, tillit::crypto::KdfContext::kPrivacyLedger, "privacy.db",
              current + 1);
  Result r =
      Tillit({"study", "budget", "--data", data, "--default-citizen-cap"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(NewerMessage("privacy ledger at privacy.db", current + 1,
                                    current)),
            std::string::npos)
      << r.err;
}

TEST_F(EndToEnd, DataDirectoryFromANewerTillitIsRefused) {
  const std::string data = CopyData("future-vault-json");
  json j = json::parse(ReadAll(data + "/vault.json"));
  const int64_t current = tillit::vault::Vault::kDataDirFormatVersion;
  j["version"] = current + 1;
  WriteAll(data + "/vault.json", j.dump());
  Result r = Tillit({"citizen", "list", "--data", data});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(NewerMessage("data directory at vault.json", current + 1,
                                    current)),
            std::string::npos)
      << r.err;
}

}  // namespace
