// The FHIR R4 interface (/fhir) over real HTTP: the CapabilityStatement
// kept equal to what the router answers, the citizen's reads and searches
// against what /v1 returns, providers under grants, paging, strict and
// lenient handling, and every error as an OperationOutcome.
#include <map>
#include <set>

#include "http_fixture.h"
#include "tillit/fhir/fhir.h"
#include "tillit/fhir/search.h"

namespace tillit::testing {
namespace {

std::string MediaType(const Reply& r) {
  std::string t = r.Header("Content-Type");
  return t.substr(0, t.find(';'));
}

// The issue code of an OperationOutcome reply, or "" if it is not one.
std::string IssueCode(const Reply& r) {
  const json j = r.Json();
  if (!j.is_object() || j.value("resourceType", "") != "OperationOutcome" ||
      !j.contains("issue") || !j["issue"].is_array() || j["issue"].empty())
    return "";
  return j["issue"][0].value("code", "");
}

json LabObservation(const std::string& id, const std::string& when,
                    const std::string& loinc) {
  return {{"resourceType", "Observation"},
          {"id", id},
          {"status", "final"},
          {"category",
           {{{"coding",
              {{{"system",
                 "http://terminology.hl7.org/CodeSystem/observation-category"},
                {"code", "laboratory"}}}}}}},
          {"code",
           {{"coding", {{{"system", "http://loinc.org"}, {"code", loinc}}}}}},
          {"effectiveDateTime", when},
          {"valueQuantity", {{"value", 6.1}, {"unit", "%"}}}};
}

class FhirTest : public HttpTest {
 protected:
  // A citizen with a token whose records came with a synthetic bundle (so
  // their Patient is linked), and that Patient's id.
  struct Patient {
    Principal citizen;
    std::string patient_id;
  };
  Patient ImportedPatient(uint64_t index) {
    Patient p;
    p.citizen = NewCitizen();
    const std::string bundle = SyntheticBundle(index);
    Reply r = Post("/v1/me/import", bundle, p.citizen.token);
    EXPECT_EQ(r.status, 200) << r.body;
    const json parsed = json::parse(bundle);
    for (const json& e : parsed["entry"]) {
      if (e["resource"]["resourceType"] == "Patient")
        p.patient_id = e["resource"]["id"];
    }
    EXPECT_FALSE(p.patient_id.empty());
    return p;
  }

  // The citizen grants the provider their lab results for care; the
  // grant's id, or "" (a failure) when it was refused.
  std::string GrantLabResults(const std::string& citizen,
                              const std::string& provider) {
    auto g = consents_->AddGrant(
        citizen, json{{"grantee", {{"kind", "provider"}, {"id", provider}}},
                      {"purposes", {"DUO:0000043"}},
                      {"categories", {"lab-results"}}}
                     .dump());
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return g.ok() ? g->id : "";
  }

  Reply Fhir(const std::string& path, const std::string& token,
             httplib::Headers extra = {}) const {
    httplib::Headers h = Auth(token);
    for (const auto& kv : extra) h.insert(kv);
    return From(Client()->Get(path.c_str(), h));
  }

  // Every resource of a search, following `next` links (made relative),
  // checking that each page is a searchset Bundle.
  std::vector<json> AllPages(std::string path, const std::string& token,
                             int* pages = nullptr) const {
    std::vector<json> out;
    for (int n = 0; n < 1000; ++n) {
      Reply r = Fhir(path, token);
      EXPECT_EQ(r.status, 200) << path << " " << r.body.substr(0, 300);
      if (r.status != 200) break;
      EXPECT_EQ(MediaType(r), "application/fhir+json");
      const json b = r.Json();
      EXPECT_EQ(b["resourceType"], "Bundle");
      EXPECT_EQ(b["type"], "searchset");
      for (const json& e : b.value("entry", json::array())) {
        EXPECT_EQ(e["search"]["mode"], "match");
        const json& res = e["resource"];
        EXPECT_EQ(e["fullUrl"].get<std::string>().substr(
                      e["fullUrl"].get<std::string>().find("/fhir/")),
                  "/fhir/" + res["resourceType"].get<std::string>() + "/" +
                      res["id"].get<std::string>());
        out.push_back(res);
      }
      if (pages) *pages = n + 1;
      std::string next;
      for (const json& l : b["link"]) {
        if (l["relation"] == "next") next = l["url"];
      }
      if (next.empty()) break;
      EXPECT_FALSE(b.contains("total")) << "total only when it is cheap";
      path = next.substr(next.find("/fhir/"));
    }
    return out;
  }

