// Tests of the Notifier against a real vault and audit log, with a local
// push service and a local webhook receiver on loopback: what arrives,
// that it is encrypted, signed and identified as the RFCs say, that
// nothing arrives once the citizen turns it off, and that a failing or
// stuck receiver never holds up Offer.
#include "tillit/notify/notifier.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "receiver_test_util.h"
#include "tillit/crypto/encoding.h"

namespace tillit::notify {
namespace {

using testing_util::Receiver;

using nlohmann::json;

constexpr int64_t kNow = 1767225600;  // 2026-01-01T00:00:00Z

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "tillit-notify-XXXXXX")
            .string();
    dir_ = mkdtemp(tmpl.data());
    vault::VaultOptions o;
    o.data_dir = dir_ + "/data";
    o.clock = &clock_;
    auto created = vault::Vault::Init(o);
    ASSERT_TRUE(created.ok()) << created.status().ToString();
    vault_ = std::move(created->vault);
    auto log = audit::AuditLog::OpenInDirectory(o.data_dir, *vault_);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    log_ = std::move(*log);
    stores_ = std::make_unique<vault::DirectStoreAccess>(vault_.get());
    auto imported = vault_->Import(
        R"({"resourceType":"Bundle","type":"collection","entry":[
            {"resource":{"resourceType":"Patient","id":"p1"}}]})",
        vault::ImportFormat::kJson);
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
    citizen_ = imported->citizen_id;
    browser_ = std::make_unique<crypto::P256Key>(*crypto::P256Key::Generate());
    auth_.fill(7);
  }
  void TearDown() override {
    notifier_.reset();
    log_.reset();
    vault_.reset();
    std::filesystem::remove_all(dir_);
  }

  NotifierOptions Options() {
    NotifierOptions o;
    o.push_hosts = *ParsePushHosts("127.0.0.1");
    o.webhook_url = hooks_.Url("/hooks/tillit");
    o.coalesce_seconds = 0;
    o.poll_ms = 10;
    o.modes_refresh_ms = 20;
    o.retry_base_ms = 20;
    o.timeout_seconds = 2;
    o.queue_capacity = 16;
    return o;
  }
  void Start(NotifierOptions o) {
    notifier_.reset();
    auto n = Notifier::Create(vault_.get(), stores_.get(), log_.get(), &clock_,
                              &crypto::Random::System(), std::move(o));
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    notifier_ = std::move(*n);
  }
  void Subscribe() {
    json sub = {{"endpoint", push_.Url("/push/abc")},
                {"expirationTime", nullptr},
                {"keys",
                 {{"p256dh", crypto::Base64UrlEncode(browser_->public_key())},
                  {"auth", crypto::Base64UrlEncode(auth_)}}}};
    auto parsed =
        ParsePushSubscription(sub.dump(), *ParsePushHosts("127.0.0.1"));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_TRUE(notifier_->Subscribe(citizen_, *parsed).ok());
  }
  audit::AuditEntry ProviderRead() {
    audit::AuditEntry e;
    e.time = clock_.NowSeconds();
    e.actor_kind = "provider";
    e.actor_id = "p_0123456789abcdef0123456789abcdef";
    e.action = "records.list";
    e.citizen_id = citizen_;
    e.decision = "permit";
    return e;
  }
  audit::AuditEntry ProxyRead() {
    audit::AuditEntry e = ProviderRead();
    e.actor_kind = "citizen";
    e.actor_id = "c_0123456789abcdef0123456789abcdef";
    e.decision = "none";  // as the audit trail writes a proxy's entries
    return e;
  }
  // Offers `e` after making it durable, as the audit trail does.
  void Access(const audit::AuditEntry& e) {
    auto index = log_->Append(e);
    ASSERT_TRUE(index.ok());
    notifier_->Offer(e, *index);
  }
  bool WaitIdle() {
    for (int i = 0; i < 2000 && !notifier_->Idle(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return notifier_->Idle();
  }
  json Decrypted(const Receiver::Request& r) {
    auto plain =
        crypto::DecryptWebPush(crypto::AsBytes(r.body), *browser_, auth_);
    EXPECT_TRUE(plain.ok()) << plain.status().ToString();
    if (!plain.ok()) return json();
    return json::parse(std::string(plain->begin(), plain->end()));
  }

  std::string dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<vault::DirectStoreAccess> stores_;
  std::unique_ptr<Notifier> notifier_;
  std::string citizen_;
  std::unique_ptr<crypto::P256Key> browser_;
  std::array<uint8_t, crypto::kWebPushAuthSize> auth_{};
  Receiver push_;
  Receiver hooks_;
};

TEST_F(NotifierTest, AnAccessReachesTheBrowserAndTheWebhookWithoutHealthData) {
  Start(Options());
  Subscribe();
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  Access(ProviderRead());
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(hooks_.WaitArrivals(1));
  ASSERT_TRUE(WaitIdle());

  // Web Push: encrypted for the browser (RFC 8291), VAPID for the origin.
  const auto pushed = push_.requests();
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(pushed[0].path, "/push/abc");
  EXPECT_EQ(pushed[0].Header("Content-Encoding"), "aes128gcm");
  EXPECT_EQ(pushed[0].Header("TTL"), "86400");
  EXPECT_EQ(pushed[0].Header("Topic"), "tillit-access");
  const json message = Decrypted(pushed[0]);
  EXPECT_EQ(message,
            json({{"kind", "access"}, {"count", 1}, {"url", "/app/#/log"}}));
  const std::string vapid = pushed[0].Header("Authorization");
  ASSERT_EQ(vapid.rfind("vapid t=", 0), 0u) << vapid;
  const std::string jwt = vapid.substr(8, vapid.find(", k=") - 8);
  EXPECT_TRUE(crypto::VerifyEs256Jws(jwt, notifier_->vapid_public_key()).ok());
  EXPECT_EQ(vapid.substr(vapid.find(", k=") + 4),
            crypto::Base64UrlEncode(notifier_->vapid_public_key()));
  auto claims = crypto::Base64UrlDecode(
      jwt.substr(jwt.find('.') + 1, jwt.rfind('.') - jwt.find('.') - 1));
  ASSERT_TRUE(claims.ok());
  // The audience is the push service's origin.
  EXPECT_EQ(json::parse(std::string(claims->begin(), claims->end()))["aud"],
            push_.Url(""));

  // The webhook: signed with the notifier's key over id.timestamp.body.
  const auto hooked = hooks_.requests();
  ASSERT_EQ(hooked.size(), 1u);
  const std::string id = hooked[0].Header("webhook-id");
  const std::string ts = hooked[0].Header("webhook-timestamp");
  const std::string sig = hooked[0].Header("webhook-signature");
  ASSERT_EQ(sig.rfind("v1a,", 0), 0u) << sig;
  auto raw = crypto::Base64Decode(sig.substr(4));
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(crypto::VerifyEd25519(
      notifier_->webhook_public_key(),
      crypto::AsBytes(id + "." + ts + "." + hooked[0].body), *raw));
  EXPECT_FALSE(crypto::VerifyEd25519(
      notifier_->webhook_public_key(),
      crypto::AsBytes(id + "." + ts + "." + hooked[0].body + " "), *raw));
  const json hook = json::parse(hooked[0].body);
  EXPECT_EQ(hook["id"], id);
  EXPECT_EQ(hook["citizen"], citizen_);
  EXPECT_EQ(hook["kind"], "access");
  EXPECT_EQ(hook["count"], 1);
  EXPECT_FALSE(hook.contains("categories"));
  EXPECT_EQ(notifier_->stats().delivered, 2u);
}

TEST_F(NotifierTest, OnlyBreakGlassAndProxyWhenThatIsTheChoice) {
  Start(Options());
  Subscribe();
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kBreakGlassAndProxy, 0).ok());
  Access(ProviderRead());  // not told
  audit::AuditEntry own = ProviderRead();
  own.actor_kind = "citizen";
  own.actor_id = citizen_;
  Access(own);  // the citizen's own: never told
  Access(ProxyRead());
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(WaitIdle());
  const auto pushed = push_.requests();
  ASSERT_EQ(pushed.size(), 1u);
  EXPECT_EQ(Decrypted(pushed[0])["kind"], "proxy");
  EXPECT_EQ(pushed[0].Header("Urgency"), "high");
}

