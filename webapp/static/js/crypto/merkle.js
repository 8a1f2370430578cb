// RFC 6962 / RFC 9162 Merkle tree hashing and proof verification, as
// docs/AUDIT_FORMATS.md fixes it (audit/include/tillit/audit/merkle.h):
//
//   leaf hash  = SHA-256(0x00 || entry bytes)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
//
// Sizes and indexes are unsigned 64-bit: pass a safe integer Number or a
// BigInt in [0, 2^64 - 1]; anything else (negative, fractional, a Number
// above 2^53 - 1 that may already have lost precision) never verifies.
// Hashes are 32-byte Uint8Arrays. Verifiers resolve to a boolean and never
// throw for bad input: anything malformed is simply "does not verify".

import { bytesEqual, concatBytes, decodeHex } from "./base64.js";

const HASH_SIZE = 32;
const MAX_U64 = (1n << 64n) - 1n;
const EMPTY_ROOT_HEX =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

async function sha256(bytes) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes);
  return new Uint8Array(digest);
}

function isHash(h) {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}

function isHashList(list) {
  return Array.isArray(list) && list.every(isHash);
}

// The value as a BigInt in [0, 2^64 - 1], or null.
function toU64(v) {
  if (typeof v === "bigint") return v >= 0n && v <= MAX_U64 ? v : null;
  if (Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  return null;
}

/**
 * SHA-256("") : the root of the tree of size 0 (a fresh copy).
 * @returns {Uint8Array}
 */
export function emptyRoot() {
  return decodeHex(EMPTY_ROOT_HEX);
}

/**
 * The leaf hash of an entry: SHA-256(0x00 || bytes).
 * @param {Uint8Array} bytes the entry's exact bytes
 * @returns {Promise<Uint8Array>}
 * @throws {TypeError} when `bytes` is not a Uint8Array.
 */
export async function leafHash(bytes) {
  return sha256(concatBytes(new Uint8Array([0]), bytes));
}

/**
 * An interior node: SHA-256(0x01 || left || right).
 * @param {Uint8Array} left 32 bytes
 * @param {Uint8Array} right 32 bytes
 * @returns {Promise<Uint8Array>}
 * @throws {TypeError} unless both are 32-byte Uint8Arrays.
 */
export async function nodeHash(left, right) {
  if (!isHash(left) || !isHash(right)) {
    throw new TypeError("node hashes need two 32-byte hashes");
  }
  return sha256(concatBytes(new Uint8Array([1]), left, right));
}

/**
 * RFC 6962 MTH over leaf hashes: the largest power of two smaller than n
 * splits the tree. emptyRoot() for no leaves. O(n) hashes.
 * @param {Uint8Array[]} leaves leaf hashes (see leafHash)
 * @returns {Promise<Uint8Array>}
 * @throws {TypeError} unless every leaf is a 32-byte hash.
 */
export async function rootFromLeaves(leaves) {
  if (!isHashList(leaves)) throw new TypeError("leaves must be 32-byte hashes");
  if (leaves.length === 0) return emptyRoot();
  const mth = async (lo, hi) => {
    if (hi - lo === 1) return leaves[lo];
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return nodeHash(await mth(lo, lo + k), await mth(lo + k, hi));
  };
  return mth(0, leaves.length);
}

/**
 * RFC 9162 section 2.1.3.2: true when `proof` (sibling hashes, leaf side
 * first) leads from `leaf` at `index` in the tree of `size` leaves to
 * `root`. False for index >= size, a proof of another length than the shape
 * of (index, size) needs, or any mismatch. A proof does not commit to the
 * size by itself: the signed checkpoint carrying `root` binds it.
 * @param {Uint8Array} leaf the leaf hash (not the entry)
 * @param {number|bigint} index
 * @param {number|bigint} size
 * @param {Uint8Array[]} proof
 * @param {Uint8Array} root
 * @returns {Promise<boolean>}
 */
export async function verifyInclusion(leaf, index, size, proof, root) {
  const i = toU64(index);
  const n = toU64(size);
  if (i === null || n === null || !isHash(leaf) || !isHash(root) ||
      !isHashList(proof) || i >= n) {
    return false;
  }
  let fn = i;
  let sn = n - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) return false; // longer than the path
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(r, root);
}

/**
 * RFC 9162 section 2.1.4.2: true when `proof` shows that the tree of
 * `size2` leaves with `root2` extends the tree of `size1` leaves with
 * `root1`. Beyond the RFC (docs/AUDIT_FORMATS.md):
 *   size1 > size2: false;
 *   size1 == size2: true only with an empty proof and root1 == root2;
 *   size1 == 0: true only with an empty proof and root1 == SHA-256("")
 *     (and root2 == root1 when size2 is 0 too);
 *   0 < size1 < size2 with an empty proof: false.
 * When size1 is a power of two the old root is not in the proof (it is the
 * implicit first element).
 * @param {number|bigint} size1
 * @param {number|bigint} size2
 * @param {Uint8Array[]} proof
 * @param {Uint8Array} root1
 * @param {Uint8Array} root2
 * @returns {Promise<boolean>}
 */
export async function verifyConsistency(size1, size2, proof, root1, root2) {
  const m = toU64(size1);
  const n = toU64(size2);
  if (m === null || n === null || !isHash(root1) || !isHash(root2) ||
      !isHashList(proof) || m > n) {
    return false;
  }
  if (m === 0n) {
    return proof.length === 0 && bytesEqual(root1, emptyRoot()) &&
      (n !== 0n || bytesEqual(root2, root1));
  }
  if (m === n) return proof.length === 0 && bytesEqual(root1, root2);
  if (proof.length === 0) return false;

  const path = (m & (m - 1n)) === 0n ? [root1, ...proof] : proof;
  let fn = m - 1n;
  let sn = n - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (let k = 1; k < path.length; k++) {
    const c = path[k];
    if (sn === 0n) return false; // longer than the path
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}
