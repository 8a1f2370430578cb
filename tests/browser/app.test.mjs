// The citizen web app in Debian's Chromium against a real `tillit demo`
// server. The scenarios run in order on one vault: each asserts what the
// page shows, and where the app changes something, what the API says.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { api, axe, launchBrowser, newPage, open, shot, startDemo, startProxy, texts, TILLIT }
  from './harness.mjs';

let demo; let proxy; let browser; let page; let base;
let citizen; let tokens;
const axeResults = {};

async function newCode() {
  const r = await api(demo.url, 'POST', `/v1/admin/citizens/${citizen}/enrollment-code`, tokens.admin, {});
  assert.equal(r.status, 201, r.text);
  return r.json.enrollment_code;
}

async function pair(p, code, name) {
  await p.goto(`${base}/app/`);
  await p.waitForSelector('input[name=code]');
  await p.type('input[name=code]', code);
  await p.$eval('input[name=name]', (el) => { el.value = ''; });
  await p.type('input[name=name]', name);
  await p.click('form button[type=submit]');
}

// `on`: another browser page than the demo citizen's (a proxy's, say).
async function checkPage(name, { widths = [1280, 360], on = page } = {}) {
  const shown = await on.$eval('body', (b) => b.innerText);
  assert.doesNotMatch(shown, /\bnull\b|\bundefined\b|\bNaN\b|\[object /, `${name} shows a programming value`);
  const violations = await axe(on);
  axeResults[name] = violations.length;
  assert.deepEqual(violations, [], `accessibility violations on ${name}`);
  for (const w of widths) {
    if (on.viewport().width !== w) {
      await on.setViewport({ width: w, height: w < 600 ? 780 : 900 });
    }
    await shot(on, name);
    const wide = await on.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= w, `${name} is ${wide} px wide at ${w} px`);
  }
  await on.setViewport({ width: 1280, height: 900 });
}

before(async () => {
  demo = await startDemo();
  citizen = demo.info.citizen_id;
  tokens = demo.info.tokens;
  proxy = await startProxy(demo.url);
  base = proxy.url;
  browser = await launchBrowser();
  page = await newPage(browser);
});

after(async () => {
  console.log(`accessibility: serious/critical violations per page ${JSON.stringify(axeResults)}`);
  if (smartApp) await smartApp.callback.stop();
  if (browser) await browser.close();
  if (proxy) await proxy.stop();
  if (demo) await demo.stop();
});

test('the app is served with strict headers', async () => {
  const res = await fetch(`${base}/app/`);
  assert.equal(res.status, 200);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  const js = await fetch(`${base}/app/js/main.js`);
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
});

test('pairing with a one-time code, and a used code is refused', async () => {
  const code = demo.info.app.pairing_code;
  await page.goto(`${base}/app/`);
  await page.waitForSelector('input[name=code]');
  await checkPage('pair');
  await pair(page, code, 'Test laptop');
  await page.waitForFunction(() => document.querySelector('main h1')?.textContent === 'My health data');
  const devices = await api(demo.url, 'GET', '/v1/me/devices', tokens.citizen);
  assert.ok(devices.json.devices.some((d) => d.name === 'Test laptop' && !d.revoked));

  // The same code again, in another browser profile: refused, and it says so.
  const other = await newPage(browser);
  await pair(other, code, 'Second');
  await other.waitForSelector('.field-error:not(:empty)');
  const err = await texts(other, '.field-error');
  assert.ok(err.some((e) => /not accepted/.test(e)), err.join(' | '));
  await other.browserContext().close();
});

test('the timeline lists records newest first and filters by category', async () => {
  await open(page, base, 'records');
  const hrefs = await page.$$eval('.records a', (as) => as.map((a) => a.getAttribute('href')));
  const expected = await api(demo.url, 'GET', '/v1/me/records?limit=25', tokens.citizen);
  assert.deepEqual(hrefs, expected.json.records.map((r) => `#/record/${r.resourceType}/${r.id}`));
  await checkPage('records');

  await page.select('#category-filter', 'lab-results');
  await page.waitForFunction(() => location.hash.includes('category=lab-results') &&
    !document.querySelector('main .loading') && document.querySelector('.records'));
  const labs = await page.$$eval('.records a', (as) => as.map((a) => a.getAttribute('href')));
  const labsApi = await api(demo.url, 'GET', '/v1/me/records?category=lab-results&limit=25', tokens.citizen);
  assert.ok(labsApi.json.records.length > 0, 'the demo citizen has lab results');
  assert.deepEqual(labs, labsApi.json.records.map((r) => `#/record/${r.resourceType}/${r.id}`));

  // A record's details, and its raw JSON behind the toggle.
  await page.click('.records a');
  await page.waitForSelector('#toggle-raw');
  assert.equal(await page.$eval('#raw-json', (el) => el.hidden), true);
  await page.click('#toggle-raw');
  const raw = JSON.parse(await page.$eval('#raw-json', (el) => el.textContent));
  assert.equal(`#/record/${raw.resourceType}/${raw.id}`, labs[0]);
  await checkPage('record', { widths: [1280] });
});