  // The citizen's records through /v1, following `next`.
  std::vector<json> V1Records(const std::string& query,
                              const std::string& token) const {
    std::vector<json> out;
    std::string cursor;
    for (;;) {
      std::string path = "/v1/me/records?limit=1000&" + query;
      if (!cursor.empty()) path += "&cursor=" + cursor;
      Reply r = Get(path, token);
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      const json b = r.Json();
      for (const json& rec : b["records"]) out.push_back(rec);
      if (b["next"].is_null()) break;
      cursor = b["next"];
    }
    return out;
  }

  static std::vector<std::string> Ids(const std::vector<json>& resources) {
    std::vector<std::string> out;
    for (const json& r : resources) out.push_back(r["id"]);
    return out;
  }
};

TEST_F(FhirTest, TheCapabilityStatementMatchesWhatTheRouterAnswers) {
  Reply m = Get("/fhir/metadata");  // no token needed
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(MediaType(m), "application/fhir+json");
  const json cs = m.Json();
  EXPECT_EQ(cs["resourceType"], "CapabilityStatement");
  EXPECT_EQ(cs["fhirVersion"], "4.0.1");
  EXPECT_EQ(cs["kind"], "instance");
  ASSERT_EQ(cs["rest"].size(), 1u);
  const json& rest = cs["rest"][0];
  EXPECT_EQ(rest["mode"], "server");

  Patient p = ImportedPatient(0);
  const httplib::Headers strict = {{"Prefer", "handling=strict"}};
  std::set<std::string> types;
  for (const json& res : rest["resource"]) {
    const std::string type = res["type"];
    types.insert(type);
    SCOPED_TRACE(type);
    std::set<std::string> interactions;
    for (const json& i : res["interaction"]) interactions.insert(i["code"]);
    EXPECT_EQ(interactions, (std::set<std::string>{"read", "search-type"}));
    // Each listed parameter is accepted, even strictly, with a value of
    // its type; a read of an absent id is an OperationOutcome 404.
    for (const json& sp : res["searchParam"]) {
      const std::string name = sp["name"];
      const std::string kind = sp["type"];
      std::string value = kind == "date"        ? "ge1900"
                          : kind == "reference" ? "Patient/" + p.patient_id
                                                : "x";
      if (name == "_id") value = "x";
      Reply r = Fhir("/fhir/" + type + "?" + name + "=" + value,
                     p.citizen.token, strict);
      EXPECT_EQ(r.status, 200) << name << ": " << r.body.substr(0, 300);
    }
    Reply bogus = Fhir("/fhir/" + type + "?bogus=1", p.citizen.token, strict);
    EXPECT_EQ(bogus.status, 400);
    EXPECT_EQ(IssueCode(bogus), "invalid");
    Reply absent = Fhir("/fhir/" + type + "/no-such-id", p.citizen.token);
    EXPECT_EQ(absent.status, 404);
    EXPECT_EQ(IssueCode(absent), "not-found");
  }
  // Every type the citizen's records have is listed.
  for (const json& r : V1Records("", p.citizen.token))
    EXPECT_EQ(types.count(r["resourceType"]), 1u) << r["resourceType"];
  // A type not listed is not served.
  Reply basic = Fhir("/fhir/Basic", p.citizen.token);
  EXPECT_EQ(basic.status, 404);
  EXPECT_EQ(IssueCode(basic), "not-found");
}

TEST_F(FhirTest, ACitizenSearchesTheirRecordsAsV1ListsThem) {
  Patient p = ImportedPatient(1);
  const std::string& token = p.citizen.token;

  // Every Observation, in pages of 7, is what /v1 lists, in its order.
  int pages = 0;
  const std::vector<json> fhir_obs = AllPages(
      "/fhir/Observation?patient=" + p.patient_id + "&_count=7", token, &pages);
  const std::vector<json> v1_obs = V1Records("type=Observation", token);
  ASSERT_GT(v1_obs.size(), 14u);
  EXPECT_EQ(Ids(fhir_obs), Ids(v1_obs));
  EXPECT_EQ(pages, static_cast<int>((v1_obs.size() + 6) / 7));
  EXPECT_EQ(fhir_obs, v1_obs);  // the same content

  // One page: the total is given.
  Reply all = Fhir("/fhir/Observation?_count=1000", token);
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.Json()["total"], v1_obs.size());

