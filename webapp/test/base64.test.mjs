// Unit tests of js/crypto/base64.js (node --test webapp/test/).
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  bytesEqual, concatBytes, decodeBase64, decodeHex, encodeBase64, encodeHex,
  isWellFormedText, utf8Decode, utf8Encode,
} from "../static/js/crypto/base64.js";

const ascii = (s) => new TextEncoder().encode(s);

// RFC 4648 section 10, the same table as crypto/src/encoding_test.cc.
const RFC4648 = [
  ["", "", ""],
  ["f", "Zg==", "66"],
  ["fo", "Zm8=", "666f"],
  ["foo", "Zm9v", "666f6f"],
  ["foob", "Zm9vYg==", "666f6f62"],
  ["fooba", "Zm9vYmE=", "666f6f6261"],
  ["foobar", "Zm9vYmFy", "666f6f626172"],
];

test("base64 and hex known answers (RFC 4648)", () => {
  for (const [plain, b64, hex] of RFC4648) {
    assert.equal(encodeBase64(ascii(plain)), b64);
    assert.deepEqual(decodeBase64(b64), ascii(plain));
    assert.equal(encodeHex(ascii(plain)), hex);
    assert.deepEqual(decodeHex(hex), ascii(plain));
  }
});

test("base64 uses the standard alphabet and round-trips every byte", () => {
  const bytes = new Uint8Array([0xfb, 0xff, 0xbf]);
  assert.equal(encodeBase64(bytes), "+/+/");
  assert.deepEqual(decodeBase64("+/+/"), bytes);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let n = 0; n <= 256; n++) {
    const part = all.subarray(0, n);
    assert.deepEqual(decodeBase64(encodeBase64(part)), part);
  }
});

test("base64 decoding is strict", () => {
  const bad = [
    "Zg", "Zg=", "Zg===", "Zm9v=", "Zh==", "Zm9=", "Zm8", "Zm9vYmFy=",
    "Zm9v YmFy", "Zm9vYmFy\n", " Zm9vYmFy", "Zm9-YmFy", "Zm9_YmFy",
    "Zm9v*mFy", "====", "A===", "Zg=A", "Zg==Zg==", "Z", "Zm9v\0mFy",
    "Zm9vYmF\u00e9", "Zm9vYmF\u{1F600}",
  ];
  for (const text of bad) {
    assert.throws(() => decodeBase64(text), (e) => {
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.message, "malformed base64"); // never echoes the input
      return true;
    }, JSON.stringify(text));
  }
  assert.throws(() => decodeBase64(null), SyntaxError);
  assert.throws(() => decodeBase64(new Uint8Array(4)), SyntaxError);
  assert.throws(() => encodeBase64("abc"), TypeError);
  assert.throws(() => encodeBase64([1, 2]), TypeError);
});

test("hex decodes either case and refuses anything else", () => {
  assert.deepEqual(decodeHex("ABff"), new Uint8Array([0xab, 0xff]));
  assert.equal(encodeHex(new Uint8Array([0, 0x7f, 0x80, 0xab, 0xff])),
    "007f80abff");
  for (const text of ["a", "abc", "0g", "g0", "zz", " 00", "00 ", "0x00",
    "00:11", "-1", "0\0", "+1"]) {
    assert.throws(() => decodeHex(text), SyntaxError, text);
  }
  assert.throws(() => decodeHex(7), SyntaxError);
  assert.throws(() => encodeHex("00"), TypeError);
});

test("UTF-8 helpers are exact and strict", () => {
  assert.deepEqual(utf8Encode("a\u00e9\u2014\u{1F600}"),
    new Uint8Array([0x61, 0xc3, 0xa9, 0xe2, 0x80, 0x94, 0xf0, 0x9f, 0x98,
      0x80]));
  assert.equal(utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])),
    "\uFEFFa"); // a byte order mark is kept
  for (const bad of [[0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff],
    [0xf4, 0x90, 0x80, 0x80]]) {
    assert.throws(() => utf8Decode(new Uint8Array(bad)), SyntaxError);
  }
  assert.throws(() => utf8Decode("abc"), TypeError);
  assert.equal(isWellFormedText("a\u{1F600}b"), true);
  assert.equal(isWellFormedText("a\uD800b"), false);
  assert.equal(isWellFormedText("\uDC00"), false);
  assert.equal(isWellFormedText("\uDE00\uD83D"), false); // reversed pair
  assert.equal(isWellFormedText(5), false);
  assert.throws(() => utf8Encode("x\uD800"), SyntaxError);
  assert.throws(() => utf8Encode(undefined), SyntaxError);
});

test("bytesEqual and concatBytes", () => {
  const a = new Uint8Array([1, 2, 3]);
  assert.equal(bytesEqual(a, new Uint8Array([1, 2, 3])), true);
  assert.equal(bytesEqual(a, new Uint8Array([1, 2, 4])), false);
  assert.equal(bytesEqual(a, new Uint8Array([1, 2])), false);
  assert.equal(bytesEqual(a, [1, 2, 3]), false);
  assert.equal(bytesEqual(new Uint8Array(0), new Uint8Array(0)), true);
  assert.deepEqual(concatBytes(a, new Uint8Array(0), new Uint8Array([9])),
    new Uint8Array([1, 2, 3, 9]));
  assert.deepEqual(concatBytes(), new Uint8Array(0));
  assert.throws(() => concatBytes(a, "x"), TypeError);
});
