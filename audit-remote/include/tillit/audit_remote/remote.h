// Verification of a log served by a tillit server (`tillit audit verify
// --url`), with the same checks as the offline verifier.
//
// The server routes used (SPEC §7): GET /v1/audit/public-key (the C2SP
// verifier key, text), GET /v1/audit/checkpoint (the latest signed note,
// text), GET /v1/audit/entries?after=&limit= (entries in index order after
// `after`, each the canonical entry's fields plus "index" and "actor" (a
// copy of actor_id, checked against it); `next` is the last index
// returned, or null at the end).
//
// Thread-safety: stateless functions.
#ifndef TILLIT_AUDIT_REMOTE_REMOTE_H_
#define TILLIT_AUDIT_REMOTE_REMOTE_H_

#include <string>

#include "tillit/audit/audit_log.h"
#include "tillit/base/status.h"

namespace tillit::audit {

// The JSON object of one entry as GET /v1/audit/entries returns it.
std::string EntryToApiJson(const StoredEntry& entry);

struct RemoteVerifyOptions {
  std::string url;    // http://host:port (https with TLS)
  std::string token;  // bearer token of an auditor
  // The verifier key to trust ("name+keyid+base64"); empty: the server's,
  // on first use (then the signature only proves the server is consistent).
  std::string pinned_key;
  std::string saved_note;  // a checkpoint saved earlier, or empty
  int timeout_seconds = 30;
};

// Fetches every entry and the latest checkpoint, recomputes the tree and
// checks the signature, the root, contiguous indexes and (with a saved
// note) consistency with it. Transport and HTTP errors are Status errors;
// a log that does not verify is a report with ok == false.
StatusOr<VerifyReport> VerifyRemoteLog(const RemoteVerifyOptions& options);

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_REMOTE_REMOTE_H_
