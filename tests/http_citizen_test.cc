// Citizen routes (/v1/me/...) over real HTTP: records, paging, export,
// consents, restrictions, opt-out, the access log with proofs, erasure,
// every error path, and fail-closed auditing.
#include <algorithm>
#include <ctime>
#include <set>

#include "http_fixture.h"
#include "tillit/audit/audit_log.h"
#include "tillit/audit/checkpoint.h"
#include "tillit/audit/entry.h"
#include "tillit/audit/merkle.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/encoding.h"
#include "tillit/fhir/fhir.h"

namespace tillit::testing {
namespace {

constexpr const char* kSourceSystem = "https://tillit.health/source";

// A valid resource the citizen may add (no id: the vault assigns it).
json HeartRate(const std::string& when = "2024-05-01T08:00:00Z") {
  return {
      {"resourceType", "Observation"},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/observation-category"},
            {"code", "vital-signs"}}}}}}},
      {"code",
       {{"coding", {{{"system", "http://loinc.org"}, {"code", "8867-4"}}}}}},
      {"effectiveDateTime", when},
      {"valueQuantity", {{"value", 61}, {"unit", "/min"}}}};
}

// `n` Observations as NDJSON, each with its own id and date.
std::string ObservationNdjson(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    json o = HeartRate("2020-01-01T00:00:00Z");
    o["id"] = "hr-" + std::to_string(i);
    o["effectiveDateTime"] = std::to_string(2000 + i / 365) +
                             "-01-01T00:00:" + (i % 60 < 10 ? "0" : "") +
                             std::to_string(i % 60) + "Z";
    out += o.dump() + "\n";
  }
  return out;
}

const json kResearchGrant = {
    {"grantee", {{"kind", "any-researcher"}}},
    {"purposes", {"DUO:0000006"}},
    {"categories", {"lab-results", "vital-signs"}},
    {"data_period", {{"start", "1900-01-01"}, {"end", nullptr}}},
    {"expires", "2099-12-31T00:00:00Z"},
    {"include_sensitive", false}};

std::string Ref(const json& resource) {
  return resource["resourceType"].get<std::string>() + "/" +
         resource["id"].get<std::string>();
}

// The date the vault orders by (nullopt: undated, listed last).
std::optional<int64_t> Effective(const json& resource) {
  auto parsed = fhir::ParseFhirResource(resource.dump());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? parsed->effective : std::nullopt;
}

fhir::Category CategoryOf(const json& resource) {
  auto parsed = fhir::ParseFhirResource(resource.dump());
  EXPECT_TRUE(parsed.ok()) << parsed.status().ToString();
  return parsed.ok() ? parsed->category : fhir::Category::kOther;
}

bool HasCitizenTag(const json& resource) {
  if (!resource.contains("meta") || !resource["meta"].contains("tag"))
    return false;
  for (const json& t : resource["meta"]["tag"]) {
    if (t.value("system", "") == kSourceSystem &&
        t.value("code", "") == "citizen")
      return true;
  }
  return false;
}

class CitizenTest : public HttpTest {
 protected:
  // Every record through the cursor, asserting each page's shape.
  std::vector<json> WalkRecords(const std::string& token,
                                const std::string& query, int limit,
                                int* pages = nullptr) {
    std::vector<json> all;
    std::string cursor;
    for (int guard = 0; guard < 10000; ++guard) {
      std::string path =
          "/v1/me/records?limit=" + std::to_string(limit) + query;
      if (!cursor.empty()) path += "&cursor=" + cursor;
      Reply r = Get(path, token);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      json page = r.Json();
      EXPECT_LE(page["records"].size(), static_cast<size_t>(limit));
      if (pages) ++*pages;
      for (const json& rec : page["records"]) all.push_back(rec);
      if (page["next"].is_null()) break;
      EXPECT_EQ(page["records"].size(), static_cast<size_t>(limit));
      cursor = page["next"].get<std::string>();
    }
    return all;
  }

  int64_t RecordCount(const std::string& token) {
    Reply r = Get("/v1/me", token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["records"].get<int64_t>();
  }

  size_t GrantCount(const std::string& token) {
    Reply r = Get("/v1/me/consents", token);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["consents"].size();
  }

  // Actions of the entries about the token's citizen, newest first.
  std::vector<std::string> Actions(const std::string& token) {
    Reply r = Get("/v1/me/access-log?limit=1000", token);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<std::string> out;
    const json log = r.Json();
    for (const json& e : log["entries"]) out.push_back(e["action"]);
    return out;
  }

  void ExpectAuditUnavailable(const Reply& r) {
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.ErrorCode(), "audit_unavailable") << r.body;
  }

  void ExpectInvalid(const Reply& r, const std::string& names) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << r.body;
    EXPECT_NE(r.body.find(names), std::string::npos) << r.body;
  }
};

using CitizenRecordsTest = CitizenTest;
using CitizenConsentTest = CitizenTest;
using CitizenAccessLogTest = CitizenTest;
using CitizenErrorsTest = CitizenTest;
using CitizenAuditFailureTest = CitizenTest;
using CitizenEraseTest = CitizenTest;

