// Tests of `tillit study budget` and of the privacy ledger's part in
// `tillit citizen erase`, through RunCli.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "src/cli_fixture.h"
#include "src/common.h"
#include "tillit/base/clock.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/consent_service/study_definition.h"
#include "tillit/crypto/random.h"
#include "tillit/research/privacy_ledger.h"

namespace tillit::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using research::PrivacyLedger;

class StudyBudgetTest : public CliTest {
 protected:
  // An initialised vault with a researcher and one registered study.
  void SetUp() override {
    CliTest::SetUp();
    ASSERT_EQ(Tillit({"init", "--data", data_}).code, 0);
    ASSERT_EQ(Tillit({"keygen", "--out", dir_ + "/r"}).code, 0);
    Result r = Tillit({"researcher", "add", "--data", data_, "--name", "Ada",
                       "--organization", "Uppsala universitet", "--org-type",
                       "academic", "--country", "SE", "--public-key",
                       dir_ + "/r.pub", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    researcher_ = json::parse(r.out)["researcher_id"].get<std::string>();
    auto v = OpenVault();
    ASSERT_TRUE(v);
    consent::ConsentService consents(v.get(), &Clock::System(),
                                     &crypto::Random::System());
    auto def = consent::ParseStudyDefinition(
        R"({"title": "Blood pressure in primary care",
            "purpose": "DUO:0000006",
            "categories": ["vital-signs"],
            "data_period": {"start": "2015-01-01", "end": null},
            "ethics_approval": "EPM 2026-01234",
            "obligations": []})");
    ASSERT_TRUE(def.ok()) << def.status().ToString();
    def->study.researcher_id = researcher_;
    auto stored = consents.RegisterStudy(*def);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    study_ = stored->study.id;
  }

  // `tillit study budget --data DIR ARGS...`
  Result Budget(std::vector<std::string> args) {
    args.insert(args.begin(), {"study", "budget", "--data", data_});
    return Tillit(args);
  }

  std::string NewCitizen() {
    Result r = Tillit({"citizen", "add", "--data", data_, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? json::parse(r.out)["citizen_id"].get<std::string>()
                       : "";
  }

  // Spends `epsilon` micro-ε of the study over `contributors`, as an
  // aggregate query would.
  void Charge(int64_t epsilon, const std::vector<std::string>& contributors) {
    auto v = OpenVault();
    ASSERT_TRUE(v);
    auto ledger = PrivacyLedger::OpenInDirectory(data_, *v);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    research::LedgerQuery q;
    q.id = "agg_" + crypto::Random::System().Hex(16);
    q.study_id = study_;
    q.researcher_id = researcher_;
    q.time = 1'800'000'000;
    q.epsilon = epsilon;
    q.description = "count of citizens";
    Status s = (*ledger)->Charge(q, contributors);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // What the ledger says one citizen's data has spent, per study.
  std::vector<research::CitizenStudySpend> Spent(const std::string& citizen) {
    auto v = OpenVault();
    if (!v) return {};
    auto ledger = PrivacyLedger::OpenInDirectory(data_, *v);
    EXPECT_TRUE(ledger.ok()) << ledger.status().ToString();
    if (!ledger.ok()) return {};
    auto spent = (*ledger)->ForCitizen(citizen);
    EXPECT_TRUE(spent.ok()) << spent.status().ToString();
    return spent.ok() ? *spent : std::vector<research::CitizenStudySpend>{};
  }

  // How many entries with `action` the audit log holds.
  size_t Audited(const std::string& action) {
    Result r = Tillit({"audit", "list", "--data", data_, "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    size_t n = 0;
    for (const auto& e : json::parse(r.out)) {
      if (e["action"] != action) continue;
      EXPECT_EQ(e["actor_kind"], "operator");
      if (action == "study.budget") {
        EXPECT_EQ(e["study"], study_);
      }
      ++n;
    }
    return n;
  }

  std::string researcher_, study_;
};

TEST_F(StudyBudgetTest, Help) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"study", "--help"},
                                             {"study", "budget", "--help"},
                                             {"help", "study"}}) {
    Result r = Tillit(args);
    EXPECT_EQ(r.code, 0) << args.back();
    EXPECT_EQ(r.out.rfind("Usage:", 0), 0u) << r.out;
    EXPECT_NE(r.out.find("--default-citizen-cap"), std::string::npos);
  }
  EXPECT_NE(Tillit({"--help"}).out.find("  study budget "), std::string::npos);
}

TEST_F(StudyBudgetTest, SetAndShowAStudysBudget) {
  Result none = Budget({study_});
  ASSERT_EQ(none.code, 0) << none.err;
  EXPECT_EQ(none.out, study_ +
                          ": no privacy budget set: aggregate queries are "
                          "refused until one is\n");
  Result none_json = Budget({study_, "--json"});
  ASSERT_EQ(none_json.code, 0) << none_json.err;
  EXPECT_EQ(json::parse(none_json.out), json({{"study_id", study_},
                                              {"total", nullptr},
                                              {"spent", 0},
                                              {"remaining", 0}}));

  Result set = Budget({study_, "--epsilon", "2.5"});
  ASSERT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out,
            study_ + ": privacy budget ε 2.5, spent ε 0, remaining ε 2.5\n");
  Charge(500'000, {NewCitizen()});
  Result shown = Budget({study_});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(shown.out,
            study_ + ": privacy budget ε 2.5, spent ε 0.5, remaining ε 2\n");
  // ε as JSON numbers with the exact decimal digits.
  Result as_json = Budget({study_, "--json"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  EXPECT_EQ(as_json.out, "{\"study_id\":\"" + study_ +
                             "\",\"total\":2.5,\"spent\":0.5,"
                             "\"remaining\":2}\n");
  Result most = Budget({study_, "--json", "--epsilon=100"});
  ASSERT_EQ(most.code, 0) << most.err;
  EXPECT_EQ(json::parse(most.out)["remaining"], 99.5);
  {
    auto v = OpenVault();
    auto ledger = PrivacyLedger::OpenInDirectory(data_, *v);
    ASSERT_TRUE(ledger.ok());
    auto b = (*ledger)->GetStudyBudget(study_);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->total, 100'000'000);
    EXPECT_EQ(b->spent, 500'000);
  }
  // The smallest step stays exact where a double printer writes 1e-06.
  Result exact = Budget({study_, "--json", "--epsilon", "0.500001"});
  ASSERT_EQ(exact.code, 0) << exact.err;
  EXPECT_NE(exact.out.find("\"remaining\":0.000001}"), std::string::npos)
      << exact.out;
  EXPECT_EQ(Audited("study.budget"), 3u);
  EXPECT_EQ(Tillit({"audit", "verify", "--data", data_}).code, 0);
}

TEST_F(StudyBudgetTest, LoweringBelowWhatIsSpentIsRefused) {
  ASSERT_EQ(Budget({study_, "--epsilon", "1"}).code, 0);
  Charge(600'000, {NewCitizen()});
  Result r = Budget({study_, "--epsilon", "0.5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("already spent ε 0.6"), std::string::npos) << r.err;
  EXPECT_EQ(Budget({study_}).out,
            study_ + ": privacy budget ε 1, spent ε 0.6, remaining ε 0.4\n");
  EXPECT_EQ(Audited("study.budget"), 1u);
  // Down to exactly what is spent is allowed.
  Result exact = Budget({study_, "--epsilon", "0.6"});
  ASSERT_EQ(exact.code, 0) << exact.err;
  EXPECT_NE(exact.out.find("remaining ε 0\n"), std::string::npos) << exact.out;
}

TEST_F(StudyBudgetTest, UnknownStudy) {
  const std::string unknown = "s_" + std::string(32, '0');
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{unknown},
                                             {unknown, "--epsilon", "1"}}) {
    Result r = Budget(args);
    EXPECT_EQ(r.code, 1) << args.size();
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("no such study " + unknown), std::string::npos)
        << r.err;
  }
  for (const char* malformed : {"s_nope", "r_0", "study"}) {
    Result r = Budget({malformed, "--epsilon", "1"});
    EXPECT_EQ(r.code, 2) << malformed;
    EXPECT_NE(r.err.find("not a study id"), std::string::npos) << r.err;
  }
  EXPECT_EQ(Audited("study.budget"), 0u);
  EXPECT_NE(Budget({study_, "--json"}).out.find("\"total\":null"),
            std::string::npos);
}

TEST_F(StudyBudgetTest, BadEpsilonChangesNothing) {
  ASSERT_EQ(Budget({study_, "--epsilon", "3"}).code, 0);
  for (const char* bad : {"abc", "", "-1", "+1", "1e-3", ".5", "1.", " 1",
                          "0.1234567", "100.000001", "101", "1,5", "0x1"}) {
    Result r = Budget({study_, std::string("--epsilon=") + bad});
    EXPECT_EQ(r.code, 2) << bad;
    EXPECT_EQ(r.out, "") << bad;
    EXPECT_NE(r.err.find("tillit study budget: --epsilon: ε must be a "
                         "decimal number from 0 to 100"),
              std::string::npos)
        << bad << ": " << r.err;
    Result cap = Budget({"--default-citizen-cap", bad});
    EXPECT_EQ(cap.code, 2) << bad;
    EXPECT_EQ(cap.out, "") << bad;
  }
  EXPECT_EQ(Budget({study_}).out,
            study_ + ": privacy budget ε 3, spent ε 0, remaining ε 3\n");
  EXPECT_EQ(Audited("study.budget"), 1u);
  EXPECT_EQ(Audited("privacy.default-cap"), 0u);
  // The bounds themselves are ε.
  EXPECT_EQ(Budget({study_, "--epsilon", "0"}).code, 0);
  EXPECT_EQ(Budget({study_, "--epsilon", "100"}).code, 0);
  EXPECT_EQ(Budget({study_, "--epsilon", "0.000001"}).code, 0);
}

TEST_F(StudyBudgetTest, UsageErrors) {
  EXPECT_EQ(Tillit({"study", "--data", data_}).code, 2);
  EXPECT_EQ(Tillit({"study", "spend", "--data", data_}).code, 2);
  Result no_id = Budget({});
  EXPECT_EQ(no_id.code, 2);
  EXPECT_NE(no_id.err.find("name a study id"), std::string::npos);
  EXPECT_EQ(Budget({study_, study_}).code, 2);
  Result bogus = Budget({study_, "--bogus"});
  EXPECT_EQ(bogus.code, 2);
  EXPECT_NE(bogus.err.find("--bogus"), std::string::npos);
  EXPECT_EQ(Budget({study_, "--epsilon"}).code, 2);
  // The cap takes its value itself, and names no study.
  EXPECT_EQ(Budget({"--default-citizen-cap", "--epsilon", "1"}).code, 2);
  EXPECT_EQ(Budget({"--default-citizen-cap", "1", "2"}).code, 2);
  EXPECT_EQ(Budget({study_, "--default-citizen-cap", "1"}).code, 2);
  Result both = Budget({study_, "--default-citizen-cap"});
  EXPECT_EQ(both.code, 2);
  EXPECT_NE(both.err.find("names no study"), std::string::npos) << both.err;
  Result missing =
      Tillit({"study", "budget", "--data", dir_ + "/none", study_});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("tillit init"), std::string::npos) << missing.err;
  EXPECT_EQ(Audited("study.budget") + Audited("privacy.default-cap"), 0u);
}

TEST_F(StudyBudgetTest, DefaultCitizenCap) {
  Result shown = Budget({"--default-citizen-cap"});
  ASSERT_EQ(shown.code, 0) << shown.err;
  EXPECT_EQ(shown.out,
            "default per-citizen cap: ε 1 per study (for citizens whose "
            "grants name no privacy_budget)\n");
  Result set = Budget({"--default-citizen-cap", "0.25", "--json"});
  ASSERT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(set.out, "{\"default_citizen_cap\":0.25}\n");
  Result with_equals = Budget({"--default-citizen-cap=0.5"});
  ASSERT_EQ(with_equals.code, 0) << with_equals.err;
  EXPECT_NE(with_equals.out.find("cap: ε 0.5 per study"), std::string::npos)
      << with_equals.out;
  Result as_json = Budget({"--json", "--default-citizen-cap"});
  ASSERT_EQ(as_json.code, 0) << as_json.err;
  EXPECT_EQ(as_json.out, "{\"default_citizen_cap\":0.5}\n");
  {
    auto v = OpenVault();
    auto ledger = PrivacyLedger::OpenInDirectory(data_, *v);
    ASSERT_TRUE(ledger.ok());
    EXPECT_EQ(*(*ledger)->DefaultCitizenCap(), 500'000);
  }
  EXPECT_EQ(Audited("privacy.default-cap"), 2u);
  EXPECT_EQ(Audited("study.budget"), 0u);
}

TEST_F(StudyBudgetTest, NoChangeWhenTheAuditLogCannotBeWritten) {
  ASSERT_EQ(Budget({study_, "--epsilon", "1"}).code, 0);
  FailAuditWriteForTesting(1);
  Result r = Budget({study_, "--epsilon", "2"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("tillit study budget: cannot write the audit log, so "
                       "nothing was changed"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Budget({study_}).out,
            study_ + ": privacy budget ε 1, spent ε 0, remaining ε 1\n");
  FailAuditWriteForTesting(1);
  Result cap = Budget({"--default-citizen-cap", "3"});
  EXPECT_EQ(cap.code, 1);
  EXPECT_NE(cap.err.find("cannot write the audit log, so nothing was changed"),
            std::string::npos)
      << cap.err;
  EXPECT_NE(Budget({"--default-citizen-cap"}).out.find("ε 1 per study"),
            std::string::npos);
  EXPECT_EQ(Audited("study.budget"), 1u);
  EXPECT_EQ(Audited("privacy.default-cap"), 0u);
  EXPECT_EQ(Tillit({"audit", "verify", "--data", data_}).code, 0);
}

TEST_F(StudyBudgetTest, EraseRemovesTheCitizensLedgerRows) {
  ASSERT_EQ(Budget({study_, "--epsilon", "2"}).code, 0);
  const std::string erased = NewCitizen(), kept = NewCitizen();
  Charge(250'000, {erased, kept});
  ASSERT_EQ(Spent(erased).size(), 1u);
  Result r = Tillit({"citizen", "erase", "--data", data_, "--yes", erased});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(Spent(erased).empty());
  ASSERT_EQ(Spent(kept).size(), 1u);
  EXPECT_EQ(Spent(kept)[0].spent, 250'000);
  // What the study spent stays: the answer is out in the world.
  EXPECT_NE(Budget({study_}).out.find("spent ε 0.25"), std::string::npos);
}

TEST_F(StudyBudgetTest, EraseReportsALedgerItCannotOpenAndARerunFinishes) {
  ASSERT_EQ(Budget({study_, "--epsilon", "2"}).code, 0);
  const std::string id = NewCitizen();
  Charge(250'000, {id});
  // A directory where the ledger's database should be.
  const std::string aside = dir_ + "/ledger-aside";
  fs::create_directory(aside);
  for (const char* f : {"privacy.db", "privacy.db-wal", "privacy.db-shm"}) {
    if (fs::exists(data_ + "/" + f))
      fs::rename(data_ + "/" + f, aside + "/" + f);
  }
  fs::create_directory(data_ + "/privacy.db");

  Result r = Tillit({"citizen", "erase", "--data", data_, "--yes", id});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("erased " + id + "; root key rotated to version"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the privacy-budget ledger still holds their rows; "
                       "run `tillit citizen erase --yes " +
                       id + "` again"),
            std::string::npos)
      << r.err;
  // The vault's part is done.
  EXPECT_FALSE(fs::exists(data_ + "/citizens/" + id + ".db"));

  fs::remove_all(data_ + "/privacy.db");
  for (const char* f :
       {"privacy.db-wal", "privacy.db-shm", "privacy.db-journal"})
    fs::remove(data_ + "/" + f);
  for (const auto& f : fs::directory_iterator(aside))
    fs::rename(f.path(), data_ + "/" + f.path().filename().string());
  ASSERT_EQ(Spent(id).size(), 1u);
  Result again = Tillit({"citizen", "erase", "--data", data_, "--yes", id});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("no such citizen"), std::string::npos) << again.err;
  EXPECT_EQ(again.err.find("privacy-budget ledger"), std::string::npos)
      << again.err;
  EXPECT_TRUE(Spent(id).empty());
}

}  // namespace
}  // namespace tillit::cli
