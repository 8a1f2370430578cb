// SMART App Launch judged by a SMART client tillit did not write:
// fhirclient's Node API (the SMART Health IT JavaScript client) is the app.
// A small node:http server on a loopback port plays the app's /launch and
// /callback pages; the test is the browser, following each redirect by
// hand, and the citizen, who answers the consent screen with their bearer
// token as the web app would. Then the app reads the citizen's records
// with the token fhirclient obtained, and the answers are compared with
// what /v1 gives the citizen.
//
// Run by CTest (fhir_smart) with TILLIT_BIN and TILLIT_FIXTURES_DIR.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TILLIT, serve, tillit } from './tillit.mjs';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const smart = require('fhirclient');

const FIXTURES = process.env.TILLIT_FIXTURES_DIR;

// Four fixtures, to keep it quick; the first has 157 laboratory
// Observations, 64 of them from 2010 on, and is the citizen who launches.
const BUNDLES = [
  'b23f172c-8c92-4757-87a8-7f64c13639d3.json',
  '3287b938-4670-47eb-91e5-e0ce3df71405.json',
  '01396393-ed81-4f7f-a073-553cb407837f.json',
  '0bfeda65-c8ac-4dd7-a46c-d69e665996d4.json',
];
const APP_NAME = 'Test SMART app';
const SCOPE = 'launch/patient openid fhirUser patient/Patient.rs patient/Observation.rs offline_access';
const CATEGORIES = ['patient-summary', 'prescriptions', 'dispensations', 'lab-results', 'vital-signs',
  'imaging', 'discharge-reports', 'encounters', 'financial', 'other'];

/** fhirclient's storage: one session, in memory. */
function memoryStorage() {
  const m = new Map();
  return {
    async get(key) { return m.get(key); },
    async set(key, value) { m.set(key, value); return value; },
    async unset(key) { return m.delete(key); },
  };
}

/**
 * The app, on a free loopback port: GET /launch starts a standalone launch
 * (fhirclient's authorize() answers with a redirect to the authorization
 * endpoint), GET /callback completes it (ready() exchanges the code) and
 * keeps the client. `options` (the authorize() options) is set once
 * tillit serves. Any failure is a 500 with the error's message.
 */
async function startApp() {
  const storage = memoryStorage();
  const app = { options: null, clients: [], callbacks: [] };
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://app');
      if (url.pathname === '/launch') {
        await smart(req, res, storage).authorize(app.options);
      } else if (url.pathname === '/callback') {
        app.callbacks.push(url);
        app.clients.push(await smart(req, res, storage).ready());
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ready');
      } else {
        res.writeHead(404);
        res.end();
      }
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err?.message ?? err));
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  app.url = `http://127.0.0.1:${server.address().port}`;
  app.stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); });
  return app;
}

/** Whether an Observation has a category coding `laboratory`. */
const isLab = (r) => (r.category ?? []).some((c) => (c.coding ?? []).some((x) => x.code === 'laboratory'));

