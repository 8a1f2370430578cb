// Unit tests of js/crypto/merkle.js: the known answers of
// audit/src/merkle_test.cc, agreement with a naive RFC 6962 tree, and
// corruption probes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import { decodeHex, encodeHex } from "../static/js/crypto/base64.js";
import {
  emptyRoot, leafHash, nodeHash, rootFromLeaves, verifyConsistency,
  verifyInclusion,
} from "../static/js/crypto/merkle.js";

const hex = (h) => decodeHex(h);
const hexList = (list) => list.map(hex);

// --- An independent, naive RFC 6962 tree (node:crypto, recursive
// definitions of MTH, PATH and SUBPROOF written out literally).
const sha = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const naiveLeaf = (bytes) => sha(new Uint8Array([0]), bytes);
const naiveNode = (l, r) => sha(new Uint8Array([1]), l, r);
const split = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

class NaiveTree {
  constructor(leaves) {
    this.leaves = leaves;
    this.memo = new Map();
  }
  mth(lo, hi) {
    if (hi === lo) return sha(new Uint8Array(0));
    if (hi - lo === 1) return this.leaves[lo];
    const key = `${lo}:${hi}`;
    if (!this.memo.has(key)) {
      const k = split(hi - lo);
      this.memo.set(key, naiveNode(this.mth(lo, lo + k), this.mth(lo + k, hi)));
    }
    return this.memo.get(key);
  }
  path(m, lo, hi) {
    if (hi - lo === 1) return [];
    const k = split(hi - lo);
    return m < k ? [...this.path(m, lo, lo + k), this.mth(lo + k, hi)]
      : [...this.path(m - k, lo + k, hi), this.mth(lo, lo + k)];
  }
  subproof(m, lo, hi, b) {
    const n = hi - lo;
    if (m === n) return b ? [] : [this.mth(lo, hi)];
    const k = split(n);
    return m <= k
      ? [...this.subproof(m, lo, lo + k, b), this.mth(lo + k, hi)]
      : [...this.subproof(m - k, lo + k, hi, false), this.mth(lo, lo + k)];
  }
  root(n) { return this.mth(0, n); }
  inclusion(i, n) { return this.path(i, 0, n); }
  consistency(m, n) { return this.subproof(m, 0, n, true); }
}

const naiveLeaves = (n) => Array.from({ length: n },
  (_, i) => naiveLeaf(new TextEncoder().encode(`entry-${i}`)));

// --- Known answers: the RFC 6962 reference suite, as pinned in
// audit/src/merkle_test.cc.
const REFERENCE_INPUTS = [
  [], [0x00], [0x10], [0x20, 0x21], [0x30, 0x31], [0x40, 0x41, 0x42, 0x43],
  [0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
  [0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b,
    0x6c, 0x6d, 0x6e, 0x6f],
].map((a) => new Uint8Array(a));

const REFERENCE_ROOTS = hexList([ // sizes 1..8
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]);

const PUBLISHED_INCLUSION = [
  [0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];

const PUBLISHED_CONSISTENCY = [
  [1, 1, []],
  [1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]],
  [6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]],
  [2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]],
];

async function referenceLeaves() {
  return Promise.all(REFERENCE_INPUTS.map((input) => leafHash(input)));
}

