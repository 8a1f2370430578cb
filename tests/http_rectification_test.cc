// Rectification over real HTTP (EHDS Art 6, SPEC §13): the citizen asks,
// the provider who answers for the record lists and decides, the citizen
// sees the outcome and the record's history; citizen-entered records are
// corrected directly. Every refusal stores nothing; the audit log failing
// means nothing happens.
#include <set>

#include "http_fixture.h"
#include "tillit/fhir/fhir.h"

namespace tillit::testing {
namespace {

constexpr char kSourceSystem[] = "https://tillit.health/source";

class RectificationTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.rectification_provider = office_id_;
  }
  void SetUp() override {
    // The records office is registered before the server starts, so its
    // id can be the server's setting.
    HttpTest::SetUp();
    if (HasFatalFailure()) return;
    office_ = NewProvider("Records office");
    office_id_ = office_.id;
    StopServer();
    StartServer();
    other_ = NewProvider("Another hospital");
    auditor_ = NewAuditor();
    citizen_ = NewCitizen();
    // The region's records (the operator's import): the citizen's own
    // imports are theirs to correct directly.
    auto imported = vault_->Import(SyntheticBundle(3),
                                   vault::ImportFormat::kJson, citizen_.id);
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    json first = Get("/v1/me/records?type=Observation&limit=1", citizen_.token)
                     .Json()["records"][0];
    record_ = first;
    path_ = "/v1/me/records/Observation/" + first["id"].get<std::string>();
  }

  Reply Ask(const json& body, const std::string& path = "") {
    return Post((path.empty() ? path_ : path) + "/rectification-requests",
                body.dump(), citizen_.token);
  }
  Reply Decide(const std::string& id, const json& body,
               const std::string& token) {
    return Post("/v1/rectification-requests/" + id + "/decision", body.dump(),
                token);
  }
  json Corrected(double value) {
    json r = record_;
    r.erase("id");
    r["valueQuantity"] = {{"value", value}, {"unit", "mmol/L"}};
    return r;
  }

  Principal office_;
  std::string office_id_;
  Principal other_;
  Principal auditor_;
  Principal citizen_;
  json record_;
  std::string path_;
};

// The corrected record is stored as the provider wrote it: FHIR decimals
// keep their digits ("5.40" is not "5.4").
TEST_F(RectificationTest, TheCorrectedRecordKeepsItsDecimalsAsWritten) {
  Reply asked = Ask({{"reason", "The precision was lost"}});
  ASSERT_EQ(asked.status, 201) << asked.body;
  const std::string id = asked.Json()["id"];
  std::string resource = Corrected(5.4).dump();
  const std::string written = "\"value\":5.4";
  ASSERT_NE(resource.find(written), std::string::npos) << resource;
  resource.replace(resource.find(written), written.size(), "\"value\":5.40");
  Reply accepted =
      Post("/v1/rectification-requests/" + id + "/decision",
           "{\"decision\": \"accept\",\n \"resource\": " + resource + "}",
           office_.token);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  Reply now = Get(path_, citizen_.token);
  EXPECT_NE(now.body.find("\"value\":5.40"), std::string::npos) << now.body;
  EXPECT_EQ(now.Json()["meta"]["tag"][0]["display"], office_.id);
}

