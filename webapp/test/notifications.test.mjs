// Unit tests of notifications (EHDS Art 9; node --test webapp/test/):
// js/notifications.js (the VAPID key from base64url, the modes in words,
// turning on push with stand-ins for the browser's objects), the service
// worker's words for a push message (js/push_text.js, a classic script run
// here in a vm context, as sw.js loads it with importScripts), and that the
// pages keep the citizen's own settings out of acting mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';

import {
  decodeBase64Url, MODES, modeHint, modeLabel, modeList, PUSH_ERRORS, PushError,
  pushServiceName, pushSupport, requestPermission, turnOffPush, turnOnPush, vapidKey,
} from '../static/js/notifications.js';
import { actingPath, navAllowed, routeAllowed } from '../static/js/proxies.js';
import { encodeBase64 } from '../static/js/crypto/base64.js';
import en from '../static/js/lang/en.js';

const STATIC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'static');
const ME = `c_${'a'.repeat(32)}`;

const b64url = (bytes) => encodeBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_')
  .replace(/=+$/, '');
// An uncompressed P-256 point's shape: 0x04, then X and Y.
const POINT = Uint8Array.from({ length: 65 }, (_, i) => (i === 0 ? 4 : (i * 37 + 11) & 255));
const VAPID = b64url(POINT);

// --- the key

test('base64url decodes strictly, with or without padding', () => {
  assert.deepEqual(decodeBase64Url(''), new Uint8Array());
  assert.deepEqual(decodeBase64Url('Zg'), new TextEncoder().encode('f'));
  assert.deepEqual(decodeBase64Url('Zg=='), new TextEncoder().encode('f'));
  assert.deepEqual(decodeBase64Url('Zm8'), new TextEncoder().encode('fo'));
  assert.deepEqual(decodeBase64Url('Zm9v'), new TextEncoder().encode('foo'));
  // The URL-safe alphabet: - and _ where standard base64 has + and /.
  assert.deepEqual(decodeBase64Url('-_-_'), new Uint8Array([0xfb, 0xff, 0xbf]));
  for (let n = 0; n <= 70; n += 1) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 151 + n) & 255);
    assert.deepEqual(decodeBase64Url(b64url(bytes)), bytes, `${n} bytes`);
  }
  for (const bad of ['+/+/', 'Zg=', 'Zg===', 'Z', 'Zm9vY', 'Zh', 'Zm9v\n', ' Zm9v', 'Zm=v', 'Zå',
    null, undefined, 42, ['Zg']]) {
    assert.throws(() => decodeBase64Url(bad), SyntaxError, String(bad));
  }
  // The error never repeats the input (a key, in general).
  assert.throws(() => decodeBase64Url('secret!'), (e) => !e.message.includes('secret'));
});

test('the VAPID key is 65 bytes of an uncompressed P-256 point', () => {
  const key = vapidKey(VAPID);
  assert.ok(key instanceof Uint8Array);
  assert.deepEqual(key, POINT);
  assert.equal(VAPID.length, 87, 'unpadded, as the vault sends it');
  assert.deepEqual(vapidKey(`${VAPID}=`), POINT, 'padding is forgiven');
  assert.throws(() => vapidKey(b64url(POINT.subarray(0, 64))), SyntaxError, 'too short');
  assert.throws(() => vapidKey(b64url(new Uint8Array([...POINT, 0]))), SyntaxError, 'too long');
  assert.throws(() => vapidKey(b64url(Uint8Array.from(POINT, (b, i) => (i ? b : 2)))),
    SyntaxError, 'a compressed point');
  assert.throws(() => vapidKey(encodeBase64(POINT)), SyntaxError, 'standard base64 with padding');
  assert.throws(() => vapidKey(''), SyntaxError);
  assert.throws(() => vapidKey(undefined), SyntaxError);
});

// --- the modes

