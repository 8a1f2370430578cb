#include "tillit/research/deidentify.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tillit/fhir/fhir.h"

namespace tillit::research {
namespace {

using json = nlohmann::json;

crypto::SecretBytes Key(char fill) {
  return crypto::SecretBytes::CopyFrom(std::string(32, fill));
}

// The pseudonyms of a study whose key is 32 bytes of `fill`.
Pseudonymiser Pseudonyms(char fill) {
  StatusOr<Pseudonymiser> p = Pseudonymiser::Create(Key(fill));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

bool IsPseudonym(const std::string& s) {
  static const std::regex kForm("[0-9a-f]{32}");
  return std::regex_match(s, kForm);
}

json Clean(const json& in, const Pseudonymiser& p,
           std::string_view citizen = "cit-1",
           std::string_view patient = "pat-1") {
  StatusOr<json> out = Deidentify(in, citizen, patient, p);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : json();
}

// ---- Deidentify on hand-made resources -------------------------------------

TEST(DeidentifyTest, RejectsWhatIsNotAResource) {
  const Pseudonymiser p = Pseudonyms('k');
  for (const json& bad :
       {json::array(), json("Patient"), json(3), json(nullptr), json::object(),
        json{{"id", "x"}}, json{{"resourceType", 7}},
        json{{"resourceType", "patient"}}, json{{"resourceType", ""}},
        json{{"resourceType", "Observation"}, {"id", 12}}}) {
    StatusOr<json> out = Deidentify(bad, "cit-1", "pat-1", p);
    ASSERT_FALSE(out.ok()) << bad.dump();
    EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(DeidentifyTest, PatientIsMinimised) {
  const Pseudonymiser p = Pseudonyms('k');
  const json patient = json::parse(R"({
    "resourceType": "Patient", "id": "pat-1",
    "meta": {"versionId": "3", "lastUpdated": "2020-01-01T00:00:00Z",
             "source": "provider-42",
             "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"],
             "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}],
             "tag": [{"system": "https://smarthealthit.org/tags", "code": "synthea-5-2019"},
                     {"system": "https://tillit.health/source", "code": "citizen",
                      "display": "Entered by the citizen"}]},
    "text": {"status": "generated", "div": "<div>Zachary Kutch</div>"},
    "extension": [
      {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
       "extension": [{"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3", "display": "White"}},
                     {"url": "text", "valueString": "White-ish by self-report"}]},
      {"url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName", "valueString": "Noemi Kassulke"},
      {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"},
      {"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
       "valueAddress": {"city": "Fitchburg", "state": "Massachusetts", "country": "US"}},
      {"url": "http://synthetichealth.github.io/synthea/quality-adjusted-life-years", "valueDecimal": 38.02}],
    "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-39-6364"}],
    "name": [{"use": "official", "family": "Kutch", "given": ["Zachary"], "prefix": ["Mr."]}],
    "telecom": [{"system": "phone", "value": "555-260-7657", "use": "home"}],
    "gender": "male",
    "birthDate": "1972-11-25",
    "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime", "valueDateTime": "1972-11-25T04:12:00Z"}]},
    "deceasedDateTime": "2019-02-03T10:00:00+01:00",
    "address": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                                "extension": [{"url": "latitude", "valueDecimal": 42.58}]}],
                 "line": ["888 Hickle Ferry Suite 38"], "city": "Springfield",
                 "state": "Massachusetts", "postalCode": "01106", "country": "US"}],
    "maritalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}], "text": "M"},
    "multipleBirthInteger": 3,
    "photo": [{"contentType": "image/jpeg", "data": "AAAA"}],
    "contact": [{"name": {"family": "Kassulke"}, "telecom": [{"value": "555-1"}]}],
    "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}], "text": "English"}}],
    "generalPractitioner": [{"reference": "Practitioner/pr-1", "display": "Dr. Mariam Gleason"}],
    "managingOrganization": {"reference": "Organization/org-1", "display": "MOUNT AUBURN HOSPITAL"}
  })");
  const json out = Clean(patient, p);
  const std::string text = out.dump();
  EXPECT_EQ(out["id"], p.Citizen("cit-1"));
  EXPECT_EQ(out["birthDate"], "1972");
  EXPECT_EQ(out["deceasedDateTime"], "2019");
  EXPECT_EQ(out["gender"], "male");
  EXPECT_EQ(out["multipleBirthBoolean"], true);
  EXPECT_FALSE(out.contains("multipleBirthInteger"));
  EXPECT_EQ(out["address"], json::parse(R"([{"country": "US"}])"));
  EXPECT_EQ(out["meta"], json::parse(R"({
      "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"],
      "tag": [{"system": "https://tillit.health/source", "code": "citizen"}]})"));
  EXPECT_EQ(out["extension"], json::parse(R"([
      {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
       "extension": [{"url": "ombCategory", "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3", "display": "White"}}]},
      {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "M"}])"));
  EXPECT_EQ(out["maritalStatus"], patient["maritalStatus"]);
  EXPECT_EQ(out["communication"], patient["communication"]);
  EXPECT_EQ(out["generalPractitioner"],
            json::array({{{"reference",
                           "Practitioner/" +
                               p.Resource("cit-1", "Practitioner", "pr-1")}}}));
  EXPECT_EQ(
      out["managingOrganization"],
      json({{"reference",
             "Organization/" + p.Resource("cit-1", "Organization", "org-1")}}));
  for (const char* gone : {"name", "telecom", "identifier", "photo", "contact",
                           "text", "_birthDate"}) {
    EXPECT_FALSE(out.contains(gone)) << gone;
  }
  for (const char* secret : {"Zachary",      "Kutch",
                             "Kassulke",     "999-39-6364",
                             "555-260-7657", "Fitchburg",
                             "Springfield",  "Hickle",
                             "01106",        "Massachusetts",
                             "42.58",        "11-25",
                             "provider-42",  "synthea-5-2019",
                             "pat-1",        "pr-1",
                             "org-1",        "Gleason",
                             "AUBURN",       "White-ish",
                             "38.02",        "Mr."}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
}

