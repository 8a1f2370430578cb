// Paired devices over HTTP (docs/MOBILE_BRIDGE.md): pairing at enrollment,
// RFC 9421 signed requests and every way they must fail, the device list
// and revocation, pairing codes a citizen issues for another device, and
// idempotent record creation.
#include <array>
#include <atomic>
#include <set>

#include "http_fixture.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/web_push.h"
#include "tillit/http_signature/http_signature.h"
#include "tillit/http_signature/replay_cache.h"

namespace tillit::testing {
namespace {

struct TestDevice {
  crypto::SigningKey key;
  std::string id;
  std::string citizen_id;
};

crypto::SigningKey NewKey() {
  return crypto::SigningKey::Generate(crypto::Random::System());
}

const char* kReading =
    R"({"resourceType":"Observation","status":"final",)"
    R"("code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},)"
    R"("effectiveDateTime":"2026-11-20T08:00:00Z",)"
    R"("valueQuantity":{"value":62,"unit":"/min"}})";

struct Signing {
  int64_t created_offset = 0;
  std::string nonce;  // empty: a fresh one
  // Changes made after signing, as an attacker would.
  std::string sent_body;    // when set, sent instead of the signed body
  std::string sent_target;  // when set, sent instead of the signed target
  bool keep_digest = true;  // false: send the digest of sent_body
  bool omit_digest = false;
  std::string bearer;  // also send a bearer token
};

class DeviceTest : public HttpTest {
 protected:
  // These tests pair many devices from one address.
  void Configure(api::ServerOptions& o) override {
    o.enroll_burst = 1000;
    o.enroll_per_minute = 60000;
  }
  // A new citizen's enrollment code.
  std::string NewCode(std::string* citizen_id = nullptr) {
    Reply c = Post("/v1/admin/citizens", "{}", admin_);
    EXPECT_EQ(c.status, 201) << c.body;
    if (citizen_id) *citizen_id = c.Json()["citizen_id"];
    return c.Json()["enrollment_code"];
  }
  std::string CodeFor(const std::string& citizen_id) {
    Reply c = Post("/v1/admin/citizens/" + citizen_id + "/enrollment-code",
                   "{}", admin_);
    EXPECT_EQ(c.status, 201) << c.body;
    return c.Json()["enrollment_code"];
  }
  Reply PairWith(const std::string& code, const crypto::SigningKey& key,
                 const std::string& name = "Anna's phone") {
    return Post("/v1/enroll", json{{"enrollment_code", code},
                                   {"device_public_key",
                                    crypto::Base64Encode(key.public_key())},
                                   {"device_name", name}}
                                  .dump());
  }
  TestDevice Pair(const std::string& code) {
    TestDevice d{NewKey(), "", ""};
    Reply r = PairWith(code, d.key);
    EXPECT_EQ(r.status, 200) << r.body;
    d.id = r.Json().value("device_id", "");
    d.citizen_id = r.Json().value("citizen_id", "");
    return d;
  }

  Reply Signed(const TestDevice& d, const std::string& method,
               const std::string& target, const std::string& body = "",
               Signing s = {}) {
    http_signature::SignatureParams p;
    p.created = static_cast<int64_t>(std::time(nullptr)) + s.created_offset;
    p.keyid = d.id;
    p.nonce = s.nonce.empty() ? crypto::Random::System().Hex(16) : s.nonce;
    http_signature::SignedFields f =
        http_signature::SignRequest(d.key, method, target, body, p);
    const std::string sent_body = s.sent_body.empty() ? body : s.sent_body;
    const std::string sent_target =
        s.sent_target.empty() ? target : s.sent_target;
    httplib::Headers h = {{"Signature-Input", f.signature_input},
                          {"Signature", f.signature}};
    if (!s.omit_digest) {
      h.emplace("Content-Digest",
                s.keep_digest ? f.content_digest
                              : http_signature::ContentDigest(sent_body));
    }
    if (!s.bearer.empty()) h.emplace("Authorization", "Bearer " + s.bearer);
    auto c = Client();
    if (method == "GET") return From(c->Get(sent_target.c_str(), h));
    if (method == "POST")
      return From(
          c->Post(sent_target.c_str(), h, sent_body, "application/json"));
    if (method == "PUT")
      return From(
          c->Put(sent_target.c_str(), h, sent_body, "application/json"));
    return From(
        c->Delete(sent_target.c_str(), h, sent_body, "application/json"));
  }

