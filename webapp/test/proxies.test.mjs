// Unit tests of js/proxies.js (node --test webapp/test/): the authorisation
// form's checks and the body it sends, authorisations and the people one
// acts for in words, and acting mode: where a page's call goes, which
// pages a proxy can open, whose entries in the access log were made on
// the citizen's behalf. Also: every t() key the app's code names exists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import {
  accessWords, actingPath, buildProxyBody, canChange, canWrite, draftOf, emptyProxyDraft,
  isCitizenId, isFullScope, isLive, isPurposeCode, navAllowed, onBehalfActor, proxyDates,
  proxyDetails, proxySentence, proxyStatus, representedLines, routeAllowed, serverFieldError,
  sortProxies, todayUtc, validateProxyDraft,
} from '../static/js/proxies.js';
import { signatureBase } from '../static/js/crypto/signing.js';
import en from '../static/js/lang/en.js';

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0); // 5 Dec 2026, 12:00 UTC
const ME = `c_${'a'.repeat(32)}`;
const THEM = `c_${'0123456789abcdef'.repeat(2)}`;

const fieldsOf = (errors) => errors.map((e) => e.field);
const keysOf = (errors) => errors.map((e) => e.key);
const draft = (fields) => ({ ...emptyProxyDraft(), proxy: THEM, ...fields });

function stored(fields = {}) {
  return {
    id: `px_${'1'.repeat(32)}`, kind: 'proxy', citizen: ME, proxy: THEM, access: 'read',
    categories: ['lab-results'], purpose: null, start: '2026-12-01', until: '2027-12-31',
    include_sensitive: false, include_restricted: false, status: 'active',
    created: NOW / 1000, revoked: null, ...fields,
  };
}

test('shapes: citizen ids, purpose codes, today in UTC', () => {
  assert.ok(isCitizenId(THEM));
  assert.ok(!isCitizenId(THEM.toUpperCase()));
  assert.ok(!isCitizenId(`p_${'a'.repeat(32)}`));
  assert.ok(!isCitizenId(`${ME}0`));
  assert.ok(isPurposeCode('care-coordination'));
  assert.ok(isPurposeCode('DUO:0000043'));
  assert.ok(isPurposeCode('a/b.c_d'));
  assert.ok(isPurposeCode('x'.repeat(64)));
  assert.ok(!isPurposeCode('x'.repeat(65)));
  assert.ok(!isPurposeCode(''));
  assert.ok(!isPurposeCode('family care'));
  assert.ok(!isPurposeCode('vård'));
  assert.equal(todayUtc(NOW), '2026-12-05');
  assert.equal(todayUtc(Date.UTC(2026, 11, 5, 23, 59)), '2026-12-05');
});

test('the form: the person, checked; view only is the default', () => {
  assert.equal(emptyProxyDraft().access, 'read');
  assert.deepEqual(validateProxyDraft(draft({}), { nowMs: NOW, self: ME }), []);
  assert.deepEqual(keysOf(validateProxyDraft(draft({ proxy: '  ' }), { nowMs: NOW, self: ME })),
    ['proxies.error.idMissing']);
  assert.deepEqual(keysOf(validateProxyDraft(draft({ proxy: 'c_123' }), { nowMs: NOW, self: ME })),
    ['proxies.error.idShape']);
  assert.deepEqual(keysOf(validateProxyDraft(draft({ proxy: `r_${'a'.repeat(32)}` }),
    { nowMs: NOW, self: ME })), ['proxies.error.idShape']);
  assert.deepEqual(keysOf(validateProxyDraft(draft({ proxy: ME }), { nowMs: NOW, self: ME })),
    ['proxies.error.self']);
  assert.deepEqual(fieldsOf(validateProxyDraft(draft({ proxy: ME.toUpperCase().replace('C_', 'c_') }),
    { nowMs: NOW, self: ME })), ['proxy-id'], 'capitals are forgiven, so this is oneself');
  // Spaces around and capitals are forgiven.
  assert.deepEqual(validateProxyDraft(draft({ proxy: ` ${THEM.toUpperCase().replace('C_', 'c_')} ` }),
    { nowMs: NOW, self: ME }), []);
  // Changing an authorisation: the person is fixed and not checked.
  assert.deepEqual(validateProxyDraft(draft({ proxy: '' }), { nowMs: NOW, self: ME, change: true }),
    []);
});

