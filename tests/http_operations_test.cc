// What an operations team reads from a running server: the build it runs
// (GET /healthz, GET /metrics) and the server log as JSON lines, which a
// full walk of the API must leave free of health data and secrets.
#include <ctime>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http_fixture.h"
#include "tillit/api/routes.h"
#include "tillit/base/build_info.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/signing.h"
#include "tillit/http_signature/http_signature.h"

namespace tillit::testing {
namespace {

class BuildInfoTest : public HttpTest {};

TEST_F(BuildInfoTest, HealthzNamesTheVersionAndTheCommit) {
  Reply r = Get("/healthz");
  ASSERT_EQ(r.status, 200) << r.body;
  const json j = r.Json();
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j.value("status", ""), "ok");
  EXPECT_EQ(j.value("version", ""), BuildVersion()) << r.body;
  EXPECT_EQ(j.value("commit", ""), BuildCommit()) << r.body;
  EXPECT_FALSE(j.value("version", "").empty());
  EXPECT_FALSE(j.value("commit", "").empty());
  EXPECT_TRUE(j["audit_entries"].is_number_integer()) << r.body;
}

TEST_F(BuildInfoTest, MetricsCarryTheBuildInfo) {
  Reply m = Get("/metrics");
  ASSERT_EQ(m.status, 200);
  const std::string line = "tillit_build_info{version=\"" +
                           std::string(BuildVersion()) + "\",commit=\"" +
                           std::string(BuildCommit()) + "\"} 1\n";
  EXPECT_NE(m.body.find("\n" + line), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("# TYPE tillit_build_info gauge\n"), std::string::npos)
      << m.body;
}

// The API description's version is the one the server reports.
TEST(OpenApiVersionTest, IsTheBuildsVersion) {
  const json doc = json::parse(api::OpenApiDocument(), nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["info"].value("version", ""), BuildVersion())
      << "api/openapi.json's info.version and CMake's project(VERSION) "
         "differ";
}

// ------------------------------------------------------ the JSON log

class JsonLogTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.log_format = api::LogFormat::kJson;
  }

  // A request signed by a paired device (docs/MOBILE_BRIDGE.md); the
  // signature's fields are kept in `sent_` to look for in the log.
  Reply Signed(const crypto::SigningKey& key, const std::string& device_id,
               const std::string& method, const std::string& target,
               const std::string& body = "") {
    http_signature::SignatureParams p;
    p.created = static_cast<int64_t>(std::time(nullptr));
    p.keyid = device_id;
    p.nonce = crypto::Random::System().Hex(16);
    const http_signature::SignedFields f =
        http_signature::SignRequest(key, method, target, body, p);
    sent_.push_back(f.signature);
    sent_.push_back(p.nonce);
    httplib::Headers h = {{"Signature-Input", f.signature_input},
                          {"Signature", f.signature},
                          {"Content-Digest", f.content_digest}};
    auto c = Client();
    if (method == "GET") return From(c->Get(target.c_str(), h));
    return From(c->Post(target.c_str(), h, body, "application/json"));
  }

  // Each reply's request id, to find its line in the log.
  Reply Seen(Reply r) {
    ids_.insert(r.Header("X-Request-Id"));
    return r;
  }

  std::vector<std::string> sent_;
  std::set<std::string> ids_;
};

// The Patient of a synthetic bundle: strings that are health data.
std::vector<std::string> PatientDetails(const std::string& bundle) {
  std::vector<std::string> out;
  const json b = json::parse(bundle);
  for (const json& e : b["entry"]) {
    const json& r = e["resource"];
    if (r.value("resourceType", "") != "Patient") continue;
    out.push_back(r["name"][0]["family"]);
    out.push_back(r["name"][0]["given"][0]);
    out.push_back(r["birthDate"]);
    out.push_back(r["identifier"][0]["value"]);
    out.push_back(r["address"][0]["line"][0]);
  }
  return out;
}

// The base64 keys of a root key file (`key N <base64>` lines).
std::vector<std::string> RootKeys(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> keys;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("key ", 0) == 0)
      keys.push_back(line.substr(line.rfind(' ') + 1));
  }
  return keys;
}

