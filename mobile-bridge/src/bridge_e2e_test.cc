// The bridge through its C API against a real `tillit serve` child
// process: pairing, every typed call, devices, the offline queue with the
// server down, a SIGKILL in the middle of a sync, and a rolled-back log.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "test_support.h"
#include "tillit_bridge.h"

namespace tillit::bridge::testing {
namespace {

namespace fs = std::filesystem;

const json kResearchGrant = {
    {"grantee", {{"kind", "any-researcher"}}},
    {"purposes", {"DUO:0000006"}},
    {"categories", {"lab-results", "vital-signs"}},
    {"data_period", {{"start", "1900-01-01"}, {"end", nullptr}}},
    {"expires", "2099-12-31T00:00:00Z"},
    {"include_sensitive", false}};

class RealServerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()); }

  std::unique_ptr<Bridge> Open(const std::string& state, TestKeys* keys) {
    auto b = std::make_unique<Bridge>(server_.url(), dir_.path() + "/" + state,
                                      keys);
    EXPECT_TRUE(b->open_outcome().ok) << b->open_outcome().error;
    return b;
  }

  // How many times each heart-rate marker is stored on the server.
  std::map<int, int> StoredMarkers(Bridge& b) {
    std::map<int, int> counts;
    std::string cursor;
    for (;;) {
      json q = {{"type", "Observation"}, {"limit", 1000}};
      if (!cursor.empty()) q["cursor"] = cursor;
      Outcome page = b.ListRecords(q.dump().c_str());
      EXPECT_TRUE(page.ok) << page.error;
      if (!page.ok) break;
      json j = page.Json();
      for (const json& r : j["records"]) {
        ++counts[r["valueQuantity"]["value"].get<int>()];
      }
      if (j["next"].is_null()) break;
      cursor = j["next"].get<std::string>();
    }
    return counts;
  }

  TempDir dir_;
  TillitServer server_{dir_.path()};
};