  // category: the vital signs, as the resources say.
  size_t vital = 0;
  for (const json& o : v1_obs) {
    if (o.dump().find("\"vital-signs\"") != std::string::npos) ++vital;
  }
  ASSERT_GT(vital, 0u);
  const std::vector<json> vitals =
      AllPages("/fhir/Observation?category=vital-signs", token);
  EXPECT_EQ(vitals.size(), vital);
  EXPECT_EQ(AllPages("/fhir/Observation?category=http://terminology.hl7.org/"
                     "CodeSystem/observation-category|vital-signs",
                     token)
                .size(),
            vital);
  EXPECT_TRUE(AllPages("/fhir/Observation?category=|vital-signs", token)
                  .empty());  // they have a system

  // code: system|code of the first Observation.
  const json& coding = v1_obs[0]["code"]["coding"][0];
  const std::string sys = coding["system"], code = coding["code"];
  size_t with_code = 0;
  for (const json& o : v1_obs) {
    for (const json& c : o["code"]["coding"]) {
      if (c["system"] == sys && c["code"] == code) {
        ++with_code;
        break;
      }
    }
  }
  const std::vector<json> coded =
      AllPages("/fhir/Observation?code=" + sys + "|" + code, token);
  EXPECT_EQ(coded.size(), with_code);
  EXPECT_EQ(AllPages("/fhir/Observation?code=" + code, token).size(),
            with_code);

  // date: ge and lt together are /v1's since and until.
  EXPECT_EQ(Ids(AllPages("/fhir/Observation?date=ge2015-01-01&"
                         "date=lt2019-07",
                         token)),
            Ids(V1Records("type=Observation&since=2015-01-01&until=2019-07-01",
                          token)));
  // A zone's '+' left unescaped (it reads as a space) means '+'.
  EXPECT_EQ(Ids(AllPages("/fhir/Observation?date=ge2015-01-01T02:00:00+02:00",
                         token)),
            Ids(AllPages("/fhir/Observation?date=ge2015-01-01", token)));
  // eq with a year's precision is that year.
  EXPECT_EQ(Ids(AllPages("/fhir/Observation?date=2016", token)),
            Ids(V1Records("type=Observation&since=2016&until=2017", token)));

  // _id: exactly those.
  const std::string a = v1_obs[3]["id"], b = v1_obs[5]["id"];
  EXPECT_EQ(Ids(AllPages("/fhir/Observation?_id=" + a + "," + b, token)),
            (std::vector<std::string>{a, b}));
  // Repeated, _id values must all hold: no record has two ids.
  EXPECT_TRUE(
      AllPages("/fhir/Observation?_id=" + a + "&_id=" + b, token).empty());
  EXPECT_EQ(Ids(AllPages("/fhir/Observation?_id=" + a + "," + b + "&_id=" + a,
                         token)),
            (std::vector<std::string>{a}));
  // _sort=-date is the order already; _lastUpdated: all were stored now.
  EXPECT_EQ(AllPages("/fhir/Observation?_sort=-date", token).size(),
            v1_obs.size());
  EXPECT_EQ(AllPages("/fhir/Observation?_lastUpdated=ge2000", token).size(),
            v1_obs.size());
  EXPECT_TRUE(AllPages("/fhir/Observation?_lastUpdated=lt2000", token).empty());

