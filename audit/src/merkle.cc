#include "tillit/audit/merkle.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>

namespace tillit::audit {
namespace {

using Levels = std::vector<std::vector<Hash>>;

// The largest power of two strictly smaller than n. REQUIRES: n >= 2.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

// The nodes [lo, n) of the tree of size n that are not complete subtrees:
// they all lie on its right edge, there are fewer than 64 of them, and each
// is the node hash of a complete subtree and the next one down the edge.
struct RightEdge {
  int count = 0;
  std::array<uint64_t, 64> lo{};
  std::array<Hash, 64> hash{};
  Hash root{};  // of the whole tree of size n
};

// The complete subtree of 2^k leaves starting at `start` (a multiple of 2^k).
const Hash& Complete(const Levels& levels, uint64_t start, int k) {
  return levels[k][start >> k];
}

// REQUIRES: 0 < n <= number of leaves in `levels`.
RightEdge ComputeRightEdge(const Levels& levels, uint64_t n) {
  // The complete chunks of the tree of size n, left to right: one per set
  // bit of n, largest first.
  std::array<uint64_t, 64> start{};
  std::array<int, 64> log_size{};
  int chunks = 0;
  uint64_t pos = 0;
  for (int k = 63; k >= 0; --k) {
    if ((n >> k) & 1) {
      start[chunks] = pos;
      log_size[chunks] = k;
      ++chunks;
      pos += uint64_t{1} << k;
    }
  }
  RightEdge edge;
  Hash acc = Complete(levels, start[chunks - 1], log_size[chunks - 1]);
  for (int j = chunks - 2; j >= 0; --j) {
    acc = NodeHash(Complete(levels, start[j], log_size[j]), acc);
    edge.lo[edge.count] = start[j];
    edge.hash[edge.count] = acc;
    ++edge.count;
  }
  edge.root = acc;
  return edge;
}

// The hash of node D[lo:hi] of the tree whose right edge is `edge`.
// REQUIRES: [lo, hi) is a complete aligned subtree, or a right-edge node.
Hash Subtree(const Levels& levels, uint64_t lo, uint64_t hi,
             const RightEdge& edge) {
  const uint64_t width = hi - lo;
  if (std::has_single_bit(width) && lo % width == 0) {
    return Complete(levels, lo, std::countr_zero(width));
  }
  for (int i = 0; i < edge.count; ++i) {
    if (edge.lo[i] == lo) return edge.hash[i];
  }
  assert(false && "not a node of this tree");
  return Hash{};
}

Hash Mth(std::span<const Hash> leaves) {
  if (leaves.size() == 1) return leaves[0];
  const uint64_t k = SplitPoint(leaves.size());
  return NodeHash(Mth(leaves.first(k)), Mth(leaves.subspan(k)));
}

}  // namespace

Hash LeafHash(std::span<const uint8_t> entry) {
  crypto::Sha256Hasher hasher;
  const uint8_t prefix = 0x00;
  hasher.Update({&prefix, 1});
  hasher.Update(entry);
  return hasher.Finish();
}

Hash NodeHash(const Hash& left, const Hash& right) {
  std::array<uint8_t, 1 + 2 * sizeof(Hash)> buf;
  buf[0] = 0x01;
  std::memcpy(buf.data() + 1, left.data(), left.size());
  std::memcpy(buf.data() + 1 + left.size(), right.data(), right.size());
  return crypto::Sha256(buf);
}

Hash EmptyRoot() { return crypto::Sha256({}); }

Hash RootFromLeaves(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  return Mth(leaves);
}

void MerkleTree::Append(const Hash& leaf) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf);
  for (size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
    const std::vector<Hash>& level = levels_[k];
    const Hash parent = NodeHash(level[level.size() - 2], level.back());
    if (levels_.size() == k + 1) levels_.emplace_back();
    levels_[k + 1].push_back(parent);
  }
}

uint64_t MerkleTree::size() const {
  return levels_.empty() ? 0 : levels_[0].size();
}

const Hash& MerkleTree::leaf(uint64_t index) const {
  assert(index < size());
  return levels_[0][index];
}

Hash MerkleTree::Root() const { return *RootAt(size()); }

StatusOr<Hash> MerkleTree::RootAt(uint64_t n) const {
  if (n > size()) {
    return Status::InvalidArgument("tree size beyond the end of the tree");
  }
  if (n == 0) return EmptyRoot();
  return ComputeRightEdge(levels_, n).root;
}

StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index,
                                                       uint64_t n) const {
  if (n > size() || index >= n) {
    return Status::InvalidArgument(
        "inclusion proof needs index < size <= tree size");
  }
  const RightEdge edge = ComputeRightEdge(levels_, n);
  std::vector<Hash> path;
  uint64_t lo = 0;
  uint64_t hi = n;
  // Walk from the root down to the leaf; the proof lists siblings leaf first.
  while (hi - lo > 1) {
    const uint64_t k = SplitPoint(hi - lo);
    if (index < lo + k) {
      path.push_back(Subtree(levels_, lo + k, hi, edge));
      hi = lo + k;
    } else {
      path.push_back(Subtree(levels_, lo, lo + k, edge));
      lo += k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

StatusOr<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t m,
                                                         uint64_t n) const {
  if (m == 0 || m > n || n > size()) {
    return Status::InvalidArgument(
        "consistency proof needs 0 < m <= n <= tree size");
  }
  std::vector<Hash> path;
  if (m == n) return path;
  const RightEdge edge = ComputeRightEdge(levels_, n);
  // RFC 6962 SUBPROOF(m - lo, D[lo:hi], b), unrolled from the root down.
  uint64_t lo = 0;
  uint64_t hi = n;
  bool whole_old_tree = true;  // b: D[lo:hi] prefix is the old tree itself
  while (true) {
    const uint64_t width = hi - lo;
    if (m - lo == width) {
      if (!whole_old_tree) path.push_back(Subtree(levels_, lo, hi, edge));
      break;
    }
    const uint64_t k = SplitPoint(width);
    if (m - lo <= k) {
      path.push_back(Subtree(levels_, lo + k, hi, edge));
      hi = lo + k;
    } else {
      path.push_back(Subtree(levels_, lo, lo + k, edge));
      lo += k;
      whole_old_tree = false;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                     std::span<const Hash> proof, const Hash& root) {
  if (index >= size) return false;
  uint64_t fn = index;
  uint64_t sn = size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return false;  // proof longer than the path
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && r == root;
}

bool VerifyConsistency(uint64_t size1, uint64_t size2,
                       std::span<const Hash> proof, const Hash& root1,
                       const Hash& root2) {
  if (size1 > size2) return false;
  if (size1 == 0) {
    return proof.empty() && root1 == EmptyRoot() &&
           (size2 != 0 || root2 == root1);
  }
  if (size1 == size2) return proof.empty() && root1 == root2;
  if (proof.empty()) return false;

  // When size1 is a power of two the old root is itself a node of the new
  // tree and is not sent: it is the implicit first element of the path.
  const bool prepend = std::has_single_bit(size1);
  const size_t path_size = proof.size() + (prepend ? 1 : 0);
  auto path = [&](size_t i) -> const Hash& {
    if (prepend) return i == 0 ? root1 : proof[i - 1];
    return proof[i];
  };

  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path(0);
  Hash sr = path(0);
  for (size_t i = 1; i < path_size; ++i) {
    const Hash& c = path(i);
    if (sn == 0) return false;  // proof longer than the path
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  return sn == 0 && fr == root1 && sr == root2;
}

}  // namespace tillit::audit