TEST_F(CitizenRecordsTest, ImportThenEveryPageWalksEveryRecordOnceNewestFirst) {
  Principal c = NewCitizen();
  EXPECT_EQ(RecordCount(c.token), 0);
  Reply imp = Post("/v1/me/import", SyntheticBundle(1), c.token);
  ASSERT_EQ(imp.status, 200) << imp.body;
  const json out = imp.Json();
  const int64_t imported = out["imported"];
  ASSERT_GT(imported, 10);
  EXPECT_EQ(out["written"], imported);
  int64_t by_type_total = 0;
  for (const auto& [type, n] : out["by_type"].items())
    by_type_total += n.get<int64_t>();
  EXPECT_EQ(by_type_total, imported);
  EXPECT_EQ(out["by_type"]["Patient"], 1);
  EXPECT_EQ(RecordCount(c.token), imported);
  // The same bundle again changes nothing.
  Reply again = Post("/v1/me/import", SyntheticBundle(1), c.token);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json()["written"], 0);
  EXPECT_EQ(RecordCount(c.token), imported);

  int pages = 0;
  std::vector<json> all = WalkRecords(c.token, "", 7, &pages);
  ASSERT_EQ(static_cast<int64_t>(all.size()), imported);
  EXPECT_EQ(pages, static_cast<int>((imported + 6) / 7));
  std::set<std::string> refs;
  for (const json& r : all) EXPECT_TRUE(refs.insert(Ref(r)).second) << Ref(r);
  // Newest first; undated records last.
  for (size_t i = 1; i < all.size(); ++i) {
    auto prev = Effective(all[i - 1]);
    auto cur = Effective(all[i]);
    if (!prev) {
      EXPECT_FALSE(cur) << Ref(all[i]) << " dated after an undated record";
    } else if (cur) {
      EXPECT_GE(*prev, *cur) << Ref(all[i - 1]) << " then " << Ref(all[i]);
    }
  }
  // One big page is the same walk.
  Reply one = Get("/v1/me/records?limit=1000", c.token);
  ASSERT_EQ(one.status, 200);
  EXPECT_TRUE(one.Json()["next"].is_null());
  ASSERT_EQ(one.Json()["records"].size(), all.size());
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(Ref(one.Json()["records"][i]), Ref(all[i]));
  // The default page is 100 records.
  Reply def = Get("/v1/me/records", c.token);
  EXPECT_EQ(def.Json()["records"].size(), std::min<size_t>(100, all.size()));
}

TEST_F(CitizenRecordsTest, FiltersByCategoryTypeAndDates) {
  Principal c = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(2), c.token).status, 200);
  Reply summary = Get("/v1/me", c.token);
  ASSERT_EQ(summary.status, 200);
  EXPECT_EQ(summary.Json()["citizen_id"], c.id);
  const json by_category = summary.Json()["by_category"];
  ASSERT_TRUE(by_category.contains("lab-results")) << summary.body;

  std::vector<json> labs = WalkRecords(c.token, "&category=lab-results", 5);
  EXPECT_EQ(static_cast<int64_t>(labs.size()),
            by_category["lab-results"].get<int64_t>());
  for (const json& r : labs)
    EXPECT_EQ(CategoryOf(r), fhir::Category::kLabResults) << Ref(r);

  std::vector<json> obs = WalkRecords(c.token, "&type=Observation", 9);
  EXPECT_EQ(static_cast<int64_t>(obs.size()),
            summary.Json()["by_type"]["Observation"].get<int64_t>());
  for (const json& r : obs) EXPECT_EQ(r["resourceType"], "Observation");

  // A window in the middle of the dated records.
  std::vector<json> all = WalkRecords(c.token, "", 1000);
  std::vector<int64_t> dates;
  for (const json& r : all) {
    if (auto e = Effective(r)) dates.push_back(*e);
  }
  ASSERT_GT(dates.size(), 4u);
  std::sort(dates.begin(), dates.end());
  const int64_t since = dates[dates.size() / 4];
  const int64_t until = dates[dates.size() * 3 / 4];
  ASSERT_LT(since, until);
  auto iso = [](int64_t t) {
    std::time_t tt = static_cast<std::time_t>(t);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
    return std::string(buf);
  };
  std::vector<json> window =
      WalkRecords(c.token, "&since=" + iso(since) + "&until=" + iso(until), 4);
  size_t expected = std::count_if(dates.begin(), dates.end(), [&](int64_t d) {
    return d >= since && d < until;
  });
  EXPECT_EQ(window.size(), expected);
  for (const json& r : window) {
    auto e = Effective(r);
    ASSERT_TRUE(e);
    EXPECT_GE(*e, since);
    EXPECT_LT(*e, until);
  }
  // A plain date works too.
  Reply by_year = Get("/v1/me/records?since=1900-01-01", c.token);
  EXPECT_EQ(by_year.status, 200) << by_year.body;
}

