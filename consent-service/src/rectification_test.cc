// Tests of Rectifications: a citizen's request to correct a record, routed
// to whoever answers for it, and the provider's accept or decline.
#include "tillit/consent_service/rectification.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "consent_service_test_util.h"
#include "tillit/fhir/fhir.h"

namespace tillit::consent::service_testing {
namespace {

using nlohmann::json;

class RectificationTest : public ConsentServiceTest {
 protected:
  void SetUp() override {
    ConsentServiceTest::SetUp();
    citizen_ = Citizen("aaaaaaaa-1111");
    record_ = "aaaaaaaa-1111-v1";
    direct_ = std::make_unique<vault::DirectStoreAccess>(vault_.get());
    Make({});
  }
  void Make(RectificationOptions o) {
    if (o.import_provider.empty()) o.import_provider = office_;
    rect_ = std::make_unique<Rectifications>(vault_.get(), &clock_, &rng_,
                                             direct_.get(), o);
  }
  std::string Stored(const std::string& id) {
    auto store = vault_->OpenCitizen(citizen_);
    EXPECT_TRUE(store.ok());
    auto r = (*store)->Get("Observation", id);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->resource : "";
  }
  size_t HistorySize(const std::string& id) {
    auto store = vault_->OpenCitizen(citizen_);
    return (*store)->History("Observation", id)->size();
  }
  // A record a provider pushed (source = the provider).
  void Push(const std::string& provider, const std::string& id) {
    auto parsed = fhir::ParseFhirResource(json{
        {"resourceType", "Observation"},
        {"id", id},
        {"status", "final"}}.dump());
    ASSERT_TRUE(parsed.ok());
    auto store = vault_->OpenCitizen(citizen_);
    ASSERT_TRUE((*store)
                    ->Put(std::span<const fhir::ParsedResource>(&*parsed, 1),
                          provider, kNow)
                    .ok());
  }
  std::string Corrected(int value) {
    json j = json::parse(Stored(record_));
    j.erase("id");  // the id may be left out
    j["valueQuantity"] = {{"value", value}, {"unit", "/min"}};
    return j.dump();
  }

  const std::string office_ = NewId('p', 7);
  const std::string other_ = NewId('p', 8);
  std::string citizen_;
  std::string record_;
  std::unique_ptr<vault::DirectStoreAccess> direct_;
  std::unique_ptr<Rectifications> rect_;
};

TEST_F(RectificationTest, AnAcceptedCorrectionReplacesTheRecordAndKeepsTheOld) {
  const std::string before = Stored(record_);
  auto asked =
      rect_->Ask(citizen_, "Observation", record_, "wrong pulse", "", nullptr);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->status, "pending");
  EXPECT_EQ(asked->provider_id, office_);
  EXPECT_EQ(asked->id.substr(0, 3), "rr_");

  auto pending = rect_->PendingFor(office_);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].citizen_id, citizen_);
  EXPECT_EQ((*pending)[0].reason, "wrong pulse");
  EXPECT_TRUE(rect_->PendingFor(other_)->empty());
  // Another provider can neither see nor decide it.
  EXPECT_EQ(
      rect_->Accept(other_, asked->id, Corrected(61), nullptr).status().code(),
      StatusCode::kNotFound);

  clock_.Advance(3600);
  auto accepted = rect_->Accept(office_, asked->id, Corrected(61), nullptr);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->status, "accepted");
  EXPECT_EQ(accepted->decided_at, kNow + 3600);
  EXPECT_EQ(json::parse(Stored(record_))["valueQuantity"]["value"], 61);
  EXPECT_EQ(json::parse(Stored(record_))["id"], record_);

  auto store = vault_->OpenCitizen(citizen_);
  auto history = (*store)->History("Observation", record_);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 1u);
  EXPECT_EQ((*history)[0].resource, before);
  EXPECT_EQ((*history)[0].superseded_by, office_);
  EXPECT_EQ((*history)[0].note, "rectification " + asked->id);

  EXPECT_TRUE(rect_->PendingFor(office_)->empty());
  auto mine = rect_->ForCitizen(citizen_);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].status, "accepted");
  // Decided once: a second decision finds no pending request.
  EXPECT_EQ(rect_->Decline(office_, asked->id, "no", nullptr).status().code(),
            StatusCode::kNotFound);
}

