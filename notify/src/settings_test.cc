#include "tillit/notify/settings.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tillit/crypto/encoding.h"

namespace tillit::notify {
namespace {

using nlohmann::json;

audit::AuditEntry Entry(const char* kind, const char* actor, const char* action,
                        const char* decision) {
  audit::AuditEntry e;
  e.actor_kind = kind;
  e.actor_id = actor;
  e.action = action;
  e.citizen_id = "c_1";
  e.decision = decision;
  return e;
}

TEST(ClassifyTest, OnlyOthersBeingLetInIsAnAccess) {
  EXPECT_EQ(Classify(Entry("provider", "p_1", "records.list", "permit")),
            Access::kAccess);
  EXPECT_EQ(Classify(Entry("researcher", "r_1", "release.citizen", "permit")),
            Access::kAccess);
  EXPECT_EQ(Classify(Entry("provider", "p_1", "break-glass.open", "permit")),
            Access::kBreakGlass);
  // A proxy's entries carry "none" (no grant decided them): an access;
  // what the gate refused is "deny": none.
  EXPECT_EQ(Classify(Entry("citizen", "c_2", "records.list", "none")),
            Access::kProxy);
  EXPECT_EQ(Classify(Entry("citizen", "c_2", "proxy.denied", "deny")),
            Access::kNone);
  EXPECT_EQ(Classify(Entry("provider", "p_1", "records.list", "none")),
            Access::kNone);
  EXPECT_EQ(Classify(Entry("citizen", "c_2", "records.list", "permit")),
            Access::kProxy);
  EXPECT_EQ(Classify(Entry("citizen", "c_1", "records.list", "permit")),
            Access::kNone);  // the citizen's own
  EXPECT_EQ(Classify(Entry("provider", "p_1", "records.list", "deny")),
            Access::kNone);
  EXPECT_EQ(Classify(Entry("operator", "operator", "citizen.create", "permit")),
            Access::kNone);
  EXPECT_EQ(Classify(Entry("auditor", "a_1", "audit.list", "permit")),
            Access::kNone);
  audit::AuditEntry nobody = Entry("provider", "p_1", "records.list", "permit");
  nobody.citizen_id.clear();
  EXPECT_EQ(Classify(nobody), Access::kNone);
}

TEST(ModeTest, NamesRoundTripAndDecideWhatIsToldAtOnce) {
  for (Mode m : {Mode::kOff, Mode::kEveryAccess, Mode::kBreakGlassAndProxy,
                 Mode::kDailyDigest}) {
    EXPECT_EQ(ParseMode(ModeName(m)), m);
  }
  EXPECT_FALSE(ParseMode("sometimes"));
  EXPECT_TRUE(TellsAtOnce(Mode::kEveryAccess, Access::kAccess));
  EXPECT_FALSE(TellsAtOnce(Mode::kBreakGlassAndProxy, Access::kAccess));
  EXPECT_TRUE(TellsAtOnce(Mode::kBreakGlassAndProxy, Access::kBreakGlass));
  EXPECT_TRUE(TellsAtOnce(Mode::kBreakGlassAndProxy, Access::kProxy));
  EXPECT_FALSE(TellsAtOnce(Mode::kDailyDigest, Access::kProxy));
  EXPECT_FALSE(TellsAtOnce(Mode::kOff, Access::kBreakGlass));
}

TEST(PushHostsTest, HttpsToListedHostsAndHttpOnlyToLoopbackNamedExactly) {
  const PushHosts d = DefaultPushHosts();
  EXPECT_TRUE(d.Allows("https", "fcm.googleapis.com"));
  EXPECT_TRUE(d.Allows("https", "wns2-par02p.notify.windows.com"));
  EXPECT_FALSE(d.Allows("https", "notify.windows.com.evil.example"));
  EXPECT_FALSE(d.Allows("https", "evilnotify.windows.com"));
  EXPECT_FALSE(d.Allows("http", "fcm.googleapis.com"));
  EXPECT_FALSE(d.Allows("https", "127.0.0.1"));
  auto local = ParsePushHosts("127.0.0.1,*.push.example.net");
  ASSERT_TRUE(local.ok());
  EXPECT_TRUE(local->Allows("http", "127.0.0.1"));
  EXPECT_FALSE(local->Allows("http", "a.push.example.net"));
  EXPECT_TRUE(local->Allows("https", "a.push.example.net"));
  for (const char* bad : {"", "a,,b", "bad host", "*.", "x/y"}) {
    EXPECT_EQ(ParsePushHosts(bad).status().code(), StatusCode::kInvalidArgument)
        << bad;
  }
}

class SubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = crypto::Base64UrlEncode(crypto::P256Key::Generate()->public_key());
  }
  json Body() const {
    return {{"endpoint", "https://fcm.googleapis.com/fcm/send/abc"},
            {"expirationTime", nullptr},
            {"keys", {{"p256dh", key_}, {"auth", "BTBZMqHH6r4Tts7J_aSIgg"}}}};
  }
  std::string key_;
};

