// Unit tests of js/crypto/auditlog.js: canonical entries, the witness
// checks of mobile-bridge/src/witness.cc, and whole access-log pages built
// here from a small tree and a checkpoint signed with a test key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import {
  concatBytes, decodeHex, encodeBase64, encodeHex,
} from "../static/js/crypto/base64.js";
import {
  checkpointBody, noteKeyId, parseVerifierKey, verifierKeyString,
} from "../static/js/crypto/checkpoint.js";
import {
  canonicalEntry, canonicalJson, checkWitness, ProofError,
  verifyAccessLogPage,
} from "../static/js/crypto/auditlog.js";

const subtle = globalThis.crypto.subtle;
const CITIZEN = `c_${"a".repeat(32)}`;
const STRANGER = `c_${"b".repeat(32)}`;
const ORIGIN = "tillit.test/log";

// --- A naive RFC 6962 tree over node:crypto (independent of merkle.js).
const sha = (...parts) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const leafOf = (text) => sha(new Uint8Array([0]), new TextEncoder().encode(text));
const split = (n) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};
function mth(leaves, lo, hi) {
  if (hi === lo) return sha(new Uint8Array(0));
  if (hi - lo === 1) return leaves[lo];
  const k = split(hi - lo);
  return sha(new Uint8Array([1]), mth(leaves, lo, lo + k),
    mth(leaves, lo + k, hi));
}
function path(leaves, m, lo, hi) {
  if (hi - lo === 1) return [];
  const k = split(hi - lo);
  return m < k ? [...path(leaves, m, lo, lo + k), mth(leaves, lo + k, hi)]
    : [...path(leaves, m - k, lo + k, hi), mth(leaves, lo, lo + k)];
}
function subproof(leaves, m, lo, hi, b) {
  if (m === hi - lo) return b ? [] : [mth(leaves, lo, hi)];
  const k = split(hi - lo);
  return m <= k
    ? [...subproof(leaves, m, lo, lo + k, b), mth(leaves, lo + k, hi)]
    : [...subproof(leaves, m - k, lo + k, hi, false), mth(leaves, lo, lo + k)];
}
const root = (leaves, n) => mth(leaves, 0, n);
const inclusionHex = (leaves, i, n) => path(leaves, i, 0, n).map(encodeHex);
const consistencyHex = (leaves, m, n) =>
  subproof(leaves, m, 0, n, true).map(encodeHex);

// --- The audit key and signed checkpoints.
async function auditKey(name = "test-log") {
  const pair = await subtle.generateKey({ name: "Ed25519" }, true,
    ["sign", "verify"]);
  const raw = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
  const verifierKey = await parseVerifierKey(await verifierKeyString(name, raw));
  const sign = async (origin, size, treeRoot) => {
    const body = checkpointBody({ origin, size, root: treeRoot });
    const sig = new Uint8Array(await subtle.sign({ name: "Ed25519" },
      pair.privateKey, new TextEncoder().encode(body)));
    const blob = concatBytes(decodeHex(await noteKeyId(name, raw)), sig);
    return `${body}\n\u2014 ${name} ${encodeBase64(blob)}\n`;
  };
  return { verifierKey, sign };
}

// Six entries; index 3 concerns another citizen and is not listed.
function entryAt(i, tag = "") {
  const actor = i === 3 ? STRANGER : CITIZEN;
  return {
    action: "records.list", actor_id: actor, actor_kind: "citizen",
    categories: i % 2 ? ["lab-results"] : [], citizen: actor,
    decision: "none", grants: [], purpose: "", request_id: `r${i}${tag}`,
    study: "", time: 1700000000 + i,
  };
}
function buildLog(n = 6, tag = "") {
  const canon = Array.from({ length: n }, (_, i) => canonicalJson(entryAt(i, tag)));
  return { canon, leaves: canon.map(leafOf) };
}
function listed(log, i, size) {
  return { ...JSON.parse(log.canon[i]), index: i, actor: entryAt(i).actor_id,
    inclusion_proof: inclusionHex(log.leaves, i, size) };
}
async function page(key, log, size = log.leaves.length, indexes = [5, 4, 2, 1, 0]) {
  return {
    entries: indexes.map((i) => listed(log, i, size)),
    checkpoint: await key.sign(ORIGIN, size, root(log.leaves, size)),
    tree_size: size,
    next: null,
  };
}
const noFetch = () => assert.fail("no consistency proof should be fetched");
const kindOf = (kind) => (e) => {
  assert.ok(e instanceof ProofError, String(e));
  assert.equal(e.kind, kind, e.message);
  return true;
};

