// Unit tests of js/apps.js (node --test webapp/test/): the scopes of SMART
// App Launch read from their text and said in words, where the browser
// goes back to, the consent page's checks and the body it sends
// (POST /v1/me/app-requests/{id}), connected apps in words, and who made
// an access-log entry an app made. Also: the app calls are never sent
// while acting for someone, and the consent page is not opened then.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  appActorName, appCategoryWords, appStatus, consentBody, consentCategories, fhirCategoryWords,
  hasOfflineAccess, isAppAuthorisationId, isAppRequestId, isRedirectFor, offlineWords, parseScope,
  parseScopes, redirectOrigin, scopeAccess, scopeLines, scopeWords, splitApps, validateConsent,
} from '../static/js/apps.js';
import { CATEGORIES } from '../static/js/fhir.js';
import { actingPath, navAllowed, routeAllowed } from '../static/js/proxies.js';
import en from '../static/js/lang/en.js';

const HEX = '0123456789abcdef0123456789abcdef';
const AR = `ar_${HEX}`;
const AA = `aa_${HEX}`;
const THEM = `c_${'b'.repeat(32)}`;

// The answer of GET /v1/me/app-requests/{id}, as docs/FHIR.md shows it.
function request(fields = {}) {
  return {
    id: AR,
    app: { client_id: `app_${HEX}`, name: 'Health Diary', redirect_uri: 'http://127.0.0.1:8123/callback' },
    scopes: [
      { scope: 'patient/Observation.rs', resource_type: 'Observation', read: true, search: true },
      { scope: 'patient/*.r', resource_type: '*', read: true, search: false },
      { scope: 'patient/Observation.s?category=laboratory', resource_type: 'Observation',
        read: false, search: true, category: 'laboratory' },
    ],
    offline_access: false,
    categories: [...CATEGORIES],
    expires: 1765000000,
    ...fields,
  };
}

test('shapes: request and authorisation ids', () => {
  assert.ok(isAppRequestId(AR));
  assert.ok(!isAppRequestId(AA));
  assert.ok(!isAppRequestId(`ar_${HEX.toUpperCase()}`));
  assert.ok(!isAppRequestId(`${AR}0`));
  assert.ok(!isAppRequestId(''));
  assert.ok(!isAppRequestId(undefined));
  assert.ok(isAppAuthorisationId(AA));
  assert.ok(!isAppAuthorisationId(AR));
});

test('scopes from their text: v1 and v2, with and without a category filter', () => {
  assert.deepEqual(parseScope('patient/Observation.read'),
    { scope: 'patient/Observation.read', resource_type: 'Observation', read: true, search: true });
  assert.deepEqual(parseScope('patient/*.*'),
    { scope: 'patient/*.*', resource_type: '*', read: true, search: true });
  assert.deepEqual(parseScope('patient/Observation.rs'),
    { scope: 'patient/Observation.rs', resource_type: 'Observation', read: true, search: true });
  assert.deepEqual(parseScope('patient/Condition.r'),
    { scope: 'patient/Condition.r', resource_type: 'Condition', read: true, search: false });
  assert.deepEqual(parseScope('patient/Condition.s'),
    { scope: 'patient/Condition.s', resource_type: 'Condition', read: false, search: true });
  // Write parts are never granted: what is left is read and search.
  assert.deepEqual(parseScope('patient/Observation.cruds'),
    { scope: 'patient/Observation.cruds', resource_type: 'Observation', read: true, search: true });
  assert.deepEqual(parseScope('patient/Observation.rs?category=laboratory'), {
    scope: 'patient/Observation.rs?category=laboratory', resource_type: 'Observation',
    read: true, search: true, category: 'laboratory' });
  const system = 'http://terminology.hl7.org/CodeSystem/observation-category';
  assert.equal(parseScope(`patient/Observation.rs?category=${system}|vital-signs`).category,
    'vital-signs');
  assert.equal(parseScope(`patient/Observation.rs?category=${encodeURIComponent(`${system}|imaging`)}`)
    .category, 'imaging');
  for (const dropped of ['launch/patient', 'openid', 'fhirUser', 'offline_access', 'online_access',
    'user/Observation.rs', 'system/*.read', 'patient/Observation.write', 'patient/Observation.cud',
    'patient/observation.rs', 'patient/Observation', 'patient/Observation.rs?code=1234-5',
    'patient/Observation.rs?category=', 'patient/Observation.rs?category=a&category=b',
    'patient/Observation.sr', '', null, undefined]) {
    assert.equal(parseScope(dropped), null, String(dropped));
  }
  assert.deepEqual(parseScopes('launch/patient  patient/Observation.rs\tpatient/*.read offline_access')
    .map((s) => s.scope), ['patient/Observation.rs', 'patient/*.read']);
  assert.deepEqual(parseScopes(undefined), []);
  assert.ok(hasOfflineAccess('launch/patient patient/*.rs offline_access'));
  assert.ok(!hasOfflineAccess('launch/patient patient/*.rs online_access'));
  assert.ok(!hasOfflineAccess(undefined));
});

