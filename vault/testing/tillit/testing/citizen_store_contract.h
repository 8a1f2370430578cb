// The contract every vault::CitizenStore keeps, as one parametrised suite:
// a test binary includes this header once and instantiates the suite with
// the stores it builds (INSTANTIATE_TEST_SUITE_P(Name,
// CitizenStoreContractTest, ::testing::Values(CitizenStoreBackend{...}))).
// The data directory's SQLCipher files run it in vault_test, PostgreSQL's
// sealed rows in pgstore_test.
#ifndef TILLIT_TESTING_CITIZEN_STORE_CONTRACT_H_
#define TILLIT_TESTING_CITIZEN_STORE_CONTRACT_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tillit/fhir/fhir.h"
#include "tillit/vault/citizen_store.h"
#include "tillit/vault/source_tag.h"

namespace tillit::vault {

// Where citizens' stores under test live (a directory, a new database).
class CitizenStorePlace {
 public:
  virtual ~CitizenStorePlace() = default;
  // Opens the store of `citizen_id` here, empty the first time and as left
  // after, with `sink` told of each committed write.
  virtual StatusOr<std::unique_ptr<CitizenStore>> Open(
      const std::string& citizen_id, CitizenStore::GenerationSink sink) = 0;
};

struct CitizenStoreBackend {
  std::string name;
  // A new, empty place, one per test.
  std::function<std::unique_ptr<CitizenStorePlace>()> make;
};

inline std::string CitizenStoreBackendName(
    const ::testing::TestParamInfo<CitizenStoreBackend>& info) {
  return info.param.name;
}

class CitizenStoreContractTest
    : public ::testing::TestWithParam<CitizenStoreBackend> {
 protected:
  static inline const std::string kAlice = "c_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static inline const std::string kBob = "c_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

  // An Observation with a LOINC code on `date` (or none), its value `v`.
  static fhir::ParsedResource Obs(const std::string& id,
                                  const std::string& date, int v = 1) {
    std::string json =
        R"({"resourceType":"Observation","id":")" + id +
        R"(","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8302-2"}]},)";
    if (!date.empty()) json += R"("effectiveDateTime":")" + date + R"(",)";
    json += R"("valueQuantity":{"value":)" + std::to_string(v) + "}}";
    return Parse(json);
  }
  static fhir::ParsedResource Condition(const std::string& id,
                                        const std::string& date) {
    return Parse(
        R"({"resourceType":"Condition","id":")" + id +
        R"(","code":{"coding":[{"system":"http://snomed.info/sct","code":"44054006"}]},"onsetDateTime":")" +
        date + R"("})");
  }
  static fhir::ParsedResource Parse(const std::string& json) {
    auto r = fhir::ParseFhirResource(json);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : fhir::ParsedResource();
  }

  void SetUp() override {
    place_ = GetParam().make();
    ASSERT_NE(place_, nullptr);
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto opened = place_->Open(kAlice, [this](int64_t g, const IndexUpdate* i) {
      sunk_.emplace_back(g, i != nullptr ? i->kind : "");
      return Status::Ok();
    });
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  CitizenStore& s() { return *store_; }
  PutResult Put(std::vector<fhir::ParsedResource> rs,
                std::string_view source = "import", int64_t now = 100) {
    auto r = s().Put(rs, source, now);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : PutResult();
  }
  std::vector<std::string> Ids(const RecordFilter& f) {
    auto got = s().List(f);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    std::vector<std::string> out;
    if (got.ok()) {
      for (const StoredRecord& r : *got) out.push_back(r.id);
    }
    return out;
  }

  std::unique_ptr<CitizenStorePlace> place_;
  std::unique_ptr<CitizenStore> store_;
  std::vector<std::pair<int64_t, std::string>> sunk_;  // generation, kind
};