TEST(DeidentifyTest, AnotherPatientIsNotTheCitizen) {
  const Pseudonymiser p = Pseudonyms('k');
  const json out =
      Clean(json{{"resourceType", "Patient"}, {"id", "mother"}}, p);
  EXPECT_EQ(out["id"], p.Resource("cit-1", "Patient", "mother"));
  // Without a patient id nothing becomes the citizen by accident.
  const json none =
      Clean(json{{"resourceType", "Patient"}, {"id", ""}}, p, "cit-1", "");
  EXPECT_EQ(none["id"], p.Resource("cit-1", "Patient", ""));
}

TEST(DeidentifyTest, ReferencesOfEveryForm) {
  const Pseudonymiser p = Pseudonyms('k');
  const json eob = json::parse(R"({
    "resourceType": "ExplanationOfBenefit", "id": "eob-1",
    "contained": [
      {"resourceType": "ServiceRequest", "id": "referral",
       "subject": {"reference": "Patient/pat-1"},
       "requester": {"reference": "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999912345"}},
      {"resourceType": "Coverage", "id": "coverage", "payor": [{"display": "Acme Insurance"}]}],
    "identifier": [{"system": "https://bluebutton.cms.gov/resources/variables/clm_id", "value": "claim-id-77"}],
    "patient": {"reference": "Patient/pat-1/_history/4"},
    "provider": {"reference": "Organization?identifier=https://github.com/synthetichealth/synthea|a1b2c3d4-aaaa", "display": "GOOD HOSPITAL"},
    "referral": {"reference": "#referral"},
    "claim": {"reference": "Claim/claim-1", "identifier": {"value": "claim-id-77"}},
    "facility": {"reference": "urn:uuid:0b7c1f36-6b9c-4c1e-9f3e-8d2f2a1f0000"},
    "enterer": {"reference": "https://other.example/fhir/Practitioner/pr-99"},
    "insurer": {"reference": "urn:oid:1.2.3.4.5.6"},
    "payee": {"party": {"reference": "acme-logical-name", "type": "Organization"}},
    "insurance": [{"focal": true, "coverage": {"reference": "#coverage", "display": "private"}}]
  })");
  const json out = Clean(eob, p);
  const std::string text = out.dump();
  EXPECT_EQ(out["id"], p.Resource("cit-1", "ExplanationOfBenefit", "eob-1"));
  EXPECT_EQ(out["patient"]["reference"], "Patient/" + p.Citizen("cit-1"));
  EXPECT_EQ(out["contained"][0]["subject"]["reference"],
            "Patient/" + p.Citizen("cit-1"));
  const std::string referral = p.Resource("cit-1", "#", "referral");
  EXPECT_EQ(out["contained"][0]["id"], referral);
  EXPECT_EQ(out["referral"]["reference"], "#" + referral);
  EXPECT_EQ(out["insurance"][0]["coverage"]["reference"],
            "#" + std::string(out["contained"][1]["id"]));
  EXPECT_FALSE(out["insurance"][0]["coverage"].contains("display"));
  EXPECT_EQ(out["claim"],
            json({{"reference",
                   "Claim/" + p.Resource("cit-1", "Claim", "claim-1")}}));
  EXPECT_EQ(
      out["provider"],
      json({{"reference",
             "Organization/" +
                 p.Resource("cit-1", "Organization",
                            std::string(eob["provider"]["reference"]))}}));
  EXPECT_TRUE(std::regex_match(
      std::string(out["contained"][0]["requester"]["reference"]),
      std::regex("Practitioner/[0-9a-f]{32}")));
  EXPECT_TRUE(std::regex_match(
      std::string(out["facility"]["reference"]),
      std::regex("urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                 "[0-9a-f]{12}")));
  EXPECT_TRUE(std::regex_match(std::string(out["enterer"]["reference"]),
                               std::regex("Practitioner/[0-9a-f]{32}")));
  EXPECT_FALSE(out.contains("insurer"));  // urn:oid without a type: removed
  EXPECT_EQ(out["payee"]["party"]["type"], "Organization");
  EXPECT_TRUE(std::regex_match(std::string(out["payee"]["party"]["reference"]),
                               std::regex("Organization/[0-9a-f]{32}")));
  EXPECT_FALSE(out.contains("identifier"));
  EXPECT_FALSE(out["claim"].contains("identifier"));
  for (const char* secret :
       {"9999912345", "us-npi", "a1b2c3d4", "synthetichealth", "GOOD HOSPITAL",
        "claim-id-77", "0b7c1f36", "other.example", "pr-99", "1.2.3.4.5.6",
        "acme", "Acme", "pat-1", "eob-1", "claim-1", "_history", "display"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  // Equal targets give equal references, in this resource and others.
  const json again = Clean(eob, p);
  EXPECT_EQ(again, out);
}

TEST(DeidentifyTest, FreeTextIsRemoved) {
  const Pseudonymiser p = Pseudonyms('k');
  const json obs = json::parse(R"({
    "resourceType": "Observation", "id": "o-1", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "72166-2", "display": "Tobacco smoking status"}], "text": "Tobacco smoking status"},
    "valueString": "Mrs Smith says she quit",
    "note": [{"authorString": "Dr Who", "text": "call back on 555-0100"}],
    "component": [{"code": {"text": "free"}, "valueString": "lives at 1 Main St"},
                  {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                   "valueQuantity": {"value": 120, "unit": "mm[Hg]"}}],
    "performer": [{"reference": "Practitioner/pr-1", "display": "Dr Who"}]
  })");
  const json out = Clean(obs, p);
  EXPECT_EQ(out["code"], obs["code"]);
  EXPECT_FALSE(out.contains("valueString"));
  EXPECT_FALSE(out.contains("note"));
  EXPECT_EQ(out["component"][0], json({{"code", {{"text", "free"}}}}));
  EXPECT_EQ(out["component"][1], obs["component"][1]);
  const std::string text = out.dump();
  for (const char* secret : {"Smith", "Dr Who", "555-0100", "Main St"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }

  const json report = json::parse(R"({
    "resourceType": "DiagnosticReport", "id": "dr-1", "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "34117-2"}]},
    "conclusion": "Patient John Doe is fine",
    "conclusionCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "281900007"}]}],
    "presentedForm": [{"contentType": "text/plain", "data": "Sm9obiBEb2U="}]
  })");
  const json report_out = Clean(report, p);
  EXPECT_FALSE(report_out.contains("conclusion"));
  EXPECT_FALSE(report_out.contains("presentedForm"));
  EXPECT_EQ(report_out["conclusionCode"], report["conclusionCode"]);

  const json document = json::parse(R"({
    "resourceType": "DocumentReference", "id": "doc-1", "status": "current",
    "masterIdentifier": {"value": "urn:oid:9.8.7"},
    "description": "Letter about John Doe",
    "content": [{"attachment": {"contentType": "application/pdf", "language": "en",
                                "data": "JVBERi0=", "url": "https://files.example/john.pdf",
                                "title": "John Doe letter", "hash": "abcd", "size": 4,
                                "creation": "2020-01-02"},
                 "format": {"system": "urn:oid:1.3.6.1.4.1.19376.1.2.3", "code": "urn:ihe:pcc:xphr:2007"}}]
  })");
  const json document_out = Clean(document, p);
  EXPECT_EQ(document_out["content"][0]["attachment"],
            json({{"contentType", "application/pdf"},
                  {"language", "en"},
                  {"creation", "2020-01-02"}}));
  EXPECT_EQ(document_out["content"][0]["format"],
            document["content"][0]["format"]);
  EXPECT_FALSE(document_out.contains("masterIdentifier"));
  EXPECT_FALSE(document_out.contains("description"));

  const json request = json::parse(R"({
    "resourceType": "MedicationRequest", "id": "mr-1", "status": "active", "intent": "order",
    "dosageInstruction": [{"sequence": 1, "text": "take two for John",
                           "patientInstruction": "ring John",
                           "additionalInstruction": [{"coding": [{"system": "http://snomed.info/sct", "code": "418577003"}], "text": "Take at regular intervals"}],
                           "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]
  })");
  const json request_out = Clean(request, p);
  const json& dosage = request_out["dosageInstruction"][0];
  EXPECT_FALSE(dosage.contains("text"));
  EXPECT_FALSE(dosage.contains("patientInstruction"));
  EXPECT_EQ(dosage["additionalInstruction"],
            request["dosageInstruction"][0]["additionalInstruction"]);
  EXPECT_EQ(dosage["timing"], request["dosageInstruction"][0]["timing"]);
}

