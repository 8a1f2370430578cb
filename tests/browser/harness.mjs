// What the browser tests stand on: a real `tillit demo` vault served on a
// free loopback port, a pass-through proxy in front of it that can tamper
// with or replay the access log (to show the app's warnings), Debian's
// Chromium driven by puppeteer-core, axe-core, and screenshots.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);

export const TILLIT = process.env.TILLIT_BIN;
export const SHOTS = process.env.TILLIT_SCREENSHOTS ||
  fs.mkdtempSync(path.join(os.tmpdir(), 'tillit-shots-'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** Starts `tillit demo --json` on a fresh data directory; resolves to
 * {info, url, data, stop} once it prints its JSON line (`data`: the data
 * directory, for CLI commands run beside the server). */
export async function startDemo() {
  if (!TILLIT) throw new Error('TILLIT_BIN must name the tillit binary');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillit-browser-'));
  const child = spawn(TILLIT, ['demo', '--data', path.join(dir, 'vault'), '--citizens', '4',
    '--seed', '11', '--listen', '127.0.0.1:0', '--json', '--quiet'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const info = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`demo did not start: ${stderr}`)), 120000);
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        try { resolve(JSON.parse(out.slice(0, nl))); } catch (e) { reject(e); }
      }
    });
    child.on('exit', (code) => reject(new Error(`demo exited ${code}: ${stderr}`)));
  });
  return {
    info, url: info.url, data: path.join(dir, 'vault'),
    stop: () => new Promise((resolve) => {
      child.once('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

/**
 * A proxy in front of the server. mode.failPath: requests whose path starts
 * with it get a 503 error as the API writes them. mode.value: 'pass' (default),
 * 'tamper' (flips a byte of the first inclusion proof hash in access-log
 * answers), 'replay' (answers access-log requests with the first one it
 * saw, an older, smaller log).
 */
export async function startProxy(target) {
  const mode = { value: 'pass', firstLog: null };
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const isLog = req.url.startsWith('/v1/me/access-log');
      if (mode.failPath && req.url.startsWith(mode.failPath)) {
        res.writeHead(503, { 'Content-Type': 'application/json', 'X-Request-Id': 'proxy-503-test' });
        res.end(JSON.stringify({ error: { code: 'unavailable', message: 'the server is busy; retry later',
          request_id: 'proxy-503-test' } }));
        return;
      }
      if (isLog && mode.value === 'replay' && mode.firstLog) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(mode.firstLog);
        return;
      }
      // Plain bodies, so the proxy can read and change them.
      const headers = { ...req.headers, host: upstream.host };
      delete headers['accept-encoding'];
      const up = http.request({ host: upstream.hostname, port: upstream.port, method: req.method,
        path: req.url, headers }, (upRes) => {
        const body = [];
        upRes.on('data', (c) => body.push(c));
        upRes.on('end', () => {
          let data = Buffer.concat(body);
          if (isLog && upRes.statusCode === 200) {
            if (!mode.firstLog) mode.firstLog = data;
            if (mode.value === 'tamper') data = Buffer.from(tamper(data.toString()));
          }
          const h = { ...upRes.headers };
          delete h['content-length'];
          delete h['transfer-encoding'];
          res.writeHead(upRes.statusCode, h);
          res.end(data);
        });
      });
      up.on('error', () => { res.writeHead(502); res.end(); });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}`, mode,
    stop: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

function tamper(text) {
  const page = JSON.parse(text);
  const e = page.entries.find((x) => (x.inclusion_proof || []).length > 0);
  if (e) {
    const h = e.inclusion_proof[0];
    e.inclusion_proof[0] = (h[0] === '0' ? '1' : '0') + h.slice(1);
  }
  return JSON.stringify(page);
}

/** Debian's Chromium, headless, with nothing that reaches the network. */
export async function launchBrowser() {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage', '--lang=en-GB'],
  });
}

/** A page in a fresh context (its own IndexedDB) that records console
 * errors, CSP violations and uncaught exceptions in page.problems. */
export async function newPage(browser, width = 1280) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width, height: width < 600 ? 780 : 900 });
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d|status of 503|ERR_INTERNET_DISCONNECTED/.test(m.text())) {
      page.problems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.setDefaultTimeout(15000);
  return page;
}

/** Calls the API directly (not through the browser) with a bearer token. */
export async function api(base, method, p, token, body) {
  const res = await fetch(base + p, { method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

/** Runs axe-core on the page (WCAG 2.1 A and AA rules); returns the
 * serious and critical violations. Evaluated over DevTools, so the page's
 * CSP stays as strict as for users. */
export async function axe(page) {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate(() => globalThis.axe.run(document,
    { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }));
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Saves a full-page screenshot as SHOTS/<name>-<width>.png. */
export async function shot(page, name) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const width = page.viewport().width;
  await page.screenshot({ path: path.join(SHOTS, `${name}-${width}.png`), fullPage: true });
}

/** Navigates within the app and waits for the view's heading. */
export async function open(page, base, route) {
  const url = `${base}/app/#/${route}`;
  if (page.url().startsWith(`${base}/app/`)) {
    await page.evaluate((r) => { location.hash = `#/${r}`; }, route);
  } else {
    await page.goto(url);
  }
  await page.waitForFunction(() => !document.querySelector('main .loading') &&
    document.querySelector('main h1'));
}

/** The text of every element matching `selector`. */
export function texts(page, selector) {
  return page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
}
