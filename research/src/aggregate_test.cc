#include "tillit/research/aggregate.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <thread>

#include "tillit/base/clock.h"

namespace tillit::research {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z
constexpr int64_t kEps = 1'000'000;   // micro-ε of ε 1

// --- the query's JSON form -------------------------------------------------

TEST(AggregateQueryTest, ParsesEachKind) {
  auto count = ParseAggregateQuery(R"({"query": "count", "epsilon": 0.5})");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(count->kind, AggregateKind::kCount);
  EXPECT_EQ(count->epsilon, 500'000);
  EXPECT_FALSE(count->condition.has_value());

  auto age = ParseAggregateQuery(
      R"({"query": "age_sex", "epsilon": 1, "age_bands": [0, 18, 65],
          "condition": "http://snomed.info/sct|44054006"})");
  ASSERT_TRUE(age.ok()) << age.status().ToString();
  EXPECT_EQ(age->age_bands, (std::vector<int>{0, 18, 65}));
  EXPECT_EQ(*age->condition, "http://snomed.info/sct|44054006");

  auto defaults = ParseAggregateQuery(R"({"query": "age_sex", "epsilon": 1})");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->age_bands.front(), 0);
  EXPECT_GT(defaults->age_bands.size(), 2u);

  auto latest = ParseAggregateQuery(
      R"({"query": "latest_value", "epsilon": 0.25,
          "code": "http://loinc.org|4548-4", "bins": [5.7, 6.5]})");
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->bins, (std::vector<double>{5.7, 6.5}));
  EXPECT_EQ(latest->epsilon, 250'000);

  auto mean = ParseAggregateQuery(
      R"({"query": "mean", "epsilon": 2, "code": "4548-4",
          "bounds": [0, 20]})");
  ASSERT_TRUE(mean.ok()) << mean.status().ToString();
  EXPECT_EQ(mean->lower, 0);
  EXPECT_EQ(mean->upper, 20);

  EXPECT_TRUE(
      ParseAggregateQuery(R"({"query": "categories", "epsilon": 0.01})").ok());
  EXPECT_TRUE(ParseAggregateQuery(R"({"query": "count", "epsilon": 10})").ok());
}

