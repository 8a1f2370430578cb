// Care-provider routes over real HTTP: primary use filtered by grants,
// restrictions and sensitivity; push; break-glass; fail-closed audit.
#include <cctype>
#include <map>
#include <set>

#include "http_fixture.h"
#include "tillit/base/clock.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/fhir/fhir.h"

namespace tillit::testing {
namespace {

constexpr char kNobody[] = "c_00000000000000000000000000000000";
constexpr char kSourceSystem[] = "https://tillit.health/source";

json ProviderGrant(const std::vector<std::string>& categories,
                   const std::string& provider = "",
                   bool include_sensitive = false) {
  json grantee = provider.empty()
                     ? json{{"kind", "any-provider"}}
                     : json{{"kind", "provider"}, {"id", provider}};
  return {{"grantee", grantee},
          {"purposes", {"DUO:0000043"}},
          {"categories", categories},
          {"include_sensitive", include_sensitive}};
}

// A depressive-disorder Condition: sensitive (docs/SENSITIVE_CODES.md).
json SensitiveCondition(const std::string& id) {
  return {{"resourceType", "Condition"},
          {"id", id},
          {"code",
           {{"coding",
             {{{"system", "http://snomed.info/sct"}, {"code", "35489007"}}}}}},
          {"recordedDate", "2020-05-01"}};
}

json LabObservation(const std::string& id) {
  return {
      {"resourceType", "Observation"},
      {"id", id},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/observation-category"},
            {"code", "laboratory"}}}}}}},
      {"code",
       {{"coding", {{{"system", "http://loinc.org"}, {"code", "4548-4"}}}}}},
      {"effectiveDateTime", "2021-03-04T10:00:00Z"},
      {"valueQuantity", {{"value", 6.1}, {"unit", "%"}}}};
}

std::string CategoryOf(const json& resource) {
  auto parsed = fhir::ParseFhirResource(resource.dump());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  if (!parsed.ok()) return "";
  return std::string(fhir::CategoryName(parsed->category));
}

std::string Ref(const json& resource) {
  return resource["resourceType"].get<std::string>() + "/" +
         resource["id"].get<std::string>();
}

class ProviderTest : public HttpTest {
 protected:
  void SetUp() override {
    HttpTest::SetUp();
    if (HasFatalFailure()) return;
    auditor_ = NewAuditor();
  }

  // A citizen with a synthetic record set.
  std::string ImportedCitizen(uint64_t index = 0) {
    auto out =
        vault_->Import(SyntheticBundle(index), vault::ImportFormat::kJson);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->citizen_id : "";
  }
  void AddRecord(const std::string& citizen, const json& resource) {
    auto out = vault_->Import(resource.dump(), vault::ImportFormat::kJson,
                              citizen, "import");
    ASSERT_TRUE(out.ok()) << out.status().ToString();
  }
  std::string Grant(const std::string& citizen, const json& grant) {
    auto g = consents_->AddGrant(citizen, grant.dump());
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? g->id : "";
  }
  void Restrict(const std::string& citizen, const json& restrictions) {
    auto r = consents_->SetRestrictions(citizen, restrictions.dump());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // Records that are not sensitive, by category, and their total ("").
  std::map<std::string, int64_t> CountsByCategory(const std::string& citizen) {
    std::map<std::string, int64_t> out;
    auto store = vault_->OpenCitizen(citizen);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return out;
    auto meta = (*store)->ListRecordMeta();
    EXPECT_TRUE(meta.ok());
    if (!meta.ok()) return out;
    for (const vault::RecordMeta& m : *meta) {
      if (m.sensitive) continue;
      ++out[std::string(fhir::CategoryName(m.category))];
      ++out[""];
    }
    return out;
  }

  static std::string RecordsPath(const std::string& citizen,
                                 const std::string& query = "") {
    return "/v1/patients/" + citizen + "/records" +
           (query.empty() ? "" : "?" + query);
  }

  // Every record of a listing, following `next`; checks that each page
  // but the last is full.
  std::vector<json> ListAll(const std::string& citizen,
                            const std::string& token, size_t limit,
                            const std::string& query = "") {
    std::vector<json> out;
    std::string cursor;
    for (int pages = 0; pages < 1000; ++pages) {
      std::string q = "limit=" + std::to_string(limit);
      if (!query.empty()) q += "&" + query;
      if (!cursor.empty()) q += "&cursor=" + cursor;
      Reply r = Get(RecordsPath(citizen, q), token);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      json j = r.Json();
      EXPECT_TRUE(j["records"].is_array());
      for (const json& rec : j["records"]) out.push_back(rec);
      // A page reached through `next` is never empty.
      if (!cursor.empty()) {
        EXPECT_FALSE(j["records"].empty()) << r.body;
      }
      if (j["next"].is_null()) {
        EXPECT_LE(j["records"].size(), limit);
        break;
      }
      // A page with a next is full: hidden records never show as gaps.
      EXPECT_EQ(j["records"].size(), limit) << r.body;
      cursor = j["next"];
    }
    return out;
  }

  Principal auditor_;
};

TEST_F(ProviderTest, WithoutAGrantTheCitizenLooksUnknownAndTheDenyIsLogged) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  Reply unknown = Get(RecordsPath(kNobody), p.token);
  EXPECT_EQ(unknown.status, 404);
  Reply list = Get(RecordsPath(c), p.token);
  EXPECT_EQ(list.status, 404);
  EXPECT_EQ(list.ErrorCode(), "not_found");
  EXPECT_EQ(list.Json()["error"]["message"],
            unknown.Json()["error"]["message"]);
  Reply read = Get(RecordsPath(c) + "/Patient/x", p.token);
  EXPECT_EQ(read.status, 404);
  EXPECT_EQ(read.Json()["error"]["message"],
            unknown.Json()["error"]["message"]);
  Reply garbage = Get(RecordsPath("not-an-id"), p.token);
  EXPECT_EQ(garbage.status, 404);