// A walk through the API as a citizen, their phone and a provider, with
// the log as JSON lines: every line is one object with the promised
// fields, requests are named by route pattern, and no health data, token,
// code, key or query string is in it.
TEST_F(JsonLogTest, AWalkOfTheApiLogsNoHealthDataOrSecrets) {
  std::vector<std::string> forbidden;  // must appear nowhere in the log
  // The operator registers a citizen and a provider.
  Reply created = Seen(Post("/v1/admin/citizens", "{}", admin_));
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string citizen_id = created.Json()["citizen_id"];
  const std::string enrollment = created.Json()["enrollment_code"];
  Reply enrolled =
      Seen(Post("/v1/enroll", json{{"enrollment_code", enrollment}}.dump()));
  ASSERT_EQ(enrolled.status, 200) << enrolled.body;
  const std::string token = enrolled.Json()["token"];
  Reply provider =
      Seen(Post("/v1/admin/providers", R"({"name": "Clinic"})", admin_));
  ASSERT_EQ(provider.status, 201) << provider.body;
  const std::string provider_token = provider.Json()["token"];

  // The citizen imports a record set, reads and writes records.
  const std::string bundle = SyntheticBundle(7);
  const std::vector<std::string> patient = PatientDetails(bundle);
  ASSERT_EQ(patient.size(), 5u);
  ASSERT_EQ(Seen(Post("/v1/me/import", bundle, token)).status, 200);
  Reply listed = Seen(
      Get("/v1/me/records?limit=3&since=1999-12-31&type=Observation", token));
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_FALSE(listed.Json()["records"].empty()) << listed.body;
  const json first = listed.Json()["records"][0];
  const std::string first_id = first["id"];
  ASSERT_EQ(Seen(Get("/v1/me/records/Observation/" + first_id, token)).status,
            200);
  const json pulse = {
      {"resourceType", "Observation"},
      {"status", "final"},
      {"category",
       {{{"coding",
          {{{"system",
             "http://terminology.hl7.org/CodeSystem/observation-category"},
            {"code", "vital-signs"}}}}}}},
      {"code",
       {{"coding",
         {{{"system", "http://loinc.org"},
           {"code", "8867-4"},
           {"display", "Resting pulse by the Quagga monitor"}}}}}},
      {"effectiveDateTime", "2031-02-03T04:05:06Z"},
      {"valueQuantity", {{"value", 73}, {"unit", "/min"}}}};
  Reply added = Seen(Post("/v1/me/records", pulse.dump(), token));
  ASSERT_EQ(added.status, 201) << added.body;
  const std::string added_id = added.Json()["id"];
  // A grant lets the provider read.
  Reply grant = Seen(Post("/v1/me/consents",
                          R"({"grantee": {"kind": "any-provider"},
                              "purposes": ["DUO:0000043"],
                              "categories": ["vital-signs"],
                              "expires": null})",
                          token));
  ASSERT_EQ(grant.status, 201) << grant.body;
  Reply read = Seen(
      Get("/v1/patients/" + citizen_id + "/records?limit=5", provider_token));
  ASSERT_EQ(read.status, 200) << read.body;

  // The citizen pairs a phone, which reads and writes by signed requests.
  Reply code = Seen(Post("/v1/me/devices/pairing-codes", "", token));
  ASSERT_EQ(code.status, 201) << code.body;
  const std::string pairing = code.Json()["pairing_code"];
  const crypto::SigningKey key =
      crypto::SigningKey::Generate(crypto::Random::System());
  const std::string public_key = crypto::Base64Encode(key.public_key());
  Reply paired = Seen(Post("/v1/enroll", json{{"enrollment_code", pairing},
                                              {"device_public_key", public_key},
                                              {"device_name", "Zebrafone"}}
                                             .dump()));
  ASSERT_EQ(paired.status, 200) << paired.body;
  const std::string device_id = paired.Json()["device_id"];
  ASSERT_EQ(
      Seen(Signed(key, device_id, "GET", "/v1/me/records?limit=2")).status,
      200);
  json reading = pulse;
  reading["effectiveDateTime"] = "2032-03-04T05:06:07Z";
  ASSERT_EQ(
      Seen(Signed(key, device_id, "POST", "/v1/me/records", reading.dump()))
          .status,
      201);

  // The export, and requests that fail: an unknown record, a bad token,
  // an unknown query parameter, and a read the audit log cannot record.
  Reply exported = Seen(Get("/v1/me/export", token));
  ASSERT_EQ(exported.status, 200);
  ASSERT_NE(exported.body.find(patient[0]), std::string::npos);
  EXPECT_EQ(Seen(Get("/v1/me/records/Observation/nonesuch", token)).status,
            404);
  const std::string wrong_token = "tlk_" + std::string(64, 'q');
  EXPECT_EQ(Seen(Get("/v1/me", wrong_token)).status, 401);
  EXPECT_EQ(Seen(Get("/v1/me/records?okapi=1", token)).status, 400);
  server_->FailAuditWriteForTesting(1);
  EXPECT_EQ(Seen(Get("/v1/me/records/Observation/" + added_id, token)).status,
            503);
  StopServer();

  const std::string log = log_.str();
  ASSERT_FALSE(log.empty());
  ASSERT_EQ(log.back(), '\n');
  std::set<std::string> routes = {"-", "/app/"};
  for (const api::RouteInfo& r : api::ListRoutes()) routes.insert(r.path);
  std::set<std::string> logged_ids;
  int request_lines = 0, error_lines = 0;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    ASSERT_TRUE(j.contains("time") && j["time"].is_string()) << line;
    const std::string time = j["time"];
    EXPECT_EQ(time.size(), 20u) << line;  // 2025-03-01T12:34:56Z
    EXPECT_TRUE(time[4] == '-' && time[10] == 'T' && time.back() == 'Z')
        << line;
    ASSERT_TRUE(j.contains("level") && j["level"].is_string()) << line;
    ASSERT_TRUE(j.contains("request_id") && j["request_id"].is_string())
        << line;
    EXPECT_FALSE(j["request_id"].get<std::string>().empty()) << line;
    if (j.contains("msg")) {  // an error inside a request
      ++error_lines;
      EXPECT_EQ(j["level"], "error") << line;
      EXPECT_TRUE(j["msg"].is_string()) << line;
      EXPECT_EQ(j.size(), 4u) << line;
      continue;
    }
    ++request_lines;
    logged_ids.insert(j["request_id"].get<std::string>());
    for (const char* field : {"method", "route", "role"}) {
      EXPECT_TRUE(j.contains(field) && j[field].is_string())
          << field << ": " << line;
    }
    EXPECT_TRUE(j.contains("status") && j["status"].is_number_integer())
        << line;
    EXPECT_TRUE(j.contains("latency_ms") && j["latency_ms"].is_number() &&
                j["latency_ms"].get<double>() >= 0)
        << line;
    EXPECT_EQ(j["level"], j.value("status", 0) >= 500 ? "error" : "info")
        << line;
    EXPECT_EQ(routes.count(j.value("route", "")), 1u)
        << "not a route pattern: " << line;
    EXPECT_EQ(j.size(), 8u) << line;
  }
  // Every request is there once, by its id; the audit failure left an
  // error line.
  for (const std::string& id : ids_) {
    EXPECT_EQ(logged_ids.count(id), 1u) << "no line for request " << id;
  }
  EXPECT_GE(request_lines, static_cast<int>(ids_.size()));
  EXPECT_GE(error_lines, 1);
  EXPECT_NE(log.find("\"route\":\"/v1/me/records/{type}/{id}\""),
            std::string::npos);
  EXPECT_NE(log.find("\"route\":\"/v1/patients/{citizen_id}/records\""),
            std::string::npos);

  // Nothing a person or an attacker should find.
  EXPECT_EQ(log.find("tlk_"), std::string::npos) << "a token or code";
  forbidden.insert(forbidden.end(), patient.begin(), patient.end());
  forbidden.insert(forbidden.end(), sent_.begin(), sent_.end());
  const std::vector<std::string> root_keys = RootKeys(dir_ + "/data/root.key");
  ASSERT_FALSE(root_keys.empty());
  forbidden.insert(forbidden.end(), root_keys.begin(), root_keys.end());
  for (const std::string& s :
       {admin_, token, provider_token, enrollment, pairing, wrong_token,
        public_key, std::string("Quagga"), std::string("2031-02-03"),
        std::string("2032-03-04"), std::string("Zebrafone"),
        std::string("1999-12-31"), std::string("okapi"), std::string("limit="),
        std::string("nonesuch"), citizen_id, first_id, added_id, device_id}) {
    forbidden.push_back(s);
  }
  for (const std::string& s : forbidden) {
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(log.find(s), std::string::npos)
        << "the log contains `" << s << "`";
  }
}

}  // namespace
}  // namespace tillit::testing
