#include "tillit/research/sealed.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"

namespace tillit::research {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// The layout of docs/RELEASE_FORMAT.md, written out again here so that a
// change to the format shows up as a failing test.
constexpr size_t kPrefix = 12;
constexpr size_t kHeader = 116;  // prefix + sealed file key (80) + 24
constexpr size_t kChunkPlain = 65536;
constexpr size_t kChunk = kChunkPlain + 17;
const Bytes kMagicAndVersion = {'T', 'I', 'L', 'L', 'I', 'T',
                                'R', 'F', 0,   0,   0,   1};

// Builds a file by the documented layout with any plaintext chunks and
// tags (the writer only makes well-formed ones).
Bytes BuildByHand(const crypto::X25519PublicKey& pk,
                  const std::vector<std::pair<Bytes, unsigned char>>& chunks) {
  Bytes key(crypto_secretstream_xchacha20poly1305_KEYBYTES);
  crypto_secretstream_xchacha20poly1305_keygen(key.data());
  Bytes out = kMagicAndVersion;
  Bytes sealed = *crypto::SealedBoxSeal(key, pk);
  out.insert(out.end(), sealed.begin(), sealed.end());
  crypto_secretstream_xchacha20poly1305_state st;
  Bytes header(crypto_secretstream_xchacha20poly1305_HEADERBYTES);
  crypto_secretstream_xchacha20poly1305_init_push(&st, header.data(),
                                                  key.data());
  out.insert(out.end(), header.begin(), header.end());
  for (const auto& [plain, tag] : chunks) {
    Bytes c(plain.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long n = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &st, c.data(), &n, plain.data(), plain.size(), kMagicAndVersion.data(),
        kMagicAndVersion.size(), tag);
    out.insert(out.end(), c.begin(), c.begin() + n);
  }
  return out;
}

// One record of the inner framing.
Bytes Record(std::string_view name, std::string_view piece,
             size_t name_length_field = SIZE_MAX) {
  const size_t nl =
      name_length_field == SIZE_MAX ? name.size() : name_length_field;
  Bytes r = {static_cast<uint8_t>(nl >> 8), static_cast<uint8_t>(nl)};
  r.insert(r.end(), name.begin(), name.end());
  const uint32_t pl = static_cast<uint32_t>(piece.size());
  for (int shift : {24, 16, 8, 0})
    r.push_back(static_cast<uint8_t>(pl >> shift));
  r.insert(r.end(), piece.begin(), piece.end());
  return r;
}

Bytes Concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::string Pseudorandom(size_t size, uint64_t seed) {
  std::string s(size, '\0');
  crypto::DeterministicRandom rng(seed);
  rng.Fill({reinterpret_cast<uint8_t*>(s.data()), s.size()});
  return s;
}

class SealedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (fs::temp_directory_path() / "tillit-sealed-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
    release_ = (base_ / "release.bin").string();
    out_ = (base_ / "out").string();
  }
  void TearDown() override { fs::remove_all(base_); }