test("canonicalEntry is the C++ canonical form of entry_test's example", () => {
  const example = {
    time: 1767225600, actor_kind: "researcher",
    actor_id: "r_0123456789abcdef0123456789abcdef", action: "release.citizen",
    citizen: "c_0123456789abcdef0123456789abcdef",
    categories: ["lab-results", "vital-signs"], purpose: "DUO:0000006",
    study: "s_0123456789abcdef0123456789abcdef",
    grants: ["g_0123456789abcdef0123456789abcdef"], decision: "permit",
    request_id: "req-42",
  };
  const expected = '{"action":"release.citizen",' +
    '"actor_id":"r_0123456789abcdef0123456789abcdef",' +
    '"actor_kind":"researcher","categories":["lab-results","vital-signs"],' +
    '"citizen":"c_0123456789abcdef0123456789abcdef","decision":"permit",' +
    '"grants":["g_0123456789abcdef0123456789abcdef"],"purpose":"DUO:0000006",' +
    '"request_id":"req-42","study":"s_0123456789abcdef0123456789abcdef",' +
    '"time":1767225600}';
  assert.equal(canonicalEntry(example), expected);
  assert.equal(canonicalEntry({ ...example, index: 17,
    actor: example.actor_id, inclusion_proof: ["00"] }), expected);
});

test("canonicalEntry hashes via (entry format 2) and not the device's name",
  () => {
    const old = {
      time: 1767225600, actor_kind: "citizen",
      actor_id: "c_0123456789abcdef0123456789abcdef", action: "records.read",
      citizen: "c_0123456789abcdef0123456789abcdef", categories: [],
      purpose: "", study: "", grants: [], decision: "none", request_id: "r1",
    };
    const withVia = { ...old, via: "d_0123456789abcdef0123456789abcdef" };
    // The bytes entry_test.cc's ViaIsWrittenOnlyWhenSet... pins: "via"
    // sorts last, after "time".
    assert.ok(canonicalEntry(withVia).endsWith(
      ',"time":1767225600,"via":"d_0123456789abcdef0123456789abcdef"}'));
    assert.ok(!canonicalEntry(old).includes("via"));
    assert.equal(canonicalEntry({ ...withVia, device: "Anna's phone" }),
      canonicalEntry(withVia));
    assert.throws(() => canonicalEntry({ ...old, device: "Anna's phone" }),
      kindOf("malformed"));
    assert.throws(() => canonicalEntry({ ...withVia, via: 7 }),
      kindOf("malformed"));
    assert.throws(() => canonicalEntry({ ...withVia, extra: "x" }),
      kindOf("malformed"));
  });