test('a chart has a point for every body weight the vault holds', async () => {
  await open(page, base, 'charts');
  const all = [];
  let cursor = null;
  do {
    const r = await api(demo.url, 'GET', `/v1/me/records?category=vital-signs&type=Observation&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, tokens.citizen);
    all.push(...r.json.records);
    cursor = r.json.next;
  } while (cursor);
  const weights = all.filter((r) => (r.code?.coding || []).some((c) => c.code === '29463-7') && r.valueQuantity);
  assert.ok(weights.length > 0, 'the demo citizen has body weights');
  const points = await page.$$eval('.chart[data-measure=weight] circle.point', (c) => c.length);
  assert.equal(points, weights.length);
  const pressures = all.filter((r) => (r.code?.coding || []).some((c) => c.code === '85354-9'));
  assert.ok(pressures.length > 0, 'the demo citizen has blood pressures');
  assert.equal(await page.$$eval('.chart[data-measure=blood-pressure] circle.point', (c) => c.length),
    2 * pressures.length, 'a systolic and a diastolic point per reading');
  const axisText = await texts(page, '.chart[data-measure=weight] text');
  assert.ok(axisText.includes('kg'), 'the unit is on the axis');
  await checkPage('charts');
});

test('adding a reading: a bad value is refused in the form, a good one shows in the timeline', async () => {
  const before = (await api(demo.url, 'GET', '/v1/me', tokens.citizen)).json.records;
  await open(page, base, 'add');
  await page.select('#reading-kind', 'weight');
  await page.type('#reading-weight', '900');
  await page.click('#reading-save');
  await page.waitForSelector('#reading-weight[aria-invalid=true]');
  assert.match((await texts(page, '.field-error')).join(' '), /between 1 and 400 kg/);
  assert.equal((await api(demo.url, 'GET', '/v1/me', tokens.citizen)).json.records, before);
  await checkPage('add');

  await page.$eval('#reading-weight', (el) => { el.value = ''; });
  await page.type('#reading-weight', '82,5');
  await page.click('#reading-save');
  await page.waitForFunction(() => location.hash.startsWith('#/records') &&
    document.querySelector('.records li'));
  const first = await page.$eval('.records li', (li) => li.textContent);
  assert.match(first, /82\.5 kg/);
  assert.match(first, /Entered by you/);
  assert.equal((await api(demo.url, 'GET', '/v1/me', tokens.citizen)).json.records, before + 1);
});

// Corrections (EHDS Art 6). `tillit demo` names its care provider as the
// one who answers requests to correct imported records; the provider's
// answer is given here through the API with its token.
const SOURCE = 'https://tillit.health/source';

function sourceTag(r) {
  return (r.meta?.tag || []).find((x) => x && x.system === SOURCE)?.code || '';
}

async function decide(id, body) {
  const r = await api(demo.url, 'POST', `/v1/rectification-requests/${encodeURIComponent(id)}/decision`,
    tokens.provider, body);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

async function requestFor(ref) {
  const r = await api(demo.url, 'GET', '/v1/rectification-requests', tokens.citizen);
  assert.equal(r.status, 200, r.text);
  return r.json.requests.find((x) => x.record === ref);
}

/** Reloads the page and waits for the view to render again. */
async function reload() {
  await page.reload();
  await page.waitForFunction(() => !document.querySelector('main .loading') &&
    document.querySelector('main h1'));
}

const num = (n) => new Intl.NumberFormat('en-GB', { maximumFractionDigits: 2 }).format(n);
// A quantity as the record page writes it (js/fhir.js recordValue).
const quantity = (q) => `${num(q.value)}${q.unit || q.code ? ` ${q.unit || q.code}` : ''}`;

test('rectification: an imported record, a correction asked for, accepted by the care provider', async () => {
  const listed = (await api(demo.url, 'GET', '/v1/me/records?category=vital-signs&type=Observation&limit=200',
    tokens.citizen)).json.records;
  const imported = listed.filter((r) => !sourceTag(r) && typeof r.valueQuantity?.value === 'number');
  assert.ok(imported.length >= 2, 'the demo citizen has imported measurements');
  const [rec, other] = imported;
  const ref = `${rec.resourceType}/${rec.id}`;

  await open(page, base, `record/${rec.resourceType}/${rec.id}`);
  assert.equal(await page.$('#record-history'), null, 'no earlier versions yet');
  assert.equal(await page.$('#edit-record'), null, 'an imported record has no Edit');
  await page.click('#ask-correction');
  await page.waitForSelector('#fix-reason');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'fix-reason');
  const reason = `The value ${num(rec.valueQuantity.value)} is wrong: it was ${num(rec.valueQuantity.value + 1)}.`;
  await page.type('#fix-reason', reason);
  await checkPage('rectification-ask');
  // Empty, then over the limit in bytes (though not in characters): refused in the form.
  const setReason = (text) => page.$eval('#fix-reason', (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input'));
  }, text);
  await setReason('');
  await page.click('#fix-send');
  await page.waitForSelector('#fix-reason-error:not(:empty)');
  await setReason('å'.repeat(501));
  assert.equal(await page.$eval('#fix-reason-count', (el) => el.textContent), '1,002 of 1,000 bytes used.');
  await page.click('#fix-send');
  await page.waitForFunction(() => /too long/.test(document.querySelector('#fix-reason-error')?.textContent));
  assert.equal(await requestFor(ref), undefined, 'nothing was sent');
  await setReason(reason);
  await page.click('#fix-send');
  await page.waitForSelector('#fix-pending, #fix-form .error');
  const refused = await page.$eval('#fix-form .error', (el) => el.textContent).catch(() => null);
  assert.equal(refused, null, 'the request was refused');
  assert.match(await page.$eval('#fix-pending', (el) => el.textContent), /has not answered yet/);

  const asked = await requestFor(ref);
  assert.ok(asked, 'the request is stored');
  assert.equal(asked.status, 'pending');
  assert.equal(asked.reason, reason);
  assert.equal(asked.provider, demo.info.provider_id);
  const item = `#fix-record-requests li[data-request-id="${asked.id}"]`;
  assert.equal(await page.$eval(item, (li) => li.dataset.status), 'pending');
  await checkPage('rectification-pending');
  // Asking again while one waits is refused.
  const again = await api(demo.url, 'POST', `/v1/me/records/${ref}/rectification-requests`, tokens.citizen,
    { reason: 'Again' });
  assert.equal(again.status, 409, again.text);

  // The care provider accepts it with the corrected record.
  const value = Math.round((rec.valueQuantity.value + 1) * 10) / 10;
  const corrected = { ...rec, valueQuantity: { ...rec.valueQuantity, value } };
  await decide(asked.id, { decision: 'accept', resource: corrected });
  assert.equal((await requestFor(ref)).status, 'accepted');

  await reload();
  await page.waitForSelector(`${item}[data-status=accepted]`);
  assert.match(await page.$eval(item, (li) => li.textContent), /Accepted on .*The record was corrected/);
  assert.equal(await page.$('#fix-pending'), null, 'nothing waits any more');
  assert.ok(await page.$('#ask-correction'), 'another correction can be asked for');
  const shownValue = await page.$$eval('.view > .details dd', (dds) => dds.map((d) => d.textContent));
  assert.ok(shownValue.includes(quantity(corrected.valueQuantity)),
    `the corrected value ${quantity(corrected.valueQuantity)}: ${shownValue}`);
  await page.click('#toggle-raw');
  assert.equal(JSON.parse(await page.$eval('#raw-json', (el) => el.textContent)).valueQuantity.value, value);

  const history = await api(demo.url, 'GET', `/v1/me/records/${ref}/history`, tokens.citizen);
  assert.equal(history.status, 200, history.text);
  assert.equal(history.json.versions.length, 1);
  const versions = await page.$$eval('#record-history li.version', (lis) => lis.map((li) => ({
    request: li.dataset.request, text: li.textContent,
    values: [...li.querySelectorAll('dd')].map((d) => d.textContent) })));
  assert.equal(versions.length, 1, 'one earlier version');
  assert.equal(versions[0].request, asked.id);
  assert.ok(versions[0].text.includes(`by care provider ${demo.info.provider_id}`), versions[0].text);
  assert.ok(versions[0].text.includes(`a correction you asked for (request ${asked.id})`), versions[0].text);
  assert.ok(versions[0].values.includes(quantity(rec.valueQuantity)),
    `the earlier value ${quantity(rec.valueQuantity)}: ${versions[0].values}`);
  await checkPage('rectification-accepted');

  // Another record: the form is open when a request for it arrives from
  // elsewhere; the refusal says one is waiting. The care provider declines.
  const otherRef = `${other.resourceType}/${other.id}`;
  await open(page, base, `record/${other.resourceType}/${other.id}`);
  await page.click('#ask-correction');
  await page.type('#fix-reason', 'The date is wrong.');
  const direct = await api(demo.url, 'POST', `/v1/me/records/${otherRef}/rectification-requests`,
    tokens.citizen, { reason: 'Asked from another device.' });
  assert.equal(direct.status, 201, direct.text);
  assert.equal(direct.json.status, 'pending');
  await page.click('#fix-send');
  await page.waitForSelector('#fix-form .error');
  assert.match(await page.$eval('#fix-form .error', (el) => el.textContent),
    /already asked for a correction of this record/);
  const answer = 'The value is right as measured.';
  await decide(direct.json.id, { decision: 'decline', reason: answer });

  await open(page, base, 'records');
  const listItem = (id) => `#fix-requests li[data-request-id="${id}"]`;
  await page.waitForSelector(listItem(asked.id));
  assert.equal(await page.$eval(listItem(asked.id), (li) => li.dataset.status), 'accepted');
  assert.equal(await page.$eval(listItem(direct.json.id), (li) => li.dataset.status), 'declined');
  const declined = await page.$eval(listItem(direct.json.id), (li) => li.textContent);
  assert.ok(declined.includes(`The care provider’s answer: ${answer}`), declined);
  assert.match(declined, /Declined on/);
  const ids = await page.$$eval('#fix-requests li', (lis) => lis.map((li) => li.dataset.requestId));
  const all = (await api(demo.url, 'GET', '/v1/rectification-requests', tokens.citizen)).json.requests;
  assert.deepEqual(ids, all.map((x) => x.id), 'newest first, as the vault lists them');
  assert.deepEqual(new Set(ids), new Set([direct.json.id, asked.id]));
  await checkPage('rectification-requests');
});

test('rectification: a reading the citizen entered is corrected with Edit, its earlier version kept', async () => {
  const listed = (await api(demo.url, 'GET', '/v1/me/records?category=vital-signs&type=Observation&limit=200',
    tokens.citizen)).json.records;
  const rec = listed.find((r) => sourceTag(r) === 'citizen' && r.valueQuantity?.value === 82.5);
  assert.ok(rec, 'the weight added above');
  const ref = `${rec.resourceType}/${rec.id}`;
  // Not through a request: the citizen corrects it.
  const refused = await api(demo.url, 'POST', `/v1/me/records/${ref}/rectification-requests`,
    tokens.citizen, { reason: 'Wrong' });
  assert.equal(refused.status, 409, refused.text);

  await open(page, base, `record/${rec.resourceType}/${rec.id}`);
  assert.equal(await page.$('#ask-correction'), null, 'no request for a reading of your own');
  assert.equal(await page.$('#record-history'), null);
  await page.click('#edit-record');
  await page.waitForSelector('#reading-weight');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'reading-weight');
  assert.equal(await page.$('#reading-kind'), null, 'the kind stays');
  assert.equal(await page.$eval('#reading-weight', (el) => el.value), '82.5');
  await checkPage('rectification-edit');
  // Checked as when it was added.
  await page.$eval('#reading-weight', (el) => { el.value = ''; });
  await page.type('#reading-weight', '900');
  await page.click('#reading-save');
  await page.waitForSelector('#reading-weight[aria-invalid=true]');
  assert.equal((await api(demo.url, 'GET', `/v1/me/records/${ref}/history`, tokens.citizen)).json
    .versions.length, 0, 'nothing was stored');
  await page.$eval('#reading-weight', (el) => { el.value = ''; });
  await page.type('#reading-weight', '81,9');
  await page.click('#reading-save');
  await page.waitForSelector('#record-history li.version');

  const now = await api(demo.url, 'GET', `/v1/me/records/${ref}`, tokens.citizen);
  assert.equal(now.json.valueQuantity.value, 81.9);
  assert.equal(now.json.effectiveDateTime, rec.effectiveDateTime, 'the time is kept');
  assert.equal(sourceTag(now.json), 'citizen');
  const history = await api(demo.url, 'GET', `/v1/me/records/${ref}/history`, tokens.citizen);
  assert.equal(history.json.versions.length, 1);
  assert.equal(history.json.versions[0].superseded_by, 'citizen');
  assert.equal(history.json.versions[0].resource.valueQuantity.value, 82.5);

  const shown = await page.$$eval('.view > .details dd', (dds) => dds.map((d) => d.textContent));
  assert.ok(shown.includes('81.9 kg'), shown.join(' | '));
  const version = await page.$eval('#record-history li.version', (li) => li.textContent);
  assert.match(version, /Replaced on .* by you\./);
  assert.ok(version.includes('82.5 kg'), version);
  assert.doesNotMatch(version, /correction you asked for/);
  await checkPage('rectification-edited');
});

test('download everything saves the FHIR export', async () => {
  await open(page, base, 'records');
  const cdp = await page.createCDPSession();
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillit-dl-'));
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir,
    browserContextId: page.browserContext().id });
  await page.click('#download');
  await page.waitForSelector('.download-status .ok', { timeout: 30000 });
  let files = [];
  for (let i = 0; i < 50 && !files.some((f) => f.endsWith('.json')); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    files = fs.readdirSync(dir);
  }
  const file = files.find((f) => f.endsWith('.json'));
  assert.ok(file, `downloaded: ${files}`);
  const bundle = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  assert.equal(bundle.resourceType, 'Bundle');
  const count = (await api(demo.url, 'GET', '/v1/me', tokens.citizen)).json.records;
  assert.equal(bundle.entry.length, count);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the access log shows a provider's read as verified", async () => {
  const read = await api(demo.url, 'GET', `/v1/patients/${citizen}/records?limit=5`, tokens.provider);
  assert.equal(read.status, 200, read.text);
  await open(page, base, 'log');
  const provider = demo.info.provider_id;
  const entries = await page.$$eval('.log-entry', (lis) => lis.map((li) => ({
    text: li.textContent, verified: !!li.querySelector('.badge.verified') })));
  const mine = entries.filter((e) => e.text.includes(`Care provider ${provider}`));
  assert.ok(mine.length > 0, 'the provider read is listed');
  assert.ok(mine.every((e) => e.verified), 'and verified');
  assert.equal(await page.$('#log-warning'), null);
  await checkPage('log');
});

