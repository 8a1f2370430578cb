// Byte encodings shared by the crypto modules: standard padded base64
// (RFC 4648 section 4) decoded strictly, lowercase hex, and UTF-8.
//
// Decoders throw a SyntaxError whose message never repeats the input (it
// may be a secret). Pure functions; no state.

const ALPHABET =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

function requireBytes(bytes) {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError("expected a Uint8Array");
  }
}

/**
 * Standard padded base64 of `bytes` (alphabet A-Z a-z 0-9 + /, "=" padding).
 * @param {Uint8Array} bytes
 * @returns {string} "" for no bytes.
 */
export function encodeBase64(bytes) {
  requireBytes(bytes);
  let out = "";
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] +
      ALPHABET[(n >> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i] << 16;
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] + "==";
  } else if (rest === 2) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += ALPHABET[n >> 18] + ALPHABET[(n >> 12) & 63] +
      ALPHABET[(n >> 6) & 63] + "=";
  }
  return out;
}

/**
 * Decodes standard padded base64 strictly: the length is a multiple of 4,
 * only the standard alphabet, "=" only as the last one or two characters,
 * and the unused bits of the last character are zero (one canonical text per
 * byte string). No white space is skipped.
 * @param {string} text
 * @returns {Uint8Array}
 * @throws {SyntaxError} "malformed base64" for anything else.
 */
export function decodeBase64(text) {
  const bad = () => new SyntaxError("malformed base64");
  if (typeof text !== "string" || text.length % 4 !== 0) throw bad();
  let padding = 0;
  if (text.endsWith("==")) padding = 2;
  else if (text.endsWith("=")) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  const digit = (i) => {
    const c = text.charCodeAt(i);
    const v = c < 128 ? VALUE[c] : -1;
    if (v < 0) throw bad();
    return v;
  };
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const pad = last ? padding : 0;
    const a = digit(i);
    const b = digit(i + 1);
    const c = pad >= 2 ? 0 : digit(i + 2);
    const d = pad >= 1 ? 0 : digit(i + 3);
    // Non-canonical: bits the padding drops must be zero.
    if ((pad === 2 && (b & 15) !== 0) || (pad === 1 && (c & 3) !== 0)) {
      throw bad();
    }
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    if (pad < 2) out[o++] = (n >> 8) & 255;
    if (pad < 1) out[o++] = n & 255;
  }
  return out;
}

/**
 * Lowercase hex of `bytes`.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function encodeHex(bytes) {
  requireBytes(bytes);
  let out = "";
  for (const b of bytes) out += (b < 16 ? "0" : "") + b.toString(16);
  return out;
}

/**
 * Decodes hex (either case), an even number of digits and nothing else.
 * @param {string} text
 * @returns {Uint8Array}
 * @throws {SyntaxError} "malformed hex".
 */
export function decodeHex(text) {
  if (typeof text !== "string" || text.length % 2 !== 0 ||
      !/^[0-9a-fA-F]*$/.test(text)) {
    throw new SyntaxError("malformed hex");
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(text.substr(i * 2, 2), 16);
  }
  return out;
}

/**
 * True when `text` is a string with no unpaired UTF-16 surrogate, so that
 * its UTF-8 encoding is exact (TextEncoder would replace them).
 * @param {string} text
 * @returns {boolean}
 */
export function isWellFormedText(text) {
  return typeof text === "string" &&
    !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/
      .test(text);
}

/**
 * UTF-8 bytes of `text`.
 * @param {string} text must be well formed (see isWellFormedText).
 * @returns {Uint8Array}
 * @throws {SyntaxError} for an unpaired surrogate.
 */
export function utf8Encode(text) {
  if (!isWellFormedText(text)) throw new SyntaxError("malformed UTF-16 text");
  return new TextEncoder().encode(text);
}

/**
 * Decodes UTF-8 strictly: invalid, overlong or surrogate encodings throw; a
 * leading byte order mark is kept as U+FEFF, never dropped.
 * @param {Uint8Array} bytes
 * @returns {string}
 * @throws {SyntaxError} "malformed UTF-8".
 */
export function utf8Decode(bytes) {
  requireBytes(bytes);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
      .decode(bytes);
  } catch {
    throw new SyntaxError("malformed UTF-8");
  }
}

/**
 * True when `a` and `b` are Uint8Arrays with the same bytes. Compares every
 * byte of equal-length inputs (no early exit on the first difference).
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {boolean}
 */
export function bytesEqual(a, b) {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) ||
      a.length !== b.length) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * The bytes of each part, one after another.
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concatBytes(...parts) {
  let size = 0;
  for (const p of parts) {
    requireBytes(p);
    size += p.length;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
