// Differentially private aggregates over HTTP (issue 18): who may ask, what
// the answer says, the study's budget, and what the citizen sees of it.
#include "http_fixture.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::testing {
namespace {

constexpr const char* kStudy =
    R"({"title":"HbA1c in primary care","purpose":"DUO:0000006",)"
    R"("categories":["patient-summary","lab-results"]})";

class HttpAggregateTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    researcher_ = NewResearcher("commercial");
    Reply s = Post("/v1/studies", kStudy, researcher_.token);
    ASSERT_EQ(s.status, 201) << s.body;
    study_ = s.Json()["id"].get<std::string>();
    for (uint64_t i = 0; i < 3; ++i) {
      Principal c = NewCitizen();
      Reply imported = Post("/v1/me/import", SyntheticBundle(i), c.token,
                            "application/fhir+json");
      ASSERT_EQ(imported.status, 200) << imported.body;
      citizens_.push_back(c);
    }
  }

  // A research grant for HMB on the study's categories, optionally with a
  // cap on what one study may spend of this citizen's privacy.
  void Grant(const Principal& c, const std::string& extra = "") {
    Reply g = Post("/v1/me/consents",
                   R"({"grantee":{"kind":"any-researcher"},)"
                   R"("purposes":["DUO:0000006"],)"
                   R"("categories":["patient-summary","lab-results"])" +
                       extra + "}",
                   c.token);
    ASSERT_EQ(g.status, 201) << g.body;
  }

  Reply SetBudget(const std::string& epsilon) {
    return Put("/v1/admin/studies/" + study_ + "/privacy-budget",
               R"({"epsilon":)" + epsilon + "}", admin_);
  }
  Reply Ask(const std::string& query, const std::string& token = "") {
    return Post("/v1/studies/" + study_ + "/aggregates", query,
                token.empty() ? researcher_.token : token);
  }

  Principal researcher_;
  std::string study_;
  std::vector<Principal> citizens_;
};

TEST_F(HttpAggregateTest, AnswersWithNoiseAndSpendsTheStudysBudget) {
  Grant(citizens_[0]);
  Grant(citizens_[1]);
  ASSERT_EQ(SetBudget("1").status, 200);
  Reply r = Ask(R"({"query":"age_sex","epsilon":0.4,"age_bands":[0,65]})");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  EXPECT_EQ(j["mechanism"], "discrete Laplace");
  EXPECT_EQ(j["epsilon"], 0.4);
  EXPECT_EQ(j["delta"], 0);
  ASSERT_EQ(j["cells"].size(), 12u);  // 4 sexes x (2 bands + unknown)
  for (const json& c : j["cells"]) {
    EXPECT_EQ(c["sensitivity"], 1);
    EXPECT_EQ(c["epsilon"], 0.4);
    // Scale 2.5: P(|noise| > k) = 2 p^(k+1) / (1 + p), p = e^-0.4, is at
    // most 0.05 from k = 7.
    EXPECT_EQ(c["error_bound_95"], 7);
    EXPECT_EQ(c["below_noise"], c["value"].get<int64_t>() < 7);
    EXPECT_TRUE(c["key"].contains("sex"));
  }
  EXPECT_EQ(j["budget"]["spent"], 0.4);
  EXPECT_EQ(j["budget"]["remaining"], 0.6);
  EXPECT_NE(j["description"].get<std::string>().find("age band and sex"),
            std::string::npos);

  // 0.6 is left: 0.7 is refused, with nothing spent.
  Reply over = Ask(R"({"query":"count","epsilon":0.7})");
  EXPECT_EQ(over.status, 403) << over.body;
  EXPECT_NE(over.body.find("budget is spent"), std::string::npos) << over.body;
  Reply fits = Ask(R"({"query":"count","epsilon":0.6})");
  ASSERT_EQ(fits.status, 200) << fits.body;
  EXPECT_EQ(fits.Json()["budget"]["remaining"], 0);
  EXPECT_EQ(Ask(R"({"query":"count","epsilon":0.01})").status, 403);
}