test('an API error is a sentence with the request id, never raw JSON', async () => {
  proxy.mode.failPath = '/v1/me/devices';
  try {
    await open(page, base, 'devices');
    const text = await page.$eval('main .error', (el) => el.textContent);
    assert.match(text, /busy/);
    assert.match(text, /proxy-503-test/);
    assert.doesNotMatch(await page.$eval('main', (m) => m.textContent), /[{}]|"code"/);
    await shot(page, 'error');
  } finally {
    proxy.mode.failPath = null;
  }
});

test('the app is installable and its shell opens offline', async () => {
  // Chromium never offers to install from a private profile, which the
  // other pages use: this check runs in the browser's default profile.
  const fresh = await browser.newPage();
  await fresh.goto(`${base}/app/`);
  await fresh.evaluate(() => navigator.serviceWorker.ready);
  const cdp = await fresh.createCDPSession();
  const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
  assert.deepEqual(installabilityErrors, []);
  const manifest = await cdp.send('Page.getAppManifest');
  assert.deepEqual(manifest.errors, []);
  await fresh.close();

  await open(page, base, 'records');
  await page.evaluate(() => navigator.serviceWorker.ready);

  // Wait until the worker has cached the shell, then cut the network.
  await page.waitForFunction(async () => (await (await caches.open('tillit-shell-v1')).keys()).length > 30);
  await page.setOfflineMode(true);
  try {
    await page.reload();
    await page.waitForSelector('main .error');
    assert.match(await page.$eval('main .error', (el) => el.textContent), /could not be reached/);
    assert.ok((await texts(page, '#nav a')).length > 0, 'the navigation is there offline');
  } finally {
    await page.setOfflineMode(false);
  }
  await open(page, base, 'records');
});

test('a tampered proof and a rolled-back log are shown as warnings', async () => {
  proxy.mode.value = 'tamper';
  try {
    await open(page, base, 'records');
    await open(page, base, 'log');
    await page.waitForSelector('#log-warning');
    assert.match(await page.$eval('#log-warning', (el) => el.textContent), /did not check out/);
    assert.ok((await page.$$('.badge.unverified')).length >= 1);
    await shot(page, 'log-tampered');

    proxy.mode.value = 'replay';
    await open(page, base, 'records');
    await open(page, base, 'log');
    await page.waitForSelector('#log-warning');
    assert.match(await page.$eval('#log-warning', (el) => el.textContent), /shorter than/);
    assert.equal((await page.$$('.badge.verified')).length, 0);
  } finally {
    proxy.mode.value = 'pass';
  }
});

const GRANT = {
  grantee: { kind: 'any-researcher' },
  purposes: ['DUO:0000006'],
  categories: ['lab-results', 'vital-signs'],
  conditions: [{ code: 'DUO:0000046' }],
  include_sensitive: false,
};

async function grantIds() {
  const r = await api(demo.url, 'GET', '/v1/me/consents', tokens.citizen);
  return r.json.consents.map((g) => [g.id, g.status]);
}

test('a grant made in the wizard shows the preview the API computes, then is revoked', async () => {
  const before = await grantIds();
  await open(page, base, 'sharing');
  await checkPage('sharing');
  await page.click('#new-grant');
  await page.waitForSelector('#step-who:not([hidden])');
  await page.click('#grantee-kind-any-researcher');
  await page.click('#grant-next');
  await page.waitForSelector('#step-why:not([hidden])');
  // Next without a purpose: the step says what is missing and stays.
  await page.click('#grant-next');
  await page.waitForSelector('#purpose-error:not(:empty)');
  await page.click('#purpose-HMB');
  await page.click('#grant-next');
  await page.waitForSelector('#step-data:not([hidden])');
  await page.click('#category-lab-results');
  await page.click('#category-vital-signs');
  await checkPage('grant-wizard', { widths: [360] });
  for (const step of ['period', 'expiry', 'conditions']) {
    await page.click('#grant-next');
    await page.waitForSelector(`#step-${step}:not([hidden])`);
  }
  await page.click('#cond-NCU');
  await page.click('#grant-next');
  await page.waitForSelector('#step-sensitive:not([hidden])');
  await page.click('#grant-next');
  await page.waitForSelector('#preview-total[data-count]');

  const expected = await api(demo.url, 'POST', '/v1/me/consents/preview', tokens.citizen, GRANT);
  assert.equal(expected.status, 200, expected.text);
  assert.equal(await page.$eval('#preview-total', (el) => Number(el.dataset.count)), expected.json.total);
  const rows = await page.$$eval('#preview-table tr[data-category]', (trs) => Object.fromEntries(
    trs.map((tr) => [tr.dataset.category, Number(tr.querySelector('td[data-count]').dataset.count)])));
  for (const [c, n] of Object.entries(expected.json.by_category)) assert.equal(rows[c], n, c);
  const studies = await page.$$('#preview-studies li');
  assert.equal(studies.length, expected.json.matching_studies.length);
  await checkPage('grant-review');
  await page.click('#grant-save');
  await page.waitForFunction(() => location.hash.startsWith('#/sharing') && document.querySelector('#grants'));

  const afterSave = await grantIds();
  assert.equal(afterSave.length, before.length + 1);
  const id = afterSave.find(([g]) => !before.some(([b]) => b === g))[0];
  const text = await page.$eval(`li.grant[data-grant-id="${id}"] .grant-text`, (el) => el.textContent);
  assert.match(text, /research/i);
  assert.match(text, /lab results/i);
  assert.match(text, /commercial/i);

  await page.click(`button.revoke[data-grant-id="${id}"]`);
  await page.waitForSelector('dialog[open] button.danger');
  await page.click('dialog[open] button.danger');
  await page.waitForSelector(`li.grant[data-grant-id="${id}"][data-status=revoked]`);
  assert.deepEqual((await grantIds()).find(([g]) => g === id), [id, 'revoked']);
});

async function tabTo(p, selector) {
  for (let i = 0; i < 80; i += 1) {
    await p.keyboard.press('Tab');
    if (await p.evaluate((s) => document.activeElement?.matches(s), selector)) return;
  }
  throw new Error(`Tab never reached ${selector}`);
}

test('the grant wizard can be walked by keyboard alone', async () => {
  const before = await grantIds();
  await open(page, base, 'sharing');
  await tabTo(page, '#new-grant');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#step-who:not([hidden])');
  const steps = [
    ['who', '#grantee-kind-any-researcher', 'Space'],
    ['why', '#purpose-GRU', 'Space'],
    ['data', '#category-vital-signs', 'Space'],
    ['period', null], ['expiry', null], ['conditions', null], ['sensitive', null],
  ];
  for (const [name, control, key] of steps) {
    // The page's heading has focus on arrival; each later step's heading
    // takes it when the step opens.
    if (name === 'who') await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
    else await page.waitForFunction((n) => document.activeElement?.id === `step-${n}-heading`, {}, name)
      .catch(async (e) => {
        await shot(page, `keyboard-${name}-failed`);
        throw new Error(`focus is on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))}, not the ${name} step: ${e.message}`);
      });
    if (control) {
      await tabTo(page, control);
      await page.keyboard.press(key);
    }
    await tabTo(page, '#grant-next');
    await page.keyboard.press('Enter');
  }
  await page.waitForSelector('#preview-total[data-count]');
  await tabTo(page, '#grant-save:not([disabled])');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash.startsWith('#/sharing') && document.querySelector('#grants'));
  const after = await grantIds();
  assert.equal(after.length, before.length + 1);
  const g = (await api(demo.url, 'GET', '/v1/me/consents', tokens.citizen)).json.consents
    .find((x) => !before.some(([b]) => b === x.id));
  assert.deepEqual(g.categories, ['vital-signs']);
  assert.deepEqual(g.purposes, ['DUO:0000042']);
});

