// Being told when someone accesses your data (EHDS Art 9): the modes the
// vault offers in words, the VAPID key as the Push API takes it, and
// turning on Web Push in this browser (permission, the service worker's
// registration, pushManager.subscribe, then POST /v1/me/push-subscriptions).
// Every browser object is reached through `g` (globalThis in the app), so
// the steps also run under Node with stand-ins for
// webapp/test/notifications.test.mjs.
import { bytesEqual, decodeBase64 } from './crypto/base64.js';
import { t } from './i18n.js';

/** The modes, in the order the page lists them. */
export const MODES = ['off', 'every-access', 'break-glass-and-proxy', 'daily-digest'];

/** Why push could not be turned on; each has notifications.push.error.<kind>. */
export const PUSH_ERRORS = ['unsupported', 'insecure', 'key', 'denied', 'dismissed', 'worker',
  'subscribe', 'refused', 'too-many'];

/** The service worker the app registers (js/main.js), and its scope. */
export const WORKER = '/app/sw.js';
export const SCOPE = '/app/';

/** A failure to turn on push in this browser; `kind` is one of PUSH_ERRORS. */
export class PushError extends Error {
  constructor(kind, cause) {
    super(`push: ${kind}`);
    this.name = 'PushError';
    this.kind = PUSH_ERRORS.includes(kind) ? kind : 'subscribe';
    if (cause !== undefined) this.cause = cause;
  }
}

/**
 * The modes to offer: those of the vault's answer ("modes") that the app
 * can put in words, in its order; all of MODES when the answer names none.
 */
export function modeList(answer) {
  const offered = Array.isArray(answer?.modes) ? answer.modes : [];
  const known = MODES.filter((m) => offered.includes(m));
  return known.length ? known : [...MODES];
}

/** A mode in a few words, e.g. "A daily summary". */
export function modeLabel(mode) {
  return MODES.includes(mode) ? t(`notifications.mode.${mode}`) : String(mode);
}

/** What a mode means, in one sentence. */
export function modeHint(mode) {
  return MODES.includes(mode) ? t(`notifications.mode.${mode}.hint`) : '';
}

/**
 * Decodes base64url (RFC 4648 section 5) strictly: the URL-safe alphabet,
 * with or without its "=" padding, and zero unused bits in the last
 * character.
 * @param {string} text
 * @returns {Uint8Array}
 * @throws {SyntaxError} "malformed base64url", never repeating the input.
 */
export function decodeBase64Url(text) {
  const bad = () => new SyntaxError('malformed base64url');
  if (typeof text !== 'string') throw bad();
  const body = text.replace(/={1,2}$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(body) || body.length % 4 === 1) throw bad();
  // Padding, when there is any, must be the right amount.
  if (body.length !== text.length && text.length % 4 !== 0) throw bad();
  const standard = body.replace(/-/g, '+').replace(/_/g, '/');
  try {
    return decodeBase64(standard + '='.repeat((4 - (standard.length % 4)) % 4));
  } catch {
    throw bad();
  }
}

/**
 * The vault's VAPID public key ("vapid_public_key", base64url of an
 * uncompressed P-256 point) as pushManager.subscribe takes it.
 * @param {string} text
 * @returns {Uint8Array} 65 bytes, the first 0x04.
 * @throws {SyntaxError} for anything else.
 */
export function vapidKey(text) {
  const bytes = decodeBase64Url(text);
  if (bytes.length !== 65 || bytes[0] !== 0x04) {
    throw new SyntaxError('not an uncompressed P-256 public key');
  }
  return bytes;
}

/**
 * Whether this browser can receive push: 'ok', 'insecure' (not a secure
 * context, so no service worker) or 'unsupported' (no service worker,
 * Push API or notifications).
 */
export function pushSupport(g = globalThis) {
  if (g.isSecureContext === false) return 'insecure';
  if (!g.navigator || !g.navigator.serviceWorker || typeof g.PushManager !== 'function' ||
      typeof g.Notification !== 'function') {
    return 'unsupported';
  }
  return 'ok';
}

/** A push service's origin ("https://fcm.googleapis.com") as a person
 * reads it: {name, host}, the company for the ones browsers use. */
export function pushServiceName(origin) {
  let host = '';
  try {
    host = new URL(String(origin)).hostname;
  } catch { /* not a URL: no name */ }
  const companies = [
    [/(^|\.)googleapis\.com$/, 'Google'],
    [/(^|\.)mozilla\.com$/, 'Mozilla'],
    [/(^|\.)push\.apple\.com$/, 'Apple'],
    [/(^|\.)notify\.windows\.com$/, 'Microsoft'],
  ];
  const company = companies.find(([re]) => re.test(host));
  return { name: company ? company[1] : host, host };
}

