// Signed checkpoints of the audit log: C2SP tlog-checkpoint bodies in C2SP
// signed notes with Ed25519 signatures, opened exactly as
// audit/src/checkpoint.cc opens them (docs/AUDIT_FORMATS.md, "Checkpoint"
// and "Opening a note"):
//
//   <origin>\n<size>\n<base64 root>\n[<extension line>\n ...]   the body
//   \n
//   — <key name> <base64(4-byte key id || 64-byte signature)>\n  (1 to 100)
//
// Errors are ProofErrors; their `kind` says what went wrong, their message
// why (never a secret: these are all public values).

import {
  bytesEqual, concatBytes, decodeBase64, encodeBase64, encodeHex,
  isWellFormedText, utf8Decode, utf8Encode,
} from "./base64.js";

/** The largest note opened, in bytes (kMaxNoteSize). */
export const MAX_NOTE_SIZE = 64 * 1024;
/** The most signature lines a note may carry (kMaxNoteSignatures). */
export const MAX_NOTE_SIGNATURES = 100;

const SIG_PREFIX = "\u2014 "; // EM DASH and one space
const ED25519_TYPE = 0x01;
const KEY_ID_SIZE = 4;
const SIGNATURE_SIZE = 64;
const MAX_U64 = (1n << 64n) - 1n;

/**
 * A failed check of audit evidence. `kind` is one of:
 *   "malformed"        not in the format (note, key, proof, response);
 *   "unauthenticated"  no valid signature by the audit key;
 *   "unsupported"      a valid checkpoint of more than 2^53 - 1 entries,
 *                      beyond what this client counts exactly;
 *   "rollback"         the log is smaller than the one already witnessed;
 *   "fork"             the log is not an extension of the witnessed one.
 * `reason` (also the message) says which rule failed, in English.
 */
export class ProofError extends Error {
  /**
   * @param {"malformed"|"unauthenticated"|"unsupported"|"rollback"|"fork"}
   *   kind
   * @param {string} reason
   */
  constructor(kind, reason) {
    super(reason);
    this.name = "ProofError";
    this.kind = kind;
    this.reason = reason;
  }
}

const malformed = (why) => new ProofError("malformed", why);
const tooLarge = () => malformed("note is larger than 64 KiB");

// Control characters: C0, DEL and C1.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;
// Unicode White_Space outside ASCII.
const UNICODE_SPACE =
  /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/**
 * True when `name` can name a note key: a non-empty well-formed string with
 * no white space (ASCII or Unicode), no control character and no "+".
 * @param {string} name
 * @returns {boolean}
 */
export function isValidKeyName(name) {
  return typeof name === "string" && name.length > 0 &&
    isWellFormedText(name) && !/[+ ]/.test(name) && !CONTROL.test(name) &&
    !UNICODE_SPACE.test(name);
}

async function sha256(bytes) {
  const digest = await globalThis.crypto.subtle.digest("SHA-256", bytes);
  return new Uint8Array(digest);
}

/**
 * The signed-note key id of an Ed25519 key: the first 4 bytes of
 * SHA-256(name || "\n" || 0x01 || public key), as 8 lowercase hex digits.
 * @param {string} name a valid key name
 * @param {Uint8Array} rawPublicKey 32 bytes
 * @returns {Promise<string>}
 * @throws {ProofError} "malformed" for a bad name or key size.
 */
export async function noteKeyId(name, rawPublicKey) {
  if (!isValidKeyName(name)) throw malformed("invalid key name");
  if (!(rawPublicKey instanceof Uint8Array) || rawPublicKey.length !== 32) {
    throw malformed("an Ed25519 public key is 32 bytes");
  }
  const digest = await sha256(concatBytes(utf8Encode(name),
    new Uint8Array([0x0a, ED25519_TYPE]), rawPublicKey));
  return encodeHex(digest.subarray(0, KEY_ID_SIZE));
}

/**
 * The C2SP verifier key string "<name>+<key id hex>+<base64(0x01 || key)>".
 * @param {string} name a valid key name
 * @param {Uint8Array} rawPublicKey 32 bytes
 * @returns {Promise<string>}
 * @throws {ProofError} "malformed" as noteKeyId.
 */