TEST_F(NotifierTest, NothingArrivesOnceTurnedOffEvenWhatWasWaiting) {
  NotifierOptions o = Options();
  o.coalesce_seconds = 60;
  Start(o);
  Subscribe();
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  Access(ProviderRead());
  Access(ProviderRead());
  // Both are waiting for the coalescing window to close.
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kOff, 0).ok());
  Access(ProviderRead());
  clock_.Advance(120);
  ASSERT_TRUE(WaitIdle());
  EXPECT_TRUE(push_.requests().empty());
  EXPECT_TRUE(hooks_.requests().empty());
  EXPECT_EQ(notifier_->stats().queued, 2u);
}

TEST_F(NotifierTest, EventsInTheWindowGoOutAsOneMessage) {
  NotifierOptions o = Options();
  o.coalesce_seconds = 60;
  Start(o);
  Subscribe();
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  for (int i = 0; i < 5; ++i) Access(ProviderRead());
  Access(ProxyRead());
  clock_.Advance(61);
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(WaitIdle());
  const auto pushed = push_.requests();
  ASSERT_EQ(pushed.size(), 1u);
  const json m = Decrypted(pushed[0]);
  EXPECT_EQ(m["count"], 6);
  EXPECT_EQ(m["kind"], "proxy");  // the weightiest of them
}

