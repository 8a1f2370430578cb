#include "tillit/crypto/secretstream.h"

#include <sodium.h>

#include <algorithm>

#include "sodium_runtime.h"
#include "tillit/crypto/aead.h"

namespace tillit::crypto {
namespace {

using State = crypto_secretstream_xchacha20poly1305_state;

static_assert(kSecretStreamKeySize ==
              crypto_secretstream_xchacha20poly1305_KEYBYTES);
static_assert(kSecretStreamHeaderSize ==
              crypto_secretstream_xchacha20poly1305_HEADERBYTES);
static_assert(kSecretStreamChunkOverhead ==
              crypto_secretstream_xchacha20poly1305_ABYTES);
static_assert(static_cast<uint8_t>(SecretStreamTag::kMessage) ==
              crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
static_assert(static_cast<uint8_t>(SecretStreamTag::kPush) ==
              crypto_secretstream_xchacha20poly1305_TAG_PUSH);
static_assert(static_cast<uint8_t>(SecretStreamTag::kRekey) ==
              crypto_secretstream_xchacha20poly1305_TAG_REKEY);
static_assert(static_cast<uint8_t>(SecretStreamTag::kFinal) ==
              crypto_secretstream_xchacha20poly1305_TAG_FINAL);
constexpr uint64_t kMaxChunkPlaintext =
    crypto_secretstream_xchacha20poly1305_MESSAGEBYTES_MAX;
static_assert(alignof(State) == 1,
              "the stream state lives in unaligned secure memory");

// Stands in for the data pointer of an empty buffer, so libsodium never
// sees a null pointer.
constexpr uint8_t kNoBytes[1] = {0};

const uint8_t* DataOf(std::span<const uint8_t> bytes) {
  return bytes.empty() ? kNoBytes : bytes.data();
}

State* StateIn(SecretBytes& memory) {
  return reinterpret_cast<State*>(memory.ExposeSecret());
}

Status BadKeySize() {
  return Status::InvalidArgument("secret stream key must be 32 bytes");
}

}  // namespace

StatusOr<SecretStreamPusher> SecretStreamPusher::Create(
    const SecretBytes& key) {
  if (key.size() != kSecretStreamKeySize) return BadKeySize();
  internal::EnsureSodium();
  SecretBytes state = SecretBytes::Allocate(sizeof(State));
  SecretStreamHeader header;
  // The header comes from libsodium's CSPRNG; init_push cannot fail.
  crypto_secretstream_xchacha20poly1305_init_push(StateIn(state), header.data(),
                                                  key.ExposeSecret());
  return SecretStreamPusher(std::move(state), header);
}

StatusOr<std::span<const uint8_t>> SecretStreamPusher::Push(
    std::span<const uint8_t> plaintext,
    std::span<const uint8_t> associated_data, std::span<uint8_t> out) {
  return Seal(plaintext, associated_data, out, SecretStreamTag::kMessage);
}

StatusOr<std::span<const uint8_t>> SecretStreamPusher::PushFinal(
    std::span<const uint8_t> plaintext,
    std::span<const uint8_t> associated_data, std::span<uint8_t> out) {
  return Seal(plaintext, associated_data, out, SecretStreamTag::kFinal);
}

StatusOr<std::span<const uint8_t>> SecretStreamPusher::Seal(
    std::span<const uint8_t> plaintext,
    std::span<const uint8_t> associated_data, std::span<uint8_t> out,
    SecretStreamTag tag) {
  if (state_.empty()) {
    return Status::FailedPrecondition("secret stream pusher was moved from");
  }
  if (finished_) {
    return Status::FailedPrecondition("secret stream already finished");
  }
  if (plaintext.size() > kMaxChunkPlaintext ||
      out.size() < plaintext.size() + kSecretStreamChunkOverhead) {
    return Status::InvalidArgument(
        "secret stream chunk does not fit its output buffer");
  }
  unsigned long long written = 0;
  if (crypto_secretstream_xchacha20poly1305_push(
          StateIn(state_), out.data(), &written, DataOf(plaintext),
          plaintext.size(), DataOf(associated_data), associated_data.size(),
          static_cast<uint8_t>(tag)) != 0) {
    finished_ = true;  // no way on from a state libsodium refused
    return Status::Internal("secret stream push failed");
  }
  if (tag == SecretStreamTag::kFinal) finished_ = true;
  return std::span<const uint8_t>(out.data(), static_cast<size_t>(written));
}

StatusOr<SecretStreamPuller> SecretStreamPuller::Create(
    const SecretBytes& key, std::span<const uint8_t> header) {
  if (key.size() != kSecretStreamKeySize) return BadKeySize();
  if (header.size() != kSecretStreamHeaderSize) {
    return Status::InvalidArgument("secret stream header must be 24 bytes");
  }
  internal::EnsureSodium();
  SecretBytes state = SecretBytes::Allocate(sizeof(State));
  if (crypto_secretstream_xchacha20poly1305_init_pull(
          StateIn(state), header.data(), key.ExposeSecret()) != 0) {
    return DecryptionFailed();
  }
  return SecretStreamPuller(std::move(state));
}

StatusOr<PulledChunk> SecretStreamPuller::Pull(
    std::span<const uint8_t> chunk, std::span<const uint8_t> associated_data,
    std::span<uint8_t> out) {
  if (state_.empty()) {
    return Status::FailedPrecondition("secret stream puller was moved from");
  }
  if (ended_) {
    return Status::FailedPrecondition("secret stream already ended");
  }
  if (failed_) return DecryptionFailed();
  if (chunk.size() < kSecretStreamChunkOverhead) {
    failed_ = true;
    return DecryptionFailed();
  }
  if (out.size() < chunk.size() - kSecretStreamChunkOverhead) {
    return Status::InvalidArgument(
        "secret stream chunk does not fit its output buffer");
  }
  uint8_t scratch[1];
  uint8_t* plain = out.empty() ? scratch : out.data();
  unsigned long long size = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(
          StateIn(state_), plain, &size, &tag, chunk.data(), chunk.size(),
          DataOf(associated_data), associated_data.size()) != 0) {
    failed_ = true;
    return DecryptionFailed();
  }
  PulledChunk pulled;
  pulled.plaintext = std::span<const uint8_t>(out.data(), size);
  pulled.tag = static_cast<SecretStreamTag>(tag);
  if (pulled.tag == SecretStreamTag::kFinal) ended_ = true;
  return pulled;
}

}  // namespace tillit::crypto