  std::vector<json> entries = AuditFor(c, auditor_.token);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0]["action"], "records.list");
  EXPECT_EQ(entries[0]["decision"], "deny");
  EXPECT_EQ(entries[0]["actor"], p.id);
  EXPECT_EQ(entries[0]["actor_kind"], "provider");
  EXPECT_TRUE(entries[0]["grants"].empty());
  EXPECT_EQ(entries[1]["action"], "records.read");
  EXPECT_EQ(entries[1]["decision"], "deny");

  // An unknown citizen writes nothing.
  const uint64_t before = AuditSize();
  EXPECT_EQ(Get(RecordsPath(kNobody), p.token).status, 404);
  EXPECT_EQ(Get(RecordsPath(kNobody) + "/Observation/x", p.token).status, 404);
  EXPECT_EQ(AuditSize(), before);
  // Other principals may not use the route at all.
  Principal citizen = NewCitizen();
  EXPECT_EQ(Get(RecordsPath(c), citizen.token).status, 403);
}

TEST_F(ProviderTest, ListingShowsOnlyGrantedCategoriesAcrossPages) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  const std::string g = Grant(c, ProviderGrant({"lab-results", "vital-signs"}));
  std::map<std::string, int64_t> counts = CountsByCategory(c);
  const int64_t expected = counts["lab-results"] + counts["vital-signs"];
  ASSERT_GT(counts["lab-results"], 0);
  ASSERT_GT(counts["patient-summary"], 0);

  std::vector<json> all = ListAll(c, p.token, 7);
  EXPECT_EQ(static_cast<int64_t>(all.size()), expected);
  std::set<std::string> refs;
  for (const json& r : all) {
    const std::string category = CategoryOf(r);
    EXPECT_TRUE(category == "lab-results" || category == "vital-signs")
        << category;
    refs.insert(Ref(r));
  }
  EXPECT_EQ(refs.size(), all.size());  // no record twice across pages

  // One category.
  std::vector<json> labs = ListAll(c, p.token, 1000, "category=lab-results");
  EXPECT_EQ(static_cast<int64_t>(labs.size()), counts["lab-results"]);
  // A category no grant covers is simply not released.
  Reply none = Get(RecordsPath(c, "category=imaging"), p.token);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.Json()["records"].empty());
  EXPECT_TRUE(none.Json()["next"].is_null());
  // Type and date filters narrow further.
  std::vector<json> obs = ListAll(c, p.token, 50, "type=Observation");
  EXPECT_EQ(obs.size(), all.size());
  Reply future = Get(RecordsPath(c, "since=2100-01-01"), p.token);
  ASSERT_EQ(future.status, 200);
  EXPECT_TRUE(future.Json()["records"].empty());

  // The permit is logged with the grant that gave it.
  std::vector<json> entries = AuditFor(c, auditor_.token);
  ASSERT_FALSE(entries.empty());
  const json& first = entries.front();
  EXPECT_EQ(first["action"], "records.list");
  EXPECT_EQ(first["decision"], "permit");
  EXPECT_EQ(first["grants"], json::array({g}));
  EXPECT_EQ(first["purpose"], "DUO:0000043");
  EXPECT_EQ(first["categories"], json({"lab-results", "vital-signs"}));
}