// EHDS Art 5: what the citizen imports is marked as theirs, whatever the
// document claims, keeps its decimals, and is theirs to correct; it
// replaces nothing the region or a provider wrote.
TEST_F(CitizenRecordsTest, WhatTheCitizenImportsIsMarkedAsTheirs) {
  Principal c = NewCitizen();
  ASSERT_TRUE(
      vault_->Import(SyntheticBundle(4), vault::ImportFormat::kJson, c.id)
          .ok());
  const json regions = Get("/v1/me/records?type=Observation&limit=1", c.token)
                           .Json()["records"][0];
  ASSERT_FALSE(HasCitizenTag(regions));
  json changed = regions;
  changed["status"] = "entered-in-error";
  const std::string nd =
      changed.dump() + "\n" +
      R"({"resourceType":"Observation","id":"home-glucose-1","status":"final",)"
      R"("meta":{"tag":[{"system":"https://tillit.health/source",)"
      R"("code":"provider","display":"Region Hospital"}]},)"
      R"("code":{"text":"Glucose"},"effectiveDateTime":"2026-01-02T08:00:00Z",)"
      R"("valueQuantity":{"value":5.50,"unit":"mmol/L"}})"
      "\n";
  Reply imp = Post("/v1/me/import", nd, c.token, "application/fhir+ndjson");
  ASSERT_EQ(imp.status, 200) << imp.body;
  EXPECT_EQ(imp.Json()["imported"], 2);
  EXPECT_EQ(imp.Json()["written"], 1);
  // The region's record is as it was.
  EXPECT_EQ(Get("/v1/me/records/" + Ref(regions), c.token).Json(), regions);

  const std::string path = "/v1/me/records/Observation/home-glucose-1";
  Reply read = Get(path, c.token);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.body.find(R"("value":5.50)"), std::string::npos) << read.body;
  ASSERT_EQ(read.Json()["meta"]["tag"].size(), 1u) << read.body;
  EXPECT_TRUE(HasCitizenTag(read.Json())) << read.body;
  EXPECT_EQ(read.Json()["meta"]["tag"][0]["display"], "Entered by the citizen");

  // Theirs to correct directly, unlike the region's (409).
  json fixed = read.Json();
  fixed["valueQuantity"]["value"] = 5.4;
  EXPECT_EQ(Put(path, fixed.dump(), c.token).status, 200);
  EXPECT_EQ(
      Put("/v1/me/records/" + Ref(regions), changed.dump(), c.token).status,
      409);
}

// What the citizen adds or corrects is stored as written, white space
// aside: FHIR decimals keep their digits ("5.50" is not "5.5").
TEST_F(CitizenRecordsTest, AddedAndCorrectedRecordsKeepTheirDecimals) {
  Principal c = NewCitizen();
  const std::string added_body =
      "{\"resourceType\": \"Observation\", \"status\": \"final\",\n"
      " \"code\": {\"text\": \"Glucose\"},\n"
      " \"effectiveDateTime\": \"2026-01-02T08:00:00Z\",\n"
      " \"valueQuantity\": {\"value\": 5.50, \"unit\": \"mmol/L\"}}";
  Reply added = Post("/v1/me/records", added_body, c.token);
  ASSERT_EQ(added.status, 201) << added.body;
  EXPECT_NE(added.body.find("\"value\":5.50"), std::string::npos) << added.body;
  EXPECT_TRUE(HasCitizenTag(added.Json()));
  const std::string path = "/v1/me/records/" + Ref(added.Json());
  Reply read = Get(path, c.token);
  EXPECT_EQ(read.body, added.body);

  std::string corrected = added_body;
  corrected.replace(corrected.find("5.50"), 4, "5.40");
  Reply put = Put(path, corrected, c.token);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_NE(put.body.find("\"value\":5.40"), std::string::npos) << put.body;
  EXPECT_EQ(Get(path, c.token).body, put.body);
  // A byte order mark before the body is skipped, not stored.
  Reply bom = Post("/v1/me/records", "\xEF\xBB\xBF" + added_body, c.token);
  ASSERT_EQ(bom.status, 201) << bom.body;
  EXPECT_EQ(bom.body.rfind("{", 0), 0u) << bom.body;
  // An id in the path that is not a FHIR id is refused, never written in.
  EXPECT_EQ(Put("/v1/me/records/Observation/x%22%2C%22meta%22%3A1", corrected,
                c.token)
                .status,
            400);
}

TEST_F(CitizenRecordsTest, ReadsOneRecordAndAddsATaggedOne) {
  Principal c = NewCitizen();
  // The region's records (the operator's import).
  ASSERT_TRUE(
      vault_->Import(SyntheticBundle(3), vault::ImportFormat::kJson, c.id)
          .ok());
  const int64_t before = RecordCount(c.token);
  json first = Get("/v1/me/records?limit=1", c.token).Json()["records"][0];
  Reply read = Get("/v1/me/records/" + Ref(first), c.token);
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(read.Json(), first);
  EXPECT_EQ(read.Header("Content-Type"), "application/fhir+json");
  EXPECT_FALSE(HasCitizenTag(first));

  // Added: the vault assigns the id and tags it as citizen-entered; a tag
  // claiming another source is dropped, other meta is kept.
  json body = HeartRate("2030-06-01T10:00:00Z");
  body["meta"] = {{"profile", {"http://example.org/p"}},
                  {"tag",
                   {{{"system", kSourceSystem}, {"code", "p_forged"}},
                    {{"system", "http://example.org/t"}, {"code", "x"}}}}};
  Reply added = Post("/v1/me/records", body.dump(), c.token);
  ASSERT_EQ(added.status, 201) << added.body;
  json stored = added.Json();
  ASSERT_TRUE(stored.contains("id"));
  EXPECT_EQ(stored["resourceType"], "Observation");
  EXPECT_TRUE(HasCitizenTag(stored)) << added.body;
  EXPECT_EQ(stored["meta"]["profile"][0], "http://example.org/p");
  int ours = 0;
  bool other = false;
  for (const json& t : stored["meta"]["tag"]) {
    if (t["system"] == kSourceSystem) {
      ++ours;
      EXPECT_EQ(t["display"], "Entered by the citizen");
    }
    other = other || t["system"] == "http://example.org/t";
  }
  EXPECT_EQ(ours, 1);
  EXPECT_TRUE(other);
  EXPECT_EQ(added.Header("Location"), "/v1/me/records/" + Ref(stored));
  EXPECT_EQ(RecordCount(c.token), before + 1);
  Reply fetched = Get("/v1/me/records/" + Ref(stored), c.token);
  ASSERT_EQ(fetched.status, 200);
  EXPECT_EQ(fetched.Json(), stored);
  // It is the newest record (dated 2030).
  EXPECT_EQ(Ref(Get("/v1/me/records?limit=1", c.token).Json()["records"][0]),
            Ref(stored));
  // Stored with source "citizen".
  auto store = vault_->OpenCitizen(c.id);
  ASSERT_TRUE(store.ok());
  auto rec = (*store)->Get("Observation", stored["id"].get<std::string>());
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->source, "citizen");

  std::vector<std::string> actions = Actions(c.token);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "records.add"),
            actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "records.read"),
            actions.end());
}