  // Seals (member, bytes) appends in order.
  Bytes Seal(const std::vector<std::pair<std::string, std::string>>& appends,
             const crypto::X25519PublicKey* pk = nullptr) {
    Bytes out;
    auto w = SealedWriter::Start(pk ? *pk : key_.public_key,
                                 [&out](std::span<const uint8_t> b) {
                                   out.insert(out.end(), b.begin(), b.end());
                                   return Status::Ok();
                                 });
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return {};
    for (const auto& [name, bytes] : appends) {
      Status s = (*w)->Append(name, bytes);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    Status s = (*w)->Finish();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // A release of about three and a half chunks with two members.
  Bytes SmallRelease() {
    return Seal({{"Patient.ndjson", Pseudorandom(100000, 1)},
                 {"manifest.json", "{\"study\":\"s_1\"}"},
                 {"Patient.ndjson", Pseudorandom(130000, 2)}});
  }

  void WriteRelease(const Bytes& bytes) {
    std::ofstream f(release_, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  }

  Status Open(const Bytes& bytes) {
    WriteRelease(bytes);
    return OpenSealedFile(release_, key_, out_);
  }

  std::string ReadMember(const std::string& name) {
    std::ifstream f(fs::path(out_) / name, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }

  std::set<std::string> Entries(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir))
      names.insert(e.path().filename().string());
    return names;
  }

  // Nothing beside the release: no output directory, no temporary one.
  void ExpectNothingWritten(const std::string& context) {
    EXPECT_EQ(Entries(base_), std::set<std::string>{"release.bin"}) << context;
  }

  crypto::DeterministicRandom rng_{42};
  crypto::BoxKeyPair key_ = crypto::BoxKeyPair::Generate(rng_);
  fs::path base_;
  std::string release_, out_;
};

TEST(MemberNameTest, AcceptsPlainNamesOnly) {
  for (std::string_view good :
       {"Patient.ndjson", "manifest.json", "a", "A-b_c.9", "x.."}) {
    EXPECT_TRUE(IsValidMemberName(good)) << good;
  }
  EXPECT_TRUE(IsValidMemberName(std::string(64, 'a')));
  for (std::string_view bad : {"", ".", "..", ".hidden", "../x", "a/b", "/abs",
                               "a\\b", "a b", "caf\xc3\xa9", "a:b", "a\nb"}) {
    EXPECT_FALSE(IsValidMemberName(bad)) << bad;
  }
  EXPECT_FALSE(IsValidMemberName(std::string_view("a\0b", 3)));
  EXPECT_FALSE(IsValidMemberName(std::string(65, 'a')));
}

TEST_F(SealedTest, RoundTripWithInterleavedAndEmptyMembers) {
  Bytes file = Seal({{"Patient.ndjson", "{\"id\":\"p1\"}\n"},
                     {"Observation.ndjson", "{\"id\":\"o1\"}\n"},
                     {"Empty.ndjson", ""},
                     {"Patient.ndjson", "{\"id\":\"p2\"}\n"},
                     {"Observation.ndjson", ""},
                     {"manifest.json", "{}"},
                     {"Observation.ndjson", "{\"id\":\"o2\"}\n"}});
  WriteRelease(file);
  auto members = DecryptSealedFile(release_, key_, out_);
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 4u);
  EXPECT_EQ((*members)[0].name, "Patient.ndjson");
  EXPECT_EQ((*members)[0].size, 24u);
  EXPECT_EQ((*members)[1].name, "Observation.ndjson");
  EXPECT_EQ((*members)[2].name, "Empty.ndjson");
  EXPECT_EQ((*members)[2].size, 0u);
  EXPECT_EQ((*members)[3].name, "manifest.json");
  EXPECT_EQ(ReadMember("Patient.ndjson"), "{\"id\":\"p1\"}\n{\"id\":\"p2\"}\n");
  EXPECT_EQ(ReadMember("Observation.ndjson"),
            "{\"id\":\"o1\"}\n{\"id\":\"o2\"}\n");
  EXPECT_EQ(ReadMember("Empty.ndjson"), "");
  EXPECT_EQ(ReadMember("manifest.json"), "{}");
  EXPECT_EQ(Entries(out_),
            (std::set<std::string>{"Patient.ndjson", "Observation.ndjson",
                                   "Empty.ndjson", "manifest.json"}));
  // Only the output directory remains beside the release.
  EXPECT_EQ(Entries(base_), (std::set<std::string>{"release.bin", "out"}));
  struct stat st;
  ASSERT_EQ(::stat((fs::path(out_) / "manifest.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(SealedTest, LayoutIsAsDocumented) {
  // Records: 2 + 13 + 4 + 2 bytes ("manifest.json", "{}").
  Bytes file = Seal({{"manifest.json", "{}"}});
  ASSERT_EQ(file.size(), kHeader + 21 + 17);
  EXPECT_TRUE(std::equal(kMagicAndVersion.begin(), kMagicAndVersion.end(),
                         file.begin()));
  // An empty release is the header and one FINAL chunk of nothing.
  EXPECT_EQ(Seal({}).size(), kHeader + 17);
  // A file built by hand from the document opens; here the chunk boundary
  // falls inside a record's name (5 bytes into the last record).
  const std::string c(kChunkPlain - 42, 'c');
  const Bytes content =
      Concat({Record("A.ndjson", "alpha"), Record("B", "beta"), Record("C", c),
              Record("A.ndjson", "!")});
  ASSERT_EQ(content.size(), kChunkPlain + 10);
  Bytes hand = BuildByHand(
      key_.public_key, {{Bytes(content.begin(), content.begin() + kChunkPlain),
                         crypto_secretstream_xchacha20poly1305_TAG_MESSAGE},
                        {Bytes(content.begin() + kChunkPlain, content.end()),
                         crypto_secretstream_xchacha20poly1305_TAG_FINAL}});
  ASSERT_EQ(hand.size(), kHeader + kChunk + 10 + 17);
  Status s = Open(hand);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadMember("A.ndjson"), "alpha!");
  EXPECT_EQ(ReadMember("B"), "beta");
  EXPECT_EQ(ReadMember("C"), c);
}

TEST_F(SealedTest, AReleaseMadeEarlierStillOpens) {
  // Sealed once with libsodium 1.0.18 by the layout of
  // docs/RELEASE_FORMAT.md, to RFC 7748's Alice: two records in one FINAL
  // chunk. Releases already handed out must keep opening.
  const Bytes file = *crypto::HexDecode(
      "54494c4c4954524600000001f84fbf2f966aebc9e990cef81a98a4b3a7692899"
      "efd46ef5b9cc4b13b7d1bd0850bfa5c9f5fb12b93c3309cdcc4a7d450f4d76eb"
      "2bdb8e4cea232195858d83a5efd94d5750aa17bd5823dbe725fa416c8ff074f5"
      "94b762d6b9238cd8531e3dba8fbc43dcfb160409cfa3a65a94221a4415b18837"
      "ff54f94b58b1ddb47bb3e139e7b2125cbaa58715148c8ade16320eb165c6a051"
      "8c22ad4884885a6d4c63d55fa1853bdfc693362508d3e6e12e47a8297c4ab9eb"
      "696e661abfc856c145c2575cdc6d790b39a5f6a596ab");
  StatusOr<crypto::BoxKeyPair> alice =
      crypto::BoxKeyPair::FromSecretKey(crypto::SecretBytes::CopyFrom(
          *crypto::HexDecode("77076d0a7318a57d3c16c17251b26645"
                             "df4c2f87ebc0992ab177fba51db92c2a")));
  ASSERT_TRUE(alice.ok());
  WriteRelease(file);
  StatusOr<std::vector<SealedMember>> members =
      DecryptSealedFile(release_, *alice, out_);
  ASSERT_TRUE(members.ok()) << members.status().ToString();
  ASSERT_EQ(members->size(), 2u);
  EXPECT_EQ((*members)[0].name, "manifest.json");
  EXPECT_EQ((*members)[0].size, 15u);
  EXPECT_EQ((*members)[1].name, "Patient.ndjson");
  EXPECT_EQ((*members)[1].size, 27u);
  EXPECT_EQ(ReadMember("manifest.json"), "{\"study\":\"s_1\"}");
  EXPECT_EQ(ReadMember("Patient.ndjson"), "{\"resourceType\":\"Patient\"}\n");
  // And not with another key.
  fs::remove_all(out_);
  EXPECT_EQ(OpenSealedFile(release_, key_, out_).code(), StatusCode::kDataLoss);
}

TEST_F(SealedTest, LargeMemberSpansManyChunksAndTheWriterStreams) {
  const std::string big = Pseudorandom(3 * 1024 * 1024 + 12345, 9);
  Bytes file;
  size_t largest_write = 0, writes = 0;
  auto w =
      SealedWriter::Start(key_.public_key, [&](std::span<const uint8_t> b) {
        file.insert(file.end(), b.begin(), b.end());
        largest_write = std::max(largest_write, b.size());
        ++writes;
        return Status::Ok();
      });
  ASSERT_TRUE(w.ok());
  // One big append, and a small member interleaved with pieces of another.
  ASSERT_TRUE((*w)->Append("Observation.ndjson", big).ok());
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE((*w)->Append("Patient.ndjson", Pseudorandom(7000, i)).ok());
    ASSERT_TRUE((*w)->Append("manifest.json", "x").ok());
  }
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_LE(largest_write, kChunk);  // one chunk at a time
  const size_t plain = (2 + 18 + 4) + big.size() +
                       100 * ((2 + 14 + 4 + 7000) + (2 + 13 + 4 + 1));
  const size_t chunks = (plain + kChunkPlain - 1) / kChunkPlain;
  EXPECT_GT(chunks, 16u);
  EXPECT_EQ(writes, 1 + chunks);
  EXPECT_EQ(file.size(), kHeader + plain + 17 * chunks);

  ASSERT_TRUE(Open(file).ok());
  EXPECT_EQ(ReadMember("Observation.ndjson"), big);
  std::string patients;
  for (int i = 0; i < 100; ++i) patients += Pseudorandom(7000, i);
  EXPECT_EQ(ReadMember("Patient.ndjson"), patients);
  EXPECT_EQ(ReadMember("manifest.json"), std::string(100, 'x'));
}

TEST_F(SealedTest, ExactlyFullFinalChunk) {
  // A record filling the chunk exactly: the FINAL chunk is a full one.
  Bytes file = Seal({{"A", std::string(kChunkPlain - 7, 'a')}});
  ASSERT_EQ(file.size(), kHeader + kChunk);
  Status extended = Open(Concat({file, Bytes{0}}));
  EXPECT_EQ(extended.code(), StatusCode::kDataLoss);
  EXPECT_NE(extended.message().find("data after the final chunk"),
            std::string::npos)
      << extended.ToString();
  ExpectNothingWritten("extended");
  ASSERT_TRUE(Open(file).ok());
  EXPECT_EQ(ReadMember("A").size(), kChunkPlain - 7);
}

TEST_F(SealedTest, EmptyReleaseMakesAnEmptyDirectory) {
  ASSERT_TRUE(Open(Seal({})).ok());
  EXPECT_TRUE(fs::is_directory(out_));
  EXPECT_TRUE(Entries(out_).empty());
}

TEST_F(SealedTest, FlippedByteAnywhereIsRefused) {
  const Bytes file = SmallRelease();
  const size_t chunks = (file.size() - kHeader + kChunk - 1) / kChunk;
  ASSERT_EQ(chunks, 4u);
  std::vector<size_t> positions;
  for (size_t i = 0; i < kHeader; ++i) positions.push_back(i);
  for (size_t c = 0; c < chunks; ++c) {
    const size_t start = kHeader + c * kChunk;
    const size_t end = std::min(file.size(), start + kChunk);
    for (size_t i = start; i < start + 20; ++i) positions.push_back(i);
    for (size_t i = start + 20; i < end; i += 4099) positions.push_back(i);
    for (size_t i = end - 20; i < end; ++i) positions.push_back(i);
  }
  for (size_t pos : positions) {
    Bytes altered = file;
    altered[pos] ^= 0x01;
    Status s = Open(altered);
    if (pos < kPrefix) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << pos;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << pos << s.ToString();
    }
    ExpectNothingWritten("flip at " + std::to_string(pos));
  }
}

TEST_F(SealedTest, TruncationAnywhereIsRefused) {
  const Bytes file = SmallRelease();
  std::vector<size_t> cuts = {0, 1, 7, 8, 11, 12, 50, 91, 92, 115};
  for (size_t at = kHeader; at < file.size(); at += kChunk) {
    cuts.push_back(at);      // every chunk boundary
    cuts.push_back(at + 1);  // a few mid-chunk points
    cuts.push_back(at + 16);
    cuts.push_back(at + 17);
    cuts.push_back(at + kChunk / 2);
    cuts.push_back(at + kChunk - 1);
  }
  cuts.push_back(file.size() - 1);
  for (size_t cut : cuts) {
    if (cut >= file.size()) continue;
    Status s = Open(Bytes(file.begin(), file.begin() + cut));
    if (cut < 8) {
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << cut;
    } else {
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << cut << s.ToString();
    }
    ExpectNothingWritten("cut at " + std::to_string(cut));
  }
}

TEST_F(SealedTest, WrongKeyIsRefused) {
  WriteRelease(SmallRelease());
  crypto::DeterministicRandom other_rng(43);
  crypto::BoxKeyPair other = crypto::BoxKeyPair::Generate(other_rng);
  Status s = OpenSealedFile(release_, other, out_);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("not sealed to this key"), std::string::npos);
  ExpectNothingWritten("wrong key");
  // A key pair whose public half does not match its secret half.
  crypto::BoxKeyPair mismatched{other.public_key, key_.secret_key.Clone()};
  EXPECT_EQ(OpenSealedFile(release_, mismatched, out_).code(),
            StatusCode::kDataLoss);
  ExpectNothingWritten("mismatched key");
}