test("canonicalEntry hashes an app's entry like any other, and not its name",
  () => {
    const read = {
      time: 1767225600, actor_kind: "app",
      actor_id: "app_0123456789abcdef0123456789abcdef", action: "records.list",
      citizen: "c_0123456789abcdef0123456789abcdef", categories: [],
      purpose: "", study: "", grants: ["aa_0123456789abcdef0123456789abcdef"],
      decision: "none", request_id: "r2",
    };
    const canonical = canonicalEntry(read);
    assert.ok(canonical.includes('"actor_kind":"app"'));
    assert.ok(canonical.includes(
      '"actor_id":"app_0123456789abcdef0123456789abcdef"'));
    // The vault names the app beside the entry; the name is not hashed.
    assert.equal(canonicalEntry({ ...read, app: "Health Diary" }), canonical);
    assert.equal(canonicalEntry({ ...read, app: null }), canonical);
    assert.ok(!canonicalEntry({ ...read, app: "Health Diary" })
      .includes("Health Diary"));
    assert.throws(() => canonicalEntry({ ...read, app: 7 }),
      kindOf("malformed"));
    assert.throws(() => canonicalEntry({ ...read, actor_kind: "citizen",
      app: "Health Diary" }), kindOf("malformed"));
  });

test("canonicalJson writes what nlohmann::json's dump() writes", () => {
  // Expected text from Python's json.dumps(sort_keys=True, compact,
  // ensure_ascii=False), which escapes and orders as nlohmann does.
  const value = { b: 1, a: [true, false, null, -5, 0], "\uff01": "x",
    "\u{1F600}": "y", Z: { y: "\u0001\u001f\"\\/\b\f\n\r\t\u007f \u00e9\u2028" },
    "": [] };
  assert.equal(canonicalJson(value), '{"":[],"Z":{"y":"\\u0001\\u001f\\"\\\\/' +
    '\\b\\f\\n\\r\\t\u007f \u00e9\u2028"},"a":[true,false,null,-5,0],"b":1,' +
    '"\uff01":"x","\u{1F600}":"y"}');
  assert.equal(canonicalJson(-0), "0");
  assert.equal(canonicalJson(Number.MAX_SAFE_INTEGER), "9007199254740991");
  for (const bad of [1.5, 2 ** 53, NaN, Infinity, "x\uD800", { k: "\uDC00" },
    undefined, 1n, () => 1, Symbol("s"), [undefined]]) {
    assert.throws(() => canonicalJson(bad), kindOf("malformed"), String(bad));
  }
});

test("canonicalEntry refuses what cannot be an audit entry", () => {
  const good = { ...entryAt(0), index: 0, actor: CITIZEN, inclusion_proof: [] };
  const omit = (k) => Object.fromEntries(Object.entries(good)
    .filter(([key]) => key !== k));
  const bad = [
    null, [], "entry", 5,
    { ...good, actor: "operator" },
    { ...omit("actor_id"), actor: CITIZEN },
    omit("time"), omit("grants"), { ...good, extra: 1 },
    JSON.parse(`{"__proto__": {}, ${JSON.stringify(good).slice(1)}`),
    { ...good, time: "1700000000" }, { ...good, time: -1 },
    { ...good, time: 1.5 }, { ...good, categories: "lab-results" },
    { ...good, categories: [1] }, { ...good, grants: null },
    { ...good, citizen: null }, { ...good, decision: 1 },
    { ...good, request_id: "r\uD800" },
  ];
  for (const entry of bad) {
    assert.throws(() => canonicalEntry(entry), kindOf("malformed"),
      JSON.stringify(entry));
  }
  // "actor" is optional.
  assert.equal(canonicalEntry(omit("actor")), canonicalJson(entryAt(0)));
});

test("on_behalf_of, shown on an entry a proxy made, is not hashed and must match", () => {
  // A citizen (STRANGER) acting for CITIZEN as their proxy: the vault adds
  // "on_behalf_of" (the citizen the entry is about) outside the hash, as
  // it adds "actor" (audit-remote/src/remote.cc EntryToApiJson).
  const entry = { ...entryAt(0), actor_id: STRANGER, grants: [`px_${"c".repeat(32)}`],
    purpose: "family-care" };
  const expected = canonicalJson(entry);
  const shown = { ...entry, index: 0, actor: STRANGER, on_behalf_of: CITIZEN,
    inclusion_proof: [] };
  assert.equal(canonicalEntry(shown), expected);
  assert.equal(canonicalEntry({ ...shown, on_behalf_of: null }), expected);
  for (const bad of [
    { ...shown, on_behalf_of: STRANGER },          // not the entry's citizen
    { ...shown, actor_id: CITIZEN, actor: CITIZEN }, // the citizen themselves
    { ...shown, actor_kind: "provider" },          // only citizens act for one
    { ...shown, on_behalf_of: 5 },
  ]) {
    assert.throws(() => canonicalEntry(bad), kindOf("malformed"), JSON.stringify(bad));
  }
});

