// Proxies and guardians over real HTTP (EHDS Art 4(2)-(3), SPEC §13): a
// citizen authorises another citizen to act for them; the proxy acts with
// their own token through /v1/citizens/{citizen_id}/…, within the scope,
// period and purpose of the authorisation; the citizen's access log shows
// each access "on behalf of" them; the operator records guardianships.
// Beyond the authorisation is 403 for a citizen one represents, and 404
// for anyone else.
#include "http_fixture.h"

namespace tillit::testing {
namespace {

class ProxyTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    if (HasFatalFailure()) return;
    auditor_ = NewAuditor();
    citizen_ = NewCitizen();
    carer_ = NewCitizen();
    ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(5), citizen_.token).status,
              200);
    base_ = "/v1/citizens/" + citizen_.id;
  }

  Reply Authorise(const json& body) {
    return Post("/v1/me/proxies", body.dump(), citizen_.token);
  }
  std::string AuthoriseCarer(const json& extra = json::object()) {
    json body = {{"proxy", carer_.id}, {"access", "read"}};
    body.update(extra);
    Reply r = Authorise(body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.Json()["id"].get<std::string>() : "";
  }
  // Every record of the listing at `path` (all pages).
  std::vector<json> AllRecords(const std::string& path,
                               const std::string& token) {
    std::vector<json> out;
    std::string cursor;
    for (;;) {
      std::string p =
          path + (path.find('?') == std::string::npos ? "?" : "&") + "limit=7";
      if (!cursor.empty()) p += "&cursor=" + cursor;
      Reply r = Get(p, token);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const json page = r.Json();
      for (const json& rec : page["records"]) out.push_back(rec);
      if (page["next"].is_null()) break;
      EXPECT_EQ(page["records"].size(), 7u) << "a page with a next is full";
      cursor = page["next"];
    }
    return out;
  }
  static std::string Ref(const json& rec) {
    return rec["resourceType"].get<std::string>() + "/" +
           rec["id"].get<std::string>();
  }
  // The citizen's own record of `category`.
  json RecordOf(const std::string& category) {
    Reply r =
        Get("/v1/me/records?limit=1&category=" + category, citizen_.token);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_FALSE(r.Json()["records"].empty()) << category;
    return r.Json()["records"][0];
  }
  json AccessLog() {
    Reply r = Get("/v1/me/access-log?limit=1000", citizen_.token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["entries"];
  }
  json Reading() {
    return {
        {"resourceType", "Observation"},
        {"status", "final"},
        {"category",
         {{{"coding",
            {{{"system",
               "http://terminology.hl7.org/CodeSystem/"
               "observation-category"},
              {"code", "vital-signs"}}}}}}},
        {"code",
         {{"coding", {{{"system", "http://loinc.org"}, {"code", "29463-7"}}}}}},
        {"effectiveDateTime", "2026-03-01"},
        {"valueQuantity", {{"value", 71.5}, {"unit", "kg"}}}};
  }

  Principal auditor_;
  Principal citizen_;
  Principal carer_;
  std::string base_;
};

TEST_F(ProxyTest, AReadOnlyProxySeesOneCategoryAndNothingElse) {
  const std::string id = AuthoriseCarer(
      {{"categories", {"vital-signs"}}, {"include_sensitive", true}});
  ASSERT_EQ(id.substr(0, 3), "px_");

  Reply represented = Get("/v1/me/represented", carer_.token);
  ASSERT_EQ(represented.status, 200) << represented.body;
  ASSERT_EQ(represented.Json()["represented"].size(), 1u);
  const json r = represented.Json()["represented"][0];
  EXPECT_EQ(r["citizen_id"], citizen_.id);
  EXPECT_EQ(r["kind"], "proxy");
  EXPECT_EQ(r["access"], "read");
  EXPECT_EQ(r["categories"], json({"vital-signs"}));
  EXPECT_TRUE(r["until"].is_null());

  // Exactly the citizen's vital signs, paged as usual.
  const std::vector<json> vitals =
      AllRecords("/v1/me/records?category=vital-signs", citizen_.token);
  ASSERT_GT(vitals.size(), 7u);
  const std::vector<json> shown = AllRecords(base_ + "/records", carer_.token);
  EXPECT_EQ(shown, vitals);
  Reply summary = Get(base_, carer_.token);
  ASSERT_EQ(summary.status, 200) << summary.body;
  EXPECT_EQ(summary.Json()["records"], vitals.size());
  EXPECT_EQ(summary.Json()["by_category"],
            json({{"vital-signs", vitals.size()}}));

  // One vital sign reads; a lab result is beyond the authorisation.
  EXPECT_EQ(Get(base_ + "/records/" + Ref(vitals[0]), carer_.token).status,
            200);
  Reply lab =
      Get(base_ + "/records/" + Ref(RecordOf("lab-results")), carer_.token);
  EXPECT_EQ(lab.status, 403) << lab.body;
  EXPECT_EQ(lab.ErrorCode(), "forbidden");
  EXPECT_NE(lab.body.find("lab-results"), std::string::npos);
  EXPECT_EQ(Get(base_ + "/records?category=lab-results", carer_.token).status,
            403);

  // Read-only: no writes; settings need an authorisation for all data.
  const int64_t before = Get("/v1/me", citizen_.token).Json()["records"];
  Reply add = Post(base_ + "/records", Reading().dump(), carer_.token);
  EXPECT_EQ(add.status, 403) << add.body;
  EXPECT_NE(add.body.find("reading only"), std::string::npos) << add.body;
  EXPECT_EQ(Get("/v1/me", citizen_.token).Json()["records"], before);
  EXPECT_EQ(Get(base_ + "/consents", carer_.token).status, 403);
  EXPECT_EQ(Get(base_ + "/access-log", carer_.token).status, 403);

  // The export holds only what the proxy is shown.
  Reply exported = Get(base_ + "/export", carer_.token);
  ASSERT_EQ(exported.status, 200) << exported.body;
  EXPECT_EQ(exported.Json()["entry"].size(), vitals.size());
}

TEST_F(ProxyTest, TheCitizensLogShowsEachAccessOnTheirBehalf) {
  const std::string id = AuthoriseCarer();
  json rec = RecordOf("lab-results");
  ASSERT_EQ(Get(base_ + "/records/" + Ref(rec), carer_.token).status, 200);
  // Refused by the gate (read-only) and by the handler (a category the
  // narrowed authorisation does not cover): both are in the log.
  Reply denied = Post(base_ + "/records", Reading().dump(), carer_.token);
  ASSERT_EQ(denied.status, 403);
  ASSERT_EQ(
      Put("/v1/me/proxies/" + id,
          json({{"access", "read"}, {"categories", {"vital-signs"}}}).dump(),
          citizen_.token)
          .status,
      200);
  ASSERT_EQ(Get(base_ + "/records/" + Ref(rec), carer_.token).status, 403);

  bool read_seen = false;
  int denials = 0;
  bool authorise_seen = false;
  for (const json& e : AccessLog()) {
    if (e["action"] == "proxy.authorise") {
      authorise_seen = true;
      EXPECT_EQ(e["actor"], citizen_.id);
      EXPECT_FALSE(e.contains("on_behalf_of"));
      EXPECT_EQ(e["grants"], json({id}));
    }
    if (e["actor"] != carer_.id) continue;
    EXPECT_EQ(e["on_behalf_of"], citizen_.id) << e;
    EXPECT_EQ(e["actor_kind"], "citizen");
    if (e["action"] == "records.read") {
      read_seen = true;
      EXPECT_EQ(e["grants"], json({id}));
      EXPECT_EQ(e["categories"], json({"lab-results"}));
    }
    if (e["action"] == "proxy.denied") {
      ++denials;
      EXPECT_EQ(e["decision"], "deny");
      EXPECT_EQ(e["grants"], json({id}));
    }
  }
  EXPECT_TRUE(read_seen);
  EXPECT_EQ(denials, 2);
  EXPECT_TRUE(authorise_seen);
  // The auditor's list carries the same field.
  bool audited = false;
  for (const json& e : AuditFor(citizen_.id, auditor_.token)) {
    audited |= e["action"] == "records.read" && e["actor"] == carer_.id &&
               e["on_behalf_of"] == citizen_.id;
  }
  EXPECT_TRUE(audited);
}

TEST_F(ProxyTest, ARevokedProxyIsRefusedAtTheNextRequest) {
  const std::string id = AuthoriseCarer();
  ASSERT_EQ(Get(base_ + "/records", carer_.token).status, 200);
  Reply revoked = Delete("/v1/me/proxies/" + id, citizen_.token);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(revoked.Json()["status"], "revoked");
  Reply after = Get(base_ + "/records", carer_.token);
  EXPECT_EQ(after.status, 404) << after.body;
  EXPECT_EQ(after.ErrorCode(), "not_found");
  EXPECT_TRUE(
      Get("/v1/me/represented", carer_.token).Json()["represented"].empty());
  // Revoking twice is a conflict; the list keeps the revoked one.
  EXPECT_EQ(Delete("/v1/me/proxies/" + id, citizen_.token).status, 409);
  json list = Get("/v1/me/proxies", citizen_.token).Json()["proxies"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["status"], "revoked");
}

TEST_F(ProxyTest, AnyoneElseGets404AndThePathsOfTheCitizenAloneDoNotExist) {
  AuthoriseCarer({{"access", "read-write"}});
  Principal stranger = NewCitizen();
  EXPECT_EQ(Get(base_ + "/records", stranger.token).status, 404);
  EXPECT_EQ(Get("/v1/citizens/c_00000000000000000000000000000042/records",
                carer_.token)
                .status,
            404);
  // Acting "for" oneself is not a thing: /v1/me is the way.
  EXPECT_EQ(Get("/v1/citizens/" + carer_.id + "/records", carer_.token).status,
            404);
  // Erasure, devices and the proxies themselves are the citizen's alone.
  EXPECT_EQ(Delete(base_, carer_.token).status, 405);
  EXPECT_EQ(Get(base_ + "/devices", carer_.token).status, 404);
  EXPECT_EQ(Get(base_ + "/proxies", carer_.token).status, 404);
  // A provider's token never acts as a proxy.
  Principal provider = NewProvider();
  EXPECT_EQ(Get(base_ + "/records", provider.token).status, 403);
  // Nor does the represented citizen's list of proxies show to the proxy.
  EXPECT_TRUE(Get("/v1/me/proxies", carer_.token).Json()["proxies"].empty());
}

TEST_F(ProxyTest, AReadWriteProxyAddsAReadingTheCitizenSees) {
  AuthoriseCarer({{"access", "read-write"}});
  Reply added = Post(base_ + "/records", Reading().dump(), carer_.token);
  ASSERT_EQ(added.status, 201) << added.body;
  const std::string ref = Ref(added.Json());
  Reply mine = Get("/v1/me/records/" + ref, citizen_.token);
  ASSERT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.Json()["valueQuantity"]["value"], 71.5);
  // And corrects it, keeping the earlier version.
  json changed = Reading();
  changed["valueQuantity"]["value"] = 70.9;
  Reply corrected =
      Put(base_ + "/records/" + ref, changed.dump(), carer_.token);
  ASSERT_EQ(corrected.status, 200) << corrected.body;
  Reply history = Get("/v1/me/records/" + ref + "/history", citizen_.token);
  EXPECT_EQ(history.Json()["versions"].size(), 1u);
}