TEST_F(RealServerTest, PairsAndMakesEverySignedCall) {
  auto [citizen, code] = server_.NewCitizen();
  TestKeys keys_a;
  auto a = Open("a", &keys_a);
  Outcome paired = a->Pair(code, "Phone A");
  ASSERT_TRUE(paired.ok) << paired.error;
  EXPECT_EQ(paired.Json()["citizen_id"], citizen);
  const std::string device_a = paired.Json()["device_id"];
  EXPECT_GT(a->Status().Json()["witness"]["size"].get<int>(), 0);
  // The code is spent.
  TestKeys keys_x;
  auto x = Open("x", &keys_x);
  EXPECT_EQ(x->Pair(code, "Phone X").code, "unauthenticated");

  // Records.
  Outcome added = a->AddRecord(HeartRate(61));
  ASSERT_TRUE(added.ok) << added.error;
  const std::string id = added.Json()["id"];
  Outcome listed = a->ListRecords(R"({"type": "Observation", "limit": 10})");
  ASSERT_TRUE(listed.ok) << listed.error;
  ASSERT_EQ(listed.Json()["records"].size(), 1u);
  EXPECT_EQ(listed.Json()["records"][0]["id"], id);
  Outcome one =
      CALL(tillit_get_record(a->get(), "Observation", id.c_str(), &err));
  ASSERT_TRUE(one.ok) << one.error;
  EXPECT_EQ(one.Json()["valueQuantity"]["value"], 61);
  EXPECT_EQ(
      CALL(tillit_get_record(a->get(), "Observation", "nothere", &err)).code,
      "not_found");
  Outcome exported = CALL(tillit_export(a->get(), &err));
  ASSERT_TRUE(exported.ok) << exported.error;
  EXPECT_EQ(exported.Json()["resourceType"], "Bundle");
  EXPECT_EQ(exported.Json()["entry"].size(), 1u);
  // A time with '+' and ':' in the query, percent-encoded.
  Outcome since = a->ListRecords(R"({"since": "2024-05-01T09:30:00+02:00"})");
  ASSERT_TRUE(since.ok) << since.error;
  EXPECT_EQ(since.Json()["records"].size(), 1u);
  EXPECT_EQ(a->ListRecords(R"({"category": "no-such-thing"})").code,
            "bad_request");

  // Consents.
  const std::string grant = kResearchGrant.dump();
  Outcome preview = CALL(tillit_preview_consent(a->get(), grant.c_str(), &err));
  ASSERT_TRUE(preview.ok) << preview.error;
  EXPECT_TRUE(preview.Json().contains("total"));
  Outcome granted = CALL(tillit_grant_consent(a->get(), grant.c_str(), &err));
  ASSERT_TRUE(granted.ok) << granted.error;
  const std::string gid = granted.Json()["id"];
  Outcome consents = CALL(tillit_list_consents(a->get(), &err));
  ASSERT_TRUE(consents.ok) << consents.error;
  EXPECT_EQ(consents.Json()["consents"].size(), 1u);
  Outcome revoked = CALL(tillit_revoke_consent(a->get(), gid.c_str(), &err));
  ASSERT_TRUE(revoked.ok) << revoked.error;
  EXPECT_EQ(revoked.Json()["status"], "revoked");
  EXPECT_EQ(CALL(tillit_revoke_consent(a->get(), gid.c_str(), &err)).code,
            "conflict");

  // Restrictions and opt-out.
  Outcome put = CALL(tillit_set_restrictions(
      a->get(), R"({"categories": ["prescriptions"], "records": []})", &err));
  ASSERT_TRUE(put.ok) << put.error;
  Outcome got = a->Restrictions();
  ASSERT_TRUE(got.ok) << got.error;
  EXPECT_EQ(got.Json()["categories"], json({"prescriptions"}));
  Outcome opt = CALL(tillit_set_research_opt_out(a->get(), 1, &err));
  ASSERT_TRUE(opt.ok) << opt.error;
  EXPECT_EQ(opt.Json(), json({{"opted_out", true}}));

  // The generic call.
  int status = 0;
  Outcome me =
      CALL(tillit_call(a->get(), "GET", "/v1/me", nullptr, 0, &status, &err));
  ASSERT_TRUE(me.ok) << me.error;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(me.Json()["records"], 1);
  Outcome missing = CALL(tillit_call(a->get(), "GET", "/v1/me/nothing", nullptr,
                                     0, &status, &err));
  EXPECT_EQ(status, 404);
  EXPECT_EQ(missing.code, "not_found");

  // The access log, verified; it advances the witness.
  const int before = a->Status().Json()["witness"]["size"];
  Outcome log = a->AccessLog(R"({"verify": true, "limit": 50})");
  ASSERT_TRUE(log.ok) << log.error;
  EXPECT_TRUE(log.Json()["verified"].get<bool>());
  EXPECT_GE(log.Json()["entries"].size(), 10u);
  EXPECT_GT(a->Status().Json()["witness"]["size"].get<int>(), before);
  Outcome plain = a->AccessLog(R"({"limit": 2})");
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_FALSE(plain.Json().contains("verified"));

  // Devices: a second phone, then the first cuts it off.
  TestKeys keys_b;
  auto b = Open("b", &keys_b);
  Outcome paired_b =
      b->Pair(server_.NewEnrollmentCode(citizen), "\xc3\x85sas telefon");
  ASSERT_TRUE(paired_b.ok) << paired_b.error;
  const std::string device_b = paired_b.Json()["device_id"];
  ASSERT_TRUE(b->ListRecords(nullptr).ok);
  Outcome devices = CALL(tillit_list_devices(a->get(), &err));
  ASSERT_TRUE(devices.ok) << devices.error;
  ASSERT_EQ(devices.Json()["devices"].size(), 2u);
  const json device_list = devices.Json();  // iterated: not a temporary
  for (const json& d : device_list["devices"]) {
    EXPECT_EQ(d["this_device"].get<bool>(), d["id"] == device_a) << d;
    EXPECT_TRUE(d["revoked"].is_null());
    if (d["id"] == device_b) {
      EXPECT_EQ(d["name"], "\xc3\x85sas telefon");
    }
  }
  Outcome cut = CALL(tillit_revoke_device(a->get(), device_b.c_str(), &err));
  ASSERT_TRUE(cut.ok) << cut.error;
  EXPECT_EQ(b->ListRecords(nullptr).code, "unauthenticated");
  EXPECT_EQ(b->Sync().code, "unauthenticated");
  EXPECT_EQ(CALL(tillit_revoke_device(a->get(), device_b.c_str(), &err)).code,
            "conflict");
  // The revoked phone's unpairing is refused by the server, so it only
  // forgets its local state.
  Outcome forgotten = b->Unpair();
  EXPECT_TRUE(forgotten.ok) << forgotten.error;
  EXPECT_FALSE(b->Status().Json()["paired"].get<bool>());
  EXPECT_EQ(b->ListRecords(nullptr).code, "not_paired");

  // A sync with nothing queued still checks the log.
  Outcome synced = a->Sync();
  ASSERT_TRUE(synced.ok) << synced.error;
  EXPECT_EQ(synced.Json()["sent"], 0);

  // Unpairing revokes this device and forgets everything local.
  Outcome unpaired = a->Unpair();
  ASSERT_TRUE(unpaired.ok) << unpaired.error;
  json s = a->Status().Json();
  EXPECT_FALSE(s["paired"].get<bool>());
  EXPECT_TRUE(s["witness"].is_null());
  EXPECT_EQ(a->ListRecords(nullptr).code, "not_paired");
  // And it can pair again with a new code.
  Outcome again = a->Pair(server_.NewEnrollmentCode(citizen), "Phone A");
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_NE(again.Json()["device_id"], device_a);
}