test('a standalone SMART launch by fhirclient reads what the citizen authorised', async (t) => {
  assert.ok(TILLIT, 'TILLIT_BIN names the tillit binary');
  assert.ok(FIXTURES && fs.existsSync(FIXTURES), 'TILLIT_FIXTURES_DIR names the Synthea fixtures');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillit-smart-'));
  const data = path.join(dir, 'data');
  const { admin_token: admin } = tillit(['init', '--data', data, '--json']);
  const imported = tillit(['import', '--data', data, '--json', ...BUNDLES.map((f) => path.join(FIXTURES, f))]);
  assert.equal(imported.rejected.length, 0, JSON.stringify(imported.rejected));
  assert.equal(imported.citizens.length, BUNDLES.length);
  const first = JSON.parse(fs.readFileSync(path.join(FIXTURES, BUNDLES[0]), 'utf8'));
  const pid = first.entry.find((e) => e.resource.resourceType === 'Patient').resource.id;
  const citizen = imported.citizens.find((c) => c.source_patient === pid);
  assert.ok(citizen, `the citizen of Patient ${pid}`);

  const app = await startApp();
  const redirectUri = `${app.url}/callback`;
  const registered = tillit(['app', 'add', '--data', data, '--name', APP_NAME,
    '--redirect-uri', redirectUri, '--json']);
  assert.match(registered.client_id, /^app_[0-9a-f]{32}$/);
  assert.equal(registered.name, APP_NAME);
  assert.deepEqual(registered.redirect_uris, [redirectUri]);
  const clientId = registered.client_id;

  const server = await serve(data);
  t.after(async () => {
    await app.stop();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const fhirBase = `${server.url}/fhir`;
  app.options = { iss: fhirBase, clientId, scope: SCOPE, redirectUri, pkceMode: 'required' };

  const call = async (method, p, token, body) => {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(server.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, json: await res.json() };
  };
  const get = async (p, token, status = 200) => {
    const r = await call('GET', p, token);
    assert.equal(r.status, status, `${p}: ${JSON.stringify(r.json).slice(0, 300)}`);
    return r.json;
  };
  /** The token endpoint, as an app calls it (a form); status, headers and body. */
  const tokenRequest = async (params) => {
    const res = await fetch(`${fhirBase}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, headers: res.headers, json: await res.json() };
  };
  /** A GET that does not follow a redirect. */
  const visit = (url) => fetch(url, { redirect: 'manual' });

  // The citizen, signed in with a bearer token as the web app is.
  const { enrollment_code: code } =
    (await call('POST', `/v1/admin/citizens/${citizen.citizen_id}/enrollment-code`, admin)).json;
  const { token: citizenToken } = (await call('POST', '/v1/enroll', undefined, { enrollment_code: code })).json;
  assert.ok(citizenToken, 'enrolled');

  /**
   * The browser through a launch up to the consent screen: the app's
   * /launch, then the authorization endpoint. The authorize URL and the
   * app request's id.
   */
  const launch = async () => {
    const started = await visit(`${app.url}/launch`);
    assert.equal(started.status, 302, `the app's /launch: ${await started.text()}`);
    const authorizeUrl = new URL(started.headers.get('location'));
    const authorized = await visit(authorizeUrl);
    assert.equal(authorized.status, 302, `${authorizeUrl}: ${await authorized.text()}`);
    const m = authorized.headers.get('location').match(/^(?:https?:\/\/[^/]+)?\/app\/#\/authorize\/(ar_[0-9a-f]{32})$/);
    assert.ok(m, `the consent page: ${authorized.headers.get('location')}`);
    return { authorizeUrl, requestId: m[1] };
  };
  const answer = async (requestId, body) => {
    const r = await call('POST', `/v1/me/app-requests/${requestId}`, citizenToken, body);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return new URL(r.json.redirect);
  };

  // --- The launch, the consent, the code exchanged by ready().
  let client, codeUsed, authorizeUrl;
  await t.test('discovery, authorize, consent and the code exchange', async () => {
    const config = await get('/fhir/.well-known/smart-configuration');
    assert.equal(config.authorization_endpoint, `${fhirBase}/authorize`);
    assert.equal(config.token_endpoint, `${fhirBase}/token`);
    assert.ok(config.code_challenge_methods_supported.includes('S256'));

    const launched = await launch();
    authorizeUrl = launched.authorizeUrl;
    // What fhirclient asked for: a code, for this app, this redirect URI
    // and these scopes, for this server, with a PKCE challenge.
    assert.equal(authorizeUrl.origin + authorizeUrl.pathname, `${fhirBase}/authorize`);
    const q = authorizeUrl.searchParams;
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), clientId);
    assert.equal(q.get('redirect_uri'), redirectUri);
    assert.equal(q.get('scope'), SCOPE);
    assert.equal(q.get('aud'), fhirBase);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
    const state = q.get('state');
    assert.ok(state);

    // The consent screen's question.
    const request = await get(`/v1/me/app-requests/${launched.requestId}`, citizenToken);
    assert.equal(request.id, launched.requestId);
    assert.equal(request.app.client_id, clientId);
    assert.equal(request.app.name, APP_NAME);
    assert.equal(request.app.redirect_uri, redirectUri);
    for (const type of ['Patient', 'Observation']) {
      const s = request.scopes.find((x) => x.scope === `patient/${type}.rs`);
      assert.ok(s, `${type} in ${JSON.stringify(request.scopes)}`);
      assert.equal(s.resource_type, type);
      assert.equal(s.read, true);
      assert.equal(s.search, true);
      assert.equal(s.category, undefined);
    }
    assert.equal(request.offline_access, true);
    assert.deepEqual([...request.categories].sort(), [...CATEGORIES].sort());

    // The citizen approves everything, sensitive records too, so that the
    // app sees what /v1 shows them.
    const redirect = await answer(launched.requestId,
      { approve: true, categories: CATEGORIES, include_sensitive: true });
    assert.equal(redirect.origin + redirect.pathname, redirectUri);
    assert.equal(redirect.searchParams.get('state'), state);
    codeUsed = redirect.searchParams.get('code');
    assert.ok(codeUsed);
    await get(`/v1/me/app-requests/${launched.requestId}`, citizenToken, 404); // used up

    // The browser lands on the app's callback: ready() trades the code.
    const landed = await visit(redirect);
    assert.equal(landed.status, 200, `the app's /callback: ${await landed.text()}`);
    assert.equal(app.clients.length, 1);
    client = app.clients[0];
  });

  await t.test('the token response', async () => {
    const tr = client.state.tokenResponse;
    assert.ok(tr.access_token);
    assert.equal(tr.token_type, 'Bearer');
    assert.ok(Number.isInteger(tr.expires_in) && tr.expires_in > 0, `expires_in ${tr.expires_in}`);
    assert.equal(tr.patient, pid);
    assert.equal(client.patient.id, pid);
    const granted = tr.scope.split(' ');
    // fhirclient refreshes only when the granted scope says offline_access
    // (or online_access).
    for (const s of ['launch/patient', 'patient/Patient.rs', 'patient/Observation.rs', 'offline_access']) {
      assert.ok(granted.includes(s), `${s} granted: ${tr.scope}`);
    }
    assert.ok(tr.refresh_token, 'a refresh token (offline_access)');
    assert.ok(client.state.codeVerifier, 'fhirclient made a PKCE verifier');
  });

  await t.test('the app reads the Patient and searches Observations across pages as /v1 lists them', async (st) => {
    const patient = await client.patient.read();
    assert.equal(patient.resourceType, 'Patient');
    assert.equal(patient.id, pid);
    assert.deepEqual(patient, await get(`/v1/me/records/Patient/${pid}`, citizenToken));

    // fhirclient adds patient=<id> (the CapabilityStatement names the
    // parameter) and follows every next link.
    const found = await client.patient.request('Observation?category=laboratory&date=ge2010-01-01&_count=10',
      { pageLimit: 0, flat: true });
    assert.ok(Array.isArray(found));
    assert.ok(found.length > 10, `more than one page (${found.length})`);
    for (const o of found) {
      assert.equal(o.resourceType, 'Observation');
      assert.ok(isLab(o), `${o.id} is a laboratory Observation`);
      assert.ok(Date.parse(o.effectiveDateTime) >= Date.UTC(2010, 0, 1), `${o.id} ${o.effectiveDateTime}`);
    }
    // The same as the citizen's own list, restricted the same way, in the
    // same (newest first) order.
    const listed = [];
    let cursor = null;
    do {
      const page = await get('/v1/me/records?type=Observation&category=lab-results&since=2010-01-01&limit=25' +
        (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''), citizenToken);
      listed.push(...page.records);
      cursor = page.next;
    } while (cursor);
    assert.ok(listed.every(isLab));
    assert.deepEqual(found.map((o) => o.id), listed.map((o) => o.id));
    st.diagnostic(`${found.length} laboratory Observations from 2010 on, in ${Math.ceil(found.length / 10)} pages`);
  });

  await t.test('what the scopes do not give is refused', async () => {
    // A type outside the scopes: 403.
    await assert.rejects(client.request('Condition?_count=5'), (e) => e.status === 403);
    await assert.rejects(client.patient.request('Condition'), (e) => e.status === 403);
    // An app token is for /fhir only.
    const tokenOnV1 = await call('GET', '/v1/me', client.state.tokenResponse.access_token);
    assert.equal(tokenOnV1.status, 403, JSON.stringify(tokenOnV1.json));
  });

  await t.test('a code is single use', async () => {
    const again = await tokenRequest({
      grant_type: 'authorization_code', code: codeUsed, redirect_uri: redirectUri,
      client_id: clientId, code_verifier: client.state.codeVerifier,
    });
    assert.equal(again.status, 400, JSON.stringify(again.json));
    assert.equal(again.json.error, 'invalid_grant');
  });

  await t.test('a refresh token gives a new working access token, once', async () => {
    // As fhirclient refreshes by default: grant_type and refresh_token,
    // no client_id (a public client need not send it, RFC 6749 section 6;
    // the refresh token is the app's).
    const before = { ...client.state.tokenResponse };
    await client.refresh();
    const after = client.state.tokenResponse;
    assert.notEqual(after.access_token, before.access_token);
    assert.ok(after.refresh_token);
    assert.notEqual(after.refresh_token, before.refresh_token);
    assert.equal((await client.patient.read()).id, pid);

    // With client_id too, as the contract writes it; and the refresh
    // token just used is used up.
    const refreshed = await tokenRequest({ grant_type: 'refresh_token', refresh_token: after.refresh_token, client_id: clientId });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.json));
    assert.match(refreshed.headers.get('cache-control') ?? '', /no-store/);
    assert.equal(refreshed.json.token_type, 'Bearer');
    assert.ok(refreshed.json.access_token && refreshed.json.refresh_token);
    assert.ok(refreshed.json.expires_in > 0);
    assert.ok(refreshed.json.scope.split(' ').includes('offline_access'), refreshed.json.scope);
    const reused = await tokenRequest({ grant_type: 'refresh_token', refresh_token: after.refresh_token, client_id: clientId });
    assert.equal(reused.status, 400, JSON.stringify(reused.json));
    assert.equal(reused.json.error, 'invalid_grant');
    client.state.tokenResponse = { ...after, ...refreshed.json };
    const found = await client.patient.request('Observation?_count=5');
    assert.equal(found.resourceType, 'Bundle');
    assert.ok(found.entry.length > 0);
  });

  await t.test('the access log names the app; revoking it kills its tokens', async () => {
    const { apps } = await get('/v1/me/apps', citizenToken);
    assert.equal(apps.length, 1);
    const [authorisation] = apps;
    assert.match(authorisation.id, /^aa_[0-9a-f]{32}$/);
    assert.equal(authorisation.client_id, clientId);
    assert.equal(authorisation.name, APP_NAME);
    assert.deepEqual([...authorisation.categories].sort(), [...CATEGORIES].sort());
    assert.equal(authorisation.include_sensitive, true);
    assert.equal(authorisation.offline_access, true);
    assert.equal(authorisation.revoked, undefined);

    const { entries } = await get('/v1/me/access-log?limit=1000', citizenToken);
    const byApp = entries.filter((e) => e.actor_kind === 'app');
    assert.ok(byApp.length > 0, 'the app\'s reads are in the access log');
    for (const e of byApp) {
      assert.equal(e.actor_id, clientId);
      assert.equal(e.app, APP_NAME);
    }
    // Its reads and searches, each under the citizen's authorisation.
    for (const action of ['records.read', 'records.list']) {
      const reads = byApp.filter((e) => e.action === action);
      assert.ok(reads.length > 0, `${action} by the app: ${JSON.stringify(byApp[0])}`);
      for (const e of reads) assert.deepEqual(e.grants, [authorisation.id], JSON.stringify(e));
    }

    const refreshToken = client.state.tokenResponse.refresh_token;
    const revoked = await call('DELETE', `/v1/me/apps/${authorisation.id}`, citizenToken);
    assert.equal(revoked.status, 200, JSON.stringify(revoked.json));
    assert.equal(revoked.json.id, authorisation.id);
    assert.ok(revoked.json.revoked > 0);
    await assert.rejects(client.patient.read(), (e) => e.status === 401);
    const dead = await tokenRequest({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
    assert.equal(dead.status, 400, JSON.stringify(dead.json));
    assert.equal(dead.json.error, 'invalid_grant');
    assert.equal((await call('DELETE', `/v1/me/apps/${authorisation.id}`, citizenToken)).status, 409);
  });

  await t.test('the authorization endpoint refuses a stranger; PKCE is checked', async () => {
    // An unknown client or a redirect URI not registered: 400, no redirect.
    for (const [name, value] of [['client_id', `app_${'0'.repeat(32)}`], ['redirect_uri', `${app.url}/elsewhere`]]) {
      const bad = new URL(authorizeUrl);
      bad.searchParams.set(name, value);
      const r = await visit(bad);
      assert.equal(r.status, 400, name);
      assert.equal(r.headers.get('location'), null, name);
      assert.equal((await r.json()).resourceType, 'OperationOutcome', name);
    }
    // A code with a code_verifier that is not the challenge's.
    const { requestId } = await launch();
    const redirect = await answer(requestId, { approve: true, categories: ['lab-results'] });
    const wrong = await tokenRequest({
      grant_type: 'authorization_code', code: redirect.searchParams.get('code'), redirect_uri: redirectUri,
      client_id: clientId, code_verifier: 'A'.repeat(43),
    });
    assert.equal(wrong.status, 400, JSON.stringify(wrong.json));
    assert.equal(wrong.json.error, 'invalid_grant');
  });

  await t.test('a denial reaches the app as access_denied', async () => {
    const { requestId } = await launch();
    const redirect = await answer(requestId, { approve: false });
    assert.equal(redirect.origin + redirect.pathname, redirectUri);
    assert.equal(redirect.searchParams.get('error'), 'access_denied');
    assert.equal(redirect.searchParams.get('code'), null);
    const landed = await visit(redirect);
    assert.equal(landed.status, 500);
    assert.match(await landed.text(), /access_denied/, 'ready() fails with the error');
    assert.equal(app.clients.length, 1);
  });
});