// The window opens when the access is offered, not when the worker gets
// to it: a worker held up by a slow receiver must not push the message
// further out (it would never go if the clock had moved on meanwhile).
TEST_F(NotifierTest, ABusyWorkerDoesNotStretchTheWindow) {
  NotifierOptions o = Options();
  o.coalesce_seconds = 60;
  Start(o);
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  hooks_.Hold();
  Access(ProviderRead());
  clock_.Advance(61);
  ASSERT_TRUE(hooks_.WaitArrivals(1));  // the worker is inside the POST
  for (int i = 0; i < 5; ++i) Access(ProviderRead());
  clock_.Advance(61);  // their window has closed while the worker was busy
  hooks_.Release();
  ASSERT_TRUE(hooks_.WaitArrivals(2));
  ASSERT_TRUE(WaitIdle());
  const auto hooked = hooks_.requests();
  ASSERT_EQ(hooked.size(), 2u);
  EXPECT_EQ(json::parse(hooked[1].body)["count"], 5);
}

TEST_F(NotifierTest, AFailingWebhookIsRetriedUnderTheSameId) {
  Start(Options());
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  hooks_.Answer({500, 503});
  Access(ProviderRead());
  ASSERT_TRUE(hooks_.WaitArrivals(3));
  ASSERT_TRUE(WaitIdle());
  const auto hooked = hooks_.requests();
  ASSERT_EQ(hooked.size(), 3u);
  for (const auto& r : hooked) {
    EXPECT_EQ(r.Header("webhook-id"), hooked[0].Header("webhook-id"));
  }
  const NotifierStats s = notifier_->stats();
  EXPECT_EQ(s.retried, 2u);
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.failed, 0u);
}

TEST_F(NotifierTest, AReceiverThatNeverAcceptsIsGivenUpOn) {
  NotifierOptions o = Options();
  o.max_attempts = 3;
  Start(o);
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  hooks_.Answer({500, 500, 500, 500});
  Access(ProviderRead());
  ASSERT_TRUE(hooks_.WaitArrivals(3));
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(hooks_.requests().size(), 3u);
  EXPECT_EQ(notifier_->stats().failed, 1u);
}

