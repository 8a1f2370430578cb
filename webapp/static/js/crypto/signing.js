// Signed requests of a paired device: RFC 9421 HTTP Message Signatures over
// an RFC 9530 Content-Digest, in the one canonical form the server accepts
// (docs/MOBILE_BRIDGE.md "Signed requests";
// http-signature/include/tillit/http_signature/http_signature.h):
//
//   Content-Digest: sha-256=:<base64 SHA-256 of the body, also when empty>:
//   Signature-Input: tillit=("@method" "@path" "@query" "content-digest")
//     ;created=<unix seconds>;keyid="<device id>";nonce="<16-64 of
//     A-Z a-z 0-9 _ ->";alg="ed25519"          (one line, no spaces)
//   Signature: tillit=:<base64 Ed25519 signature of the signature base>:
//
// Uses only WebCrypto (globalThis.crypto); runs in browsers and Node >= 20.

import { encodeBase64, utf8Encode } from "./base64.js";

const subtle = () => globalThis.crypto.subtle;

/** The signature label the server accepts. */
export const SIGNATURE_LABEL = "tillit";

const COVERED = '("@method" "@path" "@query" "content-digest")';
const TOKEN = /^[A-Za-z0-9_-]*$/;
const MAX_KEY_ID = 64;
const MIN_NONCE = 16;
const MAX_NONCE = 64;
const MAX_CREATED_DIGITS = 12; // the server reads at most 12 digits

function checkToken(value, min, max, what) {
  if (typeof value !== "string" || value.length < min ||
      value.length > max || !TOKEN.test(value)) {
    throw new TypeError(
      `${what} must be ${min} to ${max} of A-Z a-z 0-9 _ -`);
  }
}

function checkParams({ created, keyId, nonce }) {
  if (!Number.isSafeInteger(created) || created < 0 ||
      String(created).length > MAX_CREATED_DIGITS) {
    throw new TypeError("created must be a non-negative integer of seconds");
  }
  checkToken(keyId, 1, MAX_KEY_ID, "keyId");
  checkToken(nonce, MIN_NONCE, MAX_NONCE, "nonce");
}

function checkMethod(method) {
  if (typeof method !== "string" || !/^[A-Z]+$/.test(method)) {
    throw new TypeError("method must be an upper-case HTTP method");
  }
}

// A browser sends a target's path and query after URL parsing; a target
// that parsing would change (dot segments, characters it percent-encodes, a
// fragment, a bare "?") would be signed as one thing and sent as another.
function checkTarget(target) {
  if (typeof target !== "string" || !target.startsWith("/") ||
      target.startsWith("//") || !/^[\x21-\x7e]*$/.test(target)) {
    throw new TypeError("target must be a path (and query) of printable ASCII");
  }
  const url = new URL(target, "http://origin.invalid");
  if (url.pathname + url.search !== target) {
    throw new TypeError(
      "target must be in the form a browser sends (already percent-encoded)");
  }
}

/**
 * The Signature-Input value after "tillit=": the covered components and the
 * parameters created, keyid, nonce and alg, in that order.
 * @param {{created: number, keyId: string, nonce: string}} params
 *   created: unix seconds (0 to 12 digits); keyId: the device id, 1-64 of
 *   A-Z a-z 0-9 _ -; nonce: 16-64 of the same.
 * @returns {string}
 * @throws {TypeError} when a parameter is outside its form.
 */
export function signatureParams({ created, keyId, nonce }) {
  checkParams({ created, keyId, nonce });
  return `${COVERED};created=${created};keyid="${keyId}";nonce="${nonce}";` +
    'alg="ed25519"';
}

/**
 * The RFC 9421 signature base: five lines joined by "\n", none after the
 * last. `@path` is `target` up to the first "?", `@query` the rest from the
 * "?" on, or "?" alone when there is no query.
 * @param {{method: string, target: string, contentDigest: string,
 *   created: number, keyId: string, nonce: string}} request
 *   method: "GET", "POST", ...; target: path and query exactly as sent.
 * @returns {string}
 * @throws {TypeError} for a bad method, target, digest or parameter.
 */
export function signatureBase(
  { method, target, contentDigest, created, keyId, nonce }) {
  checkMethod(method);
  checkTarget(target);
  if (typeof contentDigest !== "string" ||
      !/^sha-256=:[A-Za-z0-9+/=]+:$/.test(contentDigest)) {
    throw new TypeError("contentDigest must be a sha-256 Content-Digest");
  }
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "?" : target.slice(q);
  return `"@method": ${method}\n` +
    `"@path": ${path}\n` +
    `"@query": ${query}\n` +
    `"content-digest": ${contentDigest}\n` +
    `"@signature-params": ${signatureParams({ created, keyId, nonce })}`;
}

function bodyBytes(body) {
  if (body === undefined || body === null) return new Uint8Array(0);
  if (typeof body === "string") return utf8Encode(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("body must be a string, Uint8Array or ArrayBuffer");
}

/**
 * The RFC 9530 Content-Digest value "sha-256=:<base64>:" of the body.
 * @param {Uint8Array|ArrayBuffer|string|null|undefined} body the exact bytes
 *   sent (a string is taken as its UTF-8); null or undefined is empty.
 * @returns {Promise<string>}
 * @throws {TypeError} for another body type or a string with an unpaired
 *   surrogate (SyntaxError).
 */
export async function contentDigest(body) {
  const digest = await subtle().digest("SHA-256", bodyBytes(body));
  return `sha-256=:${encodeBase64(new Uint8Array(digest))}:`;
}

/**
 * A fresh random nonce: 32 characters of A-Z a-z 0-9 _ - (192 bits).
 * @returns {string}
 */
export function newNonce() {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(24));
  return encodeBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * The three header fields that authenticate one request of a paired device.
 * @param {{method: string, target: string,
 *   body?: Uint8Array|ArrayBuffer|string|null, privateKey: CryptoKey,
 *   keyId: string, created?: number, nonce?: string}} request
 *   target: path and query exactly as the browser will send them (see
 *   signatureBase; use URL's pathname + search); body: the exact body bytes
 *   (none for GET); privateKey: an Ed25519 CryptoKey with the "sign" usage
 *   (may be non-extractable); keyId: the device id; created: unix seconds,
 *   now by default; nonce: newNonce() by default, never reused.
 * @returns {Promise<{"Content-Digest": string, "Signature-Input": string,
 *   "Signature": string}>}
 * @throws {TypeError} for a malformed argument; WebCrypto's own error when
 *   the key cannot sign with Ed25519.
 */
export async function signRequest(
  { method, target, body, privateKey, keyId, created, nonce }) {
  const params = {
    created: created ?? Math.floor(Date.now() / 1000),
    keyId,
    nonce: nonce ?? newNonce(),
  };
  const digest = await contentDigest(body);
  const base = signatureBase({ method, target, contentDigest: digest,
    ...params });
  const signature = await subtle().sign({ name: "Ed25519" }, privateKey,
    utf8Encode(base));
  return {
    "Content-Digest": digest,
    "Signature-Input": `${SIGNATURE_LABEL}=${signatureParams(params)}`,
    "Signature":
      `${SIGNATURE_LABEL}=:${encodeBase64(new Uint8Array(signature))}:`,
  };
}