test("a page verifies: every entry, first witness", async () => {
  const key = await auditKey();
  const log = buildLog();
  const response = await page(key, log);
  const result = await verifyAccessLogPage(response, key.verifierKey, null,
    noFetch, CITIZEN);
  assert.equal(result.state, "first");
  assert.deepEqual(result.witness,
    { origin: ORIGIN, size: 6, root: root(log.leaves, 6) });
  assert.deepEqual(result.checkpoint, result.witness);
  assert.deepEqual([...result.verified.entries()].sort(),
    [[0, true], [1, true], [2, true], [4, true], [5, true]]);
});

test("a tampered proof hash fails only that entry", async () => {
  const key = await auditKey();
  const log = buildLog();
  const response = await page(key, log);
  const proof = response.entries[1].inclusion_proof; // index 4
  proof[0] = (proof[0][0] === "0" ? "1" : "0") + proof[0].slice(1);
  const { verified, witness } = await verifyAccessLogPage(response,
    key.verifierKey, null, noFetch, CITIZEN);
  assert.equal(verified.get(4), "proof-failed");
  for (const i of [0, 1, 2, 5]) assert.equal(verified.get(i), true);
  assert.equal(witness.size, 6); // the checkpoint itself was good
});

test("each way an entry can fail has its reason", async () => {
  const key = await auditKey();
  const log = buildLog();
  const base = await page(key, log);
  const check = async (alter, index, reason) => {
    const response = structuredClone(base);
    alter(response.entries);
    const { verified } = await verifyAccessLogPage(response, key.verifierKey,
      null, noFetch, CITIZEN);
    assert.equal(verified.get(index), reason, `${reason} at ${index}`);
  };
  const at = (entries, i) => entries.find((e) => e.index === i);
  await check((e) => { at(e, 1).action = "records.read"; }, 1, "proof-failed");
  await check((e) => { at(e, 1).time += 1; }, 1, "proof-failed");
  await check((e) => { at(e, 0).index = 3; }, 3, "proof-failed");
  await check((e) => { at(e, 2).actor = "operator"; }, 2, "malformed-entry");
  await check((e) => { at(e, 2).extra = 1; }, 2, "malformed-entry");
  await check((e) => { at(e, 0).index = 6; }, 6, "beyond-checkpoint");
  await check((e) => { delete at(e, 5).inclusion_proof; }, 5, "malformed-proof");
  await check((e) => { at(e, 5).inclusion_proof[0] = "zz"; }, 5,
    "malformed-proof");
  await check((e) => { at(e, 5).inclusion_proof.push("ab"); }, 5,
    "malformed-proof");
  await check((e) => { at(e, 5).inclusion_proof = Array(65).fill("0".repeat(64)); },
    5, "malformed-proof");
  await check((e) => { at(e, 5).inclusion_proof.pop(); }, 5, "proof-failed");
  // Two entries claim index 1 (one altered): neither is verified.
  await check((e) => { e.push({ ...at(e, 1), action: "records.read" }); }, 1,
    "duplicate-index");
  await check((e) => { e.unshift({ ...at(e, 1), action: "records.read" }); }, 1,
    "duplicate-index");
  // Entries without a usable index have no key at all.
  for (const index of [-1, "0", 1.5, null, undefined]) {
    const response = structuredClone(base);
    response.entries[4].index = index; // was 0
    response.entries.push("not an entry", null);
    const { verified } = await verifyAccessLogPage(response, key.verifierKey,
      null, noFetch, CITIZEN);
    assert.deepEqual([...verified.keys()].sort(), [1, 2, 4, 5]);
  }
});

