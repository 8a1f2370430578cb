#include "tillit/audit/entry.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace tillit::audit {
namespace {

AuditEntry Example() {
  AuditEntry e;
  e.time = 1767225600;
  e.actor_kind = "researcher";
  e.actor_id = "r_0123456789abcdef0123456789abcdef";
  e.action = "release.citizen";
  e.citizen_id = "c_0123456789abcdef0123456789abcdef";
  e.categories = {"lab-results", "vital-signs"};
  e.purpose = "DUO:0000006";
  e.study_id = "s_0123456789abcdef0123456789abcdef";
  e.grant_ids = {"g_0123456789abcdef0123456789abcdef"};
  e.decision = "permit";
  e.request_id = "req-42";
  return e;
}

TEST(AuditEntryTest, CanonicalFormIsSortedCompactAndRoundTrips) {
  auto c = CanonicalEntry(Example());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rfind("{\"action\":\"release.citizen\",\"actor_id\":", 0), 0u)
      << *c;
  EXPECT_EQ(c->find(' '), std::string::npos);
  auto back = ParseCanonicalEntry(*c);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*CanonicalEntry(*back), *c);
}

// The canonical bytes are written by hand; they must stay exactly what the
// first tillit wrote through nlohmann's dump(), or old entries would no
// longer hash to their leaves.
TEST(AuditEntryTest, CanonicalBytesAreNlohmannsDump) {
  std::vector<AuditEntry> cases(5, Example());
  cases[1].categories.clear();
  cases[1].grant_ids.clear();
  cases[1].citizen_id.clear();
  cases[1].study_id.clear();
  cases[2].via = "d_0123456789abcdef0123456789abcdef";
  cases[2].time = 0;
  cases[3].grant_ids = {"g_1", "g_2", "g_3"};
  cases[3].categories = {"prescriptions"};
  cases[3].purpose = "https://tillit.health/purpose/x.y:z-1";
  cases[4].time = 9223372036854775807;
  cases[4].actor_kind = "citizen";
  cases[4].decision = "none";
  for (const AuditEntry& e : cases) {
    nlohmann::json j = {{"time", e.time},
                        {"actor_kind", e.actor_kind},
                        {"actor_id", e.actor_id},
                        {"action", e.action},
                        {"citizen", e.citizen_id},
                        {"categories", e.categories},
                        {"purpose", e.purpose},
                        {"study", e.study_id},
                        {"grants", e.grant_ids},
                        {"decision", e.decision},
                        {"request_id", e.request_id}};
    if (!e.via.empty()) j["via"] = e.via;
    auto c = CanonicalEntry(e);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_EQ(*c, j.dump());
    EXPECT_TRUE(ParseCanonicalEntry(*c).ok()) << *c;
  }
}

TEST(AuditEntryTest, FreeTextAndUnknownValuesAreRefused) {
  struct Case {
    const char* name;
    void (*mutate)(AuditEntry&);
  };
  const Case cases[] = {
      {"actor_kind", [](AuditEntry& e) { e.actor_kind = "hacker"; }},
      {"decision", [](AuditEntry& e) { e.decision = "maybe"; }},
      {"action", [](AuditEntry& e) { e.action = "read the depression notes"; }},
      {"action", [](AuditEntry& e) { e.action = ""; }},
      {"actor_id", [](AuditEntry& e) { e.actor_id = std::string(200, 'a'); }},
      {"categories", [](AuditEntry& e) { e.categories = {"diagnoses"}; }},
      {"citizen_id", [](AuditEntry& e) { e.citizen_id = "Anna Andersson"; }},
      {"grant_ids", [](AuditEntry& e) { e.grant_ids = {""}; }},
      {"time", [](AuditEntry& e) { e.time = -1; }},
      {"via", [](AuditEntry& e) { e.via = "Anna's phone"; }},
  };
  for (const Case& c : cases) {
    AuditEntry e = Example();
    c.mutate(e);
    auto r = CanonicalEntry(e);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.name), std::string::npos)
        << r.status().message();
  }
}

// Entry format 2 adds "via" (the paired device) without changing the bytes
// of an entry that has none: an entry written before it existed, pinned
// here byte for byte, still parses and hashes as it did.
TEST(AuditEntryTest, ViaIsWrittenOnlyWhenSetSoOldEntriesKeepTheirBytes) {
  const std::string old_format = *CanonicalEntry(Example());
  EXPECT_EQ(old_format.find("via"), std::string::npos);
  auto parsed = ParseCanonicalEntry(old_format);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->via, "");

  AuditEntry e = Example();
  e.via = "d_0123456789abcdef0123456789abcdef";
  const std::string with_via = *CanonicalEntry(e);
  EXPECT_NE(with_via.find(",\"via\":\"d_0123456789abcdef0123456789abcdef\"}"),
            std::string::npos)
      << with_via;
  auto back = ParseCanonicalEntry(with_via);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->via, e.via);
  // An empty "via" is not how an entry without a device is written.
  std::string empty_via = old_format;
  empty_via.insert(empty_via.size() - 1, ",\"via\":\"\"");
  EXPECT_EQ(ParseCanonicalEntry(empty_via).status().code(),
            StatusCode::kDataLoss);
}

TEST(AuditEntryTest, NonCanonicalBytesAreDataLoss) {
  const std::string c = *CanonicalEntry(Example());
  std::string spaced = c;
  spaced.insert(1, " ");
  for (const std::string& bad :
       {spaced, std::string("{}"), std::string("not json"),
        c.substr(0, c.size() - 1)}) {
    EXPECT_EQ(ParseCanonicalEntry(bad).status().code(), StatusCode::kDataLoss)
        << bad;
  }
}

}  // namespace
}  // namespace tillit::audit
