#include "tillit/crypto/secretstream.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tillit/crypto/encoding.h"
#include "tillit/crypto/random.h"

namespace tillit::crypto {
namespace {

static_assert(!std::is_copy_constructible_v<SecretStreamPusher>);
static_assert(std::is_move_constructible_v<SecretStreamPusher>);
static_assert(!std::is_copy_constructible_v<SecretStreamPuller>);
static_assert(std::is_move_constructible_v<SecretStreamPuller>);

using Bytes = std::vector<uint8_t>;

constexpr std::string_view kAd = "tillit/test/v1";

Bytes Hex(std::string_view text) { return *HexDecode(text); }

std::string Text(std::span<const uint8_t> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

SecretBytes CountingKey() {
  SecretBytes key = SecretBytes::Allocate(kSecretStreamKeySize);
  for (size_t i = 0; i < key.size(); ++i) {
    key.ExposeSecret()[i] = static_cast<uint8_t>(i);
  }
  return key;
}

struct Stream {
  SecretStreamHeader header;
  std::vector<Bytes> chunks;
};

// Pushes `messages`, the last one as the final chunk.
Stream PushAll(const SecretBytes& key, const std::vector<std::string>& messages,
               std::string_view ad = kAd) {
  StatusOr<SecretStreamPusher> pusher = SecretStreamPusher::Create(key);
  EXPECT_TRUE(pusher.ok());
  Stream stream{pusher->header(), {}};
  for (size_t i = 0; i < messages.size(); ++i) {
    Bytes out(messages[i].size() + kSecretStreamChunkOverhead);
    auto chunk = i + 1 == messages.size()
                     ? pusher->PushFinal(AsBytes(messages[i]), AsBytes(ad), out)
                     : pusher->Push(AsBytes(messages[i]), AsBytes(ad), out);
    EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
    EXPECT_EQ(chunk->data(), out.data());
    EXPECT_EQ(chunk->size(), out.size());
    stream.chunks.push_back(out);
  }
  return stream;
}

SecretStreamPuller PullerFor(const SecretBytes& key,
                             std::span<const uint8_t> header) {
  StatusOr<SecretStreamPuller> puller = SecretStreamPuller::Create(key, header);
  EXPECT_TRUE(puller.ok()) << puller.status().ToString();
  return std::move(puller).value();
}

StatusOr<PulledChunk> PullInto(SecretStreamPuller& puller, const Bytes& chunk,
                               Bytes& out, std::string_view ad = kAd) {
  out.assign(chunk.size() < kSecretStreamChunkOverhead
                 ? 0
                 : chunk.size() - kSecretStreamChunkOverhead,
             0);
  return puller.Pull(chunk, AsBytes(ad), out);
}

void ExpectDecryptionFailed(const StatusOr<PulledChunk>& pulled) {
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(pulled.status().message(), "decryption failed");
}

// Pulls every chunk of `stream`; the plaintexts, or the first failure.
StatusOr<std::vector<std::string>> PullAll(const SecretBytes& key,
                                           const Stream& stream,
                                           std::string_view ad = kAd) {
  SecretStreamPuller puller = PullerFor(key, stream.header);
  std::vector<std::string> messages;
  Bytes out;
  for (const Bytes& chunk : stream.chunks) {
    StatusOr<PulledChunk> pulled = PullInto(puller, chunk, out, ad);
    if (!pulled.ok()) return pulled.status();
    messages.push_back(Text(pulled->plaintext));
  }
  return messages;
}

// A stream libsodium 1.0.18 made under CountingKey() with kAd: "first
// chunk" and "" tagged MESSAGE, then "last" tagged FINAL.
Stream LibsodiumStream() {
  Stream s;
  const Bytes header = Hex("e31c256ca825424781c8796ecbd9b303dcb9aa959a704d62");
  std::copy(header.begin(), header.end(), s.header.begin());
  s.chunks = {
      Hex("d5d8c14c43b130dfb255c0deae9412c87558fe14c3e77c2bf70c058c"),
      Hex("b3a7306b4b339697b62982a060cead92c9"),
      Hex("f9cefa53e2232e3ad94a8c28601b040ad58c32910b"),
  };
  return s;
}

TEST(SecretStreamTest, OpensAStreamLibsodiumMade) {
  const Stream stream = LibsodiumStream();
  SecretStreamPuller puller = PullerFor(CountingKey(), stream.header);
  Bytes out;
  const std::vector<std::pair<std::string, SecretStreamTag>> expected = {
      {"first chunk", SecretStreamTag::kMessage},
      {"", SecretStreamTag::kMessage},
      {"last", SecretStreamTag::kFinal}};
  for (size_t i = 0; i < expected.size(); ++i) {
    StatusOr<PulledChunk> pulled = PullInto(puller, stream.chunks[i], out);
    ASSERT_TRUE(pulled.ok()) << i;
    EXPECT_EQ(Text(pulled->plaintext), expected[i].first);
    EXPECT_EQ(pulled->tag, expected[i].second);
  }
}

TEST(SecretStreamTest, RoundTrips) {
  const SecretBytes key = Random::System().Secret(kSecretStreamKeySize);
  const std::vector<std::string> messages = {"a", "", std::string(70000, 'x'),
                                             "the end"};
  const Stream stream = PushAll(key, messages);
  ASSERT_EQ(stream.chunks.size(), messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ(stream.chunks[i].size(),
              messages[i].size() + kSecretStreamChunkOverhead);
  }
  StatusOr<std::vector<std::string>> pulled = PullAll(key, stream);
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*pulled, messages);
  // An empty stream is one empty final chunk.
  EXPECT_EQ(*PullAll(key, PushAll(key, {""})), std::vector<std::string>{""});
}

TEST(SecretStreamTest, TagsReportMessageThenFinal) {
  const SecretBytes key = CountingKey();
  const Stream stream = PushAll(key, {"one", "two"});
  SecretStreamPuller puller = PullerFor(key, stream.header);
  Bytes out;
  EXPECT_EQ(PullInto(puller, stream.chunks[0], out)->tag,
            SecretStreamTag::kMessage);
  EXPECT_EQ(PullInto(puller, stream.chunks[1], out)->tag,
            SecretStreamTag::kFinal);
}

TEST(SecretStreamTest, EveryStreamHasItsOwnHeader) {
  const SecretBytes key = CountingKey();
  const Stream a = PushAll(key, {"same"});
  const Stream b = PushAll(key, {"same"});
  EXPECT_NE(a.header, b.header);
  EXPECT_NE(a.chunks, b.chunks);
}

TEST(SecretStreamTest, LibsodiumOpensWhatThePusherMakes) {
  const SecretBytes key = CountingKey();
  const Stream stream = PushAll(key, {"hello", "world"});
  crypto_secretstream_xchacha20poly1305_state state;
  ASSERT_EQ(crypto_secretstream_xchacha20poly1305_init_pull(
                &state, stream.header.data(), key.ExposeSecret()),
            0);
  const std::vector<std::pair<std::string, unsigned char>> expected = {
      {"hello", crypto_secretstream_xchacha20poly1305_TAG_MESSAGE},
      {"world", crypto_secretstream_xchacha20poly1305_TAG_FINAL}};
  for (size_t i = 0; i < expected.size(); ++i) {
    Bytes plain(stream.chunks[i].size());
    unsigned long long size = 0;
    unsigned char tag = 0xff;
    ASSERT_EQ(crypto_secretstream_xchacha20poly1305_pull(
                  &state, plain.data(), &size, &tag, stream.chunks[i].data(),
                  stream.chunks[i].size(), AsBytes(kAd).data(), kAd.size()),
              0);
    EXPECT_EQ(Text({plain.data(), size}), expected[i].first);
    EXPECT_EQ(tag, expected[i].second);
  }
}

TEST(SecretStreamTest, PullerReportsTagsOtherWritersUse) {
  const SecretBytes key = CountingKey();
  crypto_secretstream_xchacha20poly1305_state state;
  SecretStreamHeader header;
  crypto_secretstream_xchacha20poly1305_init_push(&state, header.data(),
                                                  key.ExposeSecret());
  SecretStreamPuller puller = PullerFor(key, header);
  for (auto [tag, expected] :
       {std::pair{crypto_secretstream_xchacha20poly1305_TAG_PUSH,
                  SecretStreamTag::kPush},
        std::pair{crypto_secretstream_xchacha20poly1305_TAG_REKEY,
                  SecretStreamTag::kRekey},
        std::pair{crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
                  SecretStreamTag::kMessage},
        std::pair{crypto_secretstream_xchacha20poly1305_TAG_FINAL,
                  SecretStreamTag::kFinal}}) {
    Bytes chunk(3 + kSecretStreamChunkOverhead);
    ASSERT_EQ(crypto_secretstream_xchacha20poly1305_push(
                  &state, chunk.data(), nullptr, AsBytes("abc").data(), 3,
                  AsBytes(kAd).data(), kAd.size(), tag),
              0);
    Bytes out;
    StatusOr<PulledChunk> pulled = PullInto(puller, chunk, out);
    ASSERT_TRUE(pulled.ok()) << static_cast<int>(tag);
    EXPECT_EQ(pulled->tag, expected);
    EXPECT_EQ(Text(pulled->plaintext), "abc");
  }
}

TEST(SecretStreamTest, WrongKeySizeIsInvalidArgument) {
  const SecretStreamHeader header{};
  for (size_t n : {0u, 16u, 31u, 33u, 64u}) {
    const SecretBytes key = SecretBytes::Allocate(n);
    EXPECT_EQ(SecretStreamPusher::Create(key).status().code(),
              StatusCode::kInvalidArgument)
        << n;
    EXPECT_EQ(SecretStreamPuller::Create(key, header).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(SecretStreamTest, WrongHeaderSizeIsInvalidArgument) {
  const SecretBytes key = CountingKey();
  for (size_t n : {0u, 23u, 25u, 48u}) {
    const Bytes header(n, 7);
    EXPECT_EQ(SecretStreamPuller::Create(key, header).status().code(),
              StatusCode::kInvalidArgument)
        << n;
  }
}

TEST(SecretStreamTest, AlteredChunkFailsAndStopsThePuller) {
  const SecretBytes key = CountingKey();
  const Stream stream = LibsodiumStream();
  for (size_t i = 0; i < stream.chunks[0].size(); ++i) {
    Bytes bad = stream.chunks[0];
    bad[i] ^= 0x01;
    SecretStreamPuller puller = PullerFor(key, stream.header);
    Bytes out;
    ExpectDecryptionFailed(PullInto(puller, bad, out));
    // The genuine chunk does not open either once one has failed.
    ExpectDecryptionFailed(PullInto(puller, stream.chunks[0], out));
  }
}

TEST(SecretStreamTest, TruncatedChunkFails) {
  const SecretBytes key = CountingKey();
  const Stream stream = LibsodiumStream();
  const Bytes& chunk = stream.chunks[0];
  for (size_t n = 0; n < chunk.size(); ++n) {
    SecretStreamPuller puller = PullerFor(key, stream.header);
    Bytes out;
    ExpectDecryptionFailed(
        PullInto(puller, Bytes(chunk.begin(), chunk.begin() + n), out));
  }
  Bytes extended = chunk;
  extended.push_back(0);
  SecretStreamPuller puller = PullerFor(key, stream.header);
  Bytes out;
  ExpectDecryptionFailed(PullInto(puller, extended, out));
}

TEST(SecretStreamTest, ReorderedDroppedOrRepeatedChunksFail) {
  const SecretBytes key = CountingKey();
  const Stream stream = LibsodiumStream();
  for (const std::vector<size_t>& order :
       {std::vector<size_t>{1, 0, 2}, {0, 2}, {2}, {0, 0}, {1}}) {
    Stream altered{stream.header, {}};
    for (size_t i : order) altered.chunks.push_back(stream.chunks[i]);
    StatusOr<std::vector<std::string>> pulled = PullAll(key, altered);
    ASSERT_FALSE(pulled.ok());
    EXPECT_EQ(pulled.status().code(), StatusCode::kDataLoss);
  }
}

TEST(SecretStreamTest, WrongKeyHeaderOrAssociatedDataFails) {
  const SecretBytes key = CountingKey();
  const Stream stream = LibsodiumStream();
  const SecretBytes other_key = Random::System().Secret(kSecretStreamKeySize);
  EXPECT_EQ(PullAll(other_key, stream).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(PullAll(key, stream, "tillit/test/v2").status().code(),
            StatusCode::kDataLoss);
  Stream other_header = stream;
  other_header.header = PushAll(key, {"x"}).header;
  EXPECT_EQ(PullAll(key, other_header).status().code(), StatusCode::kDataLoss);
}

TEST(SecretStreamTest, NothingAfterTheFinalChunk) {
  const SecretBytes key = CountingKey();
  const Stream stream = LibsodiumStream();
  SecretStreamPuller puller = PullerFor(key, stream.header);
  Bytes out;
  for (const Bytes& chunk : stream.chunks) {
    ASSERT_TRUE(PullInto(puller, chunk, out).ok());
  }
  EXPECT_EQ(PullInto(puller, stream.chunks[0], out).status().code(),
            StatusCode::kFailedPrecondition);

  StatusOr<SecretStreamPusher> pusher = SecretStreamPusher::Create(key);
  ASSERT_TRUE(pusher.ok());
  Bytes chunk(kSecretStreamChunkOverhead + 1);
  ASSERT_TRUE(pusher->PushFinal(AsBytes("x"), AsBytes(kAd), chunk).ok());
  EXPECT_EQ(pusher->Push(AsBytes("y"), AsBytes(kAd), chunk).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      pusher->PushFinal(AsBytes("y"), AsBytes(kAd), chunk).status().code(),
      StatusCode::kFailedPrecondition);
}

TEST(SecretStreamTest, SmallOutputBufferIsInvalidArgumentAndConsumesNothing) {
  const SecretBytes key = CountingKey();
  StatusOr<SecretStreamPusher> pusher = SecretStreamPusher::Create(key);
  ASSERT_TRUE(pusher.ok());
  Bytes small(kSecretStreamChunkOverhead + 4);
  EXPECT_EQ(pusher->Push(AsBytes("hello"), AsBytes(kAd), small).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      pusher->PushFinal(AsBytes("hello"), AsBytes(kAd), small).status().code(),
      StatusCode::kInvalidArgument);
  Bytes chunk(kSecretStreamChunkOverhead + 5);
  ASSERT_TRUE(pusher->PushFinal(AsBytes("hello"), AsBytes(kAd), chunk).ok());

  SecretStreamPuller puller = PullerFor(key, pusher->header());
  Bytes too_small(4);
  EXPECT_EQ(puller.Pull(chunk, AsBytes(kAd), too_small).status().code(),
            StatusCode::kInvalidArgument);
  Bytes out;
  StatusOr<PulledChunk> pulled = PullInto(puller, chunk, out);
  ASSERT_TRUE(pulled.ok());
  EXPECT_EQ(Text(pulled->plaintext), "hello");
}

TEST(SecretStreamTest, MovedFromObjectsRefuseWork) {
  const SecretBytes key = CountingKey();
  StatusOr<SecretStreamPusher> pusher = SecretStreamPusher::Create(key);
  ASSERT_TRUE(pusher.ok());
  SecretStreamPusher moved = std::move(pusher).value();
  Bytes chunk(kSecretStreamChunkOverhead + 1);
  // NOLINTNEXTLINE(bugprone-use-after-move): the contract under test
  EXPECT_EQ(pusher->Push(AsBytes("x"), AsBytes(kAd), chunk).status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(moved.PushFinal(AsBytes("x"), AsBytes(kAd), chunk).ok());

  SecretStreamPuller puller = PullerFor(key, moved.header());
  SecretStreamPuller taken = std::move(puller);
  Bytes out;
  // NOLINTNEXTLINE(bugprone-use-after-move): the contract under test
  EXPECT_EQ(PullInto(puller, chunk, out).status().code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(PullInto(taken, chunk, out).ok());
  EXPECT_EQ(Text(out), "x");
}

}  // namespace
}  // namespace tillit::crypto