TEST(DeidentifyTest, ProvidersLoseNamesAndContacts) {
  const Pseudonymiser p = Pseudonyms('k');
  const json practitioner = json::parse(R"({
    "resourceType": "Practitioner", "id": "pr-1", "active": true,
    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "10"}],
    "name": [{"family": "Gleason", "given": ["Mariam"], "prefix": ["Dr."]}],
    "address": [{"line": ["330 MOUNT AUBURN STREET"], "city": "CAMBRIDGE", "state": "MA", "postalCode": "02138", "country": "US"}],
    "gender": "female", "birthDate": "1960-05-05"
  })");
  EXPECT_EQ(Clean(practitioner, p),
            json({{"resourceType", "Practitioner"},
                  {"id", p.Resource("cit-1", "Practitioner", "pr-1")},
                  {"active", true},
                  {"address", json::array({{{"country", "US"}}})},
                  {"gender", "female"},
                  {"birthDate", "1960"}}));
  const json organization = json::parse(R"({
    "resourceType": "Organization", "id": "org-1", "active": true,
    "identifier": [{"system": "https://github.com/synthetichealth/synthea", "value": "org-1"}],
    "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "prov"}], "text": "Healthcare Provider"}],
    "name": "MOUNT AUBURN HOSPITAL", "alias": ["MAH"],
    "telecom": [{"system": "phone", "value": "6174923500"}],
    "address": [{"line": ["330 MOUNT AUBURN STREET"], "city": "CAMBRIDGE", "postalCode": "02138"}]
  })");
  EXPECT_EQ(Clean(organization, p),
            json({{"resourceType", "Organization"},
                  {"id", p.Resource("cit-1", "Organization", "org-1")},
                  {"active", true},
                  {"type", organization["type"]}}));
}