test('privacy budget: a statistics question shows on the sharing page and in the access log', async () => {
  const study = demo.info.study_id;
  // The demo citizen shares only with care providers: a grant (the shape
  // `tillit demo` gives to some citizens) lets the demo study in. The
  // research opt-out is still off here; a later scenario turns it on.
  const grant = await api(demo.url, 'POST', '/v1/me/consents', tokens.citizen, {
    grantee: { kind: 'study', id: study },
    purposes: ['DUO:0000042'],
    categories: ['vital-signs', 'lab-results'],
    include_sensitive: false,
  });
  assert.equal(grant.status, 201, grant.text);
  const total = await api(demo.url, 'PUT', `/v1/admin/studies/${study}/privacy-budget`, tokens.admin,
    { epsilon: 3 });
  assert.equal(total.status, 200, total.text);
  assert.equal(total.json.total, 3);
  const answer = await api(demo.url, 'POST', `/v1/studies/${study}/aggregates`, tokens.researcher,
    { query: 'count', epsilon: 0.5 });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.epsilon, 0.5);
  assert.equal(answer.json.budget.spent, 0.5);
  const title = (await api(demo.url, 'GET', `/v1/studies/${study}`, tokens.researcher)).json.title;
  const mine = (await api(demo.url, 'GET', '/v1/me/privacy-budget', tokens.citizen)).json.studies
    .find((s) => s.study_id === study);
  assert.ok(mine, "the citizen's data was used in the answer");
  assert.equal(mine.title, title);
  assert.equal(mine.spent, 0.5);
  assert.equal(mine.queries.length, 1);

  // Away and back: the same hash again would not render the page anew.
  await open(page, base, 'records');
  await open(page, base, 'sharing');
  const item = `#privacy-studies li[data-study-id="${study}"]`;
  await page.waitForSelector(item);
  const text = await page.$eval(item, (li) => li.textContent);
  assert.ok(text.includes(title), text);
  assert.match(text, /ε 0\.5 of 1 used/);
  assert.deepEqual(await page.$eval(`${item} meter`, (m) => [m.value, m.max]), [0.5, mine.cap]);
  await page.click(`${item} summary`);
  const questions = await texts(page, `${item} details li`);
  assert.equal(questions.length, 1);
  assert.ok(questions[0].includes(mine.queries[0].description), questions[0]);
  await checkPage('sharing-privacy');

  // A budget that cannot be read is said in its section; the grants still show.
  proxy.mode.failPath = '/v1/me/privacy-budget';
  try {
    await open(page, base, 'records');
    await open(page, base, 'sharing');
    const error = await page.$eval('#privacy-budget .error', (el) => el.textContent);
    assert.match(error, /busy/);
    assert.match(error, /proxy-503-test/);
    assert.ok(await page.$('#grants'), 'the grants are listed');
  } finally {
    proxy.mode.failPath = null;
  }

  await open(page, base, 'log');
  const used = await page.$$eval('.log-entry[data-action="research.aggregate"]', (lis) => lis.map((li) => ({
    text: li.textContent, verified: !!li.querySelector('.badge.verified') })));
  assert.equal(used.length, 1, 'one entry for the one question');
  assert.match(used[0].text, /used your data in a statistics question \(only a noisy total left the vault\)/);
  assert.ok(used[0].text.includes(`Study: ${study}`), used[0].text);
  assert.ok(used[0].verified, 'and verified');
});