TEST_F(ProxyTest, SensitiveRecordsStayOutOfEveryAnswerUnlessIncluded) {
  // A depression diagnosis (SNOMED 35489007) is a sensitive record.
  Reply added = Post(
      "/v1/me/records",
      json(
          {{"resourceType", "Condition"},
           {"code",
            {{"coding",
              {{{"system", "http://snomed.info/sct"}, {"code", "35489007"}}}}}},
           {"onsetDateTime", "2025-05-01"}})
          .dump(),
      citizen_.token);
  ASSERT_EQ(added.status, 201) << added.body;
  const std::string ref = Ref(added.Json());
  const std::string id = AuthoriseCarer();
  EXPECT_EQ(Get(base_ + "/records/" + ref, carer_.token).status, 404);
  const int64_t all = Get("/v1/me", citizen_.token).Json()["records"];
  const std::vector<json> shown = AllRecords(base_ + "/records", carer_.token);
  for (const json& rec : shown) EXPECT_NE(Ref(rec), ref);
  EXPECT_EQ(Get(base_, carer_.token).Json()["records"], shown.size());
  EXPECT_LT(static_cast<int64_t>(shown.size()), all);
  Reply exported = Get(base_ + "/export", carer_.token);
  ASSERT_EQ(exported.status, 200);
  EXPECT_EQ(exported.body.find("35489007"), std::string::npos);
  EXPECT_EQ(exported.Json()["entry"].size(), shown.size());

  ASSERT_EQ(Put("/v1/me/proxies/" + id,
                json({{"access", "read"}, {"include_sensitive", true}}).dump(),
                citizen_.token)
                .status,
            200);
  EXPECT_EQ(Get(base_ + "/records/" + ref, carer_.token).status, 200);
}