TEST(DeidentifyTest, ImagingUidsArePseudonymised) {
  const Pseudonymiser p = Pseudonyms('k');
  const json study = json::parse(R"({
    "resourceType": "ImagingStudy", "id": "is-1", "status": "available",
    "identifier": [{"use": "official", "system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.840.99999999.1.1"}],
    "series": [{"uid": "1.2.840.99999999.1.2", "number": 1,
                "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "DX"},
                "instance": [{"uid": "1.2.840.99999999.1.3", "number": 1, "title": "Image of John",
                              "sopClass": {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.1.1"}}]}]
  })");
  const json out = Clean(study, p);
  const std::string series_uid = out["series"][0]["uid"];
  const std::string instance_uid = out["series"][0]["instance"][0]["uid"];
  const std::regex uid("2\\.25\\.(0|[1-9][0-9]*)");
  EXPECT_TRUE(std::regex_match(series_uid, uid)) << series_uid;
  EXPECT_TRUE(std::regex_match(instance_uid, uid)) << instance_uid;
  EXPECT_LE(series_uid.size(), 64u);  // DICOM's limit
  EXPECT_NE(series_uid, instance_uid);
  EXPECT_EQ(Clean(study, p), out);
  EXPECT_FALSE(out["series"][0]["instance"][0].contains("title"));
  EXPECT_EQ(out.dump().find("99999999"), std::string::npos);
}

// ---- The 32 Synthea fixtures ----------------------------------------------

struct Citizen {
  std::string id;          // the vault's citizen id (made up here)
  std::string patient_id;  // the Patient's id in the bundle
  std::vector<fhir::ParsedResource> resources;
};

struct Fixtures {
  std::vector<Citizen> citizens;
  // Strings of the source bundles that must not reach a release.
  std::set<std::string> secrets;
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void AddSecret(const json& value, std::set<std::string>& secrets) {
  if (value.is_string()) secrets.insert(value.get<std::string>());
  if (value.is_array()) {
    for (const json& v : value) AddSecret(v, secrets);
  }
}

// Every identifying string of one source bundle: names, address parts,
// telecom and identifier values, ids and fullUrls, reference displays of
// people and organisations, free-text extensions, DICOM uids.
void CollectSecrets(const json& bundle, std::set<std::string>& secrets) {
  for (const json& entry : bundle["entry"]) {
    const std::string full_url = entry.value("fullUrl", "");
    if (!full_url.empty()) {
      secrets.insert(full_url);
      secrets.insert(full_url.substr(full_url.rfind(':') + 1));
    }
    const json& r = entry["resource"];
    const std::string type = r["resourceType"];
    secrets.insert(r.value("id", ""));
    for (const json& id : r.value("identifier", json::array())) {
      AddSecret(id["value"], secrets);
    }
    for (const json& name : r.value("name", json::array())) {
      if (!name.is_object()) continue;
      AddSecret(name.value("family", json()), secrets);
      AddSecret(name.value("given", json()), secrets);
    }
    if (type == "Organization") AddSecret(r["name"], secrets);
    for (const json& t : r.value("telecom", json::array())) {
      AddSecret(t["value"], secrets);
    }
    for (const json& a : r.value("address", json::array())) {
      AddSecret(a.value("line", json()), secrets);
      AddSecret(a.value("city", json()), secrets);
      AddSecret(a.value("postalCode", json()), secrets);
    }
    if (type == "Patient") {
      secrets.insert("\"" + r["birthDate"].get<std::string>() + "\"");
      for (const json& e : r["extension"]) {
        AddSecret(e.value("valueString", json()), secrets);  // maiden name
        if (e.contains("valueAddress")) {
          AddSecret(e["valueAddress"].value("city", json()), secrets);
        }
      }
    }
    if (type == "ImagingStudy") {
      for (const json& s : r["series"]) {
        secrets.insert(s["uid"].get<std::string>());
        for (const json& i : s["instance"]) {
          secrets.insert(i["uid"].get<std::string>());
        }
      }
    }
  }
}

const Fixtures& LoadFixtures() {
  static const Fixtures* fixtures = [] {
    auto* f = new Fixtures;
    std::vector<std::filesystem::path> files;
    for (const auto& e :
         std::filesystem::directory_iterator(TILLIT_FIXTURES_DIR)) {
      if (e.path().extension() == ".json") files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i < files.size(); ++i) {
      const std::string bytes = ReadFile(files[i]);
      CollectSecrets(json::parse(bytes), f->secrets);
      StatusOr<fhir::ParsedDocument> doc = fhir::ParseFhirDocument(bytes);
      if (!doc.ok()) {
        ADD_FAILURE() << files[i] << ": " << doc.status().ToString();
        continue;
      }
      Citizen c;
      c.id = "cit-" + std::to_string(i);
      if (doc->patient_index) {
        c.patient_id = doc->resources[*doc->patient_index].id;
      }
      c.resources = std::move(doc->resources);
      f->citizens.push_back(std::move(c));
    }
    f->secrets.erase("");
    return f;
  }();
  return *fixtures;
}

// One citizen's release: NDJSON lines and the parsed resources.
struct Released {
  std::vector<std::string> lines;
  std::vector<json> resources;
};

Released Release(const Citizen& c, const Pseudonymiser& p) {
  Released out;
  for (const fhir::ParsedResource& r : c.resources) {
    StatusOr<json> clean =
        Deidentify(json::parse(r.json), c.id, c.patient_id, p);
    EXPECT_TRUE(clean.ok()) << r.type << ": " << clean.status().ToString();
    if (!clean.ok()) continue;
    out.lines.push_back(clean->dump());
    out.resources.push_back(std::move(clean).value());
  }
  return out;
}

void CollectStrings(const json& v, std::set<std::string>& out) {
  if (v.is_string()) out.insert(v.get<std::string>());
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      out.insert(it.key());
      CollectStrings(it.value(), out);
    }
  }
  if (v.is_array()) {
    for (const json& e : v) CollectStrings(e, out);
  }
}

void CollectReferences(const json& v, std::vector<std::string>& out) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "reference" && it.value().is_string()) {
        out.push_back(it.value());
      } else {
        CollectReferences(it.value(), out);
      }
    }
  }
  if (v.is_array()) {
    for (const json& e : v) CollectReferences(e, out);
  }
}

