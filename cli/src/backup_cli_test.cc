// Tests of `tillit backup`, `tillit backup verify` and `tillit restore`,
// through RunCli.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "src/cli_fixture.h"
#include "tillit/fhir/synthetic.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// backup_: DIR/backup, not created.
class BackupCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    backup_ = dir_ + "/backup";
  }

  // A vault at data_ (`tillit init`, key at data_/root.key) with `n`
  // imported synthetic citizens; returns their ids.
  std::vector<std::string> InitWithCitizens(int n) {
    EXPECT_EQ(Tillit({"init", "--data", data_}).code, 0);
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) ids.push_back(ImportCitizen(i));
    return ids;
  }

  // Imports the synthetic bundle number `index`; returns the citizen's id.
  std::string ImportCitizen(uint64_t index) {
    const std::string path =
        dir_ + "/bundle-" + std::to_string(index) + ".json";
    std::ofstream(path) << fhir::GenerateSyntheticBundle(2026, index);
    Result r = Tillit({"import", "--data", data_, "--json", path});
    EXPECT_EQ(r.code, 0) << r.err;
    if (r.code != 0) return "";
    return json::parse(r.out)["citizens"][0]["citizen_id"];
  }

  // `tillit backup --data data_ --out backup_ --json`, parsed.
  json Backup(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"backup", "--data", data_,
                                     "--out",  backup_,  "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    Result r = Tillit(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? json::parse(r.out) : json();
  }

  // A copy of the vault's key file as it is now (mode 0600).
  std::string CopyKeyFile(const std::string& name) {
    const std::string copy = dir_ + "/" + name;
    fs::copy_file(data_ + "/root.key", copy);
    fs::permissions(copy, fs::perms::owner_read | fs::perms::owner_write);
    return copy;
  }

  std::string CitizenList(const std::string& data_dir) {
    Result r = Tillit({"citizen", "list", "--data", data_dir, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }

  // The names in `dir` (not recursive).
  static std::set<std::string> Entries(const std::string& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
      names.insert(e.path().filename().string());
    return names;
  }

  std::string backup_;
};

// (a) A backup restored with the key file is the vault as it was: the
// same citizens and records, and an audit log that verifies.
TEST_F(BackupCliTest, RestoredVaultHasTheSameCitizensAndAVerifiedAuditLog) {
  InitWithCitizens(3);
  json b = Backup();
  EXPECT_EQ(b["citizens"], 3);
  EXPECT_EQ(b["copied"], b["files"]);
  EXPECT_EQ(b["skipped"], 0);
  EXPECT_EQ(b["bytes_copied"], b["bytes"]);
  EXPECT_GT(b["audit_entries"].get<uint64_t>(), 0u);
  EXPECT_EQ(b["root_key_version"], 1);
  EXPECT_EQ(b["key_included"], false);
  EXPECT_EQ(b["out"], fs::absolute(backup_).lexically_normal().string());
  // No root keys in it, and the citizens' data is not in plaintext.
  EXPECT_FALSE(fs::exists(backup_ + "/root.key"));
  EXPECT_TRUE(fs::exists(backup_ + "/manifest.json"));
  EXPECT_TRUE(fs::exists(backup_ + "/manifest.sig"));
  for (const auto& e : fs::directory_iterator(backup_ + "/citizens")) {
    EXPECT_EQ(ReadWhole(e.path().string()).find("SQLite format"),
              std::string::npos)
        << e.path();
  }

  const std::string restored = dir_ + "/restored";
  Result r = Tillit({"restore", "--from", backup_, "--data", restored,
                     "--key-file", data_ + "/root.key", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["citizens"], 3);
  EXPECT_EQ(j["audit_entries"], b["audit_entries"]);
  EXPECT_EQ(j["bytes"], b["bytes"]);
  EXPECT_EQ(j["data_dir"], fs::absolute(restored).lexically_normal().string());
  EXPECT_EQ(j["root_key_version"], 1);
  EXPECT_GT(j["created"].get<int64_t>(), 0);

  // The restored vault opens with the key file copied into it.
  EXPECT_EQ(CitizenList(restored), CitizenList(data_));
  EXPECT_EQ(json::parse(CitizenList(restored)).size(), 3u);
  Result audit = Tillit({"audit", "verify", "--data", restored});
  EXPECT_EQ(audit.code, 0) << audit.out << audit.err;
  Result stores = Tillit({"citizen", "verify", "--data", restored});
  EXPECT_EQ(stores.code, 0) << stores.out << stores.err;

  // The text forms.
  Result text = Tillit({"restore", "--from", backup_, "--data", dir_ + "/again",
                        "--key-file", data_ + "/root.key"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("restored 3 citizens, ", 0), 0u) << text.out;
  EXPECT_NE(text.out.find(" into " + dir_ + "/again (backup of "),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find(" UTC, root-key version 1)"), std::string::npos)
      << text.out;
  Result again = Tillit({"backup", "--data", data_, "--out", backup_});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.out.rfind("backed up 3 citizens and ", 0), 0u) << again.out;
  EXPECT_NE(again.out.find("no root keys in it"), std::string::npos)
      << again.out;
}

// (b) Taken again into the same directory, a backup copies what changed
// and keeps the citizen stores that did not.
TEST_F(BackupCliTest, SecondBackupIntoTheSameDirectoryIsIncremental) {
  InitWithCitizens(3);
  Backup();
  const std::string added = ImportCitizen(3);
  json second = Backup();
  EXPECT_EQ(second["citizens"], 4);
  EXPECT_GE(second["skipped"].get<uint64_t>(), 3u) << second.dump();
  // At least the new citizen, the registry and the audit log are copied.
  EXPECT_GE(second["copied"].get<uint64_t>(), 3u) << second.dump();
  EXPECT_EQ(
      second["copied"].get<uint64_t>() + second["skipped"].get<uint64_t>(),
      second["files"].get<uint64_t>());
  EXPECT_LT(second["bytes_copied"].get<uint64_t>(),
            second["bytes"].get<uint64_t>());
  EXPECT_TRUE(fs::exists(backup_ + "/citizens/" + added + ".db"));

  // The incremental backup is whole: it verifies and restores all four.
  Result v = Tillit({"backup", "verify", backup_, "--key-file",
                     data_ + "/root.key", "--json"});
  ASSERT_EQ(v.code, 0) << v.err;
  EXPECT_EQ(json::parse(v.out)["citizens"], 4);
  const std::string restored = dir_ + "/restored";
  ASSERT_EQ(Tillit({"restore", "--from", backup_, "--data", restored,
                    "--key-file", data_ + "/root.key"})
                .code,
            0);
  EXPECT_EQ(CitizenList(restored), CitizenList(data_));
}

// (c) `backup verify`: without keys the signature and every hash; with
// them (given or included) every store and the audit log too, in a
// scratch directory that does not outlive it.
TEST_F(BackupCliTest, VerifyWithAndWithoutTheKeys) {
  InitWithCitizens(2);
  json b = Backup();
  const std::set<std::string> before = Entries(dir_);

  Result without = Tillit({"backup", "verify", backup_, "--json"});
  ASSERT_EQ(without.code, 0) << without.err;
  json j = json::parse(without.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["keys_used"], false);
  EXPECT_EQ(j["files"], b["files"]);
  EXPECT_EQ(j["bytes"], b["bytes"]);
  EXPECT_EQ(j["citizens"], 2);  // as the signed manifest lists them
  EXPECT_EQ(j["audit_entries"], b["audit_entries"]);
  EXPECT_EQ(j["root_key_version"], 1);
  EXPECT_GT(j["created"].get<int64_t>(), 0);
  Result text = Tillit({"backup", "verify", backup_});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("backup checked without keys: ", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("give --key-file"), std::string::npos) << text.out;

  Result with = Tillit({"backup", "verify", backup_, "--key-file",
                        data_ + "/root.key", "--json"});
  ASSERT_EQ(with.code, 0) << with.err;
  json k = json::parse(with.out);
  EXPECT_EQ(k["ok"], true);
  EXPECT_EQ(k["keys_used"], true);
  EXPECT_EQ(k["citizens"], 2);
  EXPECT_EQ(k["audit_entries"], b["audit_entries"]);
  EXPECT_EQ(k["files"], b["files"]);
  Result with_text =
      Tillit({"backup", "verify", backup_, "--key-file", data_ + "/root.key"});
  ASSERT_EQ(with_text.code, 0) << with_text.err;
  EXPECT_EQ(with_text.out.rfind("backup verified: ", 0), 0u) << with_text.out;
  EXPECT_NE(with_text.out.find("2 citizen stores open and verify; audit log "
                               "of "),
            std::string::npos)
      << with_text.out;

  // $TILLIT_KEY_FILE names the key file too.
  setenv("TILLIT_KEY_FILE", (data_ + "/root.key").c_str(), 1);
  Result from_env = Tillit({"backup", "verify", backup_, "--json"});
  unsetenv("TILLIT_KEY_FILE");
  ASSERT_EQ(from_env.code, 0) << from_env.err;
  EXPECT_EQ(json::parse(from_env.out)["keys_used"], true);

  // No scratch directory is left, and the backup is unchanged.
  EXPECT_EQ(Entries(dir_), before);
  EXPECT_EQ(Tillit({"backup", "verify", backup_}).code, 0);

  // A backup holding its keys verifies in full and restores alone.
  const std::string with_keys = dir_ + "/with-keys";
  Result inc = Tillit({"backup", "--data", data_, "--out", with_keys,
                       "--include-key-file", "--json"});
  ASSERT_EQ(inc.code, 0) << inc.err;
  EXPECT_EQ(json::parse(inc.out)["key_included"], true);
  EXPECT_TRUE(fs::exists(with_keys + "/root.key"));
  Result full = Tillit({"backup", "verify", with_keys, "--json"});
  ASSERT_EQ(full.code, 0) << full.err;
  EXPECT_EQ(json::parse(full.out)["keys_used"], true);
  EXPECT_EQ(json::parse(full.out)["citizens"], 2);
  const std::string restored = dir_ + "/restored";
  Result alone = Tillit({"restore", "--from", with_keys, "--data", restored});
  ASSERT_EQ(alone.code, 0) << alone.err;
  EXPECT_EQ(CitizenList(restored), CitizenList(data_));

  // A backup without keys does not restore without the key file.
  const std::string keyless = dir_ + "/keyless";
  Result no_key = Tillit({"restore", "--from", backup_, "--data", keyless});
  EXPECT_EQ(no_key.code, 1);
  EXPECT_NE(no_key.err.find("--key-file"), std::string::npos) << no_key.err;
  EXPECT_FALSE(fs::exists(keyless));
}

// (d) A restore never writes over data: a non-empty target is refused
// and left as it was.
TEST_F(BackupCliTest, RestoreRefusesANonEmptyDirectory) {
  InitWithCitizens(1);
  Backup();
  const std::string busy = dir_ + "/busy";
  fs::create_directories(busy);
  std::ofstream(busy + "/notes.txt") << "mine";
  Result r = Tillit({"restore", "--from", backup_, "--data", busy, "--key-file",
                     data_ + "/root.key"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("tillit restore: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("not empty"), std::string::npos) << r.err;
  EXPECT_EQ(Entries(busy), std::set<std::string>{"notes.txt"});
  EXPECT_EQ(ReadWhole(busy + "/notes.txt"), "mine");
  // The live vault is a non-empty directory too.
  Result live = Tillit({"restore", "--from", backup_, "--data", data_,
                        "--key-file", data_ + "/root.key"});
  EXPECT_EQ(live.code, 1);
  EXPECT_EQ(json::parse(CitizenList(data_)).size(), 1u);
  // An empty directory is a new one.
  const std::string empty = dir_ + "/empty";
  fs::create_directories(empty);
  EXPECT_EQ(Tillit({"restore", "--from", backup_, "--data", empty, "--key-file",
                    data_ + "/root.key"})
                .code,
            0);
  EXPECT_EQ(CitizenList(empty), CitizenList(data_));
}

// (e) One changed byte in a citizen's file: verify names the file, and a
// restore refuses it and leaves nothing behind.
TEST_F(BackupCliTest, AChangedByteIsNamedAndNothingIsRestored) {
  InitWithCitizens(2);
  Backup();
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(backup_ + "/citizens"))
    files.push_back(e.path().filename().string());
  ASSERT_FALSE(files.empty());
  std::sort(files.begin(), files.end());
  const std::string name = "citizens/" + files[0];
  const std::string path = backup_ + "/" + name;
  std::string bytes = ReadWhole(path);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() / 2] ^= 0x01;
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  ASSERT_EQ(ReadWhole(path), bytes);
  const std::set<std::string> before = Entries(dir_);

  Result v = Tillit({"backup", "verify", backup_, "--json"});
  EXPECT_EQ(v.code, 1);
  EXPECT_EQ(v.err.rfind("tillit backup verify: ", 0), 0u) << v.err;
  EXPECT_NE(v.err.find(name), std::string::npos) << v.err;
  json j = json::parse(v.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_NE(j["problem"].get<std::string>().find(name), std::string::npos)
      << j.dump();
  Result keyed =
      Tillit({"backup", "verify", backup_, "--key-file", data_ + "/root.key"});
  EXPECT_EQ(keyed.code, 1);
  EXPECT_EQ(keyed.out, "");
  EXPECT_NE(keyed.err.find(name), std::string::npos) << keyed.err;

  const std::string target = dir_ + "/restored";
  Result r = Tillit({"restore", "--from", backup_, "--data", target,
                     "--key-file", data_ + "/root.key"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(target));
  EXPECT_EQ(Entries(dir_), before);  // no half-restored directory beside
}

// (f) Usage errors exit 2 and do nothing; failures exit 1.
TEST_F(BackupCliTest, UsageErrorsExit2) {
  InitWithCitizens(0);
  Result no_out = Tillit({"backup", "--data", data_});
  EXPECT_EQ(no_out.code, 2);
  EXPECT_NE(no_out.err.find("--out"), std::string::npos) << no_out.err;
  EXPECT_EQ(Tillit({"backup", "--data", data_, "--out", backup_, "extra"}).code,
            2);
  EXPECT_EQ(Tillit({"backup", "--data", data_, "--out", backup_, "--checkpoint",
                    dir_ + "/note"})
                .code,
            2);
  EXPECT_EQ(
      Tillit({"backup", "--data", data_, "--out", backup_, "--bogus"}).code, 2);
  EXPECT_FALSE(fs::exists(backup_));

  EXPECT_EQ(Tillit({"backup", "verify"}).code, 2);
  EXPECT_EQ(Tillit({"backup", "verify", backup_, "extra"}).code, 2);
  EXPECT_EQ(Tillit({"backup", "verify", backup_, "--out", dir_ + "/x"}).code,
            2);
  EXPECT_EQ(Tillit({"backup", "verify", backup_, "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"backup", "verify", backup_, "--include-key-file"}).code,
            2);

  const std::string target = dir_ + "/restored";
  Result no_from = Tillit({"restore", "--data", target});
  EXPECT_EQ(no_from.code, 2);
  EXPECT_NE(no_from.err.find("--from"), std::string::npos) << no_from.err;
  Result no_data = Tillit({"restore", "--from", backup_});
  EXPECT_EQ(no_data.code, 2);
  EXPECT_NE(no_data.err.find("--data"), std::string::npos) << no_data.err;
  // $TILLIT_DATA does not stand in for --data.
  setenv("TILLIT_DATA", target.c_str(), 1);
  EXPECT_EQ(Tillit({"restore", "--from", backup_}).code, 2);
  unsetenv("TILLIT_DATA");
  EXPECT_EQ(
      Tillit({"restore", "--from", backup_, "--data", target, "extra"}).code,
      2);
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(BackupCliTest, FailuresExit1) {
  // No vault to back up.
  Result missing = Tillit({"backup", "--data", data_, "--out", backup_});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err.rfind("tillit backup: ", 0), 0u) << missing.err;
  EXPECT_FALSE(fs::exists(backup_));

  // A directory holding something else is not written into.
  InitWithCitizens(1);
  fs::create_directories(backup_);
  std::ofstream(backup_ + "/thesis.txt") << "mine";
  Result foreign = Tillit({"backup", "--data", data_, "--out", backup_});
  EXPECT_EQ(foreign.code, 1);
  EXPECT_NE(foreign.err.find("thesis.txt"), std::string::npos) << foreign.err;
  EXPECT_EQ(Entries(backup_), std::set<std::string>{"thesis.txt"});

  // Not a backup.
  Result not_backup = Tillit({"backup", "verify", backup_, "--json"});
  EXPECT_EQ(not_backup.code, 1);
  EXPECT_EQ(json::parse(not_backup.out)["ok"], false);
  EXPECT_NE(not_backup.err.find("manifest.json"), std::string::npos)
      << not_backup.err;
  const std::string target = dir_ + "/restored";
  EXPECT_EQ(Tillit({"restore", "--from", backup_, "--data", target,
                    "--key-file", data_ + "/root.key"})
                .code,
            1);
  EXPECT_FALSE(fs::exists(target));

  // An unreadable --checkpoint file.
  fs::remove(backup_ + "/thesis.txt");
  Backup();
  Result no_note =
      Tillit({"backup", "verify", backup_, "--key-file", data_ + "/root.key",
              "--checkpoint", dir_ + "/none.note", "--json"});
  EXPECT_EQ(no_note.code, 1);
  EXPECT_NE(no_note.err.find("--checkpoint"), std::string::npos) << no_note.err;
  EXPECT_EQ(json::parse(no_note.out)["ok"], false);
  Result restore_no_note =
      Tillit({"restore", "--from", backup_, "--data", target, "--key-file",
              data_ + "/root.key", "--checkpoint", dir_ + "/none.note"});
  EXPECT_EQ(restore_no_note.code, 1);
  EXPECT_NE(restore_no_note.err.find("--checkpoint"), std::string::npos)
      << restore_no_note.err;
  EXPECT_FALSE(fs::exists(target));
}

// A checkpoint saved after the backup was taken shows it is older than
// the log: refused as a rollback. One saved before it passes.
TEST_F(BackupCliTest, ABackupOlderThanASavedCheckpointIsARollback) {
  InitWithCitizens(1);
  const std::string then_note = dir_ + "/then.note";
  std::ofstream(then_note)
      << Tillit({"audit", "checkpoint", "--data", data_}).out;
  Backup();
  ImportCitizen(1);
  const std::string now_note = dir_ + "/now.note";
  std::ofstream(now_note)
      << Tillit({"audit", "checkpoint", "--data", data_}).out;
  const std::string key = data_ + "/root.key";

  Result old = Tillit({"backup", "verify", backup_, "--key-file", key,
                       "--checkpoint", then_note});
  EXPECT_EQ(old.code, 0) << old.err;
  Result rolled = Tillit({"backup", "verify", backup_, "--key-file", key,
                          "--checkpoint", now_note});
  EXPECT_EQ(rolled.code, 1);
  EXPECT_NE(rolled.err.find("rollback"), std::string::npos) << rolled.err;
  // Without the keys the log cannot be checked against it: not a pass.
  Result keyless =
      Tillit({"backup", "verify", backup_, "--checkpoint", now_note});
  EXPECT_EQ(keyless.code, 1);
  EXPECT_NE(keyless.err.find("--key-file"), std::string::npos) << keyless.err;

  const std::string target = dir_ + "/restored";
  Result refused = Tillit({"restore", "--from", backup_, "--data", target,
                           "--key-file", key, "--checkpoint", now_note});
  EXPECT_EQ(refused.code, 1);
  EXPECT_NE(refused.err.find("rollback"), std::string::npos) << refused.err;
  EXPECT_FALSE(fs::exists(target));
  Result ok = Tillit({"restore", "--from", backup_, "--data", target,
                      "--key-file", key, "--checkpoint", then_note});
  EXPECT_EQ(ok.code, 0) << ok.err;
}

// (g) Crypto-shredding covers backups: after an erasure replaced the root
// keys, today's key file opens nothing in an older backup; only the key
// file of the backup's day brings the erased citizen back.
TEST_F(BackupCliTest, AfterAnErasureAnOlderBackupNeedsTheKeyFileOfItsDay) {
  const std::vector<std::string> ids = InitWithCitizens(2);
  const std::string key_of_the_day = CopyKeyFile("root-of-the-day.key");
  Backup();
  Result erase = Tillit({"citizen", "erase", "--data", data_, "--yes", ids[0]});
  ASSERT_EQ(erase.code, 0) << erase.err;
  ASSERT_EQ(CitizenList(data_).find(ids[0]), std::string::npos);

  const std::string today = dir_ + "/today";
  Result r = Tillit({"restore", "--from", backup_, "--data", today,
                     "--key-file", data_ + "/root.key"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("key file of the backup's day"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(today));
  Result v =
      Tillit({"backup", "verify", backup_, "--key-file", data_ + "/root.key"});
  EXPECT_EQ(v.code, 1);
  EXPECT_NE(v.err.find("key file of the backup's day"), std::string::npos)
      << v.err;

  const std::string then = dir_ + "/then";
  Result old = Tillit({"restore", "--from", backup_, "--data", then,
                       "--key-file", key_of_the_day, "--json"});
  ASSERT_EQ(old.code, 0) << old.err;
  EXPECT_EQ(json::parse(old.out)["citizens"], 2);
  EXPECT_NE(CitizenList(then).find(ids[0]), std::string::npos);

  // A backup taken after the erasure no longer holds the citizen's file.
  json after = Backup();
  EXPECT_EQ(after["citizens"], 1);
  EXPECT_GE(after["root_key_version"].get<uint32_t>(), 2u);
  EXPECT_FALSE(fs::exists(backup_ + "/citizens/" + ids[0] + ".db"));
  const std::string fresh = dir_ + "/fresh";
  ASSERT_EQ(Tillit({"restore", "--from", backup_, "--data", fresh, "--key-file",
                    data_ + "/root.key"})
                .code,
            0);
  EXPECT_EQ(CitizenList(fresh), CitizenList(data_));
}

// (h)
TEST_F(BackupCliTest, HelpNamesTheOptions) {
  Result backup = Tillit({"backup", "--help"});
  EXPECT_EQ(backup.code, 0);
  EXPECT_EQ(backup.out.rfind("Usage:", 0), 0u);
  EXPECT_NE(backup.out.find("--include-key-file"), std::string::npos);
  EXPECT_NE(backup.out.find("backup verify BACKUP_DIR"), std::string::npos);
  EXPECT_EQ(Tillit({"backup", "verify", "--help"}).out, backup.out);
  Result restore = Tillit({"restore", "--help"});
  EXPECT_EQ(restore.code, 0);
  EXPECT_EQ(restore.out.rfind("Usage:", 0), 0u);
  EXPECT_NE(restore.out.find("--from"), std::string::npos);
  EXPECT_NE(restore.out.find("of its day"), std::string::npos);
  Result top = Tillit({"--help"});
  for (const char* line :
       {"  backup --out DIR", "  backup verify DIR", "  restore --from DIR"}) {
    EXPECT_NE(top.out.find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace tillit::cli