TEST_F(ProxyTest, AnEarlierVersionOutsideTheScopeIsNotShown) {
  // The citizen entered a lab value, then corrected it into a vital sign.
  json lab = Reading();
  lab["category"][0]["coding"][0]["code"] = "laboratory";
  Reply added = Post("/v1/me/records", lab.dump(), citizen_.token);
  ASSERT_EQ(added.status, 201) << added.body;
  const std::string ref = Ref(added.Json());
  ASSERT_EQ(
      Put("/v1/me/records/" + ref, Reading().dump(), citizen_.token).status,
      200);
  ASSERT_EQ(Get("/v1/me/records/" + ref + "/history", citizen_.token)
                .Json()["versions"]
                .size(),
            1u);
  AuthoriseCarer({{"categories", {"vital-signs"}}});
  Reply history = Get(base_ + "/records/" + ref + "/history", carer_.token);
  ASSERT_EQ(history.status, 200) << history.body;
  EXPECT_TRUE(history.Json()["versions"].empty()) << history.body;
}

TEST_F(ProxyTest, RestrictedAndSensitiveRecordsStayHiddenUnlessIncluded) {
  json hidden = RecordOf("lab-results");
  ASSERT_EQ(
      Put("/v1/me/restrictions",
          json({{"categories", json::array()}, {"records", {Ref(hidden)}}})
              .dump(),
          citizen_.token)
          .status,
      200);
  const std::string id = AuthoriseCarer();
  EXPECT_EQ(Get(base_ + "/records/" + Ref(hidden), carer_.token).status, 404);
  for (const json& rec : AllRecords(base_ + "/records", carer_.token)) {
    EXPECT_NE(Ref(rec), Ref(hidden));
  }
  Reply widened =
      Put("/v1/me/proxies/" + id,
          json({{"access", "read"}, {"include_restricted", true}}).dump(),
          citizen_.token);
  ASSERT_EQ(widened.status, 200) << widened.body;
  EXPECT_TRUE(widened.Json()["include_restricted"]);
  EXPECT_EQ(Get(base_ + "/records/" + Ref(hidden), carer_.token).status, 200);
}