  // Reads: the Patient and a record, as stored.
  Reply patient = Fhir("/fhir/Patient/" + p.patient_id, token);
  ASSERT_EQ(patient.status, 200) << patient.body;
  EXPECT_EQ(MediaType(patient), "application/fhir+json");
  EXPECT_EQ(patient.Json()["id"], p.patient_id);
  Reply one = Fhir("/fhir/Observation/" + a, token);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.Json(), v1_obs[3]);
  // The Patient search without parameters is the citizen's own.
  EXPECT_EQ(Ids(AllPages("/fhir/Patient", token)),
            (std::vector<std::string>{p.patient_id}));
}

TEST_F(FhirTest, EverythingIsTheWholeRecordWithinItsFilters) {
  Patient p = ImportedPatient(2);
  const std::string& token = p.citizen.token;
  const std::string base = "/fhir/Patient/" + p.patient_id + "/$everything";
  const std::vector<json> v1 = V1Records("", token);
  EXPECT_EQ(Ids(AllPages(base + "?_count=40", token)), Ids(v1));
  // _type narrows to those types.
  std::vector<json> want;
  for (const json& r : v1) {
    if (r["resourceType"] == "Condition" || r["resourceType"] == "Patient")
      want.push_back(r);
  }
  EXPECT_EQ(Ids(AllPages(base + "?_type=Condition,Patient", token)), Ids(want));
  // start and end: care in that period, and what has no date.
  std::vector<std::string> in_period;
  for (const json& r : v1) {
    auto parsed = fhir::ParseFhirResource(r.dump());
    ASSERT_TRUE(parsed.ok());
    const int64_t start = *fhir::ParseFhirDateTime("2016-01-01");
    const int64_t end = *fhir::ParseFhirDateTime("2018-01-01");
    if (!parsed->effective ||
        (*parsed->effective >= start && *parsed->effective < end))
      in_period.push_back(r["id"]);
  }
  EXPECT_EQ(Ids(AllPages(base + "?start=2016-01-01&end=2017", token)),
            in_period);
  Reply bad = Fhir(base + "?start=2018&end=2017", token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(IssueCode(bad), "invalid");
  // _since: nothing was stored before 2000.
  EXPECT_EQ(AllPages(base + "?_since=2000-01-01T00:00:00Z", token).size(),
            v1.size());
}

TEST_F(FhirTest, TheSummaryIsAnIpsDocumentOfTheRecords) {
  Patient p = ImportedPatient(8);
  const std::string& token = p.citizen.token;
  const std::string path = "/fhir/Patient/" + p.patient_id + "/$summary";
  // A Condition entered in error is in no section.
  const json wrong = {
      {"resourceType", "Condition"},
      {"id", "wrong-1"},
      {"verificationStatus",
       {{"coding",
         {{{"system",
            "http://terminology.hl7.org/CodeSystem/condition-ver-status"},
           {"code", "entered-in-error"}}}}}},
      {"code", {{"text", "Not this patient's"}}},
      {"subject", {{"reference", "Patient/" + p.patient_id}}},
      {"recordedDate", "2030-01-01"}};
  ASSERT_EQ(Post("/v1/me/import", wrong.dump(), token).status, 200);
  Reply r = Fhir(path, token);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(MediaType(r), "application/fhir+json");
  const json doc = r.Json();
  EXPECT_EQ(doc["resourceType"], "Bundle");
  EXPECT_EQ(doc["type"], "document");
  EXPECT_TRUE(doc.contains("timestamp"));
  EXPECT_EQ(doc["identifier"]["system"], "urn:ietf:rfc:3986");
  const json& composition = doc["entry"][0]["resource"];
  ASSERT_EQ(composition["resourceType"], "Composition");
  EXPECT_EQ(composition["type"]["coding"][0]["code"], "60591-5");
  const std::string subject = composition["subject"]["reference"];
  EXPECT_EQ(subject.substr(subject.find("/fhir/")),
            "/fhir/Patient/" + p.patient_id);
  EXPECT_EQ(doc["entry"][1]["resource"]["resourceType"], "Patient");
  // Every entry's fullUrl is unique, and every section reference is in the
  // Bundle.
  std::set<std::string> in_bundle;
  for (const json& e : doc["entry"]) {
    EXPECT_TRUE(in_bundle.insert(e["fullUrl"]).second) << e["fullUrl"];
    EXPECT_NE(e["resource"]["id"], "wrong-1");
  }
  EXPECT_EQ(in_bundle.count(subject), 1u);
  std::map<std::string, json> sections;
  for (const json& s : composition["section"]) {
    sections[s["code"]["coding"][0]["code"]] = s;
    EXPECT_EQ(s["text"]["status"], "generated");
    EXPECT_EQ(s["text"]["div"].get<std::string>().rfind(
                  "<div xmlns=\"http://www.w3.org/1999/xhtml\">", 0),
              0u);
    for (const json& ref : s.value("entry", json::array()))
      EXPECT_EQ(in_bundle.count(ref["reference"]), 1u) << ref;
  }
  // The three sections IPS requires are always there: problems,
  // allergies, medications; empty ones say so.
  for (const char* code : {"11450-4", "48765-2", "10160-0"}) {
    ASSERT_EQ(sections.count(code), 1u) << code;
    const json& s = sections[code];
    EXPECT_NE(s.contains("entry"), s.contains("emptyReason")) << s.dump();
  }
  // What goes in: the active Conditions are the problems, and every
  // Immunization is listed (the newest 100 at most).
  size_t active = 0, immunizations = 0;
  for (const json& rec : V1Records("", token)) {
    if (rec["resourceType"] == "Immunization") ++immunizations;
    if (rec["resourceType"] == "Condition" &&
        rec.value("clinicalStatus", json::object())
                .value("coding", json::array({json::object()}))[0]
                .value("code", "") == "active")
      ++active;
  }
  EXPECT_EQ(sections["11450-4"].value("entry", json::array()).size(), active);
  if (immunizations > 0) {
    EXPECT_EQ(sections["11369-6"]["entry"].size(),
              std::min<size_t>(immunizations, 100));
  }
  // The read is in the access log; another citizen's summary is 404.
  Principal auditor = NewAuditor();
  EXPECT_EQ(AuditFor(p.citizen.id, auditor.token).back()["action"],
            "records.list");
  Patient other = ImportedPatient(9);
  Reply theirs = Fhir(path, other.citizen.token);
  EXPECT_EQ(theirs.status, 404);
  EXPECT_EQ(IssueCode(theirs), "not-found");
  // A provider's summary holds only what the grants release.
  Principal provider = NewProvider();
  EXPECT_EQ(Fhir(path, provider.token).status, 404);
  ASSERT_FALSE(GrantLabResults(p.citizen.id, provider.id).empty());
  Reply seen = Fhir(path, provider.token);
  ASSERT_EQ(seen.status, 200) << seen.body;
  const json seen_doc = seen.Json();
  for (const json& e : seen_doc["entry"]) {
    const std::string type = e["resource"]["resourceType"];
    if (type == "Composition") continue;
    EXPECT_EQ(fhir::ParseFhirResource(e["resource"].dump())->category,
              fhir::Category::kLabResults)
        << type;
  }
}

TEST_F(FhirTest, AnotherCitizensPatientIsNotFoundLikeAnUnknownOne) {
  Patient a = ImportedPatient(3);
  Patient b = ImportedPatient(4);
  for (const std::string& path :
       {"/fhir/Patient/" + a.patient_id,
        "/fhir/Observation?patient=" + a.patient_id,
        "/fhir/Patient/" + a.patient_id + "/$everything",
        "/fhir/Patient?_id=" + a.patient_id}) {
    SCOPED_TRACE(path);
    Reply other = Fhir(path, b.citizen.token);
    std::string unknown_path = path;
    unknown_path.replace(unknown_path.find(a.patient_id), a.patient_id.size(),
                         "no-such-patient");
    Reply unknown = Fhir(unknown_path, b.citizen.token);
    if (path.find("_id=") != std::string::npos) {
      // A Patient search by id is a filter over the citizen's own: empty.
      EXPECT_EQ(other.status, 200);
      EXPECT_EQ(other.Json()["total"], 0);
      EXPECT_FALSE(other.Json().contains("entry"));
      continue;
    }
    EXPECT_EQ(other.status, 404) << other.body;
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(IssueCode(other), "not-found");
    // The same words, but for the request id.
    auto words = [](const Reply& r) {
      std::string d = r.Json()["issue"][0]["diagnostics"];
      return d.substr(0, d.find(" (request "));
    };
    EXPECT_EQ(words(other), words(unknown));
  }
  // b's own records never show a's.
  for (const json& r : AllPages("/fhir/Observation", b.citizen.token)) {
    EXPECT_EQ(r.dump().find(a.patient_id), std::string::npos);
  }
}

TEST_F(FhirTest, ProvidersSeeWhatTheGrantsReleaseAndTheAccessIsLogged) {
  Patient p = ImportedPatient(5);
  Principal provider = NewProvider();
  Principal auditor = NewAuditor();
  const std::string obs = "/fhir/Observation?patient=" + p.patient_id;

  // No grant: the patient looks unknown, and the deny is logged.
  const size_t before = AuditFor(p.citizen.id, auditor.token).size();
  Reply none = Fhir(obs, provider.token);
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(IssueCode(none), "not-found");
  std::vector<json> log = AuditFor(p.citizen.id, auditor.token);
  ASSERT_EQ(log.size(), before + 1);
  EXPECT_EQ(log.back()["action"], "records.list");
  EXPECT_EQ(log.back()["decision"], "deny");
  EXPECT_EQ(log.back()["actor_id"], provider.id);

  // A search must name the patient; a plain read cannot.
  Reply unnamed = Fhir("/fhir/Observation", provider.token);
  EXPECT_EQ(unnamed.status, 400);
  EXPECT_EQ(IssueCode(unnamed), "invalid");
  Reply unknown = Fhir("/fhir/Observation?patient=nobody", provider.token);
  EXPECT_EQ(unknown.status, 404);

  // A grant of lab results: only those, and no Condition.
  const std::string grant_id = GrantLabResults(p.citizen.id, provider.id);
  ASSERT_FALSE(grant_id.empty());
  std::vector<json> seen = AllPages(obs + "&_count=3", provider.token);
  size_t labs = 0;
  for (const json& r : V1Records("type=Observation", p.citizen.token)) {
    if (std::string(fhir::CategoryName(
            fhir::ParseFhirResource(r.dump())->category)) == "lab-results")
      ++labs;
  }
  ASSERT_GT(labs, 0u);
  EXPECT_EQ(seen.size(), labs);
  for (const json& r : seen) {
    EXPECT_EQ(fhir::ParseFhirResource(r.dump())->category,
              fhir::Category::kLabResults);
  }
  EXPECT_TRUE(
      AllPages("/fhir/Condition?patient=" + p.patient_id, provider.token)
          .empty());
  log = AuditFor(p.citizen.id, auditor.token);
  EXPECT_EQ(log.back()["decision"], "permit");
  EXPECT_EQ(log.back()["grants"], json::array({grant_id}));

  // The Patient is a patient summary record: not under this grant.
  Reply patient = Fhir("/fhir/Patient/" + p.patient_id, provider.token);
  EXPECT_EQ(patient.status, 404);
  // A read of a record by id alone names no patient.
  Reply by_id = Fhir("/fhir/Observation/" + seen[0]["id"].get<std::string>(),
                     provider.token);
  EXPECT_EQ(by_id.status, 404);
  EXPECT_NE(by_id.body.find("patient="), std::string::npos);
  // By search it is found.
  EXPECT_EQ(Ids(AllPages(obs + "&_id=" + seen[0]["id"].get<std::string>(),
                         provider.token)),
            (std::vector<std::string>{seen[0]["id"]}));
  // $everything: the released records only.
  EXPECT_EQ(
      AllPages("/fhir/Patient/" + p.patient_id + "/$everything", provider.token)
          .size(),
      labs);
}

// The effective date a provider cursor (34 hex digits: version 1, then
// effective and sequence as big-endian 64-bit) resumes after.
int64_t CursorEffective(const std::string& cursor) {
  EXPECT_EQ(cursor.size(), 34u) << cursor;
  if (cursor.size() != 34) return 0;
  return static_cast<int64_t>(std::stoull(cursor.substr(2, 16), nullptr, 16));
}

TEST_F(FhirTest, ACursorNeverPointsAtARecordTheProviderMayNotSee) {
  Patient p = ImportedPatient(10);
  Principal provider = NewProvider();
  // The newest three: a lab result, a vital sign (not granted), a lab
  // result.
  json vital = LabObservation("vital-b", "2029-05-17T10:00:00Z", "8867-4");
  vital["category"][0]["coding"][0]["code"] = "vital-signs";
  for (const json& r :
       {LabObservation("lab-a", "2030-01-01T00:00:00Z", "4548-4"), vital,
        LabObservation("lab-c", "2028-01-01T00:00:00Z", "4548-4")}) {
    ASSERT_TRUE(vault_
                    ->Import(r.dump(), vault::ImportFormat::kJson, p.citizen.id,
                             "import")
                    .ok());
  }
  ASSERT_FALSE(GrantLabResults(p.citizen.id, provider.id).empty());
  const int64_t a = *fhir::ParseFhirDateTime("2030-01-01T00:00:00Z");
  // /fhir: page one is lab-a; its next link resumes after lab-a, not at
  // the vital sign that lies between it and lab-c.
  Reply first = Fhir("/fhir/Observation?_count=1&patient=" + p.patient_id,
                     provider.token);
  ASSERT_EQ(first.status, 200) << first.body;
  const json b = first.Json();
  ASSERT_EQ(b["entry"][0]["resource"]["id"], "lab-a");
  std::string next;
  for (const json& l : b["link"]) {
    if (l["relation"] == "next") next = l["url"];
  }
  const std::string cursor = next.substr(next.find("_cursor=") + 8);
  EXPECT_EQ(CursorEffective(cursor), a);
  std::vector<json> rest =
      AllPages(next.substr(next.find("/fhir/")), provider.token);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest[0]["id"], "lab-c");
  // /v1 the same.
  Reply v1 =
      Get("/v1/patients/" + p.citizen.id + "/records?limit=1", provider.token);
  ASSERT_EQ(v1.status, 200) << v1.body;
  ASSERT_EQ(v1.Json()["records"][0]["id"], "lab-a");
  EXPECT_EQ(CursorEffective(v1.Json()["next"]), a);
  Reply v1_next =
      Get("/v1/patients/" + p.citizen.id +
              "/records?limit=1&cursor=" + v1.Json()["next"].get<std::string>(),
          provider.token);
  EXPECT_EQ(v1_next.Json()["records"][0]["id"], "lab-c");
}