  int64_t RecordCount(const std::string& citizen_id) {
    auto summary = vault_->Summarize(citizen_id);
    EXPECT_TRUE(summary.ok()) << summary.status().ToString();
    return summary.ok() ? summary->records : -1;
  }
};

TEST_F(DeviceTest, PairingBindsTheKeyAndGivesNoToken) {
  std::string citizen;
  const std::string code = NewCode(&citizen);
  TestDevice d{NewKey(), "", ""};
  Reply r = PairWith(code, d.key);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["citizen_id"], citizen);
  EXPECT_TRUE(vault::IsValidId(r.Json()["device_id"].get<std::string>(), "d_"));
  EXPECT_FALSE(r.Json().contains("token"));
  d.id = r.Json()["device_id"];

  Reply list = Signed(d, "GET", "/v1/me/devices");
  ASSERT_EQ(list.status, 200) << list.body;
  const json listed = list.Json();
  ASSERT_EQ(listed["devices"].size(), 1u);
  const json& dev = listed["devices"][0];
  EXPECT_EQ(dev["id"], d.id);
  EXPECT_EQ(dev["name"], "Anna's phone");
  EXPECT_TRUE(dev["revoked"].is_null());
  EXPECT_EQ(dev["this_device"], true);

  // The code was single use.
  EXPECT_EQ(PairWith(code, NewKey()).status, 401);
  // The pairing is in the citizen's access log.
  Reply log = Signed(d, "GET", "/v1/me/access-log");
  ASSERT_EQ(log.status, 200) << log.body;
  std::set<std::string> actions;
  const json log_body = log.Json();
  for (const json& e : log_body["entries"]) actions.insert(e["action"]);
  EXPECT_TRUE(actions.count("device.pair")) << log.body;
  EXPECT_TRUE(actions.count("device.list")) << log.body;
}

TEST_F(DeviceTest, BadPairingRequestsSpendNothing) {
  const std::string code = NewCode();
  const std::string key = crypto::Base64Encode(NewKey().public_key());
  const std::vector<json> bad = {
      {{"enrollment_code", code}, {"device_public_key", key}},
      {{"enrollment_code", code}, {"device_name", "phone"}},
      {{"enrollment_code", code},
       {"device_public_key", "not base64!"},
       {"device_name", "phone"}},
      {{"enrollment_code", code},
       {"device_public_key", crypto::Base64Encode(std::vector<uint8_t>(31, 7))},
       {"device_name", "phone"}},
      // The identity point: small order, every signature would match.
      {{"enrollment_code", code},
       {"device_public_key",
        crypto::Base64Encode(std::vector<uint8_t>{
            1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})},
       {"device_name", "phone"}},
      {{"enrollment_code", code},
       {"device_public_key", key},
       {"device_name", ""}},
      {{"enrollment_code", code},
       {"device_public_key", key},
       {"device_name", std::string(65, 'x')}},
      {{"enrollment_code", code},
       {"device_public_key", key},
       {"device_name", "line\nbreak"}},
      {{"enrollment_code", code},
       {"device_public_key", key},
       {"device_name", 7}},
      {{"enrollment_code", code},
       {"device_public_key", key},
       {"device_name", "phone"},
       {"token", "x"}},
  };
  for (const json& body : bad) {
    Reply r = Post("/v1/enroll", body.dump());
    EXPECT_EQ(r.status, 400) << body.dump() << " " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument");
  }
  // The code still works.
  EXPECT_EQ(PairWith(code, NewKey()).status, 200);
}

TEST_F(DeviceTest, BearerEnrollmentIsUnchanged) {
  Principal c = NewCitizen();
  EXPECT_FALSE(c.token.empty());
  EXPECT_EQ(Get("/v1/me", c.token).status, 200);
}