/** Asks for permission to show notifications: 'granted', 'denied' or
 * 'default' (the person closed the question). Older Safari answers
 * through a callback instead of a promise. */
export function requestPermission(Notification) {
  if (Notification.permission === 'granted' || Notification.permission === 'denied') {
    return Promise.resolve(Notification.permission);
  }
  return new Promise((resolve, reject) => {
    const answer = Notification.requestPermission(resolve);
    if (answer && typeof answer.then === 'function') answer.then(resolve, reject);
  });
}

function withTimeout(promise, ms) {
  let timer;
  const late = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** The app's service worker registration once it has an active worker
 * (pushManager.subscribe needs one); registers it if the app has not. */
export async function activeRegistration(container, timeoutMs = 10000) {
  let registration = await container.getRegistration(SCOPE);
  if (!registration) registration = await container.register(WORKER, { scope: SCOPE });
  if (registration.active) return registration;
  return withTimeout(container.ready, timeoutMs);
}

/** This browser's push subscription for the app, or null (also when it
 * cannot be read). Never throws. */
export async function browserSubscription(g = globalThis) {
  try {
    if (pushSupport(g) !== 'ok') return null;
    const registration = await g.navigator.serviceWorker.getRegistration(SCOPE);
    return (await registration?.pushManager?.getSubscription()) || null;
  } catch {
    return null;
  }
}

function keyBytes(key) {
  if (key instanceof Uint8Array) return key;
  if (key instanceof ArrayBuffer) return new Uint8Array(key);
  return null;
}

async function quietly(fn) {
  try {
    await fn();
  } catch { /* best effort */ }
}

/**
 * Turns on push in this browser: checks support and the vault's key, asks
 * for permission, gets the app's service worker registration, subscribes
 * (again, with this key, if the browser holds a subscription made with
 * another; `subscribeTimeoutMs` at most) and hands subscription.toJSON()
 * to `save` (the POST). `timeoutMs`: how long to wait for the service
 * worker to become active. Resolves to {endpoint, saved} with the vault's
 * answer. Throws PushError for what the page explains; an error from `save` otherwise (the network, a 400
 * about anything but the endpoint) as is. A subscription the vault
 * refuses (400, 409) is dropped from the browser again.
 */
export async function turnOnPush({ g = globalThis, vapid, save, timeoutMs = 10000,
  subscribeTimeoutMs = 20000 }) {
  const support = pushSupport(g);
  if (support !== 'ok') throw new PushError(support);
  let key;
  try {
    key = vapidKey(vapid);
  } catch (err) {
    throw new PushError('key', err);
  }
  let permission;
  try {
    permission = await requestPermission(g.Notification);
  } catch (err) {
    throw new PushError('denied', err);
  }
  if (permission === 'denied') throw new PushError('denied');
  if (permission !== 'granted') throw new PushError('dismissed');
  let registration;
  try {
    registration = await activeRegistration(g.navigator.serviceWorker, timeoutMs);
  } catch (err) {
    throw new PushError('worker', err);
  }
  if (!registration?.pushManager) throw new PushError('unsupported');
  let subscription;
  try {
    subscription = await registration.pushManager.getSubscription();
    const held = keyBytes(subscription?.options?.applicationServerKey);
    if (subscription && !(held && bytesEqual(held, key))) {
      await subscription.unsubscribe();
      subscription = null;
    }
    if (!subscription) {
      // A push service that cannot be reached may keep the browser trying
      // for long: the page says so instead of waiting for ever.
      subscription = await withTimeout(registration.pushManager.subscribe({ userVisibleOnly: true,
        applicationServerKey: key }), subscribeTimeoutMs);
    }
  } catch (err) {
    throw new PushError(err && err.name === 'NotAllowedError' ? 'denied' : 'subscribe', err);
  }
  const body = subscription.toJSON();
  let saved;
  try {
    saved = await save(body);
  } catch (err) {
    if (err && err.name === 'ApiError' && (err.status === 400 || err.status === 409)) {
      // Not stored: the vault will never send to it.
      await quietly(() => subscription.unsubscribe());
      if (err.status === 409) throw new PushError('too-many', err);
      // "endpoint: not a push service this server sends to"; any other
      // 400 is shown as the vault said it.
      if (/^endpoint:/.test(String(err.detail || ''))) throw new PushError('refused', err);
    }
    throw err;
  }
  return { endpoint: body.endpoint, saved };
}

/** Drops this browser's push subscription if it is the one at `endpoint`
 * (any, when `endpoint` is empty). Never throws. */
export async function turnOffPush(g = globalThis, endpoint = '') {
  const subscription = await browserSubscription(g);
  if (subscription && (!endpoint || subscription.endpoint === endpoint)) {
    await quietly(() => subscription.unsubscribe());
  }
}