TEST_F(SealedTest, DataAfterTheFinalChunkIsRefused) {
  const Bytes file = SmallRelease();
  const Bytes first_chunk(file.begin() + kHeader,
                          file.begin() + kHeader + kChunk);
  const Bytes final_chunk(file.begin() + kHeader + 3 * kChunk, file.end());
  for (const Bytes& extra :
       {Bytes{0}, Bytes{'\n'}, first_chunk, final_chunk, SmallRelease()}) {
    Status s = Open(Concat({file, extra}));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    ExpectNothingWritten("appended " + std::to_string(extra.size()));
  }
}

TEST_F(SealedTest, ReorderedDuplicatedOrDroppedChunksAreRefused) {
  const Bytes file = SmallRelease();
  const Bytes header(file.begin(), file.begin() + kHeader);
  std::vector<Bytes> chunks;
  for (size_t at = kHeader; at < file.size(); at += kChunk) {
    chunks.emplace_back(file.begin() + at,
                        file.begin() + std::min(file.size(), at + kChunk));
  }
  ASSERT_EQ(chunks.size(), 4u);
  const std::vector<std::vector<int>> orders = {
      {1, 0, 2, 3},    {0, 2, 1, 3},    {0, 0, 1, 2, 3},
      {0, 1, 1, 2, 3}, {0, 2, 3},       {1, 2, 3},
      {0, 1, 3},       {0, 1, 2, 3, 3}, {3}};
  for (const auto& order : orders) {
    Bytes altered = header;
    for (int i : order) {
      altered.insert(altered.end(), chunks[i].begin(), chunks[i].end());
    }
    Status s = Open(altered);
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    ExpectNothingWritten("reordered");
  }
  // The header (sealed key and stream header) of another release to the
  // same key, or its chunks under this header.
  const Bytes other = SmallRelease();
  EXPECT_EQ(Open(Concat({Bytes(other.begin(), other.begin() + kHeader),
                         Bytes(file.begin() + kHeader, file.end())}))
                .code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(Open(Concat({Bytes(file.begin(), file.begin() + kHeader - 24),
                         Bytes(other.begin() + kHeader - 24, other.end())}))
                .code(),
            StatusCode::kDataLoss);
  ExpectNothingWritten("swapped header");
}

TEST_F(SealedTest, NotAReleaseIsInvalidArgument) {
  for (const std::string& text :
       {std::string(), std::string("hello"), std::string(500, 'x'),
        std::string("{\"resourceType\":\"Bundle\"}\n")}) {
    EXPECT_EQ(Open(Bytes(text.begin(), text.end())).code(),
              StatusCode::kInvalidArgument);
    ExpectNothingWritten("text");
  }
  Bytes future = SmallRelease();
  future[11] = 2;  // version 2
  Status s = Open(future);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("version 2"), std::string::npos);
  ExpectNothingWritten("version");
  EXPECT_EQ(OpenSealedFile((base_ / "missing").string(), key_, out_).code(),
            StatusCode::kNotFound);
  ExpectNothingWritten("missing");
}