test('the four modes, in order, each with words in English', () => {
  assert.deepEqual(MODES, ['off', 'every-access', 'break-glass-and-proxy', 'daily-digest']);
  for (const m of MODES) {
    assert.ok(`notifications.mode.${m}` in en, m);
    assert.ok(`notifications.mode.${m}.hint` in en, m);
    assert.equal(modeLabel(m), en[`notifications.mode.${m}`]);
    assert.equal(modeHint(m), en[`notifications.mode.${m}.hint`]);
  }
  assert.equal(modeLabel('daily-digest'), 'A daily summary');
  assert.equal(modeLabel('weekly'), 'weekly', 'an unknown mode is shown as it is');
  assert.equal(modeHint('weekly'), '');
  // The vault's list, in the app's order; only modes the app has words for.
  assert.deepEqual(modeList({ modes: ['daily-digest', 'off', 'weekly'] }), ['off', 'daily-digest']);
  assert.deepEqual(modeList({ modes: [...MODES].reverse() }), MODES);
  assert.deepEqual(modeList({}), MODES);
  assert.deepEqual(modeList(null), MODES);
  assert.deepEqual(modeList({ modes: 'off' }), MODES);
});

test('every reason push could not be turned on has words', () => {
  for (const kind of PUSH_ERRORS) {
    assert.ok(`notifications.push.error.${kind}` in en, kind);
    assert.equal(new PushError(kind).kind, kind);
  }
  assert.equal(new PushError('nonsense').kind, 'subscribe');
  for (const key of ['notifications.push.failed', 'notifications.ownOnly', 'nav.notifications',
    'log.via', 'log.action.notifications.read', 'log.action.notifications.update',
    'log.action.push-subscription.add', 'log.action.push-subscription.remove']) {
    assert.ok(key in en, key);
  }
  assert.match(en['log.via'], /\{device\}/);
});

test('push services by the company that runs them', () => {
  assert.deepEqual(pushServiceName('https://fcm.googleapis.com'),
    { name: 'Google', host: 'fcm.googleapis.com' });
  assert.deepEqual(pushServiceName('https://updates.push.services.mozilla.com'),
    { name: 'Mozilla', host: 'updates.push.services.mozilla.com' });
  assert.deepEqual(pushServiceName('https://web.push.apple.com'),
    { name: 'Apple', host: 'web.push.apple.com' });
  assert.deepEqual(pushServiceName('https://wns2-par02p.notify.windows.com'),
    { name: 'Microsoft', host: 'wns2-par02p.notify.windows.com' });
  assert.deepEqual(pushServiceName('https://push.example.org:8443'),
    { name: 'push.example.org', host: 'push.example.org' });
  assert.deepEqual(pushServiceName('https://notgoogleapis.com'),
    { name: 'notgoogleapis.com', host: 'notgoogleapis.com' });
  assert.deepEqual(pushServiceName(''), { name: '', host: '' });
  assert.deepEqual(pushServiceName(undefined), { name: '', host: '' });
});

// --- turning on push, with stand-ins for the browser

class FakeSubscription {
  constructor(endpoint, key, log) {
    this.endpoint = endpoint;
    this.options = { applicationServerKey: key.buffer.slice(key.byteOffset, key.byteOffset + key.length),
      userVisibleOnly: true };
    this.log = log;
  }

  toJSON() {
    return { endpoint: this.endpoint, expirationTime: null,
      keys: { p256dh: 'BP256dh', auth: 'auth' } };
  }

  async unsubscribe() {
    this.log.push(`unsubscribe ${this.endpoint}`);
    this.gone = true;
    return true;
  }
}

/** A browser: permission, a registered worker (active or not), a push
 * manager that subscribes or fails as told. */