test('the form: access, categories, the last day and the purpose', () => {
  const check = (fields) => validateProxyDraft(draft(fields), { nowMs: NOW, self: ME });
  assert.deepEqual(fieldsOf(check({ access: '' })), ['proxy-access']);
  assert.deepEqual(fieldsOf(check({ access: 'write' })), ['proxy-access']);
  assert.deepEqual(check({ access: 'read-write' }), []);
  assert.deepEqual(check({ categories: ['lab-results', 'imaging'] }), []);
  assert.deepEqual(fieldsOf(check({ categories: ['dna'] })), ['proxy-category']);
  assert.deepEqual(check({ until: '2026-12-05' }), [], 'today is a last day');
  assert.deepEqual(check({ until: '2030-01-01' }), []);
  assert.deepEqual(keysOf(check({ until: '2026-12-04' })), ['proxies.error.untilPast']);
  assert.deepEqual(keysOf(check({ until: '31.12.2027' })), ['grant.error.dateShape']);
  assert.deepEqual(keysOf(check({ until: '2027-02-30' })), ['grant.error.dateShape']);
  assert.deepEqual(check({ purpose: ' care-coordination ' }), []);
  const bad = check({ purpose: 'family care' });
  assert.deepEqual(keysOf(bad), ['proxies.error.purposeShape']);
  assert.equal(bad[0].params.max, 64);
  assert.deepEqual(keysOf(check({ purpose: 'x'.repeat(65) })), ['proxies.error.purposeShape']);
  assert.deepEqual(fieldsOf(validateProxyDraft(
    draft({ proxy: 'x', access: '', categories: ['dna'], until: 'soon', purpose: 'a b' }),
    { nowMs: NOW, self: ME })),
  ['proxy-id', 'proxy-access', 'proxy-category', 'proxy-until', 'proxy-purpose']);
});

test('the body: categories only when chosen, purpose only when given, until null for none', () => {
  assert.deepEqual(buildProxyBody(draft({ proxy: ` ${THEM} ` })), {
    proxy: THEM, access: 'read', until: null, include_sensitive: false, include_restricted: false,
  });
  const full = buildProxyBody(draft({ access: 'read-write', categories: ['vital-signs', 'lab-results'],
    until: '2027-12-31', purpose: ' family-care ', includeSensitive: true, includeRestricted: true }));
  assert.deepEqual(full, {
    proxy: THEM, access: 'read-write', categories: ['lab-results', 'vital-signs'],
    purpose: 'family-care', until: '2027-12-31', include_sensitive: true, include_restricted: true,
  });
  assert.deepEqual(Object.keys(full), ['proxy', 'access', 'categories', 'purpose', 'until',
    'include_sensitive', 'include_restricted']);
  // PUT has no "proxy".
  assert.deepEqual(buildProxyBody(draft({ categories: ['imaging'] }), { change: true }), {
    access: 'read', categories: ['imaging'], until: null, include_sensitive: false,
    include_restricted: false,
  });
  // The form filled in from a stored one sends it back unchanged.
  const a = stored({ access: 'read-write', purpose: 'family-care', include_restricted: true });
  assert.deepEqual(buildProxyBody(draftOf(a), { change: true }), {
    access: 'read-write', categories: ['lab-results'], purpose: 'family-care',
    until: '2027-12-31', include_sensitive: false, include_restricted: true,
  });
  assert.deepEqual(draftOf(stored({ categories: undefined, until: null })).categories, []);
  assert.equal(draftOf(stored({ until: null })).until, '');
});

test("the vault's 400 is said beside the control it names", () => {
  assert.deepEqual(serverFieldError('proxy: no such citizen'),
    { field: 'proxy-id', text: 'no such citizen' });
  assert.deepEqual(serverFieldError('until: must not be past'),
    { field: 'proxy-until', text: 'must not be past' });
  assert.deepEqual(serverFieldError('purpose: 1 to 64 of A-Z a-z 0-9 _ . : / -'),
    { field: 'proxy-purpose', text: '1 to 64 of A-Z a-z 0-9 _ . : / -' });
  assert.equal(serverFieldError('categories: unknown category: dna').field, 'proxy-category');
  assert.equal(serverFieldError('access: must be read or read-write').field, 'proxy-access');
  assert.equal(serverFieldError('colour: unknown field'), null);
  assert.equal(serverFieldError('the body must be a JSON object'), null);
  assert.equal(serverFieldError(''), null);
  assert.equal(serverFieldError(undefined), null);
});

