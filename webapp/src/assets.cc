// FindAsset over the generated table (Assets() is defined in the source
// that webapp/embed.cmake writes into the build directory).
#include "tillit/webapp/assets.h"

#include <algorithm>

namespace tillit::webapp {

const Asset* FindAsset(std::string_view path) {
  const std::span<const Asset> all = Assets();
  auto it = std::lower_bound(
      all.begin(), all.end(), path,
      [](const Asset& a, std::string_view p) { return a.path < p; });
  if (it == all.end() || it->path != path) return nullptr;
  return &*it;
}

}  // namespace tillit::webapp