TEST_F(NotifierTest, AStuckReceiverNeverHoldsUpOffer) {
  Start(Options());
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  hooks_.Hold();
  Access(ProviderRead());
  ASSERT_TRUE(hooks_.WaitArrivals(1));  // the worker is inside the POST
  // Meanwhile every offer returns at once: the queue takes 16, the rest
  // are counted as dropped, and none waits for the receiver.
  const audit::AuditEntry e = ProviderRead();
  for (int i = 0; i < 1000; ++i) notifier_->Offer(e, 1);
  NotifierStats s = notifier_->stats();
  EXPECT_EQ(s.queued, 17u);
  EXPECT_EQ(s.dropped, 1000u - 16u);
  hooks_.Release();
  ASSERT_TRUE(WaitIdle());
}

TEST_F(NotifierTest, AGoneSubscriptionIsRemoved) {
  Start(Options());
  Subscribe();
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  push_.Answer({410});
  Access(ProviderRead());
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(WaitIdle());
  auto subs = notifier_->Subscriptions(citizen_);
  ASSERT_TRUE(subs.ok());
  EXPECT_TRUE(subs->empty());
  EXPECT_EQ(notifier_->stats().gone, 1u);
}

TEST_F(NotifierTest, UnsubscribingADeviceRemovesOnlyWhatItSubscribed) {
  Start(Options());
  Subscribe();  // a bearer token's: no device
  auto hosts = *ParsePushHosts("127.0.0.1");
  for (const char* name : {"/push/phone-1", "/push/phone-2", "/push/tablet"}) {
    json body = {{"endpoint", push_.Url(name)},
                 {"keys",
                  {{"p256dh", crypto::Base64UrlEncode(browser_->public_key())},
                   {"auth", crypto::Base64UrlEncode(auth_)}}}};
    auto parsed = ParsePushSubscription(body.dump(), hosts);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    parsed->device =
        std::string(name) == "/push/tablet" ? "d_tablet" : "d_phone";
    ASSERT_TRUE(notifier_->Subscribe(citizen_, *parsed).ok());
  }
  auto removed = notifier_->UnsubscribeDevice(citizen_, "d_phone");
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2u);
  auto subs = notifier_->Subscriptions(citizen_);
  ASSERT_TRUE(subs.ok());
  std::multiset<std::string> devices;
  for (const PushSubscription& sub : *subs) devices.insert(sub.device);
  EXPECT_EQ(devices, (std::multiset<std::string>{"", "d_tablet"}));
  // Nothing of that device's left, and an empty id matches nothing.
  EXPECT_EQ(*notifier_->UnsubscribeDevice(citizen_, "d_phone"), 0u);
  EXPECT_EQ(*notifier_->UnsubscribeDevice(citizen_, ""), 0u);
  EXPECT_EQ(notifier_->Subscriptions(citizen_)->size(), 2u);
}

