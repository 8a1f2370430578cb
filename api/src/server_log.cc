#include "server_log.h"

namespace tillit::api::internal {

Mutex ServerLog::mu_;

void ServerLog::Line(const std::string& line) {
  if (out_ == nullptr) return;
  // One write per line keeps concurrent lines whole.
  MutexLock lock(&mu_);
  *out_ << line << '\n';
  out_->flush();
}

}  // namespace tillit::api::internal