TEST_F(ProviderTest, RestrictionsHideCategoriesAndRecordsSilently) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  Grant(c, ProviderGrant({"lab-results", "vital-signs", "encounters"}));
  std::map<std::string, int64_t> counts = CountsByCategory(c);
  std::vector<json> labs = ListAll(c, p.token, 1000, "category=lab-results");
  ASSERT_GE(labs.size(), 2u);
  std::vector<json> vitals = ListAll(c, p.token, 1000, "category=vital-signs");
  ASSERT_FALSE(vitals.empty());
  const std::string hidden = Ref(labs[0]);
  const std::string shown = Ref(labs[1]);
  // The oldest record of the listing, hidden too: the last page must not
  // announce a next page that then turns out empty.
  std::vector<json> before = ListAll(c, p.token, 1000);
  ASSERT_GE(before.size(), 3u);
  const std::string oldest = Ref(before.back());
  ASSERT_NE(oldest, shown);
  const int64_t oldest_counted =
      CategoryOf(before.back()) == "vital-signs" ? 0 : 1;

  Restrict(c, {{"categories", {"vital-signs"}}, {"records", {hidden, oldest}}});
  const int64_t visible =
      counts["lab-results"] + counts["encounters"] - 1 - oldest_counted;
  std::vector<json> all = ListAll(c, p.token, 5);  // pages still fill
  EXPECT_EQ(static_cast<int64_t>(all.size()), visible);
  for (const json& r : all) {
    EXPECT_NE(Ref(r), hidden);
    EXPECT_NE(Ref(r), oldest);
    EXPECT_NE(CategoryOf(r), "vital-signs");
  }
  // Exactly one page when the limit is what is visible.
  Reply exact =
      Get(RecordsPath(c, "limit=" + std::to_string(visible)), p.token);
  ASSERT_EQ(exact.status, 200);
  EXPECT_EQ(static_cast<int64_t>(exact.Json()["records"].size()), visible);
  EXPECT_TRUE(exact.Json()["next"].is_null()) << exact.Json()["next"];
  // Single reads of hidden records look exactly like absent ones.
  Reply absent = Get(RecordsPath(c) + "/Observation/no-such-id", p.token);
  Reply restricted = Get(RecordsPath(c) + "/" + hidden, p.token);
  Reply vital = Get(RecordsPath(c) + "/" + Ref(vitals[0]), p.token);
  EXPECT_EQ(absent.status, 404);
  for (const Reply* r : {&restricted, &vital}) {
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->Json()["error"]["code"], absent.Json()["error"]["code"]);
    EXPECT_EQ(r->Json()["error"]["message"], absent.Json()["error"]["message"]);
  }
  // A category outside the grant is not released either.
  std::vector<json> summary = ListAll(c, p.token, 1000, "type=Condition");
  EXPECT_TRUE(summary.empty());
  Reply ok = Get(RecordsPath(c) + "/" + shown, p.token);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(Ref(ok.Json()), shown);
  EXPECT_EQ(ok.Json(), labs[1]);

  std::vector<json> entries = AuditFor(c, auditor_.token);
  ASSERT_GE(entries.size(), 2u);
  const json& last = entries.back();  // the successful read
  EXPECT_EQ(last["action"], "records.read");
  EXPECT_EQ(last["decision"], "permit");
  EXPECT_EQ(last["categories"], json::array({"lab-results"}));
}

TEST_F(ProviderTest, SensitiveRecordsNeedAGrantThatIncludesThem) {
  const std::string c = ImportedCitizen();
  AddRecord(c, SensitiveCondition("sens-1"));
  Principal p = NewProvider();
  Grant(c, ProviderGrant({"patient-summary"}));
  auto refs = [&] {
    std::set<std::string> out;
    for (const json& r : ListAll(c, p.token, 100, "type=Condition"))
      out.insert(Ref(r));
    return out;
  };
  std::set<std::string> without = refs();
  EXPECT_FALSE(without.empty());
  EXPECT_EQ(without.count("Condition/sens-1"), 0u);
  EXPECT_EQ(Get(RecordsPath(c) + "/Condition/sens-1", p.token).status, 404);

  // Break-glass does not lift sensitivity rules.
  ASSERT_EQ(Post("/v1/patients/" + c + "/break-glass",
                 R"({"reason": "unconscious patient"})", p.token)
                .status,
            201);
  EXPECT_EQ(refs().count("Condition/sens-1"), 0u);
  EXPECT_EQ(Get(RecordsPath(c) + "/Condition/sens-1", p.token).status, 404);

  Grant(c,
        ProviderGrant({"patient-summary"}, p.id, /*include_sensitive=*/true));
  EXPECT_EQ(refs().count("Condition/sens-1"), 1u);
  Reply read = Get(RecordsPath(c) + "/Condition/sens-1", p.token);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.Json()["id"], "sens-1");
}