TEST_F(NotifierTest, TheDailyDigestCountsTheDaysAccessesOnce) {
  Start(Options());
  Subscribe();
  ASSERT_TRUE(
      notifier_->SetMode(citizen_, Mode::kDailyDigest, log_->size()).ok());
  for (int i = 0; i < 3; ++i) Access(ProviderRead());
  Access(ProxyRead());
  ASSERT_TRUE(WaitIdle());
  EXPECT_TRUE(push_.requests().empty());  // nothing at once
  clock_.Advance(86400);                  // past 08:00 UTC
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(WaitIdle());
  ASSERT_EQ(push_.requests().size(), 1u);
  const json m = Decrypted(push_.requests()[0]);
  EXPECT_EQ(m["kind"], "digest");
  EXPECT_EQ(m["count"], 4);
  // A day without accesses sends nothing; the next one counts only it.
  clock_.Advance(86400);
  for (int i = 0; i < 2000 && notifier_->stats().digest_runs < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(notifier_->stats().digest_runs, 2u);
  ASSERT_TRUE(WaitIdle());
  EXPECT_EQ(push_.requests().size(), 1u);
  Access(ProviderRead());
  clock_.Advance(86400);
  ASSERT_TRUE(push_.WaitArrivals(2));
  ASSERT_TRUE(WaitIdle());
  ASSERT_EQ(push_.requests().size(), 2u);
  EXPECT_EQ(Decrypted(push_.requests()[1])["count"], 1);
}

TEST_F(NotifierTest, ChoicesSurviveARestartAndSubscriptionsAreBounded) {
  Start(Options());
  Subscribe();
  Subscribe();  // the same endpoint again: replaced, not added
  ASSERT_EQ(notifier_->Subscriptions(citizen_)->size(), 1u);
  ASSERT_TRUE(notifier_->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  const crypto::P256PublicKey vapid = notifier_->vapid_public_key();
  Start(Options());  // a new process: the mode comes from the registry
  EXPECT_EQ(notifier_->vapid_public_key(), vapid);
  EXPECT_EQ(notifier_->Get(citizen_)->mode, Mode::kEveryAccess);
  Access(ProviderRead());
  ASSERT_TRUE(push_.WaitArrivals(1));

  for (size_t i = 1; i < kMaxPushSubscriptions; ++i) {
    PushSubscription s = *notifier_->Subscriptions(citizen_)->begin();
    s.endpoint = push_.Url("/push/" + std::to_string(i));
    ASSERT_TRUE(notifier_->Subscribe(citizen_, s).ok());
  }
  PushSubscription s = *notifier_->Subscriptions(citizen_)->begin();
  s.endpoint = push_.Url("/push/one-too-many");
  EXPECT_EQ(notifier_->Subscribe(citizen_, s).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(notifier_->Unsubscribe(citizen_, "ps_nope").code(),
            StatusCode::kNotFound);
}

TEST_F(NotifierTest, AChoiceMadeThroughAnotherNodeReachesThisOne) {
  Start(Options());
  Subscribe();
  // Another node over the same vault, with its own notifier.
  auto other = Notifier::Create(vault_.get(), stores_.get(), log_.get(),
                                &clock_, &crypto::Random::System(), Options());
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_TRUE((*other)->SetMode(citizen_, Mode::kEveryAccess, 0).ok());
  // This node takes the choice up at a refresh, without a restart.
  for (int i = 0; i < 500 && notifier_->stats().queued == 0; ++i) {
    Access(ProviderRead());
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(notifier_->stats().queued, 0u);
  ASSERT_TRUE(push_.WaitArrivals(1));
  ASSERT_TRUE(WaitIdle());

  // Turned off through the other node: accesses here stop being queued.
  ASSERT_TRUE((*other)->SetMode(citizen_, Mode::kOff, 0).ok());
  uint64_t before = notifier_->stats().queued;
  for (int i = 0; i < 500; ++i) {
    Access(ProviderRead());
    if (notifier_->stats().queued == before) break;
    before = notifier_->stats().queued;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const uint64_t settled = notifier_->stats().queued;
  Access(ProviderRead());
  EXPECT_EQ(notifier_->stats().queued, settled);
}

TEST_F(NotifierTest, OptionsOutOfRangeAreRefused) {
  auto refused = [&](NotifierOptions o) {
    return Notifier::Create(vault_.get(), stores_.get(), log_.get(), &clock_,
                            &crypto::Random::System(), std::move(o))
        .status()
        .code();
  };
  NotifierOptions o = Options();
  o.digest_hour = 24;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = Options();
  o.poll_ms = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = Options();
  o.modes_refresh_ms = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = Options();
  o.max_attempts = 0;
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = Options();
  o.vapid_subject = "mailto:ops team@example.org";
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
  o = Options();
  o.webhook_url = "ftp://x/y";
  EXPECT_EQ(refused(o), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tillit::notify