TEST_F(DeviceTest, SignedRequestsActAsTheCitizen) {
  TestDevice d = Pair(NewCode());
  Reply add = Signed(d, "POST", "/v1/me/records", kReading);
  ASSERT_EQ(add.status, 201) << add.body;
  Reply list = Signed(d, "GET", "/v1/me/records?limit=5&type=Observation");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Json()["records"].size(), 1u);
  Reply opt =
      Signed(d, "PUT", "/v1/me/research-opt-out", R"({"opted_out":true})");
  EXPECT_EQ(opt.status, 200) << opt.body;
  EXPECT_EQ(Signed(d, "GET", "/v1/audit/checkpoint").status, 200);
  // Not a citizen route.
  Reply entries = Signed(d, "GET", "/v1/audit/entries");
  EXPECT_EQ(entries.status, 403) << entries.body;
  // The audit entries name the citizen as the actor (except the
  // operator's creation of the citizen).
  Reply log = Signed(d, "GET", "/v1/me/access-log");
  ASSERT_EQ(log.status, 200);
  const json log_body = log.Json();
  size_t by_citizen = 0;
  for (const json& e : log_body["entries"]) {
    EXPECT_EQ(e["citizen"], d.citizen_id);
    if (e["action"] == "citizen.create") continue;
    EXPECT_EQ(e["actor_id"], d.citizen_id) << e.dump();
    ++by_citizen;
  }
  EXPECT_GE(by_citizen, 4u);
}

// Art 9: each access-log entry names the device that made the request,
// hashed as "via" (its id) with its name shown beside it; a request with a
// bearer token names none.
TEST_F(DeviceTest, TheAccessLogNamesTheDeviceThatMadeEachRequest) {
  Principal c = NewCitizen();
  TestDevice d = Pair(CodeFor(c.id));
  ASSERT_EQ(Signed(d, "POST", "/v1/me/records", kReading).status, 201);
  ASSERT_EQ(Get("/v1/me/records?limit=5", c.token).status, 200);
  Reply log = Signed(d, "GET", "/v1/me/access-log?proofs=true");
  ASSERT_EQ(log.status, 200) << log.body;
  size_t by_device = 0;
  size_t by_token = 0;
  const json entries = log.Json()["entries"];
  for (const json& e : entries) {
    if (e["action"] == "records.add") {
      EXPECT_EQ(e.value("via", ""), d.id) << e.dump();
      EXPECT_EQ(e.value("device", ""), "Anna's phone") << e.dump();
      ++by_device;
    } else if (e["action"] == "records.list") {
      EXPECT_FALSE(e.contains("via")) << e.dump();
      EXPECT_FALSE(e.contains("device")) << e.dump();
      ++by_token;
    }
  }
  EXPECT_EQ(by_device, 1u);
  EXPECT_EQ(by_token, 1u);
  // An auditor sees "via" (it is hashed) but not the device's name.
  bool seen_via = false;
  for (const json& e : AuditFor(c.id, NewAuditor().token)) {
    if (e.value("via", "") == d.id) seen_via = true;
    EXPECT_FALSE(e.contains("device")) << "only the citizen's log names it";
  }
  EXPECT_TRUE(seen_via);
}

// A device's name is the citizen's own label: the citizen sees the names
// of their own devices only, and a proxy reading the citizen's log sees
// none (the hashed "via" is still there for both).
TEST_F(DeviceTest, DeviceNamesAreShownOnlyToTheirOwner) {
  Principal c = NewCitizen();
  Principal carer = NewCitizen();
  TestDevice phone = Pair(CodeFor(c.id));
  TestDevice laptop = Pair(CodeFor(carer.id));
  ASSERT_EQ(Post("/v1/me/proxies",
                 json{{"proxy", carer.id},
                      {"access", "read"},
                      {"include_sensitive", true},
                      {"include_restricted", true}}
                     .dump(),
                 c.token)
                .status,
            201);
  ASSERT_EQ(Signed(phone, "POST", "/v1/me/records", kReading).status, 201);
  ASSERT_EQ(Signed(laptop, "GET", "/v1/citizens/" + c.id + "/records").status,
            200);

  auto entries = [](const Reply& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json()["entries"];
  };
  bool carer_seen = false;
  for (const json& e : entries(Get("/v1/me/access-log", c.token))) {
    if (e["action"] == "records.add") {
      EXPECT_EQ(e.value("device", ""), "Anna's phone");
    }
    if (e["actor"] == carer.id && e["action"] == "records.list") {
      carer_seen = true;
      EXPECT_EQ(e["via"], laptop.id);
      EXPECT_FALSE(e.contains("device")) << e.dump();
    }
  }
  EXPECT_TRUE(carer_seen);
  bool add_seen = false;
  for (const json& e :
       entries(Get("/v1/citizens/" + c.id + "/access-log", carer.token))) {
    if (e["action"] != "records.add") continue;
    add_seen = true;
    EXPECT_EQ(e["via"], phone.id);
    EXPECT_FALSE(e.contains("device")) << e.dump();
  }
  EXPECT_TRUE(add_seen);
}