TEST(DeidentifyFixturesTest, AllFixturesLoad) {
  const Fixtures& f = LoadFixtures();
  EXPECT_EQ(f.citizens.size(), 32u);
  for (const Citizen& c : f.citizens) EXPECT_FALSE(c.patient_id.empty());
  EXPECT_GT(f.secrets.size(), 5000u);
}

bool AllOf(const std::string& s, int (*pred)(int)) {
  return std::all_of(s.begin(), s.end(), [pred](char c) {
    return pred(static_cast<unsigned char>(c)) != 0;
  });
}

TEST(DeidentifyFixturesTest, NoIdentifyingStringSurvives) {
  const Fixtures& f = LoadFixtures();
  // Three checks, so that short or common secrets give no false positives:
  //  - `anywhere`: ids, fullUrls, identifier and telecom values, address
  //    lines, quoted birth dates (6+ bytes, not a single word or number)
  //    are searched for at every byte of every line, indexed by their
  //    first kWindow bytes;
  //  - `tokens`: single-word names and cities, and long numbers, must not
  //    be a maximal run of letters and digits anywhere in a line (the
  //    practitioner "America" is inside "American house dust mite", the
  //    claim group 99999999999 inside the amount 112.41199999999999);
  //  - `strings`: every secret of 3+ bytes (postal codes, NPI numbers) must
  //    not be a whole JSON string of the output.
  constexpr size_t kWindow = 6;
  std::unordered_map<std::string, std::vector<const std::string*>> anywhere;
  std::set<std::string, std::less<>> tokens;
  std::set<std::string> strings;
  for (const std::string& s : f.secrets) {
    if (s.size() < 3) continue;  // NPI numbers 0, 10, 40, ...
    strings.insert(s);
    const bool letters = AllOf(s, std::isalpha);
    const bool digits = AllOf(s, std::isdigit);
    if (letters || (digits && s.size() >= kWindow)) {
      tokens.insert(s);
    } else if (!digits && s.size() >= kWindow) {
      anywhere[s.substr(0, kWindow)].push_back(&s);
    }
  }
  const Pseudonymiser p = Pseudonyms('k');
  size_t bytes = 0, lines = 0;
  for (const Citizen& c : f.citizens) {
    const Released r = Release(c, p);
    for (size_t i = 0; i < r.lines.size(); ++i) {
      const std::string& line = r.lines[i];
      bytes += line.size();
      ++lines;
      for (size_t pos = 0; pos + kWindow <= line.size(); ++pos) {
        const auto hit = anywhere.find(line.substr(pos, kWindow));
        if (hit == anywhere.end()) continue;
        for (const std::string* secret : hit->second) {
          EXPECT_NE(line.compare(pos, secret->size(), *secret), 0)
              << c.id << " leaks \"" << *secret << "\" in " << line;
        }
      }
      for (size_t pos = 0; pos < line.size();) {
        size_t end = pos;
        while (end < line.size() &&
               std::isalnum(static_cast<unsigned char>(line[end]))) {
          ++end;
        }
        if (end > pos) {
          const std::string_view token(line.data() + pos, end - pos);
          EXPECT_EQ(tokens.count(token), 0u)
              << c.id << " leaks \"" << token << "\" in " << line;
          pos = end;
        } else {
          ++pos;
        }
      }
      std::set<std::string> values;
      CollectStrings(r.resources[i], values);
      for (const std::string& v : values) {
        EXPECT_EQ(strings.count(v), 0u)
            << c.id << " leaks \"" << v << "\" in " << line;
      }
    }
  }
  EXPECT_GT(anywhere.size(), 5000u);
  EXPECT_GT(tokens.size(), 100u);
  EXPECT_GT(lines, 6000u);
  EXPECT_GT(bytes, 1000000u);
}

