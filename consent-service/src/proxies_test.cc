// Tests of Proxies: a citizen authorises, changes and revokes the people
// who act for them; the operator records and ends guardianships; a proxy
// finds whom they act for.
#include "tillit/consent_service/proxies.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "consent_service_test_util.h"

namespace tillit::consent::service_testing {
namespace {

using nlohmann::json;

class ProxiesTest : public ConsentServiceTest {
 protected:
  void SetUp() override {
    ConsentServiceTest::SetUp();
    citizen_ = Citizen("aaaaaaaa-1111");
    carer_ = Citizen("bbbbbbbb-2222");
    direct_ = std::make_unique<vault::DirectStoreAccess>(vault_.get());
    proxies_ =
        std::make_unique<Proxies>(vault_.get(), &clock_, &rng_, direct_.get());
  }
  ProxyAuthorisation Scope(const json& body, bool change = false) {
    auto a = ParseProxy(body.dump(), clock_.NowSeconds(), change);
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : ProxyAuthorisation{};
  }
  StatusOr<ProxyAuthorisation> AuthoriseCarer(const std::string& access) {
    return proxies_->Authorise(
        citizen_, Scope({{"proxy", carer_}, {"access", access}}), nullptr);
  }
  size_t RepresentedCount(const std::string& proxy) {
    auto r = proxies_->RepresentedBy(proxy);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->size() : 0;
  }

  std::string citizen_;
  std::string carer_;
  std::unique_ptr<vault::DirectStoreAccess> direct_;
  std::unique_ptr<Proxies> proxies_;
};

TEST_F(ProxiesTest, AnAuthorisationIsInThePolicyAndTheProxyFindsIt) {
  auto a = AuthoriseCarer("read");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->id.substr(0, 3), "px_");
  auto policy = service_->LoadPolicy(citizen_);
  ASSERT_TRUE(policy.ok());
  ASSERT_EQ(policy->proxies.size(), 1u);
  EXPECT_EQ(policy->proxies[0].proxy_id, carer_);