TEST_F(RectificationTest, AskListAcceptAndTheCitizenSeesTheOutcomeAndHistory) {
  Reply asked = Ask({{"reason", "This was measured on someone else"}});
  ASSERT_EQ(asked.status, 201) << asked.body;
  const json request = asked.Json();
  const std::string id = request["id"];
  EXPECT_EQ(id.rfind("rr_", 0), 0u);
  EXPECT_EQ(request["status"], "pending");
  EXPECT_EQ(request["provider"], office_.id);
  EXPECT_EQ(request["citizen"], citizen_.id);
  EXPECT_EQ(request["record"],
            "Observation/" + record_["id"].get<std::string>());

  // Routed to the records office only.
  Reply pending = Get("/v1/rectification-requests", office_.token);
  ASSERT_EQ(pending.status, 200) << pending.body;
  ASSERT_EQ(pending.Json()["requests"].size(), 1u);
  EXPECT_EQ(pending.Json()["requests"][0]["reason"],
            "This was measured on someone else");
  EXPECT_TRUE(Get("/v1/rectification-requests", other_.token)
                  .Json()["requests"]
                  .empty());
  Reply stranger = Decide(
      id, {{"decision", "accept"}, {"resource", Corrected(5)}}, other_.token);
  EXPECT_EQ(stranger.status, 404) << stranger.body;

  // Claiming to be the citizen's entry does not make it one.
  json fixed = Corrected(5.4);
  fixed["meta"]["tag"] = {{{"system", kSourceSystem}, {"code", "citizen"}}};
  Reply accepted =
      Decide(id, {{"decision", "accept"}, {"resource", fixed}}, office_.token);
  ASSERT_EQ(accepted.status, 200) << accepted.body;
  EXPECT_EQ(accepted.Json()["status"], "accepted");
  EXPECT_TRUE(accepted.Json().contains("decided_at"));

  // The citizen reads the corrected record, its earlier version and the
  // outcome.
  Reply now = Get(path_, citizen_.token);
  ASSERT_EQ(now.status, 200);
  EXPECT_EQ(now.Json()["valueQuantity"]["value"], 5.4);
  EXPECT_EQ(now.Json()["meta"]["tag"], json({{{"system", kSourceSystem},
                                              {"code", "provider"},
                                              {"display", office_.id}}}));
  // ... and the citizen cannot edit it as their own.
  EXPECT_EQ(Put(path_, Corrected(1).dump(), citizen_.token).status, 409);
  // Importing the same records again does not undo the correction.
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(3), citizen_.token).status,
            200);
  EXPECT_EQ(Get(path_, citizen_.token).Json()["valueQuantity"]["value"], 5.4);
  Reply history = Get(path_ + "/history", citizen_.token);
  ASSERT_EQ(history.status, 200) << history.body;
  ASSERT_EQ(history.Json()["versions"].size(), 1u);
  const json old = history.Json()["versions"][0];
  EXPECT_EQ(old["resource"], record_);
  EXPECT_EQ(old["source"], "import");
  EXPECT_EQ(old["superseded_by"], office_.id);
  EXPECT_EQ(old["note"], "rectification " + id);
  Reply mine = Get("/v1/rectification-requests", citizen_.token);
  ASSERT_EQ(mine.status, 200);
  ASSERT_EQ(mine.Json()["requests"].size(), 1u);
  EXPECT_EQ(mine.Json()["requests"][0]["status"], "accepted");
  EXPECT_TRUE(Get("/v1/rectification-requests", office_.token)
                  .Json()["requests"]
                  .empty());
  // Decided once.
  EXPECT_EQ(
      Decide(id, {{"decision", "decline"}, {"reason", "x"}}, office_.token)
          .status,
      404);

  // The citizen's access log shows who listed and who corrected.
  std::set<std::string> actions;
  for (const json& e : AuditFor(citizen_.id, auditor_.token)) {
    if (e["actor"] == office_.id) actions.insert(e["action"]);
  }
  EXPECT_EQ(actions, (std::set<std::string>{"rectification.list",
                                            "rectification.accept"}));
}

TEST_F(RectificationTest, ADeclineKeepsTheRecordAndGivesTheReason) {
  Reply asked = Ask({{"reason", "wrong"}, {"proposed", Corrected(1)}});
  ASSERT_EQ(asked.status, 201) << asked.body;
  EXPECT_EQ(asked.Json()["proposed"]["valueQuantity"]["value"], 1);
  const std::string id = asked.Json()["id"];
  for (const json& bad :
       {json{{"decision", "decline"}},
        json{{"decision", "decline"}, {"reason", ""}},
        json{{"decision", "maybe"}}, json{{"decision", "accept"}},
        json{{"decision", "accept"}, {"resource", "text"}},
        json{{"decision", "accept"},
             {"resource", {{"resourceType", "Condition"}}}},
        json{{"decision", "decline"}, {"reason", "r"}, {"extra", 1}}}) {
    Reply r = Decide(id, bad, office_.token);
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.body;
  }
  Reply declined = Decide(
      id, {{"decision", "decline"}, {"reason", "Checked: the value is right"}},
      office_.token);
  ASSERT_EQ(declined.status, 200) << declined.body;
  EXPECT_EQ(declined.Json()["decision_reason"], "Checked: the value is right");
  EXPECT_EQ(Get(path_, citizen_.token).Json(), record_);
  EXPECT_TRUE(
      Get(path_ + "/history", citizen_.token).Json()["versions"].empty());
  EXPECT_EQ(Get("/v1/rectification-requests", citizen_.token)
                .Json()["requests"][0]["status"],
            "declined");
}