TEST_F(ProviderTest, BreakGlassOverridesRestrictionsAndIsLogged) {
  const std::string c = ImportedCitizen();
  std::map<std::string, int64_t> counts = CountsByCategory(c);
  Principal p = NewProvider();
  Principal other = NewProvider("Karolinska");
  Grant(c, ProviderGrant({"lab-results"}));
  Restrict(c, {{"categories", {"lab-results"}}});
  // Permitted but everything restricted: an ordinary, empty answer.
  Reply empty = Get(RecordsPath(c), p.token);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_TRUE(empty.Json()["records"].empty());
  EXPECT_TRUE(empty.Json()["next"].is_null());

  const std::string bg = "/v1/patients/" + c + "/break-glass";
  Reply opened = Post(bg, R"({"reason": "cardiac arrest in ER"})", p.token);
  ASSERT_EQ(opened.status, 201) << opened.body;
  json o = opened.Json();
  EXPECT_EQ(o["citizen_id"], c);
  EXPECT_EQ(o["provider_id"], p.id);
  EXPECT_EQ(o["expires"].get<int64_t>() - o["started"].get<int64_t>(),
            24 * 3600);

  // Restrictions no longer apply to this provider, and every category
  // (but not sensitive records) is open to it.
  std::vector<json> all = ListAll(c, p.token, 50);
  EXPECT_EQ(static_cast<int64_t>(all.size()), counts[""]);
  std::vector<json> labs = ListAll(c, p.token, 50, "category=lab-results");
  EXPECT_EQ(static_cast<int64_t>(labs.size()), counts["lab-results"]);
  // The other provider still sees the restriction.
  Reply still = Get(RecordsPath(c), other.token);
  ASSERT_EQ(still.status, 200);
  EXPECT_TRUE(still.Json()["records"].empty());

  std::vector<json> entries = AuditFor(c, auditor_.token);
  bool logged = false;
  for (const json& e : entries) {
    if (e["action"] == "break-glass.open") {
      logged = true;
      EXPECT_EQ(e["actor"], p.id);
      EXPECT_EQ(e["decision"], "permit");
    }
  }
  EXPECT_TRUE(logged);

  // A shorter session.
  Reply short_session =
      Post(bg, R"({"reason": "x-ray", "hours": 2})", other.token);
  ASSERT_EQ(short_session.status, 201) << short_session.body;
  EXPECT_EQ(short_session.Json()["expires"].get<int64_t>() -
                short_session.Json()["started"].get<int64_t>(),
            7200);

  // The citizen's access log carries both sessions with their reasons.
  auto citizen = vault_->IssueToken("citizen", c, 3600);
  ASSERT_TRUE(citizen.ok());
  Reply log =
      Get("/v1/me/access-log", std::string(citizen->ExposeSecretText()));
  ASSERT_EQ(log.status, 200) << log.body;
  const json sessions = log.Json()["break_glass"];
  ASSERT_EQ(sessions.size(), 2u) << log.body;
  std::set<std::string> reasons;
  for (const json& s : sessions) {
    reasons.insert(s["reason"].get<std::string>());
    EXPECT_GT(s["expires"].get<int64_t>(), s["started"].get<int64_t>());
  }
  EXPECT_EQ(reasons, (std::set<std::string>{"cardiac arrest in ER", "x-ray"}));
}

TEST_F(ProviderTest, BreakGlassBodiesAreCheckedAndUnknownCitizensAre404) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  const std::string bg = "/v1/patients/" + c + "/break-glass";
  const uint64_t before = AuditSize();
  for (const char* body :
       {"{}", R"({"reason": ""})", R"({"reason": 5})",
        R"({"reason": "x", "extra": 1})", R"({"reason": "x", "hours": 0})",
        R"({"reason": "x", "hours": 25})", R"({"reason": "x", "hours": "2"})",
        R"({"reason": "x", "hours": 1.5})", R"(["reason"])", "{"}) {
    Reply r = Post(bg, body, p.token);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument");
  }
  Reply long_reason =
      Post(bg, json{{"reason", std::string(1001, 'a')}}.dump(), p.token);
  EXPECT_EQ(long_reason.status, 400);
  EXPECT_EQ(Post("/v1/patients/" + std::string(kNobody) + "/break-glass",
                 R"({"reason": "x"})", p.token)
                .status,
            404);
  EXPECT_EQ(AuditSize(), before);
  auto policy = consents_->LoadPolicy(c);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->break_glass.empty());
}

