// Deidentify on hand-made resources; deidentify_fixtures_test.cc runs it
// on the Synthea fixtures.
#include "tillit/research/deidentify.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <string_view>

#include "deidentify_test_util.h"

namespace tillit::research {
namespace {

using json = nlohmann::json;
using testing::Pseudonyms;

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

// ---- Deidentifier on stored JSON text --------------------------------------

TEST(DeidentifierTest, RefusesWhatIsNotAResourceAndAppendsNothing) {
  const Pseudonymiser p = Pseudonyms('k');
  const Deidentifier d("cit-1", "pat-1", p);
  for (std::string_view bad :
       {"", "{", "not json", "[]", "3", R"({"id":"x"})",
        R"({"resourceType":"patient"})",
        R"({"resourceType":"Observation","id":12})",
        R"({"resourceType":"Observation","id":"o","x":[1,)"}) {
    std::string out = "before\n";
    const Status s = d.Append(bad, nullptr, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(out, "before\n") << bad;
    EXPECT_EQ(d.ReleasedName(bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(DeidentifierTest, ReleasedNamesAreTheIdsTheResourcesGet) {
  const Pseudonymiser p = Pseudonyms('k');
  const Deidentifier d("cit-1", "pat-1", p);
  EXPECT_EQ(*d.ReleasedName(R"({"resourceType":"Patient","id":"pat-1"})"),
            "Patient/" + p.Citizen("cit-1"));
  EXPECT_EQ(*d.ReleasedName(R"({"id":"o-1","resourceType":"Observation"})"),
            "Observation/" + p.Resource("cit-1", "Observation", "o-1"));
  // Without an id there is nothing to refer to.
  EXPECT_EQ(*d.ReleasedName(R"({"resourceType":"Observation"})"),
            "Observation/");
  std::string line;
  ASSERT_TRUE(
      d.Append(R"({"resourceType":"Observation","id":"o-1"})", nullptr, &line)
          .ok());
  EXPECT_EQ(json::parse(line)["id"], p.Resource("cit-1", "Observation", "o-1"));
}

TEST(DeidentifierTest, ReferencesOutsideTheReleaseGoWithWhatTheyLeaveEmpty) {
  const Pseudonymiser p = Pseudonyms('k');
  const Deidentifier d("cit-1", "pat-1", p);
  const std::string encounter =
      "Encounter/" + p.Resource("cit-1", "Encounter", "e-1");
  const Deidentifier::ReleasedNames released = {"Patient/" + p.Citizen("cit-1"),
                                                encounter};
  const std::string record = R"({"resourceType":"Observation","id":"o-1",
    "subject":{"reference":"Patient/pat-1"},
    "encounter":{"reference":"Encounter/e-1"},
    "performer":[{"reference":"Practitioner/x"}],
    "basedOn":[{"reference":"ServiceRequest/s","type":"ServiceRequest"}],
    "code":{"coding":[{"system":"s","code":"c",
                       "display":{"reference":"Encounter/x"}}]}})";
  std::string all;
  ASSERT_TRUE(d.Append(record, nullptr, &all).ok());
  std::string line;
  ASSERT_TRUE(d.Append(record, &released, &line).ok());
  const json kept = json::parse(line);
  EXPECT_EQ(kept["subject"]["reference"], "Patient/" + p.Citizen("cit-1"));
  EXPECT_EQ(kept["encounter"]["reference"], encounter);
  // The performer was only a reference; the basedOn keeps its type.
  EXPECT_FALSE(kept.contains("performer")) << line;
  EXPECT_EQ(kept["basedOn"], json::parse(R"([{"type":"ServiceRequest"}])"));
  // A display that was only a reference is gone, its coding stays.
  EXPECT_EQ(kept["code"]["coding"],
            json::parse(R"([{"code":"c","system":"s"}])"));
  // Without a set of released names every reference stays.
  EXPECT_EQ(json::parse(all)["performer"][0]["reference"],
            "Practitioner/" + p.Resource("cit-1", "Practitioner", "x"));
}

TEST(DeidentifierTest, WritesWhatNlohmannJsonWrites) {
  const Pseudonymiser p = Pseudonyms('k');
  const Deidentifier d("cit-1", "pat-1", p);
  // Members out of order and repeated, escapes, every kind of number.
  const std::string record =
      R"({"resourceType":"Observation","valueQuantity":{"value":1.50,"unit":"mg"},)"
      R"("id":"o-1","status":"old","status":"final",)"
      R"("code":{"text":"a\"b\\c\u0001\t\u00e9\/",)"
      R"("coding":[{"system":"s","code":"c",)"
      R"("display":{"multipleBirthInteger":1,"multipleBirthC":2}}]},)"
      R"("component":[{"valueInteger":-3},{"valueInteger":18446744073709551615},)"
      R"({"valueDecimal":1e300},{"valueDecimal":100.0},{"valueDecimal":0.1},)"
      R"({"valueBoolean":false}]})";
  std::string line;
  ASSERT_TRUE(d.Append(record, nullptr, &line).ok());
  const json parsed = json::parse(line);
  EXPECT_EQ(line, parsed.dump());
  EXPECT_EQ(parsed["status"], "final");
  EXPECT_EQ(parsed["code"]["text"], "a\"b\\c\u0001\t\u00e9/");
  EXPECT_NE(line.find(R"("value":1.5})"), std::string::npos) << line;
  EXPECT_NE(line.find("18446744073709551615"), std::string::npos) << line;
  EXPECT_NE(line.find(R"("valueDecimal":100.0)"), std::string::npos) << line;
}

TEST(DeidentifierTest, AMultipleBirthOrderBecomesTrueOnceOnly) {
  const Pseudonymiser p = Pseudonyms('k');
  const Deidentifier d("cit-1", "pat-1", p);
  std::string line;
  ASSERT_TRUE(
      d.Append(R"({"resourceType":"Patient","id":"x",)"
               R"("multipleBirthInteger":2,"multipleBirthBoolean":false})",
               nullptr, &line)
          .ok());
  EXPECT_NE(line.find(R"("multipleBirthBoolean":false)"), std::string::npos)
      << line;
  EXPECT_EQ(line.find("multipleBirthInteger"), std::string::npos) << line;
  EXPECT_EQ(line, json::parse(line).dump());
}

}  // namespace
}  // namespace tillit::research