TEST(DeidentifyFixturesTest, ReferencesResolveInsideTheRelease) {
  const Fixtures& f = LoadFixtures();
  const Pseudonymiser p = Pseudonyms('k');
  const std::regex kRelative("([A-Z][A-Za-z]+)/([0-9a-f]{32})");
  size_t checked = 0;
  for (const Citizen& c : f.citizens) {
    const Released r = Release(c, p);
    std::set<std::string> ids;  // "Type/id" released for this citizen
    for (const json& resource : r.resources) {
      const std::string id = resource["id"];
      EXPECT_TRUE(IsPseudonym(id)) << id;
      EXPECT_TRUE(
          ids.insert(std::string(resource["resourceType"]) + "/" + id).second)
          << "two resources share " << id;
    }
    EXPECT_EQ(ids.count("Patient/" + p.Citizen(c.id)), 1u) << c.id;
    for (const json& resource : r.resources) {
      std::set<std::string> contained;
      for (const json& cr : resource.value("contained", json::array())) {
        contained.insert("#" + cr["id"].get<std::string>());
      }
      std::vector<std::string> refs;
      CollectReferences(resource, refs);
      for (const std::string& ref : refs) {
        ++checked;
        if (ref.starts_with("#")) {
          EXPECT_EQ(contained.count(ref), 1u) << ref;
          continue;
        }
        // Synthea bundles reference only their own entries, so every
        // reference must resolve to a released resource of the citizen.
        EXPECT_TRUE(std::regex_match(ref, kRelative)) << ref;
        EXPECT_EQ(ids.count(ref), 1u) << c.id << " dangling " << ref;
        if (ref.starts_with("Patient/")) {
          EXPECT_EQ(ref, "Patient/" + p.Citizen(c.id));
        }
      }
    }
  }
  EXPECT_GT(checked, 20000u);
}