TEST_F(SealedTest, MalformedContentIsRefused) {
  constexpr unsigned char kMessage =
      crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  constexpr unsigned char kFinal =
      crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  const Bytes full = Record("C", std::string(kChunkPlain - 7, 'c'));
  const std::vector<std::vector<std::pair<Bytes, unsigned char>>> cases = {
      // Path traversal and other bad names.
      {{Record("../evil", "x"), kFinal}},
      {{Record("..", "x"), kFinal}},
      {{Record("/tmp/evil", "x"), kFinal}},
      {{Record("a/b", "x"), kFinal}},
      {{Record(".hidden", "x"), kFinal}},
      {{Concat({Record("ok", "x"), Record("b\\c", "x")}), kFinal}},
      // Bad name lengths: 0, 65, and one that overruns the content.
      {{Record("", "x"), kFinal}},
      {{Record(std::string(65, 'a'), "x"), kFinal}},
      {{Record("abc", "", 300), kFinal}},
      // Content ending inside a record: length, name, piece length, piece.
      {{Bytes{0}, kFinal}},
      {{Bytes{0, 3, 'a', 'b'}, kFinal}},
      {{Bytes{0, 1, 'a', 0, 0}, kFinal}},
      {{Bytes{0, 1, 'a', 0, 0, 0, 9, 'x'}, kFinal}},
      {{full, kMessage}, {Bytes{0, 1}, kFinal}},
      // A short chunk that is not final; tags the writer never uses.
      {{Record("a", "x"), kMessage}, {Record("a", "y"), kFinal}},
      {{full, crypto_secretstream_xchacha20poly1305_TAG_PUSH},
       {Bytes{}, kFinal}},
      {{full, crypto_secretstream_xchacha20poly1305_TAG_REKEY},
       {Bytes{}, kFinal}},
      // No final chunk at all, or a final chunk that is followed by more.
      {{full, kMessage}},
      {{Record("a", "x"), kFinal}, {Record("a", "y"), kFinal}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Status s = Open(BuildByHand(key_.public_key, cases[i]));
    EXPECT_EQ(s.code(), StatusCode::kDataLoss) << i << " " << s.ToString();
    ExpectNothingWritten("case " + std::to_string(i));
    EXPECT_FALSE(fs::exists("/tmp/evil"));
  }
}

TEST_F(SealedTest, ExistingMemberInOutDirIsAlreadyExists) {
  fs::create_directory(out_);
  { std::ofstream(fs::path(out_) / "manifest.json") << "old"; }
  Status s = Open(SmallRelease());
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists) << s.ToString();
  EXPECT_EQ(Entries(out_), std::set<std::string>{"manifest.json"});
  EXPECT_EQ(ReadMember("manifest.json"), "old");
  EXPECT_EQ(Entries(base_), (std::set<std::string>{"release.bin", "out"}));
}