TEST_F(SubscriptionTest, ABrowsersSubscriptionParsesAndRoundTrips) {
  auto s = ParsePushSubscription(Body().dump(), DefaultPushHosts());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->endpoint, "https://fcm.googleapis.com/fcm/send/abc");
  s->id = "ps_1";
  s->created = 5;
  auto back = SubscriptionFromStoredJson(SubscriptionToStoredJson(*s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->endpoint, s->endpoint);
  EXPECT_EQ(back->keys.p256dh, s->keys.p256dh);
  EXPECT_EQ(back->keys.auth, s->keys.auth);
  EXPECT_EQ(back->device, "");
  // The device is kept only when there is one, so older documents read.
  EXPECT_EQ(SubscriptionToStoredJson(*s).find("device"), std::string::npos);
  s->device = "d_0123456789abcdef0123456789abcdef";
  back = SubscriptionFromStoredJson(SubscriptionToStoredJson(*s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->device, s->device);
  EXPECT_EQ(SubscriptionFromStoredJson("{}").status().code(),
            StatusCode::kDataLoss);
}

TEST_F(SubscriptionTest, EachMalformedPartIsNamed) {
  struct Case {
    const char* field;
    void (*mutate)(json&);
  };
  const Case cases[] = {
      {"body", [](json& j) { j = json::array(); }},
      {"endpoint", [](json& j) { j.erase("endpoint"); }},
      {"endpoint", [](json& j) { j["endpoint"] = "ftp://x/y"; }},
      {"endpoint", [](json& j) { j["endpoint"] = "https://evil.example/x"; }},
      {"endpoint",
       [](json& j) { j["endpoint"] = "http://fcm.googleapis.com/x"; }},
      {"endpoint",
       [](json& j) {
         j["endpoint"] = "https://fcm.googleapis.com/" + std::string(1100, 'a');
       }},
      {"endpoint",
       [](json& j) { j["endpoint"] = "https://u@fcm.googleapis.com/x"; }},
      {"endpoint",
       [](json& j) { j["endpoint"] = "https://fcm.googleapis.com:81/x"; }},
      {"keys", [](json& j) { j.erase("keys"); }},
      {"keys.p256dh", [](json& j) { j["keys"]["p256dh"] = "AAAA"; }},
      {"keys.p256dh", [](json& j) { j["keys"]["p256dh"] = "+/+/"; }},
      {"keys.auth", [](json& j) { j["keys"]["auth"] = "AAAA"; }},
      {"extra", [](json& j) { j["extra"] = 1; }},
  };
  for (const Case& c : cases) {
    json j = Body();
    c.mutate(j);
    auto s = ParsePushSubscription(j.dump(), DefaultPushHosts());
    ASSERT_FALSE(s.ok()) << c.field;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find(c.field), std::string::npos)
        << s.status().message();
  }
}

TEST(SettingsTest, StoredFormRoundTrips) {
  Settings s{Mode::kDailyDigest, 42, 7};
  auto back = SettingsFromStoredJson(SettingsToStoredJson(s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->mode, Mode::kDailyDigest);
  EXPECT_EQ(back->digest_from, 42u);
  EXPECT_EQ(SettingsFromStoredJson(R"({"mode":"loud"})").status().code(),
            StatusCode::kDataLoss);
}

TEST(ParseUrlTest, OriginsAndPaths) {
  auto o = ParseUrl("https://Push.Example.net:8443/a/b?c");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->host, "push.example.net");
  EXPECT_EQ(o->port, 8443);
  EXPECT_EQ(o->path, "/a/b?c");
  EXPECT_EQ(o->ToString(), "https://push.example.net:8443");
  EXPECT_FALSE(ParseUrl("https://x:99999/"));
  // The default port written out is the origin without it.
  EXPECT_EQ(ParseUrl("https://push.example.net:443/x")->ToString(),
            "https://push.example.net");
  EXPECT_FALSE(ParseUrl("https:///x"));
  EXPECT_FALSE(ParseUrl("https://x/a b"));
}

}  // namespace
}  // namespace tillit::notify