TEST_F(RectificationTest, BadRequestsAreRefusedAndStoreNothing) {
  const uint64_t before = AuditSize();
  for (const json& bad :
       {json::object(), json{{"reason", ""}}, json{{"reason", "  "}},
        json{{"reason", 7}}, json{{"reason", std::string(1001, 'x')}},
        json{{"reason", "r"}, {"extra", true}},
        json{{"reason", "r"}, {"proposed", "text"}},
        json{{"reason", "r"}, {"proposed", {{"resourceType", "Condition"}}}},
        json{{"reason", "r"},
             {"proposed", {{"resourceType", "Observation"}, {"id", "other"}}}},
        json::array()}) {
    Reply r = Ask(bad);
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.body;
  }
  EXPECT_EQ(Ask({{"reason", "r"}}, "/v1/me/records/Observation/nope").status,
            404);
  EXPECT_EQ(AuditSize(), before);  // bad input leaves no trace
  EXPECT_TRUE(Get("/v1/rectification-requests", citizen_.token)
                  .Json()["requests"]
                  .empty());

  ASSERT_EQ(Ask({{"reason", "first"}}).status, 201);
  Reply twice = Ask({{"reason", "second"}});
  EXPECT_EQ(twice.status, 409) << twice.body;

  // Only citizens ask; only providers decide; researchers see nothing.
  EXPECT_EQ(Post(path_ + "/rectification-requests", R"({"reason":"r"})",
                 office_.token)
                .status,
            403);
  EXPECT_EQ(Decide("rr_0000000000000000",
                   {{"decision", "decline"}, {"reason", "r"}}, citizen_.token)
                .status,
            403);
  EXPECT_EQ(Get("/v1/rectification-requests", auditor_.token).status, 403);
  EXPECT_EQ(Get("/v1/rectification-requests", "").status, 401);
}

TEST_F(RectificationTest, AProviderPushedRecordGoesToThatProvider) {
  ASSERT_TRUE(
      consents_
          ->AddGrant(citizen_.id, json{{"grantee", {{"kind", "any-provider"}}},
                                       {"purposes", {"DUO:0000043"}},
                                       {"categories", {"lab-results"}}}
                                      .dump())
          .ok());
  json lab = {
      {"resourceType", "Observation"},
      {"id", "pushed-1"},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/"
             "observation-category"},
            {"code", "laboratory"}}}}}}},
      {"code",
       {{"coding", {{{"system", "http://loinc.org"}, {"code", "4548-4"}}}}}},
      {"effectiveDateTime", "2021-03-04T10:00:00Z"}};
  Reply push = Post("/v1/patients/" + citizen_.id + "/records", lab.dump(),
                    other_.token);
  ASSERT_EQ(push.status, 201) << push.body;
  Reply asked =
      Ask({{"reason", "not my test"}}, "/v1/me/records/Observation/pushed-1");
  ASSERT_EQ(asked.status, 201) << asked.body;
  EXPECT_EQ(asked.Json()["provider"], other_.id);
  EXPECT_EQ(
      Get("/v1/rectification-requests", other_.token).Json()["requests"].size(),
      1u);
  EXPECT_TRUE(Get("/v1/rectification-requests", office_.token)
                  .Json()["requests"]
                  .empty());
  // What the provider stored already is no correction.
  Reply same =
      Decide(asked.Json()["id"], {{"decision", "accept"}, {"resource", lab}},
             other_.token);
  EXPECT_EQ(same.status, 409) << same.body;
  EXPECT_EQ(
      Get("/v1/rectification-requests", other_.token).Json()["requests"].size(),
      1u);
}