test("an entry of another citizen is not verified for this one", async () => {
  const key = await auditKey();
  const log = buildLog();
  const response = await page(key, log, 6, [3, 2]); // 3 is the stranger's
  const mine = await verifyAccessLogPage(response, key.verifierKey, null,
    noFetch, CITIZEN);
  assert.equal(mine.verified.get(3), "other-citizen");
  assert.equal(mine.verified.get(2), true);
  const theirs = await verifyAccessLogPage(response, key.verifierKey, null,
    noFetch, STRANGER);
  assert.equal(theirs.verified.get(3), true);
  assert.equal(theirs.verified.get(2), "other-citizen");
});

test("the witness advances with a consistency proof", async () => {
  const key = await auditKey();
  const log = buildLog();
  const stored = { origin: ORIGIN, size: 4, root: root(log.leaves, 4) };
  const calls = [];
  const fetchHashes = async (from, to) => {
    calls.push([from, to]);
    return consistencyHex(log.leaves, from, to);
  };
  const result = await verifyAccessLogPage(await page(key, log),
    key.verifierKey, stored, fetchHashes, CITIZEN);
  assert.equal(result.state, "advanced");
  assert.deepEqual(calls, [[4, 6]]);
  assert.equal(result.witness.size, 6);
  assert.equal(result.verified.get(5), true);
  // The whole answer of GET /v1/audit/proofs/consistency works too.
  const opened = { origin: ORIGIN, size: 6, root: root(log.leaves, 6) };
  const whole = async (from, to) => ({ from, to,
    hashes: consistencyHex(log.leaves, from, to) });
  for (const m of [1, 2, 3, 5]) {
    const old = { origin: ORIGIN, size: m, root: root(log.leaves, m) };
    assert.equal((await checkWitness(old, opened, whole)).state, "advanced");
  }
  // Answers that are not a proof for these sizes.
  const answers = [
    { from: 3, to: 6, hashes: consistencyHex(log.leaves, 4, 6) },
    { from: 4, to: 7, hashes: [] }, { from: 4, to: 6 }, ["zz"], "hashes",
    null, Array(65).fill("00".repeat(32)),
  ];
  for (const answer of answers) {
    await assert.rejects(checkWitness(stored, opened, async () => answer),
      kindOf("malformed"), JSON.stringify(answer));
  }
});

test("the same checkpoint again is 'same' and needs no proof", async () => {
  const key = await auditKey();
  const log = buildLog();
  const stored = { origin: ORIGIN, size: 6, root: root(log.leaves, 6),
    note: "kept" };
  const result = await verifyAccessLogPage(await page(key, log),
    key.verifierKey, stored, noFetch, CITIZEN);
  assert.equal(result.state, "same");
  assert.equal(result.witness, stored);
  assert.equal(result.verified.get(0), true);
});

test("a smaller log is a rollback", async () => {
  const key = await auditKey();
  const log = buildLog(7);
  const stored = { origin: ORIGIN, size: 7, root: root(log.leaves, 7) };
  await assert.rejects(verifyAccessLogPage(await page(key, log, 6),
    key.verifierKey, stored, noFetch, CITIZEN), kindOf("rollback"));
});