TEST_F(ProxyTest, APurposeBoundProxyStatesItsPurposeAndTheLogKeepsIt) {
  AuthoriseCarer({{"purpose", "dialysis-care"}});
  Reply silent = Get(base_ + "/records", carer_.token);
  EXPECT_EQ(silent.status, 403) << silent.body;
  EXPECT_NE(silent.body.find("Tillit-Purpose"), std::string::npos);

  httplib::Headers headers = Auth(carer_.token);
  headers.emplace("Tillit-Purpose", "dialysis-care");
  auto ok = Client()->Get((base_ + "/records").c_str(), headers);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  headers.erase("Tillit-Purpose");
  headers.emplace("Tillit-Purpose", "two words");
  auto bad = Client()->Get((base_ + "/records").c_str(), headers);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400) << bad->body;

  bool stated = false;
  for (const json& e : AccessLog()) {
    stated |= e["action"] == "records.list" && e["actor"] == carer_.id &&
              e["purpose"] == "dialysis-care";
  }
  EXPECT_TRUE(stated);
}

TEST_F(ProxyTest, BadAuthorisationsAreRefusedWithNothingStoredOrLogged) {
  const uint64_t before = AuditSize();
  struct Case {
    json body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"proxy", carer_.id}}, 400, "access: required"},
      {{{"proxy", carer_.id}, {"access", "all"}}, 400, "access: must be"},
      {{{"proxy", citizen_.id}, {"access", "read"}}, 400, "yourself"},
      {{{"proxy", "c_00000000000000000000000000000099"}, {"access", "read"}},
       400,
       "proxy: no such citizen"},
      {{{"proxy", carer_.id}, {"access", "read"}, {"until", "2001-01-01"}},
       400,
       "until: must not be past"},
  };
  for (const Case& c : cases) {
    Reply r = Authorise(c.body);
    EXPECT_EQ(r.status, c.status) << c.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << r.body;
  }
  EXPECT_EQ(AuditSize(), before);
  EXPECT_TRUE(Get("/v1/me/proxies", citizen_.token).Json()["proxies"].empty());

  AuthoriseCarer();
  Reply twice = Authorise({{"proxy", carer_.id}, {"access", "read-write"}});
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(Put("/v1/me/proxies/px_00000000000000000000000000000001",
                json({{"access", "read"}}).dump(), citizen_.token)
                .status,
            404);
  EXPECT_EQ(Put("/v1/me/proxies/px_00000000000000000000000000000001",
                json({{"proxy", carer_.id}, {"access", "read"}}).dump(),
                citizen_.token)
                .status,
            400);
}