export async function verifierKeyString(name, rawPublicKey) {
  const id = await noteKeyId(name, rawPublicKey);
  return `${name}+${id}+` +
    encodeBase64(concatBytes(new Uint8Array([ED25519_TYPE]), rawPublicKey));
}

/**
 * Parses a verifier key string (the pinned audit key). Strict: no
 * surrounding white space or trailing newline is removed.
 * @param {string} text "<name>+<8 hex digits>+<base64(0x01 || 32 bytes)>"
 * @returns {Promise<{name: string, keyId: string, publicKey: CryptoKey,
 *   raw: Uint8Array, text: string}>} keyId: 8 lowercase hex digits;
 *   publicKey: an Ed25519 "verify" key; raw: its 32 bytes.
 * @throws {ProofError} "malformed" for a bad name, a key id that is not 8
 *   hex digits or does not match the key, bad base64, a type byte other
 *   than 0x01, or a key that is not 32 bytes.
 */
export async function parseVerifierKey(text) {
  if (typeof text !== "string") throw malformed("verifier key is not text");
  const first = text.indexOf("+");
  if (first < 0) throw malformed("verifier key has no '+'");
  const name = text.slice(0, first);
  const rest = text.slice(first + 1);
  if (!isValidKeyName(name)) {
    throw malformed("verifier key has an invalid name");
  }
  if (rest.length < 9 || rest[8] !== "+" ||
      !/^[0-9a-fA-F]{8}$/.test(rest.slice(0, 8))) {
    throw malformed("verifier key id is not 8 hex digits");
  }
  let typed;
  try {
    typed = decodeBase64(rest.slice(9));
  } catch {
    throw malformed("verifier key is not an Ed25519 key");
  }
  if (typed.length !== 33 || typed[0] !== ED25519_TYPE) {
    throw malformed("verifier key is not an Ed25519 key");
  }
  const raw = typed.slice(1);
  const keyId = await noteKeyId(name, raw);
  if (keyId !== rest.slice(0, 8).toLowerCase()) {
    throw malformed("verifier key id does not match the key");
  }
  let publicKey;
  try {
    publicKey = await globalThis.crypto.subtle.importKey("raw", raw,
      { name: "Ed25519" }, true, ["verify"]);
  } catch {
    throw malformed("verifier key is not an Ed25519 key");
  }
  return { name, keyId, publicKey, raw, text };
}

/**
 * The checkpoint body (the signed bytes, as text):
 * "<origin>\n<size>\n<base64 root>\n".
 * @param {{origin: string, size: number|bigint, root: Uint8Array}} checkpoint
 * @returns {string}
 */
export function checkpointBody({ origin, size, root }) {
  return `${origin}\n${BigInt(size)}\n${encodeBase64(root)}\n`;
}

function parseSignatureLines(text) {
  const lines = text.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw malformed("note has too many signatures");
  }
  return lines.map((line) => {
    if (!line.startsWith(SIG_PREFIX)) {
      throw malformed("malformed signature line");
    }
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(" ");
    if (space < 0) throw malformed("malformed signature line");
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw malformed("malformed signature key name");
    let bytes;
    try {
      bytes = decodeBase64(rest.slice(space + 1));
    } catch {
      throw malformed("malformed signature encoding");
    }
    if (bytes.length <= KEY_ID_SIZE) {
      throw malformed("malformed signature encoding");
    }
    return {
      name,
      keyId: encodeHex(bytes.subarray(0, KEY_ID_SIZE)),
      signature: bytes.slice(KEY_ID_SIZE),
    };
  });
}

function parseBody(body) {
  const lines = body.slice(0, -1).split("\n");
  if (lines.length < 3) {
    throw malformed("checkpoint needs origin, size and root");
  }
  if (lines.some((l) => l.length === 0)) {
    throw malformed("checkpoint has an empty line");
  }
  if (!/^(0|[1-9][0-9]{0,19})$/.test(lines[1]) || BigInt(lines[1]) > MAX_U64) {
    throw malformed("checkpoint size is not a decimal number");
  }
  let root;
  try {
    root = decodeBase64(lines[2]);
  } catch {
    root = null;
  }
  if (root === null || root.length !== 32) {
    throw malformed("checkpoint root is not 32 base64 bytes");
  }
  return { origin: lines[0], size: BigInt(lines[1]), root };
}