function browser({ permission = 'granted', answer = permission, active = true, registered = true,
  subscribeError = null, subscribeHangs = false, held = null } = {}) {
  const log = [];
  const pushManager = {
    current: held,
    async getSubscription() { return this.current && !this.current.gone ? this.current : null; },
    async subscribe(options) {
      log.push(`subscribe ${options.userVisibleOnly} ${options.applicationServerKey.length}`);
      if (subscribeError) throw subscribeError;
      if (subscribeHangs) return new Promise(() => {});
      this.current = new FakeSubscription('https://push.example/ep/1', options.applicationServerKey, log);
      return this.current;
    },
  };
  const registration = { active: active ? {} : null, pushManager };
  const g = {
    isSecureContext: true,
    PushManager: function PushManager() {},
    Notification: Object.assign(function Notification() {}, {
      permission,
      requestPermission: async () => { log.push('ask'); return answer; },
    }),
    navigator: {
      serviceWorker: {
        async getRegistration(scope) { log.push(`get ${scope}`); return registered ? registration : undefined; },
        async register(url, options) { log.push(`register ${url} ${options.scope}`); return registration; },
        ready: active ? Promise.resolve(registration) : new Promise(() => {}),
      },
    },
  };
  return { g, log, pushManager };
}

const domError = (name) => Object.assign(new Error(name), { name });
const apiError = (status, detail = '') => Object.assign(new Error(`${status}`),
  { name: 'ApiError', status, detail });
const kindOf = (kind) => (err) => err instanceof PushError && err.kind === kind;

test('push support: a secure context with a service worker, the Push API and notifications', () => {
  assert.equal(pushSupport(browser().g), 'ok');
  assert.equal(pushSupport({ ...browser().g, isSecureContext: false }), 'insecure');
  assert.equal(pushSupport({ ...browser().g, PushManager: undefined }), 'unsupported');
  assert.equal(pushSupport({ ...browser().g, Notification: undefined }), 'unsupported');
  assert.equal(pushSupport({ ...browser().g, navigator: {} }), 'unsupported');
  assert.equal(pushSupport({}), 'unsupported');
});

test('turning on push: asks, subscribes with the key and posts the subscription', async () => {
  const { g, log } = browser({ permission: 'default', answer: 'granted' });
  const posted = [];
  const result = await turnOnPush({ g, vapid: VAPID,
    save: async (body) => { posted.push(body); return { id: 'ps_1', push_service: 'https://push.example', created: 1 }; } });
  assert.deepEqual(result, { endpoint: 'https://push.example/ep/1',
    saved: { id: 'ps_1', push_service: 'https://push.example', created: 1 } });
  assert.deepEqual(posted, [{ endpoint: 'https://push.example/ep/1', expirationTime: null,
    keys: { p256dh: 'BP256dh', auth: 'auth' } }], 'exactly PushSubscription.toJSON()');
  assert.deepEqual(log, ['ask', 'get /app/', 'subscribe true 65']);
});

test('turning on push: a subscription held with this key is sent again; with another, replaced', async () => {
  const mine = browser();
  mine.pushManager.current = new FakeSubscription('https://push.example/ep/0', POINT, mine.log);
  const a = await turnOnPush({ g: mine.g, vapid: VAPID, save: async () => ({ id: 'ps_0' }) });
  assert.equal(a.endpoint, 'https://push.example/ep/0');
  assert.ok(!mine.log.some((l) => l.startsWith('subscribe')), 'no new subscription');

  const other = browser();
  other.pushManager.current = new FakeSubscription('https://push.example/ep/old',
    new Uint8Array(65).fill(4), other.log);
  const b = await turnOnPush({ g: other.g, vapid: VAPID, save: async () => ({ id: 'ps_2' }) });
  assert.equal(b.endpoint, 'https://push.example/ep/1');
  assert.deepEqual(other.log.slice(-2), ['unsubscribe https://push.example/ep/old', 'subscribe true 65']);
});

test('turning on push: a worker not yet active is waited for, one never registered is registered', async () => {
  const late = browser({ registered: false });
  await turnOnPush({ g: late.g, vapid: VAPID, save: async () => ({ id: 'ps_1' }) });
  assert.ok(late.log.includes('register /app/sw.js /app/'));
  const stuck = browser({ active: false });
  await assert.rejects(turnOnPush({ g: stuck.g, vapid: VAPID, save: async () => ({}), timeoutMs: 20 }),
    kindOf('worker'));
});

