// Verification of the citizen's access log, as the mobile bridge does it
// (mobile-bridge/src/witness.cc; docs/MOBILE_BRIDGE.md "Access-log
// witness"): open the checkpoint the server sends with the pinned audit
// key, check that it extends the last checkpoint this browser witnessed,
// then check each entry's inclusion proof against it.
//
// An entry's leaf is SHA-256(0x00 || canonical entry), the canonical entry
// being the listed entry without "index", "inclusion_proof", "actor",
// "on_behalf_of", "device" and "app", serialised as nlohmann::json's dump()
// (audit/src/entry.cc). "via" (the paired device's id) is hashed when
// present: entry format 2 writes it only when a device made the request.
// An entry's actor_kind is hashed whatever it is ("app" for a connected
// app's read, its client id in actor_id); the app's name beside it is not.

import { decodeHex, isWellFormedText, utf8Encode } from "./base64.js";
import { openCheckpoint, ProofError } from "./checkpoint.js";
import { leafHash, verifyConsistency, verifyInclusion } from "./merkle.js";

export { ProofError };

// The fields of a canonical audit entry and their JSON types.
const ENTRY_FIELDS = {
  action: "string", actor_id: "string", actor_kind: "string",
  categories: "strings", citizen: "string", decision: "string",
  grants: "strings", purpose: "string", request_id: "string",
  study: "string", time: "time",
};
// Hashed when present (entry format 2), absent from older entries.
const OPTIONAL_FIELDS = { via: "string" };
const NOT_HASHED = new Set(["index", "inclusion_proof", "actor",
  "on_behalf_of", "device", "app"]);
const MAX_PROOF_HASHES = 64; // an RFC 6962 proof for any 64-bit size

const malformed = (why) => new ProofError("malformed", why);
const isObject = (v) => typeof v === "object" && v !== null &&
  !Array.isArray(v);

// Orders strings by their UTF-8 bytes (= by code point), as std::map does.
function compareUtf8(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * JSON text exactly as nlohmann::json's dump() (no indent, UTF-8 kept)
 * writes the same value: object keys sorted by their UTF-8 bytes, no white
 * space, strings escaped as JSON.stringify does (", \, \b \f \n \r \t,
 * other controls as \u00xx).
 * @param {*} value null, booleans, safe integers, well-formed strings,
 *   arrays and plain objects of these
 * @returns {string}
 * @throws {ProofError} "malformed" for anything else (a fraction or an
 *   integer beyond 2^53 - 1 could not be written back byte for byte; an
 *   unpaired surrogate is not UTF-8).
 */
export function canonicalJson(value) {
  if (value === null || typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) {
      throw malformed("a number is not an integer");
    }
    return String(value);
  }
  if (typeof value === "string") {
    if (!isWellFormedText(value)) throw malformed("a string is not UTF-8");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort(compareUtf8);
    return `{${keys.map((k) => `${canonicalJson(k)}:${canonicalJson(value[k])}`)
      .join(",")}}`;
  }
  throw malformed("a value is not JSON");
}

/**
 * The canonical bytes' text of an access-log entry as listed by
 * GET /v1/me/access-log: the entry without "index", "inclusion_proof",
 * "actor" (which, when present, must equal "actor_id") and "on_behalf_of"
 * (on an entry made by a proxy or guardian; when present and not null, it
 * must equal "citizen", and the actor must be another citizen), with
 * exactly the fields of an audit entry (action, actor_id, actor_kind,
 * categories, citizen, decision, grants, purpose, request_id, study,
 * time, and "via" when a paired device made the request; "device", its
 * name, is shown beside it and not hashed, as is "app", the name of the
 * app that made an entry of actor_kind "app"), serialised by
 * canonicalJson. The values themselves are bound by
 * the inclusion proof, not checked here.
 * @param {object} listed one element of the response's "entries"
 * @returns {string}
 * @throws {ProofError} "malformed" when the entry is not of that shape.
 */