TEST_F(ProxyTest, WithoutTheAuditLogNothingIsAuthorisedOrRead) {
  server_->FailAuditWriteForTesting(1);
  Reply refused = Authorise({{"proxy", carer_.id}, {"access", "read"}});
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.ErrorCode(), "audit_unavailable");
  EXPECT_TRUE(Get("/v1/me/proxies", citizen_.token).Json()["proxies"].empty());

  AuthoriseCarer();
  json rec = RecordOf("lab-results");
  server_->FailAuditWriteForTesting(1);
  Reply read = Get(base_ + "/records/" + Ref(rec), carer_.token);
  EXPECT_EQ(read.status, 503) << read.body;
  EXPECT_EQ(read.body.find(rec["id"].get<std::string>()), std::string::npos);
}

TEST_F(ProxyTest, AGuardianManagesTheSettingsUntilTheOperatorEndsIt) {
  Reply recorded = Post("/v1/admin/guardianships",
                        json({{"guardian", carer_.id},
                              {"citizen", citizen_.id},
                              {"start", "2020-01-01"},
                              {"end", nullptr}})
                            .dump(),
                        admin_);
  ASSERT_EQ(recorded.status, 201) << recorded.body;
  const std::string id = recorded.Json()["id"];
  EXPECT_EQ(id.substr(0, 3), "gd_");
  EXPECT_EQ(recorded.Json()["kind"], "guardian");
  EXPECT_EQ(recorded.Json()["access"], "read-write");

  // The guardian sees and changes settings, as the citizen would.
  EXPECT_EQ(Get(base_ + "/consents", carer_.token).status, 200);
  Reply opt = Put(base_ + "/research-opt-out",
                  json({{"opted_out", true}}).dump(), carer_.token);
  ASSERT_EQ(opt.status, 200) << opt.body;
  EXPECT_EQ(Get("/v1/me/research-opt-out", citizen_.token).Json()["opted_out"],
            true);

  // The citizen sees it and cannot revoke it: it is the operator's.
  json list = Get("/v1/me/proxies", citizen_.token).Json()["proxies"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["kind"], "guardian");
  EXPECT_EQ(list[0]["start"], "2020-01-01");
  EXPECT_EQ(Delete("/v1/me/proxies/" + id, citizen_.token).status, 409);

  // Only the operator records or ends guardianships.
  EXPECT_EQ(Post("/v1/admin/guardianships", recorded.body, carer_.token).status,
            403);
  Reply ended = Delete("/v1/admin/guardianships/" + id, admin_);
  ASSERT_EQ(ended.status, 200) << ended.body;
  EXPECT_EQ(ended.Json()["status"], "ended");
  EXPECT_EQ(Get(base_ + "/consents", carer_.token).status, 404);
  EXPECT_EQ(
      Get("/v1/me/proxies", citizen_.token).Json()["proxies"][0]["status"],
      "ended");
  EXPECT_EQ(Delete("/v1/admin/guardianships/" + id, admin_).status, 404);
  bool logged = false;
  for (const json& e : AccessLog()) {
    logged |=
        e["action"] == "guardianship.end" && e["actor_kind"] == "operator";
  }
  EXPECT_TRUE(logged);
}

