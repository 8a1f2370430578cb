#include "tillit/backup/backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "manifest.h"
#include "tillit/audit/audit_log.h"
#include "tillit/fhir/synthetic.h"
#include "tillit/storage/files.h"
#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::backup {
namespace {

namespace fs = std::filesystem;
using testing::FaultInjectionEnv;
using testing::FaultOp;
using vault::Vault;

std::string Observation(const std::string& id) {
  return R"({"resourceType":"Observation","id":")" + id +
         R"(","status":"final","code":{"text":"pulse"},)"
         R"("effectiveDateTime":"2024-01-01"})"
         "\n";
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vault::VaultOptions o;
    o.data_dir = data_;
    auto created = Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    auto log = audit::AuditLog::OpenInDirectory(data_, *vault_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    ASSERT_TRUE(log_->SignedCheckpoint().ok());
    for (int i = 0; i < 3; ++i) citizens_.push_back(Import(i));
    Audit("records.import");
  }

  std::string Import(int index) {
    auto outcome = vault_->Import(fhir::GenerateSyntheticBundle(2026, index),
                                  vault::ImportFormat::kJson);
    EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
    return outcome.ok() ? outcome->citizen_id : "";
  }
  void AddRecord(Vault& v, const std::string& citizen, const std::string& id) {
    auto outcome =
        v.Import(Observation(id), vault::ImportFormat::kNdjson, citizen);
    ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  }
  void Audit(const std::string& action) {
    audit::AuditEntry e;
    e.time = 1767225600;
    e.actor_kind = "operator";
    e.actor_id = "operator";
    e.action = action;
    e.decision = "none";
    e.request_id = "test";
    ASSERT_TRUE(log_->Append(e).ok());
  }
  int64_t Records(Vault& v, const std::string& citizen) {
    auto s = v.Summarize(citizen);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->records : -1;
  }
  StatusOr<BackupReport> Backup(const std::string& out, Env* env = nullptr) {
    BackupOptions o;
    o.out_dir = out;
    if (env != nullptr) o.env = env;
    return TakeBackup(*vault_, o);
  }
  RestoreOptions RestoreTo(const std::string& to,
                           const std::string& from = "") {
    RestoreOptions o;
    o.from = from.empty() ? out_ : from;
    o.to = to;
    o.key_path = data_ + "/root.key";
    return o;
  }
  std::unique_ptr<Vault> OpenAt(const std::string& dir) {
    vault::VaultOptions o;
    o.data_dir = dir;
    auto v = Vault::Open(o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? std::move(v).value() : nullptr;
  }
  // No file or scratch directory named after `to` is left beside it.
  void ExpectNothingAt(const std::string& to) {
    EXPECT_FALSE(fs::exists(to)) << to;
    for (const auto& e : fs::directory_iterator(fs::path(to).parent_path())) {
      EXPECT_EQ(e.path().filename().string().find(
                    "." + fs::path(to).filename().string() + ".restoring"),
                std::string::npos)
          << e.path();
    }
  }

  tillit::testing::TempDir dir_;
  const std::string data_ = dir_ / "data";
  const std::string out_ = dir_ / "backup";
  std::unique_ptr<Vault> vault_;
  std::unique_ptr<audit::AuditLog> log_;
  std::vector<std::string> citizens_;
};

TEST_F(BackupTest, RestoresEveryCitizenAndTheAuditLogWithoutTheRootKeys) {
  auto report = Backup(out_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->citizens, 3u);
  EXPECT_EQ(report->copied, report->files);
  EXPECT_EQ(report->skipped, 0u);
  EXPECT_FALSE(report->key_included);
  EXPECT_EQ(report->audit_entries, 1u);
  EXPECT_FALSE(fs::exists(out_ + "/root.key"));
  EXPECT_TRUE(fs::exists(out_ + "/" + kManifestFile));
  // Encrypted as the data is: no patient name in any file.
  for (const auto& e : fs::recursive_directory_iterator(out_)) {
    if (!e.is_regular_file() || e.path().filename() == kManifestFile) continue;
    std::ifstream f(e.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(f)),
                            std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("Observation"), std::string::npos) << e.path();
  }
  auto checked = CheckBackup(out_);
  ASSERT_TRUE(checked.ok()) << checked.status().ToString();
  EXPECT_EQ(checked->manifest.citizens.size(), 3u);

  const std::string to = dir_ / "restored";
  auto restored = Restore(RestoreTo(to));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->citizens, 3u);
  EXPECT_EQ(restored->audit_entries, 1u);
  // The key lived in the data directory; so it does in the restored one.
  EXPECT_TRUE(fs::exists(to + "/root.key"));
  auto v = OpenAt(to);
  ASSERT_TRUE(v);
  for (const std::string& c : citizens_) {
    EXPECT_EQ(Records(*v, c), Records(*vault_, c)) << c;
    EXPECT_TRUE(v->VerifyCitizen(c).ok()) << c;
  }
  auto log = audit::VerifyStoredLog(to, *v);
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE(log->ok) << log->problem;
}