TEST_F(CitizenRecordsTest, ExportStreamsEveryRecordAsACollectionBundle) {
  Principal c = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(4), c.token).status, 200);
  // Over one export page (500): NDJSON of 620 more Observations.
  Reply nd = Post("/v1/me/import", ObservationNdjson(620), c.token,
                  "application/fhir+ndjson");
  ASSERT_EQ(nd.status, 200) << nd.body;
  EXPECT_EQ(nd.Json()["imported"], 620);
  EXPECT_EQ(nd.Json()["by_type"]["Observation"], 620);
  std::vector<json> listed = WalkRecords(c.token, "", 1000);
  ASSERT_GT(listed.size(), 500u);

  Reply ex = Get("/v1/me/export", c.token);
  ASSERT_EQ(ex.status, 200) << ex.body.substr(0, 300);
  EXPECT_EQ(ex.Header("Content-Type"), "application/fhir+json");
  EXPECT_EQ(ex.Header("Transfer-Encoding"), "chunked");
  EXPECT_NE(ex.Header("Content-Disposition").find("attachment"),
            std::string::npos);
  json bundle = ex.Json();
  ASSERT_FALSE(bundle.is_discarded());
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "collection");
  ASSERT_EQ(bundle["entry"].size(), listed.size());
  std::set<std::string> refs;
  for (size_t i = 0; i < listed.size(); ++i) {
    const json& e = bundle["entry"][i];
    EXPECT_EQ(e["fullUrl"], Ref(e["resource"]));
    EXPECT_EQ(e["resource"], listed[i]);
    refs.insert(Ref(e["resource"]));
  }
  EXPECT_EQ(refs.size(), listed.size());
  // An empty vault exports an empty Bundle.
  Principal empty = NewCitizen();
  Reply none = Get("/v1/me/export", empty.token);
  ASSERT_EQ(none.status, 200);
  EXPECT_EQ(none.Json()["entry"].size(), 0u);
  std::vector<std::string> actions = Actions(c.token);
  EXPECT_NE(std::find(actions.begin(), actions.end(), "records.export"),
            actions.end());
}

TEST_F(CitizenConsentTest, GrantPreviewListRevoke) {
  Principal c = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(5), c.token).status, 200);
  // A registered study the grant would let in.
  Principal researcher = NewResearcher();
  consent::ConsentService directory(vault_.get(), &Clock::System(),
                                    &crypto::Random::System());
  auto def = consent::ParseStudyDefinition(
      R"({"title": "T", "purpose": "DUO:0000006", "categories": ["lab-results"]})");
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  def->study.researcher_id = researcher.id;
  auto study = directory.RegisterStudy(*def);
  ASSERT_TRUE(study.ok()) << study.status().ToString();

  Reply preview =
      Post("/v1/me/consents/preview", kResearchGrant.dump(), c.token);
  ASSERT_EQ(preview.status, 200) << preview.body;
  const json p = preview.Json();
  const json summary = Get("/v1/me", c.token).Json()["by_category"];
  int64_t expected = 0;
  for (const char* cat : {"lab-results", "vital-signs"})
    expected += summary.value(cat, int64_t{0});
  EXPECT_GT(expected, 0);
  EXPECT_EQ(p["total"], expected);
  for (const auto& [cat, n] : p["by_category"].items()) {
    EXPECT_TRUE(cat == "lab-results" || cat == "vital-signs") << cat;
  }
  EXPECT_EQ(p["matching_studies"], json::array({study->study.id}));
  EXPECT_EQ(GrantCount(c.token), 0u);  // a preview stores nothing

  Reply granted = Post("/v1/me/consents", kResearchGrant.dump(), c.token);
  ASSERT_EQ(granted.status, 201) << granted.body;
  const json g = granted.Json();
  const std::string gid = g["id"];
  EXPECT_EQ(gid.rfind("g_", 0), 0u);
  EXPECT_EQ(g["status"], "active");
  EXPECT_EQ(g["categories"], json::array({"lab-results", "vital-signs"}));

  Reply list = Get("/v1/me/consents", c.token);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["consents"].size(), 1u);
  EXPECT_EQ(list.Json()["consents"][0]["id"], gid);

  // Opt-out: previews match no study any more.
  EXPECT_EQ(Get("/v1/me/research-opt-out", c.token).Json(),
            json({{"opted_out", false}}));
  Reply out = Put("/v1/me/research-opt-out", R"({"opted_out": true})", c.token);
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_EQ(out.Json(), json({{"opted_out", true}}));
  EXPECT_EQ(Get("/v1/me/research-opt-out", c.token).Json(),
            json({{"opted_out", true}}));
  EXPECT_EQ(Post("/v1/me/consents/preview", kResearchGrant.dump(), c.token)
                .Json()["matching_studies"],
            json::array());
  Reply back =
      Put("/v1/me/research-opt-out", R"({"opted_out": false})", c.token);
  EXPECT_EQ(back.Json(), json({{"opted_out", false}}));
  EXPECT_EQ(Post("/v1/me/consents/preview", kResearchGrant.dump(), c.token)
                .Json()["matching_studies"]
                .size(),
            1u);

  // Another citizen can neither see nor revoke it.
  Principal other = NewCitizen();
  EXPECT_EQ(GrantCount(other.token), 0u);
  Reply foreign = Delete("/v1/me/consents/" + gid, other.token);
  EXPECT_EQ(foreign.status, 404) << foreign.body;
  EXPECT_EQ(foreign.ErrorCode(), "not_found");

  Reply revoked = Delete("/v1/me/consents/" + gid, c.token);
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_EQ(revoked.Json()["id"], gid);
  EXPECT_EQ(revoked.Json()["status"], "revoked");
  EXPECT_TRUE(revoked.Json().contains("revoked"));
  Reply twice = Delete("/v1/me/consents/" + gid, c.token);
  EXPECT_EQ(twice.status, 409) << twice.body;
  EXPECT_EQ(twice.ErrorCode(), "conflict");
  EXPECT_EQ(Get("/v1/me/consents", c.token).Json()["consents"][0]["status"],
            "revoked");
  EXPECT_EQ(Delete("/v1/me/consents/g_" + std::string(32, '0'), c.token).status,
            404);
  EXPECT_EQ(Delete("/v1/me/consents/not-a-grant", c.token).status, 404);

  std::vector<std::string> actions = Actions(c.token);
  for (const char* a : {"consent.grant", "consent.list", "consent.preview",
                        "consent.revoke", "research-opt-out.update"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), a), actions.end()) << a;
  }
  // The grant's entry names the grant it created.
  json grant_entry;
  const json log = Get("/v1/me/access-log?limit=1000", c.token).Json();
  for (const json& e : log["entries"]) {
    if (e["action"] == "consent.grant") grant_entry = e;
  }
  EXPECT_EQ(grant_entry["grants"], json::array({gid})) << grant_entry.dump();
}

