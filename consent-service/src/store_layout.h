// Internal to consent-service/: where a citizen's consent lives. Documents
// in the citizen's store are named by kind and key; the registry's consent
// index holds, per citizen, one row per active grant (keyed by grant id)
// and an opt-out row. Not a public header.
#ifndef TILLIT_CONSENT_SERVICE_SRC_STORE_LAYOUT_H_
#define TILLIT_CONSENT_SERVICE_SRC_STORE_LAYOUT_H_

#include <string_view>

namespace tillit::consent::service_internal {

// Document kinds in the citizen store.
inline constexpr std::string_view kGrantKind = "grant";      // key: grant id
inline constexpr std::string_view kSettingKind = "setting";  // keys below
inline constexpr std::string_view kBreakGlassKind = "break-glass";  // bg_…

// Keys of "setting" documents; kOptOutKey is also the key of the opt-out
// row in the consent index (value "true").
inline constexpr std::string_view kOptOutKey = "opt-out";
inline constexpr std::string_view kRestrictionsKey = "restrictions";
// Value "true" while the citizen opts out of primary use (EHDS Art 10);
// only in the store: provider decisions read the citizen's own policy.
inline constexpr std::string_view kPrimaryOptOutKey = "primary-use-opt-out";

// The kind of the consent index in the registry (vault::Vault::ReadIndex).
inline constexpr std::string_view kIndexKind = "consent";

}  // namespace tillit::consent::service_internal

#endif  // TILLIT_CONSENT_SERVICE_SRC_STORE_LAYOUT_H_
