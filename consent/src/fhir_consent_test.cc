// Grants as FHIR R4 Consent resources and back.
#include <gtest/gtest.h>

#include <functional>
#include <iterator>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "policy_test_util.h"
#include "tillit/consent/policy.h"

namespace tillit::consent {
namespace {

using nlohmann::json;
using testing::At;
using testing::GrantDiff;
using testing::TestId;

const int64_t kNow = At("2026-01-01T00:00:00Z");
const std::string kCitizen = TestId("c_", 1);

Grant Example() {
  StatusOr<Grant> g = ParseGrant(R"({
    "grantee": {"kind": "any-researcher"},
    "purposes": ["DUO:0000006", {"code": "DUO:0000007", "disease": "MONDO:0005148"}],
    "conditions": [{"code": "DUO:0000046"},
                   {"code": "DUO:0000022", "countries": ["SE","NO","FI"]},
                   {"code": "DUO:0000025", "until": "2027-06-30"}],
    "categories": ["lab-results", "vital-signs", "patient-summary"],
    "data_period": {"start": "2015-01-01", "end": "2020-12-31"},
    "expires": "2027-12-31T00:00:00Z",
    "include_sensitive": true,
    "exclude": [{"category": "patient-summary",
                 "code": "http://snomed.info/sct|35489007"},
                {"record": "Observation/obs-17"}]
  })",
                                 kNow);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  Grant grant = *g;
  grant.id = TestId("g_", 42);
  return grant;
}

