#include "tillit/research/privacy_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tillit/crypto/kdf.h"
#include "tillit/crypto/random.h"
#include "tillit/storage/database.h"
#include "tillit/testing/fixed_keys.h"
#include "tillit/testing/privacy_ledger_contract.h"
#include "tillit/testing/temp_dir.h"

namespace tillit::research {
namespace {

// Two ledgers over one privacy.db (two processes), the directory kept as
// long as either is.
struct SharedFile {
  tillit::testing::TempDir dir;
  crypto::SecretBytes key = crypto::DeterministicRandom(3).Secret(32);
};

std::shared_ptr<PrivacyLedger> OpenShared(
    const std::shared_ptr<SharedFile>& file) {
  auto l = PrivacyLedger::Open(file->dir / "privacy.db", file->key);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  if (!l.ok()) return nullptr;
  std::shared_ptr<PrivacyLedger> ledger(std::move(l).value());
  // Keeps the file's directory alive beside the ledger.
  return std::shared_ptr<PrivacyLedger>(
      std::make_shared<std::pair<std::shared_ptr<SharedFile>,
                                 std::shared_ptr<PrivacyLedger>>>(file, ledger),
      ledger.get());
}

INSTANTIATE_TEST_SUITE_P(DataDirectory, PrivacyLedgerContractTest,
                         ::testing::Values(PrivacyLedgerBackend{
                             "sqlcipher",
                             [] {
                               auto file = std::make_shared<SharedFile>();
                               return std::make_pair(OpenShared(file),
                                                     OpenShared(file));
                             }}),
                         PrivacyLedgerBackendName);

namespace fs = std::filesystem;

constexpr int64_t kEpsilon = 1'000'000;  // ε 1 in micro-ε
constexpr int64_t kTime = 1767225600;    // 2026-01-01

// A vault-style id: `prefix` and 32 hex digits.
std::string Id(const char* prefix, uint64_t n) {
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%032" PRIx64, n);
  return std::string(prefix) + hex;
}

std::string Study(int n) { return Id("s_", n); }
std::string Citizen(int n) { return Id("c_", n); }

LedgerQuery Query(int n, int64_t epsilon, int study = 1, int64_t time = kTime) {
  LedgerQuery q;
  q.id = Id("agg_", n);
  q.study_id = Study(study);
  q.researcher_id = Id("r_", 7);
  q.time = time;
  q.epsilon = epsilon;
  q.description =
      "count of citizens with condition E11, query " + std::to_string(n);
  q.request_id = "req-" + std::to_string(n);
  return q;
}

using tillit::testing::FixedKeys;

class PrivacyLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    ledger_.reset();
    auto ledger = PrivacyLedger::OpenInDirectory(dir_.path(), keys_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(ledger).value();
  }
  std::string path() const { return dir_ / "privacy.db"; }
  crypto::SecretBytes Key() const {
    return *keys_.DeriveKey(crypto::KdfContext::kPrivacyLedger, 1);
  }
  // The file as someone holding its key sees it.
  std::unique_ptr<storage::Database> RawDb(
      const storage::Database::SetupFn& setup = nullptr) {
    const crypto::SecretBytes key = Key();
    auto db = storage::Database::Open(path(), &key, {}, setup);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return std::move(db).value();
  }
  void Exec(const char* sql) { ASSERT_TRUE(RawDb()->Exec(sql).ok()) << sql; }
  // Every row of every table, to show that a refused call wrote nothing.
  std::string Dump() {
    auto db = RawDb();
    std::string out;
    for (const char* sql :
         {"SELECT study_id || ' ' || total || ' ' || spent "
          "FROM study_budgets ORDER BY 1",
          "SELECT id || ' ' || study_id || ' ' || epsilon || ' ' || "
          "contributors FROM queries ORDER BY 1",
          "SELECT citizen_id || ' ' || study_id || ' ' || spent "
          "FROM citizen_spend ORDER BY 1",
          "SELECT citizen_id || ' ' || query_id FROM citizen_queries "
          "ORDER BY 1",
          "SELECT key || ' ' || value FROM settings ORDER BY 1"}) {
      auto st = db->Prepare(sql);
      EXPECT_TRUE(st.ok());
      for (;;) {
        auto row = st->Step();
        EXPECT_TRUE(row.ok());
        if (!row.ok() || !*row) break;
        out += st->ColumnText(0);
        out += '\n';
      }
      out += "--\n";
    }
    return out;
  }
  StudyBudget Budget(int study) {
    auto b = ledger_->GetStudyBudget(Study(study));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? *b : StudyBudget{};
  }