TEST_P(CitizenStoreContractTest, ARecordComesBackAsStoredWithEveryField) {
  const fhir::ParsedResource o = Obs("o1", "2020-03-04T05:06:07Z", 72);
  ASSERT_FALSE(o.codes.empty());
  EXPECT_EQ(Put({o}, "provider-7", 1234).written, 1u);
  auto got = s().Get("Observation", "o1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->type, "Observation");
  EXPECT_EQ(got->id, "o1");
  EXPECT_EQ(got->category, o.category);
  EXPECT_EQ(got->effective, o.effective);
  EXPECT_EQ(got->sensitive, o.sensitive);
  EXPECT_EQ(got->source, "provider-7");
  EXPECT_EQ(got->updated_at, 1234);
  EXPECT_EQ(got->resource, o.json);
  EXPECT_EQ(got->codes, o.codes);
  EXPECT_EQ(s().Get("Observation", "o2").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(s().Get("Condition", "o1").status().code(), StatusCode::kNotFound);

  Reopen();  // and it is still there
  EXPECT_EQ(s().Get("Observation", "o1")->resource, o.json);
}

TEST_P(CitizenStoreContractTest, TheSameResourceAgainChangesNothing) {
  Put({Obs("o1", "2020-01-01")});
  const int64_t g = s().generation();
  const auto v = s().ContentVersion();
  ASSERT_TRUE(v.ok());
  const PutResult again = Put({Obs("o1", "2020-01-01")});
  EXPECT_EQ(again.written, 0u);
  EXPECT_EQ(again.unchanged, 1u);
  EXPECT_EQ(again.by_type.at("Observation"), 1u);
  EXPECT_EQ(s().generation(), g);
  EXPECT_EQ(*s().ContentVersion(), *v);
  EXPECT_TRUE(s().History("Observation", "o1")->empty());
}

TEST_P(CitizenStoreContractTest, AChangedRecordKeepsWhatItSaidBefore) {
  Put({Obs("o1", "2020-01-01", 1)}, "import", 100);
  Put({Obs("o1", "2020-01-01", 2)}, "import", 200);
  Put({Obs("o1", "2020-01-01", 3)}, "import", 300);
  EXPECT_EQ(s().Get("Observation", "o1")->resource,
            Obs("o1", "2020-01-01", 3).json);
  auto h = s().History("Observation", "o1");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].version, 2);  // newest first
  EXPECT_EQ((*h)[0].resource, Obs("o1", "2020-01-01", 2).json);
  EXPECT_EQ((*h)[0].recorded_at, 200);
  EXPECT_EQ((*h)[0].superseded_at, 300);
  EXPECT_EQ((*h)[1].version, 1);
  EXPECT_EQ((*h)[1].resource, Obs("o1", "2020-01-01", 1).json);
  EXPECT_EQ((*h)[1].source, "import");
  EXPECT_EQ(*s().Count(), 1);
  EXPECT_EQ(s().History("Observation", "none").status().code(),
            StatusCode::kNotFound);
}

TEST_P(CitizenStoreContractTest, ABatchHoldingARecordTwiceTakesItInOrder) {
  const PutResult r =
      Put({Obs("o1", "2020-01-01", 1), Obs("o2", "2020-01-01"),
           Obs("o1", "2020-01-01", 2), Obs("o1", "2020-01-01", 2)});
  EXPECT_EQ(r.written, 3u);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(r.by_type.at("Observation"), 4u);
  EXPECT_EQ(s().Get("Observation", "o1")->resource,
            Obs("o1", "2020-01-01", 2).json);
  auto h = s().History("Observation", "o1");
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].resource, Obs("o1", "2020-01-01", 1).json);
  EXPECT_EQ(*s().Count(), 2);
  EXPECT_EQ(s().generation(), 1);  // one write
}

TEST_P(CitizenStoreContractTest, AnImportNeverUndoesWhatOthersWrote) {
  Put({Obs("p1", "2020-01-01", 1)}, "provider-1");
  Put({Obs("c1", "2020-01-01", 1)}, kCitizenSource);
  Put({Obs("i1", "2020-01-01", 1)}, "import");
  // The operator's import keeps the provider's record, replaces the
  // citizen's copy and its own.
  const PutResult r =
      Put({Obs("p1", "2020-01-01", 9), Obs("c1", "2020-01-01", 9),
           Obs("i1", "2020-01-01", 9)},
          "import");
  EXPECT_EQ(r.written, 2u);
  EXPECT_EQ(r.unchanged, 1u);
  EXPECT_EQ(s().Get("Observation", "p1")->source, "provider-1");
  EXPECT_EQ(s().Get("Observation", "c1")->source, "import");
  // The citizen's import replaces only the citizen's own records.
  Put({Obs("c2", "2020-01-01", 1)}, kCitizenSource);
  const PutResult c = Put(
      {Obs("i1", "2020-01-01", 5), Obs("c2", "2020-01-01", 5)}, kCitizenSource);
  EXPECT_EQ(c.written, 1u);
  EXPECT_EQ(c.unchanged, 1u);
  EXPECT_EQ(s().Get("Observation", "i1")->resource,
            Obs("i1", "2020-01-01", 9).json);
}

