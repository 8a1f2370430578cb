// Being told of accesses (EHDS Art 9) through the HTTP API: the settings
// and Web Push subscriptions at /v1/me/notifications and
// /v1/me/push-subscriptions, and what reaches a local push service and a
// local webhook receiver when a provider reads, when the citizen turned
// it off, and when the receiver is stuck.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "http_fixture.h"
#include "receiver_test_util.h"
#include "tillit/crypto/encoding.h"
#include "tillit/crypto/web_push.h"

namespace tillit::testing {
namespace {

using nlohmann::json;
using notify::testing_util::Receiver;

constexpr char kAuth[] = "BTBZMqHH6r4Tts7J_aSIgg";  // the browser's secret

class NotifyTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.notifications.push_hosts = *notify::ParsePushHosts("127.0.0.1");
    o.notifications.webhook_url = hooks_.Url("/hooks");
    o.notifications.coalesce_seconds = 0;
    o.notifications.poll_ms = 10;
    o.notifications.retry_base_ms = 20;
    o.notifications.timeout_seconds = 2;
  }
  void SetUp() override {
    HttpTest::SetUp();
    browser_ = std::make_unique<crypto::P256Key>(*crypto::P256Key::Generate());
  }
  json Subscription(const std::string& path) const {
    return {{"endpoint", push_.Url(path)},
            {"expirationTime", nullptr},
            {"keys",
             {{"p256dh", crypto::Base64UrlEncode(browser_->public_key())},
              {"auth", kAuth}}}};
  }
  // A citizen with notifications `mode`, a subscribed browser, and a
  // provider granted their lab results.
  struct Setup {
    Principal citizen;
    Principal provider;
  };
  Setup Watched(const std::string& mode) {
    Setup s{NewCitizen(), NewProvider()};
    EXPECT_EQ(Put("/v1/me/notifications", json{{"mode", mode}}.dump(),
                  s.citizen.token)
                  .status,
              200);
    EXPECT_EQ(
        Post("/v1/me/push-subscriptions",
             Subscription("/push/" + s.citizen.id).dump(), s.citizen.token)
            .status,
        201);
    auto g = consents_->AddGrant(
        s.citizen.id,
        json{{"grantee", {{"kind", "provider"}, {"id", s.provider.id}}},
             {"purposes", {"DUO:0000043"}},
             {"categories", {"lab-results"}}}
            .dump());
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    return s;
  }
  Reply ProviderReads(const Setup& s) {
    return Get("/v1/patients/" + s.citizen.id + "/records", s.provider.token);
  }
  json Decrypted(const Receiver::Request& r) const {
    auto auth = crypto::Base64UrlDecode(kAuth);
    std::array<uint8_t, crypto::kWebPushAuthSize> a{};
    std::copy(auth->begin(), auth->end(), a.begin());
    auto plain = crypto::DecryptWebPush(crypto::AsBytes(r.body), *browser_, a);
    EXPECT_TRUE(plain.ok()) << plain.status().ToString();
    return plain.ok() ? json::parse(std::string(plain->begin(), plain->end()))
                      : json();
  }

  Receiver push_;
  Receiver hooks_;
  std::unique_ptr<crypto::P256Key> browser_;
};

TEST_F(NotifyTest, SettingsStartOffAndEachChangeIsLogged) {
  Principal c = NewCitizen();
  Reply r = Get("/v1/me/notifications", c.token);
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.Json();
  EXPECT_EQ(body["mode"], "off");
  EXPECT_EQ(body["push_subscriptions"], json::array());
  EXPECT_TRUE(body["webhook"].get<bool>());
  // The key a browser subscribes with (applicationServerKey).
  auto vapid =
      crypto::Base64UrlDecode(body["vapid_public_key"].get<std::string>());
  ASSERT_TRUE(vapid.ok());
  EXPECT_TRUE(crypto::ParseP256PublicKey(*vapid).ok());

  Reply put = Put("/v1/me/notifications", R"({"mode":"break-glass-and-proxy"})",
                  c.token);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.Json()["mode"], "break-glass-and-proxy");
  EXPECT_EQ(Get("/v1/me/notifications", c.token).Json()["mode"],
            "break-glass-and-proxy");
  std::vector<std::string> actions;
  for (const json& e : AuditFor(c.id, NewAuditor().token)) {
    actions.push_back(e["action"]);
  }
  EXPECT_NE(std::find(actions.begin(), actions.end(), "notifications.update"),
            actions.end());
  EXPECT_NE(std::find(actions.begin(), actions.end(), "notifications.read"),
            actions.end());
}