TEST_F(DeviceTest, EveryForgeryIsRefusedAndWritesNothing) {
  TestDevice d = Pair(NewCode());
  const int64_t before = RecordCount(d.citizen_id);
  const std::string other_body =
      std::string(kReading).replace(std::string(kReading).find("62"), 2, "99");

  struct Case {
    const char* name;
    std::function<Reply()> send;
  };
  TestDevice stranger{NewKey(), d.id, d.citizen_id};  // right id, wrong key
  TestDevice unknown{NewKey(), "d_" + std::string(32, 'a'), d.citizen_id};
  const std::vector<Case> cases = {
      {"wrong key",
       [&] { return Signed(stranger, "POST", "/v1/me/records", kReading); }},
      {"unknown device",
       [&] { return Signed(unknown, "POST", "/v1/me/records", kReading); }},
      {"altered body, old digest",
       [&] {
         Signing s;
         s.sent_body = other_body;
         return Signed(d, "POST", "/v1/me/records", kReading, s);
       }},
      {"altered body and digest",
       [&] {
         Signing s;
         s.sent_body = other_body;
         s.keep_digest = false;
         return Signed(d, "POST", "/v1/me/records", kReading, s);
       }},
      {"altered path",
       [&] {
         Signing s;
         s.sent_target = "/v1/me/consents";
         return Signed(d, "POST", "/v1/me/records", kReading, s);
       }},
      {"added query",
       [&] {
         Signing s;
         s.sent_target = "/v1/me/records?limit=1";
         return Signed(d, "GET", "/v1/me/records", "", s);
       }},
      {"expired",
       [&] {
         Signing s;
         s.created_offset = -301;
         return Signed(d, "POST", "/v1/me/records", kReading, s);
       }},
      {"from the future",
       [&] {
         Signing s;
         s.created_offset = 301;
         return Signed(d, "POST", "/v1/me/records", kReading, s);
       }},
      {"no digest",
       [&] {
         Signing s;
         s.omit_digest = true;
         return Signed(d, "POST", "/v1/me/records", kReading, s);
       }},
  };
  for (const Case& c : cases) {
    Reply r = c.send();
    EXPECT_EQ(r.status, 401) << c.name << ": " << r.body;
    EXPECT_EQ(r.ErrorCode(), "unauthenticated") << c.name;
    EXPECT_EQ(r.Header("WWW-Authenticate"), "Signature") << c.name;
  }
  EXPECT_EQ(RecordCount(d.citizen_id), before);

  // A method other than the one signed.
  {
    http_signature::SignatureParams p{static_cast<int64_t>(std::time(nullptr)),
                                      d.id, crypto::Random::System().Hex(16)};
    http_signature::SignedFields f = http_signature::SignRequest(
        d.key, "PUT", "/v1/me/records", kReading, p);
    Reply r = From(Client()->Post("/v1/me/records",
                                  {{"Signature-Input", f.signature_input},
                                   {"Signature", f.signature},
                                   {"Content-Digest", f.content_digest}},
                                  kReading, "application/json"));
    EXPECT_EQ(r.status, 401) << r.body;
  }
  // A malformed Signature-Input says why.
  {
    Reply r = From(Client()->Get(
        "/v1/me", {{"Signature-Input", "sig1=();created=1"},
                   {"Signature", "sig1=:AA==:"},
                   {"Content-Digest", http_signature::ContentDigest("")}}));
    EXPECT_EQ(r.status, 401);
    EXPECT_NE(r.body.find("tillit"), std::string::npos) << r.body;
  }
  EXPECT_EQ(RecordCount(d.citizen_id), before);
  // Within the window is fine.
  Signing recent;
  recent.created_offset = -200;
  EXPECT_EQ(Signed(d, "POST", "/v1/me/records", kReading, recent).status, 201);
}