TEST_P(CitizenStoreContractTest, ListingIsNewestFirstUndatedLastInPages) {
  Put({Obs("a", "2020-01-01"), Obs("b", "2022-01-01"), Obs("undated", ""),
       Obs("c", "2021-01-01"), Obs("d", "2021-01-01")});
  RecordFilter all;
  EXPECT_EQ(Ids(all),
            (std::vector<std::string>{"b", "d", "c", "a", "undated"}));
  RecordFilter page;
  page.limit = 2;
  auto first = s().List(page);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  page.after = RecordFilter::Position{first->back().effective.value(),
                                      first->back().seq};
  EXPECT_EQ(Ids(page), (std::vector<std::string>{"c", "a"}));
  RecordFilter bad;
  bad.limit = 0;
  EXPECT_EQ(s().List(bad).status().code(), StatusCode::kInvalidArgument);
  bad.limit = 1001;
  EXPECT_EQ(s().List(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(CitizenStoreContractTest, ListingFiltersByCategoryTypeAndDates) {
  const fhir::ParsedResource cond = Condition("k1", "2021-06-01");
  ASSERT_NE(cond.category, Obs("x", "2020-01-01").category);
  Put({Obs("o1", "2020-01-01"), Obs("o2", "2021-01-01"), cond,
       Obs("undated", "")});
  RecordFilter by_type;
  by_type.type = "Condition";
  EXPECT_EQ(Ids(by_type), std::vector<std::string>{"k1"});
  RecordFilter by_category;
  by_category.category = Obs("x", "2020-01-01").category;
  EXPECT_EQ(Ids(by_category),
            (std::vector<std::string>{"o2", "o1", "undated"}));
  RecordFilter since;
  since.since = *Obs("x", "2021-01-01").effective;
  EXPECT_EQ(Ids(since), (std::vector<std::string>{"k1", "o2"}));
  RecordFilter until;
  until.until = *Obs("x", "2021-01-01").effective;
  EXPECT_EQ(Ids(until), (std::vector<std::string>{"o1", "undated"}));
  RecordFilter none;
  none.type = "Immunization";
  EXPECT_TRUE(Ids(none).empty());
}

TEST_P(CitizenStoreContractTest, ACorrectionIsAllOrNothingWithItsDocuments) {
  Put({Obs("o1", "2020-01-01", 1)});
  const int64_t g = s().generation();
  const DocumentWrite doc{"rectification", "rr_1", "accepted"};
  const IndexUpdate index{"rectification", {{"rr_1", "accepted"}}};
  EXPECT_EQ(s().Correct(Obs("none", "2020-01-01"), "provider-1", "rr_1",
                        {&doc, 1}, &index, 500)
                .code(),
            StatusCode::kNotFound);
  EXPECT_EQ(s().Correct(Obs("o1", "2020-01-01", 1), "provider-1", "rr_1",
                        {&doc, 1}, &index, 500)
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(s().generation(), g);
  EXPECT_FALSE(s().GetDocument("rectification", "rr_1")->has_value());

  ASSERT_TRUE(s().Correct(Obs("o1", "2020-01-01", 2), "provider-1", "rr_1",
                          {&doc, 1}, &index, 500)
                  .ok());
  EXPECT_EQ(s().generation(), g + 1);
  auto h = s().History("Observation", "o1");
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].note, "rr_1");
  EXPECT_EQ((*h)[0].superseded_by, "provider-1");
  EXPECT_EQ(s().Get("Observation", "o1")->source, "provider-1");
  EXPECT_EQ(**s().GetDocument("rectification", "rr_1"), "accepted");
  ASSERT_FALSE(sunk_.empty());
  EXPECT_EQ(sunk_.back(),
            (std::pair<int64_t, std::string>(g + 1, "rectification")));
}

TEST_P(CitizenStoreContractTest, DocumentsAreKeptByKindInKeyOrder) {
  const std::vector<DocumentWrite> writes = {{"grant", "g2", "two"},
                                             {"grant", "g1", "one"},
                                             {"setting", "g1", "other kind"}};
  ASSERT_TRUE(s().WriteDocuments(writes, nullptr, 10).ok());
  auto grants = s().ListDocuments("grant");
  ASSERT_TRUE(grants.ok());
  EXPECT_EQ(*grants, (std::vector<std::pair<std::string, std::string>>{
                         {"g1", "one"}, {"g2", "two"}}));
  const std::vector<DocumentWrite> change = {{"grant", "g1", std::nullopt},
                                             {"grant", "g2", "2"}};
  ASSERT_TRUE(s().WriteDocuments(change, nullptr, 11).ok());
  EXPECT_FALSE(s().GetDocument("grant", "g1")->has_value());
  EXPECT_EQ(**s().GetDocument("grant", "g2"), "2");
  EXPECT_EQ(**s().GetDocument("setting", "g1"), "other kind");
  EXPECT_TRUE(s().ListDocuments("none")->empty());
}

TEST_P(CitizenStoreContractTest, IndexRowsAreReplacedAKindAtATime) {
  IndexUpdate grants{"grant", {{"g1", "p_1"}, {"g2", "p_2"}}};
  IndexUpdate studies{"study", {{"s1", "yes"}}};
  ASSERT_TRUE(s().WriteDocuments({}, &grants, 1).ok());
  ASSERT_TRUE(s().WriteDocuments({}, &studies, 2).ok());
  grants.rows = {{"g3", "p_3"}};
  ASSERT_TRUE(s().WriteDocuments({}, &grants, 3).ok());
  auto rows = s().ReadIndexRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].kind, "grant");
  ASSERT_EQ((*rows)[0].rows.size(), 1u);
  EXPECT_EQ((*rows)[0].rows[0].key, "g3");
  EXPECT_EQ((*rows)[0].rows[0].value, "p_3");
  EXPECT_EQ((*rows)[1].kind, "study");
  // Nothing to write is not a write.
  const int64_t g = s().generation();
  ASSERT_TRUE(s().WriteDocuments({}, nullptr, 4).ok());
  EXPECT_EQ(s().generation(), g);
}

