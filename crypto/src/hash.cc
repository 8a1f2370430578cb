#include "tillit/crypto/hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <array>
#include <cstdlib>
#include <string_view>

#include "sodium_runtime.h"

namespace tillit::crypto {

static_assert(sizeof(Digest) == SHA256_DIGEST_LENGTH);
static_assert(kKeyedHashMinKeySize == crypto_generichash_KEYBYTES_MIN);
static_assert(kKeyedHashMaxKeySize == crypto_generichash_KEYBYTES_MAX);
static_assert(kKeyedHashMinDigestSize == crypto_generichash_BYTES_MIN);
static_assert(kKeyedHashMaxDigestSize == crypto_generichash_BYTES_MAX);

namespace {

bool IsKeyedHashKeySize(size_t size) {
  return size >= kKeyedHashMinKeySize && size <= kKeyedHashMaxKeySize;
}

Status BadKeySize() {
  return Status::InvalidArgument("keyed hash key must be 16 to 64 bytes");
}

// Absorbs `field` as its length (8 bytes little-endian), then its bytes.
void AbsorbField(crypto_generichash_state& state, std::string_view field) {
  std::array<uint8_t, 8> length;
  const uint64_t n = field.size();
  for (size_t i = 0; i < length.size(); ++i) {
    length[i] = static_cast<uint8_t>(n >> (8 * i));
  }
  crypto_generichash_update(&state, length.data(), length.size());
  crypto_generichash_update(
      &state, reinterpret_cast<const uint8_t*>(field.data()), field.size());
}

// OpenSSL's SHA-256 fails only when it cannot allocate its context: a
// hash that silently came out wrong would be worse than stopping.
void Check(int ok) {
  if (ok != 1) std::abort();
}

// Fetched once (OpenSSL 3: an implicit fetch on every call costs more than
// hashing 64 bytes).
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();
    return fetched;
  }();
  return md;
}

EVP_MD_CTX* NewSha256Ctx() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) std::abort();
  Check(EVP_DigestInit_ex2(ctx, Sha256Md(), nullptr));
  return ctx;
}

}  // namespace

Digest Sha256(std::span<const uint8_t> data) {
  // A hasher per thread (Finish starts it again): one OpenSSL context per
  // thread, not one per hash.
  thread_local Sha256Hasher hasher;
  hasher.Update(data);
  return hasher.Finish();
}

Sha256Hasher::Sha256Hasher() : ctx_(NewSha256Ctx()) {}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_); }  // wipes its state

Sha256Hasher::Sha256Hasher(const Sha256Hasher& other) : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) std::abort();
  Check(EVP_MD_CTX_copy_ex(ctx_, other.ctx_));
}

Sha256Hasher& Sha256Hasher::operator=(const Sha256Hasher& other) {
  if (this != &other) Check(EVP_MD_CTX_copy_ex(ctx_, other.ctx_));
  return *this;
}

void Sha256Hasher::Update(std::span<const uint8_t> data) {
  if (data.empty()) return;
  Check(EVP_DigestUpdate(ctx_, data.data(), data.size()));
}

Digest Sha256Hasher::Finish() {
  Digest out;
  Check(EVP_DigestFinal_ex(ctx_, out.data(), nullptr));
  Check(EVP_DigestInit_ex2(ctx_, Sha256Md(), nullptr));
  return out;
}

StatusOr<Digest> KeyedHash(const SecretBytes& key,
                           std::span<const uint8_t> message) {
  if (!IsKeyedHashKeySize(key.size())) return BadKeySize();
  internal::EnsureSodium();
  Digest out;
  if (crypto_generichash(out.data(), out.size(), message.data(), message.size(),
                         key.ExposeSecret(), key.size()) != 0) {
    return Status::Internal("keyed hash failed");
  }
  return out;
}

StatusOr<SecretBytes> KeyedHashSecret(const SecretBytes& key,
                                      std::span<const uint8_t> message) {
  if (!IsKeyedHashKeySize(key.size())) return BadKeySize();
  internal::EnsureSodium();
  SecretBytes out = SecretBytes::Allocate(sizeof(Digest));
  if (crypto_generichash(out.ExposeSecret(), out.size(), message.data(),
                         message.size(), key.ExposeSecret(), key.size()) != 0) {
    return Status::Internal("keyed hash failed");
  }
  return out;
}

StatusOr<KeyedHasher> KeyedHasher::Create(SecretBytes key, size_t digest_size) {
  if (!IsKeyedHashKeySize(key.size())) return BadKeySize();
  if (digest_size < kKeyedHashMinDigestSize ||
      digest_size > kKeyedHashMaxDigestSize) {
    return Status::InvalidArgument("keyed hash digest must be 16 to 64 bytes");
  }
  internal::EnsureSodium();
  return KeyedHasher(std::make_shared<const SecretBytes>(std::move(key)),
                     digest_size);
}

std::vector<uint8_t> KeyedHasher::HashFields(
    std::initializer_list<std::string_view> fields) const {
  // The state holds values derived from the key: wiped before returning.
  crypto_generichash_state state;
  crypto_generichash_init(&state, key_->ExposeSecret(), key_->size(),
                          digest_size_);
  for (std::string_view field : fields) AbsorbField(state, field);
  std::vector<uint8_t> digest(digest_size_);
  crypto_generichash_final(&state, digest.data(), digest.size());
  sodium_memzero(&state, sizeof state);
  return digest;
}

}  // namespace tillit::crypto