export function canonicalEntry(listed) {
  if (!isObject(listed)) throw malformed("an entry is not an object");
  if (Object.hasOwn(listed, "on_behalf_of") && listed.on_behalf_of !== null &&
      (listed.actor_kind !== "citizen" || typeof listed.citizen !== "string" ||
        listed.on_behalf_of !== listed.citizen ||
        listed.actor_id === listed.citizen)) {
    throw malformed("on_behalf_of does not match the entry");
  }
  if (Object.hasOwn(listed, "actor") && (!Object.hasOwn(listed, "actor_id") ||
      canonicalJson(listed.actor) !== canonicalJson(listed.actor_id))) {
    throw malformed("actor does not match actor_id");
  }
  if (Object.hasOwn(listed, "device") && (typeof listed.device !== "string" ||
      !Object.hasOwn(listed, "via"))) {
    throw malformed("device without via");
  }
  if (Object.hasOwn(listed, "app") && listed.app !== null &&
      (typeof listed.app !== "string" || listed.actor_kind !== "app")) {
    throw malformed("app on an entry no app made");
  }
  const keys = Object.keys(listed).filter((k) => !NOT_HASHED.has(k));
  const optional = keys.filter((k) => Object.hasOwn(OPTIONAL_FIELDS, k));
  if (keys.length - optional.length !== Object.keys(ENTRY_FIELDS).length ||
      !keys.every((k) => Object.hasOwn(ENTRY_FIELDS, k) ||
        Object.hasOwn(OPTIONAL_FIELDS, k))) {
    throw malformed("an entry does not have the audit entry's fields");
  }
  const entry = {};
  for (const key of keys) entry[key] = listed[key];
  const present = Object.entries(OPTIONAL_FIELDS)
    .filter(([key]) => Object.hasOwn(entry, key));
  for (const [key, type] of [...Object.entries(ENTRY_FIELDS), ...present]) {
    const v = entry[key];
    const isString = (s) => typeof s === "string";
    const ok = type === "string" ? isString(v)
      : type === "strings" ? Array.isArray(v) && v.every(isString)
        : Number.isSafeInteger(v) && v >= 0;
    if (!ok) throw malformed(`an entry's ${key} has the wrong type`);
  }
  return canonicalJson(entry);
}

// 32-byte hashes from a list of hex strings; null when malformed.
function hashList(list) {
  if (!Array.isArray(list) || list.length > MAX_PROOF_HASHES) return null;
  const out = [];
  for (const h of list) {
    if (typeof h !== "string" || !/^[0-9a-fA-F]{64}$/.test(h)) return null;
    out.push(decodeHex(h));
  }
  return out;
}

function isCheckpoint(c) {
  return isObject(c) && typeof c.origin === "string" &&
    Number.isSafeInteger(c.size) && c.size >= 0 &&
    c.root instanceof Uint8Array && c.root.length === 32;
}

const hexStart = (root) => [...root.subarray(0, 8)]
  .map((b) => b.toString(16).padStart(2, "0")).join("");
const describe = (c) => `size ${c.size}, root ${hexStart(c.root)}…`;

/**
 * Checks that an opened checkpoint extends the one this browser witnessed
 * (mobile-bridge/src/witness.cc CheckExtends):
 *   no witness yet: "first", the checkpoint becomes the witness;
 *   another origin: fork; a smaller size: rollback;
 *   the same size: "same" with the same root (the stored witness is kept),
 *     fork with another;
 *   a larger size: "advanced" when the consistency proof from the witnessed
 *     size verifies (none is fetched from an empty witness, whose root must
 *     be SHA-256("")), fork when it does not.
 * @param {{origin: string, size: number, root: Uint8Array}|null} stored the
 *   last witnessed checkpoint, null or undefined for none
 * @param {{origin: string, size: number, root: Uint8Array}} opened from
 *   openCheckpoint
 * @param {(from: number, to: number) => Promise<string[]|{from: number,
 *   to: number, hashes: string[]}>} fetchConsistency fetches
 *   GET /v1/audit/proofs/consistency?from=&to=: its hex hashes, or the whole
 *   answer (then its from and to must be those asked for). Called at most
 *   once; its own errors propagate unchanged.
 * @returns {Promise<{state: "first"|"same"|"advanced", witness: {origin:
 *   string, size: number, root: Uint8Array}}>} witness: what to store now.
 * @throws {ProofError} "rollback" or "fork" as above; "malformed" for a
 *   consistency answer that is not one. TypeError for a malformed stored
 *   or opened checkpoint.
 */