TEST_P(CitizenStoreContractTest, EveryWriteRaisesTheGenerationOnce) {
  EXPECT_EQ(s().generation(), 0);
  Put({Obs("o1", "2020-01-01")});
  Put({Obs("o2", "2020-01-01"), Obs("o3", "2020-01-01")});
  const DocumentWrite doc{"grant", "g1", "v"};
  ASSERT_TRUE(s().WriteDocuments({&doc, 1}, nullptr, 1).ok());
  EXPECT_EQ(s().generation(), 3);
  EXPECT_EQ(sunk_, (std::vector<std::pair<int64_t, std::string>>{
                       {1, ""}, {2, ""}, {3, ""}}));
  Reopen();
  EXPECT_EQ(s().generation(), 3);
}

TEST_P(CitizenStoreContractTest, TheContentVersionMovesWithEveryWrite) {
  auto v0 = s().ContentVersion();
  ASSERT_TRUE(v0.ok()) << v0.status().ToString();
  EXPECT_EQ(*s().ContentVersion(), *v0);
  Put({Obs("o1", "2020-01-01")});
  auto v1 = s().ContentVersion();
  EXPECT_NE(*v1, *v0);
  EXPECT_EQ(*s().ContentVersion(), *v1);
  const DocumentWrite doc{"grant", "g1", "v"};
  ASSERT_TRUE(s().WriteDocuments({&doc, 1}, nullptr, 1).ok());
  EXPECT_NE(*s().ContentVersion(), *v1);
}

TEST_P(CitizenStoreContractTest, CountsAndMetadataCoverEveryRecord) {
  const fhir::ParsedResource cond = Condition("k1", "2021-06-01");
  Put({Obs("o2", "2020-01-01"), cond, Obs("o1", "2021-01-01")});
  EXPECT_EQ(*s().Count(), 3);
  auto by_type = s().CountByType();
  ASSERT_TRUE(by_type.ok());
  EXPECT_EQ(*by_type, (std::map<std::string, int64_t>{{"Condition", 1},
                                                      {"Observation", 2}}));
  auto by_category = s().CountByCategory();
  ASSERT_TRUE(by_category.ok());
  EXPECT_EQ(by_category->at(std::string(fhir::CategoryName(cond.category))), 1);
  auto meta = s().ListRecordMeta();
  ASSERT_TRUE(meta.ok());
  ASSERT_EQ(meta->size(), 3u);  // insertion order
  EXPECT_EQ((*meta)[0].id, "o2");
  EXPECT_EQ((*meta)[1].id, "k1");
  EXPECT_EQ((*meta)[1].codes, cond.codes);
  EXPECT_EQ((*meta)[1].effective, cond.effective);
  EXPECT_EQ((*meta)[2].id, "o1");
}

TEST_P(CitizenStoreContractTest, ACitizenSeesOnlyTheirOwnStore) {
  Put({Obs("o1", "2020-01-01")});
  const DocumentWrite doc{"grant", "g1", "alice's"};
  ASSERT_TRUE(s().WriteDocuments({&doc, 1}, nullptr, 1).ok());
  auto bob = place_->Open(kBob, nullptr);
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  EXPECT_EQ(*(*bob)->Count(), 0);
  EXPECT_EQ((*bob)->Get("Observation", "o1").status().code(),
            StatusCode::kNotFound);
  EXPECT_FALSE((*bob)->GetDocument("grant", "g1")->has_value());
  EXPECT_EQ((*bob)->generation(), 0);
  ASSERT_TRUE(
      (*bob)->Put(std::vector{Obs("o1", "2020-01-01", 5)}, "import", 1).ok());
  EXPECT_EQ(s().Get("Observation", "o1")->resource,
            Obs("o1", "2020-01-01").json);
}

}  // namespace tillit::vault

#endif  // TILLIT_TESTING_CITIZEN_STORE_CONTRACT_H_
