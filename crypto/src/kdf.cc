#include "tillit/crypto/kdf.h"

#include <sodium.h>

#include "sodium_runtime.h"

namespace tillit::crypto {

static_assert(kKdfMasterKeySize == crypto_kdf_KEYBYTES);
static_assert(kKdfContextSize == crypto_kdf_CONTEXTBYTES);
static_assert(kKdfMinSubkeySize == crypto_kdf_BYTES_MIN);
static_assert(kKdfMaxSubkeySize == crypto_kdf_BYTES_MAX);

std::string_view KdfContextLabel(KdfContext context) {
  switch (context) {
    case KdfContext::kRegistry:
      return "tlregist";
    case KdfContext::kAuditSigning:
      return "tlaudsig";
    case KdfContext::kAuditDatabase:
      return "tlauditd";
    case KdfContext::kPseudonyms:
      return "tlpseudo";
    case KdfContext::kTokens:
      return "tltokens";
    case KdfContext::kPatientIndex:
      return "tlpatidx";
    case KdfContext::kIdempotency:
      return "idempkey";
    case KdfContext::kStudyKeys:
      return "studykey";
    case KdfContext::kPrivacyLedger:
      return "tlprivcy";
    case KdfContext::kBackupSigning:
      return "tlbackup";
    case KdfContext::kWebPush:
      return "tlwebpsh";
    case KdfContext::kWebhookSigning:
      return "tlwebhok";
    case KdfContext::kSharedStore:
      return "tlshared";
  }
  return {};
}

StatusOr<SecretBytes> DeriveSubkey(const SecretBytes& master,
                                   uint64_t subkey_id, KdfContext kdf_context,
                                   size_t subkey_size) {
  const std::string_view context = KdfContextLabel(kdf_context);
  if (master.size() != kKdfMasterKeySize) {
    return Status::InvalidArgument("KDF master key must be 32 bytes");
  }
  if (context.size() != kKdfContextSize) {
    return Status::InvalidArgument("unknown KDF context");
  }
  if (subkey_size < kKdfMinSubkeySize || subkey_size > kKdfMaxSubkeySize) {
    return Status::InvalidArgument("KDF sub-key size must be 16 to 64 bytes");
  }
  internal::EnsureSodium();
  SecretBytes subkey = SecretBytes::Allocate(subkey_size);
  if (crypto_kdf_derive_from_key(subkey.ExposeSecret(), subkey.size(),
                                 subkey_id, context.data(),
                                 master.ExposeSecret()) != 0) {
    return Status::Internal("KDF failed");
  }
  return subkey;
}

}  // namespace tillit::crypto
