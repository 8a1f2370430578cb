// The bridge through its C API only: against a fake server whose audit log
// the test controls (witness verdicts, error mapping, what is sent), and
// against a real `tillit serve` child process (pairing, signed calls,
// devices, the offline queue, a SIGKILL in the middle of a sync and a
// rolled-back log).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>

#include "fake_server.h"
#include "test_support.h"
#include "tillit_bridge.h"

namespace tillit::bridge::testing {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- library

TEST(BridgeLibraryTest, VersionsAndErrorCodes) {
  EXPECT_STREQ(tillit_bridge_version(), "0.1.0");
  EXPECT_EQ(tillit_bridge_abi_version(), TILLIT_BRIDGE_ABI_VERSION);
  EXPECT_STREQ(tillit_error_code(nullptr), "internal");
  EXPECT_STREQ(tillit_error_code("log_fork: the log forked"), "log_fork");
  EXPECT_STREQ(tillit_error_code("audit_unavailable: x"), "audit_unavailable");
  EXPECT_STREQ(tillit_error_code("made_up: x"), "internal");
  EXPECT_STREQ(tillit_error_code("log_fork"), "internal");
  tillit_bridge_free(nullptr);
}

TEST(BridgeLibraryTest, OpenValidatesOptionsAndReplacesErrptr) {
  TempDir dir;
  TestKeys keys;
  char* err = nullptr;
  EXPECT_EQ(tillit_client_open(nullptr, &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_STREQ(tillit_error_code(err), "invalid_argument");
  // The same errptr again: the old message is freed and replaced.
  tillit_options_t* o = tillit_options_create();
  tillit_options_set_state_dir(o, dir.path().c_str());
  tillit_options_set_key_provider(o, ProvideTestKey, &keys);
  tillit_options_set_base_url(o, "ftp://example.org");
  EXPECT_EQ(tillit_client_open(o, &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("base_url"), std::string::npos) << err;
  tillit_options_set_base_url(o, "http://127.0.0.1:1/path");
  EXPECT_EQ(tillit_client_open(o, &err), nullptr);
  EXPECT_STREQ(tillit_error_code(err), "invalid_argument");
  tillit_options_set_base_url(o, "http://127.0.0.1:1");
  tillit_options_set_audit_key(o, "not a key");
  EXPECT_EQ(tillit_client_open(o, &err), nullptr);
  EXPECT_NE(std::string(err).find("audit_key"), std::string::npos) << err;
  tillit_options_set_audit_key(o, nullptr);
  tillit_options_set_key_provider(o, nullptr, nullptr);
  EXPECT_EQ(tillit_client_open(o, &err), nullptr);
  EXPECT_NE(std::string(err).find("key_provider"), std::string::npos) << err;
  tillit_options_set_key_provider(o, ProvideTestKey, &keys);
  tillit_options_set_timeout_ms(o, 0);
  EXPECT_EQ(tillit_client_open(o, &err), nullptr);
  EXPECT_NE(std::string(err).find("timeout_ms"), std::string::npos) << err;
  tillit_options_set_timeout_ms(o, 1000);
  // Success leaves *errptr untouched.
  char* before = err;
  tillit_client_t* c = tillit_client_open(o, &err);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(err, before);
  tillit_bridge_free(err);
  // A NULL errptr is allowed; a NULL client is invalid_argument.
  EXPECT_EQ(tillit_sync(nullptr, nullptr), nullptr);
  err = nullptr;
  EXPECT_EQ(tillit_sync(nullptr, &err), nullptr);
  EXPECT_STREQ(tillit_error_code(err), "invalid_argument");
  tillit_bridge_free(err);
  tillit_client_close(c);
  tillit_client_close(nullptr);
  tillit_options_destroy(o);
}

TEST(BridgeLibraryTest, StateDirectoryIsCreatedPrivate) {
  TempDir dir;
  TestKeys keys;
  const std::string state = dir.path() + "/state";
  Bridge b("http://127.0.0.1:1", state, &keys);
  ASSERT_TRUE(b.open_outcome().ok) << b.open_outcome().error;
  EXPECT_EQ(fs::status(state).permissions() & fs::perms::all,
            fs::perms::owner_all);
  Outcome s = b.Status();
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(s.Json(), json({{"paired", false},
                            {"citizen_id", nullptr},
                            {"device_id", nullptr},
                            {"device_public_key", nullptr},
                            {"queued", 0},
                            {"witness", nullptr}}));
}

TEST(BridgeLibraryTest, KeyProviderFailuresAreKeyUnavailable) {
  TempDir dir;
  TestKeys keys;
  keys.fail = true;
  Bridge failing("http://127.0.0.1:1", dir.path(), &keys);
  EXPECT_FALSE(failing.open_outcome().ok);
  EXPECT_EQ(failing.open_outcome().code, "key_unavailable")
      << failing.open_outcome().error;
}

TEST(BridgeLibraryTest, AnAllZeroPlatformKeyIsKeyUnavailable) {
  TempDir dir;
  TestKeys keys;
  std::memset(keys.queue, 0, sizeof keys.queue);
  Bridge b("http://127.0.0.1:1", dir.path(), &keys);
  EXPECT_EQ(b.open_outcome().code, "key_unavailable") << b.open_outcome().error;
}

TEST(BridgeLibraryTest, AWrongQueueKeyIsAStorageError) {
  TempDir dir;
  TestKeys keys;
  { Bridge first("http://127.0.0.1:1", dir.path(), &keys); }
  TestKeys other;
  Bridge wrong("http://127.0.0.1:1", dir.path(), &other);
  EXPECT_FALSE(wrong.open_outcome().ok);
  EXPECT_EQ(wrong.open_outcome().code, "storage") << wrong.open_outcome().error;
}

TEST(BridgeLibraryTest, CallsBeforePairingAreNotPaired) {
  TempDir dir;
  TestKeys keys;
  Bridge b("http://127.0.0.1:1", dir.path(), &keys);
  EXPECT_EQ(b.ListRecords(nullptr).code, "not_paired");
  EXPECT_EQ(b.QueueRecord(HeartRate(1)).code, "not_paired");
  EXPECT_EQ(b.Sync().code, "not_paired");
  EXPECT_EQ(b.Unpair().code, "not_paired");
  EXPECT_EQ(b.AccessLog(nullptr).code, "not_paired");
  char* err = nullptr;
  EXPECT_EQ(tillit_list_devices(b.get(), &err), nullptr);
  EXPECT_STREQ(tillit_error_code(err), "not_paired");
  tillit_bridge_free(err);
}

TEST(BridgeLibraryTest, AnUnreachableServerIsANetworkError) {
  TempDir dir;
  TestKeys keys;
  Bridge b("http://127.0.0.1:1", dir.path(), &keys);
  Outcome paired = b.Pair("some-code");
  EXPECT_EQ(paired.code, "network") << paired.error;
  EXPECT_FALSE(b.Status().Json()["paired"].get<bool>());
}

// ------------------------------------------------------------ fake server

class FakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override { fake_.SetLog("a", 5); }

  std::unique_ptr<Bridge> Open(const std::string& audit_key = "") {
    return std::make_unique<Bridge>(fake_.url(), dir_.path(), &keys_,
                                    audit_key);
  }
  std::unique_ptr<Bridge> Paired() {
    auto b = Open();
    Outcome p = b->Pair("any-code");
    EXPECT_TRUE(p.ok) << p.error;
    return b;
  }
  json Witness(Bridge& b) { return b.Status().Json()["witness"]; }

  FakeServer fake_;
  TempDir dir_;
  TestKeys keys_;
};

TEST_F(FakeServerTest, PairsAndKeepsTheFirstCheckpoint) {
  auto b = Open();
  Outcome p = b->Pair("any-code", "Anna's phone");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.Json()["citizen_id"], FakeServer::kCitizen);
  EXPECT_EQ(p.Json()["device_id"], FakeServer::kDevice);
  json s = b->Status().Json();
  EXPECT_EQ(p.Json()["witness"], s["witness"]);
  EXPECT_TRUE(s["paired"].get<bool>());
  EXPECT_EQ(s["device_id"], FakeServer::kDevice);
  EXPECT_EQ(s["witness"]["size"], 5);
  EXPECT_EQ(b->Pair("any-code").code, "already_paired");
  // The pairing survives closing and reopening.
  b.reset();
  b = Open();
  EXPECT_EQ(b->Status().Json()["device_id"], FakeServer::kDevice);
  // Signed requests verify at the fake (it answers 401 otherwise).
  Outcome r = b->Restrictions();
  EXPECT_TRUE(r.ok) << r.error;
}

TEST_F(FakeServerTest, PairingChecksThePinnedAuditKeyAndTheDeviceName) {
  {
    auto b = Open(fake_.verifier_key());
    ASSERT_TRUE(b->Pair("any-code").ok);
  }
  TempDir other_dir;
  Bridge b(fake_.url(), other_dir.path() + "/x", &keys_);
  const int before = fake_.requests();
  EXPECT_EQ(b.Pair("any-code", "").code, "invalid_argument");
  EXPECT_EQ(b.Pair("any-code", std::string(65, 'n')).code, "invalid_argument");
  EXPECT_EQ(b.Pair("any-code", "tab\there").code, "invalid_argument");
  EXPECT_EQ(b.Pair("", "phone").code, "invalid_argument");
  EXPECT_EQ(fake_.requests(), before);
}

TEST_F(FakeServerTest, PairingKeepsASpentCodeWhenTheFirstCheckpointFails) {
  auto b = Open();
  fake_.SignWithOtherKey(true);
  Outcome p = b->Pair("any-code");
  // The checkpoint does not verify: reported, but the code the server
  // took is not wasted.
  EXPECT_EQ(p.code, "proof_invalid") << p.error;
  json status = b->Status().Json();
  EXPECT_TRUE(status["paired"].get<bool>());
  EXPECT_TRUE(status["witness"].is_null());
  EXPECT_EQ(b->Sync().code, "proof_invalid");
  fake_.SignWithOtherKey(false);
  Outcome s = b->Sync();
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(Witness(*b)["size"], 5);
}

TEST_F(FakeServerTest, APinnedKeyOfAnotherServerIsProofInvalid) {
  FakeServer other(7);  // same key name, another signing key
  Bridge b(fake_.url(), dir_.path(), &keys_, other.verifier_key());
  ASSERT_TRUE(b.open_outcome().ok) << b.open_outcome().error;
  const int before = fake_.requests();
  Outcome p = b.Pair("any-code");
  EXPECT_EQ(p.code, "proof_invalid") << p.error;
  EXPECT_FALSE(b.Status().Json()["paired"].get<bool>());
  // Only the public key was asked for: the code never left the phone.
  EXPECT_EQ(fake_.requests(), before + 1);
}

TEST_F(FakeServerTest, AnHonestExtensionAdvancesTheWitness) {
  auto b = Paired();
  const json first = Witness(*b);
  fake_.GrowLog("a", 7);
  Outcome s = b->Sync();
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(s.Json()["witness"]["size"], 12);
  EXPECT_EQ(Witness(*b)["size"], 12);
  EXPECT_NE(Witness(*b)["root"], first["root"]);
  // Nothing new: still fine, still the same.
  ASSERT_TRUE(b->Sync().ok);
  EXPECT_EQ(Witness(*b)["size"], 12);
}

TEST_F(FakeServerTest, SameSizeWithAnotherRootIsAFork) {
  auto b = Paired();
  const json before = Witness(*b);
  fake_.SetLog("b", 5);
  Outcome s = b->Sync();
  EXPECT_EQ(s.code, "log_fork") << s.error;
  EXPECT_EQ(Witness(*b), before);
}

TEST_F(FakeServerTest, ABiggerTreeThatDoesNotExtendIsAFork) {
  auto b = Paired();
  const json before = Witness(*b);
  fake_.SetLog("b", 9);
  Outcome s = b->Sync();
  EXPECT_EQ(s.code, "log_fork") << s.error;
  EXPECT_EQ(Witness(*b), before);
}

TEST_F(FakeServerTest, ASmallerTreeIsARollback) {
  auto b = Paired();
  const json before = Witness(*b);
  fake_.SetLog("a", 3);
  Outcome s = b->Sync();
  EXPECT_EQ(s.code, "log_rollback") << s.error;
  EXPECT_EQ(Witness(*b), before);
  // The rollback is remembered: the witness still says 5.
  fake_.SetLog("a", 4);
  EXPECT_EQ(b->Sync().code, "log_rollback");
}

TEST_F(FakeServerTest, ABadCheckpointSignatureIsProofInvalid) {
  // (At pairing: PairingKeepsASpentCodeWhenTheFirstCheckpointFails.)
  auto b = Paired();
  fake_.GrowLog("a", 2);
  fake_.SignWithOtherKey(true);
  EXPECT_EQ(b->Sync().code, "proof_invalid");
  EXPECT_EQ(Witness(*b)["size"], 5);
}

TEST_F(FakeServerTest, AccessLogVerifiesEveryInclusionProof) {
  auto b = Paired();
  fake_.GrowLog("a", 4);
  // Without verify: the server's answer as it is.
  Outcome plain = b->AccessLog(R"({"limit": 10})");
  EXPECT_EQ(plain.code, "bad_request") << plain.error;  // the fake wants proofs
  Outcome v = b->AccessLog(R"({"verify": true})");
  ASSERT_TRUE(v.ok) << v.error;
  EXPECT_TRUE(v.Json()["verified"].get<bool>());
  EXPECT_EQ(v.Json()["entries"].size(), 9u);
  EXPECT_EQ(Witness(*b)["size"], 9);

  fake_.GrowLog("a", 1);
  fake_.TamperAccessLog(true);
  Outcome tampered = b->AccessLog(R"({"verify": true})");
  EXPECT_EQ(tampered.code, "proof_invalid") << tampered.error;
  EXPECT_EQ(Witness(*b)["size"], 9);
  fake_.TamperAccessLog(false);

  fake_.SignWithOtherKey(true);
  EXPECT_EQ(b->AccessLog(R"({"verify": true})").code, "proof_invalid");
  fake_.SignWithOtherKey(false);

  fake_.SetLog("b", 12);
  EXPECT_EQ(b->AccessLog(R"({"verify": true})").code, "log_fork");
  fake_.SetLog("a", 2);
  EXPECT_EQ(b->AccessLog(R"({"verify": true})").code, "log_rollback");
  EXPECT_EQ(Witness(*b)["size"], 9);
}

TEST_F(FakeServerTest, ServerAnswersMapToErrorCodes) {
  auto b = Paired();
  const std::map<int, std::pair<std::string, std::string>> cases = {
      {401, {"unauthenticated", "unauthenticated"}},
      {403, {"forbidden", "forbidden"}},
      {404, {"not_found", "not_found"}},
      {409, {"conflict", "conflict"}},
      {413, {"payload_too_large", "too_large"}},
      {429, {"rate_limited", "rate_limited"}},
      {400, {"invalid_argument", "bad_request"}},
      {500, {"internal", "server"}},
  };
  for (const auto& [status, codes] : cases) {
    fake_.ForceRestrictions(status, codes.first);
    Outcome r = b->Restrictions();
    EXPECT_EQ(r.code, codes.second) << status << ": " << r.error;
    EXPECT_NE(r.error.find("forced"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("request_id fake0001"), std::string::npos)
        << r.error;
  }
  fake_.ForceRestrictions(503, "audit_unavailable");
  EXPECT_EQ(b->Restrictions().code, "audit_unavailable");
  fake_.ForceRestrictions(503, "unavailable");
  EXPECT_EQ(b->Restrictions().code, "server");
  // A route the fake does not have: cpp-httplib's bare 404.
  char* err = nullptr;
  EXPECT_EQ(tillit_list_consents(b->get(), &err), nullptr);
  EXPECT_STREQ(tillit_error_code(err), "not_found") << err;
  tillit_bridge_free(err);
}

TEST_F(FakeServerTest, BadInputIsRefusedWithNothingSent) {
  auto b = Paired();
  const int before = fake_.requests();
  tillit_client_t* c = b->get();
  using CallFn = std::function<char*(char**)>;
  auto expect_invalid = [&](const CallFn& call, const char* what) {
    char* err = nullptr;
    char* result = call(&err);
    Outcome o = Take(result, err);
    EXPECT_EQ(o.code, "invalid_argument") << what << ": " << o.error;
  };
  expect_invalid([&](char** err) { return tillit_add_record(c, "{", err); },
                 "add: malformed");
  expect_invalid([&](char** err) { return tillit_add_record(c, nullptr, err); },
                 "add: NULL");
  expect_invalid(
      [&](char** err) {
        return tillit_add_record(c, R"({"resourceType": "Bundle"})", err);
      },
      "add: bundle");
  expect_invalid([&](char** err) { return tillit_queue_record(c, "[]", err); },
                 "queue: array");
  expect_invalid(
      [&](char** err) { return tillit_grant_consent(c, "not json", err); },
      "grant");
  expect_invalid(
      [&](char** err) { return tillit_preview_consent(c, "[1]", err); },
      "preview");
  expect_invalid(
      [&](char** err) { return tillit_set_restrictions(c, "{\"a\":", err); },
      "restrictions");
  expect_invalid(
      [&](char** err) {
        return tillit_list_records(c, R"({"colour": "red"})", err);
      },
      "records query");
  expect_invalid(
      [&](char** err) { return tillit_access_log(c, R"({"limit": 0})", err); },
      "access log query");
  expect_invalid(
      [&](char** err) {
        return tillit_get_record(c, "Observation", "../etc", err);
      },
      "record id");
  expect_invalid(
      [&](char** err) { return tillit_get_record(c, "observation", "x", err); },
      "record type");
  expect_invalid(
      [&](char** err) { return tillit_revoke_consent(c, "g/1", err); },
      "grant id");
  expect_invalid(
      [&](char** err) {
        return tillit_revoke_device(c, FakeServer::kDevice.c_str(), err);
      },
      "own device");
  expect_invalid(
      [&](char** err) {
        return tillit_call(c, "PATCH", "/v1/me", nullptr, 0, nullptr, err);
      },
      "call: method");
  expect_invalid(
      [&](char** err) {
        return tillit_call(c, "GET", "/admin", nullptr, 0, nullptr, err);
      },
      "call: path");
  expect_invalid(
      [&](char** err) {
        return tillit_call(c, "GET", "/v1/me records", nullptr, 0, nullptr,
                           err);
      },
      "call: space");
  expect_invalid(
      [&](char** err) {
        return tillit_call(c, "POST", "/v1/me", "{x", 2, nullptr, err);
      },
      "call: body");
  expect_invalid(
      [&](char** err) {
        return tillit_call(c, "POST", "/v1/me", nullptr, 3, nullptr, err);
      },
      "call: NULL body");
  EXPECT_EQ(fake_.requests(), before);
  EXPECT_EQ(b->Status().Json()["queued"], 0);
}

TEST_F(FakeServerTest, QueriesArePercentEncodedAndBodiesSentAsGiven) {
  auto b = Paired();
  int status = 0;
  Outcome echo = CALL(
      tillit_call(b->get(), "POST", "/v1/echo?a=%20b", "", 0, &status, &err));
  ASSERT_TRUE(echo.ok) << echo.error;
  EXPECT_EQ(status, 200);
  // The target as signed, and a POST without a body still says so.
  EXPECT_EQ(echo.Json()["target"], "/v1/echo?a=%20b");
  EXPECT_EQ(echo.Json()["length"], "0");
  Outcome preview = CALL(tillit_preview_consent(
      b->get(), R"({ "categories" : ["lab-results"] })", &err));
  ASSERT_TRUE(preview.ok) << preview.error;
  EXPECT_EQ(preview.value, R"({"categories":["lab-results"]})");
  // An error status comes back through status_out too.
  fake_.ForceRestrictions(404, "not_found");
  Outcome missing = CALL(tillit_call(b->get(), "GET", "/v1/me/restrictions",
                                     nullptr, 0, &status, &err));
  EXPECT_EQ(missing.code, "not_found");
  EXPECT_EQ(status, 404);
}

TEST_F(FakeServerTest, DeviceKeyFailuresAreKeyUnavailable) {
  auto b = Paired();
  keys_.fail_device = true;
  EXPECT_EQ(b->Restrictions().code, "key_unavailable");
  EXPECT_EQ(b->Sync().code, "key_unavailable");
  keys_.fail_device = false;
  EXPECT_TRUE(b->Restrictions().ok);
  // Another device-key (the platform store was reset): the sealed key does
  // not open. Never a crash, never a request.
  b.reset();
  const unsigned char saved = keys_.device[0];
  keys_.device[0] ^= 0xff;
  b = Open();
  const int before = fake_.requests();
  Outcome r = b->Restrictions();
  EXPECT_EQ(r.code, "key_unavailable") << r.error;
  EXPECT_EQ(fake_.requests(), before);
  keys_.device[0] = saved;
  b.reset();
  b = Open();
  EXPECT_TRUE(b->Restrictions().ok);
}

TEST_F(FakeServerTest, PairingWithoutADeviceKeySendsNothing) {
  keys_.fail_device = true;
  auto b = Open();
  const int before = fake_.requests();
  EXPECT_EQ(b->Pair("any-code").code, "key_unavailable");
  EXPECT_EQ(fake_.requests(), before);
}

TEST_F(FakeServerTest, ARefusedRecordStaysQueuedAndTheRestAreSent) {
  auto b = Paired();
  Outcome q1 = b->QueueRecord(HeartRate(1));
  ASSERT_TRUE(q1.ok) << q1.error;
  Outcome q2 =
      b->QueueRecord(R"({"resourceType": "Observation", "reject": true})");
  Outcome q3 = b->QueueRecord(HeartRate(3));
  ASSERT_TRUE(q2.ok && q3.ok);
  EXPECT_EQ(b->Status().Json()["queued"], 3);
  const std::string key3 = q3.Json()["idempotency_key"];
  EXPECT_EQ(key3.size(), 32u);
  Outcome s = b->Sync();
  ASSERT_TRUE(s.ok) << s.error;
  json j = s.Json();
  EXPECT_EQ(j["sent"], 2);
  EXPECT_EQ(j["remaining"], 1);
  ASSERT_EQ(j["failed"].size(), 1u);
  EXPECT_EQ(j["failed"][0]["queue_id"], q2.Json()["queue_id"]);
  EXPECT_NE(j["failed"][0]["error"].get<std::string>().find("refuses"),
            std::string::npos);
  EXPECT_EQ(fake_.last_idempotency_key(), "\"" + key3 + "\"");
  EXPECT_EQ(b->Status().Json()["queued"], 1);
}

TEST_F(FakeServerTest, AddRecordSendsAFreshIdempotencyKeyEachTime) {
  auto b = Paired();
  ASSERT_TRUE(b->AddRecord(HeartRate(1)).ok);
  const std::string first = fake_.last_idempotency_key();
  Outcome added = b->AddRecord(HeartRate(1));
  ASSERT_TRUE(added.ok) << added.error;
  EXPECT_EQ(added.Json()["id"], "fake");
  EXPECT_NE(fake_.last_idempotency_key(), first);
  EXPECT_EQ(fake_.records_posted(), 2);
}

TEST_F(FakeServerTest, ConcurrentCallsOnOneClientAreSerialised) {
  auto b = Paired();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        if (b->QueueRecord(HeartRate(i)).ok) ++ok;
        if (b->Restrictions().ok) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
  Outcome s = b->Sync();
  ASSERT_TRUE(s.ok) << s.error;
  EXPECT_EQ(s.Json()["sent"], 40);
}

}  // namespace
}  // namespace tillit::bridge::testing