test('hiding a category from care providers, opting out of research and of primary use', async () => {
  const path = `/v1/patients/${citizen}/records?category=lab-results&limit=5`;
  const seen = await api(demo.url, 'GET', path, tokens.provider);
  assert.equal(seen.status, 200, seen.text);
  assert.ok(seen.json.records.length > 0, 'the provider sees lab results before');
  await open(page, base, 'hide');
  await checkPage('hide');
  await page.click('#hide-category-lab-results');
  await page.click('#hide-save');
  for (let i = 0; i < 50; i += 1) {
    const r = await api(demo.url, 'GET', '/v1/me/restrictions', tokens.citizen);
    if (r.json.categories.includes('lab-results')) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const hidden = await api(demo.url, 'GET', path, tokens.provider);
  assert.equal(hidden.status, 200);
  assert.equal(hidden.json.records.length, 0, 'the provider no longer sees lab results');

  assert.equal((await api(demo.url, 'GET', '/v1/me/research-opt-out', tokens.citizen)).json.opted_out, false);
  await page.click('#research-opt-out');
  let opted = false;
  for (let i = 0; i < 50 && !opted; i += 1) {
    opted = (await api(demo.url, 'GET', '/v1/me/research-opt-out', tokens.citizen)).json.opted_out;
    if (!opted) await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(opted, true);
  await open(page, base, 'records');
  await open(page, base, 'hide');
  assert.equal(await page.$eval('#research-opt-out', (el) => el.checked), true);

  // One record: hidden from its own page, listed under Hide, shown again.
  const rec = (await api(demo.url, 'GET', '/v1/me/records?category=vital-signs&limit=1',
    tokens.citizen)).json.records[0];
  const ref = `${rec.resourceType}/${rec.id}`;
  const direct = `/v1/patients/${citizen}/records/${ref}`;
  assert.equal((await api(demo.url, 'GET', direct, tokens.provider)).status, 200);
  const restricted = async (want) => {
    for (let i = 0; i < 50; i += 1) {
      const r = await api(demo.url, 'GET', '/v1/me/restrictions', tokens.citizen);
      if (r.json.records.includes(ref) === want) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.fail(`${ref} ${want ? 'never hidden' : 'still hidden'}`);
  };
  await open(page, base, `record/${rec.resourceType}/${rec.id}`);
  await page.click('#toggle-hide');
  await restricted(true);
  assert.equal((await api(demo.url, 'GET', direct, tokens.provider)).status, 404);
  await open(page, base, 'hide');
  await page.click(`button.unhide[data-record="${ref}"]`);
  await restricted(false);
  assert.equal((await api(demo.url, 'GET', direct, tokens.provider)).status, 200);

  // The primary-use opt-out: no care provider reaches the data while it is
  // on (the demo lets break-glass through, and the page says so).
  const primary = async (want) => {
    for (let i = 0; i < 50; i += 1) {
      const r = await api(demo.url, 'GET', '/v1/me/primary-use-opt-out', tokens.citizen);
      if (r.json.opted_out === want) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.fail(`primary-use opt-out never became ${want}`);
  };
  await open(page, base, 'hide');
  assert.equal(await page.$eval('#primary-use-opt-out', (el) => el.checked), false);
  assert.match(await page.$eval('#primary-use-opt-out-does', (el) => el.textContent),
    /emergency/);
  await page.click('#primary-use-opt-out');
  await primary(true);
  assert.equal((await api(demo.url, 'GET', direct, tokens.provider)).status, 404);
  await open(page, base, 'records');
  await open(page, base, 'hide');
  assert.equal(await page.$eval('#primary-use-opt-out', (el) => el.checked), true);
  await checkPage('hide-opted-out');
  await open(page, base, 'sharing');
  await page.waitForSelector('#primary-opted-out-notice');
  await open(page, base, 'hide');
  await page.click('#primary-use-opt-out');
  await primary(false);
  assert.equal((await api(demo.url, 'GET', direct, tokens.provider)).status, 200);
});

test('another device pairs with a code made in the app, and is revoked from it', async () => {
  await open(page, base, 'devices');
  await page.click('#make-pairing-code');
  await page.waitForSelector('#pairing-code');
  const code = await page.$eval('#pairing-code', (el) => el.textContent.trim());
  await checkPage('devices');
  const phone = await newPage(browser, 360);
  await pair(phone, code, 'Phone');
  await phone.waitForFunction(() => document.querySelector('main h1')?.textContent === 'My health data');

  await open(page, base, 'records');
  await open(page, base, 'devices');
  const names = await texts(page, '#device-list strong');
  assert.deepEqual(names.sort(), ['Phone', 'Test laptop']);
  const id = (await api(demo.url, 'GET', '/v1/me/devices', tokens.citizen)).json.devices
    .find((d) => d.name === 'Phone' && !d.revoked).id;
  await page.click(`button[data-device="${id}"]`);
  await page.waitForSelector('dialog[open] button.danger');
  await page.click('dialog[open] button.danger');
  await page.waitForFunction(() => !document.querySelector('dialog[open]') &&
    [...document.querySelectorAll('#device-list strong')].length === 1);

  // The phone's next request is refused: it forgets the pairing and says so.
  await phone.evaluate(() => { location.hash = '#/charts'; });
  await phone.waitForSelector('input[name=code]');
  assert.match(await phone.$eval('main', (m) => m.textContent), /no longer connected/);
  await phone.browserContext().close();
});

test('break-glass access stands out in the access log, with its reason', async () => {
  const reason = 'Unconscious in the emergency room';
  const r = await api(demo.url, 'POST', `/v1/patients/${citizen}/break-glass`, tokens.provider, { reason });
  assert.equal(r.status, 201, r.text);
  await open(page, base, 'records');
  await open(page, base, 'log');
  const marked = await page.$$eval('.log-entry.break-glass', (lis) => lis.map((li) => li.textContent));
  assert.ok(marked.length > 0, 'a break-glass entry is marked');
  assert.ok(marked.some((t) => t.includes(reason) && t.includes('Emergency access')), marked.join(' | '));
  await shot(page, 'log-break-glass');
});

test('switching language changes every text and is remembered', async () => {
  const sv = (await import('../../webapp/static/js/lang/sv.js')).default;
  await open(page, base, 'records');
  await page.select('#lang-select', 'sv');
  await page.waitForFunction((title) => document.querySelector('main h1')?.textContent === title,
    {}, sv['records.title']);
  assert.equal(await page.$eval('html', (el) => el.lang), 'sv');
  assert.deepEqual((await texts(page, '#nav a')).slice(0, 2), [sv['nav.records'], sv['nav.charts']]);
  await shot(page, 'records-sv');
  await page.reload();
  await page.waitForFunction((title) => document.querySelector('main h1')?.textContent === title,
    {}, sv['records.title']);
  // Northern Sami: the longest words of the five; the page must still fit a phone.
  const se = (await import('../../webapp/static/js/lang/se.js')).default;
  await page.select('#lang-select', 'se');
  await page.waitForFunction((title) => document.querySelector('main h1')?.textContent === title,
    {}, se['records.title']);
  await checkPage('records-se');
  await page.select('#lang-select', 'en');
  await page.waitForFunction(() => document.querySelector('main h1')?.textContent === 'My health data');
});

// --- Proxies and guardians (EHDS Art 4(2)-(3)). A second citizen, made
// through the admin API, acts for the demo citizen in a browser of their
// own; the operator records a guardianship through the admin API.
const PURPOSE = 'family-care';
let other = null; // {id, token, code, page}: the second citizen
let proxyId = '';

/** A new citizen: their id, a bearer token (to ask the vault directly
 * what it answers them) and a code that pairs a browser. */
async function newCitizen() {
  const made = await api(demo.url, 'POST', '/v1/admin/citizens', tokens.admin, {});
  assert.equal(made.status, 201, made.text);
  const enrolled = await api(demo.url, 'POST', '/v1/enroll', null,
    { enrollment_code: made.json.enrollment_code });
  assert.equal(enrolled.status, 200, enrolled.text);
  const code = await api(demo.url, 'POST', `/v1/admin/citizens/${made.json.citizen_id}/enrollment-code`,
    tokens.admin, {});
  assert.equal(code.status, 201, code.text);
  return { id: made.json.citizen_id, token: enrolled.json.token, code: code.json.enrollment_code };
}

/** The second citizen's own request to the vault, acting for the demo
 * citizen: with the purpose the authorisation names, unless `purpose` is ''. */
async function asProxy(p, { purpose = PURPOSE } = {}) {
  const res = await fetch(demo.url + p, { headers: { Authorization: `Bearer ${other.token}`,
    ...(purpose ? { 'Tillit-Purpose': purpose } : {}) } });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const myProxies = async () =>
  (await api(demo.url, 'GET', '/v1/me/proxies', tokens.citizen)).json.proxies;

test('proxies: the citizen authorises another citizen to see one kind of record, checked in the form', async () => {
  other = await newCitizen();
  await open(page, base, 'proxies');
  await page.waitForSelector('#proxies-none');
  await checkPage('proxies');

  // Checked in the form, and the vault's own refusal beside the field:
  // nothing is stored.
  const setId = async (value) => {
    await page.$eval('#proxy-id', (el) => { el.value = ''; });
    await page.type('#proxy-id', value);
    await page.click('#proxy-save');
  };
  const idError = (re) => page.waitForFunction((source) =>
    new RegExp(source).test(document.querySelector('#proxy-id-error')?.textContent || ''), {}, re.source);
  await setId('c_123');
  await page.waitForSelector('#proxy-id[aria-invalid=true]');
  await idError(/starts with c_/);
  await setId(citizen);
  await idError(/your own citizen id/);
  await setId(`c_${'0'.repeat(32)}`);
  await idError(/no such citizen/);
  assert.deepEqual(await myProxies(), []);

  await page.$eval('#proxy-id', (el) => { el.value = ''; });
  await page.type('#proxy-id', other.id);
  assert.equal(await page.$eval('#proxy-access-read', (el) => el.checked), true, 'view only by default');
  // Lab results are hidden from care providers by now (an earlier
  // scenario), so from this proxy too: vital signs it is.
  await page.click('#proxy-category-vital-signs');
  await page.type('#proxy-purpose', PURPOSE);
  await page.click('#proxy-save');
  await page.waitForSelector('#proxies li.proxy');

  const stored = await myProxies();
  assert.equal(stored.length, 1);
  const [a] = stored;
  proxyId = a.id;
  assert.match(a.id, /^px_/);
  assert.equal(a.kind, 'proxy');
  assert.equal(a.proxy, other.id);
  assert.equal(a.access, 'read');
  assert.deepEqual(a.categories, ['vital-signs']);
  assert.equal(a.purpose, PURPOSE);
  assert.equal(a.until, null);
  assert.equal(a.include_sensitive, false);
  assert.equal(a.include_restricted, false);
  assert.equal(a.status, 'active');
  const item = `#proxies li[data-proxy-id="${a.id}"]`;
  assert.equal(await page.$eval(item, (li) => li.dataset.status), 'active');
  assert.equal(await page.$eval(`${item} .grant-text`, (el) => el.textContent),
    `${other.id} may see your vital signs and measurements, with no end date.`);
  const text = await page.$eval(item, (li) => li.textContent);
  assert.ok(text.includes(`Only for the purpose “${PURPOSE}”`), text);
  assert.ok(text.includes('Sensitive records are left out.'), text);
  assert.ok(text.includes('Records you hide from care providers are left out.'), text);
  assert.ok(await page.$(`${item} button.revoke`), 'it can be revoked');
  await checkPage('proxies-listed');
});

test('proxies: the other citizen acts for the first, sees only what is allowed, and is refused a reading', async () => {
  assert.ok(other && proxyId, 'the authorisation above');
  other.page = await newPage(browser);
  const p = other.page;
  await pair(p, other.code, 'Proxy laptop');
  await p.waitForFunction(() => document.querySelector('main h1')?.textContent === 'My health data');
  assert.equal(await p.$eval('#acting-banner', (el) => el.hidden), true);

  await open(p, base, 'represented');
  const person = `#represented-list li[data-citizen="${citizen}"]`;
  await p.waitForSelector(person);
  assert.equal(await p.$eval('#my-citizen-id', (el) => el.textContent), other.id);
  const lines = await p.$eval(person, (li) => li.textContent);
  for (const want of ['You may see their data.', 'Only these kinds of records: Vital signs and measurements.',
    `Only for the purpose “${PURPOSE}”`, 'Their sensitive records are left out.']) {
    assert.ok(lines.includes(want), `${want} in ${lines}`);
  }
  await checkPage('represented', { on: p });

  await p.click(`${person} button.act`);
  await p.waitForFunction(() => location.hash.startsWith('#/records') &&
    !document.querySelector('main .loading') && document.querySelector('main .records'));
  assert.equal(await p.$eval('#acting-banner', (el) => el.hidden), false);
  assert.equal(await p.$eval('#acting-text', (el) => el.textContent),
    `You are acting for ${citizen} (view only).`);
  assert.deepEqual(await texts(p, '#nav a'), ['My health data', 'Charts', 'People I act for']);

  // Exactly what the vault answers the proxy: vital signs only.
  const listed = await p.$$eval('.records a', (as) => as.map((x) => x.getAttribute('href')));
  const answer = await asProxy(`/v1/citizens/${citizen}/records?limit=25`);
  assert.equal(answer.status, 200, answer.text);
  assert.deepEqual(listed, answer.json.records.map((r) => `#/record/${r.resourceType}/${r.id}`));
  assert.ok(listed.length > 0, 'the demo citizen has vital signs');
  const vitals = new Set();
  let cursor = null;
  do {
    const r = await api(demo.url, 'GET', `/v1/me/records?category=vital-signs&limit=1000${cursor ? `&cursor=${cursor}` : ''}`,
      tokens.citizen);
    for (const x of r.json.records) vitals.add(`#/record/${x.resourceType}/${x.id}`);
    cursor = r.json.next;
  } while (cursor);
  assert.deepEqual(listed.filter((href) => !vitals.has(href)), [], 'nothing but vital signs');
  // The app states the purpose: without it the vault refuses.
  assert.equal((await asProxy(`/v1/citizens/${citizen}/records?limit=1`, { purpose: '' })).status, 403);
  await checkPage('acting-records', { on: p });

  // A page a proxy cannot use says so instead of asking the vault.
  await open(p, base, 'devices');
  await p.waitForSelector('#acting-not-here');

  // Adding a reading: the page opens, says it is view only, and shows the
  // vault's refusal; nothing is stored.
  const before = (await api(demo.url, 'GET', '/v1/me', tokens.citizen)).json.records;
  await open(p, base, 'add');
  await p.waitForSelector('#acting-read-only');
  await p.select('#reading-kind', 'weight');
  await p.type('#reading-weight', '70');
  await p.click('#reading-save');
  await p.waitForSelector('#reading-form .error');
  const refusal = await p.$eval('#reading-form .error', (el) => el.textContent);
  assert.match(refusal, /You are not allowed to do that\./);
  assert.ok((await p.$eval('#reading-form .error .detail', (el) => el.textContent)).trim(),
    "the vault's reason is shown");
  assert.equal((await api(demo.url, 'GET', '/v1/me', tokens.citizen)).json.records, before);
  assert.equal(await p.$eval('#acting-banner', (el) => el.hidden), false, 'still acting');
  await checkPage('acting-refused', { on: p, widths: [360] });

  // The citizen's access log says who acted for them, under which
  // authorisation and for what, and that a step was refused.
  await open(page, base, 'records');
  await open(page, base, 'log');
  const mine = await page.$$eval('.log-entry.on-behalf', (lis) => lis.map((li) => ({
    action: li.dataset.action, text: li.textContent, verified: !!li.querySelector('.badge.verified') })));
  const read = mine.find((e) => e.action === 'records.list');
  assert.ok(read, `a read on the citizen's behalf: ${JSON.stringify(mine)}`);
  assert.ok(read.text.includes(`${other.id} on your behalf`), read.text);
  assert.ok(read.text.includes(`Under the authorisation ${proxyId}.`), read.text);
  assert.ok(read.text.includes(`Purpose: ${PURPOSE}`), read.text);
  assert.ok(read.verified, 'and verified');
  assert.ok(mine.some((e) => e.action === 'proxy.denied' && /was refused/.test(e.text)),
    'the refused reading is logged');
  assert.equal(await page.$('#log-warning'), null);
  await checkPage('log-on-behalf');
});

test('proxies: the scope is changed, then revoked, and the other citizen stops acting at the next step', async () => {
  assert.ok(other?.page, 'the acting browser above');
  await open(page, base, 'records');
  await open(page, base, 'proxies');
  const item = `#proxies li[data-proxy-id="${proxyId}"]`;
  await page.click(`${item} button.change`);
  await page.waitForSelector('#proxy-form #proxy-cancel');
  assert.equal(await page.$('#proxy-id'), null, 'the person stays');
  assert.equal(await page.$eval('#proxy-category-vital-signs', (el) => el.checked), true);
  assert.equal(await page.$eval('#proxy-purpose', (el) => el.value), PURPOSE);
  const year = new Date().getUTCFullYear() + 1;
  await page.$eval('#proxy-until', (el, v) => { el.value = v; }, `${year}-06-30`);
  await page.click('#proxy-save');
  await page.waitForFunction((sel) => /30 Jun/.test(document.querySelector(sel)?.textContent || ''),
    {}, `${item} .grant-text`);
  assert.equal(await page.$eval(`${item} .grant-text`, (el) => el.textContent),
    `${other.id} may see your vital signs and measurements, up to and including 30 Jun ${year}.`);
  const changed = (await myProxies()).find((x) => x.id === proxyId);
  assert.equal(changed.until, `${year}-06-30`);
  assert.deepEqual(changed.categories, ['vital-signs']);
  assert.equal(changed.purpose, PURPOSE);

  await page.click(`${item} button.revoke`);
  await page.waitForSelector('dialog[open] button.danger');
  await page.click('dialog[open] button.danger');
  await page.waitForSelector(`${item}[data-status=revoked]`);
  assert.equal((await myProxies()).find((x) => x.id === proxyId).status, 'revoked');
  assert.equal(await page.$(`${item} button`), null, 'nothing left to change or revoke');
  assert.match(await page.$eval(item, (li) => li.textContent), /Revoked on/);

  // The other citizen's next step is refused: acting ends, and they are told.
  const p = other.page;
  await p.evaluate(() => { location.hash = '#/charts'; });
  await p.waitForSelector('#acting-ended');
  assert.ok((await p.$eval('#acting-ended', (el) => el.textContent))
    .includes(`You no longer act for ${citizen}`));
  assert.equal(await p.$eval('#acting-banner', (el) => el.hidden), true);
  assert.ok(await p.$('#represented-none'), 'no one to act for now');
  await checkPage('represented-ended', { on: p });
  // Their own (empty) vault again.
  await open(p, base, 'records');
  assert.deepEqual(await p.$$eval('.records a', (as) => as.length), 0);
  assert.equal(await p.$eval('#acting-banner', (el) => el.hidden), true);
});

test('guardianship: recorded by the operator, shown as such without Revoke, then ended', async () => {
  assert.ok(other?.page, 'the second citizen above');
  const start = new Date().toISOString().slice(0, 10);
  const year = new Date().getUTCFullYear() + 2;
  const made = await api(demo.url, 'POST', '/v1/admin/guardianships', tokens.admin,
    { guardian: other.id, citizen, start, end: `${year}-12-31` });
  assert.equal(made.status, 201, made.text);
  const gd = made.json;
  assert.match(gd.id, /^gd_/);
  assert.equal(gd.kind, 'guardian');

  await open(page, base, 'records');
  await open(page, base, 'proxies');
  const item = `#proxies li[data-proxy-id="${gd.id}"]`;
  await page.waitForSelector(item);
  assert.deepEqual(await page.$eval(item, (li) => [li.dataset.kind, li.dataset.status]),
    ['guardian', 'active']);
  const text = await page.$eval(item, (li) => li.textContent);
  assert.ok(text.includes('Legal guardian'), text);
  assert.ok(text.includes('Recorded by the vault’s operator.'), text);
  assert.ok(text.includes(`${other.id} may see and add to all your data, up to and including 31 Dec ${year}.`),
    text);
  assert.equal(await page.$(`${item} button`), null, 'no Change, no Revoke');
  // The live guardianship above the revoked authorisation.
  assert.deepEqual(await page.$$eval('#proxies li.proxy', (lis) => lis.map((li) => li.dataset.proxyId)),
    [gd.id, proxyId]);
  await checkPage('proxies-guardian');

  // The guardian sees whom they represent.
  await open(other.page, base, 'records');
  await open(other.page, base, 'represented');
  const person = `#represented-list li[data-citizen="${citizen}"][data-kind=guardian]`;
  await other.page.waitForSelector(person);
  assert.match(await other.page.$eval(person, (li) => li.textContent), /You are their legal guardian/);

  // The operator ends it early: the citizen sees that it has ended.
  const ended = await api(demo.url, 'DELETE', `/v1/admin/guardianships/${gd.id}`, tokens.admin);
  assert.equal(ended.status, 200, ended.text);
  assert.equal(ended.json.status, 'ended');
  await open(page, base, 'records');
  await open(page, base, 'proxies');
  await page.waitForSelector(`${item}[data-status=ended]`);
  assert.equal(await page.$eval(`${item} .badge.ended`, (el) => el.textContent), 'Ended');
  assert.match(await page.$eval(item, (li) => li.textContent), /This guardianship has ended\..*Ended on/);
  await checkPage('proxies-guardian-ended', { widths: [1280] });

  assert.deepEqual(other.page.problems, []);
  await other.page.browserContext().close();
});

// --- Notifications (EHDS Art 9): how often the citizen is told of
// accesses, push in this browser (headless Chromium has no push service,
// so turning it on must end in words, never in an uncaught error), and the
// paired device an entry of the access log was made from.
const notifySettings = async () => {
  const r = await api(demo.url, 'GET', '/v1/me/notifications', tokens.citizen);
  assert.equal(r.status, 200, r.text);
  return r.json;
};

test('notifications: a daily summary is chosen, saved, and still chosen after a reload', async () => {
  const before = await notifySettings();
  assert.equal(before.mode, 'off');
  await open(page, base, 'records');
  await open(page, base, 'notifications');
  assert.equal(await page.$eval('#nav a[aria-current=page]', (a) => a.getAttribute('href')),
    '#/notifications');
  assert.deepEqual(await page.$$eval('#notify-form input[name=notify-mode]', (is) => is.map((i) => i.value)),
    before.modes);
  assert.equal(await page.$eval('#notify-mode-off', (el) => el.checked), true);
  assert.deepEqual(await texts(page, '#notify-form label'), [
    'OffYou are not told. Every access is still written to “Who looked at my data”.',
    'Every access by someone elseWhenever a care provider, a researcher or someone acting for you uses your data. What you do yourself is not counted.',
    'Only emergency access and people acting for meWhen a care provider opens your records in an emergency (break-glass), or when someone you authorised, or your legal guardian, uses your data.',
    'A daily summaryAt most one message a day, saying how many accesses there were. Nothing is sent on a day without any.',
  ]);
  assert.equal(await page.$('#notify-webhook') !== null, before.webhook === true,
    "the region's notification service is named when there is one");
  await checkPage('notifications');

  await page.click('#notify-mode-daily-digest');
  await page.click('#notify-save');
  await page.waitForSelector('#notify-saved');
  assert.equal(await page.$eval('#notify-saved', (el) => el.textContent),
    'Saved. Your choice now: A daily summary.');
  assert.equal((await notifySettings()).mode, 'daily-digest');

  await reload();
  await page.waitForSelector('#notify-form');
  assert.equal(await page.$eval('#notify-mode-daily-digest', (el) => el.checked), true);
  assert.equal(await page.$eval('#notify-mode-off', (el) => el.checked), false);
  await checkPage('notifications-saved', { widths: [1280] });
});

test('notifications: turning on push in headless Chromium ends in words, never in an uncaught error', async () => {
  const problems = page.problems.length;
  const context = page.browserContext();
  await open(page, base, 'records');
  await open(page, base, 'notifications');
  assert.ok(await page.$('#push-none'), 'no browser gets notifications yet');
  if (await page.$('#push-unsupported')) {
    // A Chromium built without the Push API: said so, with no button.
    assert.match(await page.$eval('#push-unsupported', (el) => el.textContent),
      /cannot receive push notifications/);
    assert.equal(await page.$('#push-on'), null);
    assert.deepEqual(page.problems.slice(problems), []);
    return;
  }
  assert.equal(await page.$eval('#push-state', (el) => el.dataset.state), 'off');
  try {
    // Blocked in the browser: said so, and nothing is sent to the vault.
    await context.setPermission(base, { permission: { name: 'notifications' }, state: 'denied' });
    await page.click('#push-on');
    await page.waitForSelector('#push-error');
    assert.equal(await page.$eval('#push-error', (el) => el.dataset.kind), 'denied');
    assert.match(await page.$eval('#push-error', (el) => el.textContent),
      /^Notifications could not be turned on on this device\.This browser blocks notifications/);
    assert.deepEqual((await notifySettings()).push_subscriptions, []);
    await checkPage('notifications-push-blocked', { widths: [360] });

    // Allowed: headless Chromium has no push service to subscribe with, so
    // the page says it could not; a browser that has one is subscribed and
    // listed as this browser.
    await context.setPermission(base, { permission: { name: 'notifications' }, state: 'granted' });
    await page.click('#push-on');
    // The app gives a push service that cannot be reached 20 s.
    await page.waitForSelector('#push-state[data-state=on], #push-error', { timeout: 40000 });
    const subscriptions = (await notifySettings()).push_subscriptions;
    if (await page.$('#push-state[data-state=on]')) {
      assert.equal(subscriptions.length, 1);
      const item = `#push-subscriptions li[data-subscription-id="${subscriptions[0].id}"]`;
      assert.match(await page.$eval(item, (li) => li.textContent), /This browser/);
    } else {
      assert.match(await page.$eval('#push-error', (el) => el.textContent),
        /^Notifications could not be turned on on this device\./);
      assert.deepEqual(subscriptions, [], 'nothing was stored');
      assert.equal(await page.$eval('#push-on', (b) => b.disabled), false, 'it can be tried again');
    }
    await checkPage('notifications-push', { widths: [1280] });
  } finally {
    await context.clearPermissionOverrides();
  }
  // Chromium itself logs that its incognito contexts (the harness's fresh
  // contexts) have no Push API, when the page asks to subscribe; that is
  // the browser's notice, not the page's error, and the page said so in
  // words above.
  const chromiumNotice = /does not support the Push API in incognito mode/;
  const mine = page.problems.splice(problems)
    .filter((p) => !chromiumNotice.test(p));
  page.problems.push(...mine);
  assert.deepEqual(mine, []);
});

test('notifications: the access log names the paired device an entry was made from', async () => {
  await open(page, base, 'records');
  await open(page, base, 'log');
  assert.ok(await page.$('#log-notify-link'), 'the log leads to the notifications page');
  const entries = await page.$$eval('.log-entry', (lis) => lis.map((li) => ({
    action: li.dataset.action, text: li.textContent, via: li.querySelector('.via')?.textContent || '',
    verified: !!li.querySelector('.badge.verified') })));
  // The mode saved above, from this browser (paired as "Test laptop").
  const saved = entries.find((e) => e.action === 'notifications.update');
  assert.ok(saved, `the change of mode is listed: ${JSON.stringify(entries.map((e) => e.action))}`);
  assert.equal(saved.via, '(via Test laptop)');
  assert.ok(saved.text.includes('You (via Test laptop) changed how you are told of accesses'), saved.text);
  assert.ok(saved.verified, 'the device is covered by the proof, and it checks out');
  // This test's own calls with a bearer token name no device.
  assert.ok(entries.some((e) => e.action === 'notifications.read' && e.via === ''),
    'an entry without a device says none');
  const answer = await api(demo.url, 'GET', '/v1/me/access-log?limit=50', tokens.citizen);
  const stored = answer.json.entries.find((e) => e.action === 'notifications.update');
  assert.match(stored.via, /^d_/);
  assert.equal(stored.device, 'Test laptop');
  assert.equal(await page.$('#log-warning'), null);
  await checkPage('log-via', { widths: [360] });
});

// --- Connecting an app (SMART App Launch, docs/WEBAPP.md). The app is
// registered with `tillit app add` beside the running demo; its redirect
// URI is a node:http server on a loopback port that notes where the
// browser comes back to; the rest of the app is this test: it makes the
// PKCE pair, sends the browser to /fhir/authorize, exchanges the code and
// reads /fhir with the token.
const APP_NAME = 'Health Diary';
const APP_SCOPE = 'launch/patient openid fhirUser patient/Observation.rs offline_access';
let smartApp = null; // {clientId, callback, conf, aud}

/** The app's redirect URI: every request to /callback is kept; expect()
 * resolves to the URL of the next one. Every request gets a small page. */
async function startCallback() {
  const waiters = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname === '/callback') for (const w of waiters.splice(0)) w(url);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><title>${APP_NAME}</title><h1>${APP_NAME}</h1></html>`);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    uri: `http://127.0.0.1:${server.address().port}/callback`,
    origin: `http://127.0.0.1:${server.address().port}`,
    expect: () => new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the browser never came back to the app')), 15000);
      waiters.push((url) => { clearTimeout(timer); resolve(url); });
    }),
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
  };
}

/** A PKCE verifier and its S256 challenge (RFC 7636). */
function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Where the app sends the browser: the authorization endpoint, on the
 * origin the test's browsers are paired with (the proxy's). */