TEST_F(DeviceTest, AReplayIsRefused) {
  TestDevice d = Pair(NewCode());
  Signing s;
  s.nonce = "replayed-nonce-0001";
  Reply first = Signed(d, "POST", "/v1/me/records", kReading, s);
  ASSERT_EQ(first.status, 201) << first.body;
  // The same nonce again, even with a fresh signature over a new created.
  s.created_offset = -1;
  Reply again = Signed(d, "POST", "/v1/me/records", kReading, s);
  EXPECT_EQ(again.status, 401) << again.body;
  EXPECT_NE(again.body.find("replay"), std::string::npos);
  EXPECT_EQ(RecordCount(d.citizen_id), 1);
  // A bad signature does not spend a nonce: the owner can still use it.
  TestDevice stranger{NewKey(), d.id, d.citizen_id};
  Signing t;
  t.nonce = "unspent-nonce-00001";
  EXPECT_EQ(Signed(stranger, "GET", "/v1/me", "", t).status, 401);
  EXPECT_EQ(Signed(d, "GET", "/v1/me", "", t).status, 200);
}

TEST_F(DeviceTest, BearerAndSignatureTogetherAreRefused) {
  Principal c = NewCitizen();
  TestDevice d = Pair(CodeFor(c.id));
  Signing s;
  s.bearer = c.token;
  Reply r = Signed(d, "GET", "/v1/me", "", s);
  EXPECT_EQ(r.status, 400) << r.body;
}

// A lost phone's browser is told of nothing more: revoking the device
// removes the push subscriptions it made, and only those.
TEST_F(DeviceTest, RevokingADeviceRemovesThePushSubscriptionsItMade) {
  std::string citizen;
  TestDevice phone = Pair(NewCode(&citizen));
  TestDevice tablet = Pair(CodeFor(citizen));
  const std::array<uint8_t, 16> auth{1, 2, 3};
  auto subscription = [&](const std::string& name) {
    auto key = crypto::P256Key::Generate();
    EXPECT_TRUE(key.ok());
    return json{{"endpoint", "https://fcm.googleapis.com/fcm/send/" + name},
                {"keys",
                 {{"p256dh", crypto::Base64UrlEncode(key->public_key())},
                  {"auth", crypto::Base64UrlEncode(auth)}}}}
        .dump();
  };
  ASSERT_EQ(
      Signed(phone, "POST", "/v1/me/push-subscriptions", subscription("phone"))
          .status,
      201);
  ASSERT_EQ(Signed(tablet, "POST", "/v1/me/push-subscriptions",
                   subscription("tablet"))
                .status,
            201);
  Reply listed = Signed(tablet, "GET", "/v1/me/notifications");
  ASSERT_EQ(listed.status, 200) << listed.body;
  std::set<std::string> devices;
  const json subscribed = listed.Json()["push_subscriptions"];
  for (const json& s : subscribed) devices.insert(s.value("device", ""));
  EXPECT_EQ(devices, (std::set<std::string>{phone.id, tablet.id}));

  ASSERT_EQ(Signed(tablet, "DELETE", "/v1/me/devices/" + phone.id).status, 200);
  listed = Signed(tablet, "GET", "/v1/me/notifications");
  ASSERT_EQ(listed.status, 200) << listed.body;
  const json left = listed.Json()["push_subscriptions"];
  ASSERT_EQ(left.size(), 1u) << listed.body;
  EXPECT_EQ(left[0]["device"], tablet.id);
}

TEST_F(DeviceTest, ALostPhoneIsCutOffFromAnotherDevice) {
  std::string citizen;
  TestDevice phone = Pair(NewCode(&citizen));
  TestDevice tablet = Pair(CodeFor(citizen));
  EXPECT_EQ(tablet.citizen_id, citizen);
  Reply list = Signed(tablet, "GET", "/v1/me/devices");
  ASSERT_EQ(list.Json()["devices"].size(), 2u);

  Reply revoke = Signed(tablet, "DELETE", "/v1/me/devices/" + phone.id);
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  EXPECT_EQ(revoke.Json()["id"], phone.id);
  EXPECT_TRUE(revoke.Json()["revoked"].is_number_integer());

  Reply lost = Signed(phone, "GET", "/v1/me/records");
  EXPECT_EQ(lost.status, 401) << lost.body;
  EXPECT_EQ(Signed(tablet, "GET", "/v1/me/records").status, 200);
  EXPECT_EQ(Signed(tablet, "DELETE", "/v1/me/devices/" + phone.id).status, 409);
  list = Signed(tablet, "GET", "/v1/me/devices");
  const json devices = list.Json();
  for (const json& dev : devices["devices"]) {
    if (dev["id"] == phone.id)
      EXPECT_FALSE(dev["revoked"].is_null());
    else
      EXPECT_TRUE(dev["revoked"].is_null());
  }
  // A device may revoke itself (unpairing).
  EXPECT_EQ(Signed(tablet, "DELETE", "/v1/me/devices/" + tablet.id).status,
            200);
  EXPECT_EQ(Signed(tablet, "GET", "/v1/me").status, 401);
}