test('status, what can be changed, and the order of the list', () => {
  assert.equal(proxyStatus(stored(), NOW), 'active');
  for (const s of ['scheduled', 'expired', 'revoked', 'ended']) {
    assert.equal(proxyStatus(stored({ status: s }), NOW), s);
  }
  // Without a status the vault knows, from the dates.
  assert.equal(proxyStatus(stored({ status: undefined }), NOW), 'active');
  assert.equal(proxyStatus(stored({ status: undefined, revoked: NOW / 1000 }), NOW), 'revoked');
  assert.equal(proxyStatus(stored({ status: undefined, until: '2026-12-04' }), NOW), 'expired');
  assert.equal(proxyStatus(stored({ status: undefined, until: '2026-12-05' }), NOW), 'active');
  assert.equal(proxyStatus(stored({ status: undefined, start: '2026-12-06' }), NOW), 'scheduled');

  assert.ok(isLive(stored({ status: 'scheduled' }), NOW));
  assert.ok(!isLive(stored({ status: 'ended' }), NOW));
  assert.ok(canChange(stored(), NOW));
  assert.ok(!canChange(stored({ status: 'revoked' }), NOW));
  assert.ok(!canChange(stored({ kind: 'guardian', id: `gd_${'2'.repeat(32)}` }), NOW),
    'guardianships are the operator\'s');

  const list = [stored({ id: 'a', status: 'revoked' }), stored({ id: 'b' }),
    stored({ id: 'c', status: 'ended', kind: 'guardian' }), stored({ id: 'd', status: 'scheduled' })];
  assert.deepEqual(sortProxies(list, NOW).map((a) => a.id), ['b', 'd', 'a', 'c']);
});

test('an authorisation in words, as the citizen who gave it reads it', () => {
  assert.equal(accessWords('read'), 'view only');
  assert.equal(accessWords('read-write'), 'view and add');
  assert.equal(proxySentence(stored()),
    `${THEM} may see your lab results, up to and including 31 Dec 2027.`);
  assert.equal(proxySentence(stored({ access: 'read-write', categories: undefined, until: null })),
    `${THEM} may see and add to all your data, with no end date.`);
  assert.equal(proxySentence(stored({ categories: ['vital-signs', 'lab-results', 'imaging'] })),
    `${THEM} may see your vital signs and measurements, lab results and imaging, ` +
    'up to and including 31 Dec 2027.');
  // A proxy starts the day it is given: its start is said only before then.
  assert.deepEqual(proxyDetails(stored(), NOW), [
    'Sensitive records are left out.',
    'Records you hide from care providers are left out.',
  ]);
  assert.equal(proxyDetails(stored({ status: 'scheduled', start: '2026-12-07' }), NOW)[0],
    'From 7 Dec 2026.');
  assert.equal(proxyDetails(stored({ kind: 'guardian' }), NOW)[0], 'From 1 Dec 2026.');
  assert.deepEqual(proxyDetails(stored({ start: null, purpose: 'family-care',
    include_sensitive: true, include_restricted: true }), NOW), [
    'Only for the purpose “family-care”, which they must state with every request.',
    'Sensitive records are included.',
    'Records you hide from care providers are included.',
  ]);
  assert.equal(proxyDates(stored()).length, 1);
  assert.match(proxyDates(stored())[0], /^Given on 5 Dec 2026\.$/);
  assert.match(proxyDates(stored({ revoked: NOW / 1000 + 86400 }))[1], /^Revoked on 6 Dec 2026\.$/);
  assert.match(proxyDates(stored({ kind: 'guardian', revoked: NOW / 1000 + 86400 }))[1],
    /^Ended on 6 Dec 2026\.$/);
});

test('what one may do for a represented citizen, in words', () => {
  const r = { citizen_id: ME, id: `px_${'1'.repeat(32)}`, kind: 'proxy', access: 'read',
    categories: ['lab-results'], purpose: 'family-care', start: '2026-12-01', until: '2027-12-31',
    include_sensitive: false, include_restricted: false };
  assert.deepEqual(representedLines(r), [
    'You may see their data.',
    'Only these kinds of records: Lab results.',
    'Up to and including 31 Dec 2027.',
    'Only for the purpose “family-care”; the app states it with every request.',
    'Their sensitive records are left out.',
    'Records they hide from care providers are left out.',
  ]);
  assert.deepEqual(representedLines({ ...r, kind: 'guardian', access: 'read-write',
    categories: undefined, purpose: null, until: null, include_sensitive: true,
    include_restricted: true }), [
    'You may see their data and add to it.',
    'All their data.',
    'No end date.',
    'Their sensitive records are included.',
    'Records they hide from care providers are included.',
  ]);
});

