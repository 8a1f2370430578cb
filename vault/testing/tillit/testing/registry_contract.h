// The contract every vault::Registry keeps, as one parametrised suite: a
// test binary includes this header once and instantiates the suite with
// the registries it builds (INSTANTIATE_TEST_SUITE_P(Name,
// RegistryContractTest, ::testing::Values(RegistryBackend{...}))).
// The data directory's registry runs it in vault_test, PostgreSQL's in
// pgstore_test.
#ifndef TILLIT_TESTING_REGISTRY_CONTRACT_H_
#define TILLIT_TESTING_REGISTRY_CONTRACT_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tillit/vault/registry.h"
#include "tillit/vault/transfer.h"

namespace tillit::vault {

// Where a registry under test lives (a temporary file, a new database).
class RegistryPlace {
 public:
  virtual ~RegistryPlace() = default;
  // Opens the registry here: empty the first time, as left after.
  virtual StatusOr<std::unique_ptr<Registry>> Open() = 0;
};

struct RegistryBackend {
  std::string name;
  // A new, empty place, one per test.
  std::function<std::unique_ptr<RegistryPlace>()> make;
};

inline std::string RegistryBackendName(
    const ::testing::TestParamInfo<RegistryBackend>& info) {
  return info.param.name;
}

class RegistryContractTest : public ::testing::TestWithParam<RegistryBackend> {
 protected:
  static inline const std::string kAlice = "c_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  static inline const std::string kBob = "c_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  static inline const std::vector<uint8_t> kWrapped = {1, 2, 3};

  static crypto::Digest DigestOf(uint8_t b) {
    crypto::Digest d{};
    d.fill(b);
    return d;
  }

  void SetUp() override {
    place_ = GetParam().make();
    ASSERT_NE(place_, nullptr);
    auto opened = place_->Open();
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    registry_ = std::move(opened).value();
  }
  Registry& r() { return *registry_; }

  std::unique_ptr<RegistryPlace> place_;
  std::unique_ptr<Registry> registry_;
};

TEST_P(RegistryContractTest,
       ACitizenIsAddedWithVersionOneAndListedOldestFirst) {
  ASSERT_TRUE(r().AddCitizen(kBob, 20, kWrapped, 0, std::nullopt).ok());
  ASSERT_TRUE(r().AddCitizen(kAlice, 10, kWrapped, 3, std::nullopt).ok());
  EXPECT_EQ(*r().ListCitizenIds(), (std::vector<std::string>{kAlice, kBob}));
  auto keys = r().GetKeys(kAlice);
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->dek_version, 1);
  EXPECT_EQ(keys->wrapped_dek, kWrapped);
  EXPECT_FALSE(keys->pending_dek.has_value());
  EXPECT_EQ(keys->generation, 3);
  EXPECT_EQ(r().GetKeys("c_unknown").status().code(), StatusCode::kNotFound);
}

