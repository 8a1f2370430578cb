// The API as the paired browser calls it: every request is signed by the
// device's non-extractable key (RFC 9421, with an RFC 9530 body digest);
// no bearer token ever exists in the page.
import { signRequest } from './crypto/signing.js';
import * as device from './device.js';

/** An error the API answered; `code` is the API's error code. */
export class ApiError extends Error {
  constructor(status, code, detail, requestId) {
    super(`${status} ${code}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.requestId = requestId;
  }
}

/** The server could not be reached. */
export class NetworkError extends Error {
  constructor() {
    super('network');
    this.name = 'NetworkError';
  }
}

let onUnpaired = () => {};
/** Called when the server no longer accepts this device (revoked, erased). */
export function setUnpairedHandler(fn) {
  onUnpaired = fn;
}

const encoder = new TextEncoder();

async function toError(res) {
  let code = 'unknown';
  let detail = '';
  let requestId = res.headers.get('X-Request-Id') || '';
  try {
    const body = await res.json();
    if (body && body.error) {
      code = String(body.error.code || code);
      detail = String(body.error.message || '');
      requestId = String(body.error.request_id || requestId);
    }
  } catch { /* not JSON: keep the status */ }
  return new ApiError(res.status, code, detail, requestId);
}

/**
 * Sends a signed request and returns the Response (status 2xx) or throws
 * ApiError / NetworkError. `path` includes any query string.
 */
export async function send(method, path, body, extraHeaders = {}) {
  const pairing = await device.load();
  if (!pairing) throw new ApiError(401, 'unauthenticated', '', '');
  const bytes = body === undefined ? new Uint8Array()
    : encoder.encode(JSON.stringify(body));
  const headers = await signRequest({
    method, target: path, body: bytes,
    privateKey: pairing.privateKey, keyId: pairing.deviceId,
  });
  Object.assign(headers, extraHeaders);
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : bytes,
      cache: 'no-store', credentials: 'omit',
    });
  } catch {
    throw new NetworkError();
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401) onUnpaired(err);
    throw err;
  }
  return res;
}

async function json(method, path, body) {
  const res = await send(method, path, body);
  return res.status === 204 ? null : res.json();
}

export const get = (path) => json('GET', path);
export const post = (path, body) => json('POST', path, body ?? {});
export const put = (path, body) => json('PUT', path, body);
export const del = (path, body) => json('DELETE', path, body);

/** An unauthenticated request (pairing, the audit key, the checkpoint). */
export async function publicFetch(path, init = {}) {
  let res;
  try {
    res = await fetch(path, { cache: 'no-store', credentials: 'omit', ...init });
  } catch {
    throw new NetworkError();
  }
  if (!res.ok) throw await toError(res);
  return res;
}