  tillit::testing::TempDir dir_;
  FixedKeys keys_;
  std::unique_ptr<PrivacyLedger> ledger_;
};

// ------------------------------------------------------------------ budgets

TEST_F(PrivacyLedgerTest, SetsAndGetsStudyBudgets) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 1'500'000).ok());
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(2), 0).ok());
  StudyBudget b = Budget(1);
  EXPECT_EQ(b.study_id, Study(1));
  EXPECT_EQ(b.total, 1'500'000);
  EXPECT_EQ(b.spent, 0);
  EXPECT_EQ(b.remaining(), 1'500'000);
  EXPECT_EQ(Budget(2).total, 0);
  // Raising and lowering (nothing spent yet).
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 3 * kEpsilon).ok());
  EXPECT_EQ(Budget(1).total, 3 * kEpsilon);
  ASSERT_TRUE(
      ledger_->SetStudyBudget(Study(1), PrivacyLedger::kMaxBudget).ok());
  EXPECT_EQ(Budget(1).total, PrivacyLedger::kMaxBudget);
}

TEST_F(PrivacyLedgerTest, RefusesBudgetsOutsideZeroToOneHundred) {
  for (int64_t total : {int64_t{-1}, PrivacyLedger::kMaxBudget + 1,
                        std::numeric_limits<int64_t>::min(),
                        std::numeric_limits<int64_t>::max()}) {
    Status s = ledger_->SetStudyBudget(Study(1), total);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << total;
    EXPECT_EQ(s.message(),
              "a study's privacy budget must be between ε 0 and ε 100");
  }
  EXPECT_EQ(ledger_->GetStudyBudget(Study(1)).status().code(),
            StatusCode::kNotFound);
}