TEST_F(FhirTest, ErrorsAreOperationOutcomes) {
  Patient p = ImportedPatient(6);
  const std::string& token = p.citizen.token;
  struct Case {
    Reply reply;
    int status;
    std::string code;
  };
  Principal researcher = NewResearcher();
  std::vector<Case> cases = {
      {Fhir("/fhir/Observation", ""), 401, "login"},
      {Fhir("/fhir/Observation", "not-a-token"), 401, "login"},
      {Fhir("/fhir/Observation", researcher.token), 403, "forbidden"},
      {Fhir("/fhir/Observation/a/b", token), 404, "not-found"},
      {Fhir("/fhir/Observation?date=2021-13", token), 400, "invalid"},
      {Fhir("/fhir/Observation?date=sa2021", token), 400, "invalid"},
      {Fhir("/fhir/Observation?_count=0", token), 400, "invalid"},
      {Fhir("/fhir/Observation?_cursor=zz", token), 400, "invalid"},
      {Fhir("/fhir/Observation?code=", token), 400, "invalid"},
      {Fhir("/fhir/Observation?patient=Group/x", token), 400, "invalid"},
      {Fhir("/fhir/Observation?_format=xml", token), 406, "not-supported"},
      {Fhir("/fhir/Observation", token, {{"Accept", "application/fhir+xml"}}),
       406, "not-supported"},
      {Fhir("/fhir/Observation?_sort=date", token,
            {{"Prefer", "handling=strict"}}),
       400, "invalid"},
      {Fhir("/fhir/Observation/x?_elements=id", token,
            {{"Prefer", "handling=strict"}}),
       400, "invalid"},
      {Fhir(
           "/fhir/Observation?code=" +
               [] {
                 std::string many = "c0";
                 for (int i = 1; i <= 100; ++i)
                   many += ",c" + std::to_string(i);
                 return many;
               }(),
           token),
       400, "invalid"},
      {From(Client()->Post("/fhir/Observation", Auth(token), "{}",
                           "application/fhir+json")),
       405, "not-supported"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.reply.body.substr(0, 300));
    EXPECT_EQ(c.reply.status, c.status);
    EXPECT_EQ(MediaType(c.reply), "application/fhir+json");
    EXPECT_EQ(IssueCode(c.reply), c.code);
    const json j = c.reply.Json();
    EXPECT_EQ(j["issue"][0]["severity"], "error");
    EXPECT_NE(j["issue"][0]["diagnostics"].get<std::string>().find(
                  c.reply.Header("X-Request-Id")),
              std::string::npos);
  }
  // /v1 keeps its own error shape.
  EXPECT_EQ(Get("/v1/me/records?bogus=1", token).ErrorCode(),
            "invalid_argument");

  // Lenient (the default): unknown parameters are ignored and reported.
  Reply lenient = Fhir("/fhir/Observation?_count=2&_elements=id&_sort=date",
                       token, {{"Accept", "application/fhir+json"}});
  ASSERT_EQ(lenient.status, 200) << lenient.body;
  const json b = lenient.Json();
  const json& last = b["entry"].back();
  EXPECT_EQ(last["search"]["mode"], "outcome");
  EXPECT_EQ(last["resource"]["resourceType"], "OperationOutcome");
  EXPECT_EQ(last["resource"]["issue"].size(), 2u);
  EXPECT_EQ(last["resource"]["issue"][0]["severity"], "warning");
  EXPECT_EQ(b["entry"].size(), 3u);  // two matches and the outcome

  // The audit log cannot be written: nothing is released.
  server_->FailAuditWriteForTesting(1);
  Reply failed = Fhir("/fhir/Observation", token);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(IssueCode(failed), "transient");
  EXPECT_EQ(failed.body.find("\"Observation\""), std::string::npos);
}

