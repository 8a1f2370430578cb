#include "tillit/audit/merkle.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cassert>
#include <cstring>
#include <string>
#include <utility>

namespace tillit::audit {
namespace {

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

Hash Mth(std::span<const Hash> leaves) {
  if (leaves.size() == 1) return leaves[0];
  const uint64_t k = SplitPoint(leaves.size());
  return NodeHash(Mth(leaves.first(k)), Mth(leaves.subspan(k)));
}

}  // namespace

Hash LeafHash(std::span<const uint8_t> entry) {
  // One hasher per thread (Finish starts it again): not a new context for
  // every entry.
  thread_local crypto::Sha256Hasher hasher;
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

// Resolves any complete subtree of the tree, reading back a dropped tile's
// leaves (and checking them against the tile's hash held in memory) when a
// node below the tile level is asked for. One per call: const calls on the
// tree may run concurrently.
class MerkleTree::Resolver {
 public:
  explicit Resolver(const MerkleTree& tree) : t_(tree) {}

  // The complete subtree of 2^k leaves starting at `start` (a multiple of
  // 2^k), within the tree's size.
  StatusOr<Hash> Complete(uint64_t start, int k) {
    const uint64_t i = start >> k;
    if (static_cast<size_t>(k) < t_.levels_.size() && i >= t_.first_[k] &&
        i - t_.first_[k] < t_.levels_[k].size()) {
      return t_.levels_[k][i - t_.first_[k]];
    }
    // Below the tile level, in a tile no longer held: read it back.
    const int tile_log2 = t_.tile_log2_;
    if (!t_.reader_ || k >= tile_log2) {
      return Status::Internal("merkle tree: a node is missing");
    }
    const uint64_t tile = start >> tile_log2;
    if (tile != tile_ || tile_levels_.empty()) {
      TILLIT_RETURN_IF_ERROR(LoadTile(tile));
    }
    return tile_levels_[k][(start - (tile << tile_log2)) >> k];
  }

  // REQUIRES: 0 < n <= the tree's size.
  StatusOr<RightEdge> Edge(uint64_t n) {
    // The complete chunks of the tree of size n, left to right: one per
    // set bit of n, largest first.
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
    TILLIT_ASSIGN_OR_RETURN(Hash acc,
                            Complete(start[chunks - 1], log_size[chunks - 1]));
    for (int j = chunks - 2; j >= 0; --j) {
      TILLIT_ASSIGN_OR_RETURN(Hash left, Complete(start[j], log_size[j]));
      acc = NodeHash(left, acc);
      edge.lo[edge.count] = start[j];
      edge.hash[edge.count] = acc;
      ++edge.count;
    }
    edge.root = acc;
    return edge;
  }

  // The hash of node D[lo:hi] of the tree whose right edge is `edge`.
  // REQUIRES: [lo, hi) is a complete aligned subtree, or a right-edge node.
  StatusOr<Hash> Subtree(uint64_t lo, uint64_t hi, const RightEdge& edge) {
    const uint64_t width = hi - lo;
    if (std::has_single_bit(width) && lo % width == 0) {
      return Complete(lo, std::countr_zero(width));
    }
    for (int i = 0; i < edge.count; ++i) {
      if (edge.lo[i] == lo) return edge.hash[i];
    }
    return Status::Internal("merkle tree: not a node of this tree");
  }

 private:
  Status LoadTile(uint64_t tile) {
    const int tile_log2 = t_.tile_log2_;
    const uint64_t width = uint64_t{1} << tile_log2;
    std::vector<Hash> leaves;
    TILLIT_RETURN_IF_ERROR(
        t_.reader_(tile << tile_log2, (tile + 1) << tile_log2, &leaves));
    if (leaves.size() != width) {
      return Status::DataLoss("merkle tree: the stored leaves of tile " +
                              std::to_string(tile) + " are incomplete");
    }
    tile_levels_.assign(1, std::move(leaves));
    for (int k = 0; k < tile_log2; ++k) {
      const std::vector<Hash>& below = tile_levels_[k];
      std::vector<Hash> level(below.size() / 2);
      for (size_t i = 0; i < level.size(); ++i) {
        level[i] = NodeHash(below[2 * i], below[2 * i + 1]);
      }
      tile_levels_.push_back(std::move(level));
    }
    // The leaves read back must be the ones the tree was built from.
    const Hash& held = t_.levels_[tile_log2][tile - t_.first_[tile_log2]];
    if (tile_levels_[tile_log2][0] != held) {
      tile_levels_.clear();
      return Status::DataLoss("merkle tree: the stored leaves of tile " +
                              std::to_string(tile) + " do not match the tree");
    }
    tile_ = tile;
    return Status::Ok();
  }

  const MerkleTree& t_;
  uint64_t tile_ = 0;
  std::vector<std::vector<Hash>> tile_levels_;  // [k][i] within the tile
};

MerkleTree::MerkleTree(LeafReader reader, int tile_log2)
    : reader_(std::move(reader)), tile_log2_(std::clamp(tile_log2, 1, 32)) {}

void MerkleTree::Append(const Hash& leaf) {
  if (levels_.empty()) {
    levels_.emplace_back();
    first_.push_back(0);
  }
  levels_[0].push_back(leaf);
  ++size_;
  // A level's first index held is even (0, or a tile's start >> k with
  // k < tile_log2_), so an even count means its last two are siblings.
  for (size_t k = 0; (first_[k] + levels_[k].size()) % 2 == 0; ++k) {
    const std::vector<Hash>& level = levels_[k];
    const Hash parent = NodeHash(level[level.size() - 2], level.back());
    if (levels_.size() == k + 1) {
      levels_.emplace_back();
      first_.push_back(0);
    }
    levels_[k + 1].push_back(parent);
  }
  // A tile just completed: its hash is held one level up; the nodes
  // below go, and are read back when a proof needs them.
  if (reader_ && size_ % (uint64_t{1} << tile_log2_) == 0) {
    for (int k = 0; k < tile_log2_; ++k) {
      levels_[k].clear();
      first_[k] = size_ >> k;
    }
  }
}

StatusOr<Hash> MerkleTree::Leaf(uint64_t index) const {
  if (index >= size_) return Status::InvalidArgument("no such leaf");
  Resolver r(*this);
  return r.Complete(index, 0);
}

Hash MerkleTree::Root() const {
  if (size_ == 0) return EmptyRoot();
  // The chunks of the whole tree are held: subtrees of whole tiles, and
  // the last tile's nodes.
  Resolver r(*this);
  auto edge = r.Edge(size_);
  assert(edge.ok());
  return edge.ok() ? edge->root : Hash{};
}

StatusOr<Hash> MerkleTree::RootAt(uint64_t n) const {
  if (n > size()) {
    return Status::InvalidArgument("tree size beyond the end of the tree");
  }
  if (n == 0) return EmptyRoot();
  Resolver r(*this);
  TILLIT_ASSIGN_OR_RETURN(RightEdge edge, r.Edge(n));
  return edge.root;
}

StatusOr<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index,
                                                       uint64_t n) const {
  if (n > size() || index >= n) {
    return Status::InvalidArgument(
        "inclusion proof needs index < size <= tree size");
  }
  Resolver r(*this);
  TILLIT_ASSIGN_OR_RETURN(const RightEdge edge, r.Edge(n));
  std::vector<Hash> path;
  uint64_t lo = 0;
  uint64_t hi = n;
  // Walk from the root down to the leaf; the proof lists siblings leaf first.
  while (hi - lo > 1) {
    const uint64_t k = SplitPoint(hi - lo);
    if (index < lo + k) {
      TILLIT_ASSIGN_OR_RETURN(Hash h, r.Subtree(lo + k, hi, edge));
      path.push_back(h);
      hi = lo + k;
    } else {
      TILLIT_ASSIGN_OR_RETURN(Hash h, r.Subtree(lo, lo + k, edge));
      path.push_back(h);
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
  Resolver r(*this);
  TILLIT_ASSIGN_OR_RETURN(const RightEdge edge, r.Edge(n));
  // RFC 6962 SUBPROOF(m - lo, D[lo:hi], b), unrolled from the root down.
  uint64_t lo = 0;
  uint64_t hi = n;
  bool whole_old_tree = true;  // b: D[lo:hi] prefix is the old tree itself
  while (true) {
    const uint64_t width = hi - lo;
    if (m - lo == width) {
      if (!whole_old_tree) {
        TILLIT_ASSIGN_OR_RETURN(Hash h, r.Subtree(lo, hi, edge));
        path.push_back(h);
      }
      break;
    }
    const uint64_t k = SplitPoint(width);
    if (m - lo <= k) {
      TILLIT_ASSIGN_OR_RETURN(Hash h, r.Subtree(lo + k, hi, edge));
      path.push_back(h);
      hi = lo + k;
    } else {
      TILLIT_ASSIGN_OR_RETURN(Hash h, r.Subtree(lo, lo + k, edge));
      path.push_back(h);
      lo += k;
      whole_old_tree = false;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

uint64_t MerkleTree::nodes_in_memory() const {
  uint64_t n = 0;
  for (const std::vector<Hash>& level : levels_) n += level.size();
  return n;
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
