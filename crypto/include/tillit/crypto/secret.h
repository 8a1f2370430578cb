// SecretBytes: the one type that holds key material.
//
// Backed by sodium_malloc (guard pages, mlock'ed where the OS allows, wiped
// with sodium_memzero on free). Move-only; never printable; compared only in
// constant time. The raw bytes are reached through ExposeSecret() alone, so
// every place that touches key bytes can be found with
//   grep -rn ExposeSecret
//
// Thread-safety: const methods may be called concurrently; a SecretBytes
// must not be moved or destroyed while another thread reads it.
#ifndef TILLIT_CRYPTO_SECRET_H_
#define TILLIT_CRYPTO_SECRET_H_

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string_view>

namespace tillit::crypto {

class SecretBytes {
 public:
  SecretBytes() = default;  // empty
  // A zero-filled secret of `size` bytes. Throws std::bad_alloc when the
  // secure allocator is exhausted (there is no safe way to go on).
  static SecretBytes Allocate(size_t size);
  // Copies `bytes` into secure memory. The caller remains responsible for
  // wiping the source.
  static SecretBytes CopyFrom(std::span<const uint8_t> bytes);
  static SecretBytes CopyFrom(std::string_view bytes);

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  ~SecretBytes();

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The only access to the raw bytes.
  uint8_t* ExposeSecret() { return data_; }
  const uint8_t* ExposeSecret() const { return data_; }
  std::span<const uint8_t> ExposeSecretSpan() const { return {data_, size_}; }

  // An independent copy (also in secure memory).
  SecretBytes Clone() const;

  // Constant-time equality (sizes are compared first; sizes are public).
  bool Equals(const SecretBytes& other) const;

  // True when every byte is zero, in constant time (sodium_is_zero); true
  // for an empty secret. For refusing a key that a source left unfilled.
  bool IsAllZero() const;

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Secrets are never printed, logged or streamed.
std::ostream& operator<<(std::ostream&, const SecretBytes&) = delete;

// Overwrites `bytes` with zeros in a way the compiler may not drop
// (sodium_memzero): for plaintext or key-derived bytes that had to pass
// through ordinary memory.
void Wipe(std::span<uint8_t> bytes);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_SECRET_H_