TEST(AggregateQueryTest, RefusesBadQueriesNamingTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "query object"},
      {"{}", "query:"},
      {R"({"query": "sum", "epsilon": 1})", "query:"},
      {R"({"query": 3, "epsilon": 1})", "query:"},
      {R"({"query": "count"})", "epsilon:"},
      {R"({"query": "count", "epsilon": "0.5"})", "epsilon:"},
      {R"({"query": "count", "epsilon": true})", "epsilon:"},
      {R"({"query": "count", "epsilon": 0.001})", "epsilon:"},
      {R"({"query": "count", "epsilon": 11})", "epsilon:"},
      {R"({"query": "count", "epsilon": -1})", "epsilon:"},
      {R"({"query": "count", "epsilon": 0.1234567})", "epsilon:"},
      {R"({"query": "count", "epsilon": 1, "extra": 1})", "extra:"},
      {R"({"query": "count", "epsilon": 1, "bins": [1]})", "bins:"},
      {R"({"query": "count", "epsilon": 1, "condition": "a b"})", "condition:"},
      {R"({"query": "count", "epsilon": 1, "condition": ""})", "condition:"},
      {R"({"query": "count", "epsilon": 1, "condition": "x|"})", "condition:"},
      {R"({"query": "count", "epsilon": 1, "condition": 5})", "condition:"},
      {R"({"query": "age_sex", "epsilon": 1, "age_bands": [18, 65]})",
       "age_bands:"},
      {R"({"query": "age_sex", "epsilon": 1, "age_bands": [0, 65, 18]})",
       "age_bands:"},
      {R"({"query": "age_sex", "epsilon": 1, "age_bands": []})", "age_bands:"},
      {R"({"query": "age_sex", "epsilon": 1, "age_bands": [0, 1.5]})",
       "age_bands:"},
      {R"({"query": "age_sex", "epsilon": 1, "age_bands": [0, 200]})",
       "age_bands:"},
      {R"({"query": "latest_value", "epsilon": 1, "bins": [1]})", "code:"},
      {R"({"query": "latest_value", "epsilon": 1, "code": "x"})", "bins:"},
      {R"({"query": "latest_value", "epsilon": 1, "code": "x", "bins": []})",
       "bins:"},
      {R"({"query": "latest_value", "epsilon": 1, "code": "x",
           "bins": [2, 1]})",
       "bins:"},
      {R"({"query": "latest_value", "epsilon": 1, "code": "x",
           "bins": ["a"]})",
       "bins:"},
      {R"({"query": "latest_value", "epsilon": 1, "code": "x",
           "bins": [1e300]})",
       "bins:"},
      {R"({"query": "mean", "epsilon": 1, "code": "x"})", "bounds:"},
      {R"({"query": "mean", "epsilon": 1, "code": "x", "bounds": [1]})",
       "bounds:"},
      {R"({"query": "mean", "epsilon": 1, "code": "x", "bounds": [5, 5]})",
       "bounds:"},
      {R"({"query": "mean", "epsilon": 1, "code": "x", "bounds": [0, "a"]})",
       "bounds:"},
      {"not json", "query object"},
  };
  for (const auto& [text, field] : cases) {
    auto q = ParseAggregateQuery(text);
    ASSERT_FALSE(q.ok()) << text;
    EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_NE(q.status().message().find(field), std::string::npos)
        << text << " -> " << q.status().message();
  }
  // Too many bins and bands.
  json many = json::array();
  for (int i = 0; i < 51; ++i) many.push_back(i);
  EXPECT_FALSE(ParseAggregateQuery(json{{"query", "latest_value"},
                                        {"epsilon", 1},
                                        {"code", "x"},
                                        {"bins", many}}
                                       .dump())
                   .ok());
  json bands = json::array();
  for (int i = 0; i < 21; ++i) bands.push_back(i);
  EXPECT_FALSE(
      ParseAggregateQuery(
          json{{"query", "age_sex"}, {"epsilon", 1}, {"age_bands", bands}}
              .dump())
          .ok());
}

TEST(AggregateQueryTest, JsonFormRoundTrips) {
  for (const char* text :
       {R"({"query": "count", "epsilon": 0.5, "condition": "x|y"})",
        R"({"query": "age_sex", "epsilon": 1, "age_bands": [0, 18, 65]})",
        R"({"query": "latest_value", "epsilon": 0.3, "code": "x",
            "bins": [5.7, 6.5]})",
        R"({"query": "mean", "epsilon": 2, "code": "x", "bounds": [-1, 20]})",
        R"({"query": "categories", "epsilon": 0.05})"}) {
    auto q = ParseAggregateQuery(text);
    ASSERT_TRUE(q.ok()) << text;
    auto again = ParseAggregateQuery(AggregateQueryToJson(*q));
    ASSERT_TRUE(again.ok()) << AggregateQueryToJson(*q);
    EXPECT_EQ(AggregateQueryToJson(*again), AggregateQueryToJson(*q));
    EXPECT_EQ(again->epsilon, q->epsilon);
  }
}

// --- contributions and sensitivity ------------------------------------------

consent::StudyDefinition StudyOf(const std::string& categories) {
  auto def = consent::ParseStudyDefinition(
      R"({"title": "T", "purpose": "DUO:0000006", "categories": )" +
      categories + "}");
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  return *def;
}

vault::StoredRecord Rec(std::string type, fhir::Category category,
                        std::string resource, std::vector<std::string> codes,
                        std::optional<int64_t> effective = std::nullopt,
                        int64_t seq = 0) {
  vault::StoredRecord r;
  r.type = std::move(type);
  r.category = category;
  r.resource = std::move(resource);
  r.codes = std::move(codes);
  r.effective = effective;
  r.seq = seq;
  return r;
}