test('turning on push: each failure is a PushError the page can put in words', async () => {
  const save = async () => assert.fail('nothing is posted');
  await assert.rejects(turnOnPush({ g: { ...browser().g, PushManager: undefined }, vapid: VAPID, save }),
    kindOf('unsupported'));
  await assert.rejects(turnOnPush({ g: { ...browser().g, isSecureContext: false }, vapid: VAPID, save }),
    kindOf('insecure'));
  // A bad key is found before the person is asked anything.
  const keyless = browser({ permission: 'default' });
  await assert.rejects(turnOnPush({ g: keyless.g, vapid: 'not a key', save }), kindOf('key'));
  await assert.rejects(turnOnPush({ g: keyless.g, vapid: undefined, save }), kindOf('key'));
  assert.deepEqual(keyless.log, []);
  await assert.rejects(turnOnPush({ g: browser({ permission: 'denied' }).g, vapid: VAPID, save }),
    kindOf('denied'));
  await assert.rejects(turnOnPush({ g: browser({ permission: 'default', answer: 'denied' }).g,
    vapid: VAPID, save }), kindOf('denied'));
  await assert.rejects(turnOnPush({ g: browser({ permission: 'default', answer: 'default' }).g,
    vapid: VAPID, save }), kindOf('dismissed'));
  // Headless Chromium: no push service to subscribe with.
  const headless = browser({ subscribeError: domError('AbortError') });
  await assert.rejects(turnOnPush({ g: headless.g, vapid: VAPID, save }), kindOf('subscribe'));
  await assert.rejects(turnOnPush({ g: browser({ subscribeError: domError('NotAllowedError') }).g,
    vapid: VAPID, save }), kindOf('denied'));
  await assert.rejects(turnOnPush({ g: browser({ subscribeError: new TypeError('x') }).g,
    vapid: VAPID, save }), kindOf('subscribe'));
  // A push service that never answers: the page is not kept waiting.
  await assert.rejects(turnOnPush({ g: browser({ subscribeHangs: true }).g, vapid: VAPID, save,
    subscribeTimeoutMs: 20 }), kindOf('subscribe'));
});

test('turning on push: a subscription the vault refuses is dropped from the browser again', async () => {
  for (const [status, detail, kind] of [
    [400, 'endpoint: not a push service this server sends to', 'refused'],
    [409, 'at most 10 push subscriptions: remove one first', 'too-many']]) {
    const { g, log, pushManager } = browser();
    await assert.rejects(turnOnPush({ g, vapid: VAPID,
      save: async () => { throw apiError(status, detail); } }), kindOf(kind));
    assert.equal(log.at(-1), 'unsubscribe https://push.example/ep/1');
    assert.equal(await pushManager.getSubscription(), null);
  }
  // Another 400 is the vault's own words (the page shows its detail).
  const odd = browser();
  const refusal = apiError(400, 'keys: {"p256dh", "auth"} required');
  await assert.rejects(turnOnPush({ g: odd.g, vapid: VAPID, save: async () => { throw refusal; } }),
    (err) => err === refusal);
  assert.equal(await odd.pushManager.getSubscription(), null);
  // Any other failure (the network, say) is the page's to show; the
  // browser keeps its subscription for the next try.
  const { g, pushManager } = browser();
  const offline = Object.assign(new Error('network'), { name: 'NetworkError' });
  await assert.rejects(turnOnPush({ g, vapid: VAPID, save: async () => { throw offline; } }),
    (err) => err === offline);
  assert.ok(await pushManager.getSubscription());
});

test('permission: the promise form and older Safari’s callback form', async () => {
  assert.equal(await requestPermission({ permission: 'granted', requestPermission: () => assert.fail() }),
    'granted');
  assert.equal(await requestPermission({ permission: 'default',
    requestPermission: (cb) => { cb('granted'); } }), 'granted');
  assert.equal(await requestPermission({ permission: 'default',
    requestPermission: async () => 'denied' }), 'denied');
});

test('turning off push drops only the subscription at that endpoint, and never throws', async () => {
  const { g, log, pushManager } = browser();
  pushManager.current = new FakeSubscription('https://push.example/ep/7', POINT, log);
  await turnOffPush(g, 'https://push.example/ep/other');
  assert.ok(await pushManager.getSubscription(), 'another endpoint: kept');
  await turnOffPush(g, 'https://push.example/ep/7');
  assert.equal(await pushManager.getSubscription(), null);
  await turnOffPush({}, 'x');
  await turnOffPush({ ...g, navigator: { serviceWorker: { getRegistration: async () => { throw new Error('x'); } } } });
});