export async function checkWitness(stored, opened, fetchConsistency) {
  if (!isCheckpoint(opened)) throw new TypeError("opened is not a checkpoint");
  if (stored === null || stored === undefined) {
    return { state: "first", witness: opened };
  }
  if (!isCheckpoint(stored)) throw new TypeError("stored witness is malformed");
  if (opened.origin !== stored.origin) {
    throw new ProofError("fork", "the server's checkpoint names another log");
  }
  if (opened.size < stored.size) {
    throw new ProofError("rollback", `the server's log has ${opened.size} ` +
      `entries but this browser verified ${stored.size}`);
  }
  if (opened.size === stored.size) {
    if (await verifyConsistency(stored.size, opened.size, [], stored.root,
      opened.root)) {
      return { state: "same", witness: stored };
    }
    throw new ProofError("fork", "the server shows another log of the " +
      `verified size (${describe(opened)} against ${describe(stored)})`);
  }
  let proof = [];
  if (stored.size > 0) {
    let answer = await fetchConsistency(stored.size, opened.size);
    if (isObject(answer)) {
      if (answer.from !== stored.size || answer.to !== opened.size) {
        throw malformed("the consistency proof is for other sizes");
      }
      answer = answer.hashes;
    }
    proof = hashList(answer);
    if (proof === null) throw malformed("the consistency proof is malformed");
  }
  if (!await verifyConsistency(stored.size, opened.size, proof, stored.root,
    opened.root)) {
    throw new ProofError("fork", `the server's log (${describe(opened)}) ` +
      `does not extend the verified one (${describe(stored)})`);
  }
  return { state: "advanced", witness: opened };
}

// true, or why `listed` does not verify against `checkpoint`.
async function verifyEntry(listed, checkpoint, citizenId) {
  if (listed.index >= checkpoint.size) return "beyond-checkpoint";
  const proof = hashList(listed.inclusion_proof);
  if (proof === null) return "malformed-proof";
  let canonical;
  try {
    canonical = canonicalEntry(listed);
  } catch (e) {
    if (e instanceof ProofError) return "malformed-entry";
    throw e;
  }
  if (listed.citizen !== citizenId) return "other-citizen";
  const leaf = await leafHash(utf8Encode(canonical));
  return await verifyInclusion(leaf, listed.index, checkpoint.size, proof,
    checkpoint.root) || "proof-failed";
}

/**
 * Verifies one page of GET /v1/me/access-log?proofs=true: opens its
 * checkpoint with the audit key, checks tree_size is the checkpoint's size,
 * runs checkWitness (a fork or rollback throws: the whole page is then
 * untrusted), and checks every entry. The returned witness is to be stored
 * in place of `stored` (it also advances when some entries fail: the signed
 * checkpoint itself extended the log).
 * @param {{entries: object[], checkpoint: string, tree_size: number}}
 *   response the parsed answer
 * @param {{name: string, keyId: string, publicKey: CryptoKey}} verifierKey
 *   the pinned audit key, from parseVerifierKey
 * @param {{origin: string, size: number, root: Uint8Array}|null} stored the
 *   last witnessed checkpoint, or null
 * @param {Function} fetchConsistency as for checkWitness
 * @param {string} citizenId the signed-in citizen (c_…)
 * @returns {Promise<{state: "first"|"same"|"advanced", witness: object,
 *   checkpoint: {origin: string, size: number, root: Uint8Array},
 *   verified: Map<number, true|string>}>} verified: for each listed index,
 *   true when the entry's inclusion proof leads to the checkpoint's root and
 *   the entry concerns citizenId, or why not: "beyond-checkpoint",
 *   "malformed-proof", "malformed-entry", "other-citizen", "proof-failed",
 *   "duplicate-index" (the page lists the index twice: none of its copies is
 *   verified). An entry without a non-negative integer index has no key, so
 *   it is never verified.
 * @throws {ProofError} as openCheckpoint and checkWitness; "malformed" when
 *   the response lacks entries, checkpoint or tree_size, or tree_size is
 *   not the checkpoint's size. TypeError for an empty citizenId.
 */
export async function verifyAccessLogPage(response, verifierKey, stored,
  fetchConsistency, citizenId) {
  if (typeof citizenId !== "string" || citizenId.length === 0) {
    throw new TypeError("citizenId is required");
  }
  if (!isObject(response) || typeof response.checkpoint !== "string" ||
      !Array.isArray(response.entries) ||
      !Number.isSafeInteger(response.tree_size) || response.tree_size < 0) {
    throw malformed("the access log carries no checkpoint to verify");
  }
  const checkpoint = await openCheckpoint(response.checkpoint, verifierKey);
  if (response.tree_size !== checkpoint.size) {
    throw malformed("tree_size is not the checkpoint's size");
  }
  const { state, witness } = await checkWitness(stored, checkpoint,
    fetchConsistency);
  const verified = new Map();
  for (const listed of response.entries) {
    if (!isObject(listed) || !Number.isSafeInteger(listed.index) ||
        listed.index < 0) {
      continue;
    }
    const result = await verifyEntry(listed, checkpoint, citizenId);
    verified.set(listed.index,
      verified.has(listed.index) ? "duplicate-index" : result);
  }
  return { state, witness, checkpoint, verified };
}