TEST_F(NotifyTest, BadSettingsAndSubscriptionsAreRefusedWithNothingStored) {
  Principal c = NewCitizen();
  const uint64_t before = AuditSize();
  for (const char* bad : {R"({"mode":"loud"})", R"({"mode":1})", R"({})",
                          R"([])", R"({"mode":"off","extra":1})", "not json"}) {
    Reply r = Put("/v1/me/notifications", bad, c.token);
    EXPECT_EQ(r.status, 400) << bad << " " << r.body;
  }
  json elsewhere = Subscription("/x");
  elsewhere["endpoint"] = "https://push.evil.example/x";
  json no_keys = Subscription("/x");
  no_keys.erase("keys");
  json bad_key = Subscription("/x");
  bad_key["keys"]["p256dh"] = "AAAA";
  for (const json& bad : {elsewhere, no_keys, bad_key}) {
    Reply r = Post("/v1/me/push-subscriptions", bad.dump(), c.token);
    EXPECT_EQ(r.status, 400) << bad.dump() << " " << r.body;
  }
  EXPECT_EQ(AuditSize(), before);
  EXPECT_EQ(Get("/v1/me/notifications", c.token).Json()["push_subscriptions"],
            json::array());
  // Not a citizen's route for anyone else.
  Principal p = NewProvider();
  EXPECT_EQ(Get("/v1/me/notifications", p.token).status, 403);
}

TEST_F(NotifyTest, SubscriptionsAreListedBoundedAndRemovedOnlyByTheirOwner) {
  Principal c = NewCitizen();
  Principal other = NewCitizen();
  std::string first;
  for (int i = 0; i < 10; ++i) {
    Reply r = Post("/v1/me/push-subscriptions",
                   Subscription("/push/" + std::to_string(i)).dump(), c.token);
    ASSERT_EQ(r.status, 201) << r.body;
    if (i == 0) first = r.Json()["id"];
    EXPECT_EQ(r.Json()["push_service"], push_.Url(""));
    EXPECT_FALSE(r.Json().contains("endpoint"));  // a capability URL
  }
  Reply full = Post("/v1/me/push-subscriptions",
                    Subscription("/push/10").dump(), c.token);
  EXPECT_EQ(full.status, 409) << full.body;
  // The same browser again is the same subscription.
  Reply again = Post("/v1/me/push-subscriptions",
                     Subscription("/push/0").dump(), c.token);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(again.Json()["id"], first);
  EXPECT_EQ(
      Get("/v1/me/notifications", c.token).Json()["push_subscriptions"].size(),
      10u);

  EXPECT_EQ(Delete("/v1/me/push-subscriptions/" + first, other.token).status,
            404);
  EXPECT_EQ(Delete("/v1/me/push-subscriptions/" + first, c.token).status, 200);
  EXPECT_EQ(Delete("/v1/me/push-subscriptions/" + first, c.token).status, 404);
  EXPECT_EQ(
      Get("/v1/me/notifications", c.token).Json()["push_subscriptions"].size(),
      9u);
}

