// Bulk Data export (Patient/$export) over real HTTP: the kick-off, polling,
// the manifest and its NDJSON files against what /v1 holds, the filters,
// each caller's view (citizen, provider under grants, app under scopes),
// cancelling, and every refusal.
#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "http_fixture.h"

namespace tillit::testing {
namespace {

class BulkTest : public HttpTest {
 protected:
  std::string ImportedPatient(const Principal& citizen, uint64_t index = 2) {
    const std::string bundle = SyntheticBundle(index);
    Reply r = Post("/v1/me/import", bundle, citizen.token);
    EXPECT_EQ(r.status, 200) << r.body;
    const json parsed = json::parse(bundle);
    for (const json& e : parsed["entry"]) {
      if (e["resource"]["resourceType"] == "Patient")
        return e["resource"]["id"];
    }
    return "";
  }
  Reply Kickoff(const std::string& patient, const std::string& token,
                const std::string& query = "", bool async = true) const {
    httplib::Headers h = Auth(token);
    if (async) h.emplace("Prefer", "respond-async");
    h.emplace("Accept", "application/fhir+json");
    return From(Client()->Get(
        ("/fhir/Patient/" + patient + "/$export" + query).c_str(), h));
  }
  // The path of a URL the server wrote (http://host/fhir/...).
  static std::string PathOf(const std::string& url) {
    return url.substr(url.find("/fhir/"));
  }
  // Polls the status URL until the manifest is there.
  json Manifest(const std::string& status_url, const std::string& token) {
    for (int i = 0; i < 1000; ++i) {
      Reply r = Get(PathOf(status_url), token);
      if (r.status == 200) return r.Json();
      EXPECT_EQ(r.status, 202) << r.body;
      if (r.status != 202) break;
      EXPECT_EQ(r.Header("X-Progress").rfind("read ", 0), 0u);
      EXPECT_FALSE(r.Header("Retry-After").empty());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "the export did not end";
    return json();
  }
  // Every resource of every file of a manifest, checked line by line.
  std::vector<json> Resources(const json& manifest, const std::string& token) {
    std::vector<json> out;
    for (const json& o : manifest["output"]) {
      Reply f = Get(PathOf(o["url"]), token);
      EXPECT_EQ(f.status, 200) << f.body.substr(0, 200);
      EXPECT_EQ(f.Header("Content-Type").substr(0, 23),
                "application/fhir+ndjson");
      std::istringstream lines(f.body);
      size_t n = 0;
      for (std::string line; std::getline(lines, line);) {
        const json r = json::parse(line, nullptr, false);
        EXPECT_TRUE(r.is_object()) << line.substr(0, 100);
        EXPECT_EQ(r["resourceType"], o["type"]);
        out.push_back(r);
        ++n;
      }
      EXPECT_EQ(n, o["count"].get<size_t>());
    }
    return out;
  }
  json Export(const std::string& patient, const std::string& token,
              const std::string& query = "") {
    Reply k = Kickoff(patient, token, query);
    EXPECT_EQ(k.status, 202) << k.body;
    return Manifest(k.Header("Content-Location"), token);
  }
};

TEST_F(BulkTest, ACitizensExportIsTheirWholeRecordInNdjsonPerType) {
  Principal citizen = NewCitizen();
  const std::string patient = ImportedPatient(citizen);
  Reply k = Kickoff(patient, citizen.token);
  ASSERT_EQ(k.status, 202) << k.body;
  const std::string status = k.Header("Content-Location");
  EXPECT_NE(status.find("/fhir/bulk-status/bx_"), std::string::npos);
  const json m = Manifest(status, citizen.token);
  EXPECT_EQ(m["requiresAccessToken"], true);
  EXPECT_NE(
      m["request"].get<std::string>().find("/Patient/" + patient + "/$export"),
      std::string::npos);
  EXPECT_TRUE(m["error"].empty());
  const std::vector<json> all = Resources(m, citizen.token);
  const json counts = Get("/v1/me", citizen.token).Json();
  EXPECT_EQ(static_cast<int64_t>(all.size()), counts["records"].get<int64_t>());
  std::map<std::string, int64_t> by_type;
  for (const json& r : all) ++by_type[r["resourceType"]];
  for (const auto& [type, n] : counts["by_type"].items())
    EXPECT_EQ(by_type[type], n.get<int64_t>()) << type;

  // The files need the token, and are the kicker's alone.
  const std::string file = PathOf(m["output"][0]["url"]);
  EXPECT_EQ(Get(file).status, 401);
  EXPECT_EQ(Get(file, NewCitizen().token).status, 404);
  EXPECT_EQ(Get(PathOf(status), NewCitizen().token).status, 404);
  EXPECT_EQ(
      Get(file.substr(0, file.rfind('/')) + "/Basic.ndjson", citizen.token)
          .status,
      404);
  // Audited as an export.
  bool audited = false;
  for (const json& e : AuditFor(citizen.id, NewAuditor().token))
    audited = audited || e["action"] == "records.export";
  EXPECT_TRUE(audited);

  // Forgotten when deleted.
  Reply gone = Delete(PathOf(status), citizen.token);
  EXPECT_EQ(gone.status, 202);
  EXPECT_EQ(Get(PathOf(status), citizen.token).status, 404);
  EXPECT_EQ(Get(file, citizen.token).status, 404);
  EXPECT_EQ(Delete(PathOf(status), citizen.token).status, 404);
}

TEST_F(BulkTest, TypeAndSinceNarrowTheExport) {
  Principal citizen = NewCitizen();
  const std::string patient = ImportedPatient(citizen);
  const json m = Export(patient, citizen.token,
                        "?_type=Observation,Condition&_outputFormat="
                        "application%2Ffhir%2Bndjson");
  std::set<std::string> types;
  for (const json& o : m["output"]) types.insert(o["type"]);
  EXPECT_EQ(types, (std::set<std::string>{"Condition", "Observation"}));
  // Everything was stored before tomorrow.
  const json later =
      Export(patient, citizen.token, "?_since=2999-01-01T00:00:00Z");
  EXPECT_TRUE(later["output"].empty());
}

TEST_F(BulkTest, BadKickoffsAreRefusedWithNothingStarted) {
  Principal citizen = NewCitizen();
  const std::string patient = ImportedPatient(citizen);
  EXPECT_EQ(Kickoff(patient, citizen.token, "", /*async=*/false).status, 400);
  for (const char* q : {"?_type=Basic", "?_type=", "?_outputFormat=text/csv",
                        "?_since=yesterday", "?_since=ge2020",
                        "?_typeFilter=Observation%3Fcode%3D1", "?x=1"}) {
    Reply r = Kickoff(patient, citizen.token, q);
    EXPECT_EQ(r.status, 400) << q << " " << r.body;
    EXPECT_EQ(r.Json()["resourceType"], "OperationOutcome");
  }
  EXPECT_EQ(Kickoff("nobody", citizen.token).status, 404);
  EXPECT_EQ(Kickoff(patient, NewCitizen().token).status, 404);
  EXPECT_EQ(Kickoff(patient, "").status, 401);
  EXPECT_EQ(Get("/fhir/bulk-status/bx_0", citizen.token).status, 404);
  // Nothing was left running: a good kick-off starts.
  EXPECT_EQ(Kickoff(patient, citizen.token).status, 202);
}

TEST_F(BulkTest, AProviderExportsWhatTheGrantsReleaseWhileTheyHold) {
  Principal citizen = NewCitizen();
  const std::string patient = ImportedPatient(citizen);
  Principal provider = NewProvider();
  // No grant: the patient is unknown to them, and the deny is logged.
  EXPECT_EQ(Kickoff(patient, provider.token).status, 404);

  auto g = consents_->AddGrant(
      citizen.id, json{{"grantee", {{"kind", "provider"}, {"id", provider.id}}},
                       {"purposes", {"DUO:0000043"}},
                       {"categories", {"lab-results"}}}
                      .dump());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  const json m = Export(patient, provider.token);
  const std::vector<json> released = Resources(m, provider.token);
  const json own = Get("/v1/me", citizen.token).Json()["by_category"];
  EXPECT_EQ(static_cast<int64_t>(released.size()), own.value("lab-results", 0));
  for (const json& r : released) EXPECT_EQ(r["resourceType"], "Observation");

  // Once the grant is revoked, the files are gone for them.
  ASSERT_TRUE(consents_->RevokeGrant(citizen.id, g->id).ok());
  EXPECT_EQ(Get(PathOf(m["output"][0]["url"]), provider.token).status, 404);
}

}  // namespace
}  // namespace tillit::testing