vault::StoredRecord PatientRec(const std::string& gender,
                               const std::string& birth) {
  json p = {{"resourceType", "Patient"}, {"id", "p"}};
  if (!gender.empty()) p["gender"] = gender;
  if (!birth.empty()) p["birthDate"] = birth;
  return Rec("Patient", fhir::Category::kPatientSummary, p.dump(), {});
}

vault::StoredRecord ValueRec(const std::string& code, double value,
                             int64_t when, int64_t seq) {
  json o = {{"resourceType", "Observation"},
            {"id", "o" + std::to_string(seq)},
            {"valueQuantity", {{"value", value}, {"unit", "%"}}}};
  return Rec("Observation", fhir::Category::kLabResults, o.dump(),
             {"http://loinc.org|" + code}, when, seq);
}

vault::StoredRecord ConditionRec(const std::string& code) {
  return Rec("Condition", fhir::Category::kPatientSummary,
             R"({"resourceType": "Condition"})",
             {"http://snomed.info/sct|" + code});
}

TEST(AggregateContributionTest, AgeSexPutsEachCitizenInOneCell) {
  const auto study = StudyOf(R"(["patient-summary"])");
  auto q = ParseAggregateQuery(
      R"({"query": "age_sex", "epsilon": 1, "age_bands": [0, 18, 65]})");
  ASSERT_TRUE(q.ok());
  const std::vector<CellSpec> cells = Cells(*q, study);
  ASSERT_EQ(cells.size(), 16u);  // 4 sexes x (3 bands + unknown)
  auto cell_of = [&](const std::vector<vault::StoredRecord>& records) {
    Contribution c = Contribute(*q, study, records, kNow);
    EXPECT_EQ(std::accumulate(c.begin(), c.end(), int64_t{0}), 1);
    for (size_t i = 0; i < c.size(); ++i)
      if (c[i] == 1) return cells[i].label;
    return std::string();
  };
  EXPECT_EQ(cell_of({PatientRec("female", "1990-05-01")}), "female, 18-64");
  EXPECT_EQ(cell_of({PatientRec("male", "2010-01-01")}), "male, 0-17");
  EXPECT_EQ(cell_of({PatientRec("other", "1950-01-01")}), "other, 65+");
  EXPECT_EQ(cell_of({PatientRec("", "1950-01-01")}), "unknown, 65+");
  EXPECT_EQ(cell_of({PatientRec("female", "")}), "female, unknown");
  EXPECT_EQ(cell_of({}), "unknown, unknown");  // no Patient released
  // 18 on 2026-01-01 exactly: born 2008-01-01.
  EXPECT_EQ(cell_of({PatientRec("male", "2008-01-01")}), "male, 18-64");
  EXPECT_EQ(cell_of({PatientRec("male", "2008-01-02")}), "male, 0-17");
}