test('scopes in words: what the app may do, with which kind of record, in which category', () => {
  assert.equal(scopeAccess({ read: true, search: true }), 'read-search');
  assert.equal(scopeAccess({ read: true, search: false }), 'read');
  assert.equal(scopeAccess({ read: false, search: true }), 'search');
  assert.equal(scopeAccess({ read: false, search: false }), null);
  assert.equal(scopeAccess(null), null);

  assert.deepEqual(scopeWords(request().scopes[0]), {
    what: 'Measurement', how: 'may search and read', category: null,
    text: 'Measurement: may search and read' });
  assert.equal(scopeWords(request().scopes[1]).text,
    'All kinds of records: may read single records, but not search');
  assert.equal(scopeWords(request().scopes[2]).text,
    'Measurement: may search, only in the category “Lab results”');
  // A type the app has no word for keeps its FHIR name; a category code
  // that is not one of the vault's is said as it is.
  assert.equal(scopeWords({ resource_type: 'Flag', read: true, search: true }).text,
    'Flag: may search and read');
  assert.equal(scopeWords({ resource_type: 'Observation', read: true, search: true,
    category: 'social-history' }).text,
  'Measurement: may search and read, only in the category “social-history”');
  assert.equal(fhirCategoryWords('vital-signs'), 'Vital signs and measurements');
  assert.equal(fhirCategoryWords('imaging'), 'Imaging (X-rays, scans)');
  assert.equal(scopeWords({ resource_type: 'Observation', read: false, search: false }), null);
  assert.equal(scopeWords({ read: true, search: true }), null);

  assert.deepEqual(scopeLines(request().scopes), [
    'Measurement: may search and read',
    'All kinds of records: may read single records, but not search',
    'Measurement: may search, only in the category “Lab results”',
  ]);
  // Each line once; nothing for what allows nothing.
  assert.deepEqual(scopeLines([...request().scopes.slice(0, 1), request().scopes[0],
    { resource_type: 'Condition', read: false, search: false }]), ['Measurement: may search and read']);
  assert.deepEqual(scopeLines(undefined), []);
  assert.deepEqual(scopeLines(parseScopes('launch/patient patient/Observation.rs offline_access')),
    ['Measurement: may search and read']);

  assert.match(offlineWords(true), /keeps access while you are away/);
  assert.match(offlineWords(false), /only for a short while/);
  assert.equal(offlineWords(undefined), offlineWords(false));
});

test('where the browser goes back to: the redirect URI’s origin, and only there', () => {
  assert.equal(redirectOrigin('http://127.0.0.1:8123/callback'), 'http://127.0.0.1:8123');
  assert.equal(redirectOrigin('https://diary.example/smart/cb?x=1'), 'https://diary.example');
  assert.equal(redirectOrigin('https://diary.example:443/cb'), 'https://diary.example');
  assert.equal(redirectOrigin('http://[::1]:9000/cb'), 'http://[::1]:9000');
  assert.equal(redirectOrigin('not a url'), 'not a url');
  assert.equal(redirectOrigin('javascript:alert(1)'), 'javascript:alert(1)');
  assert.equal(redirectOrigin(undefined), '');

  const cb = 'http://127.0.0.1:8123/callback';
  assert.ok(isRedirectFor(`${cb}?code=abc&state=xyz`, cb));
  assert.ok(isRedirectFor(`${cb}?error=access_denied&state=xyz`, cb));
  assert.ok(isRedirectFor('https://diary.example/cb?x=1&code=abc', 'https://diary.example/cb?x=1'));
  assert.ok(!isRedirectFor('http://127.0.0.1:8124/callback?code=abc', cb), 'another port');
  assert.ok(!isRedirectFor('https://127.0.0.1:8123/callback?code=abc', cb), 'another scheme');
  assert.ok(!isRedirectFor('https://evil.example/?code=abc', cb));
  assert.ok(!isRedirectFor('javascript:alert(1)', 'javascript:alert(1)'));
  assert.ok(!isRedirectFor('/callback?code=abc', cb));
  assert.ok(!isRedirectFor(undefined, cb));
  assert.ok(!isRedirectFor(`${cb}?code=abc`, undefined));
});