test('acting mode: /v1/me calls go to /v1/citizens/{id}, the rest is never sent', () => {
  assert.equal(actingPath('GET', '/v1/me', ME), `/v1/citizens/${ME}`);
  assert.equal(actingPath('GET', '/v1/me?x=1', ME), `/v1/citizens/${ME}?x=1`);
  assert.equal(actingPath('DELETE', '/v1/me', ME), null, 'a proxy never erases');
  assert.equal(actingPath('GET', '/v1/me/records?category=lab-results&limit=25', ME),
    `/v1/citizens/${ME}/records?category=lab-results&limit=25`);
  assert.equal(actingPath('PUT', '/v1/me/records/Observation/obs-1', ME),
    `/v1/citizens/${ME}/records/Observation/obs-1`);
  assert.equal(actingPath('GET', '/v1/me/records/Observation/obs%2F1/history', ME),
    `/v1/citizens/${ME}/records/Observation/obs%2F1/history`);
  assert.equal(actingPath('POST', '/v1/me/records/Observation/o/rectification-requests', ME),
    `/v1/citizens/${ME}/records/Observation/o/rectification-requests`);
  assert.equal(actingPath('GET', '/v1/me/access-log?proofs=true&limit=50', ME),
    `/v1/citizens/${ME}/access-log?proofs=true&limit=50`);
  assert.equal(actingPath('DELETE', '/v1/me/consents/g_1', ME), `/v1/citizens/${ME}/consents/g_1`);
  for (const own of ['/v1/me/devices', '/v1/me/devices/pairing-codes', '/v1/me/devices/d_1',
    '/v1/me/proxies', '/v1/me/proxies/px_1', '/v1/me/represented', '/v1/me/']) {
    assert.equal(actingPath('GET', own, ME), null, own);
  }
  // Not the citizen's data, or the caller's own: never sent while acting.
  for (const other of ['/v1/meow', '/v1/rectification-requests', '/v1/enroll', '/v1/me-too/x']) {
    assert.equal(actingPath('GET', other, ME), null, other);
  }
  // The shared log's proofs are nobody's in particular.
  assert.equal(actingPath('GET', '/v1/audit/proofs/consistency?from=3&to=9', ME),
    '/v1/audit/proofs/consistency?from=3&to=9');
  assert.throws(() => actingPath('GET', '/v1/me', 'c_nope'), TypeError);
  assert.throws(() => actingPath('GET', '/v1/me', '../x'), TypeError);
});

test('acting mode: every rewritten target is one the signature can cover', () => {
  const digest = 'sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:';
  for (const [method, p] of [['GET', '/v1/me'], ['GET', '/v1/me/records?limit=25&cursor=abc'],
    ['POST', '/v1/me/records'], ['GET', '/v1/me/records/Observation/obs-1/history']]) {
    const target = actingPath(method, p, THEM);
    const base = signatureBase({ method, target, contentDigest: digest, created: 1,
      keyId: 'd_1', nonce: 'n'.repeat(16) });
    assert.ok(base.includes(`"@path": /v1/citizens/${THEM}`), base);
  }
});

test('acting mode: which pages a proxy can open and which the navigation offers', () => {
  const partial = { citizen_id: ME, access: 'read', categories: ['lab-results'],
    include_sensitive: false, include_restricted: false };
  const fullRead = { citizen_id: ME, access: 'read', include_sensitive: true,
    include_restricted: true };
  const fullWrite = { ...fullRead, access: 'read-write' };
  const views = ['records', 'record', 'charts', 'add', 'sharing', 'grant', 'hide', 'log',
    'proxies', 'represented', 'devices', 'erase'];
  const open = (scope) => views.filter((v) => routeAllowed(v, scope));
  const nav = (scope) => views.filter((v) => navAllowed(v, scope));
  assert.deepEqual(open(null), views, 'not acting: everything');
  assert.deepEqual(nav(null), views);
  assert.deepEqual(open(partial), ['records', 'record', 'charts', 'add', 'represented']);
  assert.deepEqual(nav(partial), ['records', 'record', 'charts', 'represented']);
  assert.deepEqual(open({ ...partial, access: 'read-write' }),
    ['records', 'record', 'charts', 'add', 'represented']);
  assert.deepEqual(nav({ ...partial, access: 'read-write' }),
    ['records', 'record', 'charts', 'add', 'represented']);
  assert.deepEqual(open(fullRead),
    ['records', 'record', 'charts', 'add', 'sharing', 'hide', 'log', 'represented']);
  assert.deepEqual(nav(fullRead), ['records', 'record', 'charts', 'sharing', 'hide', 'log',
    'represented']);
  assert.deepEqual(open(fullWrite), ['records', 'record', 'charts', 'add', 'sharing', 'grant',
    'hide', 'log', 'represented']);
  // All data means all categories (absent or null) and both kinds of record.
  assert.ok(isFullScope({ ...fullRead, categories: null }));
  assert.ok(!isFullScope({ ...fullRead, categories: ['lab-results'] }));
  assert.ok(!isFullScope({ ...fullRead, include_sensitive: false }));
  assert.ok(!isFullScope({ ...fullRead, include_restricted: false }));
  assert.ok(canWrite(fullWrite));
  assert.ok(!canWrite(fullRead));
  assert.ok(!canWrite(null));
});