TEST_F(FhirTest, CitizenReadsAreInTheirAccessLog) {
  Patient p = ImportedPatient(7);
  Principal auditor = NewAuditor();
  const json lab = LabObservation("lab-1", "2021-03-04T10:00:00Z", "4548-4");
  ASSERT_EQ(Post("/v1/me/import", lab.dump(), p.citizen.token).status, 200);
  const size_t before = AuditFor(p.citizen.id, auditor.token).size();
  ASSERT_EQ(Fhir("/fhir/Observation/lab-1", p.citizen.token).status, 200);
  ASSERT_EQ(Fhir("/fhir/Observation?code=4548-4", p.citizen.token).status, 200);
  // An absent record reads nothing and logs nothing.
  ASSERT_EQ(Fhir("/fhir/Observation/absent", p.citizen.token).status, 404);
  const std::vector<json> log = AuditFor(p.citizen.id, auditor.token);
  ASSERT_EQ(log.size(), before + 2);
  EXPECT_EQ(log[before]["action"], "records.read");
  EXPECT_EQ(log[before]["categories"], json::array({"lab-results"}));
  EXPECT_EQ(log[before + 1]["action"], "records.list");
  EXPECT_EQ(log[before + 1]["actor_id"], p.citizen.id);
  EXPECT_EQ(log[before + 1]["categories"], json::array({"lab-results"}));
}

}  // namespace
}  // namespace tillit::testing