TEST(DeidentifyFixturesTest, StudiesCannotLink) {
  const Fixtures& f = LoadFixtures();
  const Pseudonymiser study_a = Pseudonyms('a');
  const Pseudonymiser study_a_again = Pseudonyms('a');
  const Pseudonymiser study_b = Pseudonyms('b');
  std::set<std::string> strings_a, strings_b;
  for (const Citizen& c : f.citizens) {
    const Released a = Release(c, study_a);
    const Released a_again = Release(c, study_a_again);
    const Released b = Release(c, study_b);
    EXPECT_EQ(a.lines, a_again.lines) << c.id;
    ASSERT_EQ(a.resources.size(), b.resources.size());
    for (size_t i = 0; i < a.resources.size(); ++i) {
      CollectStrings(a.resources[i], strings_a);
      CollectStrings(b.resources[i], strings_b);
      // Same content apart from the pseudonyms.
      EXPECT_EQ(a.resources[i].size(), b.resources[i].size());
      EXPECT_NE(a.resources[i]["id"], b.resources[i]["id"]);
    }
  }
  size_t pseudonyms = 0;
  for (const std::string& s : strings_a) {
    // Anything that carries a pseudonym (ids, references, DICOM uids).
    static const std::regex kCarrier(".*[0-9a-f]{32}.*|2\\.25\\.[0-9]+");
    if (!std::regex_match(s, kCarrier)) continue;
    ++pseudonyms;
    EXPECT_EQ(strings_b.count(s), 0u) << s;
  }
  EXPECT_GT(pseudonyms, 6000u);
}