// What a provider pushes is stored as written, white space aside: FHIR
// decimals keep their digits ("6.10" is not "6.1").
TEST_F(ProviderTest, APushKeepsItsDecimalsAsWritten) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  Grant(c, ProviderGrant({"encounters"}, p.id));
  std::string body = LabObservation("pushed-decimal").dump(2);
  const std::string written = "\"value\": 6.1";
  ASSERT_NE(body.find(written), std::string::npos) << body;
  body.replace(body.find(written), written.size(), "\"value\": 6.10");
  Reply pushed = Post(RecordsPath(c), body, p.token);
  ASSERT_EQ(pushed.status, 201) << pushed.body;
  auto store = vault_->OpenCitizen(c);
  ASSERT_TRUE(store.ok());
  auto stored = (*store)->Get("Observation", "pushed-decimal");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_NE(stored->resource.find("\"value\":6.10"), std::string::npos)
      << stored->resource;
  EXPECT_EQ(json::parse(stored->resource)["meta"]["tag"],
            json::array({{{"system", kSourceSystem},
                          {"code", "provider"},
                          {"display", p.id}}}));
}

TEST_F(ProviderTest, PushNeedsAPermitAndCarriesTheProviderTag) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  Principal other = NewProvider("Karolinska");
  json obs = LabObservation("pushed-1");
  // A claimed citizen source is replaced by the provider's.
  obs["meta"] = {{"tag",
                  {{{"system", kSourceSystem}, {"code", "citizen"}},
                   {{"system", "http://example.org"}, {"code", "keep"}}}}};
  const std::string push = RecordsPath(c);

  Reply denied = Post(push, obs.dump(), p.token);
  EXPECT_EQ(denied.status, 404);
  auto store = vault_->OpenCitizen(c);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Get("Observation", "pushed-1").status().code(),
            StatusCode::kNotFound);

  Grant(c, ProviderGrant({"encounters"}, p.id));
  Reply pushed = Post(push, obs.dump(), p.token);
  ASSERT_EQ(pushed.status, 201) << pushed.body;
  EXPECT_EQ(pushed.Json()["imported"], 1);
  EXPECT_EQ(pushed.Json()["by_type"], json({{"Observation", 1}}));
  auto stored = (*store)->Get("Observation", "pushed-1");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->source, p.id);
  json tags = json::parse(stored->resource)["meta"]["tag"];
  ASSERT_EQ(tags.size(), 2u) << tags.dump();
  EXPECT_EQ(tags[0]["code"], "keep");
  EXPECT_EQ(tags[1], json({{"system", kSourceSystem},
                           {"code", "provider"},
                           {"display", p.id}}));

  // A Bundle: every entry is tagged.
  json bundle = {{"resourceType", "Bundle"},
                 {"type", "collection"},
                 {"entry",
                  {{{"resource", LabObservation("pushed-2")}},
                   {{"resource",
                     {{"resourceType", "Encounter"},
                      {"id", "pushed-3"},
                      {"status", "finished"},
                      {"class", {{"code", "EMER"}}}}}}}}};
  Reply b = Post(push, bundle.dump(), p.token);
  ASSERT_EQ(b.status, 201) << b.body;
  EXPECT_EQ(b.Json()["imported"], 2);
  EXPECT_EQ(b.Json()["by_type"], json({{"Encounter", 1}, {"Observation", 1}}));
  for (const auto& [type, id] : {std::pair{"Observation", "pushed-2"},
                                 std::pair{"Encounter", "pushed-3"}}) {
    auto r = (*store)->Get(type, id);
    ASSERT_TRUE(r.ok()) << id;
    EXPECT_EQ(r->source, p.id);
    json t = json::parse(r->resource)["meta"]["tag"];
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0]["display"], p.id);
  }
  // The provider may update what it pushed.
  obs["valueQuantity"]["value"] = 6.4;
  EXPECT_EQ(Post(push, obs.dump(), p.token).status, 201);

  // Refused: a Patient, a record of another source, malformed documents;
  // another provider without a grant.
  json patient = {{"resourceType", "Patient"}, {"id", "pp"}};
  EXPECT_EQ(Post(push, patient.dump(), p.token).status, 400);
  json with_patient = bundle;
  with_patient["entry"].push_back({{"resource", patient}});
  EXPECT_EQ(Post(push, with_patient.dump(), p.token).status, 400);
  std::vector<json> imported = ListAll(c, p.token, 1000, "category=encounters");
  json foreign;
  for (const json& r : imported) {
    if (r["id"] != "pushed-3") foreign = r;
  }
  ASSERT_FALSE(foreign.is_null());
  const json original = foreign;
  foreign["status"] = "cancelled";
  Reply overwrite = Post(push, foreign.dump(), p.token);
  EXPECT_EQ(overwrite.status, 409) << overwrite.body;
  auto unchanged = (*store)->Get("Encounter", foreign["id"].get<std::string>());
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->source, "import");
  EXPECT_EQ(json::parse(unchanged->resource), original);
  for (const char* body :
       {"[]", "{", R"({"resourceType": "Observation"})",
        R"({"resourceType": "Bundle", "type": "collection"})",
        R"({"resourceType": "Observation", "id": "x", "meta": 3})"}) {
    Reply r = Post(push, body, p.token);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
  }
  EXPECT_EQ(Post(push, LabObservation("pushed-4").dump(), other.token).status,
            404);
  EXPECT_EQ((*store)->Get("Observation", "pushed-4").status().code(),
            StatusCode::kNotFound);

  std::vector<json> entries = AuditFor(c, auditor_.token);
  int permits = 0;
  int denies = 0;
  for (const json& e : entries) {
    if (e["action"] != "records.push") continue;
    (e["decision"] == "permit" ? permits : denies)++;
  }
  EXPECT_EQ(permits, 3);
  EXPECT_EQ(denies, 3);  // before the grant, the overwrite, the other provider
}

