// The service worker's offline shell names every file the app loads, and
// only files that exist: one missing file makes the whole install fail.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const STATIC = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'static');

function shellList() {
  const source = fs.readFileSync(path.join(STATIC, 'sw.js'), 'utf8');
  const block = source.match(/const SHELL = \[([\s\S]*?)\];/);
  assert.ok(block, 'sw.js declares const SHELL = [...]');
  return [...block[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
}

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

test('every file in the offline shell exists', () => {
  for (const url of shellList()) {
    assert.ok(url.startsWith('/app/'), url);
    const rel = url === '/app/' ? 'index.html' : url.slice('/app/'.length);
    assert.ok(fs.existsSync(path.join(STATIC, rel)), `${url} is not in webapp/static`);
  }
});

test('every script of the app is in the offline shell', () => {
  const listed = new Set(shellList());
  const scripts = walk(path.join(STATIC, 'js'))
    .map((f) => `/app/${path.relative(STATIC, f).split(path.sep).join('/')}`);
  const missing = scripts.filter((s) => !listed.has(s));
  assert.deepEqual(missing, []);
});