function authorizeUrl({ challenge, state }) {
  const q = new URLSearchParams({ response_type: 'code', client_id: smartApp.clientId,
    redirect_uri: smartApp.callback.uri, scope: APP_SCOPE, state, aud: smartApp.aud,
    code_challenge: challenge, code_challenge_method: 'S256' });
  return `${base}/fhir/authorize?${q}`;
}

/** The app's POST to the token endpoint, form-encoded. */
async function tokenRequest(fields) {
  const res = await fetch(smartApp.conf.token_endpoint, { method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString() });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, cacheControl: res.headers.get('cache-control') || '', json, text };
}

/** The app's FHIR read with its access token. */
async function fhirRead(p, accessToken) {
  const res = await fetch(`${smartApp.aud}${p}`, { headers: { Authorization: `Bearer ${accessToken}`,
    Accept: 'application/fhir+json' } });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const myApps = async () => {
  const r = await api(demo.url, 'GET', '/v1/me/apps', tokens.citizen);
  assert.equal(r.status, 200, r.text);
  return r.json.apps;
};

test('SMART: an app asks, the citizen allows all but one kind of record, the app reads, is listed, logged and revoked', async () => {
  const en = (await import('../../webapp/static/js/lang/en.js')).default;
  const callback = await startCallback();
  smartApp = { callback }; // stopped after the last scenario, whatever happens
  const { stdout } = await promisify(execFile)(TILLIT, ['app', 'add', '--data', demo.data,
    '--name', APP_NAME, '--redirect-uri', callback.uri, '--json']);
  const registered = JSON.parse(stdout);
  assert.match(registered.client_id, /^app_[0-9a-f]{32}$/);
  assert.equal(registered.name, APP_NAME);
  assert.deepEqual(registered.redirect_uris, [callback.uri]);
  // What the app discovers (through the proxy, as the browser sees the vault).
  const conf = await (await fetch(`${base}/fhir/.well-known/smart-configuration`)).json();
  assert.match(conf.authorization_endpoint, /\/fhir\/authorize$/);
  assert.match(conf.token_endpoint, /\/fhir\/token$/);
  assert.ok(conf.code_challenge_methods_supported.includes('S256'));
  Object.assign(smartApp, { clientId: registered.client_id, conf,
    aud: conf.authorization_endpoint.replace(/\/authorize$/, '') });

  // The app sends the paired browser to the vault, which shows the consent page.
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('hex');
  await page.goto(authorizeUrl({ challenge, state }));
  await page.waitForSelector('#app-consent-form');
  const hash = await page.evaluate(() => location.hash);
  assert.match(hash, /^#\/authorize\/ar_[0-9a-f]{32}$/);
  const ar = hash.split('/').pop();
  assert.equal(await page.$eval('main h1', (el) => el.textContent), 'An app asks for your health data');
  assert.equal(await page.$eval('#app-name', (el) => el.textContent), APP_NAME);
  assert.equal(await page.$eval('#app-return', (el) => el.textContent), callback.origin);
  assert.deepEqual(await texts(page, '#app-scopes li'), ['Measurement: may search and read']);
  assert.match(await page.$eval('#app-offline', (el) => el.textContent), /keeps access while you are away/);
  const boxes = await page.$$eval('input[name=app-category]', (is) => is.map((i) => [i.value, i.checked]));
  const all = boxes.map(([c]) => c);
  assert.deepEqual(all, ['patient-summary', 'prescriptions', 'dispensations', 'lab-results', 'vital-signs',
    'imaging', 'discharge-reports', 'encounters', 'financial', 'other']);
  assert.ok(boxes.every(([, checked]) => checked), 'every kind of record is checked at first');
  assert.deepEqual(await texts(page, 'label[for^=app-category-]'), all.map((c) => en[`category.${c}`]));
  assert.equal(await page.$eval('#app-sensitive', (el) => el.checked), false, 'sensitive records are out at first');
  await checkPage('authorize');

  // No kind of record: refused in the form, and nothing is sent (the request still waits).
  for (const c of all) await page.click(`#app-category-${c}`);
  await page.click('#app-allow');
  await page.waitForSelector('#app-category-error:not(:empty)');
  assert.equal(await page.$eval('#app-category-error', (el) => el.textContent),
    'Choose at least one kind of record, or deny the request.');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'app-category-patient-summary');
  assert.equal(await page.$eval('#app-category-patient-summary', (el) => el.getAttribute('aria-invalid')), 'true');
  const waiting = await api(demo.url, 'GET', `/v1/me/app-requests/${ar}`, tokens.citizen);
  assert.equal(waiting.status, 200, `the request still waits: ${waiting.text}`);
  assert.equal(waiting.json.app.name, APP_NAME);

  // Everything but billing and insurance; Allow sends the browser back to the app.
  const chosen = all.filter((c) => c !== 'financial');
  for (const c of chosen) await page.click(`#app-category-${c}`);
  const back = callback.expect();
  await page.click('#app-allow');
  const landed = await back;
  assert.equal(landed.searchParams.get('state'), state);
  assert.equal(landed.searchParams.get('error'), null);
  const code = landed.searchParams.get('code');
  assert.ok(code, `a code at ${landed}`);
  for (let i = 0; i < 100 && !page.url().startsWith(callback.origin); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(page.url().startsWith(`${callback.uri}?`), `the browser is at the app: ${page.url()}`);
  assert.equal((await api(demo.url, 'GET', `/v1/me/app-requests/${ar}`, tokens.citizen)).status, 404,
    'the request is used up');

  // The app exchanges the code (once) and reads the citizen's measurements.
  const exchange = { grant_type: 'authorization_code', code, redirect_uri: callback.uri,
    client_id: smartApp.clientId, code_verifier: verifier };
  const issued = await tokenRequest(exchange);
  assert.equal(issued.status, 200, issued.text);
  assert.match(issued.cacheControl, /no-store/);
  assert.equal(issued.json.token_type, 'Bearer');
  assert.ok(issued.json.scope.split(' ').includes('patient/Observation.rs'), issued.json.scope);
  assert.equal(typeof issued.json.patient, 'string');
  assert.ok(issued.json.refresh_token, 'offline_access gives a refresh token');
  const reused = await tokenRequest(exchange);
  assert.equal(reused.status, 400, reused.text);
  assert.equal(reused.json.error, 'invalid_grant');
  const accessToken = issued.json.access_token;
  const read = await fhirRead(`/Observation?patient=${encodeURIComponent(issued.json.patient)}&_count=20`,
    accessToken);
  assert.equal(read.status, 200, read.text);
  assert.equal(read.json.resourceType, 'Bundle');
  assert.equal(read.json.type, 'searchset');
  const found = (read.json.entry || []).filter((e) => e.search?.mode !== 'outcome');
  assert.ok(found.length > 0, 'the demo citizen has measurements');
  assert.ok(found.every((e) => e.resource.resourceType === 'Observation'));
  assert.equal((await fhirRead('/Condition', accessToken)).status, 403, 'a kind the app did not ask for');
  assert.equal((await api(demo.url, 'GET', '/v1/me', accessToken)).status, 403, 'not the vault’s own API');

  const granted = (await myApps()).find((a) => a.client_id === smartApp.clientId && !a.revoked);
  assert.ok(granted, 'the vault keeps the authorisation');
  assert.match(granted.id, /^aa_[0-9a-f]{32}$/);
  assert.deepEqual(granted.categories, chosen);
  assert.equal(granted.include_sensitive, false);
  assert.equal(granted.offline_access, true);

  // The access log names the app, and the citizen's own answer.
  await open(page, base, 'log');
  const entries = await page.$$eval('.log-entry', (lis) => lis.map((li) => ({
    action: li.dataset.action, kind: li.dataset.actorKind, who: li.querySelector('.who')?.textContent,
    text: li.textContent, verified: !!li.querySelector('.badge.verified') })));
  const appRead = entries.find((e) => e.kind === 'app' && e.action === 'records.list');
  assert.ok(appRead, `the app's read is listed: ${JSON.stringify(entries.map((e) => [e.kind, e.action]))}`);
  assert.equal(appRead.who, `The app “${APP_NAME}”`);
  assert.ok(appRead.text.includes(`The app “${APP_NAME}” looked at a list of your records`), appRead.text);
  assert.ok(appRead.verified, 'and verified: the app is in the hashed entry, its name beside it');
  const answered = entries.find((e) => e.action === 'app.authorize');
  assert.ok(answered, 'the citizen’s answer is listed');
  assert.ok(answered.text.includes('You (via Test laptop) connected an app to your data'), answered.text);
  assert.equal(await page.$('#log-warning'), null);
  await checkPage('log-app', { widths: [1280] });

  // Sharing lists the app in words.
  await open(page, base, 'sharing');
  const item = `#apps li[data-app-id="${granted.id}"]`;
  await page.waitForSelector(item);
  assert.equal(await page.$eval(`${item} .app-name`, (el) => el.textContent), APP_NAME);
  assert.deepEqual(await texts(page, `${item} .app-scopes li`), ['Measurement: may search and read']);
  assert.equal(await page.$eval(`${item} .app-categories`, (el) => el.textContent),
    `Kinds of records: ${chosen.map((c) => en[`category.${c}`]).join(', ')}`);
  const listed = await page.$eval(item, (li) => li.textContent);
  assert.match(listed, /Connected on /);
  assert.ok(listed.includes('Sensitive records are left out.'), listed);
  assert.match(listed, /keeps access while you are away/);
  assert.ok(listed.includes(`App id: ${smartApp.clientId}`), listed);
  await checkPage('sharing-apps');

  // Revoked after a confirmation: listed apart, and the token stops at once.
  await page.click(`${item} button.revoke-app`);
  await page.waitForSelector('dialog[open] button.danger');
  assert.equal(await page.$eval('dialog[open] h2', (el) => el.textContent),
    `Revoke the access of “${APP_NAME}”?`);
  await page.click('dialog[open] button.danger');
  const gone = `#apps-revoked li[data-app-id="${granted.id}"][data-status=revoked]`;
  await page.waitForSelector(gone);
  assert.equal(await page.$(item), null, 'no longer among the connected apps');
  assert.ok(await page.$('#apps-none'), 'no app is connected now');
  assert.match(await page.$eval(gone, (li) => li.textContent), /Revoked on /);
  assert.equal(await page.$(`${gone} button`), null, 'nothing left to revoke');
  assert.ok((await myApps()).find((a) => a.id === granted.id).revoked, 'the vault says revoked');
  const after = await fhirRead('/Observation', accessToken);
  assert.equal(after.status, 401, after.text);
  const refreshed = await tokenRequest({ grant_type: 'refresh_token',
    refresh_token: issued.json.refresh_token, client_id: smartApp.clientId });
  assert.equal(refreshed.status, 400, refreshed.text);
  assert.equal(refreshed.json.error, 'invalid_grant');
});

test('SMART: a browser not yet paired pairs first and comes back to the request; Deny sends it back with access_denied', async () => {
  assert.ok(smartApp?.clientId, 'the app registered above');
  const fresh = await newPage(browser, 360);
  const { challenge } = pkce();
  const state = randomBytes(12).toString('hex');
  await fresh.goto(authorizeUrl({ challenge, state }));
  await fresh.waitForSelector('#pair-for-app');
  const hash = await fresh.evaluate(() => location.hash);
  assert.match(hash, /^#\/authorize\/ar_[0-9a-f]{32}$/, 'the request’s address is kept');
  const ar = hash.split('/').pop();
  assert.match(await fresh.$eval('#pair-for-app', (el) => el.textContent), /An app asks to connect/);
  const made = await api(demo.url, 'POST', '/v1/me/devices/pairing-codes', tokens.citizen, {});
  assert.equal(made.status, 201, made.text);
  await fresh.type('input[name=code]', made.json.pairing_code);
  await fresh.$eval('input[name=name]', (el) => { el.value = ''; });
  await fresh.type('input[name=name]', 'Phone with apps');
  await fresh.click('form button[type=submit]');

  // Paired: the consent page of the same request.
  await fresh.waitForSelector('#app-consent-form');
  assert.equal(await fresh.evaluate(() => location.hash), hash);
  assert.equal(await fresh.$eval('#app-name', (el) => el.textContent), APP_NAME);
  await checkPage('authorize-phone', { on: fresh, widths: [360] });

  const back = smartApp.callback.expect();
  await fresh.click('#app-deny');
  const landed = await back;
  assert.equal(landed.searchParams.get('error'), 'access_denied');
  assert.equal(landed.searchParams.get('state'), state);
  assert.equal(landed.searchParams.get('code'), null);

  // The browser is at the app before it is sent back: otherwise, under
  // load, goto() may land on the page it is still leaving (the same URL,
  // so no navigation) and the redirect then takes it away.
  for (let i = 0; i < 100 && !fresh.url().startsWith(smartApp.callback.origin); i += 1) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(fresh.url().startsWith(smartApp.callback.origin), `at ${fresh.url()}`);

  // Used up: the vault no longer has it, and the page says so in words.
  assert.equal((await api(demo.url, 'GET', `/v1/me/app-requests/${ar}`, tokens.citizen)).status, 404);
  await fresh.goto(`${base}/app/#/authorize/${ar}`);
  await fresh.waitForSelector('#app-request-gone');
  assert.equal(await fresh.$eval('#app-request-gone', (el) => el.textContent),
    'This request has expired or was already answered. Go back to the app and start connecting it again from there.');
  assert.equal(await fresh.$('#app-consent-form'), null);
  assert.deepEqual((await myApps()).filter((a) => !a.revoked), [], 'nothing was connected');
  assert.deepEqual(fresh.problems, []);
  await fresh.browserContext().close();
});

test('erasing the vault needs the typed phrase, then nothing is left', async () => {
  await open(page, base, 'erase');
  assert.equal(await page.$eval('#erase-submit', (b) => b.disabled), true);
  await checkPage('erase');
  await page.type('#erase-confirm', 'erase my vault');
  assert.equal(await page.$eval('#erase-submit', (b) => b.disabled), false);
  await page.click('#erase-submit');
  await page.waitForFunction(() => document.querySelector('main h1')?.textContent === 'Your vault is erased');
  assert.equal((await api(demo.url, 'GET', '/v1/me', tokens.citizen)).status, 401);
  // The browser forgot its pairing: the app asks for a code again.
  await page.goto(`${base}/app/`);
  await page.waitForSelector('input[name=code]');
});

test('no page logged an error or broke its content security policy', () => {
  assert.deepEqual(page.problems, []);
});