TEST(AggregateContributionTest, LatestValueAndMeanUseTheLatestObservation) {
  const auto study = StudyOf(R"(["lab-results"])");
  auto q = ParseAggregateQuery(
      R"({"query": "latest_value", "epsilon": 1, "code": "4548-4",
          "bins": [5.7, 6.5]})");
  ASSERT_TRUE(q.ok());
  const std::vector<vault::StoredRecord> records = {
      ValueRec("4548-4", 7.0, 100, 1), ValueRec("4548-4", 6.0, 200, 2),
      ValueRec("9999-9", 1.0, 300, 3)};
  EXPECT_EQ(Contribute(*q, study, records, kNow),
            (Contribution{0, 1, 0}));  // 6.0 is in [5.7, 6.5)
  EXPECT_EQ(Contribute(*q, study, {ValueRec("4548-4", 6.5, 1, 1)}, kNow),
            (Contribution{0, 0, 1}));
  EXPECT_EQ(Contribute(*q, study, {}, kNow), (Contribution{0, 0, 0}));
  EXPECT_EQ(Cells(*q, study)[0].label, "<5.7");
  EXPECT_EQ(Cells(*q, study)[2].label, ">=6.5");

  auto mean = ParseAggregateQuery(
      R"({"query": "mean", "epsilon": 1, "code": "4548-4",
          "bounds": [0, 10]})");
  ASSERT_TRUE(mean.ok());
  EXPECT_EQ(Contribute(*mean, study, records, kNow),
            (Contribution{1, 600}));  // 6.0 of [0, 10] in 1000 steps
  EXPECT_EQ(Contribute(*mean, study, {ValueRec("4548-4", 99, 1, 1)}, kNow),
            (Contribution{1, 1000}));  // clamped to the upper bound
  EXPECT_EQ(Contribute(*mean, study, {ValueRec("4548-4", -5, 1, 1)}, kNow),
            (Contribution{1, 0}));
  // The mean's ε is split: half on the count, half on the sum.
  const auto cells = Cells(*mean, study);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].epsilon + cells[1].epsilon, kEps);
  EXPECT_EQ(cells[0].sensitivity, 1);
  EXPECT_EQ(cells[1].sensitivity, kMeanSteps);
}

TEST(AggregateContributionTest, ConditionFilterCountsOnlyMatchingCitizens) {
  const auto study = StudyOf(R"(["patient-summary"])");
  auto q = ParseAggregateQuery(
      R"({"query": "count", "epsilon": 1, "condition": "44054006"})");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(Contribute(*q, study, {ConditionRec("44054006")}, kNow),
            (Contribution{1}));
  EXPECT_EQ(Contribute(*q, study, {ConditionRec("38341003")}, kNow),
            (Contribution{0}));
  EXPECT_TRUE(NeedsStores(*q, study));
  auto plain = ParseAggregateQuery(R"({"query": "count", "epsilon": 1})");
  EXPECT_FALSE(NeedsStores(*plain, study));
}

// Adding or removing any one citizen changes the true answer by at most
// the sensitivity the code declares (in L1 over the cells; the mean's two
// cells each within their own).
TEST(AggregateContributionTest,
     OneCitizenMovesTheAnswerByAtMostTheSensitivity) {
  const auto study =
      StudyOf(R"(["patient-summary", "lab-results", "vital-signs"])");
  std::mt19937 gen(7);
  const char* genders[] = {"female", "male", "other", ""};
  std::vector<std::vector<vault::StoredRecord>> citizens;
  for (int i = 0; i < 300; ++i) {
    std::vector<vault::StoredRecord> r;
    if (gen() % 5 != 0) {
      r.push_back(PatientRec(genders[gen() % 4],
                             std::to_string(1920 + gen() % 105) + "-06-15"));
    }
    for (unsigned n = gen() % 4; n > 0; --n)
      r.push_back(ValueRec("4548-4", (gen() % 200) / 10.0,
                           static_cast<int64_t>(gen() % 1000), n));
    if (gen() % 2) r.push_back(ConditionRec("44054006"));
    if (gen() % 3 == 0)
      r.push_back(Rec("Observation", fhir::Category::kVitalSigns, "{}", {}));
    citizens.push_back(std::move(r));
  }
  for (const char* text : {
           R"({"query": "count", "epsilon": 1})",
           R"({"query": "count", "epsilon": 1, "condition": "44054006"})",
           R"({"query": "age_sex", "epsilon": 1})",
           R"({"query": "categories", "epsilon": 1})",
           R"({"query": "latest_value", "epsilon": 1, "code": "4548-4",
               "bins": [5, 10, 15]})",
           R"({"query": "mean", "epsilon": 1, "code": "4548-4",
               "bounds": [2, 12]})",
       }) {
    auto q = ParseAggregateQuery(text);
    ASSERT_TRUE(q.ok()) << text;
    const auto cells = Cells(*q, study);
    std::vector<int64_t> all(cells.size(), 0);
    std::vector<Contribution> parts;
    for (const auto& c : citizens) {
      parts.push_back(Contribute(*q, study, c, kNow));
      ASSERT_EQ(parts.back().size(), cells.size());
      for (size_t i = 0; i < all.size(); ++i) all[i] += parts.back()[i];
    }
    int64_t worst = 0;
    for (const Contribution& part : parts) {
      // The answer without this citizen, against the answer with them.
      if (q->kind == AggregateKind::kMean) {
        EXPECT_LE(std::abs(part[0]), cells[0].sensitivity) << text;
        EXPECT_LE(std::abs(part[1]), cells[1].sensitivity) << text;
        worst = std::max(worst, std::abs(part[1]));
        continue;
      }
      int64_t l1 = 0;
      for (size_t i = 0; i < all.size(); ++i)
        l1 += std::abs(all[i] - (all[i] - part[i]));
      EXPECT_LE(l1, Sensitivity(*q, study)) << text;
      worst = std::max(worst, l1);
    }
    // The bound is tight for these citizens: it is not over-stated either.
    EXPECT_EQ(worst, Sensitivity(*q, study)) << text;
  }
}

