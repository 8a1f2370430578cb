#include "tillit/base/env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <set>

#include "tillit/base/clock.h"
#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"

namespace tillit {
namespace {

using testing::FaultInjectionEnv;
using testing::FaultOp;
using testing::ReadAll;
using testing::TempDir;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

Status WriteSynced(Env* env, const std::string& path, std::string_view data) {
  TILLIT_ASSIGN_OR_RETURN(auto f, env->NewWritableFile(path, 0600, false));
  TILLIT_RETURN_IF_ERROR(f->Append(Bytes(data)));
  TILLIT_RETURN_IF_ERROR(f->Sync());
  return f->Close();
}

TEST(PosixEnvTest, WritesRenamesAndRemovesFiles) {
  TempDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(WriteSynced(env, dir / "a", "hello").ok());
  EXPECT_EQ(ReadAll(dir / "a"), "hello");
  struct stat st;
  ASSERT_EQ(::stat((dir / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(env->RenameFile(dir / "a", dir / "b").ok());
  ASSERT_TRUE(env->SyncDirectory(dir.path()).ok());
  EXPECT_FALSE(env->FileExists(dir / "a"));
  EXPECT_EQ(ReadAll(dir / "b"), "hello");
  ASSERT_TRUE(env->RemoveFile(dir / "b").ok());
  EXPECT_EQ(env->RemoveFile(dir / "b").code(), StatusCode::kNotFound);
}

TEST(PosixEnvTest, ExclusiveCreateRefusesAnExistingFile) {
  TempDir dir;
  ASSERT_TRUE(WriteSynced(Env::Default(), dir / "a", "x").ok());
  EXPECT_EQ(
      Env::Default()->NewWritableFile(dir / "a", 0600, true).status().code(),
      StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(dir / "a"), "x");
}

TEST(PosixEnvTest, AppendableFileWritesAtTheEnd) {
  TempDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(WriteSynced(env, dir / "a", "one").ok());
  auto f = env->NewAppendableFile(dir / "a");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append(Bytes("two")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadAll(dir / "a"), "onetwo");
  EXPECT_EQ(env->NewAppendableFile(dir / "missing").status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(env->FileExists(dir / "missing"));
}

TEST(PosixEnvTest, RenameNoReplaceRefusesAnExistingTarget) {
  TempDir dir;
  Env* env = Env::Default();
  ASSERT_TRUE(WriteSynced(env, dir / "a", "new").ok());
  ASSERT_TRUE(WriteSynced(env, dir / "b", "old").ok());
  EXPECT_EQ(env->RenameNoReplace(dir / "a", dir / "b").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(dir / "a"), "new");
  EXPECT_EQ(ReadAll(dir / "b"), "old");
  ASSERT_TRUE(env->RenameNoReplace(dir / "a", dir / "c").ok());
  EXPECT_FALSE(env->FileExists(dir / "a"));
  EXPECT_EQ(ReadAll(dir / "c"), "new");
  EXPECT_EQ(env->RenameNoReplace(dir / "a", dir / "d").code(),
            StatusCode::kNotFound);
  // Directories too.
  ASSERT_TRUE(env->CreateDirectories(dir / "x").ok());
  ASSERT_TRUE(env->CreateDirectories(dir / "y").ok());
  EXPECT_EQ(env->RenameNoReplace(dir / "x", dir / "y").code(),
            StatusCode::kAlreadyExists);
  ASSERT_TRUE(env->RenameNoReplace(dir / "x", dir / "z").ok());
  EXPECT_FALSE(env->FileExists(dir / "x"));
  EXPECT_TRUE(env->FileExists(dir / "z"));
}

TEST(PosixEnvTest, CreatesPrivateDirectories) {
  TempDir dir;
  ASSERT_TRUE(Env::Default()->CreateDirectories(dir / "x/y/z").ok());
  struct stat st;
  ASSERT_EQ(::stat((dir / "x/y/z").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(Env::Default()->CreateDirectories(dir / "x/y/z").ok());
  ASSERT_TRUE(WriteSynced(Env::Default(), dir / "f", "x").ok());
  EXPECT_FALSE(Env::Default()->CreateDirectories(dir / "f").ok());
}

TEST(PosixEnvTest, ClockAndRandomnessComeFromTheEnv) {
  const int64_t now = Env::Default()->NowSeconds();
  EXPECT_GT(now, 1700000000);  // after 2023
  EXPECT_LE(Clock::System().NowSeconds() - now, 5);
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    std::string buf(16, '\0');
    Env::Default()->FillRandom(
        {reinterpret_cast<uint8_t*>(buf.data()), buf.size()});
    seen.insert(buf);
  }
  EXPECT_EQ(seen.size(), 8u);
}

// An Env whose clock the test sets: EnvClock reads it.
class FixedTimeEnv final : public EnvWrapper {
 public:
  FixedTimeEnv() : EnvWrapper(Env::Default()) {}
  int64_t NowSeconds() override { return 1234; }
};

TEST(PosixEnvTest, EnvClockReadsTheInjectedEnv) {
  FixedTimeEnv env;
  EnvClock clock(&env);
  EXPECT_EQ(clock.NowSeconds(), 1234);
}

TEST(FaultInjectionEnvTest, FailsTheNthWriteWithTheChosenError) {
  TempDir dir;
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kWrite, 2, ENOSPC);
  auto f = env.NewWritableFile(dir / "a", 0600, false);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Append(Bytes("one")).ok());
  Status s = (*f)->Append(Bytes("two"));
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos)
      << s.message();
  EXPECT_TRUE((*f)->Append(Bytes("three")).ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(ReadAll(dir / "a"), "onethree");
  EXPECT_EQ(env.Count(FaultOp::kWrite), 3);
}

TEST(FaultInjectionEnvTest, FailsEveryRenameUntilCleared) {
  TempDir dir;
  FaultInjectionEnv env;
  ASSERT_TRUE(WriteSynced(&env, dir / "a", "x").ok());
  env.FailAll(FaultOp::kRename, EIO);
  EXPECT_EQ(env.RenameFile(dir / "a", dir / "b").code(), StatusCode::kIoError);
  EXPECT_EQ(env.RenameFile(dir / "a", dir / "b").code(), StatusCode::kIoError);
  EXPECT_TRUE(env.FileExists(dir / "a"));
  env.ClearFaults();
  EXPECT_TRUE(env.RenameFile(dir / "a", dir / "b").ok());
}

TEST(FaultInjectionEnvTest, FailedSyncAndCreateChangeNothing) {
  TempDir dir;
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kCreate, 1);
  EXPECT_FALSE(env.NewWritableFile(dir / "a", 0600, false).ok());
  EXPECT_FALSE(env.FileExists(dir / "a"));
  env.FailNth(FaultOp::kSync, 1);
  auto f = env.NewWritableFile(dir / "a", 0600, false);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(Bytes("data")).ok());
  EXPECT_FALSE((*f)->Sync().ok());
  ASSERT_TRUE(env.SyncDirectory(dir.path()).ok());
  ASSERT_TRUE(env.PowerCut().ok());
  // The file's creation was durable, its data never was.
  EXPECT_TRUE(env.FileExists(dir / "a"));
  EXPECT_EQ(ReadAll(dir / "a"), "");
}

TEST(FaultInjectionEnvTest, PowerCutDropsDataWrittenAfterTheLastSync) {
  TempDir dir;
  FaultInjectionEnv env;
  auto f = env.NewWritableFile(dir / "log", 0600, false);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(Bytes("durable ")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE(env.SyncDirectory(dir.path()).ok());
  ASSERT_TRUE((*f)->Append(Bytes("lost")).ok());
  EXPECT_EQ(ReadAll(dir / "log"), "durable lost");
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "log"), "durable ");
}

TEST(FaultInjectionEnvTest, PowerCutUndoesChangesOfAnUnsyncedDirectory) {
  TempDir dir;
  testing::WriteAll(dir / "old", "before");
  FaultInjectionEnv env;
  ASSERT_TRUE(WriteSynced(&env, dir / "new.tmp", "after").ok());
  ASSERT_TRUE(env.RenameFile(dir / "new.tmp", dir / "old").ok());
  ASSERT_TRUE(WriteSynced(&env, dir / "created", "x").ok());
  testing::WriteAll(dir / "gone", "kept");
  ASSERT_TRUE(env.RemoveFile(dir / "gone").ok());
  EXPECT_EQ(ReadAll(dir / "old"), "after");
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "old"), "before");
  EXPECT_FALSE(env.FileExists(dir / "new.tmp"));
  EXPECT_FALSE(env.FileExists(dir / "created"));
  EXPECT_EQ(ReadAll(dir / "gone"), "kept");
}

