#include "witness.h"

#include <gtest/gtest.h>

#include <string>

#include "error.h"
#include "tillit/audit/entry.h"
#include "tillit/crypto/encoding.h"

namespace tillit::bridge {
namespace {

using nlohmann::json;

class WitnessTest : public ::testing::Test {
 protected:
  WitnessTest()
      : rng_(7),
        signer_(crypto::SigningKey::Generate(rng_)),
        other_(crypto::SigningKey::Generate(rng_)) {
    key_ = *ParseAuditKey(audit::VerifierKey("test-log", signer_.public_key()));
  }

  static void Grow(audit::MerkleTree& tree, int n, const std::string& tag) {
    for (int i = 0; i < n; ++i) {
      const std::string leaf = tag + std::to_string(tree.size());
      tree.Append(audit::LeafHash(crypto::AsBytes(leaf)));
    }
  }
  static audit::Checkpoint Head(const audit::MerkleTree& tree, uint64_t size) {
    return {"tillit.test/log", size, *tree.RootAt(size)};
  }
  Witness WitnessOf(const audit::MerkleTree& tree, uint64_t size) {
    audit::Checkpoint c = Head(tree, size);
    return {c, audit::SignCheckpoint(c, "test-log", signer_)};
  }

  crypto::DeterministicRandom rng_;
  crypto::SigningKey signer_;
  crypto::SigningKey other_;
  AuditKey key_;
};

TEST_F(WitnessTest, OpensOnlyNotesSignedByTheKey) {
  audit::MerkleTree tree;
  Grow(tree, 3, "a");
  const audit::Checkpoint c = Head(tree, 3);
  auto opened =
      OpenServerCheckpoint(audit::SignCheckpoint(c, "test-log", signer_), key_);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(opened->root, c.root);
  auto forged =
      OpenServerCheckpoint(audit::SignCheckpoint(c, "test-log", other_), key_);
  EXPECT_EQ(CodeOf(forged.status()), ErrorCode::kProofInvalid);
  EXPECT_EQ(CodeOf(ParseAuditKey("not a key").status()),
            ErrorCode::kProofInvalid);
}

TEST_F(WitnessTest, AcceptsAnHonestExtensionAndRefusesForksAndRollbacks) {
  audit::MerkleTree tree;
  Grow(tree, 5, "a");
  const std::optional<Witness> w = WitnessOf(tree, 5);
  Grow(tree, 4, "a");
  const audit::Checkpoint grown = Head(tree, 9);
  ASSERT_TRUE(NeedsConsistencyProof(w, grown));
  auto proof = *tree.ConsistencyProof(5, 9);
  EXPECT_TRUE(CheckExtends(w, grown, proof).ok());
  // Same size, same root: nothing to prove.
  EXPECT_FALSE(NeedsConsistencyProof(w, Head(tree, 5)));
  EXPECT_TRUE(CheckExtends(w, Head(tree, 5), {}).ok());
  // Smaller.
  EXPECT_EQ(CodeOf(CheckExtends(w, Head(tree, 4), {})),
            ErrorCode::kLogRollback);
  // Another tree of the same size.
  audit::MerkleTree fork;
  Grow(fork, 5, "b");
  EXPECT_EQ(CodeOf(CheckExtends(w, Head(fork, 5), {})), ErrorCode::kLogFork);
  // A bigger tree whose honest proof does not lead back to the witness.
  Grow(fork, 4, "b");
  EXPECT_EQ(
      CodeOf(CheckExtends(w, Head(fork, 9), *fork.ConsistencyProof(5, 9))),
      ErrorCode::kLogFork);
  // A proof altered in transit.
  proof[0][0] ^= 1;
  EXPECT_EQ(CodeOf(CheckExtends(w, grown, proof)), ErrorCode::kLogFork);
  // Another origin.
  audit::Checkpoint renamed = grown;
  renamed.origin = "elsewhere";
  EXPECT_EQ(CodeOf(CheckExtends(w, renamed, *tree.ConsistencyProof(5, 9))),
            ErrorCode::kLogFork);
  // No witness yet: anything that opened is accepted.
  EXPECT_TRUE(CheckExtends(std::nullopt, Head(fork, 2), {}).ok());
}

TEST_F(WitnessTest, AnEmptyWitnessIsExtendedWithoutAProof) {
  audit::MerkleTree tree;
  std::optional<Witness> empty =
      Witness{{"tillit.test/log", 0, audit::EmptyRoot()}, ""};
  Grow(tree, 3, "a");
  EXPECT_FALSE(NeedsConsistencyProof(empty, Head(tree, 3)));
  EXPECT_TRUE(CheckExtends(empty, Head(tree, 3), {}).ok());
  empty->checkpoint.root[0] ^= 1;  // an "empty" log with a root of content
  EXPECT_EQ(CodeOf(CheckExtends(empty, Head(tree, 3), {})),
            ErrorCode::kLogFork);
}

TEST_F(WitnessTest, ParsesConsistencyProofsStrictly) {
  const std::string h(64, 'a');
  auto ok = ParseConsistencyProof(
      json{{"from", 2}, {"to", 5}, {"hashes", {h, h}}}.dump(), 2, 5);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  for (const std::string& bad :
       {json{{"from", 2}, {"to", 6}, {"hashes", {h}}}.dump(),
        json{{"from", 2}, {"to", 5}, {"hashes", {"zz"}}}.dump(),
        json{{"from", 2}, {"to", 5}, {"hashes", "x"}}.dump(), std::string("{"),
        json{{"to", 5}}.dump()}) {
    EXPECT_EQ(CodeOf(ParseConsistencyProof(bad, 2, 5).status()),
              ErrorCode::kProofInvalid)
        << bad;
  }
}

TEST_F(WitnessTest, VerifiesAccessLogEntriesAgainstTheCheckpoint) {
  const std::string citizen = "c_" + std::string(32, 'a');
  audit::MerkleTree tree;
  json entries = json::array();
  for (int i = 0; i < 6; ++i) {
    audit::AuditEntry e;
    e.time = 1700000000 + i;
    e.actor_kind = "citizen";
    // 3: another citizen's own entry; 4: a proxy's, made for `citizen`.
    e.actor_id = i == 3   ? "c_" + std::string(32, 'b')
                 : i == 4 ? "c_" + std::string(32, 'd')
                          : citizen;
    e.action = "records.list";
    e.citizen_id = i == 3 ? e.actor_id : citizen;
    e.decision = "none";
    e.request_id = "r" + std::to_string(i);
    const std::string canonical = *audit::CanonicalEntry(e);
    tree.Append(audit::LeafHash(crypto::AsBytes(canonical)));
    if (i == 3) continue;  // another citizen's: not in this list
    json j = json::parse(canonical);
    j["index"] = i;
    j["actor"] = j["actor_id"];
    if (i == 4) j["on_behalf_of"] = citizen;
    entries.push_back(j);
  }
  const audit::Checkpoint head = Head(tree, tree.size());
  for (json& j : entries) {
    json proof = json::array();
    const std::vector<audit::Hash> path =
        *tree.InclusionProof(j["index"].get<uint64_t>(), tree.size());
    for (const audit::Hash& h : path) {
      proof.push_back(crypto::HexEncode(h));
    }
    j["inclusion_proof"] = proof;
  }
  Status verified = VerifyAccessLogEntries(entries, head, citizen);
  EXPECT_TRUE(verified.ok()) << verified.message();

  auto expect_invalid = [&](json altered, const char* why) {
    EXPECT_EQ(CodeOf(VerifyAccessLogEntries(altered, head, citizen)),
              ErrorCode::kProofInvalid)
        << why;
  };
  json a = entries;
  a[1]["action"] = "records.read";
  expect_invalid(a, "an altered entry");
  a = entries;
  a[1]["actor"] = "operator";
  expect_invalid(a, "actor not actor_id");
  a = entries;
  a[0]["index"] = 1;
  expect_invalid(a, "another index");
  a = entries;
  a[0]["index"] = tree.size();
  expect_invalid(a, "beyond the checkpoint");
  a = entries;
  a[0]["inclusion_proof"][0] = std::string(64, '0');
  expect_invalid(a, "a wrong proof hash");
  a = entries;
  a[0].erase("inclusion_proof");
  expect_invalid(a, "no proof");
  a = entries;
  a[0]["extra"] = 1;
  expect_invalid(a, "not canonical");
  a = entries;
  a[0]["on_behalf_of"] = "c_" + std::string(32, 'd');
  expect_invalid(a, "on_behalf_of on the citizen's own entry");
  a = entries;
  a[3].erase("on_behalf_of");
  expect_invalid(a, "a proxy's entry without on_behalf_of");
  EXPECT_EQ(CodeOf(VerifyAccessLogEntries(entries, head,
                                          "c_" + std::string(32, 'c'))),
            ErrorCode::kProofInvalid);
}

}  // namespace
}  // namespace tillit::bridge