TEST_F(RectificationTest, ADeclineKeepsTheRecordAndTellsTheCitizenWhy) {
  const std::string before = Stored(record_);
  auto asked =
      rect_->Ask(citizen_, "Observation", record_, "wrong", "", nullptr);
  ASSERT_TRUE(asked.ok());
  EXPECT_EQ(rect_->Decline(office_, asked->id, "", nullptr).status().code(),
            StatusCode::kInvalidArgument);
  auto declined = rect_->Decline(office_, asked->id,
                                 "measured twice, it is right", nullptr);
  ASSERT_TRUE(declined.ok()) << declined.status().ToString();
  EXPECT_EQ(declined->status, "declined");
  EXPECT_EQ(Stored(record_), before);
  EXPECT_EQ(HistorySize(record_), 0u);
  auto mine = rect_->ForCitizen(citizen_);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].decision_reason, "measured twice, it is right");
  EXPECT_TRUE(rect_->PendingFor(office_)->empty());
  // Once decided, the record may be asked about again.
  EXPECT_TRUE(
      rect_->Ask(citizen_, "Observation", record_, "still wrong", "", nullptr)
          .ok());
}

TEST_F(RectificationTest, ARecordAProviderPushedGoesToThatProvider) {
  Push(other_, "pushed-1");
  auto asked =
      rect_->Ask(citizen_, "Observation", "pushed-1", "not me", "", nullptr);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  EXPECT_EQ(asked->provider_id, other_);
  EXPECT_EQ(rect_->PendingFor(other_)->size(), 1u);
  EXPECT_TRUE(rect_->PendingFor(office_)->empty());
}