TEST_F(CitizenConsentTest, BadGrantsAre400NamingTheFieldAndStoreNothing) {
  Principal c = NewCitizen();
  struct Case {
    json grant;
    std::string field;
  };
  std::vector<Case> cases;
  json g = kResearchGrant;
  g["purposes"] = {"DUO:9999999"};
  cases.push_back({g, "purposes[0]"});
  g = kResearchGrant;
  g["categories"] = {"gossip"};
  cases.push_back({g, "categories"});
  g = kResearchGrant;
  g["expires"] = "2001-01-01T00:00:00Z";
  cases.push_back({g, "expires"});
  g = kResearchGrant;
  g["conditions"] = {{{"code", "DUO:0000022"}}};
  cases.push_back({g, "conditions[0].countries"});
  for (const Case& k : cases) {
    ExpectInvalid(Post("/v1/me/consents", k.grant.dump(), c.token), k.field);
    ExpectInvalid(Post("/v1/me/consents/preview", k.grant.dump(), c.token),
                  k.field);
  }
  ExpectInvalid(Post("/v1/me/consents", "[1]", c.token), "");
  ExpectInvalid(Post("/v1/me/consents", "{", c.token), "");
  EXPECT_EQ(GrantCount(c.token), 0u);
  // Refused input leaves no consent entries (only the reads made here).
  for (const std::string& a : Actions(c.token)) {
    EXPECT_TRUE(a == "consent.list" || a == "access-log.read" ||
                a == "citizen.create" || a == "citizen.enroll")
        << a;
  }
}

TEST_F(CitizenConsentTest, RestrictionsAndOptOutRoundTrip) {
  Principal c = NewCitizen();
  Reply empty = Get("/v1/me/restrictions", c.token);
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.Json(),
            json({{"categories", json::array()}, {"records", json::array()}}));
  Reply put = Put("/v1/me/restrictions",
                  R"({"categories": ["prescriptions", "lab-results"],
                      "records": ["Observation/b", "Condition/a"]})",
                  c.token);
  ASSERT_EQ(put.status, 200) << put.body;
  const json want = {{"categories", {"prescriptions", "lab-results"}},
                     {"records", {"Condition/a", "Observation/b"}}};
  EXPECT_EQ(put.Json(), want);
  EXPECT_EQ(Get("/v1/me/restrictions", c.token).Json(), want);

  ExpectInvalid(
      Put("/v1/me/restrictions", R"({"categories": ["gossip"]})", c.token),
      "categories");
  ExpectInvalid(
      Put("/v1/me/restrictions", R"({"categories": "lab-results"})", c.token),
      "categories");
  ExpectInvalid(Put("/v1/me/restrictions", R"({"records": [1]})", c.token),
                "records");
  ExpectInvalid(Put("/v1/me/restrictions", R"({"records": "x"})", c.token),
                "records");
  ExpectInvalid(
      Put("/v1/me/restrictions", R"({"records": ["no-slash"]})", c.token),
      "records[0]");
  ExpectInvalid(Put("/v1/me/restrictions", R"({"hide": []})", c.token), "hide");
  ExpectInvalid(Put("/v1/me/restrictions", "[]", c.token), "JSON object");
  EXPECT_EQ(Get("/v1/me/restrictions", c.token).Json(), want);  // unchanged

  ExpectInvalid(
      Put("/v1/me/research-opt-out", R"({"opted_out": "yes"})", c.token),
      "opted_out");
  ExpectInvalid(Put("/v1/me/research-opt-out",
                    R"({"opted_out": true, "why": 1})", c.token),
                "opted_out");
  ExpectInvalid(Put("/v1/me/research-opt-out", R"({})", c.token), "opted_out");
  std::vector<std::string> actions = Actions(c.token);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "restrictions.read"), 3);
  // Only the accepted update is logged, even for input refused by the
  // deeper checks ("no-slash").
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "restrictions.update"),
            1);
  EXPECT_EQ(
      std::count(actions.begin(), actions.end(), "research-opt-out.update"), 0);
}

