// Sub-key derivation from the root key (libsodium crypto_kdf, BLAKE2b).
//
// Each purpose gets its own 8-character context, so a key derived for one
// purpose is unrelated to the key for any other; within a context,
// `subkey_id` numbers independent keys (for example key versions).
//
// Thread-safety: pure; callable from any thread.
#ifndef TILLIT_CRYPTO_KDF_H_
#define TILLIT_CRYPTO_KDF_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tillit/crypto/secret.h"
#include "tillit/crypto/status.h"

namespace tillit::crypto {

// The contexts tillit derives keys for. Never reuse one for another purpose;
// add a new constant instead.
// Wraps the citizens' data keys in the registry.
inline constexpr std::string_view kContextRegistry = "tlregist";
// The Ed25519 seed that signs audit-log checkpoints.
inline constexpr std::string_view kContextAuditSigning = "tlaudsig";
// Keys the pseudonyms given to researchers.
inline constexpr std::string_view kContextPseudonyms = "tlpseudo";
// Keys the hashes under which access tokens are stored.
inline constexpr std::string_view kContextTokens = "tltokens";
// Keys the hashes in the cohort-matching consent index.
inline constexpr std::string_view kContextPatientIndex = "tlpatidx";

// Size bounds, in bytes.
inline constexpr size_t kKdfMasterKeySize = 32;  // crypto_kdf_KEYBYTES
inline constexpr size_t kKdfContextSize = 8;     // crypto_kdf_CONTEXTBYTES
inline constexpr size_t kKdfMinSubkeySize = 16;  // crypto_kdf_BYTES_MIN
inline constexpr size_t kKdfMaxSubkeySize = 64;  // crypto_kdf_BYTES_MAX

// The sub-key number `subkey_id` of `master` for `context`.
// InvalidArgument unless master.size() == kKdfMasterKeySize,
// context.size() == kKdfContextSize and kKdfMinSubkeySize <= subkey_size <=
// kKdfMaxSubkeySize.
StatusOr<SecretBytes> DeriveSubkey(const SecretBytes& master,
                                   uint64_t subkey_id, std::string_view context,
                                   size_t subkey_size = 32);

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_KDF_H_