TEST_F(RectificationTest, RefusedRequestsStoreNothing) {
  auto ask = [&](std::string_view id, std::string_view reason,
                 std::string_view proposed = "") {
    return rect_->Ask(citizen_, "Observation", id, reason, proposed, nullptr)
        .status()
        .code();
  };
  EXPECT_EQ(ask(record_, ""), StatusCode::kInvalidArgument);
  EXPECT_EQ(ask(record_, " \n\t "), StatusCode::kInvalidArgument);
  EXPECT_EQ(ask(record_, std::string(1001, 'x')), StatusCode::kInvalidArgument);
  EXPECT_EQ(ask(record_, "r", "not json"), StatusCode::kInvalidArgument);
  EXPECT_EQ(ask(record_, "r", R"({"resourceType":"Condition"})"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ask(record_, "r", R"({"resourceType":"Observation","id":"x"})"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ask("no-such-record", "r"), StatusCode::kNotFound);
  EXPECT_EQ(rect_->Ask(NewId('c', 99), "Observation", record_, "r", "", nullptr)
                .status()
                .code(),
            StatusCode::kNotFound);
  // What the citizen entered, they correct themselves.
  Push("citizen", "own-1");
  EXPECT_EQ(ask("own-1", "r"), StatusCode::kFailedPrecondition);
  // The audit entry could not be written: nothing is stored.
  EXPECT_EQ(rect_
                ->Ask(citizen_, "Observation", record_, "r", "",
                      [](const RectificationRequest&) {
                        return Status::IoError("audit log unavailable");
                      })
                .status()
                .code(),
            StatusCode::kIoError);
  EXPECT_TRUE(rect_->ForCitizen(citizen_)->empty());
  EXPECT_TRUE(rect_->PendingFor(office_)->empty());

  // Without a provider named for imported records, nobody can take it.
  rect_ = std::make_unique<Rectifications>(
      vault_.get(), &clock_, &rng_, direct_.get(), RectificationOptions{});
  EXPECT_EQ(ask(record_, "r"), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(rect_->ForCitizen(citizen_)->empty());
}

TEST_F(RectificationTest, OnePendingRequestPerRecordAndABoundPerCitizen) {
  Make({.import_provider = office_, .max_pending = 2});
  const std::string proposed = Corrected(70);
  auto first =
      rect_->Ask(citizen_, "Observation", record_, "r", proposed, nullptr);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(json::parse(first->proposed)["id"], record_);
  EXPECT_EQ(rect_->Ask(citizen_, "Observation", record_, "again", "", nullptr)
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(
      rect_->Ask(citizen_, "Observation", "aaaaaaaa-1111-v2", "r", "", nullptr)
          .ok());
  EXPECT_EQ(
      rect_->Ask(citizen_, "Observation", "aaaaaaaa-1111-l1", "r", "", nullptr)
          .status()
          .code(),
      StatusCode::kFailedPrecondition);
  EXPECT_EQ(rect_->ForCitizen(citizen_)->size(), 2u);
}

TEST_F(RectificationTest, AFailedAcceptLeavesTheRequestPendingAndTheRecord) {
  const std::string before = Stored(record_);
  auto asked =
      rect_->Ask(citizen_, "Observation", record_, "wrong", "", nullptr);
  ASSERT_TRUE(asked.ok());
  // Not a resource of the record, identical to it, or the audit log failed.
  EXPECT_EQ(rect_
                ->Accept(office_, asked->id,
                         R"({"resourceType":"Condition","id":"x"})", nullptr)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(rect_->Accept(office_, asked->id, before, nullptr).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(rect_
                ->Accept(office_, asked->id, Corrected(61),
                         [](const RectificationRequest&) {
                           return Status::IoError("audit log unavailable");
                         })
                .status()
                .code(),
            StatusCode::kIoError);
  EXPECT_EQ(Stored(record_), before);
  EXPECT_EQ(HistorySize(record_), 0u);
  ASSERT_EQ(rect_->PendingFor(office_)->size(), 1u);
  EXPECT_TRUE(rect_->Accept(office_, asked->id, Corrected(61), nullptr).ok());
}

// The provider decides on what the citizen saw: a record changed since
// the request (a re-push, say) is not overwritten by the decision.
TEST_F(RectificationTest, ARecordThatChangedSinceTheRequestIsNotOverwritten) {
  Push(other_, "pushed-2");
  auto asked =
      rect_->Ask(citizen_, "Observation", "pushed-2", "wrong", "", nullptr);
  ASSERT_TRUE(asked.ok()) << asked.status().ToString();
  const json newer = {{"resourceType", "Observation"},
                      {"id", "pushed-2"},
                      {"status", "amended"}};
  {
    auto parsed = fhir::ParseFhirResource(newer.dump());
    ASSERT_TRUE(parsed.ok());
    auto store = vault_->OpenCitizen(citizen_);
    ASSERT_TRUE((*store)
                    ->Put(std::span<const fhir::ParsedResource>(&*parsed, 1),
                          other_, kNow + 1)
                    .ok());
  }
  const json fix = {{"resourceType", "Observation"},
                    {"status", "final"},
                    {"note", {{{"text", "corrected"}}}}};
  auto accepted = rect_->Accept(other_, asked->id, fix.dump(), nullptr);
  EXPECT_EQ(accepted.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(json::parse(Stored("pushed-2"))["status"], "amended");
  ASSERT_EQ(rect_->PendingFor(other_)->size(), 1u);
  EXPECT_TRUE(rect_->Decline(other_, asked->id, "changed", nullptr).ok());
}

// Only the source tag differs: nothing is corrected, and the provider does
// not become the record's author by "accepting" it unchanged.
TEST_F(RectificationTest, AnAcceptThatOnlyRetagsTheRecordIsRefused) {
  auto asked =
      rect_->Ask(citizen_, "Observation", record_, "wrong", "", nullptr);
  ASSERT_TRUE(asked.ok());
  json same = json::parse(Stored(record_));
  same["meta"]["tag"] = {{{"system", "https://tillit.health/source"},
                          {"code", "provider"},
                          {"display", office_}}};
  EXPECT_EQ(
      rect_->Accept(office_, asked->id, same.dump(), nullptr).status().code(),
      StatusCode::kFailedPrecondition);
  EXPECT_EQ(HistorySize(record_), 0u);
  EXPECT_EQ(rect_->PendingFor(office_)->size(), 1u);
}

}  // namespace
}  // namespace tillit::consent::service_testing