test("the access log: who acted on the citizen's behalf", () => {
  const entry = { actor_kind: 'citizen', actor_id: THEM, citizen: ME };
  assert.equal(onBehalfActor(entry), THEM);
  assert.equal(onBehalfActor({ ...entry, on_behalf_of: ME }), THEM);
  assert.equal(onBehalfActor({ ...entry, actor_id: ME }), '', 'the citizen themselves');
  assert.equal(onBehalfActor({ ...entry, actor_kind: 'provider', actor_id: 'p_1' }), '');
  assert.equal(onBehalfActor({ actor_kind: 'operator', actor_id: 'operator', citizen: ME }), '');
  assert.equal(onBehalfActor({ ...entry, citizen: '', on_behalf_of: ME }), THEM);
  assert.equal(onBehalfActor({ ...entry, citizen: '' }), '');
});

// --- every t('…') the code names is in English (so in every language:
// i18n.test.mjs checks that each has English's keys).

const STATIC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'static', 'js');

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'lang' ? [] : sources(full);
    return e.name.endsWith('.js') ? [full] : [];
  });
}

test('every key the code passes to t() as a literal exists', () => {
  const missing = [];
  for (const file of sources(STATIC)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bt\(\s*'([^'$`]+)'/g)) {
      if (!(m[1] in en)) missing.push(`${path.relative(STATIC, file)}: ${m[1]}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('every key of the new pages, the banner and the log entries exists in English', () => {
  const keys = [
    ...['read', 'read-write'].flatMap((a) => [`acting.access.${a}`, `proxies.sentence.${a}`,
      `proxies.form.access.${a}`, `proxies.form.access.${a}.hint`, `represented.access.${a}`]),
    ...['active', 'scheduled', 'expired', 'revoked', 'ended'].map((s) => `proxies.status.${s}`),
    'nav.proxies', 'nav.represented',
    ...['list', 'authorise', 'change', 'revoke', 'represented', 'denied'].map((a) =>
      `log.action.proxy.${a}`),
    'log.action.guardianship.record', 'log.action.guardianship.end',
  ];
  assert.deepEqual(keys.filter((k) => !(k in en)), []);
});

test('acting state: held for the paired citizen who chose it, until stopped', async () => {
  // Under Node there is no sessionStorage: the state lives in memory,
  // as in a browser whose storage is unavailable.
  const acting = await import('../static/js/acting.js');
  const entry = { citizen_id: THEM, id: `px_${'1'.repeat(32)}`, access: 'read' };
  assert.equal(acting.current(ME), null);
  acting.start(ME, entry);
  assert.deepEqual(acting.current(ME), entry);
  acting.update({ ...entry, access: 'read-write' });
  assert.equal(acting.current(ME).access, 'read-write');
  acting.update({ ...entry, citizen_id: `c_${'b'.repeat(32)}` });
  assert.equal(acting.current(ME).citizen_id, THEM, 'another citizen is not an update');
  // Another pairing in this browser: not acting, and the state is gone.
  assert.equal(acting.current(`c_${'e'.repeat(32)}`), null);
  assert.equal(acting.current(ME), null);

  acting.start(ME, entry);
  acting.stop({ kind: 'ended', id: THEM });
  assert.equal(acting.current(ME), null);
  assert.deepEqual(acting.lastNotice(), { kind: 'ended', id: THEM });
  assert.deepEqual(acting.lastNotice(), { kind: 'ended', id: THEM }, 'kept until cleared');
  acting.clearNotice();
  assert.equal(acting.lastNotice(), null);
  acting.stop({ kind: 'stopped', id: THEM });
  acting.start(ME, entry);
  assert.equal(acting.lastNotice(), null, 'acting again forgets why it ended');
  acting.stop();
  assert.throws(() => acting.start(ME, { citizen_id: 'c_nope' }), TypeError);
  assert.throws(() => acting.start(ME, null), TypeError);
});