TEST_F(CitizenAccessLogTest,
       EntriesComeWithProofsThatVerifyAgainstTheCheckpoint) {
  Principal c = NewCitizen();
  Principal other = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(6), c.token).status, 200);
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(7), other.token).status, 200);
  json first = Get("/v1/me/records?limit=1", c.token).Json()["records"][0];
  ASSERT_EQ(Get("/v1/me/records/" + Ref(first), c.token).status, 200);
  ASSERT_EQ(Get("/v1/me/records?limit=1", other.token).status, 200);

  Reply r = Get("/v1/me/access-log?proofs=true", c.token);
  ASSERT_EQ(r.status, 200) << r.body;
  const json log = r.Json();
  const uint64_t size = log["tree_size"];
  ASSERT_TRUE(log["next"].is_null());

  // The checkpoint verifies with the server's public key and names the size.
  Reply key = Get("/v1/audit/public-key");
  std::string vkey = key.body;
  while (!vkey.empty() && vkey.back() == '\n') vkey.pop_back();
  auto verifier = audit::ParseVerifierKey(vkey);
  ASSERT_TRUE(verifier.ok()) << verifier.status().ToString();
  auto checkpoint = audit::OpenCheckpoint(log["checkpoint"].get<std::string>(),
                                          verifier->first, verifier->second);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().ToString();
  EXPECT_EQ(checkpoint->size, size);

  // Every entry is about this citizen, newest first, and proven included.
  std::vector<std::string> actions;
  uint64_t previous = UINT64_MAX;
  ASSERT_GE(log["entries"].size(), 4u);
  for (json e : log["entries"]) {
    EXPECT_EQ(e["citizen"], c.id);
    const uint64_t index = e["index"];
    EXPECT_LT(index, previous);
    EXPECT_LT(index, size);
    previous = index;
    actions.push_back(e["action"]);
    std::vector<audit::Hash> proof;
    for (const json& h : e["inclusion_proof"]) {
      auto bytes = crypto::HexDecode(h.get<std::string>());
      ASSERT_TRUE(bytes.ok());
      ASSERT_EQ(bytes->size(), 32u);
      audit::Hash hash;
      std::copy(bytes->begin(), bytes->end(), hash.begin());
      proof.push_back(hash);
    }
    // The API adds "index", "actor" (a copy of actor_id) and the proof to
    // the canonical entry; the leaf hashes the canonical bytes only.
    EXPECT_EQ(e.value("actor", json(e["actor_id"])), e["actor_id"]);
    e.erase("index");
    e.erase("actor");
    e.erase("inclusion_proof");
    const std::string canonical = e.dump();
    ASSERT_TRUE(audit::ParseCanonicalEntry(canonical).ok()) << canonical;
    const audit::Hash leaf = audit::LeafHash(crypto::AsBytes(canonical));
    EXPECT_TRUE(
        audit::VerifyInclusion(leaf, index, size, proof, checkpoint->root))
        << "entry " << index;
    // A changed entry does not verify.
    json forged = e;
    forged["action"] = "records.list";
    if (forged != e) {
      EXPECT_FALSE(audit::VerifyInclusion(
          audit::LeafHash(crypto::AsBytes(forged.dump())), index, size, proof,
          checkpoint->root));
    }
  }
  // Newest first: this read, then the record read, ..., the creation.
  EXPECT_EQ(actions.front(), "access-log.read");
  EXPECT_EQ(actions[1], "records.read");
  EXPECT_EQ(actions.back(), "citizen.create");
  EXPECT_NE(std::find(actions.begin(), actions.end(), "records.import"),
            actions.end());
  // Without proofs=true no proofs are sent.
  Reply plain = Get("/v1/me/access-log", c.token);
  ASSERT_EQ(plain.status, 200);
  EXPECT_FALSE(plain.Json()["entries"][0].contains("inclusion_proof"));

  // Paging with before/next walks every entry once, newest first.
  std::vector<uint64_t> walked;
  std::string before;
  for (int guard = 0; guard < 100; ++guard) {
    Reply page = Get("/v1/me/access-log?limit=2" +
                         (before.empty() ? "" : "&before=" + before),
                     c.token);
    ASSERT_EQ(page.status, 200) << page.body;
    const json body = page.Json();
    for (const json& e : body["entries"]) walked.push_back(e["index"]);
    if (body["next"].is_null()) break;
    before = std::to_string(body["next"].get<uint64_t>());
  }
  ASSERT_GT(walked.size(), 4u);
  for (size_t i = 1; i < walked.size(); ++i)
    EXPECT_LT(walked[i], walked[i - 1]);
  // Nothing is older than the last entry walked.
  Reply oldest =
      Get("/v1/me/access-log?limit=1&before=" + std::to_string(walked.back()),
          c.token);
  EXPECT_EQ(oldest.Json()["entries"].size(), 0u);
  EXPECT_TRUE(oldest.Json()["next"].is_null());
}