  auto represented = proxies_->RepresentedBy(carer_);
  ASSERT_TRUE(represented.ok());
  ASSERT_EQ(represented->size(), 1u);
  EXPECT_EQ((*represented)[0].citizen_id, citizen_);
  EXPECT_EQ(RepresentedCount(citizen_), 0u);
}

TEST_F(ProxiesTest, ARevocationTakesEffectAtOnceAndCannotBeRepeated) {
  auto a = AuthoriseCarer("read-write");
  ASSERT_TRUE(a.ok());
  clock_.Advance(60);
  auto revoked = proxies_->Revoke(citizen_, a->id, nullptr);
  ASSERT_TRUE(revoked.ok()) << revoked.status().ToString();
  EXPECT_EQ(ProxyStatus(*revoked, clock_.NowSeconds()), "revoked");
  EXPECT_EQ(RepresentedCount(carer_), 0u);
  auto policy = service_->LoadPolicy(citizen_);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(DecideProxy(policy->proxies, {carer_, ProxyNeed::kRead, ""},
                        clock_.NowSeconds(), 0)
                .outcome,
            ProxyDecision::Outcome::kNotRepresented);
  EXPECT_EQ(proxies_->Revoke(citizen_, a->id, nullptr).status().code(),
            StatusCode::kFailedPrecondition);
  // The revoked one stays in the list; the person may be authorised anew.
  EXPECT_EQ(proxies_->List(citizen_)->size(), 1u);
  EXPECT_TRUE(AuthoriseCarer("read").ok());
  EXPECT_EQ(proxies_->List(citizen_)->size(), 2u);
}

TEST_F(ProxiesTest, TheSamePersonTwiceYourselfOrNobodyIsRefused) {
  ASSERT_TRUE(AuthoriseCarer("read").ok());
  EXPECT_EQ(AuthoriseCarer("read-write").status().code(),
            StatusCode::kFailedPrecondition);
  auto self = proxies_->Authorise(
      citizen_, Scope({{"proxy", citizen_}, {"access", "read"}}), nullptr);
  EXPECT_EQ(self.status().code(), StatusCode::kInvalidArgument);
  auto nobody = proxies_->Authorise(
      citizen_, Scope({{"proxy", NewId('c', 99)}, {"access", "read"}}),
      nullptr);
  EXPECT_EQ(nobody.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(nobody.status().message().find("no such citizen"),
            std::string::npos);
  EXPECT_EQ(proxies_->List(citizen_)->size(), 1u);
}

TEST_F(ProxiesTest, ACitizenNarrowsAnAuthorisation) {
  auto a = AuthoriseCarer("read-write");
  ASSERT_TRUE(a.ok());
  auto changed = proxies_->Change(
      citizen_, a->id,
      Scope({{"access", "read"}, {"categories", {"prescriptions"}}}, true),
      nullptr);
  ASSERT_TRUE(changed.ok()) << changed.status().ToString();
  EXPECT_EQ(changed->id, a->id);
  EXPECT_EQ(changed->access, ProxyAuthorisation::Access::kRead);
  auto policy = service_->LoadPolicy(citizen_);
  EXPECT_EQ(policy->proxies[0].categories,
            CategoryBit(Category::kPrescriptions));
  EXPECT_EQ(proxies_->Change(citizen_, "px_nosuch", *changed, nullptr)
                .status()
                .code(),
            StatusCode::kNotFound);
}

TEST_F(ProxiesTest, AnAdmitErrorStoresNothing) {
  auto refused = proxies_->Authorise(
      citizen_, Scope({{"proxy", carer_}, {"access", "read"}}),
      [](const ProxyAuthorisation&) {
        return Status::DataLoss("audit log down");
      });
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(proxies_->List(citizen_)->empty());
  EXPECT_EQ(RepresentedCount(carer_), 0u);
}

TEST_F(ProxiesTest, AGuardianshipRunsItsCourseAndOnlyTheOperatorEndsIt) {
  auto g = ParseGuardianship(json({{"guardian", carer_},
                                   {"citizen", citizen_},
                                   {"start", "2026-01-01"},
                                   {"end", "2026-01-31"}})
                                 .dump(),
                             clock_.NowSeconds());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  auto recorded = proxies_->RecordGuardianship(*g, nullptr);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  EXPECT_EQ(recorded->id.substr(0, 3), "gd_");
  EXPECT_EQ(proxies_->RecordGuardianship(*g, nullptr).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(RepresentedCount(carer_), 1u);
  // The citizen cannot revoke or change it.
  EXPECT_EQ(proxies_->Revoke(citizen_, recorded->id, nullptr).status().code(),
            StatusCode::kFailedPrecondition);

  clock_.Advance(31 * 86400);  // past the last day
  EXPECT_EQ(RepresentedCount(carer_), 0u);
  auto list = proxies_->List(citizen_);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(ProxyStatus((*list)[0], clock_.NowSeconds()), "ended");
}

TEST_F(ProxiesTest, TheOperatorEndsAGuardianshipEarly) {
  auto g = ParseGuardianship(json({{"guardian", carer_},
                                   {"citizen", citizen_},
                                   {"start", "2025-01-01"}})
                                 .dump(),
                             clock_.NowSeconds());
  ASSERT_TRUE(g.ok());
  auto recorded = proxies_->RecordGuardianship(*g, nullptr);
  ASSERT_TRUE(recorded.ok());
  auto ended = proxies_->EndGuardianship(recorded->id, nullptr);
  ASSERT_TRUE(ended.ok()) << ended.status().ToString();
  EXPECT_EQ(ended->citizen_id, citizen_);
  EXPECT_EQ(ProxyStatus(ended->authorisation, clock_.NowSeconds()), "ended");
  EXPECT_EQ(RepresentedCount(carer_), 0u);
  EXPECT_EQ(proxies_->EndGuardianship(recorded->id, nullptr).status().code(),
            StatusCode::kNotFound);
  // A proxy's id is no guardianship.
  auto a = AuthoriseCarer("read");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(proxies_->EndGuardianship(a->id, nullptr).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ProxiesTest, AGuardianshipOfSomeoneUnknownIsRefused) {
  auto g = ParseGuardianship(json({{"guardian", carer_},
                                   {"citizen", NewId('c', 77)},
                                   {"start", "2026-01-01"}})
                                 .dump(),
                             clock_.NowSeconds());
  ASSERT_TRUE(g.ok());
  auto r = proxies_->RecordGuardianship(*g, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("citizen: no such citizen"),
            std::string::npos);
}

}  // namespace
}  // namespace tillit::consent::service_testing
