#include "tillit/crypto/hardening.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace tillit::crypto {
namespace {

TEST(InitCryptoTest, SucceedsAndIsIdempotent) {
  EXPECT_TRUE(InitCrypto().ok());
  EXPECT_TRUE(InitCrypto().ok());
}

// Run in a child so the test binary itself stays dumpable: exits 0 when
// DisableCoreDumps did what it promises.
[[noreturn]] void DisableAndCheck() {
  if (!DisableCoreDumps().ok()) _exit(1);
  struct rlimit core;
  if (getrlimit(RLIMIT_CORE, &core) != 0) _exit(2);
  if (core.rlim_cur != 0 || core.rlim_max != 0) _exit(3);
  if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(4);
  // A second call (the hard limit is now 0) still succeeds.
  if (!DisableCoreDumps().ok()) _exit(5);
  _exit(0);
}

TEST(DisableCoreDumpsDeathTest, ZeroesCoreLimitAndClearsDumpable) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(DisableAndCheck(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace tillit::crypto
