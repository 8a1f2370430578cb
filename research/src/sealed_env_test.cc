// The sealed-file reader writes, syncs and moves its output through the
// Env it is given, and the writer draws its file key from the Random it is
// given.
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <set>
#include <string>

#include "tillit/crypto/random.h"
#include "tillit/research/sealed.h"
#include "tillit/testing/fault_injection_env.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::research {
namespace {

namespace fs = std::filesystem;
using testing::FaultInjectionEnv;
using testing::FaultOp;
using testing::ReadAll;
using testing::TempDir;

// System randomness that counts the bytes it hands out.
class CountingRandom final : public crypto::Random {
 public:
  void Fill(std::span<uint8_t> out) override {
    bytes += out.size();
    crypto::Random::System().Fill(out);
  }
  size_t bytes = 0;
};

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    names.insert(e.path().filename().string());
  return names;
}

class SealedEnvTest : public ::testing::Test {
 protected:
  // Seals two members, one of them appended to again after the other, so
  // that the reader creates, reopens and syncs member files.
  void SetUp() override {
    std::string file;
    auto w = SealedWriter::Start(
        key_.public_key,
        [&file](std::span<const uint8_t> b) {
          file.append(reinterpret_cast<const char*>(b.data()), b.size());
          return Status::Ok();
        },
        random_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE((*w)->Append("Patient.ndjson", kPatients).ok());
    ASSERT_TRUE((*w)->Append("manifest.json", "{}").ok());
    ASSERT_TRUE((*w)->Append("Patient.ndjson", "tail").ok());
    ASSERT_TRUE((*w)->Finish().ok());
    testing::WriteAll(release_, file);
  }

  const std::string kPatients = std::string(100000, 'p');
  crypto::DeterministicRandom rng_{7};
  crypto::BoxKeyPair key_ = crypto::BoxKeyPair::Generate(rng_);
  CountingRandom random_;
  TempDir dir_;
  const std::string release_ = dir_ / "release.bin";
  const std::string out_ = dir_ / "out";
};

TEST_F(SealedEnvTest, TheWriterDrawsTheFileKeyFromTheGivenRandom) {
  EXPECT_GE(random_.bytes, 32u);
  Status s = OpenSealedFile(release_, key_, out_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadAll(out_ + "/Patient.ndjson"), kPatients + "tail");
}

TEST_F(SealedEnvTest, EachFailedStepReturnsIoErrorAndLeavesNothing) {
  struct Case {
    FaultOp op;
    int nth;  // 0: every one fails
    const char* what;
  };
  for (const Case& c : {Case{FaultOp::kCreate, 1, "first create"},
                        Case{FaultOp::kCreate, 3, "reopen to append"},
                        Case{FaultOp::kCreate, 4, "reopen to sync"},
                        Case{FaultOp::kWrite, 1, "first write"},
                        Case{FaultOp::kWrite, 3, "later write"},
                        Case{FaultOp::kSync, 2, "second fsync"},
                        Case{FaultOp::kRename, 0, "every move"}}) {
    FaultInjectionEnv env;
    if (c.nth == 0) {
      env.FailAll(c.op, ENOSPC);
    } else {
      env.FailNth(c.op, c.nth, ENOSPC);
    }
    Status s = OpenSealedFile(release_, key_, out_, &env);
    EXPECT_EQ(s.code(), StatusCode::kIoError) << c.what << " " << s.ToString();
    EXPECT_NE(s.message().find("No space left on device"), std::string::npos)
        << c.what << " " << s.message();
    EXPECT_EQ(Entries(dir_.path()), std::set<std::string>{"release.bin"})
        << c.what;
  }
}

TEST_F(SealedEnvTest, AFailedDirectoryMoveFallsBackToMovingMembers) {
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kRename, 1, EIO);
  Status s = OpenSealedFile(release_, key_, out_, &env);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(env.Count(FaultOp::kRename), 3);  // the directory, two members
  EXPECT_EQ(Entries(out_),
            (std::set<std::string>{"Patient.ndjson", "manifest.json"}));
  EXPECT_EQ(Entries(dir_.path()),
            (std::set<std::string>{"release.bin", "out"}));
}

TEST_F(SealedEnvTest, AFailedMemberMoveTakesBackTheMembersMoved) {
  fs::create_directory(out_);  // members are then moved one by one
  FaultInjectionEnv env;
  env.FailNth(FaultOp::kRename, 2, ENOSPC);
  Status s = OpenSealedFile(release_, key_, out_, &env);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString();
  EXPECT_TRUE(Entries(out_).empty());
  EXPECT_EQ(Entries(dir_.path()),
            (std::set<std::string>{"release.bin", "out"}));
}

TEST_F(SealedEnvTest, OpenedMembersSurviveAPowerCut) {
  FaultInjectionEnv env;
  Status s = OpenSealedFile(release_, key_, out_, &env);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(env.Count(FaultOp::kSync), 2);
  ASSERT_TRUE(env.PowerCut().ok());
  EXPECT_EQ(ReadAll(out_ + "/Patient.ndjson"), kPatients + "tail");
  EXPECT_EQ(ReadAll(out_ + "/manifest.json"), "{}");
  EXPECT_EQ(Entries(dir_.path()),
            (std::set<std::string>{"release.bin", "out"}));
}

}  // namespace
}  // namespace tillit::research
