// AuditEntry: one access or change, in a canonical serialisation.
//
// Entries never contain health data or secrets: every field is an id, a
// short code or a category name, checked against a narrow alphabet when the
// entry is serialised, so free text cannot slip in. The canonical form is
// JSON with keys in sorted order and no white space; its bytes are what the
// Merkle tree hashes (leaf = SHA-256(0x00 || canonical bytes)).
//
// Thread-safety: values; functions are pure.
#ifndef TILLIT_AUDIT_ENTRY_H_
#define TILLIT_AUDIT_ENTRY_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/base/status.h"

namespace tillit::audit {

struct AuditEntry {
  int64_t time = 0;        // seconds since the epoch, UTC
  std::string actor_kind;  // citizen, provider, researcher, auditor, operator,
                           // system
  std::string actor_id;  // c_…, p_…, r_…, a_…, or "operator" / "system"
  std::string action;    // e.g. "records.import", "consent.grant"
  std::string citizen_id;               // the citizen concerned, or empty
  std::vector<std::string> categories;  // SPEC §3 category names
  std::string purpose;                  // DUO id, or empty
  std::string study_id;                 // s_…, or empty
  std::vector<std::string> grant_ids;   // g_…
  std::string decision;                 // "permit", "deny" or "none"
  std::string request_id;               // the request that caused it
  // The paired device (d_…) whose signature made the request, or empty (a
  // bearer token, or the server itself). Entry format 2: the canonical form
  // has the key "via" only when this is set, so every entry written before
  // it existed keeps its bytes and still verifies.
  std::string via;
};

// SPEC §13's "on_behalf_of" of an entry: when a citizen acted for another
// (a proxy or guardian), the citizen the entry is about; empty otherwise.
// The API adds it beside "actor" (not hashed); readers check it with this.
std::string OnBehalfOf(const AuditEntry& entry);

// The canonical bytes; InvalidArgument (naming the field) when a field is
// outside its alphabet or length (ids and codes: [A-Za-z0-9_.:/-], at most
// 128 bytes; at most 16 categories and 64 grant ids). "via" is written only
// when set.
StatusOr<std::string> CanonicalEntry(const AuditEntry& entry);
// Parses canonical bytes (as stored), with or without "via"; DataLoss if
// they are not canonical.
StatusOr<AuditEntry> ParseCanonicalEntry(std::string_view bytes);

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_ENTRY_H_