TEST_F(PrivacyLedgerTest, RefusesMalformedIds) {
  std::string upper = Study(10);
  upper.back() = 'A';
  for (const std::string& bad :
       {std::string(), std::string("s_1"), Citizen(1), Study(1) + "0", upper}) {
    EXPECT_EQ(ledger_->SetStudyBudget(bad, kEpsilon).code(),
              StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(ledger_->GetStudyBudget(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(ledger_->CitizenSpent(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
  for (const std::string& bad : {std::string("c_1"), Study(1)}) {
    EXPECT_EQ(ledger_->ForCitizen(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(ledger_->ForgetCitizen(bad).code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(PrivacyLedgerTest, StudyWithoutBudgetIsNotFoundAndCannotBeCharged) {
  Status s = ledger_->GetStudyBudget(Study(1)).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  const std::string before = Dump();
  Status charged = ledger_->Charge(Query(1, kEpsilon / 10), {Citizen(1)});
  EXPECT_EQ(charged.code(), StatusCode::kNotFound);
  EXPECT_EQ(Dump(), before);
  EXPECT_TRUE(ledger_->ForCitizen(Citizen(1))->empty());
}

TEST_F(PrivacyLedgerTest, DefaultCitizenCap) {
  EXPECT_EQ(*ledger_->DefaultCitizenCap(), PrivacyLedger::kDefaultCitizenCap);
  EXPECT_EQ(PrivacyLedger::kDefaultCitizenCap, kEpsilon);
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(2'500'000).ok());
  EXPECT_EQ(*ledger_->DefaultCitizenCap(), 2'500'000);
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(0).ok());
  EXPECT_EQ(*ledger_->DefaultCitizenCap(), 0);
  for (int64_t cap : {int64_t{-1}, PrivacyLedger::kMaxBudget + 1}) {
    Status s = ledger_->SetDefaultCitizenCap(cap);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << cap;
    EXPECT_EQ(s.message(), "a citizen's cap must be between ε 0 and ε 100");
  }
  EXPECT_EQ(*ledger_->DefaultCitizenCap(), 0);
}

// ------------------------------------------------------------------ charges

TEST_F(PrivacyLedgerTest, TenTenthsSpendExactlyOneAndTheEleventhIsRefused) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  for (int i = 1; i <= 10; ++i) {
    ASSERT_TRUE(ledger_->Charge(Query(i, kEpsilon / 10), {Citizen(1)}).ok())
        << i;
  }
  StudyBudget b = Budget(1);
  EXPECT_EQ(b.spent, kEpsilon);
  EXPECT_EQ(b.remaining(), 0);
  EXPECT_EQ((*ledger_->CitizenSpent(Study(1)))[Citizen(1)], kEpsilon);

  const std::string before = Dump();
  Status s = ledger_->Charge(Query(11, kEpsilon / 10), {Citizen(1)});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "the study's privacy budget is spent: ε 0 remains, the query "
            "asks ε 0.1");
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ((*ledger_->ForCitizen(Citizen(1)))[0].queries.size(), 10u);
}

TEST_F(PrivacyLedgerTest, RefusesExactlyWhenLessRemainsThanAsked) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 300'000).ok());
  ASSERT_TRUE(ledger_->Charge(Query(1, 200'000), {Citizen(1)}).ok());
  const std::string before = Dump();
  Status s = ledger_->Charge(Query(2, 100'001), {Citizen(1)});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(),
            "the study's privacy budget is spent: ε 0.1 remains, the query "
            "asks ε 0.100001");
  EXPECT_EQ(Dump(), before);
  // Asking exactly what remains is allowed.
  EXPECT_TRUE(ledger_->Charge(Query(3, 100'000), {Citizen(1)}).ok());
  EXPECT_EQ(Budget(1).remaining(), 0);
  // A query larger than any budget is refused the same way.
  s = ledger_->Charge(Query(4, std::numeric_limits<int64_t>::max()), {});
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
}

TEST_F(PrivacyLedgerTest, TotalCannotBeLoweredBelowWhatIsSpent) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  ASSERT_TRUE(ledger_->Charge(Query(1, 700'000), {Citizen(1)}).ok());
  const std::string before = Dump();
  for (int64_t total : {int64_t{0}, int64_t{500'000}, int64_t{699'999}}) {
    Status s = ledger_->SetStudyBudget(Study(1), total);
    EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << total;
    EXPECT_EQ(s.message(),
              "the study has already spent ε 0.7 of its privacy budget; its "
              "total cannot be less");
  }
  EXPECT_EQ(Dump(), before);
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 700'000).ok());
  EXPECT_EQ(Budget(1).remaining(), 0);
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 2 * kEpsilon).ok());
  EXPECT_EQ(Budget(1).spent, 700'000);
  EXPECT_EQ(Budget(1).remaining(), 1'300'000);
}

TEST_F(PrivacyLedgerTest, ReusedQueryIdIsRefusedAndWritesNothing) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(2), kEpsilon).ok());
  ASSERT_TRUE(ledger_->Charge(Query(1, 100'000), {Citizen(1)}).ok());
  const std::string before = Dump();
  // The same id, even for another study, other citizens and another ε.
  Status s = ledger_->Charge(Query(1, 200'000, 2), {Citizen(2), Citizen(3)});
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Dump(), before);
  // Even when the study's budget could not pay for it.
  ASSERT_TRUE(ledger_->Charge(Query(2, 900'000), {}).ok());
  EXPECT_EQ(ledger_->Charge(Query(1, 100'000), {Citizen(1)}).code(),
            StatusCode::kAlreadyExists);
}

TEST_F(PrivacyLedgerTest, RefusesMalformedQueriesAndWritesNothing) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  const std::string before = Dump();
  struct Case {
    const char* what;
    void (*change)(LedgerQuery&);
  };
  const Case cases[] = {
      {"bad id", [](LedgerQuery& q) { q.id = "agg_1"; }},
      {"id of another kind", [](LedgerQuery& q) { q.id = Id("rel_", 1); }},
      {"bad study", [](LedgerQuery& q) { q.study_id = "s_"; }},
      {"bad researcher", [](LedgerQuery& q) { q.researcher_id = Citizen(1); }},
      {"negative time", [](LedgerQuery& q) { q.time = -1; }},
      {"zero epsilon", [](LedgerQuery& q) { q.epsilon = 0; }},
      {"negative epsilon", [](LedgerQuery& q) { q.epsilon = -100'000; }},
      {"empty description", [](LedgerQuery& q) { q.description.clear(); }},
      {"long description",
       [](LedgerQuery& q) { q.description = std::string(501, 'x'); }},
      {"long request id",
       [](LedgerQuery& q) { q.request_id = std::string(201, 'x'); }},
  };
  for (const Case& c : cases) {
    LedgerQuery q = Query(1, 100'000);
    c.change(q);
    EXPECT_EQ(ledger_->Charge(q, {Citizen(1)}).code(),
              StatusCode::kInvalidArgument)
        << c.what;
  }
  EXPECT_EQ(ledger_->Charge(Query(1, 100'000), {Citizen(1), "c_1"}).code(),
            StatusCode::kInvalidArgument);
  Status twice =
      ledger_->Charge(Query(1, 100'000), {Citizen(1), Citizen(2), Citizen(1)});
  EXPECT_EQ(twice.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(twice.message(), "a contributor is listed twice");
  EXPECT_EQ(Dump(), before);
  // The limits themselves are accepted.
  LedgerQuery q = Query(1, 1);
  q.description = std::string(500, 'x');
  q.request_id = std::string(200, 'x');
  q.time = 0;
  EXPECT_TRUE(ledger_->Charge(q, {Citizen(1)}).ok());
}

TEST_F(PrivacyLedgerTest, ChargeRecordsTheContributorsSpend) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 5 * kEpsilon).ok());
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(2), 5 * kEpsilon).ok());
  ASSERT_TRUE(
      ledger_->Charge(Query(1, 250'000), {Citizen(1), Citizen(2)}).ok());
  ASSERT_TRUE(ledger_->Charge(Query(2, 500'000), {Citizen(2)}).ok());
  ASSERT_TRUE(ledger_->Charge(Query(3, 1, 2), {Citizen(3)}).ok());
  // A query over nobody still spends the study's budget.
  ASSERT_TRUE(ledger_->Charge(Query(4, 10, 1), {}).ok());
  const std::map<std::string, int64_t> expected = {{Citizen(1), 250'000},
                                                   {Citizen(2), 750'000}};
  EXPECT_EQ(*ledger_->CitizenSpent(Study(1)), expected);
  EXPECT_EQ(*ledger_->CitizenSpent(Study(2)),
            (std::map<std::string, int64_t>{{Citizen(3), 1}}));
  EXPECT_TRUE(ledger_->CitizenSpent(Study(3))->empty());
  EXPECT_EQ(Budget(1).spent, 750'010);
  EXPECT_EQ(Budget(2).spent, 1);
}

TEST_F(PrivacyLedgerTest, RestartKeepsEverything) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), 2 * kEpsilon).ok());
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(3 * kEpsilon).ok());
  ASSERT_TRUE(
      ledger_->Charge(Query(1, 300'000), {Citizen(1), Citizen(2)}).ok());
  const std::string before = Dump();
  Reopen();
  EXPECT_EQ(Dump(), before);
  EXPECT_EQ(Budget(1).spent, 300'000);
  EXPECT_EQ(Budget(1).total, 2 * kEpsilon);
  EXPECT_EQ(*ledger_->DefaultCitizenCap(), 3 * kEpsilon);
  EXPECT_EQ(ledger_->CitizenSpent(Study(1))->size(), 2u);
  auto view = ledger_->ForCitizen(Citizen(2));
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->size(), 1u);
  EXPECT_EQ((*view)[0].spent, 300'000);
  // The spent budget still counts after the restart.
  ASSERT_TRUE(ledger_->Charge(Query(2, 1'700'000), {Citizen(1)}).ok());
  EXPECT_EQ(ledger_->Charge(Query(3, 1), {}).code(),
            StatusCode::kPermissionDenied);
}

// Two charges at once against a budget for one: exactly one is written,
// through one ledger (its mutex) and through two connections to the file
// (BEGIN IMMEDIATE, as two processes would).
TEST_F(PrivacyLedgerTest, TwoChargesAtOnceWithBudgetForOneOneSucceeds) {
  auto other = PrivacyLedger::Open(path(), Key());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  for (int round = 0; round < 20; ++round) {
    const int study = round + 1;
    ASSERT_TRUE(ledger_->SetStudyBudget(Study(study), 500'000).ok());
    PrivacyLedger* ledgers[2] = {ledger_.get(),
                                 round % 2 == 0 ? ledger_.get() : other->get()};
    std::atomic<int> ready{0};
    Status results[2];
    auto run = [&](int i) {
      ++ready;
      while (ready.load() < 2) std::this_thread::yield();
      results[i] = ledgers[i]->Charge(Query(2 * round + i + 1, 500'000, study),
                                      {Citizen(i + 1)});
    };
    std::thread a(run, 0);
    std::thread b(run, 1);
    a.join();
    b.join();
    const int ok = results[0].ok() + results[1].ok();
    EXPECT_EQ(ok, 1) << round;
    for (const Status& s : results) {
      if (!s.ok()) {
        EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
      }
    }
    EXPECT_EQ(Budget(study).spent, 500'000);
    EXPECT_EQ(ledger_->CitizenSpent(Study(study))->size(), 1u);
  }
}

TEST_F(PrivacyLedgerTest, ChargesOneHundredThousandContributors) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  std::vector<std::string> contributors;
  contributors.reserve(100'000);
  for (int i = 1; i <= 100'000; ++i) contributors.push_back(Citizen(i));
  ASSERT_TRUE(ledger_->Charge(Query(1, 100'000), contributors).ok());
  ASSERT_TRUE(ledger_->Charge(Query(2, 100'000), contributors).ok());
  auto spent = ledger_->CitizenSpent(Study(1));
  ASSERT_TRUE(spent.ok());
  EXPECT_EQ(spent->size(), 100'000u);
  EXPECT_EQ(spent->at(Citizen(54'321)), 200'000);
  auto view = ledger_->ForCitizen(Citizen(100'000));
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->size(), 1u);
  ASSERT_EQ((*view)[0].queries.size(), 2u);
  EXPECT_EQ((*view)[0].queries[0].contributors, 100'000);
}

// ------------------------------------------------------------ citizen view

TEST_F(PrivacyLedgerTest, CitizenSeesOnlyStudiesWithTheirDataNewestFirst) {
  for (int s = 1; s <= 3; ++s)
    ASSERT_TRUE(ledger_->SetStudyBudget(Study(s), 10 * kEpsilon).ok());
  ASSERT_TRUE(
      ledger_
          ->Charge(Query(1, 100'000, 1, kTime + 100), {Citizen(1), Citizen(2)})
          .ok());
  ASSERT_TRUE(
      ledger_->Charge(Query(2, 200'000, 2, kTime + 200), {Citizen(1)}).ok());
  ASSERT_TRUE(
      ledger_->Charge(Query(3, 300'000, 1, kTime + 300), {Citizen(2)}).ok());
  ASSERT_TRUE(
      ledger_
          ->Charge(Query(4, 400'000, 3, kTime + 400), {Citizen(2), Citizen(3)})
          .ok());
  // The same second as query 3: charged later, so listed first.
  ASSERT_TRUE(
      ledger_->Charge(Query(5, 500'000, 1, kTime + 300), {Citizen(1)}).ok());

  auto view = ledger_->ForCitizen(Citizen(1));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->size(), 2u);
  const CitizenStudySpend& first = (*view)[0];
  EXPECT_EQ(first.study_id, Study(1));
  EXPECT_EQ(first.spent, 600'000);
  ASSERT_EQ(first.queries.size(), 2u);
  EXPECT_EQ(first.queries[0].id, Id("agg_", 5));
  EXPECT_EQ(first.queries[1].id, Id("agg_", 1));
  const LedgerQuery& q = first.queries[1];
  const LedgerQuery want = Query(1, 100'000, 1, kTime + 100);
  EXPECT_EQ(q.study_id, want.study_id);
  EXPECT_EQ(q.researcher_id, want.researcher_id);
  EXPECT_EQ(q.time, want.time);
  EXPECT_EQ(q.epsilon, 100'000);
  EXPECT_EQ(q.description, want.description);
  EXPECT_EQ(q.contributors, 2);
  EXPECT_EQ(q.request_id, want.request_id);
  const CitizenStudySpend& second = (*view)[1];
  EXPECT_EQ(second.study_id, Study(2));
  EXPECT_EQ(second.spent, 200'000);
  ASSERT_EQ(second.queries.size(), 1u);
  EXPECT_EQ(second.queries[0].description, Query(2, 1).description);

  view = ledger_->ForCitizen(Citizen(3));
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->size(), 1u);
  EXPECT_EQ((*view)[0].study_id, Study(3));
  EXPECT_EQ((*view)[0].spent, 400'000);

  view = ledger_->ForCitizen(Citizen(4));
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->empty());
}

TEST_F(PrivacyLedgerTest, ForgetCitizenRemovesOnlyThatCitizen) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(2), kEpsilon).ok());
  ASSERT_TRUE(
      ledger_->Charge(Query(1, 100'000), {Citizen(1), Citizen(2)}).ok());
  ASSERT_TRUE(ledger_->Charge(Query(2, 200'000, 2), {Citizen(1)}).ok());
  const auto before = ledger_->ForCitizen(Citizen(2));
  ASSERT_TRUE(before.ok());

  ASSERT_TRUE(ledger_->ForgetCitizen(Citizen(1)).ok());
  EXPECT_TRUE(ledger_->ForCitizen(Citizen(1))->empty());
  EXPECT_EQ(*ledger_->CitizenSpent(Study(1)),
            (std::map<std::string, int64_t>{{Citizen(2), 100'000}}));
  EXPECT_TRUE(ledger_->CitizenSpent(Study(2))->empty());
  auto after = ledger_->ForCitizen(Citizen(2));
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].spent, (*before)[0].spent);
  EXPECT_EQ((*after)[0].queries.size(), 1u);
  // The studies' totals and the queries stay.
  EXPECT_EQ(Budget(1).spent, 100'000);
  EXPECT_EQ(Budget(2).spent, 200'000);
  const std::string dump = Dump();
  EXPECT_EQ(dump.find(Citizen(1)), std::string::npos);
  EXPECT_NE(dump.find(Id("agg_", 2)), std::string::npos);
  // Forgetting someone the ledger does not know is not an error.
  EXPECT_TRUE(ledger_->ForgetCitizen(Citizen(9)).ok());
}

// ----------------------------------------------------------------- the file

TEST_F(PrivacyLedgerTest, NewFileIsPrivateAndStamped) {
  const fs::perms perms = fs::status(path()).permissions();
  EXPECT_EQ(perms & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  ledger_.reset();
  EXPECT_EQ(*RawDb()->SchemaVersion(), PrivacyLedger::kSchemaVersion);
}

TEST_F(PrivacyLedgerTest, NewerFileIsRefusedAndLeftAsItWas) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  ledger_.reset();
  const int64_t future = PrivacyLedger::kSchemaVersion + 1;
  RawDb([future](storage::Database& d) {
    const std::string sql = "PRAGMA user_version = " + std::to_string(future);
    return d.Exec(sql.c_str());
  });
  auto ledger = PrivacyLedger::OpenInDirectory(dir_.path(), keys_);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ledger.status().message(),
            "privacy ledger at privacy.db: format " + std::to_string(future) +
                " is newer than this tillit supports (" +
                std::to_string(PrivacyLedger::kSchemaVersion) +
                "); upgrade tillit");
  auto db = RawDb();
  EXPECT_EQ(*db->SchemaVersion(), future);
  auto st = db->Prepare("SELECT total FROM study_budgets");
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(*st->Step());
  EXPECT_EQ(st->ColumnInt64(0), kEpsilon);
}

TEST_F(PrivacyLedgerTest, RefusesAWrongOrShortKey) {
  ledger_.reset();
  const crypto::SecretBytes wrong =
      *keys_.DeriveKey(crypto::KdfContext::kPrivacyLedger, 2);
  auto ledger = PrivacyLedger::Open(path(), wrong);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.status().code(), StatusCode::kDataLoss);
  ledger =
      PrivacyLedger::Open(path(), crypto::SecretBytes::CopyFrom("short key"));
  EXPECT_EQ(ledger.status().code(), StatusCode::kInvalidArgument);
}

// A file changed behind the ledger's back to hold what it never writes is
// reported, not used.
TEST_F(PrivacyLedgerTest, ImpossibleStoredValuesAreDataLoss) {
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(1), kEpsilon).ok());
  ASSERT_TRUE(ledger_->SetStudyBudget(Study(2), kEpsilon).ok());
  ASSERT_TRUE(ledger_->Charge(Query(1, 100'000), {Citizen(1)}).ok());
  ASSERT_TRUE(ledger_->Charge(Query(2, 100'000, 2), {Citizen(2)}).ok());
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(kEpsilon).ok());
  ledger_.reset();
  Exec(
      "UPDATE study_budgets SET spent = total + 1 WHERE study_id = "
      "'s_00000000000000000000000000000002'");
  Exec(
      "UPDATE citizen_spend SET spent = 200000000 WHERE citizen_id = "
      "'c_00000000000000000000000000000001'");
  Exec("UPDATE settings SET value = -1");
  Reopen();
  const std::string before = Dump();
  EXPECT_EQ(ledger_->GetStudyBudget(Study(2)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ledger_->Charge(Query(3, 1, 2), {}).code(), StatusCode::kDataLoss);
  EXPECT_EQ(ledger_->SetStudyBudget(Study(2), kEpsilon).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ledger_->CitizenSpent(Study(1)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ledger_->ForCitizen(Citizen(1)).status().code(),
            StatusCode::kDataLoss);
  // Citizen 3 is written first, then citizen 1's row refuses the charge.
  EXPECT_EQ(ledger_->Charge(Query(4, 1), {Citizen(3), Citizen(1)}).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ledger_->DefaultCitizenCap().status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(Dump(), before);
}

// ------------------------------------------------------------ FormatEpsilon

TEST(FormatEpsilonTest, ShortestExactDecimal) {
  const std::pair<int64_t, const char*> cases[] = {
      {0, "0"},
      {1, "0.000001"},
      {10, "0.00001"},
      {100'000, "0.1"},
      {500'000, "0.5"},
      {1'000'000, "1"},
      {1'500'000, "1.5"},
      {1'234'567, "1.234567"},
      {2'000'000, "2"},
      {10'050'000, "10.05"},
      {100'000'000, "100"},
      {-500'000, "-0.5"},
      {-3'000'000, "-3"},
      {std::numeric_limits<int64_t>::max(), "9223372036854.775807"},
      {std::numeric_limits<int64_t>::min(), "-9223372036854.775808"},
  };
  for (const auto& [micro, text] : cases) {
    EXPECT_EQ(FormatEpsilon(micro), text) << micro;
  }
}

}  // namespace
}  // namespace tillit::research