TEST_F(HttpAggregateTest, OnlyTheStudysOwnerMayAsk) {
  Grant(citizens_[0]);
  ASSERT_EQ(SetBudget("1").status, 200);
  const std::string q = R"({"query":"count","epsilon":0.1})";
  Principal other = NewResearcher();
  EXPECT_EQ(Ask(q, other.token).status, 404);
  EXPECT_EQ(Ask(q, citizens_[0].token).status, 403);
  EXPECT_EQ(Ask(q, admin_).status, 403);
  EXPECT_EQ(Post("/v1/studies/s_00000000000000000000000000000000/aggregates", q,
                 researcher_.token)
                .status,
            404);
  EXPECT_EQ(Ask(q, "tlk_not-a-token").status, 401);
  // Bad queries: 400 naming the field, nothing spent.
  Reply bad = Ask(R"({"query":"count","epsilon":0.1,"bins":[1]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("bins"), std::string::npos) << bad.body;
  EXPECT_EQ(Ask("not json").status, 400);
  Reply owner = Ask(q);
  ASSERT_EQ(owner.status, 200) << owner.body;
  EXPECT_EQ(owner.Json()["budget"]["spent"], 0.1);
}

TEST_F(HttpAggregateTest, OperatorSetsTheBudgetWithClearErrors) {
  EXPECT_EQ(Ask(R"({"query":"count","epsilon":0.1})").status, 403);
  Reply set = SetBudget("2.5");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(set.Json()["total"], 2.5);
  EXPECT_EQ(set.Json()["remaining"], 2.5);
  EXPECT_EQ(SetBudget("101").status, 400);
  EXPECT_EQ(SetBudget("0.1234567").status, 400);
  EXPECT_EQ(SetBudget("-1").status, 400);
  EXPECT_EQ(Put("/v1/admin/studies/" + study_ + "/privacy-budget",
                R"({"epsilon":1,"more":1})", admin_)
                .status,
            400);
  EXPECT_EQ(Put("/v1/admin/studies/" + study_ + "/privacy-budget",
                R"({"epsilon":1})", researcher_.token)
                .status,
            403);
  Grant(citizens_[0]);
  ASSERT_EQ(Ask(R"({"query":"count","epsilon":1})").status, 200);
  Reply lower = SetBudget("0.5");
  EXPECT_EQ(lower.status, 409) << lower.body;
  EXPECT_EQ(SetBudget("1").status, 200);  // exactly what is spent
}

TEST_F(HttpAggregateTest, TheCitizenSeesWhatWasSpentAndByWhom) {
  Grant(citizens_[0]);
  Grant(citizens_[1], R"(,"privacy_budget":0.3)");
  ASSERT_EQ(SetBudget("5").status, 200);
  ASSERT_EQ(Ask(R"({"query":"count","epsilon":0.3})").status, 200);
  ASSERT_EQ(Ask(R"({"query":"categories","epsilon":0.2})").status, 200);

  Reply mine = Get("/v1/me/privacy-budget", citizens_[0].token);
  ASSERT_EQ(mine.status, 200) << mine.body;
  const json j = mine.Json();
  EXPECT_EQ(j["default_cap"], 1);
  ASSERT_EQ(j["studies"].size(), 1u) << mine.body;
  const json& s = j["studies"][0];
  EXPECT_EQ(s["study_id"], study_);
  EXPECT_EQ(s["title"], "HbA1c in primary care");
  EXPECT_EQ(s["organization"], "Karolinska Institutet");
  EXPECT_EQ(s["spent"], 0.5);
  EXPECT_EQ(s["cap"], 1);
  EXPECT_EQ(s["remaining"], 0.5);
  ASSERT_EQ(s["queries"].size(), 2u);
  EXPECT_NE(s["queries"][0]["description"].get<std::string>().find(
                "records in each of"),
            std::string::npos);  // newest first
  EXPECT_EQ(s["queries"][1]["epsilon"], 0.3);

  // Capped at 0.3: in the first answer, left out of the second.
  Reply capped = Get("/v1/me/privacy-budget", citizens_[1].token);
  ASSERT_EQ(capped.status, 200) << capped.body;
  ASSERT_EQ(capped.Json()["studies"].size(), 1u);
  EXPECT_EQ(capped.Json()["studies"][0]["spent"], 0.3);
  EXPECT_EQ(capped.Json()["studies"][0]["cap"], 0.3);
  EXPECT_EQ(capped.Json()["studies"][0]["remaining"], 0);
  EXPECT_EQ(capped.Json()["studies"][0]["queries"].size(), 1u);

  // Without a grant: never examined, nothing to show.
  Reply none = Get("/v1/me/privacy-budget", citizens_[2].token);
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(none.Json()["studies"].empty());

  // The access log says it too: one research.aggregate entry per query.
  Reply log = Get("/v1/me/access-log?limit=100", citizens_[0].token);
  ASSERT_EQ(log.status, 200) << log.body;
  int aggregates = 0;
  const json entries = log.Json()["entries"];
  for (const json& e : entries) {
    if (e["action"] == "research.aggregate") {
      ++aggregates;
      EXPECT_EQ(e.value("study", ""), study_) << e.dump();
      EXPECT_EQ(e.value("actor_id", ""), researcher_.id) << e.dump();
      EXPECT_EQ(e.value("decision", ""), "permit") << e.dump();
    }
  }
  EXPECT_EQ(aggregates, 2);
}

TEST_F(HttpAggregateTest, OptedOutAndRevokedCitizensNeverContribute) {
  Grant(citizens_[0]);
  Grant(citizens_[1]);
  // Non-commercial use only: the study's owner is a commercial company.
  Grant(citizens_[2], R"(,"conditions":[{"code":"DUO:0000046"}])");
  ASSERT_EQ(Put("/v1/me/research-opt-out", R"({"opted_out":true})",
                citizens_[1].token)
                .status,
            200);
  ASSERT_EQ(SetBudget("5").status, 200);
  ASSERT_EQ(Ask(R"({"query":"count","epsilon":0.5})").status, 200);
  Reply out = Get("/v1/me/privacy-budget", citizens_[1].token);
  ASSERT_EQ(out.status, 200);
  EXPECT_TRUE(out.Json()["studies"].empty()) << out.body;
  Reply ncu = Get("/v1/me/privacy-budget", citizens_[2].token);
  ASSERT_EQ(ncu.status, 200);
  EXPECT_TRUE(ncu.Json()["studies"].empty()) << ncu.body;

  // After revoking: the spend stays visible, the cap is gone, and the
  // next query leaves them out.
  Reply grants = Get("/v1/me/consents", citizens_[0].token);
  ASSERT_EQ(grants.status, 200);
  const std::string gid = grants.Json()["consents"][0]["id"];
  ASSERT_EQ(Delete("/v1/me/consents/" + gid, citizens_[0].token).status, 200);
  ASSERT_EQ(Ask(R"({"query":"count","epsilon":0.5})").status, 200);
  Reply after = Get("/v1/me/privacy-budget", citizens_[0].token);
  ASSERT_EQ(after.status, 200);
  ASSERT_EQ(after.Json()["studies"].size(), 1u);
  EXPECT_EQ(after.Json()["studies"][0]["spent"], 0.5);
  EXPECT_TRUE(after.Json()["studies"][0]["cap"].is_null());
  EXPECT_EQ(after.Json()["studies"][0]["queries"].size(), 1u);
}

TEST_F(HttpAggregateTest, ErasureForgetsTheCitizensSpend) {
  Grant(citizens_[0]);
  ASSERT_EQ(SetBudget("5").status, 200);
  ASSERT_EQ(Ask(R"({"query":"count","epsilon":0.5})").status, 200);
  ASSERT_EQ(Delete("/v1/me", citizens_[0].token,
                   json{{"confirm", citizens_[0].id}}.dump())
                .status,
            200);
  auto ledger =
      research::PrivacyLedger::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  auto rows = (*ledger)->ForCitizen(citizens_[0].id);
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(rows->empty());
  // The study's total spend is not given back.
  EXPECT_EQ((*ledger)->GetStudyBudget(study_)->spent, 500'000);
}

}  // namespace
}  // namespace tillit::testing