/**
 * Opens a signed checkpoint note with the audit key, applying every rule of
 * docs/AUDIT_FORMATS.md "Opening a note": at most 64 KiB, valid UTF-8 with
 * no control character but newline, a blank line, 1 to 100 well-formed
 * signature lines (lines by other keys too), a body of at least origin,
 * size and root with no empty line; lines by other names or key ids are
 * ignored; every line by the key must carry a valid 64-byte signature of
 * the body, and there must be at least one.
 * @param {string|Uint8Array} note the note's text or its UTF-8 bytes
 * @param {{name: string, keyId: string, publicKey: CryptoKey}} verifierKey
 *   from parseVerifierKey
 * @returns {Promise<{origin: string, size: number, root: Uint8Array}>}
 * @throws {ProofError} "malformed" for a violation of the format,
 *   "unauthenticated" for a missing or bad signature by the key,
 *   "unsupported" for a signed size above Number.MAX_SAFE_INTEGER.
 */
export async function openCheckpoint(note, verifierKey) {
  if (!verifierKey || !isValidKeyName(verifierKey.name) ||
      typeof verifierKey.keyId !== "string" || !verifierKey.publicKey) {
    throw malformed("invalid verifier key");
  }
  let text = note;
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_SIZE) throw tooLarge();
    try {
      text = utf8Decode(note);
    } catch {
      throw malformed("note is not UTF-8 text");
    }
  }
  if (typeof text !== "string") throw malformed("note is not text");
  // A string of more than 64 Ki UTF-16 units has more than 64 KiB of UTF-8.
  if (text.length > MAX_NOTE_SIZE) throw tooLarge();
  if (!isWellFormedText(text)) throw malformed("note is not UTF-8 text");
  if (utf8Encode(text).length > MAX_NOTE_SIZE) throw tooLarge();
  if (CONTROL_BUT_NEWLINE.test(text)) {
    throw malformed("note has a control character");
  }

  // The signatures follow the last blank line; the body keeps its final
  // newline and is exactly the signed bytes.
  const split = text.lastIndexOf("\n\n");
  if (split < 0) throw malformed("note has no blank line before signatures");
  const body = text.slice(0, split + 1);
  const sigText = text.slice(split + 2);
  if (sigText.length === 0 || !sigText.endsWith("\n")) {
    throw malformed("note must end with a signature line");
  }
  const sigs = parseSignatureLines(sigText);
  const checkpoint = parseBody(body);

  const bodyBytes = utf8Encode(body);
  let verified = false;
  for (const sig of sigs) {
    if (sig.name !== verifierKey.name || sig.keyId !== verifierKey.keyId) {
      continue; // another key's line, e.g. a witness cosignature
    }
    const ok = sig.signature.length === SIGNATURE_SIZE &&
      await globalThis.crypto.subtle.verify({ name: "Ed25519" },
        verifierKey.publicKey, sig.signature, bodyBytes);
    if (!ok) {
      throw new ProofError("unauthenticated",
        "checkpoint signature does not verify");
    }
    verified = true;
  }
  if (!verified) {
    throw new ProofError("unauthenticated",
      "checkpoint has no signature by the key");
  }
  if (checkpoint.size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProofError("unsupported",
      "checkpoint size is beyond what this client counts exactly");
  }
  return { ...checkpoint, size: Number(checkpoint.size) };
}

/**
 * True for two checkpoints of the same origin and size with different
 * roots: if both came out of openCheckpoint with the log's key, they are a
 * signed proof that the log showed two histories.
 * @param {{origin: string, size: number, root: Uint8Array}} a
 * @param {{origin: string, size: number, root: Uint8Array}} b
 * @returns {boolean}
 */
export function isFork(a, b) {
  return a.origin === b.origin && a.size === b.size &&
    !bytesEqual(a.root, b.root);
}