TEST(AggregateContributionTest, CapIsTheSmallestNamedByAPermittingGrant) {
  consent::CitizenPolicy policy;
  policy.grants.resize(3);
  policy.grants[0].privacy_budget = 2 * kEps;
  policy.grants[1].privacy_budget = kEps / 2;
  consent::Decision d;
  d.permitting = {0, 2};
  EXPECT_EQ(CitizenCap(policy, d, 5 * kEps), 2 * kEps);
  d.permitting = {0, 1, 2};
  EXPECT_EQ(CitizenCap(policy, d, 5 * kEps), kEps / 2);
  d.permitting = {2};
  EXPECT_EQ(CitizenCap(policy, d, 5 * kEps), 5 * kEps);  // the default
}

// --- RunAggregate over a vault ----------------------------------------------

std::string Person(const std::string& pid, const std::string& gender,
                   const std::string& birth, double hba1c) {
  json entries = json::array();
  entries.push_back({{"fullUrl", "urn:uuid:" + pid},
                     {"resource",
                      {{"resourceType", "Patient"},
                       {"id", pid},
                       {"gender", gender},
                       {"birthDate", birth}}}});
  entries.push_back(
      {{"fullUrl", "urn:uuid:" + pid + "-o"},
       {"resource",
        {{"resourceType", "Observation"},
         {"id", pid + "-o"},
         {"status", "final"},
         {"category", {{{"coding", {{{"code", "laboratory"}}}}}}},
         {"code",
          {{"coding", {{{"system", "http://loinc.org"}, {"code", "4548-4"}}}}}},
         {"valueQuantity", {{"value", hba1c}, {"unit", "%"}}},
         {"subject", {{"reference", "urn:uuid:" + pid}}},
         {"effectiveDateTime", "2025-06-01"}}}});
  return json{
      {"resourceType", "Bundle"}, {"type", "collection"}, {"entry", entries}}
      .dump();
}

constexpr const char* kGrant =
    R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000006"],
        "categories": ["patient-summary", "lab-results"]})";

class RunAggregateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-aggregate-XXXXXX").string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    o.clock = &clock_;
    auto created = vault::Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    auto log = audit::AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(log).value();
    auto ledger = PrivacyLedger::OpenInDirectory(vault_->data_dir(), *vault_);
    ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
    ledger_ = std::move(ledger).value();
    consent_ = std::make_unique<consent::ConsentService>(
        vault_.get(), &clock_, &crypto::Random::System());
    researcher_ =
        consent::ResearcherProfile{"r_00000000000000000000000000000001",
                                   consent::OrgType::kCommercial,
                                   "SE",
                                   "Acme Health AB",
                                   "Ada",
                                   ""};
    ASSERT_TRUE(consent_->RegisterResearcher(researcher_).ok());
    auto def = consent::ParseStudyDefinition(
        R"({"title": "HbA1c", "purpose": "DUO:0000006",
            "categories": ["patient-summary", "lab-results"]})");
    ASSERT_TRUE(def.ok());
    def->study.researcher_id = researcher_.id;
    auto stored = consent_->RegisterStudy(*def);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    study_ = *stored;
  }
  void TearDown() override {
    consent_.reset();
    ledger_.reset();
    log_.reset();
    vault_.reset();
    fs::remove_all(dir_);
  }

  std::string Add(const std::string& pid, const std::string& gender,
                  const std::string& birth, double hba1c,
                  const char* grant = kGrant) {
    auto imp = vault_->Import(Person(pid, gender, birth, hba1c),
                              vault::ImportFormat::kJson);
    EXPECT_TRUE(imp.ok()) << imp.status().ToString();
    if (grant != nullptr) {
      auto g = consent_->AddGrant(imp->citizen_id, grant);
      EXPECT_TRUE(g.ok()) << g.status().ToString();
    }
    return imp->citizen_id;
  }

  StatusOr<AggregateResult> Ask(const std::string& query,
                                crypto::Random* rng = nullptr) {
    auto q = ParseAggregateQuery(query);
    if (!q.ok()) return q.status();
    auto candidates = consent_->AggregateCandidates(researcher_, study_.study);
    if (!candidates.ok()) return candidates.status();
    AggregateInput in;
    in.study = &study_;
    in.researcher = &researcher_;
    in.query = *q;
    in.candidates = std::move(candidates).value();
    in.id = "agg_" + crypto::Random::System().Hex(16);
    in.now = clock_.NowSeconds();
    in.request_id = "test";
    in.rng = rng != nullptr ? rng : &rng_;
    vault::DirectStoreAccess stores(vault_.get());
    return RunAggregate(stores, *ledger_, in,
                        [this](const std::vector<audit::AuditEntry>& e)
                            -> StatusOr<std::vector<uint64_t>> {
                          if (fail_audit_)
                            return Status::IoError("audit log unavailable");
                          audited_ += e.size();
                          last_ = e;
                          return log_->AppendBatch(e);
                        });
  }

  std::string dir_;
  FakeClock clock_{kNow};
  crypto::DeterministicRandom rng_{18};
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<PrivacyLedger> ledger_;
  std::unique_ptr<consent::ConsentService> consent_;
  consent::ResearcherProfile researcher_;
  consent::StudyDefinition study_;
  bool fail_audit_ = false;
  size_t audited_ = 0;
  std::vector<audit::AuditEntry> last_;  // the last query's entries
};

TEST_F(RunAggregateTest, NothingIsAnsweredWithoutABudget) {
  Add("a", "female", "1980-01-01", 6.0);
  auto r = Ask(R"({"query": "count", "epsilon": 0.5})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("has not set a privacy budget"),
            std::string::npos);
  EXPECT_EQ(audited_, 0u);
}

TEST_F(RunAggregateTest, StudyBudgetIsSpentExactlyThenRefused) {
  Add("a", "female", "1980-01-01", 6.0);
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, kEps).ok());
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(10 * kEps).ok());
  for (int i = 0; i < 10; ++i) {
    auto r = Ask(R"({"query": "count", "epsilon": 0.1})");
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    EXPECT_EQ(r->budget.spent, (i + 1) * kEps / 10);
  }
  auto over = Ask(R"({"query": "count", "epsilon": 0.1})");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(over.status().message().find("budget is spent"), std::string::npos)
      << over.status().message();
  auto b = ledger_->GetStudyBudget(study_.study.id);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->spent, kEps);
}