TEST_F(CitizenErrorsTest, BadQueriesAre400) {
  Principal c = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(8), c.token).status, 200);
  ExpectInvalid(Get("/v1/me/records?category=gossip", c.token), "category");
  ExpectInvalid(Get("/v1/me/records?category=", c.token), "category");
  ExpectInvalid(Get("/v1/me/records?type=observation", c.token), "type");
  ExpectInvalid(Get("/v1/me/records?type=Obs%27x", c.token), "type");
  for (const char* limit : {"0", "1001", "-1", "ten", "5x", "", "+5"}) {
    ExpectInvalid(Get(std::string("/v1/me/records?limit=") + limit, c.token),
                  "limit");
  }
  for (const char* cursor : {"x", "12", "12.", ".5", "1.0", "1.-3", "a.b",
                             "1.2.3", "99999999999999999999.1"}) {
    ExpectInvalid(Get(std::string("/v1/me/records?cursor=") + cursor, c.token),
                  "cursor");
  }
  ExpectInvalid(Get("/v1/me/records?since=yesterday", c.token), "since");
  ExpectInvalid(Get("/v1/me/records?since=2020-13-01", c.token), "since");
  ExpectInvalid(Get("/v1/me/records?until=2020-02-30T00:00", c.token), "until");
  ExpectInvalid(
      Get("/v1/me/records?since=2020-01-01&until=2019-01-01", c.token),
      "until");
  ExpectInvalid(Get("/v1/me/records?sort=asc", c.token), "sort");
  for (const char* q : {"limit=0", "limit=1001", "before=-1", "before=x",
                        "proofs=yes", "proofs=1"}) {
    ExpectInvalid(Get(std::string("/v1/me/access-log?") + q, c.token),
                  std::string(q).substr(0, std::string(q).find('=')));
  }
  // A cursor from a page resumes after that page.
  Reply page = Get("/v1/me/records?limit=2", c.token);
  ASSERT_EQ(page.status, 200);
  const std::string next = page.Json()["next"];
  Reply resumed = Get("/v1/me/records?limit=2&cursor=" + next, c.token);
  EXPECT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_NE(Ref(resumed.Json()["records"][0]), Ref(page.Json()["records"][1]));
}

TEST_F(CitizenErrorsTest, OtherCitizensRecordsAreNotFound) {
  Principal a = NewCitizen();
  Principal b = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(9), a.token).status, 200);
  json rec = Get("/v1/me/records?limit=1", a.token).Json()["records"][0];
  ASSERT_EQ(Get("/v1/me/records/" + Ref(rec), a.token).status, 200);
  Reply other = Get("/v1/me/records/" + Ref(rec), b.token);
  EXPECT_EQ(other.status, 404) << other.body;
  EXPECT_EQ(other.ErrorCode(), "not_found");
  EXPECT_EQ(other.body.find(rec["id"].get<std::string>()), std::string::npos);
  EXPECT_EQ(Get("/v1/me/records/Observation/nope", a.token).status, 404);
  // B's views of its own (empty) vault show nothing of A's.
  EXPECT_EQ(Get("/v1/me/records", b.token).Json()["records"].size(), 0u);
  EXPECT_EQ(Get("/v1/me/export", b.token).Json()["entry"].size(), 0u);
  // A's Patient cannot be imported into B's vault.
  Reply stolen = Post("/v1/me/import", SyntheticBundle(9), b.token);
  EXPECT_EQ(stolen.status, 400) << stolen.body;
  EXPECT_EQ(RecordCount(b.token), 0);
  // Other roles may not use citizen routes.
  Principal p = NewProvider();
  EXPECT_EQ(Get("/v1/me/records", p.token).status, 403);
  EXPECT_EQ(Get("/v1/me/records").status, 401);
}

TEST_F(CitizenErrorsTest, BrokenImportsAndBadRecordsStoreNothing) {
  Principal c = NewCitizen();
  // Entry 1 has no resourceType: the whole bundle is refused.
  json bundle = json::parse(SyntheticBundle(10));
  ASSERT_GT(bundle["entry"].size(), 2u);
  bundle["entry"][1]["resource"].erase("resourceType");
  Reply broken = Post("/v1/me/import", bundle.dump(), c.token);
  ExpectInvalid(broken, "entry 1");
  EXPECT_EQ(RecordCount(c.token), 0);
  ExpectInvalid(Post("/v1/me/import", "{not json", c.token), "");
  ExpectInvalid(Post("/v1/me/import", "", c.token), "body");
  std::string nd = ObservationNdjson(3) + "{\"resourceType\": 5}\n";
  ExpectInvalid(Post("/v1/me/import", nd, c.token, "application/x-ndjson"),
                "line 4");
  EXPECT_EQ(RecordCount(c.token), 0);

  // Citizen-added records: one FHIR resource, not a Bundle or Patient, no id.
  json with_id = HeartRate();
  with_id["id"] = "mine";
  ExpectInvalid(Post("/v1/me/records", with_id.dump(), c.token),
                "id: assigned by the vault");
  ExpectInvalid(Post("/v1/me/records", SyntheticBundle(10), c.token), "Bundle");
  ExpectInvalid(
      Post("/v1/me/records",
           R"({"resourceType": "Patient", "gender": "female"})", c.token),
      "Patient");
  ExpectInvalid(
      Post("/v1/me/records", R"([{"resourceType": "Observation"}])", c.token),
      "resource");
  ExpectInvalid(Post("/v1/me/records", R"({"status": "final"})", c.token),
                "resourceType");
  json bad_meta = HeartRate();
  bad_meta["meta"] = "x";
  ExpectInvalid(Post("/v1/me/records", bad_meta.dump(), c.token), "meta");
  bad_meta["meta"] = {{"tag", "x"}};
  ExpectInvalid(Post("/v1/me/records", bad_meta.dump(), c.token), "meta.tag");
  // Invalid for the vault: a urn:uuid reference has no bundle to resolve in.
  json dangling = HeartRate();
  dangling["subject"] = {
      {"reference", "urn:uuid:0f9c1e52-1111-2222-3333-444455556666"}};
  ExpectInvalid(Post("/v1/me/records", dangling.dump(), c.token), "resource");
  EXPECT_EQ(RecordCount(c.token), 0);
  std::vector<std::string> actions = Actions(c.token);
  EXPECT_EQ(std::count(actions.begin(), actions.end(), "records.add"), 0);
}

