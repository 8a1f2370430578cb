// Secret streams: a long message sealed as a sequence of chunks under one
// symmetric key (libsodium crypto_secretstream_xchacha20poly1305), for
// data too large to hold in memory at once (sealed research releases).
//
// Each chunk is authenticated together with its position in the stream,
// so chunks cannot be dropped, reordered, duplicated or moved to another
// stream, and with the caller's associated data. The last chunk is tagged
// final: a stream whose final chunk never arrives is truncated.
//
// The caller never chooses a nonce: SecretStreamPusher draws the stream
// header from libsodium's CSPRNG and keeps the per-chunk state (which holds
// a key derived from the stream key) in secure memory. The wire form is
// libsodium's, unchanged: the 24-byte header, then each chunk as its
// plaintext size + kSecretStreamChunkOverhead bytes.
//
// A failed chunk stops a SecretStreamPuller for good: every later Pull
// fails the same way, so a caller cannot skip over an altered chunk.
//
// Thread-safety: a pusher or puller is used by one thread at a time.
#ifndef TILLIT_CRYPTO_SECRETSTREAM_H_
#define TILLIT_CRYPTO_SECRETSTREAM_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>

#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

inline constexpr size_t kSecretStreamKeySize = 32;
inline constexpr size_t kSecretStreamHeaderSize = 24;
// A chunk is its plaintext size + kSecretStreamChunkOverhead bytes.
inline constexpr size_t kSecretStreamChunkOverhead = 17;

// The tag a chunk carries (libsodium's values). A pusher makes only
// kMessage and kFinal; a puller also reports kPush and kRekey, which other
// libsodium writers may make, so that its caller can refuse them.
enum class SecretStreamTag : uint8_t {
  kMessage = 0,
  kPush = 1,
  kRekey = 2,
  kFinal = 3,
};

using SecretStreamHeader = std::array<uint8_t, kSecretStreamHeaderSize>;

class SecretStreamPusher {
 public:
  // Starts a stream under `key` with a fresh random header.
  // InvalidArgument unless key.size() == kSecretStreamKeySize.
  static StatusOr<SecretStreamPusher> Create(const SecretBytes& key);

  SecretStreamPusher(const SecretStreamPusher&) = delete;
  SecretStreamPusher& operator=(const SecretStreamPusher&) = delete;
  SecretStreamPusher(SecretStreamPusher&&) noexcept = default;
  SecretStreamPusher& operator=(SecretStreamPusher&&) noexcept = default;
  ~SecretStreamPusher() = default;

  // What the reader needs, besides the key, to open the stream: send it
  // before the first chunk.
  const SecretStreamHeader& header() const { return header_; }

  // Seals `plaintext` bound to `associated_data` as the next chunk, into
  // the front of `out`; returns the chunk (plaintext.size() +
  // kSecretStreamChunkOverhead bytes of `out`). PushFinal seals the last
  // chunk; nothing may follow it. InvalidArgument if `out` is too small or
  // `plaintext` larger than libsodium allows (about 256 GiB; nothing is
  // consumed then); FailedPrecondition after PushFinal or on a moved-from
  // pusher.
  StatusOr<std::span<const uint8_t>> Push(
      std::span<const uint8_t> plaintext,
      std::span<const uint8_t> associated_data, std::span<uint8_t> out);
  StatusOr<std::span<const uint8_t>> PushFinal(
      std::span<const uint8_t> plaintext,
      std::span<const uint8_t> associated_data, std::span<uint8_t> out);

 private:
  SecretStreamPusher(SecretBytes state, const SecretStreamHeader& header)
      : state_(std::move(state)), header_(header) {}

  StatusOr<std::span<const uint8_t>> Seal(
      std::span<const uint8_t> plaintext,
      std::span<const uint8_t> associated_data, std::span<uint8_t> out,
      SecretStreamTag tag);

  SecretBytes state_;  // crypto_secretstream_xchacha20poly1305_state
  SecretStreamHeader header_;
  bool finished_ = false;
};

// One chunk opened by SecretStreamPuller::Pull.
struct PulledChunk {
  std::span<const uint8_t> plaintext;  // the front of Pull's `out`
  SecretStreamTag tag = SecretStreamTag::kMessage;
};

class SecretStreamPuller {
 public:
  // Starts reading the stream that `header` opens under `key`.
  // InvalidArgument unless key.size() == kSecretStreamKeySize and
  // header.size() == kSecretStreamHeaderSize.
  static StatusOr<SecretStreamPuller> Create(const SecretBytes& key,
                                             std::span<const uint8_t> header);

  SecretStreamPuller(const SecretStreamPuller&) = delete;
  SecretStreamPuller& operator=(const SecretStreamPuller&) = delete;
  SecretStreamPuller(SecretStreamPuller&&) noexcept = default;
  SecretStreamPuller& operator=(SecretStreamPuller&&) noexcept = default;
  ~SecretStreamPuller() = default;

  // Opens `chunk`, the next chunk of the stream, sealed with
  // `associated_data`, into the front of `out`. DecryptionFailed() (DataLoss
  // "decryption failed") for a chunk that is altered, truncated, out of
  // order, from another stream or bound to other associated data, and for
  // every Pull after that; InvalidArgument if `out` is smaller than
  // chunk.size() - kSecretStreamChunkOverhead (nothing is consumed then);
  // FailedPrecondition after a kFinal chunk or on a moved-from puller.
  StatusOr<PulledChunk> Pull(std::span<const uint8_t> chunk,
                             std::span<const uint8_t> associated_data,
                             std::span<uint8_t> out);

 private:
  explicit SecretStreamPuller(SecretBytes state) : state_(std::move(state)) {}

  SecretBytes state_;  // crypto_secretstream_xchacha20poly1305_state
  bool ended_ = false;
  bool failed_ = false;
};

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_SECRETSTREAM_H_