test("another history is a fork", async () => {
  const key = await auditKey();
  const log = buildLog();
  const other = buildLog(6, "-forged");
  const response = await page(key, log);
  // The same size with another root.
  await assert.rejects(verifyAccessLogPage(response, key.verifierKey,
    { origin: ORIGIN, size: 6, root: root(other.leaves, 6) }, noFetch,
    CITIZEN), kindOf("fork"));
  // A bigger log whose honest proof does not lead back to the witness.
  await assert.rejects(verifyAccessLogPage(response, key.verifierKey,
    { origin: ORIGIN, size: 4, root: root(other.leaves, 4) },
    async (from, to) => consistencyHex(log.leaves, from, to), CITIZEN),
  kindOf("fork"));
  // A proof altered in transit.
  await assert.rejects(verifyAccessLogPage(response, key.verifierKey,
    { origin: ORIGIN, size: 4, root: root(log.leaves, 4) },
    async (from, to) => {
      const p = consistencyHex(log.leaves, from, to);
      p[0] = (p[0][0] === "f" ? "e" : "f") + p[0].slice(1);
      return p;
    }, CITIZEN), kindOf("fork"));
  // An empty proof where one is needed.
  await assert.rejects(verifyAccessLogPage(response, key.verifierKey,
    { origin: ORIGIN, size: 4, root: root(log.leaves, 4) }, async () => [],
    CITIZEN), kindOf("fork"));
  // Another origin.
  await assert.rejects(verifyAccessLogPage(response, key.verifierKey,
    { origin: "elsewhere", size: 6, root: root(log.leaves, 6) }, noFetch,
    CITIZEN), kindOf("fork"));
});

test("an empty witness advances without a proof, unless its root is wrong",
  async () => {
    const log = buildLog();
    const opened = { origin: ORIGIN, size: 3, root: root(log.leaves, 3) };
    const empty = { origin: ORIGIN, size: 0, root: sha(new Uint8Array(0)) };
    assert.equal((await checkWitness(empty, opened, noFetch)).state,
      "advanced");
    const bad = { ...empty, root: Uint8Array.from(empty.root) };
    bad.root[0] ^= 1;
    await assert.rejects(checkWitness(bad, opened, noFetch), kindOf("fork"));
    assert.equal((await checkWitness(undefined, opened, noFetch)).state,
      "first");
  });

test("errors of fetchConsistency propagate unchanged", async () => {
  const log = buildLog();
  const offline = new Error("network down");
  await assert.rejects(checkWitness(
    { origin: ORIGIN, size: 2, root: root(log.leaves, 2) },
    { origin: ORIGIN, size: 6, root: root(log.leaves, 6) },
    async () => { throw offline; }), (e) => e === offline);
});

test("malformed responses, keys and arguments are refused", async () => {
  const key = await auditKey();
  const log = buildLog();
  const good = await page(key, log);
  for (const response of [null, [], { ...good, checkpoint: undefined },
    { ...good, entries: undefined }, { ...good, entries: {} },
    { ...good, tree_size: undefined }, { ...good, tree_size: "6" },
    { ...good, tree_size: -1 }, { ...good, tree_size: 5 },
    { ...good, tree_size: 7 }, { ...good, checkpoint: "not a note" }]) {
    await assert.rejects(verifyAccessLogPage(response, key.verifierKey, null,
      noFetch, CITIZEN), kindOf("malformed"));
  }
  // A checkpoint signed by another key.
  const stranger = await auditKey();
  await assert.rejects(verifyAccessLogPage(good, stranger.verifierKey, null,
    noFetch, CITIZEN), kindOf("unauthenticated"));
  for (const citizen of ["", undefined, 5]) {
    await assert.rejects(verifyAccessLogPage(good, key.verifierKey, null,
      noFetch, citizen), TypeError);
  }
  const opened = { origin: ORIGIN, size: 6, root: root(log.leaves, 6) };
  for (const stored of [{}, { ...opened, size: -1 }, { ...opened, size: "6" },
    { ...opened, root: "abc" }, { ...opened, root: new Uint8Array(31) },
    { ...opened, origin: 1 }]) {
    await assert.rejects(checkWitness(stored, opened, noFetch), TypeError);
  }
  await assert.rejects(checkWitness(null, { ...opened, size: 1.5 }, noFetch),
    TypeError);
});