TEST_F(RectificationTest, TheCitizenCorrectsWhatTheyEnteredDirectly) {
  json entry = {{"resourceType", "Observation"},
                {"status", "final"},
                {"code", {{"text", "Pulse"}}},
                {"effectiveDateTime", "2024-02-01"},
                {"valueQuantity", {{"value", 60}, {"unit", "/min"}}}};
  Reply added = Post("/v1/me/records", entry.dump(), citizen_.token);
  ASSERT_EQ(added.status, 201) << added.body;
  const std::string id = added.Json()["id"];
  const std::string path = "/v1/me/records/Observation/" + id;

  // Through a request, no: directly.
  EXPECT_EQ(Ask({{"reason", "typo"}}, path).status, 409);
  entry["valueQuantity"]["value"] = 66;
  Reply fixed = Put(path, entry.dump(), citizen_.token);
  ASSERT_EQ(fixed.status, 200) << fixed.body;
  EXPECT_EQ(fixed.Json()["valueQuantity"]["value"], 66);
  EXPECT_EQ(fixed.Json()["id"], id);
  EXPECT_EQ(fixed.Json()["meta"]["tag"][0]["system"], kSourceSystem);
  EXPECT_EQ(Get(path, citizen_.token).Json()["valueQuantity"]["value"], 66);
  Reply history = Get(path + "/history", citizen_.token);
  ASSERT_EQ(history.Json()["versions"].size(), 1u);
  EXPECT_EQ(history.Json()["versions"][0]["resource"]["valueQuantity"]["value"],
            60);
  EXPECT_EQ(history.Json()["versions"][0]["superseded_by"], "citizen");
  // The same again changes nothing.
  ASSERT_EQ(Put(path, entry.dump(), citizen_.token).status, 200);
  EXPECT_EQ(Get(path + "/history", citizen_.token).Json()["versions"].size(),
            1u);

  // Refusals: another type or id, an imported record, no such record.
  json wrong = entry;
  wrong["resourceType"] = "Condition";
  EXPECT_EQ(Put(path, wrong.dump(), citizen_.token).status, 400);
  wrong = entry;
  wrong["id"] = "other";
  EXPECT_EQ(Put(path, wrong.dump(), citizen_.token).status, 400);
  Reply imported = Put(path_, Corrected(2).dump(), citizen_.token);
  EXPECT_EQ(imported.status, 409) << imported.body;
  EXPECT_EQ(Get(path_, citizen_.token).Json(), record_);
  EXPECT_EQ(Put("/v1/me/records/Observation/nope", entry.dump(), citizen_.token)
                .status,
            404);
  EXPECT_EQ(
      Get("/v1/me/records/Observation/nope/history", citizen_.token).status,
      404);
}

TEST_F(RectificationTest, NothingHappensWhenTheAuditLogCannotBeWritten) {
  server_->FailAuditWriteForTesting(1);
  EXPECT_EQ(Ask({{"reason", "r"}}).status, 503);
  EXPECT_TRUE(Get("/v1/rectification-requests", citizen_.token)
                  .Json()["requests"]
                  .empty());
  Reply asked = Ask({{"reason", "r"}});
  ASSERT_EQ(asked.status, 201) << asked.body;
  const std::string id = asked.Json()["id"];
  server_->FailAuditWriteForTesting(1);
  EXPECT_EQ(Decide(id, {{"decision", "accept"}, {"resource", Corrected(9)}},
                   office_.token)
                .status,
            503);
  EXPECT_EQ(Get(path_, citizen_.token).Json(), record_);
  server_->FailAuditWriteForTesting(1);
  Reply listed = Get("/v1/rectification-requests", office_.token);
  EXPECT_EQ(listed.status, 503);
  EXPECT_EQ(listed.body.find(id), std::string::npos);
  EXPECT_EQ(Get("/v1/rectification-requests", office_.token)
                .Json()["requests"]
                .size(),
            1u);
}

// Without a provider named for imported records, nobody can take them.
class NoRecordsOfficeTest : public RectificationTest {
 protected:
  void Configure(api::ServerOptions&) override {}
};

TEST_F(NoRecordsOfficeTest, ImportedRecordsCannotBeRectified) {
  Reply r = Ask({{"reason", "wrong"}});
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(
      r.Json()["error"]["message"].get<std::string>().find("imported records"),
      std::string::npos);
  EXPECT_TRUE(Get("/v1/rectification-requests", citizen_.token)
                  .Json()["requests"]
                  .empty());
}

}  // namespace
}  // namespace tillit::testing