TEST_F(DeviceTest, AnotherCitizensDeviceIsNotFound) {
  TestDevice mine = Pair(NewCode());
  TestDevice theirs = Pair(NewCode());
  Reply r = Signed(mine, "DELETE", "/v1/me/devices/" + theirs.id);
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(Signed(mine, "DELETE", "/v1/me/devices/d_nonsense").status, 404);
  EXPECT_EQ(Signed(theirs, "GET", "/v1/me").status, 200);
  Reply list = Signed(mine, "GET", "/v1/me/devices");
  EXPECT_EQ(list.Json()["devices"].size(), 1u);
  // A bearer-token citizen manages devices too.
  Principal c = NewCitizen();
  Reply none = Get("/v1/me/devices", c.token);
  ASSERT_EQ(none.status, 200);
  EXPECT_TRUE(none.Json()["devices"].empty());
  EXPECT_EQ(Delete("/v1/me/devices/" + theirs.id, c.token).status, 404);
}

TEST_F(DeviceTest, ErasureRevokesDevices) {
  TestDevice d = Pair(NewCode());
  Reply erased =
      Signed(d, "DELETE", "/v1/me", json{{"confirm", d.citizen_id}}.dump());
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(Signed(d, "GET", "/v1/me").status, 401);
}

TEST_F(DeviceTest, IdempotencyKeyNeverDuplicates) {
  Principal c = NewCitizen();
  auto post = [&](const std::string& body, const std::string& key,
                  const std::string& token) {
    httplib::Headers h = Auth(token);
    if (!key.empty()) h.emplace("Idempotency-Key", key);
    return From(Client()->Post("/v1/me/records", h, body, "application/json"));
  };
  Reply first = post(kReading, "\"k-0123456789abcdef\"", c.token);
  ASSERT_EQ(first.status, 201) << first.body;
  Reply again = post(kReading, "\"k-0123456789abcdef\"", c.token);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Header("Idempotent-Replayed"), "true");
  EXPECT_EQ(again.Json(), first.Json());
  // The bare form names the same key.
  EXPECT_EQ(post(kReading, "k-0123456789abcdef", c.token).status, 200);
  EXPECT_EQ(RecordCount(c.id), 1);

  // Same key, other content: a conflict, nothing stored.
  std::string other =
      std::string(kReading).replace(std::string(kReading).find("62"), 2, "70");
  Reply clash = post(other, "\"k-0123456789abcdef\"", c.token);
  EXPECT_EQ(clash.status, 409) << clash.body;
  EXPECT_EQ(RecordCount(c.id), 1);
  // Another key is another record; another citizen's same key is theirs.
  EXPECT_EQ(post(kReading, "\"k-fedcba9876543210\"", c.token).status, 201);
  EXPECT_EQ(RecordCount(c.id), 2);
  Principal b = NewCitizen();
  EXPECT_EQ(post(kReading, "\"k-0123456789abcdef\"", b.token).status, 201);
  EXPECT_EQ(RecordCount(b.id), 1);

  for (const char* bad : {"short", "\"has space 0123456789\"",
                          "\"0123456789012345678901234567890123456789012345678"
                          "90123456789012345\""}) {
    Reply r = post(kReading, bad, c.token);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  EXPECT_EQ(RecordCount(c.id), 2);
}

// --- pairing codes a citizen issues for another device