test("empty root, leaf and node hashes match their definitions", async () => {
  assert.equal(encodeHex(emptyRoot()),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.deepEqual(emptyRoot(), sha(new Uint8Array(0)));
  assert.deepEqual(await rootFromLeaves([]), emptyRoot());
  for (const input of REFERENCE_INPUTS) {
    assert.deepEqual(await leafHash(input), naiveLeaf(input));
  }
  const [a, b] = await referenceLeaves();
  assert.deepEqual(await nodeHash(a, b), naiveNode(a, b));
  assert.notDeepEqual(await nodeHash(a, b), await nodeHash(b, a));
  assert.deepEqual(await leafHash(new Uint8Array(0)), REFERENCE_ROOTS[0]);
  await assert.rejects(leafHash("text"), TypeError);
  await assert.rejects(nodeHash(a, b.subarray(1)), TypeError);
  await assert.rejects(nodeHash(a, null), TypeError);
  await assert.rejects(rootFromLeaves([a, new Uint8Array(31)]), TypeError);
  await assert.rejects(rootFromLeaves("ab"), TypeError);
});

test("tree heads of the RFC 6962 reference leaves, sizes 1 to 8", async () => {
  const leaves = await referenceLeaves();
  for (let n = 1; n <= 8; n++) {
    assert.deepEqual(await rootFromLeaves(leaves.slice(0, n)),
      REFERENCE_ROOTS[n - 1], `size ${n}`);
    assert.deepEqual(new NaiveTree(leaves).root(n), REFERENCE_ROOTS[n - 1]);
  }
});

test("published inclusion proofs verify", async () => {
  const leaves = await referenceLeaves();
  for (const [index, size, proof] of PUBLISHED_INCLUSION) {
    assert.deepEqual(new NaiveTree(leaves).inclusion(index, size),
      hexList(proof));
    assert.equal(await verifyInclusion(leaves[index], index, size,
      hexList(proof), REFERENCE_ROOTS[size - 1]), true, `${index} in ${size}`);
    // BigInt sizes and indexes are the same thing.
    assert.equal(await verifyInclusion(leaves[index], BigInt(index),
      BigInt(size), hexList(proof), REFERENCE_ROOTS[size - 1]), true);
  }
});

test("published consistency proofs verify", async () => {
  const leaves = await referenceLeaves();
  for (const [m, n, proof] of PUBLISHED_CONSISTENCY) {
    assert.deepEqual(new NaiveTree(leaves).consistency(m, n), hexList(proof));
    assert.equal(await verifyConsistency(m, n, hexList(proof),
      REFERENCE_ROOTS[m - 1], REFERENCE_ROOTS[n - 1]), true, `${m} -> ${n}`);
  }
});

test("every proof of a naive tree verifies, sizes 1 to 40", async () => {
  const N = 40;
  const leaves = naiveLeaves(N);
  const naive = new NaiveTree(leaves);
  for (let n = 1; n <= N; n++) {
    assert.deepEqual(await rootFromLeaves(leaves.slice(0, n)), naive.root(n));
    for (let i = 0; i < n; i++) {
      assert.equal(await verifyInclusion(leaves[i], i, n,
        naive.inclusion(i, n), naive.root(n)), true, `${i} in ${n}`);
    }
    for (let m = 1; m <= n; m++) {
      assert.equal(await verifyConsistency(m, n, naive.consistency(m, n),
        naive.root(m), naive.root(n)), true, `${m} -> ${n}`);
    }
  }
});

const listHex = (list) => list.map(encodeHex).join(",");

// Each hash with a flipped bit, truncated and extended at either end,
// adjacent distinct hashes swapped.
function flip(h, bit) {
  const out = Uint8Array.from(h);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}
function mutations(proof, filler) {
  const out = [];
  proof.forEach((_, j) => {
    for (const bit of [0, (j * 37 + 11) % 256, 255]) {
      const p = [...proof];
      p[j] = flip(p[j], bit);
      out.push(p);
    }
  });
  if (proof.length > 0) out.push(proof.slice(0, -1), proof.slice(1));
  for (const extra of [filler, new Uint8Array(32)]) {
    out.push([...proof, extra], [extra, ...proof]);
  }
  for (let j = 0; j + 1 < proof.length; j++) {
    if (encodeHex(proof[j]) === encodeHex(proof[j + 1])) continue;
    const p = [...proof];
    [p[j], p[j + 1]] = [p[j + 1], p[j]];
    out.push(p);
  }
  return out;
}

test("inclusion rejects tampered proofs, wrong lengths, wrong index or size",
  async () => {
    const N = 17;
    const leaves = naiveLeaves(N + 4);
    const naive = new NaiveTree(leaves);
    for (let n = 1; n <= N; n++) {
      const root = naive.root(n);
      for (let i = 0; i < n; i++) {
        const proof = naive.inclusion(i, n);
        const leaf = leaves[i];
        for (const bad of mutations(proof, root)) {
          assert.equal(await verifyInclusion(leaf, i, n, bad, root), false,
            `${i} in ${n}, length ${bad.length}`);
        }
        assert.equal(await verifyInclusion(flip(leaf, 7), i, n, proof, root),
          false);
        assert.equal(await verifyInclusion(leaf, i, n, proof, flip(root, 200)),
          false);
        assert.equal(await verifyInclusion(leaf, i, n, proof, naive.root(n + 1)),
          false);
        for (const j of [i ^ 1, i + 1, i - 1, 0, n - 1, n, n + 3]) {
          if (j === i || j < 0) continue;
          assert.equal(await verifyInclusion(leaf, j, n, proof, root), false,
            `index ${j} for ${i} in ${n}`);
        }
        // index >= size
        assert.equal(await verifyInclusion(leaf, n, n, proof, root), false);
        assert.equal(await verifyInclusion(leaf, i, 0, proof, root), false);
        // Another size: verifies with that size's root only when the proof
        // is also that size's proof.
        for (const n2 of [n - 1, n + 1, 2 * n]) {
          if (n2 <= i || n2 > N + 4 || n2 === n) continue;
          const same = listHex(naive.inclusion(i, n2)) === listHex(proof);
          assert.equal(await verifyInclusion(leaf, i, n2, proof,
            naive.root(n2)), same, `${i} in ${n} claimed ${n2}`);
        }
      }
    }
  });

test("consistency rejects tampered proofs, wrong roots and sizes", async () => {
  const N = 17;
  const leaves = naiveLeaves(N);
  const naive = new NaiveTree(leaves);
  for (let n = 1; n <= N; n++) {
    const root2 = naive.root(n);
    for (let m = 1; m <= n; m++) {
      const root1 = naive.root(m);
      const proof = naive.consistency(m, n);
      for (const bad of mutations(proof, root2)) {
        assert.equal(await verifyConsistency(m, n, bad, root1, root2), false,
          `${m} -> ${n}, length ${bad.length}`);
      }
      assert.equal(await verifyConsistency(m, n, [root1, ...proof], root1,
        root2), false);
      assert.equal(await verifyConsistency(m, n, proof, flip(root1, 3), root2),
        false);
      assert.equal(await verifyConsistency(m, n, proof, root1,
        flip(root2, 99)), false);
      if (m !== n) {
        assert.equal(await verifyConsistency(m, n, proof, root2, root1), false);
        assert.equal(await verifyConsistency(n, m, proof, root1, root2), false);
      }
      for (const m2 of [m - 1, m + 1, 2 * m]) {
        if (m2 === m || m2 === 0 || m2 > n) continue;
        assert.equal(await verifyConsistency(m2, n, proof, root1, root2),
          false, `${m} -> ${n} claimed first ${m2}`);
      }
      assert.equal(await verifyConsistency(0, n, proof, emptyRoot(), root2),
        proof.length === 0);
    }
  }
});

test("consistency edge cases the RFC leaves to the caller", async () => {
  const naive = new NaiveTree(naiveLeaves(8));
  const r3 = naive.root(3);
  const r5 = naive.root(5);
  const E = emptyRoot();
  assert.equal(await verifyConsistency(5, 5, [], r5, r5), true);
  assert.equal(await verifyConsistency(5, 5, [], r5, r3), false);
  assert.equal(await verifyConsistency(5, 5, [r3], r5, r5), false);
  assert.equal(await verifyConsistency(0, 5, [], E, r5), true);
  assert.equal(await verifyConsistency(0, 0, [], E, E), true);
  assert.equal(await verifyConsistency(0, 0, [], E, r5), false);
  assert.equal(await verifyConsistency(0, 5, [r3], E, r5), false);
  assert.equal(await verifyConsistency(0, 5, [], r3, r5), false);
  assert.equal(await verifyConsistency(3, 5, [], r3, r5), false);
  assert.equal(await verifyConsistency(4, 8, [], naive.root(4), naive.root(8)),
    false);
  assert.equal(await verifyConsistency(5, 3, naive.consistency(3, 5), r5, r3),
    false);
});

test("sizes beyond 2^32 work, beyond the safe or 64-bit range never verify",
  async () => {
    const naive = new NaiveTree(naiveLeaves(8));
    const leaf = naive.leaves[0];
    const r5 = naive.root(5);
    const max = (1n << 64n) - 1n;
    // Huge sizes neither crash nor loop.
    assert.equal(await verifyConsistency(max - 1n, max, [r5], r5, r5), false);
    assert.equal(await verifyInclusion(leaf, 0, max, [r5], r5), false);
    assert.equal(await verifyInclusion(leaf, 0n, max + 1n, [r5], r5), false);
    // A 2^33-leaf tree whose leaf 2^33-1's path is 33 hashes: shape checks
    // run over BigInt, not 32-bit integers.
    const size = 2 ** 33;
    const path = Array.from({ length: 33 }, (_, k) => naive.root(1 + (k % 8)));
    let r = leaf;
    for (const p of path) r = naiveNode(p, r);
    assert.equal(await verifyInclusion(leaf, size - 1, size, path, r), true);
    assert.equal(await verifyInclusion(leaf, BigInt(size - 1), BigInt(size),
      path, r), true);
    assert.equal(await verifyInclusion(leaf, size - 1, size, path.slice(1), r),
      false);
    // Numbers that are not exact integers are refused.
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53, "3", null, -1n]) {
      assert.equal(await verifyInclusion(leaf, 0, bad, [], leaf), false);
      assert.equal(await verifyInclusion(leaf, bad, 1, [], leaf), false);
      assert.equal(await verifyConsistency(bad, 5, [r5], r5, r5), false);
      assert.equal(await verifyConsistency(5, bad, [], r5, r5), false);
    }
    // Malformed hashes never verify.
    assert.equal(await verifyInclusion(leaf.subarray(1), 0, 1, [], leaf),
      false);
    assert.equal(await verifyInclusion(leaf, 0, 1, [], "root"), false);
    assert.equal(await verifyInclusion(leaf, 0, 2, [new Uint8Array(31)], r5),
      false);
    assert.equal(await verifyInclusion(leaf, 0, 2, "proof", r5), false);
    assert.equal(await verifyConsistency(5, 5, [], r5, r5.subarray(0, 31)),
      false);
    assert.equal(await verifyConsistency(3, 5, [null], naive.root(3), r5),
      false);
  });
