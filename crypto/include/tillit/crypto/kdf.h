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

#include "tillit/base/status.h"
#include "tillit/crypto/secret.h"

namespace tillit::crypto {

// Every purpose tillit derives a key for, in one typed list: no call site
// invents a context string. Each names a fixed 8-character libsodium
// context (KdfContextLabel); never reuse one for another purpose, and never
// change a label (stored data is keyed by it): add a new value instead.
enum class KdfContext {
  kRegistry,        // "tlregist": wraps the citizens' data keys in the registry
  kAuditSigning,    // "tlaudsig": the Ed25519 seed that signs checkpoints
  kAuditDatabase,   // "tlauditd": the audit log's SQLCipher key
  kPseudonyms,      // "tlpseudo": reserved for pseudonym keys
  kTokens,          // "tltokens": the hashes under which tokens are stored
  kPatientIndex,    // "tlpatidx": the hashes in the consent index
  kIdempotency,     // "idempkey": record ids from Idempotency-Key headers
  kStudyKeys,       // "studykey": the per-study pseudonymisation keys
  kPrivacyLedger,   // "tlprivcy": the privacy-budget ledger's SQLCipher key
  kBackupSigning,   // "tlbackup": the Ed25519 seed that signs backup manifests
  kWebPush,         // "tlwebpsh": the P-256 key that identifies the server to
                    // push services (VAPID)
  kWebhookSigning,  // "tlwebhok": the Ed25519 seed that signs webhooks
  kSharedStore,     // "tlshared": the keys of a shared (PostgreSQL) store's
                    // sealed rows: 1 the consent index, 2 the audit log,
                    // 3 the privacy ledger
};
inline constexpr KdfContext kContextRegistry = KdfContext::kRegistry;
inline constexpr KdfContext kContextAuditSigning = KdfContext::kAuditSigning;
inline constexpr KdfContext kContextPseudonyms = KdfContext::kPseudonyms;
inline constexpr KdfContext kContextTokens = KdfContext::kTokens;
inline constexpr KdfContext kContextPatientIndex = KdfContext::kPatientIndex;

// The 8-character libsodium context of `context`; empty for a value
// outside the enumeration.
std::string_view KdfContextLabel(KdfContext context);

// Size bounds, in bytes.
inline constexpr size_t kKdfMasterKeySize = 32;  // crypto_kdf_KEYBYTES
inline constexpr size_t kKdfContextSize = 8;     // crypto_kdf_CONTEXTBYTES
inline constexpr size_t kKdfMinSubkeySize = 16;  // crypto_kdf_BYTES_MIN
inline constexpr size_t kKdfMaxSubkeySize = 64;  // crypto_kdf_BYTES_MAX

// The sub-key number `subkey_id` of `master` for `context`.
// InvalidArgument unless master.size() == kKdfMasterKeySize, `context` is
// one of KdfContext's values and kKdfMinSubkeySize <= subkey_size <=
// kKdfMaxSubkeySize.
StatusOr<SecretBytes> DeriveSubkey(const SecretBytes& master,
                                   uint64_t subkey_id, KdfContext context,
                                   size_t subkey_size = 32);

// Something that holds a master key and derives sub-keys from it (the
// vault). Libraries that need a key of their own take a KeyDeriver, not the
// vault. Thread-safety: implementations are safe from any thread.
class KeyDeriver {
 public:
  virtual ~KeyDeriver() = default;
  // The 32-byte sub-key number `id` for `context`.
  virtual StatusOr<SecretBytes> DeriveKey(KdfContext context,
                                          uint64_t id) const = 0;
};

}  // namespace tillit::crypto

#endif  // TILLIT_CRYPTO_KDF_H_
