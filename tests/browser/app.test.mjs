// The citizen web app in Debian's Chromium against a real `tillit demo`
// server. The scenarios run in order on one vault: each asserts what the
// page shows, and where the app changes something, what the API says.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, axe, launchBrowser, newPage, open, shot, startDemo, startProxy, texts }
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

async function checkPage(name, { widths = [1280, 360] } = {}) {
  const violations = await axe(page);
  axeResults[name] = violations.length;
  assert.deepEqual(violations, [], `accessibility violations on ${name}`);
  for (const w of widths) {
    if (page.viewport().width !== w) {
      await page.setViewport({ width: w, height: w < 600 ? 780 : 900 });
    }
    await shot(page, name);
  }
  await page.setViewport({ width: 1280, height: 900 });
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
