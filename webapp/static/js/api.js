// The API as the paired browser calls it: every request is signed by the
// device's non-extractable key (RFC 9421, with an RFC 9530 body digest);
// no bearer token ever exists in the page.
// While the tab acts for someone (js/acting.js), the pages' /v1/me calls
// go to /v1/citizens/{id} (js/proxies.js actingPath) with the
// authorisation's purpose in Tillit-Purpose; `own` calls are always the
// paired citizen's.
import * as acting from './acting.js';
import { signRequest } from './crypto/signing.js';
import * as device from './device.js';
import { t } from './i18n.js';
import { actingPath } from './proxies.js';

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

/** A call that has no meaning while acting for someone (it would be
 * about the proxy, or is the citizen's alone); never sent. */
export class NotWhileActingError extends Error {
  constructor() {
    super('not while acting');
    this.name = 'NotWhileActingError';
    this.userMessage = t('acting.unavailable');
  }
}

let onUnpaired = () => {};
/** Called when the server no longer accepts this device (revoked, erased). */
export function setUnpairedHandler(fn) {
  onUnpaired = fn;
}

let onActingRefused = async () => {};
/** Called, and awaited, when a call made while acting is refused with 403
 * or 404 (the authorisation may have changed or ended), with the error
 * and the scope it was made with. */
export function setActingRefusedHandler(fn) {
  onActingRefused = fn;
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
 * ApiError / NetworkError (NotWhileActingError for a call that has no
 * twin while acting). `path` includes any query string. `own`: the
 * paired citizen's call even while acting for someone.
 */
export async function send(method, path, body, extraHeaders = {}, { own = false } = {}) {
  const pairing = await device.load();
  if (!pairing) throw new ApiError(401, 'unauthenticated', '', '');
  const scope = own ? null : acting.current(pairing.citizenId);
  const target = scope ? actingPath(method, path, scope.citizen_id) : path;
  if (target === null) throw new NotWhileActingError();
  const bytes = body === undefined ? new Uint8Array()
    : encoder.encode(JSON.stringify(body));
  const headers = await signRequest({
    method, target, body: bytes,
    privateKey: pairing.privateKey, keyId: pairing.deviceId,
  });
  Object.assign(headers, extraHeaders);
  // Not signed (the signature covers the method, path, query and body);
  // the vault refuses a request without it when the authorisation names a
  // purpose.
  if (scope && typeof scope.purpose === 'string' && scope.purpose) {
    headers['Tillit-Purpose'] = scope.purpose;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(target, {
      method, headers, body: body === undefined ? undefined : bytes,
      cache: 'no-store', credentials: 'omit',
    });
  } catch {
    throw new NetworkError();
  }
  if (!res.ok) {
    const err = await toError(res);
    if (res.status === 401) {
      onUnpaired(err);
    } else if (scope && (res.status === 403 || res.status === 404)) {
      try {
        await onActingRefused(err, scope);
      } catch { /* the page still shows the refusal */ }
    }
    throw err;
  }
  return res;
}

async function json(method, path, body, options) {
  const res = await send(method, path, body, {}, options);
  return res.status === 204 ? null : res.json();
}

export const get = (path) => json('GET', path);
export const post = (path, body) => json('POST', path, body ?? {});
export const put = (path, body) => json('PUT', path, body);
export const del = (path, body) => json('DELETE', path, body);

/** The paired citizen's own calls, never redirected while acting (their
 * authorisations, the people they act for). */
export const own = {
  get: (path) => json('GET', path, undefined, { own: true }),
  post: (path, body) => json('POST', path, body ?? {}, { own: true }),
  put: (path, body) => json('PUT', path, body, { own: true }),
  del: (path, body) => json('DELETE', path, body, { own: true }),
};

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