TEST_F(RunAggregateTest, CountsTheConsentingCohortAndAuditsEachContributor) {
  const std::string a = Add("a", "female", "1980-01-01", 6.0);
  const std::string b = Add("b", "male", "1950-01-01", 7.0);
  Add("c", "male", "1990-01-01", 5.0, nullptr);  // no grant
  const std::string d = Add("d", "female", "2000-01-01", 8.0);
  ASSERT_TRUE(consent_->SetResearchOptOut(d, true).ok());
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, 25 * kEps).ok());
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(25 * kEps).ok());
  // ε 10: scale 0.1, so the noise is almost surely 0 with this seed.
  auto r = Ask(R"({"query": "count", "epsilon": 10})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cells.size(), 1u);
  EXPECT_EQ(r->cells[0].value, 2);
  EXPECT_EQ(audited_, 3u);  // the candidates a and b, and the query
  auto spent = ledger_->CitizenSpent(study_.study.id);
  ASSERT_TRUE(spent.ok());
  EXPECT_EQ(*spent,
            (std::map<std::string, int64_t>{{a, 10 * kEps}, {b, 10 * kEps}}));
  auto seen = ledger_->ForCitizen(d);
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(seen->empty());  // opted out: never contributes

  // Through the stores (a filter needs records): the same cohort.
  auto age =
      Ask(R"({"query": "age_sex", "epsilon": 10, "age_bands": [0, 65]})");
  ASSERT_TRUE(age.ok()) << age.status().ToString();
  for (const AggregateCell& c : age->cells) {
    const bool expected =
        c.spec.label == "female, 0-64" || c.spec.label == "male, 65+";
    EXPECT_EQ(c.value, expected ? 1 : 0) << c.spec.label;
  }

  // A filter nobody matches: both were examined, so both are charged.
  auto none = Ask(R"({"query": "count", "epsilon": 0.5,
                      "condition": "http://snomed.info/sct|99999999"})");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_LE(std::abs(none->cells[0].value), none->cells[0].error_bound);
  spent = ledger_->CitizenSpent(study_.study.id);
  ASSERT_TRUE(spent.ok());
  EXPECT_EQ(spent->at(a), 20 * kEps + kEps / 2);
  EXPECT_EQ(spent->at(b), 20 * kEps + kEps / 2);
}

TEST_F(RunAggregateTest, ACitizenAtTheirCapIsLeftOut) {
  const std::string capped = Add(
      "a", "female", "1980-01-01", 6.0,
      R"({"grantee": {"kind": "any-researcher"}, "purposes": ["DUO:0000006"],
          "categories": ["patient-summary"], "privacy_budget": 0.5})");
  const std::string free = Add("b", "male", "1950-01-01", 7.0);
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, 10 * kEps).ok());
  ASSERT_TRUE(Ask(R"({"query": "count", "epsilon": 0.5})").ok());
  auto second = Ask(R"({"query": "age_sex", "epsilon": 0.5})");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->left_out, 1);
  // One entry per candidate whatever happened to them (so the log's growth
  // says nothing the consent index does not), and one for the query.
  ASSERT_EQ(last_.size(), 3u);
  for (const audit::AuditEntry& e : last_) {
    EXPECT_EQ(e.action, "research.aggregate");
    if (e.citizen_id == capped) {
      EXPECT_EQ(e.decision, "deny");
    } else if (e.citizen_id == free) {
      EXPECT_EQ(e.decision, "permit");
    }
  }
  EXPECT_EQ(last_.back().citizen_id, "");
  auto spent = ledger_->CitizenSpent(study_.study.id);
  ASSERT_TRUE(spent.ok());
  EXPECT_EQ(spent->at(capped), kEps / 2);  // not charged again
  EXPECT_EQ(spent->at(free), kEps);        // the default cap is 1
  // And the index path leaves them out the same way.
  // (b has now spent their default cap of 1 too.)
  auto third = Ask(R"({"query": "count", "epsilon": 0.01})");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->left_out, 2);
}

