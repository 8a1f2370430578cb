#include "tillit/research/pseudonymiser.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <utility>

namespace tillit::research {
namespace {

crypto::SecretBytes Key(char fill) {
  return crypto::SecretBytes::CopyFrom(std::string(kStudyKeySize, fill));
}

// The pseudonyms of a study whose key is 32 bytes of `fill`.
Pseudonymiser Pseudonyms(char fill) {
  StatusOr<Pseudonymiser> p = Pseudonymiser::Create(Key(fill));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

bool IsPseudonym(const std::string& s) {
  if (s.size() != 2 * kPseudonymSize) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && (c < 'a' || c > 'f')) {
      return false;
    }
  }
  return true;
}

// Fixed values: a change here changes the pseudonyms of every study, so
// releases of one study would no longer link up.
TEST(PseudonymiserTest, KnownAnswers) {
  const Pseudonymiser p = Pseudonyms('k');
  EXPECT_EQ(p.Citizen("cit-1"), "13c71039b8a8bc927a8aa966c1844769");
  EXPECT_EQ(p.Resource("cit-1", "Observation", "o1"),
            "74e7610dc4876c967b0cd8fd2039bc48");
}

TEST(PseudonymiserTest, SameKeySamePseudonyms) {
  const crypto::SecretBytes key = Key('k');
  const Pseudonymiser a = *Pseudonymiser::Create(key);
  const Pseudonymiser b = *Pseudonymiser::Create(key);
  EXPECT_EQ(a.Citizen("cit-1"), b.Citizen("cit-1"));
  EXPECT_EQ(a.Resource("cit-1", "Observation", "o1"),
            b.Resource("cit-1", "Observation", "o1"));
  EXPECT_TRUE(IsPseudonym(a.Citizen("cit-1")));
  EXPECT_TRUE(IsPseudonym(a.Resource("cit-1", "Observation", "o1")));
}

TEST(PseudonymiserTest, DifferentKeysUnrelated) {
  const Pseudonymiser a = Pseudonyms('a');
  const Pseudonymiser b = Pseudonyms('b');
  EXPECT_NE(a.Citizen("cit-1"), b.Citizen("cit-1"));
  EXPECT_NE(a.Resource("cit-1", "Observation", "o1"),
            b.Resource("cit-1", "Observation", "o1"));
}

TEST(PseudonymiserTest, InputsAreSeparated) {
  const Pseudonymiser p = Pseudonyms('k');
  // Length prefixes: no two splits of the same bytes collide.
  EXPECT_NE(p.Resource("cit", "ab", "c"), p.Resource("cit", "a", "bc"));
  EXPECT_NE(p.Resource("ci", "tab", "c"), p.Resource("cit", "ab", "c"));
  // Citizen, type and id all count.
  EXPECT_NE(p.Resource("cit-1", "Observation", "x"),
            p.Resource("cit-2", "Observation", "x"));
  EXPECT_NE(p.Resource("cit-1", "Observation", "x"),
            p.Resource("cit-1", "Condition", "x"));
  // Domain separation between citizen and resource pseudonyms.
  EXPECT_NE(p.Citizen("cit-1"), p.Resource("cit-1", "", ""));
  EXPECT_NE(p.Citizen(""), p.Resource("", "", ""));
}

TEST(PseudonymiserTest, KeyMustBe32Bytes) {
  for (const crypto::SecretBytes& key :
       {crypto::SecretBytes::CopyFrom(std::string(16, 'k')),
        crypto::SecretBytes::CopyFrom(std::string(33, 'k')),
        crypto::SecretBytes::CopyFrom(std::string(64, 'k')),
        crypto::SecretBytes()}) {
    StatusOr<Pseudonymiser> p = Pseudonymiser::Create(key);
    ASSERT_FALSE(p.ok()) << key.size();
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << key.size();
  }
}

TEST(PseudonymiserTest, KeyIsCopied) {
  crypto::SecretBytes key = Key('k');
  const Pseudonymiser p = *Pseudonymiser::Create(key);
  const std::string before = p.Citizen("cit-1");
  key.ExposeSecret()[0] ^= 1;
  EXPECT_EQ(p.Citizen("cit-1"), before);
  key = crypto::SecretBytes();
  EXPECT_EQ(p.Citizen("cit-1"), before);
}

}  // namespace
}  // namespace tillit::research