// --- while acting for someone

test('notifications are the citizen’s own: never sent for, or offered to, a proxy', () => {
  for (const p of ['/v1/me/notifications', '/v1/me/push-subscriptions',
    '/v1/me/push-subscriptions/ps_1']) {
    for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
      assert.equal(actingPath(method, p, ME), null, `${method} ${p}`);
    }
  }
  const full = { citizen_id: ME, access: 'read-write', include_sensitive: true,
    include_restricted: true };
  assert.equal(navAllowed('notifications', full), false, 'not in the navigation while acting');
  assert.equal(routeAllowed('notifications', full), true, 'the page opens and says why');
  assert.equal(navAllowed('notifications', null), true);
});

// --- the service worker's words (js/push_text.js)

function pushText() {
  const source = fs.readFileSync(path.join(STATIC, 'js', 'push_text.js'), 'utf8');
  assert.doesNotMatch(source, /^\s*(import|export)\b/m, 'a classic script, for importScripts');
  const context = vm.createContext({ URL, Intl });
  return vm.runInContext(`${source}\n;({ pushNotice, pushLanguage, pushTarget, PUSH_TEXT });`,
    context, { filename: 'push_text.js' });
}

test('sw.js loads the words with importScripts and shows them on push', () => {
  const sw = fs.readFileSync(path.join(STATIC, 'sw.js'), 'utf8');
  assert.match(sw, /importScripts\('\/app\/js\/push_text\.js'\)/);
  assert.match(sw, /addEventListener\('push'/);
  assert.match(sw, /addEventListener\('notificationclick'/);
  assert.match(sw, /pushNotice\(/);
  // Its own names do not clash with the script's (one global scope).
  const { PUSH_TEXT } = pushText();
  assert.ok(PUSH_TEXT);
  for (const name of ['PUSH_TEXT', 'PUSH_LOCALES', 'PUSH_KINDS', 'PUSH_DEFAULT_PATH', 'pushNotice',
    'pushLanguage', 'pushTarget', 'pushNumber']) {
    assert.doesNotMatch(sw, new RegExp(`(const|let|var|function) ${name}\\b`), name);
  }
});

test('push words: the five languages, by the browser’s language, English otherwise', () => {
  const { pushLanguage, PUSH_TEXT } = pushText();
  assert.deepEqual(Object.keys(PUSH_TEXT), ['en', 'sv', 'nb', 'fi', 'se']);
  const keys = Object.keys(PUSH_TEXT.en);
  for (const [code, table] of Object.entries(PUSH_TEXT)) {
    assert.deepEqual(Object.keys(table), keys, code);
    for (const [key, text] of Object.entries(table)) {
      assert.ok(typeof text === 'string' && text.trim(), `${code} ${key}`);
      assert.equal(text.includes('{n}'), PUSH_TEXT.en[key].includes('{n}'), `${code} ${key} {n}`);
      assert.doesNotMatch(text, /[<>]/, `${code} ${key}`);
    }
  }
  assert.equal(pushLanguage(['sv-SE', 'en']), 'sv');
  assert.equal(pushLanguage(['de-DE', 'fi-FI']), 'fi');
  assert.equal(pushLanguage(['nn-NO']), 'nb');
  assert.equal(pushLanguage(['no']), 'nb');
  assert.equal(pushLanguage(['nb']), 'nb');
  assert.equal(pushLanguage(['se-NO']), 'se');
  assert.equal(pushLanguage(['sme']), 'se');
  assert.equal(pushLanguage('FI'), 'fi');
  assert.equal(pushLanguage(['de-DE', 'fr']), 'en');
  assert.equal(pushLanguage([]), 'en');
  assert.equal(pushLanguage(undefined), 'en');
  assert.equal(pushLanguage([null, 7, 'sv_FI']), 'sv');
});

test('push words: the title for each kind and count, in the browser’s language', () => {
  const { pushNotice } = pushText();
  const origin = 'https://vault.example';
  const notice = (payload, langs = ['en-GB']) => pushNotice(payload, langs, origin);

  const one = notice({ kind: 'access', count: 1, url: '/app/#/log' });
  assert.equal(one.title, 'Someone accessed your health data');
  assert.equal(one.body, 'See who and why in “Who looked at my data”.');
  assert.equal(one.url, 'https://vault.example/app/#/log');
  assert.equal(one.lang, 'en');
  assert.equal(one.tag, 'tillit-access');
  assert.equal(notice({ kind: 'access', count: 3 }).title, '3 accesses to your health data');
  assert.equal(notice({ kind: 'access', count: 1200 }).title, '1,200 accesses to your health data');
  assert.equal(notice({ kind: 'digest', count: 1 }).title,
    'One access to your health data in the last day');
  assert.equal(notice({ kind: 'digest', count: 14 }).title,
    '14 accesses to your health data in the last day');
  assert.equal(notice({ kind: 'break-glass', count: 1 }).title, 'Emergency access to your health data');
  assert.equal(notice({ kind: 'proxy', count: 1 }).title, 'Someone acting for you used your data');
  // Coalesced: the most serious kind names the message; the count is in the body.
  const coalesced = notice({ kind: 'break-glass', count: 4 });
  assert.equal(coalesced.title, 'Emergency access to your health data');
  assert.equal(coalesced.body, '4 accesses in all. See who and why in “Who looked at my data”.');
  assert.equal(coalesced.tag, 'tillit-break-glass');

  assert.equal(notice({ kind: 'break-glass', count: 1 }, ['sv-SE']).title,
    'Nödåtkomst till dina hälsouppgifter');
  assert.equal(notice({ kind: 'digest', count: 2 }, ['nb-NO']).title,
    '2 oppslag i helseopplysningene dine det siste døgnet');
  assert.equal(notice({ kind: 'proxy', count: 1 }, ['fi']).title, 'Puolestasi asioiva käytti tietojasi');
  assert.equal(notice({ kind: 'access', count: 1 }, ['se']).lang, 'se');
  assert.equal(notice({ kind: 'access', count: 1 }, ['de']).lang, 'en');
});

test('push words: a payload that is missing or not understood reads as one access; never throws', () => {
  const { pushNotice } = pushText();
  const origin = 'https://vault.example';
  const plain = pushNotice({ kind: 'access', count: 1 }, ['en'], origin);
  for (const payload of [null, undefined, 'text', 42, [], [1], {}, { kind: 'weird' },
    { kind: 'access', count: 0 }, { kind: 'access', count: -3 }, { kind: 'access', count: 1.5 },
    { kind: 'access', count: '5' }, { kind: ['digest'] }, { kind: 'toString' },
    { kind: '__proto__' }, Object.create(null)]) {
    const n = pushNotice(payload, ['en'], origin);
    assert.equal(n.title, plain.title, JSON.stringify(payload));
    assert.equal(n.url, 'https://vault.example/app/#/log');
  }
});

test('push words: a click opens only a page of the app on the vault’s origin', () => {
  const { pushNotice, pushTarget } = pushText();
  const origin = 'https://vault.example';
  const log = 'https://vault.example/app/#/log';
  assert.equal(pushTarget('/app/#/log', origin), log);
  assert.equal(pushTarget('/app/#/log?before=9', origin), 'https://vault.example/app/#/log?before=9');
  assert.equal(pushTarget('https://vault.example/app/#/records', origin),
    'https://vault.example/app/#/records');
  for (const bad of ['https://evil.example/app/#/log', '//evil.example/app/', 'javascript:alert(1)',
    '/v1/me', '/', '', null, 7, { toString: () => '/app/' }, 'http://vault.example/app/']) {
    assert.equal(pushTarget(bad, origin), log, String(bad));
  }
  assert.equal(pushNotice({ kind: 'access', count: 1, url: 'https://evil.example/' }, ['en'], origin).url,
    log);
});
