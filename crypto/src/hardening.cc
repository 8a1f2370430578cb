#include "tillit/crypto/hardening.h"

#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace tillit::crypto {
namespace {

Status ErrnoStatus(std::string_view call, int error) {
  std::string message(call);
  message += ": ";
  message += std::generic_category().message(error);
  return Status::IoError(std::move(message));
}

}  // namespace

Status InitCrypto() {
  if (sodium_init() < 0) {
    return Status::Internal("libsodium could not be initialised");
  }
  return Status::Ok();
}

Status DisableCoreDumps() {
  const struct rlimit none = {0, 0};
  if (setrlimit(RLIMIT_CORE, &none) != 0) {
    return ErrnoStatus("setrlimit(RLIMIT_CORE)", errno);
  }
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return ErrnoStatus("prctl(PR_SET_DUMPABLE)", errno);
  }
  return Status::Ok();
}

}  // namespace tillit::crypto
