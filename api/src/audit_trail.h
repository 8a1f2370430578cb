// AuditTrail: the API's side of the audit log, where "fail closed" is
// kept. A handler appends the entry for an access before it releases or
// stores anything; when the append fails, the Call is marked so that its
// reply is 503 audit_unavailable, and the handler must return the error
// without releasing anything. The log itself is reachable for reads
// (entries, checkpoints, proofs) and for research releases, which write
// their entries through AppendBatch.
//
// Thread-safety: every method may be called from any thread (as the
// AuditLog's).
#ifndef TILLIT_API_SRC_AUDIT_TRAIL_H_
#define TILLIT_API_SRC_AUDIT_TRAIL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "tillit/audit/audit_log.h"
#include "tillit/base/clock.h"
#include "tillit/base/status.h"
#include "tillit/notify/notifier.h"

namespace tillit::api::internal {

class Call;
class Metrics;
class ServerLog;

class AuditTrail {
 public:
  // `clock`, `metrics` and `server_log` are not owned and must outlive
  // the trail; appends are counted in `metrics` and failures written to
  // `server_log`.
  AuditTrail(std::unique_ptr<audit::AuditLog> log, Clock* clock,
             Metrics* metrics, ServerLog* server_log);
  AuditTrail(const AuditTrail&) = delete;
  AuditTrail& operator=(const AuditTrail&) = delete;

  // Writes `entry` durably (time, request id and, unless set, the actor
  // are filled in from the call) and returns its index. On failure the
  // call is marked so the reply is 503 audit_unavailable, and the caller
  // must release nothing.
  StatusOr<uint64_t> Append(Call& call, audit::AuditEntry entry);
  // Several entries, as given (nothing is filled in), in one durable
  // commit; fails closed like Append.
  StatusOr<std::vector<uint64_t>> AppendBatch(
      Call& call, std::span<const audit::AuditEntry> entries);
  // The same for work that outlives its request (a release made in the
  // background): nothing to mark; the caller must release nothing when it
  // fails.
  StatusOr<std::vector<uint64_t>> AppendBatch(
      std::string_view request_id, std::span<const audit::AuditEntry> entries);

  // The log, for reads and for research releases.
  audit::AuditLog& log() { return *log_; }
  // From now on every durable entry is offered to `notifier` (not owned;
  // set once, before any append).
  void SetNotifier(notify::Notifier* notifier) { notifier_ = notifier; }

 private:
  const std::unique_ptr<audit::AuditLog> log_;
  Clock& clock_;
  Metrics& metrics_;
  ServerLog& server_log_;
  notify::Notifier* notifier_ = nullptr;
};

}  // namespace tillit::api::internal

#endif  // TILLIT_API_SRC_AUDIT_TRAIL_H_