TEST_F(RealServerTest, TheQueueKeepsRecordsWhileTheServerIsDown) {
  auto [citizen, code] = server_.NewCitizen();
  TestKeys keys;
  auto a = Open("a", &keys);
  ASSERT_TRUE(a->Pair(code).ok);
  server_.Stop();
  for (int i = 0; i < 20; ++i) {
    Outcome q = a->QueueRecord(HeartRate(1000 + i));
    ASSERT_TRUE(q.ok) << q.error;
  }
  EXPECT_EQ(a->Status().Json()["queued"], 20);
  Outcome offline = a->Sync();
  EXPECT_EQ(offline.code, "network") << offline.error;
  EXPECT_EQ(a->Status().Json()["queued"], 20);
  EXPECT_EQ(a->AddRecord(HeartRate(1)).code, "network");

  ASSERT_TRUE(server_.Start());  // another port: reopen on it
  a = Open("a", &keys);
  EXPECT_EQ(a->Status().Json()["queued"], 20);
  Outcome online = a->Sync();
  ASSERT_TRUE(online.ok) << online.error;
  EXPECT_EQ(online.Json()["sent"], 20);
  EXPECT_EQ(online.Json()["remaining"], 0);
  EXPECT_TRUE(online.Json()["failed"].empty());
  Outcome again = a->Sync();
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_EQ(again.Json()["sent"], 0);
  std::map<int, int> stored = StoredMarkers(*a);
  ASSERT_EQ(stored.size(), 20u);
  for (const auto& [marker, count] : stored) {
    EXPECT_GE(marker, 1000);
    EXPECT_EQ(count, 1) << marker;
  }
}

TEST_F(RealServerTest, ASyncKilledHalfwayLosesAndDuplicatesNothing) {
  constexpr int kRecords = 300;
  auto [citizen, code] = server_.NewCitizen();
  TestKeys keys;
  {
    auto a = Open("a", &keys);
    ASSERT_TRUE(a->Pair(code).ok);
    for (int i = 0; i < kRecords; ++i) {
      Outcome q = a->QueueRecord(HeartRate(i));
      ASSERT_TRUE(q.ok) << q.error;
    }
  }  // closed: the child owns the state directory now
  const int64_t baseline = server_.AuditEntries();
  ASSERT_GE(baseline, 0);
  ChildProcess child =
      Spawn({TILLIT_BRIDGE_SYNC_CHILD, dir_.path() + "/a", server_.url()},
            {"TILLIT_TEST_DEVICE_KEY=" + keys.DeviceHex(),
             "TILLIT_TEST_QUEUE_KEY=" + keys.QueueHex()},
            dir_.path() + "/child.err");
  int64_t seen = 0;
  for (int waited = 0; waited < 60000; ++waited) {
    seen = server_.AuditEntries() - baseline;
    if (seen >= 40) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(child.pid, SIGKILL);
  EXPECT_EQ(WaitFor(child), -1) << "the child finished before the kill";
  ASSERT_GE(seen, 40);
  ASSERT_LT(seen, kRecords) << "the sync finished before the kill";

  auto a = Open("a", &keys);
  const int queued = a->Status().Json()["queued"];
  EXPECT_GT(queued, 0);
  EXPECT_LT(queued, kRecords);
  Outcome resumed = a->Sync();
  ASSERT_TRUE(resumed.ok) << resumed.error;
  EXPECT_EQ(resumed.Json()["sent"], queued);
  EXPECT_EQ(resumed.Json()["remaining"], 0);
  EXPECT_EQ(a->Status().Json()["queued"], 0);
  std::map<int, int> stored = StoredMarkers(*a);
  EXPECT_EQ(stored.size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) EXPECT_EQ(stored[i], 1) << i;
}

TEST_F(RealServerTest, ARolledBackLogIsDetected) {
  auto [citizen, code] = server_.NewCitizen();
  TestKeys keys;
  auto a = Open("a", &keys);
  ASSERT_TRUE(a->Pair(code).ok);
  ASSERT_TRUE(a->Sync().ok);
  a.reset();  // its idle keep-alive connection would hold up the shutdown
  server_.Stop();
  const std::string data = server_.data_dir();
  const std::string saved = dir_.path() + "/saved-audit";
  fs::create_directory(saved);
  for (const char* name : {"audit.db", "audit.db-wal", "audit.db-shm"}) {
    if (fs::exists(data + "/" + name))
      fs::copy_file(data + "/" + name, saved + "/" + name);
  }
  ASSERT_TRUE(server_.Start());
  a = Open("a", &keys);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(a->ListRecords(nullptr).ok);
  Outcome grown = a->Sync();
  ASSERT_TRUE(grown.ok) << grown.error;
  const int witnessed = grown.Json()["witness"]["size"];
  a.reset();
  server_.Stop();
  for (const char* name : {"audit.db", "audit.db-wal", "audit.db-shm"}) {
    fs::remove(data + "/" + name);
    if (fs::exists(saved + "/" + name))
      fs::copy_file(saved + "/" + name, data + "/" + name);
  }
  ASSERT_TRUE(server_.Start());
  a = Open("a", &keys);
  Outcome rolled = a->Sync();
  EXPECT_EQ(rolled.code, "log_rollback") << rolled.error;
  EXPECT_EQ(a->Status().Json()["witness"]["size"], witnessed);
  Outcome log = a->AccessLog(R"({"verify": true})");
  EXPECT_EQ(log.code, "log_rollback") << log.error;
}

}  // namespace
}  // namespace tillit::bridge::testing