TEST_P(RegistryContractTest, APatientKeyBelongsToOneCitizen) {
  ASSERT_TRUE(r().AddCitizen(kAlice, 1, kWrapped, 0, DigestOf(9)).ok());
  EXPECT_EQ(r().AddCitizen(kBob, 2, kWrapped, 0, DigestOf(9)).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(*r().ListCitizenIds(), std::vector<std::string>{kAlice});
  EXPECT_EQ(*r().FindPatient(DigestOf(9)), kAlice);
  EXPECT_FALSE(r().FindPatient(DigestOf(8))->has_value());

  ASSERT_TRUE(r().AddCitizen(kBob, 2, kWrapped, 0, std::nullopt).ok());
  // Linking: another citizen's Patient, a second Patient, an unknown
  // citizen are refused; the first link, and linking again, are not.
  EXPECT_EQ(r().LinkPatient(kBob, DigestOf(9)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(r().LinkPatient(kBob, DigestOf(5)).ok());
  EXPECT_TRUE(r().LinkPatient(kBob, DigestOf(5)).ok());
  EXPECT_EQ(r().LinkPatient(kBob, DigestOf(6)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(r().LinkPatient("c_unknown", DigestOf(7)).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(*r().FindPatient(DigestOf(5)), kBob);
}

TEST_P(RegistryContractTest, AGenerationOnlyRisesAndCarriesItsIndexRows) {
  ASSERT_TRUE(r().AddCitizen(kAlice, 1, kWrapped, 5, std::nullopt).ok());
  const int64_t v0 = *r().IndexVersion();
  IndexUpdate grants{"grant", {{"g1", "p_1"}, {"g2", "p_2"}}};
  ASSERT_TRUE(r().SetGeneration(kAlice, 6, {grants}, false).ok());
  EXPECT_EQ(r().GetKeys(kAlice)->generation, 6);
  EXPECT_GT(*r().IndexVersion(), v0);
  auto rows = r().ReadIndex("grant");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].citizen_id, kAlice);
  EXPECT_EQ((*rows)[1].key, "g2");
  EXPECT_EQ((*rows)[1].value, "p_2");

  // An older generation is ignored; its rows still replace the kind's.
  ASSERT_TRUE(r().SetGeneration(kAlice, 4,
                                {IndexUpdate{"grant", {{"g3", "p_3"}}}}, false)
                  .ok());
  EXPECT_EQ(r().GetKeys(kAlice)->generation, 6);
  ASSERT_EQ(r().ReadIndex("grant")->size(), 1u);

  // Replacing every kind with nothing empties the citizen's rows.
  ASSERT_TRUE(r().SetGeneration(kAlice, 7, {}, true).ok());
  EXPECT_TRUE(r().ReadIndex("grant")->empty());
}

TEST_P(RegistryContractTest, APendingKeyIsPromotedOnlyFromTheExpectedVersion) {
  ASSERT_TRUE(r().AddCitizen(kAlice, 1, kWrapped, 0, std::nullopt).ok());
  const std::vector<uint8_t> next = {7, 7};
  EXPECT_EQ(r().SetPendingKey("c_unknown", next).code(), StatusCode::kNotFound);
  ASSERT_TRUE(r().SetPendingKey(kAlice, next).ok());
  EXPECT_EQ(r().GetKeys(kAlice)->pending_dek, next);

  ASSERT_TRUE(r().PromotePendingKey(kAlice, 2).ok());  // not version 2
  EXPECT_EQ(r().GetKeys(kAlice)->dek_version, 1);
  ASSERT_TRUE(r().PromotePendingKey(kAlice, 1).ok());
  auto keys = r().GetKeys(kAlice);
  EXPECT_EQ(keys->dek_version, 2);
  EXPECT_EQ(keys->wrapped_dek, next);
  EXPECT_FALSE(keys->pending_dek.has_value());
  // Nothing pending: nothing changes.
  ASSERT_TRUE(r().PromotePendingKey(kAlice, std::nullopt).ok());
  EXPECT_EQ(r().GetKeys(kAlice)->dek_version, 2);
}

TEST_P(RegistryContractTest, ARewrapReplacesEveryKeyOrNone) {
  ASSERT_TRUE(r().AddCitizen(kAlice, 1, kWrapped, 0, std::nullopt).ok());
  ASSERT_TRUE(r().AddCitizen(kBob, 2, kWrapped, 0, std::nullopt).ok());
  ASSERT_TRUE(r().SetPendingKey(kBob, std::vector<uint8_t>{4}).ok());

  // A failure half way changes nothing.
  int calls = 0;
  Status failed = r().RewrapAllKeys([&calls](const Registry::WrappedKeys& k)
                                        -> StatusOr<Registry::WrappedKeys> {
    if (++calls == 2) return Status::DataLoss("cannot unwrap");
    Registry::WrappedKeys next = k;
    next.wrapped_dek = {9};
    return next;
  });
  EXPECT_EQ(failed.code(), StatusCode::kDataLoss);
  EXPECT_EQ(r().GetKeys(kAlice)->wrapped_dek, kWrapped);
  EXPECT_EQ(r().GetKeys(kBob)->wrapped_dek, kWrapped);

  ASSERT_TRUE(r().RewrapAllKeys([](const Registry::WrappedKeys& k)
                                    -> StatusOr<Registry::WrappedKeys> {
                   Registry::WrappedKeys next = k;
                   next.wrapped_dek = {9};
                   if (next.pending_dek) next.pending_dek = {8};
                   return next;
                 })
                  .ok());
  EXPECT_EQ(r().GetKeys(kAlice)->wrapped_dek, std::vector<uint8_t>{9});
  EXPECT_FALSE(r().GetKeys(kAlice)->pending_dek.has_value());
  EXPECT_EQ(r().GetKeys(kBob)->pending_dek, std::vector<uint8_t>{8});
}

TEST_P(RegistryContractTest, AnErasedCitizenLeavesATombstoneAndNoRows) {
  ASSERT_TRUE(r().AddCitizen(kAlice, 1, kWrapped, 0, DigestOf(1)).ok());
  ASSERT_TRUE(
      r().SetGeneration(kAlice, 1, {IndexUpdate{"grant", {{"g", "p"}}}}, false)
          .ok());
  EXPECT_FALSE(*r().IsErased(kAlice));
  ASSERT_TRUE(r().EraseCitizen(kAlice, 50).ok());
  EXPECT_EQ(r().GetKeys(kAlice).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(*r().IsErased(kAlice));
  EXPECT_EQ(*r().ListErased(), std::vector<std::string>{kAlice});
  EXPECT_TRUE(r().ReadIndex("grant")->empty());
  EXPECT_FALSE(r().FindPatient(DigestOf(1))->has_value());
  EXPECT_TRUE(r().ListCitizenIds()->empty());
  EXPECT_EQ(r().EraseCitizen(kAlice, 51).code(), StatusCode::kNotFound);
  EXPECT_EQ(r().EraseCitizen(kBob, 51).code(), StatusCode::kNotFound);
}

TEST_P(RegistryContractTest, DirectoryEntriesAreKeptOncePerKindAndId) {
  ASSERT_TRUE(r().PutDirectoryEntry("study", "s_2", "{}", 20).ok());
  ASSERT_TRUE(r().PutDirectoryEntry("study", "s_1", "{\"a\":1}", 10).ok());
  ASSERT_TRUE(r().PutDirectoryEntry("researcher", "s_1", "r", 10).ok());
  EXPECT_EQ(r().PutDirectoryEntry("study", "s_1", "x", 30).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(*r().GetDirectoryEntry("study", "s_1"), "{\"a\":1}");
  EXPECT_EQ(r().GetDirectoryEntry("study", "s_3").status().code(),
            StatusCode::kNotFound);
  auto studies = r().ListDirectory("study");
  ASSERT_TRUE(studies.ok());
  ASSERT_EQ(studies->size(), 2u);
  EXPECT_EQ((*studies)[0].first, "s_1");  // oldest first
  EXPECT_EQ((*studies)[1].first, "s_2");
}

TEST_P(RegistryContractTest, TokenRowsAreTakenOnce) {
  TokenRepository& t = r().tokens();
  ASSERT_TRUE(t.Insert(DigestOf(1), "enroll", "c_x", 10, 100).ok());
  EXPECT_EQ(t.Insert(DigestOf(1), "enroll", "c_x", 10, 100).code(),
            StatusCode::kAlreadyExists);
  EXPECT_TRUE(t.FindLive(DigestOf(1), 50)->has_value());
  EXPECT_FALSE(t.FindLive(DigestOf(1), 100)->has_value());  // expired
  EXPECT_FALSE(t.TakeLive(DigestOf(1), "citizen", 50)->has_value());
  EXPECT_TRUE(t.FindLive(DigestOf(1), 50)->has_value());  // wrong role
  auto taken = t.TakeLive(DigestOf(1), "enroll", 50);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ((*taken)->principal, "c_x");
  EXPECT_FALSE(t.TakeLive(DigestOf(1), "enroll", 51)->has_value());
  EXPECT_EQ(t.Revoke(DigestOf(1), 52).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(t.Revoke(DigestOf(2), 52).code(), StatusCode::kNotFound);

  ASSERT_TRUE(t.Insert(DigestOf(3), "provider", "p_1", 10, 100).ok());
  ASSERT_TRUE(t.Insert(DigestOf(4), "provider", "p_1", 10, 100).ok());
  EXPECT_EQ(*t.RevokePrincipal("p_1", 60), 2);
  EXPECT_EQ(*t.RevokePrincipal("p_1", 61), 0);
  EXPECT_FALSE(t.FindLive(DigestOf(3), 62)->has_value());
}

TEST_P(RegistryContractTest, RowsOutliveTheRegistryObject) {
  ASSERT_TRUE(r().AddCitizen(kAlice, 1, kWrapped, 2, std::nullopt).ok());
  ASSERT_TRUE(r().PutDirectoryEntry("study", "s_1", "v", 1).ok());
  registry_.reset();
  auto reopened = place_->Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->GetKeys(kAlice)->generation, 2);
  EXPECT_EQ(*(*reopened)->GetDirectoryEntry("study", "s_1"), "v");
}

TEST_P(RegistryContractTest, EveryRowMovesIntoANewRegistryUnchanged) {
  const std::string carol = "c_cccccccccccccccccccccccccccccccc";
  ASSERT_TRUE(r().AddCitizen(kBob, 20, kWrapped, 4, DigestOf(7)).ok());
  ASSERT_TRUE(r().AddCitizen(kAlice, 10, kWrapped, 0, std::nullopt).ok());
  ASSERT_TRUE(r().SetPendingKey(kAlice, std::vector<uint8_t>{9, 9}).ok());
  ASSERT_TRUE(r().PromotePendingKey(kAlice, 1).ok());
  ASSERT_TRUE(r().SetPendingKey(kBob, std::vector<uint8_t>{8}).ok());
  ASSERT_TRUE(r().AddCitizen(carol, 30, kWrapped, 0, std::nullopt).ok());
  ASSERT_TRUE(r().EraseCitizen(carol, 40).ok());
  ASSERT_TRUE(r().PutDirectoryEntry("study", "s_1", "{}", 50).ok());
  ASSERT_TRUE(r().PutDirectoryEntry("researcher", "r_1", "{\"n\":1}", 51).ok());
  ASSERT_TRUE(
      r().tokens().Insert(DigestOf(2), "citizen", kAlice, 61, 2000).ok());
  ASSERT_TRUE(
      r().tokens().Insert(DigestOf(1), "admin", "operator", 60, 1000).ok());
  ASSERT_TRUE(r().tokens().Revoke(DigestOf(2), 70).ok());

  auto* from = dynamic_cast<RegistryTransfer*>(&r());
  ASSERT_NE(from, nullptr);
  auto rows = from->ExportRows();
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->citizens.size(), 2u);
  EXPECT_EQ(rows->citizens[0].id, kAlice);  // by id
  EXPECT_EQ(rows->citizens[0].dek_version, 2);
  EXPECT_EQ(rows->citizens[0].wrapped_dek, (std::vector<uint8_t>{9, 9}));
  EXPECT_EQ(rows->citizens[0].created_at, 10);
  EXPECT_EQ(rows->citizens[1].pending_dek, std::vector<uint8_t>{8});
  EXPECT_EQ(rows->citizens[1].patient_key, DigestOf(7));
  EXPECT_EQ(rows->citizens[1].generation, 4);
  EXPECT_EQ(rows->erased, (std::vector<RegistryRows::Tombstone>{{carol, 40}}));
  ASSERT_EQ(rows->directory.size(), 2u);
  EXPECT_EQ(rows->directory[0].kind, "researcher");
  EXPECT_EQ(rows->directory[0].created_at, 51);
  ASSERT_EQ(rows->tokens.size(), 2u);
  EXPECT_EQ(rows->tokens[0].hash, DigestOf(1));  // by hash
  EXPECT_FALSE(rows->tokens[0].revoked_at.has_value());
  EXPECT_EQ(rows->tokens[1].revoked_at, 70);

  auto other_place = GetParam().make();
  auto other = other_place->Open();
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto* into = dynamic_cast<RegistryTransfer*>(other->get());
  ASSERT_NE(into, nullptr);
  ASSERT_TRUE(into->ImportRows(*rows).ok());
  EXPECT_EQ(*into->ExportRows(), *rows);
  // The copy serves as the original did.
  Registry& copy = **other;
  EXPECT_EQ(copy.GetKeys(kAlice)->dek_version, 2);
  EXPECT_EQ(copy.GetKeys(kBob)->pending_dek, std::vector<uint8_t>{8});
  EXPECT_TRUE(*copy.IsErased(carol));
  EXPECT_EQ(**copy.FindPatient(DigestOf(7)), kBob);
  EXPECT_EQ(*copy.GetDirectoryEntry("study", "s_1"), "{}");
  EXPECT_TRUE(copy.tokens().FindLive(DigestOf(1), 100)->has_value());
  EXPECT_FALSE(copy.tokens().FindLive(DigestOf(2), 100)->has_value());
  // Only into an empty registry; a refused import changes nothing.
  EXPECT_EQ(into->ImportRows(*rows).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(from->ImportRows(*rows).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(*from->ExportRows(), *rows);
}

}  // namespace tillit::vault

#endif  // TILLIT_TESTING_REGISTRY_CONTRACT_H_