TEST_F(ProviderTest, AGrantToOneProviderIsNotAGrantToAnother) {
  const std::string c = ImportedCitizen();
  Principal p1 = NewProvider("Sahlgrenska");
  Principal p2 = NewProvider("Karolinska");
  Grant(c, ProviderGrant({"lab-results"}, p1.id));
  std::vector<json> labs = ListAll(c, p1.token, 1000);
  ASSERT_FALSE(labs.empty());
  EXPECT_EQ(Get(RecordsPath(c), p2.token).status, 404);
  EXPECT_EQ(Get(RecordsPath(c) + "/" + Ref(labs[0]), p2.token).status, 404);
  EXPECT_EQ(Get(RecordsPath(c) + "/" + Ref(labs[0]), p1.token).status, 200);
  // A revoked grant counts for nothing at the very next request.
  auto grants = consents_->ListGrants(c);
  ASSERT_TRUE(grants.ok());
  ASSERT_TRUE(consents_->RevokeGrant(c, grants->front().id).ok());
  EXPECT_EQ(Get(RecordsPath(c) + "/" + Ref(labs[0]), p1.token).status, 404);
}

TEST_F(ProviderTest, AuditFailureReleasesNothing) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  Grant(c, ProviderGrant({"lab-results", "encounters"}, p.id));
  std::vector<json> labs = ListAll(c, p.token, 1000, "category=lab-results");
  ASSERT_FALSE(labs.empty());

  server_->FailAuditWriteForTesting(1);
  Reply list = Get(RecordsPath(c), p.token);
  EXPECT_EQ(list.status, 503);
  EXPECT_EQ(list.ErrorCode(), "audit_unavailable");
  EXPECT_EQ(list.body.find("resourceType"), std::string::npos);

  server_->FailAuditWriteForTesting(1);
  Reply read = Get(RecordsPath(c) + "/" + Ref(labs[0]), p.token);
  EXPECT_EQ(read.status, 503);
  EXPECT_EQ(read.body.find("resourceType"), std::string::npos);

  server_->FailAuditWriteForTesting(1);
  Reply push = Post(RecordsPath(c), LabObservation("nope").dump(), p.token);
  EXPECT_EQ(push.status, 503);
  auto store = vault_->OpenCitizen(c);
  ASSERT_TRUE(store.ok());
  EXPECT_EQ((*store)->Get("Observation", "nope").status().code(),
            StatusCode::kNotFound);

  server_->FailAuditWriteForTesting(1);
  Reply bg =
      Post("/v1/patients/" + c + "/break-glass", R"({"reason": "x"})", p.token);
  EXPECT_EQ(bg.status, 503);
  auto policy = consents_->LoadPolicy(c);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->break_glass.empty());

  // A denied request fails closed too.
  Principal other = NewProvider("Karolinska");
  server_->FailAuditWriteForTesting(1);
  EXPECT_EQ(Get(RecordsPath(c), other.token).status, 503);
  // And the server recovers.
  EXPECT_EQ(Get(RecordsPath(c) + "/" + Ref(labs[0]), p.token).status, 200);
}

