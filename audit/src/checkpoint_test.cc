#include "tillit/audit/checkpoint.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/hash.h"
#include "tillit/crypto/signing.h"

namespace tillit::audit {
namespace {

constexpr std::string_view kName = "example.org/tillit/audit";
constexpr std::string_view kDash = "\xE2\x80\x94";  // U+2014 EM DASH

// The fixed test key: Ed25519 seed 00 01 02 ... 1f.
crypto::SigningKey TestKey(uint8_t first = 0) {
  std::vector<uint8_t> seed(32);
  for (size_t i = 0; i < seed.size(); ++i) {
    seed[i] = static_cast<uint8_t>(first + i);
  }
  return *crypto::SigningKey::FromSeed(crypto::SecretBytes::CopyFrom(seed));
}

Hash HashFromHex(std::string_view hex) {
  auto bytes = *crypto::HexDecode(hex);
  Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

// The RFC 6962 reference tree head of size 8 (see merkle_test.cc).
const Hash kRoot8 = HashFromHex(
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");

// Key id straight from its definition (independent of checkpoint.cc).
uint32_t DefinitionKeyId(std::string_view name,
                         const crypto::Ed25519PublicKey& pk) {
  std::vector<uint8_t> buf(name.begin(), name.end());
  buf.push_back('\n');
  buf.push_back(0x01);
  buf.insert(buf.end(), pk.begin(), pk.end());
  const crypto::Digest d = crypto::Sha256(buf);
  return (uint32_t{d[0]} << 24) | (uint32_t{d[1]} << 16) |
         (uint32_t{d[2]} << 8) | uint32_t{d[3]};
}

std::vector<uint8_t> BigEndian(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

// A signature line over `body`, built by hand from the format definition.
std::string SignatureLine(std::string_view body, std::string_view name,
                          const crypto::SigningKey& key) {
  std::vector<uint8_t> blob =
      BigEndian(DefinitionKeyId(name, key.public_key()));
  const auto sig = key.Sign(crypto::AsBytes(body));
  blob.insert(blob.end(), sig.begin(), sig.end());
  return std::string(kDash) + " " + std::string(name) + " " +
         crypto::Base64Encode(blob) + "\n";
}

// A signed note over an arbitrary body.
std::string SignRaw(std::string_view body, std::string_view name,
                    const crypto::SigningKey& key) {
  return std::string(body) + "\n" + SignatureLine(body, name, key);
}

StatusCode OpenCode(std::string_view note, const crypto::SigningKey& key,
                    std::string_view name = kName) {
  return OpenCheckpoint(note, name, key.public_key()).status().code();
}

// Produced by SignCheckpoint({kName, 8, kRoot8}) with TestKey(); the
// signature was checked independently with Python's `cryptography` Ed25519
// and the key id with hashlib. Also the worked example in
// docs/AUDIT_FORMATS.md.
constexpr std::string_view kGoldenNote =
    "example.org/tillit/audit\n"
    "8\n"
    "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    "\n"
    "\xE2\x80\x94 example.org/tillit/audit "
    "YfBoNHcpKUN0TzcHaJgVxPyCUHq/X65XO4MdNQzlYPFpkQfX13Zyg/4tN/RC+blwN50o2o5ANE"
    "oE3nigo0BFwI1rVgY=\n";
constexpr std::string_view kGoldenVerifierKey =
    "example.org/tillit/audit+61f06834+"
    "AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

TEST(Checkpoint, BodyFormatIsExact) {
  EXPECT_EQ(CheckpointBody({std::string(kName), 8, kRoot8}),
            "example.org/tillit/audit\n8\n"
            "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n");
  EXPECT_EQ(CheckpointBody({"o", 0, Hash{}}),
            "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
  EXPECT_EQ(CheckpointBody({"o", UINT64_MAX, Hash{}}),
            "o\n18446744073709551615\n"
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
}

TEST(Checkpoint, SignedNoteIsGolden) {
  const crypto::SigningKey key = TestKey();
  const std::string note =
      SignCheckpoint({std::string(kName), 8, kRoot8}, kName, key);
  EXPECT_EQ(note, kGoldenNote);
  EXPECT_EQ(note, SignRaw(CheckpointBody({std::string(kName), 8, kRoot8}),
                          kName, key));
  EXPECT_EQ(NoteKeyId(kName, key.public_key()), 0x61f06834u);
  EXPECT_EQ(VerifierKey(kName, key.public_key()), kGoldenVerifierKey);
}

TEST(Checkpoint, KeyIdMatchesDefinition) {
  for (uint8_t k = 0; k < 5; ++k) {
    const crypto::SigningKey key = TestKey(k * 40);
    for (std::string_view name : {"a", "example.com/log", "x\xC3\xA9y"}) {
      EXPECT_EQ(NoteKeyId(name, key.public_key()),
                DefinitionKeyId(name, key.public_key()));
    }
  }
}

TEST(Checkpoint, RoundTrip) {
  const crypto::SigningKey key = TestKey();
  for (uint64_t size :
       {uint64_t{0}, uint64_t{1}, uint64_t{8}, uint64_t{12345}, UINT64_MAX}) {
    Checkpoint cp{"tillit.example/log-1", size, kRoot8};
    cp.root[0] = static_cast<uint8_t>(size);
    auto opened =
        OpenCheckpoint(SignCheckpoint(cp, kName, key), kName, key.public_key());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->origin, cp.origin);
    EXPECT_EQ(opened->size, cp.size);
    EXPECT_EQ(opened->root, cp.root);
  }
}

// C2SP signed-note facts published with the format (the Go sumdb/note
// example key "example.com/foo" and its signature of
// "This is an example message.\n"): our key id and verifier key code agree.
TEST(Checkpoint, PublishedSignedNoteExample) {
  constexpr std::string_view kVkey =
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  constexpr std::string_view kText = "This is an example message.\n";
  constexpr std::string_view kSig =
      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFX"
      "mRKuwHjG1Yu72IneyaQM=";
  auto parsed = ParseVerifierKey(kVkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->first, "example.com/foo");
  EXPECT_EQ(NoteKeyId(parsed->first, parsed->second), 0x530d903au);
  EXPECT_EQ(VerifierKey(parsed->first, parsed->second), kVkey);
  auto blob = *crypto::Base64Decode(kSig);
  ASSERT_EQ(blob.size(), 68u);
  EXPECT_EQ(std::vector<uint8_t>(blob.begin(), blob.begin() + 4),
            BigEndian(0x530d903a));
  EXPECT_TRUE(crypto::VerifyEd25519(parsed->second, crypto::AsBytes(kText),
                                    std::span<const uint8_t>(blob).subspan(4)));
  // A valid signed note, but not a checkpoint.
  const std::string note = std::string(kText) + "\n" + std::string(kDash) +
                           " example.com/foo " + std::string(kSig) + "\n";
  EXPECT_EQ(OpenCheckpoint(note, parsed->first, parsed->second).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Checkpoint, VerifierKeyRoundTripAndRejects) {
  const crypto::SigningKey key = TestKey();
  auto parsed = ParseVerifierKey(kGoldenVerifierKey);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->first, kName);
  EXPECT_EQ(parsed->second, key.public_key());

  const std::string good(kGoldenVerifierKey);
  const std::string b64 = good.substr(good.rfind("+AQ") + 1);
  const std::vector<std::string> bad = {
      "",
      "example.org",
      "+61f06834+" + b64,                          // empty name
      "a b+61f06834+" + b64,                       // space in name
      "example.org/tillit/audit+61f0683+" + b64,   // 7 hex digits
      "example.org/tillit/audit+61f06835+" + b64,  // wrong key id
      "example.org/tillit/audit+61f0683z+" + b64,  // not hex
      "example.org/tillit/audit+61f06834" + b64,   // missing '+'
      "example.org/tillit/audit+61f06834+",        // no key
      "example.org/tillit/audit+61f06834+AQOhB7/"
      "zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG",
      "example.org/tillit/audit+61f06834+AgOhB7/"
      "zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4",
      "other.name+61f06834+" + b64,  // id is for another name
  };
  for (const std::string& vkey : bad) {
    EXPECT_EQ(ParseVerifierKey(vkey).status().code(),
              StatusCode::kInvalidArgument)
        << vkey;
  }
}

TEST(Checkpoint, WrongKeyOrNameIsUnauthenticated) {
  const crypto::SigningKey key = TestKey();
  const crypto::SigningKey other = TestKey(100);
  EXPECT_EQ(OpenCode(kGoldenNote, key), StatusCode::kOk);
  EXPECT_EQ(OpenCode(kGoldenNote, other), StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenCode(kGoldenNote, key, "example.org/other"),
            StatusCode::kUnauthenticated);
  // The right name with another key's signature (a different key id).
  const std::string body = CheckpointBody({std::string(kName), 8, kRoot8});
  EXPECT_EQ(OpenCode(SignRaw(body, kName, other), key),
            StatusCode::kUnauthenticated);
  // An invalid key name to verify with.
  EXPECT_EQ(OpenCode(kGoldenNote, key, "bad name"),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenCode(kGoldenNote, key, ""), StatusCode::kInvalidArgument);
}

TEST(Checkpoint, EveryFlippedBodyByteIsRejected) {
  const crypto::SigningKey key = TestKey();
  const size_t body_size = kGoldenNote.find("\n\n") + 1;
  int unauthenticated = 0;
  for (size_t i = 0; i < body_size; ++i) {
    std::string note(kGoldenNote);
    note[i] = static_cast<char>(note[i] ^ 0x01);
    const StatusCode code = OpenCode(note, key);
    EXPECT_NE(code, StatusCode::kOk) << "byte " << i;
    if (code == StatusCode::kUnauthenticated) ++unauthenticated;
  }
  // Most flips keep the body well formed and only break the signature.
  EXPECT_GT(unauthenticated, static_cast<int>(body_size / 2));
}

TEST(Checkpoint, EveryFlippedSignatureByteIsUnauthenticated) {
  const crypto::SigningKey key = TestKey();
  const std::string note(kGoldenNote);
  const size_t sig_start = note.rfind(' ') + 1;
  const std::string prefix = note.substr(0, sig_start);
  const auto blob = *crypto::Base64Decode(
      note.substr(sig_start, note.size() - sig_start - 1));
  ASSERT_EQ(blob.size(), 68u);
  for (size_t i = 0; i < blob.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}}) {
      auto bad = blob;
      bad[i] ^= mask;
      const std::string bad_note = prefix + crypto::Base64Encode(bad) + "\n";
      EXPECT_EQ(OpenCode(bad_note, key), StatusCode::kUnauthenticated)
          << "byte " << i;
    }
  }
  // Truncated or extended signatures by the right key id.
  for (size_t len : {size_t{5}, size_t{67}}) {
    std::vector<uint8_t> cut(blob.begin(), blob.begin() + len);
    EXPECT_EQ(OpenCode(prefix + crypto::Base64Encode(cut) + "\n", key),
              StatusCode::kUnauthenticated);
  }
  auto longer = blob;
  longer.push_back(0);
  EXPECT_EQ(OpenCode(prefix + crypto::Base64Encode(longer) + "\n", key),
            StatusCode::kUnauthenticated);
}

TEST(Checkpoint, MissingBlankLineIsInvalid) {
  const crypto::SigningKey key = TestKey();
  std::string note(kGoldenNote);
  note.erase(note.find("\n\n"), 1);
  EXPECT_EQ(OpenCode(note, key), StatusCode::kInvalidArgument);
  // Only a body, or only a body and a blank line.
  const std::string body = CheckpointBody({std::string(kName), 8, kRoot8});
  EXPECT_EQ(OpenCode(body, key), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenCode(body + "\n", key), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenCode("", key), StatusCode::kInvalidArgument);
}

TEST(Checkpoint, OtherSignatureLinesAreIgnoredButMustBeWellFormed) {
  const crypto::SigningKey key = TestKey();
  const crypto::SigningKey witness = TestKey(50);
  const std::string body = CheckpointBody({std::string(kName), 8, kRoot8});
  const std::string ours = SignatureLine(body, kName, key);
  const std::string theirs = SignatureLine(body, "witness.example", witness);
  const std::string same_name_other_key = SignatureLine(body, kName, witness);
  for (const std::string& sigs :
       {theirs + ours, ours + theirs, same_name_other_key + ours,
        ours + same_name_other_key}) {
    auto opened = OpenCheckpoint(body + "\n" + sigs, kName, key.public_key());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(opened->root, kRoot8);
  }
  // The witness opens it too with its own key.
  EXPECT_EQ(OpenCode(body + "\n" + ours + theirs, witness, "witness.example"),
            StatusCode::kOk);
  // A malformed line by someone else spoils the note.
  for (const std::string& junk :
       {std::string(kDash) + " witness.example !!notbase64!!\n",
        std::string(kDash) + " witness.example AAAA\n",
        std::string(kDash) + " witness.example\n",
        std::string("-- witness.example AAAAAAAAAAAAAAAA\n"),
        std::string(kDash) + "witness.example AAAAAAAAAAAAAAAA\n",
        std::string(kDash) + " wit+ness AAAAAAAAAAAAAAAA\n",
        std::string(kDash) + "  AAAAAAAAAAAAAAAA\n", std::string("\n"),
        std::string("plain text\n")}) {
    EXPECT_EQ(OpenCode(body + "\n" + ours + junk, key),
              StatusCode::kInvalidArgument)
        << junk;
  }
  // A bad signature by our key spoils the note even next to a good one.
  std::string bad_ours = ours;
  bad_ours[bad_ours.size() - 10] ^= 0x01;  // inside the base64 signature
  if (bad_ours[bad_ours.size() - 10] == '+' ||
      bad_ours[bad_ours.size() - 10] == '/') {
    bad_ours[bad_ours.size() - 10] = 'A';
  }
  EXPECT_NE(OpenCode(body + "\n" + ours + bad_ours, key), StatusCode::kOk);
  // Too many signature lines.
  std::string many = body + "\n" + ours;
  for (size_t i = 0; i < kMaxNoteSignatures; ++i) many += theirs;
  EXPECT_EQ(OpenCode(many, key), StatusCode::kInvalidArgument);
}

TEST(Checkpoint, MalformedBodiesAreInvalidEvenWhenSigned) {
  const crypto::SigningKey key = TestKey();
  const std::string root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
  const std::vector<std::string> bodies = {
      "\n8\n" + root + "\n",                                   // empty origin
      "o\n" + root + "\n",                                     // missing size
      "o\n8\n",                                                // missing root
      "o\n08\n" + root + "\n",                                 // leading zero
      "o\n-1\n" + root + "\n",                                 // sign
      "o\n+1\n" + root + "\n",                                 // sign
      "o\n 8\n" + root + "\n",                                 // space
      "o\n8 \n" + root + "\n",                                 // space
      "o\n0x8\n" + root + "\n",                                // hex
      "o\n18446744073709551616\n" + root + "\n",               // UINT64_MAX + 1
      "o\n\n" + root + "\n",                                   // empty size
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n",   // bad padding
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ\n",     // no padding
      "o\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",  // 31 bytes
      "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n",  // URL alphabet
      "o\n8\n" + root + "\n\next\n",  // empty line in body
      "o\r\n8\n" + root + "\n",       // control character
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(OpenCode(SignRaw(body, kName, key), key),
              StatusCode::kInvalidArgument)
        << body;
  }
}

TEST(Checkpoint, ExtensionLinesAreAllowedAndNotPartOfCheckpoint) {
  const crypto::SigningKey key = TestKey();
  const std::string body =
      CheckpointBody({"o", 18446744073709551615u, kRoot8}) +
      "extension one\nextension \xC3\xA9 two\n";
  auto opened =
      OpenCheckpoint(SignRaw(body, kName, key), kName, key.public_key());
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->origin, "o");
  EXPECT_EQ(opened->size, 18446744073709551615u);
  EXPECT_EQ(opened->root, kRoot8);
  // The extension lines are signed: changing one breaks the signature.
  std::string note = SignRaw(body, kName, key);
  note[note.find("one")] = 'O';
  EXPECT_EQ(OpenCode(note, key), StatusCode::kUnauthenticated);
}

TEST(Checkpoint, TextAndSizeLimits) {
  const crypto::SigningKey key = TestKey();
  // Invalid UTF-8 and control characters anywhere.
  for (std::string_view bad :
       {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\x01", "\x7F", "\t"}) {
    const std::string body =
        "o" + std::string(bad) + "\n8\n" + crypto::Base64Encode(kRoot8) + "\n";
    EXPECT_EQ(OpenCode(SignRaw(body, kName, key), key),
              StatusCode::kInvalidArgument);
  }
  // Larger than 64 KiB, even if signed.
  const std::string big =
      CheckpointBody({"o", 8, kRoot8}) + std::string(kMaxNoteSize, 'x') + "\n";
  EXPECT_EQ(OpenCode(SignRaw(big, kName, key), key),
            StatusCode::kInvalidArgument);
  // Just under the limit is fine.
  std::string fits = CheckpointBody({"o", 8, kRoot8});
  const size_t sig_line = SignatureLine(fits, kName, key).size();
  fits += std::string(kMaxNoteSize - fits.size() - sig_line - 2, 'x') + "\n";
  const std::string note = SignRaw(fits, kName, key);
  ASSERT_EQ(note.size(), kMaxNoteSize);
  EXPECT_EQ(OpenCode(note, key), StatusCode::kOk);
}

TEST(Checkpoint, KeyNames) {
  EXPECT_TRUE(IsValidKeyName("example.org/tillit/audit"));
  EXPECT_TRUE(IsValidKeyName("x\xC3\xA9y"));
  EXPECT_FALSE(IsValidKeyName(""));
  EXPECT_FALSE(IsValidKeyName("a b"));
  EXPECT_FALSE(IsValidKeyName("a\tb"));
  EXPECT_FALSE(IsValidKeyName("a\nb"));
  EXPECT_FALSE(IsValidKeyName("a+b"));
  EXPECT_FALSE(
      IsValidKeyName("a\xC2\xA0"
                     "b"));  // U+00A0
  EXPECT_FALSE(
      IsValidKeyName("a\xE3\x80\x80"
                     "b"));  // U+3000
  EXPECT_FALSE(
      IsValidKeyName("a\xFF"
                     "b"));  // not UTF-8
}

TEST(Checkpoint, ForkOfTwoValidlySignedNotes) {
  const crypto::SigningKey key = TestKey();
  Hash other_root = kRoot8;
  other_root[31] ^= 0x01;
  const std::string note_a =
      SignCheckpoint({std::string(kName), 8, kRoot8}, kName, key);
  const std::string note_b =
      SignCheckpoint({std::string(kName), 8, other_root}, kName, key);
  auto a = OpenCheckpoint(note_a, kName, key.public_key());
  auto b = OpenCheckpoint(note_b, kName, key.public_key());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(IsFork(*a, *b));
  EXPECT_TRUE(IsFork(*b, *a));
  EXPECT_FALSE(IsFork(*a, *a));
  Checkpoint c = *b;
  c.size = 9;
  EXPECT_FALSE(IsFork(*a, c));
  c = *b;
  c.origin = "another.log";
  EXPECT_FALSE(IsFork(*a, c));
}

}  // namespace
}  // namespace tillit::audit
