// Reliability of the HTTP API's write paths, with every file of the vault,
// the audit log, the privacy ledger and releases going through a
// FaultInjectionEnv (SQLite's files through storage's VFS):
//  - I/O faults: at every create, write, fsync, rename, removal and
//    directory sync an operation makes, EIO and ENOSPC are injected. The
//    request is refused with 503 and an error body, nothing of it is
//    visible, the server goes on serving, and once the fault clears the
//    same request succeeds.
//  - Power cuts: right after every sync point of a run of writes, the
//    machine stops and loses what was never made durable. The reopened
//    vault verifies (every store, the audit log), and every write that was
//    acknowledged is there.
#include <gtest/gtest.h>

#include <cerrno>
#include <functional>
#include <set>

#include "http_fixture.h"
#include "tillit/audit/audit_log.h"
#include "tillit/testing/fault_injection_env.h"

namespace tillit::testing {
namespace {

constexpr FaultOp kOps[] = {FaultOp::kCreate, FaultOp::kWrite,
                            FaultOp::kSync,   FaultOp::kRename,
                            FaultOp::kRemove, FaultOp::kSyncDirectory};

json HeartRate(int minute) {
  return {
      {"resourceType", "Observation"},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/observation-category"},
            {"code", "vital-signs"}}}}}}},
      {"code",
       {{"coding", {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
      {"effectiveDateTime",
       "2024-05-01T08:" + std::string(minute < 10 ? "0" : "") +
           std::to_string(minute) + ":00Z"},
      {"valueQuantity", {{"value", 61}, {"unit", "/min"}}}};
}

const json kProviderGrant = {{"grantee", {{"kind", "any-provider"}}},
                             {"purposes", {"DUO:0000043"}},
                             {"categories", {"vital-signs"}},
                             {"expires", nullptr}};

class ReliabilityTest : public HttpTest {
 protected:
  Env* FileEnv() override { return env_.get(); }
  void Configure(api::ServerOptions& o) override {
    o.enroll_per_minute = 100000;
    o.enroll_burst = 100000;
  }

  int64_t RecordCount(const std::string& token) {
    Reply r = Get("/v1/me/records?limit=1000", token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? static_cast<int64_t>(r.Json()["records"].size())
                           : -1;
  }
  size_t ActiveGrants(const std::string& token) {
    Reply r = Get("/v1/me/consents", token);
    EXPECT_EQ(r.status, 200) << r.body;
    size_t n = 0;
    const json consents = r.Json();
    for (const json& g : consents["consents"]) n += g["status"] == "active";
    return n;
  }

  std::unique_ptr<FaultInjectionEnv> env_ =
      std::make_unique<FaultInjectionEnv>();
};

// One write path: Prepare() makes what it needs with no faults; Do() is
// the request; Done() tells whether its effect is visible.
struct Operation {
  std::string name;
  std::function<void()> prepare;
  std::function<Reply()> run;
  int success = 200;
  std::function<bool()> done;
};

TEST_F(ReliabilityTest, EveryIoFaultOfEveryWritePathIsA503WithNothingDone) {
  Principal c;
  Principal provider = NewProvider();
  std::string grant_id;
  int64_t before = 0;
  uint64_t bundle = 100;  // each import its own patient
  int64_t imported = 0;   // records in one bundle
  const std::vector<Operation> operations = {
      {"write a record",
       [&] {
         c = NewCitizen();
         before = RecordCount(c.token);
       },
       [&] { return Post("/v1/me/records", HeartRate(1).dump(), c.token); },
       201, [&] { return RecordCount(c.token) == before + 1; }},
      {"import a bundle",
       [&] {
         c = NewCitizen();
         before = RecordCount(c.token);
         ++bundle;
         imported = static_cast<int64_t>(
             json::parse(SyntheticBundle(bundle))["entry"].size());
       },
       [&] { return Post("/v1/me/import", SyntheticBundle(bundle), c.token); },
       200,
       [&] {
         // All of the document or none of it.
         const int64_t now = RecordCount(c.token);
         EXPECT_TRUE(now == before || now == before + imported)
             << now << " of " << imported << " records";
         return now > before;
       }},
      {"grant", [&] { c = NewCitizen(); },
       [&] { return Post("/v1/me/consents", kProviderGrant.dump(), c.token); },
       201, [&] { return ActiveGrants(c.token) == 1; }},
      {"revoke",
       [&] {
         c = NewCitizen();
         Reply g = Post("/v1/me/consents", kProviderGrant.dump(), c.token);
         ASSERT_EQ(g.status, 201) << g.body;
         grant_id = g.Json()["id"];
       },
       [&] { return Delete("/v1/me/consents/" + grant_id, c.token); }, 200,
       [&] { return ActiveGrants(c.token) == 0; }},
      {"erase a citizen", [&] { c = NewCitizen(); },
       [&] {
         return Delete("/v1/me", c.token, json{{"confirm", c.id}}.dump());
       },
       200, [&] { return Get("/v1/me", c.token).status == 401; }},
  };
  int trials = 0, refused = 0, whole_but_503 = 0;
  for (const Operation& op : operations) {
    SCOPED_TRACE(op.name);
    // How many operations of each kind the request makes.
    op.prepare();
    int counts[kFaultOpCount];
    for (FaultOp k : kOps) counts[static_cast<int>(k)] = env_->Count(k);
    Reply clean = op.run();
    ASSERT_EQ(clean.status, op.success) << clean.body;
    if (op.name == "import a bundle") {
      // Every entry of the document becomes a record.
      ASSERT_EQ(RecordCount(c.token) - before,
                static_cast<int64_t>(
                    json::parse(SyntheticBundle(bundle))["entry"].size()));
    }
    ASSERT_TRUE(op.done());
    for (FaultOp k : kOps) {
      counts[static_cast<int>(k)] =
          env_->Count(k) - counts[static_cast<int>(k)];
    }
    for (FaultOp kind : kOps) {
      for (int n = 1; n <= counts[static_cast<int>(kind)]; ++n) {
        for (int error : {EIO, ENOSPC}) {
          SCOPED_TRACE(std::string(FaultOpName(kind)) + " #" +
                       std::to_string(n) + (error == EIO ? " EIO" : " ENOSPC"));
          op.prepare();
          env_->FailNth(kind, n, error);
          Reply r = op.run();
          env_->ClearFaults();
          ++trials;
          if (r.status == op.success) {
            // The fault fell on a best-effort step (a directory sync after
            // a durable commit, the removal of a temporary file).
            EXPECT_TRUE(op.done());
            continue;
          }
          EXPECT_EQ(r.status, 503) << r.body;
          ++refused;
          EXPECT_TRUE(r.ErrorCode() == "storage_unavailable" ||
                      r.ErrorCode() == "audit_unavailable")
              << r.body;
          // The server keeps serving others.
          EXPECT_EQ(Get("/healthz").status, 200);
          if (op.done()) {
            // The fault fell after the citizen's store committed (on the
            // registry's bookkeeping, which catches up when the store is
            // next opened): the write is whole, but was not acknowledged.
            ++whole_but_503;
            continue;
          }
          // Nothing happened, and the same request now succeeds.
          Reply again = op.run();
          EXPECT_EQ(again.status, op.success) << again.body;
          EXPECT_TRUE(op.done());
        }
      }
    }
  }
  EXPECT_GT(trials, 50);
  std::printf(
      "faults injected: %d; refused with 503: %d; of those whole "
      "but unacknowledged: %d\n",
      trials, refused, whole_but_503);
  // Every answered request is in a log that still verifies.
  auto report = audit::VerifyStoredLog(vault_->data_dir(), *vault_);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->ok) << report->problem;
}

TEST_F(ReliabilityTest,
       AProviderReadWhoseAuditEntryCannotBeWrittenShowsNothing) {
  Principal c = NewCitizen();
  Principal p = NewProvider();
  ASSERT_EQ(Post("/v1/me/records", HeartRate(2).dump(), c.token).status, 201);
  ASSERT_EQ(Post("/v1/me/consents", kProviderGrant.dump(), c.token).status,
            201);
  const std::string path = "/v1/patients/" + c.id + "/records";
  for (FaultOp kind : {FaultOp::kWrite, FaultOp::kSync}) {
    for (int error : {EIO, ENOSPC}) {
      env_->FailAll(kind, error);
      Reply r = Get(path, p.token);
      env_->ClearFaults();
      EXPECT_EQ(r.status, 503) << r.body;
      EXPECT_EQ(r.body.find("8867-4"), std::string::npos) << r.body;
      Reply ok = Get(path, p.token);
      EXPECT_EQ(ok.status, 200) << ok.body;
      EXPECT_NE(ok.body.find("8867-4"), std::string::npos);
    }
  }
}

// A power cut right after every sync point of a run of writes through the
// API (and before the first).
class PowerCutTest : public ReliabilityTest {
 protected:
  struct Acknowledged {
    std::string citizen_id, token;
    std::set<std::string> records;  // Type/id
    std::string revoked_grant;
    std::string erased_citizen;
  };

  // The writes, each remembered only once acknowledged.
  void Run(Acknowledged* ack) {
    Reply made = Post("/v1/admin/citizens", "{}", admin_);
    if (made.status != 201) return;
    Reply e =
        Post("/v1/enroll",
             json{{"enrollment_code", made.Json()["enrollment_code"]}}.dump());
    if (e.status != 200) return;
    ack->citizen_id = e.Json()["citizen_id"];
    ack->token = e.Json()["token"];
    for (int i = 0; i < 3; ++i) {
      Reply r = Post("/v1/me/records", HeartRate(10 + i).dump(), ack->token);
      if (r.status != 201) return;
      ack->records.insert("Observation/" + r.Json()["id"].get<std::string>());
    }
    Reply g = Post("/v1/me/consents", kProviderGrant.dump(), ack->token);
    if (g.status != 201) return;
    if (Delete("/v1/me/consents/" + g.Json()["id"].get<std::string>(),
               ack->token)
            .status != 200) {
      return;
    }
    ack->revoked_grant = g.Json()["id"];
    Reply other = Post("/v1/admin/citizens", "{}", admin_);
    if (other.status != 201) return;
    Reply oe =
        Post("/v1/enroll",
             json{{"enrollment_code", other.Json()["enrollment_code"]}}.dump());
    if (oe.status != 200) return;
    if (Delete("/v1/me", oe.Json()["token"],
               json{{"confirm", oe.Json()["citizen_id"]}}.dump())
            .status != 200) {
      return;
    }
    ack->erased_citizen = oe.Json()["citizen_id"];
  }

  // Stops everything as a power cut would, and checks the reopened vault.
  void CutAndCheck(const Acknowledged& ack) {
    StopServer();
    consents_.reset();
    vault_.reset();
    ASSERT_TRUE(env_->PowerCut().ok());
    env_->ClearFaults();
    vault::VaultOptions vo;
    vo.data_dir = dir_ + "/data";
    auto v = vault::Vault::Open(vo);
    if (!v.ok()) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(dir_))
        std::printf("left: %s\n", e.path().c_str());
    }
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    auto ids = (*v)->ListCitizenIds();
    ASSERT_TRUE(ids.ok());
    for (const std::string& id : *ids) {
      EXPECT_TRUE((*v)->VerifyCitizen(id).ok()) << "store of " << id;
    }
    auto report = audit::VerifyStoredLog(vo.data_dir, **v);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok) << report->problem;
    if (!ack.citizen_id.empty()) {
      auto store = (*v)->OpenCitizen(ack.citizen_id);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      for (const std::string& ref : ack.records) {
        const size_t slash = ref.find('/');
        EXPECT_TRUE(
            (*store)->Get(ref.substr(0, slash), ref.substr(slash + 1)).ok())
            << "lost " << ref;
      }
    }
    if (!ack.revoked_grant.empty()) {
      consent::ConsentService consents(v->get(), &Clock::System(),
                                       &crypto::Random::System());
      auto grants = consents.ListGrants(ack.citizen_id);
      ASSERT_TRUE(grants.ok());
      for (const auto& g : *grants) {
        if (g.id == ack.revoked_grant) {
          EXPECT_NE(g.status, consent::Grant::Status::kActive)
              << "revocation lost";
        }
      }
    }
    if (!ack.erased_citizen.empty()) {
      for (const std::string& id : *ids) EXPECT_NE(id, ack.erased_citizen);
      EXPECT_FALSE((*v)->OpenCitizen(ack.erased_citizen).ok());
    }
  }
};

TEST_F(PowerCutTest, NothingAcknowledgedIsLostAtAnySyncPoint) {
  // A run without a cut counts the sync points.
  Acknowledged full;
  const int start = env_->SyncPoints();
  Run(&full);
  ASSERT_FALSE(full.erased_citizen.empty()) << "the run itself failed";
  const int points = env_->SyncPoints() - start;
  ASSERT_GT(points, 10);
  for (int cut = 0; cut <= points; ++cut) {
    SCOPED_TRACE("power cut after sync point " + std::to_string(cut) + " of " +
                 std::to_string(points));
    TearDown();
    env_ = std::make_unique<FaultInjectionEnv>();
    SetUp();
    env_->CrashAfterSyncs(cut);
    Acknowledged ack;
    Run(&ack);
    CutAndCheck(ack);
    if (HasFatalFailure()) return;
  }
  RecordProperty("cut_points", points + 1);
  std::printf("power cut points tried: %d\n", points + 1);
}

}  // namespace
}  // namespace tillit::testing
