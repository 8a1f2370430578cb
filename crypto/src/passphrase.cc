#include "tillit/crypto/passphrase.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>
#include <vector>

#include "sodium_runtime.h"
#include "tillit/crypto/encoding.h"

namespace tillit::crypto {
namespace {

static_assert(sizeof(Argon2Params::salt) == crypto_pwhash_SALTBYTES);

constexpr size_t kMaxKeySize = 64;
constexpr std::string_view kAlgorithmTag = "argon2id13";

Status BadParams() {
  return Status::InvalidArgument("malformed Argon2 parameters");
}

bool CostInBounds(uint64_t opslimit, uint64_t memlimit) {
  return opslimit >= crypto_pwhash_OPSLIMIT_MIN &&
         opslimit <= crypto_pwhash_OPSLIMIT_MAX &&
         memlimit >= crypto_pwhash_MEMLIMIT_MIN &&
         memlimit <= crypto_pwhash_MEMLIMIT_MAX;
}

// Strips `prefix` from the front of `text`; false if it is not there.
bool ConsumePrefix(std::string_view* text, std::string_view prefix) {
  if (text->substr(0, prefix.size()) != prefix) return false;
  text->remove_prefix(prefix.size());
  return true;
}

// A canonical decimal: digits only, no leading zero, no overflow.
bool ParseDecimal(std::string_view text, uint64_t* out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// `text` cut at every '$'.
std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    const size_t dollar = text.find('$', start);
    if (dollar == std::string_view::npos) {
      fields.push_back(text.substr(start));
      return fields;
    }
    fields.push_back(text.substr(start, dollar - start));
    start = dollar + 1;
  }
}

}  // namespace

Argon2Params NewArgon2Params(Random& rng, uint64_t opslimit, size_t memlimit) {
  Argon2Params params{opslimit, memlimit, {}};
  rng.Fill(params.salt);
  return params;
}

Argon2Params TestingArgon2Params(Random& rng) {
  return NewArgon2Params(rng, crypto_pwhash_OPSLIMIT_MIN,
                         crypto_pwhash_MEMLIMIT_MIN);
}

StatusOr<SecretBytes> DeriveKeyFromPassphrase(const SecretBytes& passphrase,
                                              const Argon2Params& params,
                                              size_t key_size) {
  if (passphrase.empty()) {
    return Status::InvalidArgument("passphrase is empty");
  }
  if (passphrase.size() > kMaxPassphraseSize) {
    return Status::InvalidArgument("passphrase is longer than 4096 bytes");
  }
  if (!CostInBounds(params.opslimit, params.memlimit)) {
    return Status::InvalidArgument("Argon2 cost is out of bounds");
  }
  if (key_size < crypto_pwhash_BYTES_MIN || key_size > kMaxKeySize) {
    return Status::InvalidArgument("Argon2 key size must be 16 to 64 bytes");
  }
  internal::EnsureSodium();
  SecretBytes key = SecretBytes::Allocate(key_size);
  errno = 0;
  if (crypto_pwhash(key.ExposeSecret(), key.size(),
                    reinterpret_cast<const char*>(passphrase.ExposeSecret()),
                    passphrase.size(), params.salt.data(), params.opslimit,
                    params.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    if (errno == ENOMEM) {
      return Status::ResourceExhausted(
          "not enough memory for the Argon2 memory limit");
    }
    return Status::Internal("Argon2 failed");
  }
  return key;
}

std::string SerializeArgon2Params(const Argon2Params& params) {
  std::string out(kAlgorithmTag);
  out += "$ops=";
  out += std::to_string(params.opslimit);
  out += "$mem=";
  out += std::to_string(params.memlimit);
  out += "$salt=";
  out += Base64Encode(params.salt);
  return out;
}

StatusOr<Argon2Params> ParseArgon2Params(std::string_view text) {
  std::vector<std::string_view> fields = SplitFields(text);
  if (fields.size() != 4 || fields[0] != kAlgorithmTag) return BadParams();
  uint64_t opslimit = 0;
  uint64_t memlimit = 0;
  if (!ConsumePrefix(&fields[1], "ops=") ||
      !ParseDecimal(fields[1], &opslimit) ||
      !ConsumePrefix(&fields[2], "mem=") ||
      !ParseDecimal(fields[2], &memlimit) ||
      !ConsumePrefix(&fields[3], "salt=")) {
    return BadParams();
  }
  if (!CostInBounds(opslimit, memlimit)) {
    return Status::InvalidArgument("Argon2 cost is out of bounds");
  }
  StatusOr<std::vector<uint8_t>> salt = Base64Decode(fields[3]);
  if (!salt.ok() || salt->size() != crypto_pwhash_SALTBYTES) {
    return BadParams();
  }
  Argon2Params params{opslimit, static_cast<size_t>(memlimit), {}};
  std::copy(salt->begin(), salt->end(), params.salt.begin());
  return params;
}

}  // namespace tillit::crypto