TEST_F(SealedTest, ExistingOutDirKeepsItsOtherFiles) {
  fs::create_directory(out_);
  { std::ofstream(fs::path(out_) / "notes.txt") << "mine"; }
  ASSERT_TRUE(Open(SmallRelease()).ok());
  EXPECT_EQ(Entries(out_), (std::set<std::string>{"notes.txt", "Patient.ndjson",
                                                  "manifest.json"}));
  EXPECT_EQ(ReadMember("notes.txt"), "mine");
  EXPECT_EQ(ReadMember("manifest.json"), "{\"study\":\"s_1\"}");
  EXPECT_EQ(Entries(base_), (std::set<std::string>{"release.bin", "out"}));
}

TEST_F(SealedTest, OutDirThatIsAFileIsRefused) {
  { std::ofstream(out_) << "a file"; }
  EXPECT_EQ(Open(SmallRelease()).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Entries(base_), (std::set<std::string>{"release.bin", "out"}));
}

TEST_F(SealedTest, MissingParentsAreMadeAndRemovedOnRefusal) {
  const Bytes file = SmallRelease();
  WriteRelease(file);
  const std::string nested = (base_ / "a" / "b" / "out").string();
  Bytes altered = file;
  altered[kHeader + 5] ^= 0x80;
  WriteRelease(altered);
  EXPECT_EQ(OpenSealedFile(release_, key_, nested).code(),
            StatusCode::kDataLoss);
  ExpectNothingWritten("nested refusal");
  WriteRelease(file);
  ASSERT_TRUE(OpenSealedFile(release_, key_, nested + "/").ok());
  EXPECT_EQ(Entries(nested),
            (std::set<std::string>{"Patient.ndjson", "manifest.json"}));
  EXPECT_EQ(Entries(base_ / "a" / "b"), std::set<std::string>{"out"});
}