// The actions of an access-log page.
std::multiset<std::string> LoggedActions(const Reply& log) {
  std::multiset<std::string> actions;
  const json body = log.Json();
  if (!body.contains("entries")) return actions;
  for (const json& e : body["entries"]) actions.insert(e.value("action", ""));
  return actions;
}

TEST_F(DeviceTest, APairingCodePairsAnotherDeviceOnce) {
  Principal c = NewCitizen();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Reply r = Post("/v1/me/devices/pairing-codes", "", c.token);
  ASSERT_EQ(r.status, 201) << r.body;
  const json issued = r.Json();
  ASSERT_EQ(issued.size(), 2u) << r.body;
  ASSERT_TRUE(issued["pairing_code"].is_string()) << r.body;
  ASSERT_TRUE(issued["expires"].is_number_integer()) << r.body;
  const std::string code = issued["pairing_code"];
  EXPECT_EQ(code.rfind("tlk_", 0), 0u);
  EXPECT_GE(issued["expires"].get<int64_t>(), now + 600 - 5);
  EXPECT_LE(issued["expires"].get<int64_t>(), now + 600 + 5);

  // The code pairs a device of this citizen, once.
  TestDevice d{NewKey(), "", ""};
  Reply paired = PairWith(code, d.key, "Browser");
  ASSERT_EQ(paired.status, 200) << paired.body;
  EXPECT_EQ(paired.Json()["citizen_id"], c.id);
  d.id = paired.Json()["device_id"];
  d.citizen_id = c.id;
  EXPECT_EQ(Signed(d, "GET", "/v1/me").status, 200);
  Reply again = PairWith(code, NewKey());
  EXPECT_EQ(again.status, 401) << again.body;
  EXPECT_EQ(again.ErrorCode(), "unauthenticated");

  // Both steps are in the citizen's access log, by the citizen; the code
  // itself is nowhere.
  Reply log = Get("/v1/me/access-log", c.token);
  ASSERT_EQ(log.status, 200) << log.body;
  const std::multiset<std::string> actions = LoggedActions(log);
  EXPECT_EQ(actions.count("device.pairing-code"), 1u) << log.body;
  EXPECT_EQ(actions.count("device.pair"), 1u) << log.body;
  const json entries = log.Json()["entries"];
  for (const json& e : entries) {
    if (e["action"] == "device.pairing-code") {
      EXPECT_EQ(e["actor_id"], c.id) << e.dump();
      EXPECT_EQ(e["citizen"], c.id) << e.dump();
    }
  }
  EXPECT_EQ(log.body.find(code), std::string::npos);
  StopServer();
  EXPECT_EQ(log_.str().find(code), std::string::npos);
}

TEST_F(DeviceTest, APairedDeviceIssuesPairingCodes) {
  TestDevice phone = Pair(NewCode());
  Reply first = Signed(phone, "POST", "/v1/me/devices/pairing-codes");
  ASSERT_EQ(first.status, 201) << first.body;
  Reply second = Signed(phone, "POST", "/v1/me/devices/pairing-codes", "{}");
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_NE(first.Json()["pairing_code"], second.Json()["pairing_code"]);

  // A new code leaves the earlier one valid: both pair a device.
  TestDevice browser = Pair(second.Json()["pairing_code"]);
  TestDevice tablet = Pair(first.Json()["pairing_code"]);
  EXPECT_EQ(browser.citizen_id, phone.citizen_id);
  EXPECT_EQ(tablet.citizen_id, phone.citizen_id);
  Reply list = Signed(browser, "GET", "/v1/me/devices");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.Json()["devices"].size(), 3u);
  EXPECT_EQ(Signed(phone, "GET", "/v1/me").status, 200);

  // Without a device key the code gives a bearer token, as an operator's.
  Reply code = Signed(tablet, "POST", "/v1/me/devices/pairing-codes");
  ASSERT_EQ(code.status, 201) << code.body;
  Reply enrolled =
      Post("/v1/enroll",
           json{{"enrollment_code", code.Json()["pairing_code"]}}.dump());
  ASSERT_EQ(enrolled.status, 200) << enrolled.body;
  EXPECT_EQ(enrolled.Json()["citizen_id"], phone.citizen_id);
}