TEST_F(ProviderTest, BadQueryParametersAre400) {
  const std::string c = ImportedCitizen();
  Principal p = NewProvider();
  Grant(c, ProviderGrant({"lab-results"}));
  Reply first = Get(RecordsPath(c, "limit=1"), p.token);
  ASSERT_EQ(first.status, 200);
  const std::string cursor = first.Json()["next"];
  std::string upper = cursor;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(ch));
  ASSERT_NE(upper, cursor);
  const std::vector<std::string> bad = {"limit=0",
                                        "limit=1001",
                                        "limit=abc",
                                        "limit=-1",
                                        "limit=",
                                        "limit=5x",
                                        "cursor=garbage",
                                        "cursor=" + cursor.substr(2),
                                        "cursor=" + upper,
                                        "cursor=ff" + cursor.substr(2),
                                        "category=nope",
                                        "type=123",
                                        "type=Observation%2F1",
                                        "since=yesterday",
                                        "until=2020-13-01",
                                        "since=2020-01-01&until=2019-01-01",
                                        "debug=1"};
  for (const std::string& q : bad) {
    Reply r = Get(RecordsPath(c, q), p.token);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << q;
  }
  Reply next = Get(RecordsPath(c, "limit=1&cursor=" + cursor), p.token);
  EXPECT_EQ(next.status, 200) << next.body;
}

// --- the primary-use opt-out (EHDS Art 10)

TEST_F(ProviderTest, PrimaryUseOptOutClosesEveryProviderRouteUntilTurnedOff) {
  const std::string c = ImportedCitizen();
  const std::map<std::string, int64_t> counts = CountsByCategory(c);
  auto issued = vault_->IssueToken("citizen", c, 3600);
  ASSERT_TRUE(issued.ok());
  const std::string me(issued->ExposeSecretText());
  Principal p = NewProvider();
  Grant(c, ProviderGrant({"lab-results"}));
  std::vector<json> labs = ListAll(c, p.token, 50);
  ASSERT_EQ(static_cast<int64_t>(labs.size()), counts.at("lab-results"));
  const std::string one = Ref(labs.front());

  Reply get = Get("/v1/me/primary-use-opt-out", me);
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.Json(), json({{"opted_out", false}, {"break_glass", true}}));
  Reply on = Put("/v1/me/primary-use-opt-out", R"({"opted_out": true})", me);
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(on.Json(), json({{"opted_out", true}, {"break_glass", true}}));

  // The very next provider request is refused, looking like an unknown
  // citizen, and logged as a deny.
  const uint64_t before = AuditSize();
  Reply unknown = Get(RecordsPath(kNobody), p.token);
  Reply list = Get(RecordsPath(c), p.token);
  EXPECT_EQ(list.status, 404) << list.body;
  EXPECT_EQ(list.Json()["error"]["message"],
            unknown.Json()["error"]["message"]);
  EXPECT_EQ(Get(RecordsPath(c) + "/" + one, p.token).status, 404);
  EXPECT_EQ(Get(RecordsPath(c, "category=lab-results"), p.token).status, 404);
  Reply push = Post(RecordsPath(c), LabObservation("pushed-1").dump(), p.token);
  EXPECT_EQ(push.status, 404) << push.body;
  EXPECT_EQ(AuditSize(), before + 4);
  std::vector<json> entries = AuditFor(c, auditor_.token);
  for (size_t i = entries.size() - 4; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i]["actor"], p.id);
    EXPECT_EQ(entries[i]["decision"], "deny") << entries[i].dump();
  }
  EXPECT_EQ(entries.back()["action"], "records.push");
  // Research and the citizen's own access are unaffected.
  EXPECT_FALSE(*consents_->GetResearchOptOut(c));
  Reply mine = Get("/v1/me/records?limit=1", me);
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(Get("/v1/me/primary-use-opt-out", me).Json()["opted_out"], true);

  // Turning it off is as immediate.
  Reply off = Put("/v1/me/primary-use-opt-out", R"({"opted_out": false})", me);
  ASSERT_EQ(off.status, 200) << off.body;
  EXPECT_EQ(ListAll(c, p.token, 50).size(), labs.size());

  // The citizen's access log names both changes.
  Reply log = Get("/v1/me/access-log?limit=100", me);
  ASSERT_EQ(log.status, 200) << log.body;
  int updates = 0;
  const json body = log.Json();
  for (const json& e : body["entries"]) {
    if (e["action"] == "primary-use-opt-out.update") ++updates;
  }
  EXPECT_EQ(updates, 2) << log.body;
}

