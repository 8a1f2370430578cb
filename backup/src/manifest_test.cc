#include "manifest.h"

#include <gtest/gtest.h>

#include "tillit/crypto/random.h"

namespace tillit::backup {
namespace {

Manifest Sample() {
  Manifest m;
  m.created = 1767225600;
  m.tillit_version = "0.9.0";
  m.root_key_version = 3;
  m.sealed = true;
  m.key_file = "root.sealed";
  m.key_in_data_dir = true;
  m.files = {{"citizens/c_0123456789abcdef0123456789abcdef.db", 8192,
              std::string(64, 'a')},
             {"registry.db", 4096, std::string(64, 'b')}};
  m.citizens = {{"c_0123456789abcdef0123456789abcdef", 7, 2}};
  m.audit_tree_size = 12;
  m.audit_checkpoint = "tillit-audit\n12\nroot\n";
  m.signer = "c2lnbmVy";
  return m;
}

TEST(ManifestTest, TextRoundTrips) {
  auto m = ParseManifest(ManifestText(Sample()));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->root_key_version, 3u);
  EXPECT_TRUE(m->sealed);
  EXPECT_EQ(m->key_file, "root.sealed");
  ASSERT_EQ(m->files.size(), 2u);
  EXPECT_EQ(m->files[0].size, 8192u);
  ASSERT_EQ(m->citizens.size(), 1u);
  EXPECT_EQ(m->citizens[0].generation, 7);
  EXPECT_EQ(m->citizens[0].dek_version, 2);
  EXPECT_EQ(m->audit_tree_size, 12u);
  EXPECT_EQ(ManifestText(*m), ManifestText(Sample()));
}

TEST(ManifestTest, RefusesPathsNoBackupHolds) {
  for (const char* path :
       {"../registry.db", "/etc/passwd", "citizens/../../x.db",
        "citizens/c_0123.db", "citizens/c_0123456789ABCDEF0123456789abcdef.db",
        "releases/rel_x.tillit", "notes.txt", "manifest.json", ""}) {
    Manifest m = Sample();
    m.files[1].path = path;
    auto parsed = ParseManifest(ManifestText(m));
    EXPECT_EQ(parsed.status().code(), StatusCode::kDataLoss) << path;
  }
  EXPECT_TRUE(
      IsBackupPath("releases/rel_0123456789abcdef0123456789abcdef.tillit"));
}

TEST(ManifestTest, RefusesDuplicatesBadHashesAndOtherFormats) {
  Manifest twice = Sample();
  twice.files[1].path = twice.files[0].path;
  EXPECT_EQ(ParseManifest(ManifestText(twice)).status().code(),
            StatusCode::kDataLoss);
  Manifest hash = Sample();
  hash.files[0].sha256 = "zz";
  EXPECT_EQ(ParseManifest(ManifestText(hash)).status().code(),
            StatusCode::kDataLoss);
  Manifest key = Sample();
  key.key_file = "../root.key";
  EXPECT_EQ(ParseManifest(ManifestText(key)).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(ParseManifest("not json").status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(ParseManifest(R"({"format": "other"})").status().code(),
            StatusCode::kDataLoss);
  std::string newer = ManifestText(Sample());
  newer.replace(newer.find("\"version\": 1"), 12, "\"version\": 2");
  auto refused = ParseManifest(newer);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("format 2"), std::string::npos);
  std::string missing = ManifestText(Sample());
  missing.replace(missing.find("\"created\""), 9, "\"made\"");
  EXPECT_EQ(ParseManifest(missing).status().code(), StatusCode::kDataLoss);
}

TEST(ManifestTest, SignatureCoversEveryByteAndTheKey) {
  crypto::DeterministicRandom rng(5);
  crypto::SigningKey key = crypto::SigningKey::Generate(rng);
  crypto::SigningKey other = crypto::SigningKey::Generate(rng);
  const std::string text = ManifestText(Sample());
  const std::string sig = SignManifest(key, text);
  EXPECT_TRUE(ManifestSignatureVerifies(key.public_key(), text, sig));
  EXPECT_FALSE(ManifestSignatureVerifies(other.public_key(), text, sig));
  std::string changed = text;
  changed[changed.size() / 2] ^= 1;
  EXPECT_FALSE(ManifestSignatureVerifies(key.public_key(), changed, sig));
  EXPECT_FALSE(ManifestSignatureVerifies(key.public_key(), text, "AAAA\n"));
  EXPECT_FALSE(ManifestSignatureVerifies(key.public_key(), text, "!!"));
}

}  // namespace
}  // namespace tillit::backup
