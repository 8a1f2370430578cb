#include "tillit/storage/files.h"

#include <gtest/gtest.h>

#include <cerrno>

#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::storage {
namespace {

using testing::FaultInjectionEnv;
using testing::FaultOp;
using testing::ReadAll;
using testing::TempDir;

TEST(WriteFileAtomicTest, ReplacesTheFileDurably) {
  TempDir dir;
  FaultInjectionEnv env;
  testing::WriteAll(dir / "key", "old");
  ASSERT_TRUE(
      WriteFileAtomic(dir / "key", std::string_view("new"), 0600, &env).ok());
  EXPECT_EQ(ReadAll(dir / "key"), "new");
  EXPECT_EQ(env.Count(FaultOp::kSync), 1);
  EXPECT_EQ(env.Count(FaultOp::kSyncDirectory), 1);
  // Written, fsynced, renamed and the directory fsynced: a power cut keeps it.
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "key"), "new");
  EXPECT_FALSE(env.FileExists(dir / "key.tmp"));
}

TEST(WriteFileAtomicTest, EachFailedStepLeavesTheOldContent) {
  for (FaultOp op :
       {FaultOp::kCreate, FaultOp::kWrite, FaultOp::kSync, FaultOp::kRename}) {
    TempDir dir;
    FaultInjectionEnv env;
    testing::WriteAll(dir / "key", "old");
    env.FailNth(op, 1, ENOSPC);
    Status s =
        WriteFileAtomic(dir / "key", std::string_view("new"), 0600, &env);
    EXPECT_EQ(s.code(), StatusCode::kIoError) << static_cast<int>(op);
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos)
        << s.message();
    EXPECT_EQ(ReadAll(dir / "key"), "old") << static_cast<int>(op);
    EXPECT_FALSE(env.FileExists(dir / "key.tmp")) << static_cast<int>(op);
  }
}

TEST(WriteFileAtomicTest, AFailedDirectorySyncIsReportedAndMayBeLost) {
  TempDir dir;
  FaultInjectionEnv env;
  testing::WriteAll(dir / "key", "old");
  env.FailNth(FaultOp::kSyncDirectory, 1, EIO);
  EXPECT_EQ(
      WriteFileAtomic(dir / "key", std::string_view("new"), 0600, &env).code(),
      StatusCode::kIoError);
  // The rename was never made durable: after a power cut the old key is back.
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(dir / "key"), "old");
}

TEST(RemoveFileIfExistsTest, GoesThroughTheEnv) {
  TempDir dir;
  FaultInjectionEnv env;
  testing::WriteAll(dir / "f", "x");
  EXPECT_TRUE(RemoveFileIfExists(dir / "missing", &env).ok());
  env.FailNth(FaultOp::kRemove, 1, EIO);
  EXPECT_EQ(RemoveFileIfExists(dir / "f", &env).code(), StatusCode::kIoError);
  EXPECT_TRUE(env.FileExists(dir / "f"));
  EXPECT_TRUE(RemoveFileIfExists(dir / "f", &env).ok());
  EXPECT_FALSE(env.FileExists(dir / "f"));
}

}  // namespace
}  // namespace tillit::storage