TEST_F(ProxyTest, AGuardianshipThatHasNotStartedGrantsNothingYet) {
  Reply recorded = Post("/v1/admin/guardianships",
                        json({{"guardian", carer_.id},
                              {"citizen", citizen_.id},
                              {"start", "2099-01-01"}})
                            .dump(),
                        admin_);
  ASSERT_EQ(recorded.status, 201) << recorded.body;
  EXPECT_EQ(recorded.Json()["status"], "scheduled");
  EXPECT_EQ(Get(base_ + "/records", carer_.token).status, 404);
  Reply bad = Post("/v1/admin/guardianships",
                   json({{"guardian", carer_.id},
                         {"citizen", "c_00000000000000000000000000000077"},
                         {"start", "2020-01-01"}})
                       .dump(),
                   admin_);
  EXPECT_EQ(bad.status, 404) << bad.body;
}

// Where national rules hide some of a dependent's data from a guardian.
class HiddenFromGuardiansTest : public ProxyTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.guardian_hidden_categories =
        consent::CategoryBit(fhir::Category::kLabResults);
  }
};

TEST_F(HiddenFromGuardiansTest, AGuardianNeverSeesTheHiddenCategory) {
  ASSERT_EQ(Post("/v1/admin/guardianships",
                 json({{"guardian", carer_.id},
                       {"citizen", citizen_.id},
                       {"start", "2020-01-01"}})
                     .dump(),
                 admin_)
                .status,
            201);
  const std::vector<json> shown = AllRecords(base_ + "/records", carer_.token);
  ASSERT_FALSE(shown.empty());
  const std::vector<json> all = AllRecords("/v1/me/records", citizen_.token);
  const std::vector<json> labs =
      AllRecords("/v1/me/records?category=lab-results", citizen_.token);
  EXPECT_EQ(shown.size() + labs.size(), all.size());
  EXPECT_EQ(
      Get(base_ + "/records/" + Ref(RecordOf("lab-results")), carer_.token)
          .status,
      403);
  // The settings would show the hidden category (counts, the log's
  // categories): a guardian does not see them where one is hidden.
  EXPECT_EQ(Get(base_ + "/access-log", carer_.token).status, 403);
  EXPECT_EQ(Post(base_ + "/consents/preview",
                 R"({"grantee": {"kind": "any-researcher"},
                     "purposes": ["DUO:0000006"],
                     "categories": ["lab-results"]})",
                 carer_.token)
                .status,
            403);
  // A proxy the citizen chose is not a guardian: the setting is not theirs.
  Principal friend_ = NewCitizen();
  ASSERT_EQ(Authorise({{"proxy", friend_.id},
                       {"access", "read"},
                       {"include_sensitive", true}})
                .status,
            201);
  EXPECT_EQ(AllRecords(base_ + "/records", friend_.token).size(), all.size());
}

}  // namespace
}  // namespace tillit::testing