TEST_F(BackupTest, AgainIntoTheSameDirectoryCopiesOnlyWhatChanged) {
  ASSERT_TRUE(Backup(out_).ok());
  AddRecord(*vault_, citizens_[0], "added-1");
  const std::string added = Import(7);
  ASSERT_TRUE(vault_->EraseCitizen(citizens_[1]).ok());
  auto again = Backup(out_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // Kept: the store of the citizen nobody touched. Copied: vault.json,
  // the registry, the audit log, the changed and the new store.
  EXPECT_EQ(again->skipped, 1u);
  EXPECT_EQ(again->copied, 5u);
  EXPECT_EQ(again->citizens, 3u);
  // The erased citizen's store has left the backup.
  EXPECT_FALSE(fs::exists(out_ + "/citizens/" + citizens_[1] + ".db"));
  ASSERT_TRUE(CheckBackup(out_).ok());
  const std::string to = dir_ / "restored";
  ASSERT_TRUE(Restore(RestoreTo(to)).ok());
  auto v = OpenAt(to);
  ASSERT_TRUE(v);
  EXPECT_EQ(Records(*v, citizens_[0]), Records(*vault_, citizens_[0]));
  EXPECT_EQ(Records(*v, added), Records(*vault_, added));
  EXPECT_EQ(v->Summarize(citizens_[1]).status().code(), StatusCode::kNotFound);
}

// A rekey leaves a store's generation as it was and changes its key: the
// next incremental backup must copy it again, or the backup would pair the
// old file with the registry's new wrapped key.
TEST_F(BackupTest, AgainAfterARekeyCopiesTheRekeyedStore) {
  ASSERT_TRUE(Backup(out_).ok());
  ASSERT_TRUE(vault_->RekeyCitizen(citizens_[2]).ok());
  auto again = Backup(out_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // Copied: vault.json, the registry, the audit log and the rekeyed store.
  EXPECT_EQ(again->copied, 4u);
  EXPECT_EQ(again->skipped, 2u);
  const std::string to = dir_ / "restored";
  auto restored = Restore(RestoreTo(to));
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  auto v = OpenAt(to);
  ASSERT_TRUE(v);
  for (const std::string& c : citizens_) {
    EXPECT_EQ(Records(*v, c), Records(*vault_, c)) << c;
    EXPECT_TRUE(v->VerifyCitizen(c).ok()) << c;
  }
}

TEST_F(BackupTest, EveryChangeToABackupIsFoundAndNamedAndNothingRestored) {
  ASSERT_TRUE(Backup(out_).ok());
  const std::string store = "citizens/" + citizens_[0] + ".db";
  struct Tamper {
    std::string name;
    std::function<void(const std::string&)> apply;
    std::string expected;  // in the message
  };
  const std::vector<Tamper> tampers = {
      {"a changed byte",
       [&](const std::string& b) {
         std::fstream f(b + "/" + store,
                        std::ios::in | std::ios::out | std::ios::binary);
         f.seekp(5000);
         f.put('\x5a');
       },
       store + ": changed"},
      {"a truncated file",
       [](const std::string& b) { fs::resize_file(b + "/registry.db", 4096); },
       "registry.db: 4096 bytes"},
      {"a missing file",
       [](const std::string& b) { fs::remove(b + "/audit.db"); },
       "audit.db: missing"},
      {"an extra file",
       [](const std::string& b) {
         std::ofstream(b + "/citizens/c_00000000000000000000000000000000.db")
             << "x";
       },
       "c_00000000000000000000000000000000.db: not in the manifest"},
      {"a changed manifest",
       [](const std::string& b) {
         std::string text =
             *storage::ReadFileLimited(b + "/" + kManifestFile, 1 << 20);
         text.replace(text.find("\"tree_size\": 1"), 14, "\"tree_size\": 0");
         std::ofstream(b + "/" + kManifestFile, std::ios::trunc) << text;
       },
       "signature does not verify"},
      {"no signature",
       [](const std::string& b) { fs::remove(b + "/" + kSignatureFile); },
       "manifest.sig"},
      {"no manifest",
       [](const std::string& b) { fs::remove(b + "/" + kManifestFile); },
       "manifest.json"},
  };
  for (const Tamper& t : tampers) {
    SCOPED_TRACE(t.name);
    const std::string copy = dir_ / "tampered";
    fs::remove_all(copy);
    fs::copy(out_, copy, fs::copy_options::recursive);
    t.apply(copy);
    auto checked = CheckBackup(copy);
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(checked.status().message().find(t.expected), std::string::npos)
        << checked.status().message();
    const std::string to = dir_ / "restored";
    auto restored = Restore(RestoreTo(to, copy));
    EXPECT_FALSE(restored.ok());
    ExpectNothingAt(to);
  }
}

TEST_F(BackupTest, RestoreRefusesANonEmptyTargetAndAMissingKey) {
  ASSERT_TRUE(Backup(out_).ok());
  const std::string to = dir_ / "taken";
  fs::create_directories(to);
  std::ofstream(to + "/mine.txt") << "keep me";
  auto refused = Restore(RestoreTo(to));
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fs::exists(to + "/mine.txt"));

  RestoreOptions no_key = RestoreTo(dir_ / "new");
  no_key.key_path.reset();
  auto keyless = Restore(no_key);
  EXPECT_EQ(keyless.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(keyless.status().message().find("key file"), std::string::npos);
  ExpectNothingAt(dir_ / "new");

  // An empty directory is a fine target.
  fs::create_directories(dir_ / "empty");
  EXPECT_TRUE(Restore(RestoreTo(dir_ / "empty")).ok());
}

TEST_F(BackupTest, AfterAnErasureOnlyTheKeyFileOfTheBackupsDayOpensIt) {
  fs::copy_file(data_ + "/root.key", dir_ / "old.key");
  ASSERT_TRUE(Backup(out_).ok());
  const std::string erased = citizens_[2];
  ASSERT_TRUE(vault_->EraseCitizen(erased).ok());

  // Today's key opens nothing in the earlier backup, the erased citizen's
  // store included.
  auto today = Restore(RestoreTo(dir_ / "today"));
  ASSERT_EQ(today.status().code(), StatusCode::kUnauthenticated)
      << today.status().ToString();
  EXPECT_NE(today.status().message().find("key file of the backup's day"),
            std::string::npos);
  ExpectNothingAt(dir_ / "today");
  RestoreOptions verify = RestoreTo("");
  EXPECT_EQ(VerifyBackup(verify).status().code(), StatusCode::kUnauthenticated);

  // The operator's explicit choice: the old key file brings them back.
  RestoreOptions old = RestoreTo(dir_ / "old");
  old.key_path = dir_ / "old.key";
  ASSERT_TRUE(Restore(old).ok());
  auto v = OpenAt(dir_ / "old");
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->VerifyCitizen(erased).ok());
}

TEST_F(BackupTest, AnOlderCitizenFileOverANewerOneIsStillRefused) {
  const std::string first = dir_ / "first";
  ASSERT_TRUE(Backup(first).ok());
  AddRecord(*vault_, citizens_[0], "later-1");
  ASSERT_TRUE(Backup(out_).ok());
  const std::string to = dir_ / "restored";
  ASSERT_TRUE(Restore(RestoreTo(to)).ok());
  const std::string store = "/citizens/" + citizens_[0] + ".db";
  fs::copy_file(first + store, to + store,
                fs::copy_options::overwrite_existing);
  auto v = OpenAt(to);
  ASSERT_TRUE(v);
  Status s = v->VerifyCitizen(citizens_[0]);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("rolled back"), std::string::npos) << s.message();
}

