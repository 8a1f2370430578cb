// Every translation has exactly English's keys, in the same order; no
// value is empty; each keeps exactly English's {placeholders}; and no
// value holds '<' or '>' (text is set with textContent, but markup-like
// strings would still be a sign of a broken translation).
import { test } from 'node:test';
import assert from 'node:assert/strict';

import en from '../static/js/lang/en.js';
import sv from '../static/js/lang/sv.js';
import nb from '../static/js/lang/nb.js';
import fi from '../static/js/lang/fi.js';
import se from '../static/js/lang/se.js';

const LANGS = { sv, nb, fi, se };

// The same pattern t() in js/i18n.js fills.
function placeholders(text) {
  return [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort();
}

test('English itself is well formed', () => {
  for (const [key, text] of Object.entries(en)) {
    assert.equal(typeof text, 'string', key);
    assert.ok(text.trim().length > 0, `en ${key} is empty`);
    assert.ok(!/[<>]/.test(text), `en ${key} holds < or >`);
  }
});

for (const [code, strings] of Object.entries(LANGS)) {
  test(`${code} has exactly the keys of en, in the same order`, () => {
    const missing = Object.keys(en).filter((k) => !(k in strings));
    const extra = Object.keys(strings).filter((k) => !(k in en));
    assert.deepEqual(missing, [], `${code} lacks keys`);
    assert.deepEqual(extra, [], `${code} has keys English does not`);
    assert.deepEqual(Object.keys(strings), Object.keys(en), `${code} key order`);
  });

  test(`${code} has no empty value`, () => {
    for (const [key, text] of Object.entries(strings)) {
      assert.equal(typeof text, 'string', `${code} ${key} is not a string`);
      assert.ok(text.trim().length > 0, `${code} ${key} is empty`);
    }
  });

  test(`${code} keeps each value's placeholders`, () => {
    for (const key of Object.keys(en)) {
      if (typeof strings[key] !== 'string') continue;
      assert.deepEqual(placeholders(strings[key]), placeholders(en[key]),
        `${code} ${key} placeholders differ from English`);
      const rest = strings[key].replace(/\{(\w+)\}/g, '');
      assert.ok(!/[{}]/.test(rest), `${code} ${key} has a malformed placeholder`);
    }
  });

  test(`${code} has no '<' or '>'`, () => {
    for (const [key, text] of Object.entries(strings)) {
      assert.ok(!/[<>]/.test(text), `${code} ${key} holds < or >`);
    }
  });

  test(`${code} erase phrase is short, lowercase and plain to type`, () => {
    const phrase = strings['erase.phrase'];
    assert.equal(phrase, phrase.trim().toLowerCase(), `${code} erase.phrase`);
    assert.ok(phrase.length <= 24, `${code} erase.phrase is long`);
    if (code === 'se') assert.ok(!/[čđŋšŧžá]/i.test(phrase), 'se erase.phrase needs a Sami key');
  });
}