TEST_F(CitizenAuditFailureTest, NothingIsReleasedOrStoredWithoutAnEntry) {
  Principal c = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(12), c.token).status, 200);
  const int64_t records = RecordCount(c.token);
  json rec = Get("/v1/me/records?limit=1", c.token).Json()["records"][0];
  const std::string id = rec["id"];

  server_->FailAuditWriteForTesting(1);
  Reply read = Get("/v1/me/records/" + Ref(rec), c.token);
  ExpectAuditUnavailable(read);
  EXPECT_EQ(read.body.find(id), std::string::npos);

  server_->FailAuditWriteForTesting(1);
  Reply list = Get("/v1/me/records", c.token);
  ExpectAuditUnavailable(list);
  EXPECT_EQ(list.body.find(id), std::string::npos);

  server_->FailAuditWriteForTesting(1);
  Reply ex = Get("/v1/me/export", c.token);
  ExpectAuditUnavailable(ex);
  EXPECT_EQ(ex.body.find("Bundle"), std::string::npos);
  EXPECT_EQ(ex.body.find(id), std::string::npos);

  server_->FailAuditWriteForTesting(1);
  ExpectAuditUnavailable(
      Post("/v1/me/consents", kResearchGrant.dump(), c.token));
  EXPECT_EQ(GrantCount(c.token), 0u);

  server_->FailAuditWriteForTesting(1);
  ExpectAuditUnavailable(Post("/v1/me/records", HeartRate().dump(), c.token));
  Principal fresh = NewCitizen();
  server_->FailAuditWriteForTesting(1);
  ExpectAuditUnavailable(
      Post("/v1/me/import", SyntheticBundle(13), fresh.token));
  EXPECT_EQ(RecordCount(fresh.token), 0);
  EXPECT_EQ(RecordCount(c.token), records);

  server_->FailAuditWriteForTesting(1);
  ExpectAuditUnavailable(Put("/v1/me/restrictions",
                             R"({"categories": ["lab-results"]})", c.token));
  EXPECT_EQ(Get("/v1/me/restrictions", c.token).Json()["categories"].size(),
            0u);

  server_->FailAuditWriteForTesting(1);
  ExpectAuditUnavailable(Get("/v1/me/access-log", c.token));

  server_->FailAuditWriteForTesting(1);
  ExpectAuditUnavailable(
      Delete("/v1/me", c.token, json{{"confirm", c.id}}.dump()));
  EXPECT_EQ(RecordCount(c.token), records);  // token and data still there
}

TEST_F(CitizenEraseTest, ErasureNeedsTheOwnIdThenTheTokenAndDataAreGone) {
  Principal c = NewCitizen();
  Principal other = NewCitizen();
  ASSERT_EQ(Post("/v1/me/import", SyntheticBundle(14), c.token).status, 200);
  const int64_t records = RecordCount(c.token);
  ASSERT_GT(records, 0);

  ExpectInvalid(Delete("/v1/me", c.token, json{{"confirm", other.id}}.dump()),
                "confirm");
  ExpectInvalid(Delete("/v1/me", c.token, "{}"), "confirm");
  ExpectInvalid(Delete("/v1/me", c.token,
                       json{{"confirm", c.id}, {"really", true}}.dump()),
                "confirm");
  ExpectInvalid(Delete("/v1/me", c.token), "body");
  EXPECT_EQ(RecordCount(c.token), records);  // nothing erased
  EXPECT_EQ(RecordCount(other.token), 0);

  Reply erased = Delete("/v1/me", c.token, json{{"confirm", c.id}}.dump());
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(erased.Json(), json({{"erased", c.id}}));

  Reply after = Get("/v1/me/records", c.token);
  EXPECT_EQ(after.status, 401);
  EXPECT_EQ(after.ErrorCode(), "unauthenticated");
  EXPECT_EQ(Post("/v1/admin/citizens/" + c.id + "/enrollment-code", "", admin_)
                .status,
            404);
  auto store = vault_->OpenCitizen(c.id);
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
  // The other citizen is untouched, and the erasure is on the record (the
  // log keeps ids only, so the entry outlives the data).
  EXPECT_EQ(Get("/v1/me", other.token).status, 200);
  StopServer();
  auto log = audit::AuditLog::OpenInDirectory(vault_->data_dir(), *vault_);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  audit::ListQuery q;
  q.citizen_id = c.id;
  q.limit = 1;
  auto last = (*log)->List(q);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);
  EXPECT_EQ((*last)[0].entry.action, "citizen.erase");
}

}  // namespace
}  // namespace tillit::testing