TEST_F(SealedTest, WriterRefusesBadNamesAndUseAfterFinish) {
  Bytes out;
  auto w =
      SealedWriter::Start(key_.public_key, [&out](std::span<const uint8_t> b) {
        out.insert(out.end(), b.begin(), b.end());
        return Status::Ok();
      });
  ASSERT_TRUE(w.ok());
  for (std::string_view bad :
       {std::string_view(), std::string_view("../x"), std::string_view("a/b"),
        std::string_view(".e"), std::string_view(".."),
        std::string_view("a\0", 2)}) {
    EXPECT_EQ((*w)->Append(bad, "x").code(), StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ((*w)->Append(std::string(65, 'n'), "x").code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE((*w)->Append("ok", "x").ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->Append("ok", "y").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*w)->Finish().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Open(out).ok());
  EXPECT_EQ(Entries(out_), std::set<std::string>{"ok"});
}

TEST_F(SealedTest, WriterLimitsMembers) {
  auto w = SealedWriter::Start(
      key_.public_key, [](std::span<const uint8_t>) { return Status::Ok(); });
  ASSERT_TRUE(w.ok());
  for (size_t i = 0; i < kMaxSealedMembers; ++i) {
    ASSERT_TRUE((*w)->Append("m" + std::to_string(i), "").ok());
  }
  EXPECT_EQ((*w)->Append("one-more", "").code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE((*w)->Append("m0", "again").ok());
}

TEST_F(SealedTest, WriterStopsAfterASinkError) {
  int calls = 0;
  auto w =
      SealedWriter::Start(key_.public_key, [&calls](std::span<const uint8_t>) {
        return ++calls == 2 ? Status::IoError("disk full") : Status::Ok();
      });
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)->Append("a", std::string(3 * kChunkPlain, 'a')).code(),
            StatusCode::kIoError);
  EXPECT_EQ((*w)->Append("a", "b").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*w)->Finish().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(calls, 2);
}

TEST_F(SealedTest, StartRefusesUnusableKeysAndSinks) {
  crypto::X25519PublicKey zero{};
  EXPECT_EQ(SealedWriter::Start(
                zero, [](std::span<const uint8_t>) { return Status::Ok(); })
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(SealedWriter::Start(key_.public_key, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  auto failing = SealedWriter::Start(
      key_.public_key, [](auto) { return Status::IoError("no space"); });
  EXPECT_EQ(failing.status().code(), StatusCode::kIoError);
}

TEST_F(SealedTest, AWriterDroppedWithoutFinishLeavesARefusedFile) {
  Bytes out;
  {
    auto w = SealedWriter::Start(key_.public_key,
                                 [&out](std::span<const uint8_t> b) {
                                   out.insert(out.end(), b.begin(), b.end());
                                   return Status::Ok();
                                 });
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("a", std::string(2 * kChunkPlain, 'a')).ok());
  }
  EXPECT_EQ(out.size(), kHeader + 2 * kChunk);  // 7 bytes still buffered
  EXPECT_EQ(Open(out).code(), StatusCode::kDataLoss);
  ExpectNothingWritten("unfinished");
}

}  // namespace
}  // namespace tillit::research
