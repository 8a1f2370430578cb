// RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification.
//
// Leaf hash  = SHA-256(0x00 || entry)
// Node hash  = SHA-256(0x01 || left || right)
// Empty tree = SHA-256("")
// The tree over n leaves splits at the largest power of two smaller than n
// (RFC 6962 section 2.1), so a log of any size has exactly one tree head.
//
// MerkleTree keeps every complete (power-of-two, aligned) subtree hash, so
// any historical root and any inclusion or consistency proof costs O(log n)
// hash operations, never O(n).
//
// Thread-safety: the free functions are pure and may be called from any
// thread. A MerkleTree is not synchronised: its owner serialises Append()
// against every other call; const calls may run concurrently with each other.
#ifndef TILLIT_AUDIT_MERKLE_H_
#define TILLIT_AUDIT_MERKLE_H_

#include <cstdint>
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

// A Merkle tree over leaf hashes appended one by one, keeping every complete
// subtree hash so that any root and proof is O(log n) hashes (not O(n)).
// Memory ~2 hashes per leaf. Thread-safety: not thread-safe (owner locks).
class MerkleTree {
 public:
  MerkleTree() = default;

  // Adds `leaf` (a LeafHash) at index size(). Amortised O(1) hashes.
  void Append(const Hash& leaf);
  uint64_t size() const;
  // REQUIRES: index < size()
  const Hash& leaf(uint64_t index) const;
  // The root of the whole tree (EmptyRoot() when empty).
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

 private:
  // levels_[k][i] is the hash of the complete subtree over leaves
  // [i * 2^k, (i + 1) * 2^k). levels_[0] holds the leaf hashes.
  std::vector<std::vector<Hash>> levels_;
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