test('the consent page: the categories offered, at least one needed, the body sent', () => {
  assert.deepEqual(consentCategories(request()), CATEGORIES);
  assert.deepEqual(consentCategories(request({ categories: ['vital-signs', 'made-up', 'lab-results'] })),
    ['lab-results', 'vital-signs'], "the app's order, only what it knows");
  assert.deepEqual(consentCategories(request({ categories: undefined })), CATEGORIES);

  assert.deepEqual(validateConsent(['lab-results']), []);
  assert.deepEqual(validateConsent([]),
    [{ field: 'app-category', key: 'authorize.error.noCategory' }]);
  assert.deepEqual(validateConsent(['made-up']).map((e) => e.key), ['authorize.error.noCategory']);
  assert.deepEqual(validateConsent(undefined).map((e) => e.key), ['authorize.error.noCategory']);
  assert.ok('authorize.error.noCategory' in en);

  assert.deepEqual(consentBody({ approve: true, categories: ['vital-signs', 'lab-results', 'vital-signs'] }),
    { approve: true, categories: ['lab-results', 'vital-signs'], include_sensitive: false });
  assert.deepEqual(consentBody({ approve: true, categories: ['other'], includeSensitive: true }),
    { approve: true, categories: ['other'], include_sensitive: true });
  // A refusal is {approve: false} alone: the vault refuses anything more.
  assert.deepEqual(consentBody({ approve: false, categories: ['other'], includeSensitive: true }),
    { approve: false });
  assert.deepEqual(consentBody({}), { approve: false });
});

test('connected apps: live and revoked apart, in the vault’s order, the categories in words', () => {
  const app = (id, fields = {}) => ({ id: `aa_${id.repeat(32)}`, client_id: `app_${HEX}`,
    name: 'Health Diary', scope: 'launch/patient patient/Observation.rs',
    categories: ['vital-signs', 'lab-results'], include_sensitive: false, offline_access: false,
    created: 1765000000, ...fields });
  const answer = { apps: [app('3'), app('2', { revoked: 1765000100 }), app('1'), null, { name: 'x' }] };
  const { live, revoked } = splitApps(answer);
  assert.deepEqual(live.map((a) => a.id), [app('3').id, app('1').id]);
  assert.deepEqual(revoked.map((a) => a.id), [app('2').id]);
  assert.deepEqual(splitApps({}), { live: [], revoked: [] });
  assert.deepEqual(splitApps(null), { live: [], revoked: [] });
  assert.equal(appStatus(app('1')), 'active');
  assert.equal(appStatus(app('1', { revoked: 1765000100 })), 'revoked');
  assert.deepEqual(appCategoryWords(app('1')), ['Lab results', 'Vital signs and measurements']);
  assert.deepEqual(appCategoryWords({ categories: ['made-up'] }), []);
  assert.deepEqual(appCategoryWords({}), []);
});

test('the access log: an app’s entry is named by the app, else by its client id', () => {
  const entry = { actor_kind: 'app', actor_id: `app_${HEX}`, action: 'records.list' };
  assert.equal(appActorName({ ...entry, app: 'Health Diary' }), 'Health Diary');
  assert.equal(appActorName({ ...entry, app: '  Health Diary ' }), 'Health Diary');
  assert.equal(appActorName({ ...entry, app: '' }), `app_${HEX}`);
  assert.equal(appActorName({ ...entry, app: null }), `app_${HEX}`);
  assert.equal(appActorName(entry), `app_${HEX}`);
  assert.equal(appActorName({}), '');
  assert.ok('log.actor.app' in en);
  assert.ok('log.action.app.authorize' in en && 'log.action.app.revoke' in en);
});

test('acting for someone: the app calls are never sent, the consent page never opened', () => {
  for (const method of ['GET', 'POST', 'DELETE']) {
    assert.equal(actingPath(method, '/v1/me/apps', THEM), null, method);
    assert.equal(actingPath(method, `/v1/me/apps/${AA}`, THEM), null, method);
    assert.equal(actingPath(method, `/v1/me/app-requests/${AR}`, THEM), null, method);
  }
  // Neighbours are unchanged.
  assert.equal(actingPath('GET', '/v1/me/consents', THEM), `/v1/citizens/${THEM}/consents`);
  const full = { citizen_id: THEM, access: 'read-write', categories: null,
    include_sensitive: true, include_restricted: true };
  assert.equal(routeAllowed('authorize', full), false);
  assert.equal(navAllowed('authorize', full), false);
  assert.equal(routeAllowed('authorize', null), true);
  assert.equal(routeAllowed('sharing', full), true);
});