TEST_F(BackupTest, ABackupOlderThanASavedCheckpointIsARollback) {
  auto before = log_->SignedCheckpoint();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(Backup(out_).ok());
  Audit("records.read");
  Audit("records.read");
  auto after = log_->SignedCheckpoint();
  ASSERT_TRUE(after.ok());

  RestoreOptions stale = RestoreTo(dir_ / "stale");
  stale.saved_checkpoint = *after;
  auto refused = Restore(stale);
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("rollback"), std::string::npos)
      << refused.status().message();
  ExpectNothingAt(dir_ / "stale");

  RestoreOptions fine = RestoreTo(dir_ / "fine");
  fine.saved_checkpoint = *before;
  EXPECT_TRUE(Restore(fine).ok());
}

TEST_F(BackupTest, TakenWhileAnotherProcessWritesKeepsEveryEarlierWrite) {
  // Another connection stands for a running server.
  auto server = OpenAt(data_);
  ASSERT_TRUE(server);
  const int64_t base = Records(*vault_, citizens_[0]);
  std::atomic<int> acked{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      auto outcome = server->Import(Observation("w-" + std::to_string(i)),
                                    vault::ImportFormat::kNdjson, citizens_[0]);
      if (!outcome.ok()) {
        ADD_FAILURE() << outcome.status().ToString();
        return;
      }
      acked = i + 1;
    }
  });
  while (acked < 20) std::this_thread::yield();
  const int before_backup = acked;
  auto report = Backup(out_);
  stop = true;
  writer.join();
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  const std::string to = dir_ / "restored";
  ASSERT_TRUE(Restore(RestoreTo(to)).ok());
  auto v = OpenAt(to);
  ASSERT_TRUE(v);
  EXPECT_GE(Records(*v, citizens_[0]), base + before_backup);
  EXPECT_TRUE(v->VerifyCitizen(citizens_[0]).ok());
}