TEST_F(ProviderTest, PrimaryUseOptOutBodiesAreCheckedAndOnlyCitizensMaySetIt) {
  const std::string c = ImportedCitizen();
  auto issued = vault_->IssueToken("citizen", c, 3600);
  ASSERT_TRUE(issued.ok());
  const std::string me(issued->ExposeSecretText());
  const uint64_t before = AuditSize();
  for (const char* body :
       {"{}", R"({"opted_out": "true"})", R"({"opted_out": 1})",
        R"({"opted_out": true, "extra": 1})", "[true]", "true", "{"}) {
    Reply r = Put("/v1/me/primary-use-opt-out", body, me);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << body;
  }
  EXPECT_EQ(AuditSize(), before);  // bad input leaves no trace
  Principal p = NewProvider();
  EXPECT_EQ(
      Put("/v1/me/primary-use-opt-out", R"({"opted_out": false})", p.token)
          .status,
      403);
  EXPECT_EQ(
      Put("/v1/me/primary-use-opt-out", R"({"opted_out": true})", "").status,
      401);
  EXPECT_FALSE(*consents_->GetPrimaryUseOptOut(c));
}

TEST_F(ProviderTest, BreakGlassReachesAnOptedOutCitizenByDefault) {
  const std::string c = ImportedCitizen();
  const std::map<std::string, int64_t> counts = CountsByCategory(c);
  Principal p = NewProvider();
  ASSERT_TRUE(consents_->SetPrimaryUseOptOut(c, true).ok());
  EXPECT_EQ(Get(RecordsPath(c), p.token).status, 404);
  Reply opened = Post("/v1/patients/" + c + "/break-glass",
                      R"({"reason": "unconscious in the ER"})", p.token);
  ASSERT_EQ(opened.status, 201) << opened.body;
  EXPECT_EQ(static_cast<int64_t>(ListAll(c, p.token, 50).size()),
            counts.at(""));
}

// A deployment where national law makes the opt-out absolute.
class AbsoluteOptOutTest : public ProviderTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.break_glass_despite_opt_out = false;
  }
};

TEST_F(AbsoluteOptOutTest, BreakGlassOnAnOptedOutCitizenIsRefusedAndLogged) {
  const std::string c = ImportedCitizen();
  const std::string other = ImportedCitizen(1);
  auto issued = vault_->IssueToken("citizen", c, 3600);
  ASSERT_TRUE(issued.ok());
  const std::string me(issued->ExposeSecretText());
  Reply on = Put("/v1/me/primary-use-opt-out", R"({"opted_out": true})", me);
  ASSERT_EQ(on.status, 200) << on.body;
  EXPECT_EQ(on.Json()["break_glass"], false);

  Principal p = NewProvider();
  Reply refused = Post("/v1/patients/" + c + "/break-glass",
                       R"({"reason": "unconscious in the ER"})", p.token);
  EXPECT_EQ(refused.status, 404) << refused.body;
  EXPECT_EQ(refused.Json()["error"]["message"],
            Get(RecordsPath(kNobody), p.token).Json()["error"]["message"]);
  EXPECT_EQ(Get(RecordsPath(c), p.token).status, 404);
  std::vector<json> entries = AuditFor(c, auditor_.token);
  bool logged = false;
  for (const json& e : entries) {
    if (e["action"] == "break-glass.open") {
      logged = true;
      EXPECT_EQ(e["decision"], "deny");
      EXPECT_EQ(e["actor"], p.id);
    }
  }
  EXPECT_TRUE(logged);
  auto policy = consents_->LoadPolicy(c);
  ASSERT_TRUE(policy.ok());
  EXPECT_TRUE(policy->break_glass.empty());
  // A citizen who did not opt out is reached as always ...
  EXPECT_EQ(Post("/v1/patients/" + other + "/break-glass",
                 R"({"reason": "unconscious in the ER"})", p.token)
                .status,
            201);
  EXPECT_EQ(Get(RecordsPath(other), p.token).status, 200);
  // ... until they opt out: the open session stops at the next request.
  ASSERT_TRUE(consents_->SetPrimaryUseOptOut(other, true).ok());
  EXPECT_EQ(Get(RecordsPath(other), p.token).status, 404);
}

}  // namespace
}  // namespace tillit::testing