TEST(FhirConsentTest, ExampleMapsToTheConsentElements) {
  const json c = json::parse(GrantToFhirConsent(Example(), kCitizen));
  EXPECT_EQ(c["resourceType"], "Consent");
  // FHIR ids allow no '_': vault ids are written with '-' and read back.
  EXPECT_EQ(c["id"], TestId("g-", 42));
  EXPECT_EQ(c["status"], "active");
  EXPECT_EQ(c["scope"]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/consentscope");
  EXPECT_EQ(c["scope"]["coding"][0]["code"], "research");
  EXPECT_EQ(c["category"][0]["coding"][0]["system"], "http://loinc.org");
  EXPECT_EQ(c["category"][0]["coding"][0]["code"], "59284-0");
  EXPECT_EQ(c["patient"]["reference"], "Patient/c-" + kCitizen.substr(2));
  for (const std::string& id :
       {c["id"].get<std::string>(),
        c["patient"]["reference"].get<std::string>().substr(8)}) {
    EXPECT_EQ(
        id.find_first_not_of(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-."),
        std::string::npos)
        << id << " is not a valid FHIR id";
  }
  EXPECT_EQ(c["dateTime"], "2026-01-01T00:00:00Z");
  ASSERT_TRUE(c["policy"].is_array());

  const json& p = c["provision"];
  EXPECT_EQ(p["type"], "permit");
  EXPECT_EQ(p["period"]["end"], "2027-12-31T00:00:00Z");
  EXPECT_EQ(p["actor"][0]["role"]["coding"][0]["code"], "IRCP");
  EXPECT_EQ(p["actor"][0]["reference"]["identifier"]["value"],
            "any-researcher");
  EXPECT_EQ(p["purpose"][0]["system"], "http://purl.obolibrary.org/obo/duo");
  EXPECT_EQ(p["purpose"][0]["code"], "DUO:0000006");
  EXPECT_EQ(p["purpose"][1]["code"], "DUO:0000007");
  EXPECT_EQ(p["purpose"][1]["extension"][0]["valueCode"], "MONDO:0005148");
  ASSERT_EQ(p["class"].size(), 3u);
  EXPECT_EQ(p["class"][0]["system"], "https://tillit.health/category");
  EXPECT_EQ(p["class"][0]["code"], "patient-summary");
  EXPECT_EQ(p["dataPeriod"]["start"], "2015-01-01");
  EXPECT_EQ(p["dataPeriod"]["end"], "2020-12-31");  // inclusive, as in FHIR
  ASSERT_EQ(p["provision"].size(), 2u);
  EXPECT_EQ(p["provision"][0]["type"], "deny");
  EXPECT_EQ(p["provision"][0]["class"][0]["code"], "patient-summary");
  EXPECT_EQ(p["provision"][0]["code"][0]["coding"][0]["system"],
            "http://snomed.info/sct");
  EXPECT_EQ(p["provision"][0]["code"][0]["coding"][0]["code"], "35489007");
  EXPECT_EQ(p["provision"][1]["data"][0]["meaning"], "instance");
  EXPECT_EQ(p["provision"][1]["data"][0]["reference"]["reference"],
            "Observation/obs-17");
  // include_sensitive and three conditions, as extensions.
  int conditions = 0;
  bool sensitive = false;
  for (const json& e : p["extension"]) {
    const std::string url = e["url"];
    EXPECT_EQ(url.rfind("https://tillit.health/fhir/StructureDefinition/", 0),
              0u);
    if (url.ends_with("include-sensitive")) sensitive = e["valueBoolean"];
    if (url.ends_with("duo-condition")) ++conditions;
  }
  EXPECT_TRUE(sensitive);
  EXPECT_EQ(conditions, 3);
}

TEST(FhirConsentTest, ProviderGrantIsTreatmentConsent) {
  Grant g;
  g.id = TestId("g_", 3);
  g.grantee = {Grantee::Kind::kProvider, TestId("p_", 3), ""};
  g.purposes = {{Purpose::kCC, ""}};
  g.categories = kAllCategories;
  g.created_at = kNow;
  const json c = json::parse(GrantToFhirConsent(g, kCitizen));
  EXPECT_EQ(c["scope"]["coding"][0]["code"], "treatment");
  EXPECT_EQ(c["provision"]["purpose"][0]["code"], "DUO:0000043");
  EXPECT_EQ(c["provision"]["actor"][0]["reference"]["identifier"]["value"],
            TestId("p_", 3));
  EXPECT_FALSE(c["provision"].contains("period"));  // no expiry
  EXPECT_FALSE(c["provision"].contains("dataPeriod"));
  StatusOr<Grant> back = GrantFromFhirConsent(c.dump());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(GrantDiff(g, *back), "");
}

TEST(FhirConsentTest, RevokedGrantIsInactiveWithItsRevocationTime) {
  Grant g = Example();
  g.status = Grant::Status::kRevoked;
  g.revoked_at = At("2026-03-04T05:06:07Z");
  const std::string text = GrantToFhirConsent(g, kCitizen);
  const json c = json::parse(text);
  EXPECT_EQ(c["status"], "inactive");
  EXPECT_EQ(c["extension"][0]["valueInstant"], "2026-03-04T05:06:07Z");
  StatusOr<Grant> back = GrantFromFhirConsent(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(GrantDiff(g, *back), "");
}

TEST(FhirConsentTest, GeneratedGrantsRoundTrip) {
  testing::GrantGenerator gen(4711);
  int revoked = 0;
  for (int i = 0; i < 3000; ++i) {
    const Grant g = gen.Make(kNow + i * 977);
    revoked += g.status == Grant::Status::kRevoked;
    const std::string text = GrantToFhirConsent(g, TestId("c_", i));
    StatusOr<Grant> back = GrantFromFhirConsent(text);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
    ASSERT_EQ(GrantDiff(g, *back), "") << text;
  }
  EXPECT_GT(revoked, 100);
}

json ExampleConsent() {
  return json::parse(GrantToFhirConsent(Example(), kCitizen));
}

struct BadConsent {
  const char* name;
  std::function<void(json&)> change;
  std::string path;  // the message starts with it
};

TEST(FhirConsentTest, MalformedConsentsAreRefused) {
  const BadConsent cases[] = {
      {"not a Consent", [](json& c) { c["resourceType"] = "Patient"; },
       "Consent.resourceType"},
      {"draft", [](json& c) { c["status"] = "draft"; }, "Consent.status"},
      {"no status", [](json& c) { c.erase("status"); }, "Consent.status"},
      {"no scope", [](json& c) { c.erase("scope"); }, "Consent.scope"},
      {"privacy scope",
       [](json& c) { c["scope"]["coding"][0]["code"] = "patient-privacy"; },
       "Consent.scope.coding[0].code"},
      {"treatment scope for a researcher",
       [](json& c) { c["scope"]["coding"][0]["code"] = "treatment"; },
       "Consent.scope"},
      {"no patient", [](json& c) { c.erase("patient"); }, "Consent.patient"},
      {"patient is a group",
       [](json& c) { c["patient"]["reference"] = "Group/1"; },
       "Consent.patient.reference"},
      {"no dateTime", [](json& c) { c.erase("dateTime"); }, "Consent.dateTime"},
      {"bad dateTime", [](json& c) { c["dateTime"] = "yesterday"; },
       "Consent.dateTime"},
      {"modifierExtension",
       [](json& c) { c["modifierExtension"] = json::array(); },
       "Consent.modifierExtension"},
      {"policyRule", [](json& c) { c["policyRule"] = json::object(); },
       "Consent.policyRule"},
      {"unknown tillit extension",
       [](json& c) {
         c["extension"] = {
             {{"url", "https://tillit.health/fhir/x"}, {"valueBoolean", true}}};
       },
       "Consent.extension[0].url"},
      {"no provision", [](json& c) { c.erase("provision"); },
       "Consent.provision"},
      {"deny at the top", [](json& c) { c["provision"]["type"] = "deny"; },
       "Consent.provision.type"},
      {"action on the permit",
       [](json& c) { c["provision"]["action"] = json::array(); },
       "Consent.provision.action"},
      {"securityLabel on the permit",
       [](json& c) { c["provision"]["securityLabel"] = json::array(); },
       "Consent.provision.securityLabel"},
      {"period start",
       [](json& c) { c["provision"]["period"]["start"] = "2026-01-01"; },
       "Consent.provision.period.start"},
      {"two actors",
       [](json& c) {
         c["provision"]["actor"].push_back(c["provision"]["actor"][0]);
       },
       "Consent.provision.actor"},
      {"actor with another role",
       [](json& c) {
         c["provision"]["actor"][0]["role"]["coding"][0]["code"] = "AUT";
       },
       "Consent.provision.actor[0].role"},
      {"actor with a literal reference",
       [](json& c) {
         c["provision"]["actor"][0]["reference"] = {
             {"reference", "Practitioner/1"}};
       },
       "Consent.provision.actor[0].reference.reference"},
      {"actor from another system",
       [](json& c) {
         c["provision"]["actor"][0]["reference"]["identifier"]["system"] =
             "urn:oid:1.2.3";
       },
       "Consent.provision.actor[0].reference.identifier"},
      {"no purpose", [](json& c) { c["provision"].erase("purpose"); },
       "Consent.provision.purpose"},
      {"purpose of another system",
       [](json& c) {
         c["provision"]["purpose"][0]["system"] =
             "http://terminology.hl7.org/CodeSystem/v3-ActReason";
       },
       "Consent.provision.purpose[0].system"},
      {"unknown purpose extension",
       [](json& c) {
         c["provision"]["purpose"][1]["extension"][0]["url"] = "urn:x";
       },
       "Consent.provision.purpose[1].extension[0]"},
      {"no class", [](json& c) { c["provision"].erase("class"); },
       "Consent.provision.class"},
      {"class of another system",
       [](json& c) {
         c["provision"]["class"][0]["system"] =
             "http://hl7.org/fhir/resource-types";
       },
       "Consent.provision.class[0].system"},
      {"bad dataPeriod",
       [](json& c) { c["provision"]["dataPeriod"]["start"] = 2015; },
       "Consent.provision.dataPeriod.start"},
      {"nested permit",
       [](json& c) { c["provision"]["provision"][0]["type"] = "permit"; },
       "Consent.provision.provision[0].type"},
      {"empty deny",
       [](json& c) {
         c["provision"]["provision"][0] = {{"type", "deny"}};
       },
       "Consent.provision.provision[0]"},
      {"deny with an actor",
       [](json& c) {
         c["provision"]["provision"][0]["actor"] = c["provision"]["actor"];
       },
       "Consent.provision.provision[0].actor"},
      {"deny with two classes",
       [](json& c) {
         c["provision"]["provision"][0]["class"].push_back(
             c["provision"]["provision"][0]["class"][0]);
       },
       "Consent.provision.provision[0].class"},
      {"unknown provision extension",
       [](json& c) {
         c["provision"]["extension"].push_back(
             {{"url", "http://example.org/x"}, {"valueString", "y"}});
       },
       "Consent.provision.extension[4].url"},
      {"condition part unknown",
       [](json& c) {
         for (json& e : c["provision"]["extension"]) {
           if (e.contains("extension")) {
             e["extension"].push_back({{"url", "region"}, {"valueCode", "x"}});
             break;
           }
         }
       },
       "Consent.provision.extension[1].extension[1].url"},
      // Content the grant form refuses is refused here too.
      {"condition without its parameter",
       [](json& c) {
         for (json& e : c["provision"]["extension"]) {
           if (e.contains("extension") &&
               e["extension"][0]["valueCode"] == "DUO:0000022") {
             e["extension"] = {e["extension"][0]};
           }
         }
       },
       "Consent as a grant: conditions[1].countries"},
      {"unknown category",
       [](json& c) { c["provision"]["class"][0]["code"] = "labs"; },
       "Consent as a grant: categories[0]"},
      {"bad grant id", [](json& c) { c["id"] = "g_1"; },
       "Consent as a grant: id"},
  };
  for (const BadConsent& bad : cases) {
    SCOPED_TRACE(bad.name);
    json c = ExampleConsent();
    bad.change(c);
    StatusOr<Grant> g = GrantFromFhirConsent(c.dump());
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(g.status().message().rfind(bad.path, 0), 0u)
        << g.status().message();
  }
  for (const char* text : {"", "[]", "{", "{\"resourceType\":\"Consent\"}"}) {
    StatusOr<Grant> g = GrantFromFhirConsent(text);
    ASSERT_FALSE(g.ok()) << text;
    EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(FhirConsentTest, HarmlessElementsAreAccepted) {
  json c = ExampleConsent();
  c["meta"] = {{"versionId", "3"}};
  c["text"] = {{"status", "generated"}, {"div", "<div>consent</div>"}};
  c["extension"] = {{{"url", "http://example.org/fhir/other"},
                     {"valueString", "kept aside"}}};
  c["organization"] = json::array();
  StatusOr<Grant> g = GrantFromFhirConsent(c.dump());
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(GrantDiff(Example(), *g), "");
}

// Replaces one random node of `j` with a value of another type.
void Damage(json& j, std::mt19937_64& rng) {
  json* node = &j;
  while ((node->is_object() || node->is_array()) && !node->empty() &&
         rng() % 3 != 0) {
    auto it = node->begin();
    std::advance(it, static_cast<long>(rng() % node->size()));
    node = &*it;
  }
  static const json kValues[] = {nullptr,
                                 0,
                                 -1.5,
                                 "",
                                 "x",
                                 true,
                                 json::array(),
                                 json::object(),
                                 "DUO:0000007",
                                 "2026-01-01",
                                 json::array({1})};
  *node = kValues[rng() % std::size(kValues)];
}

TEST(FhirConsentTest, DamagedInputsAreRefusedCleanly) {
  // Never a crash or an exception: a grant, or InvalidArgument.
  std::mt19937_64 rng(99);
  const json consent = ExampleConsent();
  const json grant = json::parse(GrantToJson(Example()));
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    json c = consent;
    json g = grant;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) {
      Damage(c, rng);
      Damage(g, rng);
    }
    std::string text = i % 4 == 0 ? c.dump().substr(0, rng() % 2000) : c.dump();
    for (const StatusOr<Grant>& r :
         {GrantFromFhirConsent(text), GrantFromStoredJson(g.dump()),
          ParseGrant(g.dump(), kNow)}) {
      if (!r.ok()) {
        ++refused;
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument)
            << r.status().ToString();
      }
    }
  }
  EXPECT_GT(refused, 30000);
}

}  // namespace
}  // namespace tillit::consent
