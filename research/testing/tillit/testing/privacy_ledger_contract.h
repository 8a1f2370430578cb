// The contract every research::PrivacyLedger keeps, as one parametrised
// suite: a test binary includes this header once and instantiates it with
// the ledgers it builds (INSTANTIATE_TEST_SUITE_P(Name,
// PrivacyLedgerContractTest, ::testing::Values(PrivacyLedgerBackend{...}))).
// The data directory's privacy.db runs it in research_privacy_ledger_test,
// PostgreSQL's in pgstore_test.
#ifndef TILLIT_TESTING_PRIVACY_LEDGER_CONTRACT_H_
#define TILLIT_TESTING_PRIVACY_LEDGER_CONTRACT_H_

#include <gtest/gtest.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tillit/research/privacy_ledger.h"

namespace tillit::research {

struct PrivacyLedgerBackend {
  std::string name;
  // Two handles on one new, empty ledger (two processes or nodes).
  std::function<std::pair<std::shared_ptr<PrivacyLedger>,
                          std::shared_ptr<PrivacyLedger>>()>
      make;
};

inline std::string PrivacyLedgerBackendName(
    const ::testing::TestParamInfo<PrivacyLedgerBackend>& info) {
  return info.param.name;
}

class PrivacyLedgerContractTest
    : public ::testing::TestWithParam<PrivacyLedgerBackend> {
 protected:
  static constexpr int64_t kEps = 1'000'000;  // ε 1

  static std::string Id(const char* prefix, uint64_t n) {
    char hex[33];
    std::snprintf(hex, sizeof(hex), "%032" PRIx64, n);
    return std::string(prefix) + hex;
  }
  static std::string Study(int n) { return Id("s_", n); }
  static std::string Citizen(int n) { return Id("c_", n); }
  static LedgerQuery Query(int n, int64_t epsilon, int study = 1,
                           int64_t time = 1767225600) {
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

  void SetUp() override {
    std::tie(a_, b_) = GetParam().make();
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }
  PrivacyLedger& l() { return *a_; }

  std::shared_ptr<PrivacyLedger> a_, b_;
};

TEST_P(PrivacyLedgerContractTest, AStudysBudgetIsSetAndNeverBelowItsSpend) {
  EXPECT_EQ(l().GetStudyBudget(Study(1)).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(l().SetStudyBudget(Study(1), 3 * kEps).ok());
  ASSERT_TRUE(l().Charge(Query(1, 2 * kEps), {Citizen(1)}).ok());
  auto b = b_->GetStudyBudget(Study(1));  // seen through the other handle
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->total, 3 * kEps);
  EXPECT_EQ(b->spent, 2 * kEps);
  EXPECT_EQ(b->remaining(), kEps);
  Status below = l().SetStudyBudget(Study(1), kEps);
  EXPECT_EQ(below.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(below.message().find("ε 2"), std::string::npos) << below.message();
  EXPECT_TRUE(l().SetStudyBudget(Study(1), 2 * kEps).ok());
  EXPECT_EQ(l().SetStudyBudget(Study(1), PrivacyLedger::kMaxBudget + 1).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(l().SetStudyBudget("s_bad", kEps).code(),
            StatusCode::kInvalidArgument);
}

TEST_P(PrivacyLedgerContractTest, AChargeSpendsTheStudyAndEachContributor) {
  ASSERT_TRUE(l().SetStudyBudget(Study(1), 10 * kEps).ok());
  ASSERT_TRUE(l().Charge(Query(1, kEps), {Citizen(1), Citizen(2)}).ok());
  ASSERT_TRUE(l().Charge(Query(2, kEps / 2), {Citizen(2)}).ok());
  auto spent = b_->CitizenSpent(Study(1));
  ASSERT_TRUE(spent.ok()) << spent.status().ToString();
  EXPECT_EQ(*spent, (std::map<std::string, int64_t>{
                        {Citizen(1), kEps}, {Citizen(2), kEps + kEps / 2}}));
  EXPECT_EQ(l().GetStudyBudget(Study(1))->spent, kEps + kEps / 2);
  EXPECT_TRUE(l().CitizenSpent(Study(2))->empty());
}

TEST_P(PrivacyLedgerContractTest, ARefusedChargeWritesNothing) {
  ASSERT_TRUE(l().SetStudyBudget(Study(1), kEps).ok());
  ASSERT_TRUE(l().Charge(Query(1, kEps / 2), {Citizen(1)}).ok());
  Status over = l().Charge(Query(2, kEps), {Citizen(1), Citizen(2)});
  EXPECT_EQ(over.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(over.message().find("ε 0.5 remains"), std::string::npos)
      << over.message();
  EXPECT_EQ(l().Charge(Query(1, kEps / 4), {Citizen(2)}).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(l().Charge(Query(3, kEps / 4, /*study=*/2), {Citizen(2)}).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(l().Charge(Query(4, kEps / 4), {Citizen(2), Citizen(2)}).code(),
            StatusCode::kInvalidArgument);
  LedgerQuery bad = Query(5, kEps / 4);
  bad.description.clear();
  EXPECT_EQ(l().Charge(bad, {Citizen(2)}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(l().GetStudyBudget(Study(1))->spent, kEps / 2);
  EXPECT_EQ(*l().CitizenSpent(Study(1)),
            (std::map<std::string, int64_t>{{Citizen(1), kEps / 2}}));
  EXPECT_TRUE(l().ForCitizen(Citizen(2))->empty());
}

TEST_P(PrivacyLedgerContractTest, ACitizenSeesTheirStudiesNewestFirst) {
  ASSERT_TRUE(l().SetStudyBudget(Study(1), 10 * kEps).ok());
  ASSERT_TRUE(l().SetStudyBudget(Study(2), 10 * kEps).ok());
  ASSERT_TRUE(l().Charge(Query(1, kEps, 1, 100), {Citizen(1)}).ok());
  ASSERT_TRUE(l().Charge(Query(2, kEps, 2, 200), {Citizen(1)}).ok());
  ASSERT_TRUE(
      l().Charge(Query(3, kEps / 2, 1, 300), {Citizen(1), Citizen(2)}).ok());
  ASSERT_TRUE(l().Charge(Query(4, kEps, 2, 50), {Citizen(2)}).ok());
  auto view = b_->ForCitizen(Citizen(1));
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->size(), 2u);
  EXPECT_EQ((*view)[0].study_id, Study(1));  // its newest query is newest
  EXPECT_EQ((*view)[0].spent, kEps + kEps / 2);
  ASSERT_EQ((*view)[0].queries.size(), 2u);
  EXPECT_EQ((*view)[0].queries[0].id, Query(3, 0).id);
  EXPECT_EQ((*view)[0].queries[0].contributors, 2);
  EXPECT_EQ((*view)[0].queries[0].description, Query(3, 0).description);
  EXPECT_EQ((*view)[0].queries[0].request_id, "req-3");
  EXPECT_EQ((*view)[0].queries[1].id, Query(1, 0).id);
  EXPECT_EQ((*view)[1].study_id, Study(2));
  EXPECT_EQ((*view)[1].spent, kEps);
  EXPECT_EQ(l().ForCitizen("c_bad").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(PrivacyLedgerContractTest, AForgottenCitizenLeavesTheTotals) {
  ASSERT_TRUE(l().SetStudyBudget(Study(1), 10 * kEps).ok());
  ASSERT_TRUE(l().Charge(Query(1, kEps), {Citizen(1), Citizen(2)}).ok());
  ASSERT_TRUE(b_->ForgetCitizen(Citizen(1)).ok());
  EXPECT_TRUE(l().ForCitizen(Citizen(1))->empty());
  EXPECT_EQ(*l().CitizenSpent(Study(1)),
            (std::map<std::string, int64_t>{{Citizen(2), kEps}}));
  EXPECT_EQ(l().GetStudyBudget(Study(1))->spent, kEps);
  ASSERT_EQ(l().ForCitizen(Citizen(2))->size(), 1u);
}

TEST_P(PrivacyLedgerContractTest, TheDefaultCapIsOneUntilSet) {
  EXPECT_EQ(*l().DefaultCitizenCap(), PrivacyLedger::kDefaultCitizenCap);
  ASSERT_TRUE(l().SetDefaultCitizenCap(3 * kEps).ok());
  EXPECT_EQ(*b_->DefaultCitizenCap(), 3 * kEps);
  ASSERT_TRUE(b_->SetDefaultCitizenCap(0).ok());
  EXPECT_EQ(*l().DefaultCitizenCap(), 0);
  EXPECT_EQ(l().SetDefaultCitizenCap(-1).code(), StatusCode::kInvalidArgument);
}

TEST_P(PrivacyLedgerContractTest, ChargesFromTwoHandlesAtOnceNeverOverspend) {
  ASSERT_TRUE(l().SetStudyBudget(Study(1), 10 * kEps).ok());
  std::atomic<int> charged{0}, refused{0};
  auto charge = [&](PrivacyLedger* ledger, int first) {
    for (int i = 0; i < 10; ++i) {
      Status s = ledger->Charge(Query(first + i, kEps), {Citizen(first + i)});
      if (s.ok()) {
        ++charged;
      } else {
        EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
        ++refused;
      }
    }
  };
  std::thread ta(charge, a_.get(), 100);
  std::thread tb(charge, b_.get(), 200);
  ta.join();
  tb.join();
  EXPECT_EQ(charged.load(), 10);
  EXPECT_EQ(refused.load(), 10);
  EXPECT_EQ(l().GetStudyBudget(Study(1))->spent, 10 * kEps);
  EXPECT_EQ(l().CitizenSpent(Study(1))->size(), 10u);
}

TEST_P(PrivacyLedgerContractTest, EveryRowMovesIntoANewLedgerUnchanged) {
  ASSERT_TRUE(l().SetDefaultCitizenCap(3 * kEps).ok());
  ASSERT_TRUE(l().SetStudyBudget(Study(2), 10 * kEps).ok());
  ASSERT_TRUE(l().SetStudyBudget(Study(1), 5 * kEps).ok());
  ASSERT_TRUE(l().Charge(Query(2, kEps, 2), {Citizen(2), Citizen(1)}).ok());
  ASSERT_TRUE(l().Charge(Query(1, kEps / 2, 1), {Citizen(1)}).ok());
  ASSERT_TRUE(l().Charge(Query(3, kEps, 2), {Citizen(3)}).ok());
  ASSERT_TRUE(l().ForgetCitizen(Citizen(3)).ok());  // an erased citizen

  auto rows = l().ExportRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->default_citizen_cap, 3 * kEps);
  ASSERT_EQ(rows->studies.size(), 2u);
  EXPECT_EQ(rows->studies[0].study_id, Study(1));  // by id
  EXPECT_EQ(rows->studies[1].spent, 2 * kEps);
  ASSERT_EQ(rows->queries.size(), 3u);
  EXPECT_EQ(rows->queries[0].id, Query(2, kEps).id);  // as charged
  EXPECT_EQ(rows->queries[0].contributors, 2);
  EXPECT_EQ(rows->queries[2].contributors, 1);  // its citizen forgotten
  EXPECT_EQ(rows->spends,
            (std::vector<LedgerRows::Spend>{{Citizen(1), Study(1), kEps / 2},
                                            {Citizen(1), Study(2), kEps},
                                            {Citizen(2), Study(2), kEps}}));
  EXPECT_EQ(rows->listings.size(), 3u);

  auto [copy, unused] = GetParam().make();
  ASSERT_NE(copy, nullptr);
  ASSERT_TRUE(copy->ImportRows(*rows).ok());
  auto again = copy->ExportRows();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->spends, rows->spends);
  EXPECT_EQ(again->listings, rows->listings);
  ASSERT_EQ(again->queries.size(), 3u);
  EXPECT_EQ(again->queries[1].description, rows->queries[1].description);
  // The copy answers as the original does, and charges on from there.
  EXPECT_EQ(*copy->DefaultCitizenCap(), 3 * kEps);
  auto mine = copy->ForCitizen(Citizen(1));
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  EXPECT_EQ(mine->size(), 2u);
  EXPECT_EQ(copy->GetStudyBudget(Study(2))->spent, 2 * kEps);
  EXPECT_EQ(copy->Charge(Query(1, kEps / 2, 1), {Citizen(1)}).code(),
            StatusCode::kAlreadyExists);

  // Only into an empty ledger; rows it could not have written are refused.
  EXPECT_EQ(copy->ImportRows(*rows).code(), StatusCode::kFailedPrecondition);
  auto [fresh, unused2] = GetParam().make();
  LedgerRows bad = *rows;
  bad.studies[0].spent = bad.studies[0].total + 1;
  EXPECT_EQ(fresh->ImportRows(bad).code(), StatusCode::kInvalidArgument);
  bad = *rows;
  bad.listings.push_back({Citizen(1), Query(9, kEps).id});
  EXPECT_EQ(fresh->ImportRows(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fresh->ExportRows()->studies.empty());
}

}  // namespace tillit::research

#endif  // TILLIT_TESTING_PRIVACY_LEDGER_CONTRACT_H_