TEST(DeidentifyFixturesTest, KeptDataIsStillThere) {
  // Minimisation must not throw away the clinical content: spot checks on
  // what every fixture has.
  const Fixtures& f = LoadFixtures();
  const Pseudonymiser p = Pseudonyms('k');
  std::map<std::string, size_t> by_type;
  for (const Citizen& c : f.citizens) {
    const Released r = Release(c, p);
    for (const json& resource : r.resources) {
      const std::string type = resource["resourceType"];
      ++by_type[type];
      EXPECT_FALSE(resource.contains("text")) << type;
      EXPECT_FALSE(resource.contains("identifier")) << type;
      EXPECT_FALSE(resource.contains("meta")) << type;  // only Synthea tags
      if (type == "Patient") {
        EXPECT_TRUE(std::regex_match(std::string(resource["birthDate"]),
                                     std::regex("[0-9]{4}")));
        EXPECT_TRUE(resource.contains("gender"));
        EXPECT_EQ(resource.value("address", json()),
                  json::array({{{"country", "US"}}}));
      }
      if (type == "Observation") {
        EXPECT_TRUE(resource.contains("code"));
        EXPECT_TRUE(resource.contains("effectiveDateTime"));
        EXPECT_TRUE(resource.contains("valueQuantity") ||
                    resource.contains("valueCodeableConcept") ||
                    resource.contains("component"));
      }
      if (type == "Condition") {
        EXPECT_TRUE(resource.contains("code"));
        EXPECT_TRUE(resource.contains("onsetDateTime"));
      }
    }
  }
  EXPECT_EQ(by_type["Patient"], 32u);
  EXPECT_EQ(by_type.size(), 16u);
}

}  // namespace
}  // namespace tillit::research