TEST_F(DeviceTest, OnlyACitizenIssuesPairingCodes) {
  Principal provider = NewProvider();
  Reply r = Post("/v1/me/devices/pairing-codes", "", provider.token);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.ErrorCode(), "forbidden");
  EXPECT_EQ(Post("/v1/me/devices/pairing-codes", "", admin_).status, 403);
  Reply none = Post("/v1/me/devices/pairing-codes", "");
  EXPECT_EQ(none.status, 401) << none.body;
  EXPECT_FALSE(none.Json().contains("pairing_code"));
}

TEST_F(DeviceTest, APairingCodeBodyOtherThanEmptyIsRefusedUnrecorded) {
  Principal c = NewCitizen();
  for (const char* body :
       {"[1]", "{\"x\":1}", "null", "1", "\"\"", "[]", "{", "{}{}", " "}) {
    Reply r = Post("/v1/me/devices/pairing-codes", body, c.token);
    EXPECT_EQ(r.status, 400) << body << " " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_argument") << body;
  }
  Reply log = Get("/v1/me/access-log", c.token);
  ASSERT_EQ(log.status, 200) << log.body;
  EXPECT_EQ(LoggedActions(log).count("device.pairing-code"), 0u) << log.body;
  // No code was made: the citizen's token is their only live one.
  auto live = vault_->RevokePrincipalTokens(c.id);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(*live, 1);
}

TEST_F(DeviceTest, APairingCodeFailsClosedWithoutTheAuditLog) {
  Principal c = NewCitizen();
  server_->FailAuditWriteForTesting(1);
  Reply r = Post("/v1/me/devices/pairing-codes", "{}", c.token);
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.ErrorCode(), "audit_unavailable");
  EXPECT_FALSE(r.Json().contains("pairing_code"));
  EXPECT_EQ(r.body.find("tlk_"), std::string::npos);
  // No code was made: the citizen's token is their only live one.
  auto live = vault_->RevokePrincipalTokens(c.id);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_EQ(*live, 1);
}

class ShortPairingCodeTest : public DeviceTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    DeviceTest::Configure(o);
    o.pairing_code_ttl = 30;
  }
};

TEST_F(ShortPairingCodeTest, TheLifetimeIsTheServersOption) {
  Principal c = NewCitizen();
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  Reply r = Post("/v1/me/devices/pairing-codes", "", c.token);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_GE(r.Json()["expires"].get<int64_t>(), now + 30 - 5);
  EXPECT_LE(r.Json()["expires"].get<int64_t>(), now + 30 + 5);

  api::ServerOptions o;
  o.port = 0;
  o.pairing_code_ttl = 0;
  auto refused = api::Server::Create(vault_.get(), o);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

class SmallNonceCacheTest : public DeviceTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    DeviceTest::Configure(o);
    o.max_signature_nonces = 2;
  }
};

TEST_F(SmallNonceCacheTest, AFullNonceCacheFailsClosed) {
  TestDevice d = Pair(NewCode());
  EXPECT_EQ(Signed(d, "GET", "/v1/me").status, 200);
  EXPECT_EQ(Signed(d, "GET", "/v1/me").status, 200);
  Reply full = Signed(d, "GET", "/v1/me");
  EXPECT_EQ(full.status, 429) << full.body;
  EXPECT_FALSE(full.Header("Retry-After").empty());
}

// A shared replay cache out of reach (its database down).
class UnreachableReplayCache final : public http_signature::ReplayCache {
 public:
  StatusOr<Result> Remember(std::string_view, std::string_view, int64_t,
                            int64_t) override {
    ++calls;
    return Status::IoError("the database is unavailable");
  }
  std::atomic<int> calls{0};
};

class SharedReplayCacheTest : public DeviceTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    DeviceTest::Configure(o);
    o.replay_cache = &cache_;
  }
  UnreachableReplayCache cache_;
};

TEST_F(SharedReplayCacheTest, ACacheOutOfReachRefusesSignedRequestsOnly) {
  TestDevice d = Pair(NewCode());
  Reply r = Signed(d, "GET", "/v1/me");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "unavailable") << r.body;
  EXPECT_FALSE(r.Header("Retry-After").empty());
  EXPECT_GE(cache_.calls.load(), 1);  // the server used the cache it was given
  // Requests with a bearer token do not need it.
  Principal c = NewCitizen();
  EXPECT_EQ(Get("/v1/me", c.token).status, 200);
}

}  // namespace
}  // namespace tillit::testing