TEST_F(RunAggregateTest, TwoQueriesAtOnceWithBudgetForOneSpendItOnce) {
  Add("a", "female", "1980-01-01", 6.0);
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, kEps / 2).ok());
  std::atomic<int> ok{0}, denied{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      crypto::DeterministicRandom rng(static_cast<uint64_t>(i));
      auto r = Ask(R"({"query": "count", "epsilon": 0.5})", &rng);
      if (r.ok()) ++ok;
      if (r.status().code() == StatusCode::kPermissionDenied) ++denied;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(denied.load(), 1);
  EXPECT_EQ(ledger_->GetStudyBudget(study_.study.id)->spent, kEps / 2);
}

// The answer is the true count plus noise of the stated scale: over many
// small-ε queries it is rarely the true count and spreads as the mechanism
// says.
TEST_F(RunAggregateTest, AnswersCarryNoiseOfTheStatedScale) {
  for (int i = 0; i < 5; ++i)
    Add("p" + std::to_string(i), "female", "1980-01-01", 6.0);
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, kEps).ok());
  int exact = 0;
  double sum_sq = 0;
  const int n = 100;
  for (int i = 0; i < n; ++i) {
    auto r = Ask(R"({"query": "count", "epsilon": 0.01})");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const int64_t noise = r->cells[0].value - 5;
    if (noise == 0) ++exact;
    sum_sq += static_cast<double>(noise) * static_cast<double>(noise);
    // P(|noise| > k) = 2 p^(k+1) / (1 + p), p = e^-0.01: at most 0.05
    // from k = 300.
    EXPECT_EQ(r->cells[0].error_bound, 300);
  }
  // Scale 100: P(noise = 0) is about 0.5 %, the standard deviation about
  // 141. Bounds far outside what the seed could produce by chance.
  EXPECT_LE(exact, 5);
  const double sd = std::sqrt(sum_sq / n);
  EXPECT_GT(sd, 70);
  EXPECT_LT(sd, 280);
}

TEST_F(RunAggregateTest, AFailedAuditAnswersNothingAndKeepsTheCharge) {
  Add("a", "female", "1980-01-01", 6.0);
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, kEps).ok());
  fail_audit_ = true;
  auto r = Ask(R"({"query": "count", "epsilon": 0.5})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  // Privacy loss is never under-counted.
  EXPECT_EQ(ledger_->GetStudyBudget(study_.study.id)->spent, kEps / 2);
}

TEST_F(RunAggregateTest, MeanComesFromTheNoisyCountAndSum) {
  Add("a", "female", "1980-01-01", 6.0);
  Add("b", "male", "1950-01-01", 8.0);
  ASSERT_TRUE(ledger_->SetStudyBudget(study_.study.id, 20 * kEps).ok());
  ASSERT_TRUE(ledger_->SetDefaultCitizenCap(20 * kEps).ok());
  auto r = Ask(R"({"query": "mean", "epsilon": 10, "code": "4548-4",
                   "bounds": [0, 10]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->mean.has_value());
  ASSERT_EQ(r->cells.size(), 2u);
  // ε 5 on the count (scale 0.2) and on the sum (scale 200 steps); each
  // within its own 95 % bound for this seed, and the mean is their
  // post-processing: lower + (sum / count) / 1000 * (upper - lower).
  const int64_t count = r->cells[0].value, sum = r->cells[1].value;
  EXPECT_LE(std::abs(count - 2), r->cells[0].error_bound);
  EXPECT_LE(std::abs(sum - 1400), r->cells[1].error_bound);
  ASSERT_GT(count, 0);
  const double expected = std::clamp(
      static_cast<double>(sum) / static_cast<double>(count) / 1000 * 10, 0.0,
      10.0);
  EXPECT_DOUBLE_EQ(*r->mean, expected);
}

}  // namespace
}  // namespace tillit::research
