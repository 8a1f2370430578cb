// Power cuts at every sync point of the vault's own write paths (those of
// `tillit import`, `tillit keys rotate` for the root key and a citizen's
// key, and erasure): the vault, its registry and every citizen's SQLCipher
// file go through a FaultInjectionEnv, the machine stops right after the
// nth sync point, and what was not durable is lost. The reopened vault
// must open with whatever key is current, every store must verify, every
// acknowledged import must be whole, no import may be half there, and an
// acknowledged erasure must stay done.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <map>
#include <set>

#include "tillit/testing/fault_injection_env.h"
#include "vault_test.h"

namespace tillit::vault {
namespace {

using tillit::testing::FaultInjectionEnv;

constexpr int kObservations = 3;  // per bundle: + 1 Patient

struct Outcome {
  // Imports acknowledged: citizen id → resources imported.
  std::map<std::string, size_t> imported;
  std::set<std::string> erased;
  // Erasures begun: unacknowledged, they may still complete at the next
  // open (the tombstone is finished), or not.
  std::set<std::string> erasing;
  bool rotated_root = false;
};

class PowerCutTest : public ::testing::Test {
 protected:
  tillit::testing::TempDir dir_;
  FakeClock clock_{kNow};

  VaultOptions Options(Env* env, crypto::Random* rng) {
    VaultOptions o;
    o.data_dir = dir_ / "data";
    o.clock = &clock_;
    o.rng = rng;
    o.env = env;
    return o;
  }

  // Runs `work` on a fresh vault, cut after `cut` sync points (or never,
  // with -1), and returns the sync points it passed.
  int Trial(int cut, const std::function<void(Vault&, Outcome*)>& work,
            Outcome* out) {
    std::filesystem::remove_all(dir_ / "data");
    crypto::DeterministicRandom rng(7);
    FaultInjectionEnv env;
    int passed = 0;
    {
      auto created = Vault::Init(Options(&env, &rng));
      EXPECT_TRUE(created.ok()) << created.status().ToString();
      if (!created.ok()) return 0;
      // Two citizens exist before the work begins.
      for (int i = 0; i < 2; ++i) {
        auto r = created->vault->Import(
            Bundle("0000000" + std::to_string(i) + "-base-patient",
                   kObservations)
                .dump(),
            ImportFormat::kJson);
        EXPECT_TRUE(r.ok()) << r.status().ToString();
        if (r.ok()) out->imported[r->citizen_id] = r->imported;
      }
      const int start = env.SyncPoints();
      if (cut >= 0) env.CrashAfterSyncs(cut);
      work(*created->vault, out);
      passed = env.SyncPoints() - start;
    }
    EXPECT_TRUE(env.PowerCut().ok());
    return passed;
  }

  void Check(const Outcome& ack) {
    crypto::DeterministicRandom rng(8);
    auto v = Vault::Open(Options(Env::Default(), &rng));
    ASSERT_TRUE(v.ok()) << "the vault does not open: " << v.status().ToString();
    auto ids = (*v)->ListCitizenIds();
    ASSERT_TRUE(ids.ok());
    const std::set<std::string> listed(ids->begin(), ids->end());
    for (const std::string& id : listed) {
      ASSERT_TRUE((*v)->VerifyCitizen(id).ok()) << "store of " << id;
      auto summary = (*v)->Summarize(id);
      ASSERT_TRUE(summary.ok()) << summary.status().ToString();
      // Whole or absent: a listed citizen has all of one document.
      EXPECT_EQ(summary->records, kObservations + 1) << "half an import";
    }
    for (const auto& [id, n] : ack.imported) {
      if (ack.erasing.count(id)) continue;
      EXPECT_TRUE(listed.count(id)) << "acknowledged import lost: " << id;
    }
    for (const std::string& id : ack.erased) {
      EXPECT_FALSE(listed.count(id)) << "erased citizen is back: " << id;
      EXPECT_FALSE((*v)->OpenCitizen(id).ok());
    }
    if (ack.rotated_root) {
      EXPECT_EQ((*v)->root_key_version(), 2u);
    }
  }

  // Every cut point of `work`, and the count tried.
  int EveryCut(const std::function<void(Vault&, Outcome*)>& work) {
    Outcome clean;
    const int points = Trial(-1, work, &clean);
    Check(clean);
    EXPECT_GT(points, 0);
    for (int cut = 0; cut <= points; ++cut) {
      SCOPED_TRACE("cut after sync point " + std::to_string(cut) + " of " +
                   std::to_string(points));
      Outcome ack;
      Trial(cut, work, &ack);
      Check(ack);
      if (HasFatalFailure()) break;
    }
    std::printf("power cut points tried: %d\n", points + 1);
    return points + 1;
  }
};

TEST_F(PowerCutTest, Import) {
  EveryCut([](Vault& v, Outcome* out) {
    for (int i = 0; i < 4; ++i) {
      auto r = v.Import(
          Bundle("1000000" + std::to_string(i) + "-new-patient", kObservations)
              .dump(),
          ImportFormat::kJson);
      if (r.ok()) out->imported[r->citizen_id] = r->imported;
    }
  });
}

TEST_F(PowerCutTest, RotateTheRootKey) {
  EveryCut([](Vault& v, Outcome* out) {
    if (v.RotateRootKeys().ok()) out->rotated_root = true;
  });
}

TEST_F(PowerCutTest, RekeyACitizen) {
  EveryCut([](Vault& v, Outcome*) {
    auto ids = v.ListCitizenIds();
    if (!ids.ok()) return;
    for (const std::string& id : *ids) (void)v.RekeyCitizen(id);
  });
}

TEST_F(PowerCutTest, Erase) {
  EveryCut([](Vault& v, Outcome* out) {
    auto ids = v.ListCitizenIds();
    if (!ids.ok() || ids->empty()) return;
    out->erasing.insert(ids->front());
    if (v.EraseCitizen(ids->front()).ok()) out->erased.insert(ids->front());
  });
}

}  // namespace
}  // namespace tillit::vault