TEST(FaultInjectionEnvTest, RenameNoReplaceCanFailAndIsUndoneByAPowerCut) {
  TempDir dir;
  FaultInjectionEnv env;
  ASSERT_TRUE(WriteSynced(&env, dir / "a", "x").ok());
  ASSERT_TRUE(env.SyncDirectory(dir.path()).ok());
  env.FailNth(FaultOp::kRename, 1, ENOSPC);
  EXPECT_EQ(env.RenameNoReplace(dir / "a", dir / "b").code(),
            StatusCode::kIoError);
  EXPECT_TRUE(env.FileExists(dir / "a"));
  EXPECT_FALSE(env.FileExists(dir / "b"));
  ASSERT_TRUE(env.RenameNoReplace(dir / "a", dir / "b").ok());
  EXPECT_EQ(env.Count(FaultOp::kRename), 2);
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "a"), "x");
  EXPECT_FALSE(env.FileExists(dir / "b"));
}

TEST(FaultInjectionEnvTest, AppendableFileKeepsWhatWasThereBefore) {
  TempDir dir;
  testing::WriteAll(dir / "log", "outside ");
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kCreate, 1, EIO);
  EXPECT_EQ(env.NewAppendableFile(dir / "log").status().code(),
            StatusCode::kIoError);
  auto f = env.NewAppendableFile(dir / "log");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Append(Bytes("synced ")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(Bytes("lost")).ok());
  ASSERT_TRUE((*f)->Close().ok());
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "log"), "outside synced ");
}

TEST(FaultInjectionEnvTest, SyncedDirectoryChangesSurviveAPowerCut) {
  TempDir dir;
  testing::WriteAll(dir / "old", "before");
  FaultInjectionEnv env;
  ASSERT_TRUE(WriteSynced(&env, dir / "new.tmp", "after").ok());
  ASSERT_TRUE(env.RenameFile(dir / "new.tmp", dir / "old").ok());
  ASSERT_TRUE(env.SyncDirectory(dir.path()).ok());
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "old"), "after");
  EXPECT_FALSE(env.FileExists(dir / "new.tmp"));
}

}  // namespace
}  // namespace tillit
