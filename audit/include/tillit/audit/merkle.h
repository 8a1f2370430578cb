// RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//
// Leaf hash  = SHA-256(0x00 || entry)
// Node hash  = SHA-256(0x01 || left || right)
// Empty tree = SHA-256("")
// The tree over n leaves splits at the largest power of two smaller than n
// (RFC 6962 section 2.1), so a log of any size has exactly one tree head.
//
// MerkleTree keeps the complete (power-of-two, aligned) subtree hashes, so
// any historical root and any inclusion or consistency proof costs O(log n)
// hash operations, never O(n). Given a LeafReader it keeps only subtrees of
// at least one tile (2^tile_log2 leaves) and the last tile's nodes, and
// reads a tile's leaves back from where they are stored when a proof needs
// it: memory ~64 / 2^tile_log2 bytes per leaf instead of 64.
//
// Thread-safety: the free functions are pure and may be called from any
// thread. A MerkleTree is not synchronised: its owner serialises Append()
// against every other call; const calls may run concurrently with each other.
#ifndef TILLIT_AUDIT_MERKLE_H_
#define TILLIT_AUDIT_MERKLE_H_

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "tillit/base/status.h"
#include "tillit/crypto/hash.h"

namespace tillit::audit {

using Hash = crypto::Digest;  // 32 bytes

// SHA-256(0x00 || entry).
Hash LeafHash(std::span<const uint8_t> entry);
// SHA-256(0x01 || left || right).
Hash NodeHash(const Hash& left, const Hash& right);
// SHA-256("") : the root of the tree of size 0.
Hash EmptyRoot();
// RFC 6962 MTH over leaf hashes [0, n) (split at the largest power of two
// < n). EmptyRoot() for no leaves. O(n).
Hash RootFromLeaves(std::span<const Hash> leaves);

// A Merkle tree over leaf hashes appended one by one, keeping the complete
// subtree hashes so that any root and proof is O(log n) hashes (not O(n)).
// Thread-safety: not thread-safe (owner locks); const calls may run
// concurrently with each other, and call the reader concurrently.
class MerkleTree {
 public:
  // Puts the leaf hashes [begin, end) in `out` (end - begin of them, in
  // order), as they were appended. Called only for leaves of complete
  // tiles, at most one tile at a time.
  using LeafReader = std::function<Status(uint64_t begin, uint64_t end,
                                          std::vector<Hash>* out)>;
  static constexpr int kDefaultTileLog2 = 8;  // 256 leaves, ~0.25 B a leaf

  // Keeps every leaf and node: ~64 bytes per leaf.
  MerkleTree() = default;
  // Keeps subtrees of 2^tile_log2 leaves and more, and the nodes of the
  // last tile; the rest is read back with `reader`. 1 <= tile_log2 <= 32.
  explicit MerkleTree(LeafReader reader, int tile_log2 = kDefaultTileLog2);

  // Adds `leaf` (a LeafHash) at index size(). Amortised O(1) hashes.
  void Append(const Hash& leaf);
  uint64_t size() const { return size_; }
  // InvalidArgument unless index < size(); the reader's error.
  StatusOr<Hash> Leaf(uint64_t index) const;
  // The root of the whole tree (EmptyRoot() when empty). Never reads.
  Hash Root() const;
  // The root of the first `size` leaves; InvalidArgument if size > size().
  StatusOr<Hash> RootAt(uint64_t size) const;
  // RFC 6962 section 2.1.1 PATH(index, D[0:size]), leaf side first.
  // InvalidArgument unless index < size <= size().
  StatusOr<std::vector<Hash>> InclusionProof(uint64_t index,
                                             uint64_t size) const;
  // RFC 6962 section 2.1.2 PROOF(m, D[0:n]). InvalidArgument unless
  // 0 < m <= n <= size(); m == n gives an empty proof.
  StatusOr<std::vector<Hash>> ConsistencyProof(uint64_t m, uint64_t n) const;
  // Hashes held in memory (for tests and memory accounting).
  uint64_t nodes_in_memory() const;

 private:
  class Resolver;  // one call's view of every complete subtree

  LeafReader reader_;
  int tile_log2_ = 64;  // no reader: no tile is ever dropped
  uint64_t size_ = 0;
  // levels_[k][i - first_[k]] is the hash of the complete subtree over
  // leaves [i * 2^k, (i + 1) * 2^k). Below tile_log2_ only the last tile's
  // are kept (first_[k] is where it starts); from tile_log2_ up, all.
  std::vector<std::vector<Hash>> levels_;
  std::vector<uint64_t> first_;
};

// RFC 9162 section 2.1.3.2 verification of an inclusion proof; false on any
// mismatch, wrong length, or index >= size.
bool VerifyInclusion(const Hash& leaf_hash, uint64_t index, uint64_t size,
                     std::span<const Hash> proof, const Hash& root);

// RFC 9162 section 2.1.4.2 verification of a consistency proof between
// (size1, root1) and (size2, root2). size1 == size2 needs an empty proof and
// equal roots; size1 == 0 is accepted only with an empty proof and root1 ==
// EmptyRoot(); size1 > size2 is false; false on any mismatch.
bool VerifyConsistency(uint64_t size1, uint64_t size2,
                       std::span<const Hash> proof, const Hash& root1,
                       const Hash& root2);

}  // namespace tillit::audit

#endif  // TILLIT_AUDIT_MERKLE_H_
