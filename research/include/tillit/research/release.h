// Research releases (SPEC §5 step 4): for every citizen whose full policy
// permits the study, only the permitted records (categories, data period,
// excludes and sensitivity of the permitting grants), filtered by the
// study's cohort criteria on those records alone, de-identified with the
// study's pseudonyms, written as FHIR NDJSON (one member per resource
// type) plus manifest.json into a file sealed to the researcher's key.
//
// Order of work: the citizens are read one at a time and their lines
// streamed into the sealed file (memory stays one citizen's records and
// one chunk); then one audit entry per released citizen and one for the
// release are made durable; then the manifest (with the release entry's
// index and its inclusion proof against a freshly signed checkpoint)
// closes the file, which is only then renamed into place and listed. A
// failure at any step removes the partial file and lists nothing.
//
// Files: DATA_DIR/releases/rel_….tillit (mode 0600), written through
// ReleaseInput::env; the listing is the vault directory's kind "release".
//
// Thread-safety: MakeRelease may run concurrently with itself and with a
// server's requests (stores are reached through the given StoreAccess).
#ifndef TILLIT_RESEARCH_RELEASE_H_
#define TILLIT_RESEARCH_RELEASE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/base/env.h"
#include "tillit/base/status.h"
#include "tillit/consent_service/consent_service.h"
#include "tillit/crypto/secret.h"
#include "tillit/vault/store_cache.h"
#include "tillit/vault/vault.h"

namespace tillit::research {

// A release as listed (no health data).
struct ReleaseInfo {
  std::string id;  // rel_…
  std::string study_id;
  std::string researcher_id;
  int64_t created = 0;
  int64_t cohort_size = 0;
  uint64_t audit_index = 0;  // the release's own audit entry
  std::map<std::string, int64_t> by_category;
  std::map<std::string, int64_t> by_type;
  uint64_t ndjson_bytes = 0;  // released NDJSON, before sealing
  uint64_t sealed_bytes = 0;  // the file
};
std::string ReleaseInfoToJson(const ReleaseInfo& r);
StatusOr<ReleaseInfo> ReleaseInfoFromJson(std::string_view json);

struct ReleaseInput {
  const consent::StudyDefinition* study = nullptr;         // not owned
  const consent::ResearcherProfile* researcher = nullptr;  // not owned
  // Citizens the consent index says could match (ConsentService::
  // Candidates); each is decided again on their full policy.
  std::vector<std::string> candidates;
  std::string release_id;  // rel_…, new
  int64_t now = 0;
  std::string request_id;  // put in the audit entries
  // Writes the release file and draws its file key. Not owned, not null.
  Env* env = Env::Default();
  // When set, called before each candidate and once after the last with
  // how many have been read of how many; returning false stops the
  // release (FailedPrecondition: nothing is audited, listed or left on
  // disk).
  std::function<bool(size_t done, size_t total)> progress;
};

// Makes the audit entries durable and returns their indexes (a server
// passes the audit log's AppendBatch, marking the request on failure).
using AuditBatch = std::function<StatusOr<std::vector<uint64_t>>(
    const std::vector<audit::AuditEntry>& entries)>;

// The study's pseudonym key: derived from the vault's master secret and
// the study id, so it is stable, never stored in a file, and never leaves
// the vault.
StatusOr<crypto::SecretBytes> StudyKey(vault::Vault& vault,
                                       std::string_view study_id);

// Builds, audits, seals and lists one release. FailedPrecondition if the
// researcher has no usable public key, or `progress` stopped it; the
// errors of `audit` (nothing is listed and no file remains); IoError for the
// file (a failed create, write, fsync or rename leaves no file, partial or
// final).
StatusOr<ReleaseInfo> MakeRelease(vault::Vault& vault,
                                  vault::StoreAccess& stores,
                                  audit::AuditLog& log,
                                  const ReleaseInput& input,
                                  const AuditBatch& audit);

// The sealed file of a listed release.
std::string ReleasePath(const vault::Vault& vault, std::string_view release_id);
// NotFound for an unknown id.
StatusOr<ReleaseInfo> GetRelease(vault::Vault& vault,
                                 const std::string& release_id);
// The releases of one study, oldest first.
StatusOr<std::vector<ReleaseInfo>> ListReleases(vault::Vault& vault,
                                                std::string_view study_id);

}  // namespace tillit::research

#endif  // TILLIT_RESEARCH_RELEASE_H_
