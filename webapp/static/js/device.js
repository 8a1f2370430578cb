// This browser as a paired device (docs/MOBILE_BRIDGE.md): an Ed25519 key
// pair made by WebCrypto with a non-extractable private key, kept in
// IndexedDB, paired once with a one-time code.
import * as store from './store.js';
import { encodeBase64 } from './crypto/base64.js';
import { parseVerifierKey } from './crypto/checkpoint.js';

const KEY = 'pairing';
let cached;

/** The pairing {deviceId, citizenId, privateKey, auditKey} or null. */
export async function load() {
  if (cached === undefined) cached = (await store.get(KEY)) || null;
  return cached;
}

/** A default name for this device, e.g. "Chrome on Linux". */
export function defaultName() {
  const ua = navigator.userAgent;
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows'
      : /Linux/.test(ua) ? 'Linux' : 'web';
  return `Browser on ${os}`;
}

/**
 * Pairs this browser with `code`. The audit log's key is fetched and
 * checked before the code is sent, and pinned for every later check.
 * Throws ApiError (e.g. 401 for a used or expired code) or NetworkError.
 */
export async function pair(code, name, publicFetch) {
  const keyText = (await (await publicFetch('/v1/audit/public-key')).text()).trim();
  await parseVerifierKey(keyText);  // refuse a malformed key before pairing
  const keys = await crypto.subtle.generateKey({ name: 'Ed25519' }, false,
    ['sign', 'verify']);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
  const res = await publicFetch('/v1/enroll', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      enrollment_code: code.trim(),
      device_public_key: encodeBase64(raw),
      device_name: name,
    }),
  });
  const body = await res.json();
  const pairing = {
    deviceId: body.device_id,
    citizenId: body.citizen_id,
    privateKey: keys.privateKey,
    publicKey: keys.publicKey,
    auditKey: keyText,
    paired: Date.now(),
  };
  await store.clear();
  await store.put(KEY, pairing);
  cached = pairing;
  return pairing;
}

/** Forgets the pairing, the keys and the witness in this browser. */
export async function forget() {
  await store.clear();
  cached = null;
}