TEST_F(NotifyTest, AProvidersReadReachesTheBrowserAndTheRegionWithoutData) {
  Setup s = Watched("every-access");
  ASSERT_EQ(ProviderReads(s).status, 200);
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(hooks_.WaitArrivals(1));
  const auto pushed = push_.requests();
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(Decrypted(pushed[0]),
            json({{"kind", "access"}, {"count", 1}, {"url", "/app/#/log"}}));
  const json hook = json::parse(hooks_.requests()[0].body);
  EXPECT_EQ(hook["citizen"], s.citizen.id);
  EXPECT_EQ(hook["kind"], "access");
  // The operator sees it counted (and no citizen in the counters).
  const std::string delivered =
      "tillit_notification_messages_total{result=\"delivered\"} 2\n";
  std::string metrics;
  for (int i = 0; i < 200; ++i) {
    metrics = Get("/metrics").body;
    if (metrics.find(delivered) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(metrics.find(delivered), std::string::npos) << metrics;
  EXPECT_NE(
      metrics.find("tillit_notification_events_total{result=\"queued\"} 1\n"),
      std::string::npos);
  EXPECT_EQ(metrics.find(s.citizen.id), std::string::npos);
  // The citizen's own reading tells nobody.
  ASSERT_EQ(Get("/v1/me/records", s.citizen.token).status, 200);
  Setup marker = Watched("every-access");
  ASSERT_EQ(ProviderReads(marker).status, 200);
  ASSERT_TRUE(hooks_.WaitArrivals(2));
  EXPECT_EQ(json::parse(hooks_.requests()[1].body)["citizen"],
            marker.citizen.id);
  EXPECT_EQ(push_.requests().size(), 2u);
}

TEST_F(NotifyTest, AProxysReadAndABreakGlassAreToldWhenOnlyTheyAreChosen) {
  Setup s = Watched("break-glass-and-proxy");
  Principal carer = NewCitizen();
  ASSERT_EQ(Post("/v1/me/proxies",
                 json{{"proxy", carer.id}, {"access", "read"}}.dump(),
                 s.citizen.token)
                .status,
            201);
  ASSERT_EQ(ProviderReads(s).status, 200);  // not told of this one
  ASSERT_EQ(
      Get("/v1/citizens/" + s.citizen.id + "/records", carer.token).status,
      200);
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(hooks_.WaitArrivals(1));
  EXPECT_EQ(Decrypted(push_.requests()[0])["kind"], "proxy");
  EXPECT_EQ(push_.requests()[0].Header("Urgency"), "high");
  const json hook = json::parse(hooks_.requests()[0].body);
  EXPECT_EQ(hook["kind"], "proxy");
  EXPECT_EQ(hook["count"], 1);
  // An emergency session is told too.
  Principal er = NewProvider("Akuten");
  ASSERT_EQ(Post("/v1/patients/" + s.citizen.id + "/break-glass",
                 R"({"reason": "unconscious on arrival"})", er.token)
                .status,
            201);
  ASSERT_TRUE(push_.WaitArrivals(2));
  EXPECT_EQ(Decrypted(push_.requests()[1])["kind"], "break-glass");
}

TEST_F(NotifyTest, NothingArrivesAfterTheCitizenTurnsItOff) {
  Setup s = Watched("every-access");
  ASSERT_EQ(
      Put("/v1/me/notifications", R"({"mode":"off"})", s.citizen.token).status,
      200);
  ASSERT_EQ(ProviderReads(s).status, 200);
  // Another citizen's access after it: once that one arrives, the first
  // would have been sent before it.
  Setup marker = Watched("every-access");
  ASSERT_EQ(ProviderReads(marker).status, 200);
  ASSERT_TRUE(hooks_.WaitArrivals(1));
  ASSERT_TRUE(push_.WaitArrivals(1));
  for (const auto& r : hooks_.requests()) {
    EXPECT_EQ(json::parse(r.body)["citizen"], marker.citizen.id);
  }
  for (const auto& r : push_.requests()) {
    EXPECT_EQ(r.path, "/push/" + marker.citizen.id);
  }
}

TEST_F(NotifyTest, AStuckReceiverNeverHoldsUpAnAccess) {
  Setup s = Watched("every-access");
  hooks_.Hold();
  ASSERT_EQ(ProviderReads(s).status, 200);
  ASSERT_TRUE(hooks_.WaitArrivals(1));  // the notifier is stuck in the POST
  // Accesses go on while it is: each answers, none waits for it.
  for (int i = 0; i < 20; ++i) {
    Reply r = ProviderReads(s);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  EXPECT_EQ(Get("/v1/me/records", s.citizen.token).status, 200);
  hooks_.Release();
}

}  // namespace
}  // namespace tillit::testing