TEST_F(BackupTest, AnIoFaultLeavesNoValidBackupAndTheNextOneSucceeds) {
  FaultInjectionEnv env;
  int counts[testing::kFaultOpCount];
  const FaultOp ops[] = {FaultOp::kCreate, FaultOp::kWrite,
                         FaultOp::kSync,   FaultOp::kRename,
                         FaultOp::kRemove, FaultOp::kSyncDirectory};
  for (FaultOp k : ops) counts[static_cast<int>(k)] = env.Count(k);
  ASSERT_TRUE(Backup(dir_ / "clean", &env).ok());
  int trials = 0, failed = 0;
  for (FaultOp k : ops) {
    const int n = env.Count(k) - counts[static_cast<int>(k)];
    // The first few of each kind, then spread over the rest: every one of
    // thousands of page writes, each with a backup's fsyncs, would take
    // minutes.
    std::set<int> points;
    for (int nth = 1; nth <= std::min(n, 6); ++nth) points.insert(nth);
    for (int q = 1; q <= 8; ++q) points.insert(std::max(1, n * q / 8));
    for (int nth : points) {
      SCOPED_TRACE(std::string(testing::FaultOpName(k)) + " #" +
                   std::to_string(nth));
      fs::remove_all(out_);
      env.FailNth(k, nth, ENOSPC);
      auto report = Backup(out_, &env);
      env.ClearFaults();
      ++trials;
      if (report.ok()) {
        EXPECT_TRUE(CheckBackup(out_).ok());
        continue;
      }
      ++failed;
      EXPECT_EQ(report.status().code(), StatusCode::kIoError)
          << report.status().ToString();
      // Never taken for a valid backup.
      EXPECT_FALSE(CheckBackup(out_).ok());
      auto again = Backup(out_, &env);
      ASSERT_TRUE(again.ok()) << again.status().ToString();
      EXPECT_TRUE(CheckBackup(out_).ok());
    }
  }
  EXPECT_GT(failed, 20);
  std::printf("backup: %d faults injected, %d refused\n", trials, failed);
}

TEST_F(BackupTest, AnIoFaultDuringARestoreLeavesNothingAtTheTarget) {
  ASSERT_TRUE(Backup(out_).ok());
  FaultInjectionEnv env;
  int failed = 0;
  for (FaultOp k : {FaultOp::kCreate, FaultOp::kWrite, FaultOp::kSync,
                    FaultOp::kRename, FaultOp::kSyncDirectory}) {
    for (int nth = 1; nth <= 40; nth += 3) {
      SCOPED_TRACE(std::string(testing::FaultOpName(k)) + " #" +
                   std::to_string(nth));
      const std::string to = dir_ / "restored";
      fs::remove_all(to);
      RestoreOptions o = RestoreTo(to);
      o.env = &env;
      env.FailNth(k, nth, EIO);
      auto restored = Restore(o);
      env.ClearFaults();
      if (restored.ok()) continue;
      ++failed;
      ExpectNothingAt(to);
    }
  }
  EXPECT_GT(failed, 10);
}

TEST_F(BackupTest, RefusesToWriteIntoTheVaultOrAForeignDirectory) {
  EXPECT_EQ(Backup(data_).status().code(), StatusCode::kInvalidArgument);
  fs::create_directories(out_);
  std::ofstream(out_ + "/notes.txt") << "mine";
  auto refused = Backup(out_);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("notes.txt"), std::string::npos);
  EXPECT_TRUE(fs::exists(out_ + "/notes.txt"));
}

TEST_F(BackupTest, VerifyWithTheKeyOpensEverythingAndLeavesNoScratch) {
  BackupOptions o;
  o.out_dir = out_;
  o.include_key_file = true;
  auto report = TakeBackup(*vault_, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->key_included);
  EXPECT_TRUE(fs::exists(out_ + "/root.key"));
  RestoreOptions keyless;
  keyless.from = out_;  // the backup's own key
  auto verified = VerifyBackup(keyless);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->citizens, 3u);
  EXPECT_EQ(verified->audit_entries, 1u);
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find(".verifying"),
              std::string::npos);
  }
  // Without any key, only the files are checked.
  BackupOptions plain;
  plain.out_dir = dir_ / "plain";
  ASSERT_TRUE(TakeBackup(*vault_, plain).ok());
  RestoreOptions none;
  none.from = plain.out_dir;
  auto checked = VerifyBackup(none);
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->citizens, 0u);
  EXPECT_GT(checked->bytes, 0u);
}

}  // namespace
}  // namespace tillit::backup
