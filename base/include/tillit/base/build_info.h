// The version and commit of this build, for `tillit --version`, GET
// /healthz and GET /metrics.
//
// BuildVersion() is the project's version (CMake's project(VERSION), e.g.
// "0.1.0"); BuildCommit() the first 12 hex digits of the commit the build
// was made from, or the packager's TILLIT_COMMIT, or "unknown" outside a
// git checkout. They are defined in a source that the build writes
// (base/build_info.cmake) and are linked from the target
// tillit_build_info, not tillit_base, so that a new commit relinks only the
// binaries that report it.
//
// Thread-safety: both return views of static strings.
#ifndef TILLIT_BASE_BUILD_INFO_H_
#define TILLIT_BASE_BUILD_INFO_H_

#include <string_view>

namespace tillit {

std::string_view BuildVersion();
std::string_view BuildCommit();

}  // namespace tillit

#endif  // TILLIT_BASE_BUILD_INFO_H_
