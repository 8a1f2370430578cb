// Unit tests of js/crypto/signing.js against the server's canonical form
// (http-signature/src/http_signature_test.cc, docs/MOBILE_BRIDGE.md).
import { test } from "node:test";
import assert from "node:assert/strict";

import { decodeBase64, decodeHex } from "../static/js/crypto/base64.js";
import {
  contentDigest, newNonce, SIGNATURE_LABEL, signatureBase, signatureParams,
  signRequest,
} from "../static/js/crypto/signing.js";

const subtle = globalThis.crypto.subtle;

// The test key of the C++ tests: Ed25519 seed 00 01 02 ... 1f, as PKCS #8.
const SEED_KEY_PKCS8 = decodeHex("302e020100300506032b657004220420" +
  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const SEED_KEY_PUBLIC = decodeHex(
  "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");

const PARAMS = {
  created: 1795000000,
  keyId: "d_0123456789abcdef0123456789abcdef",
  nonce: "00112233445566778899aabbccddeeff",
};
const EMPTY_DIGEST = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:";

async function seedKeys() {
  const privateKey = await subtle.importKey("pkcs8", SEED_KEY_PKCS8,
    { name: "Ed25519" }, false, ["sign"]);
  const publicKey = await subtle.importKey("raw", SEED_KEY_PUBLIC,
    { name: "Ed25519" }, true, ["verify"]);
  return { privateKey, publicKey };
}

// Reads the base64 signature out of "tillit=:<base64>:".
function signatureBytes(field) {
  const m = /^tillit=:([A-Za-z0-9+/=]+):$/.exec(field);
  assert.ok(m, field);
  return decodeBase64(m[1]);
}

test("Content-Digest matches RFC 9530 and the server's tests", async () => {
  assert.equal(await contentDigest('{"hello": "world"}'),
    "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
  assert.equal(await contentDigest(""), EMPTY_DIGEST);
  assert.equal(await contentDigest(null), EMPTY_DIGEST);
  assert.equal(await contentDigest(undefined), EMPTY_DIGEST);
  assert.equal(await contentDigest(new Uint8Array(0)), EMPTY_DIGEST);
  assert.equal(await contentDigest(new ArrayBuffer(0)), EMPTY_DIGEST);
  assert.equal(await contentDigest(new TextEncoder().encode("abc")),
    await contentDigest("abc"));
  await assert.rejects(contentDigest({}), TypeError);
  await assert.rejects(contentDigest(42), TypeError);
  await assert.rejects(contentDigest("\uD800"), SyntaxError);
});

test("the signature base is the RFC 9421 form of the C++ test", () => {
  const base = signatureBase({ method: "POST",
    target: "/v1/me/records?x=1%202", contentDigest: "sha-256=:AA==:",
    ...PARAMS });
  assert.equal(base,
    '"@method": POST\n' +
    '"@path": /v1/me/records\n' +
    '"@query": ?x=1%202\n' +
    '"content-digest": sha-256=:AA==:\n' +
    '"@signature-params": ("@method" "@path" "@query" ' +
    '"content-digest");created=1795000000;' +
    'keyid="d_0123456789abcdef0123456789abcdef";' +
    'nonce="00112233445566778899aabbccddeeff";alg="ed25519"');
  assert.equal(signatureParams(PARAMS), base.split('"@signature-params": ')[1]);
});

test("without a query @query is '?' (the doc's example layout)", () => {
  const base = signatureBase({ method: "POST", target: "/v1/me/records",
    contentDigest: EMPTY_DIGEST, ...PARAMS, keyId: "d_x", nonce: "n".repeat(16) });
  assert.equal(base, [
    '"@method": POST',
    '"@path": /v1/me/records',
    '"@query": ?',
    `"content-digest": ${EMPTY_DIGEST}`,
    '"@signature-params": ("@method" "@path" "@query" "content-digest")' +
      ';created=1795000000;keyid="d_x";nonce="nnnnnnnnnnnnnnnn";alg="ed25519"',
  ].join("\n"));
  assert.ok(!base.endsWith("\n"));
});

// Golden values computed independently with Python's `cryptography`
// (Ed25519 is deterministic) from the same seed key and parameters.
const GOLDEN = [
  {
    method: "POST", target: "/v1/me/records",
    body: '{"resourceType":"Observation"}',
    digest: "sha-256=:eKnqyLn5kfheX/3m2iB17yzAuzFZz5j+yY4B3d2td/0=:",
    signature: "tillit=:dydkEQZDE6NNgcOhAuk7s3b7MpizwSHzUVERBmzVhF/Pqo0v0p3a" +
      "taIsM9WK/WIG+2nUZLMBByTjAQ3le6GZAg==:",
  },
  {
    method: "GET", target: "/v1/me/records?limit=10&category=lab-results",
    body: undefined, digest: EMPTY_DIGEST,
    signature: "tillit=:pR+U/DzK6EVIrHYgibDaHbgSBczsINoMznoQh1FzhXl8Xu+Zclm" +
      "CUl0pmnrNoW2iRYgrh3HnC1AboRticgGSBg==:",
  },
];

test("signRequest reproduces golden signatures byte for byte", async () => {
  const { privateKey } = await seedKeys();
  for (const g of GOLDEN) {
    const headers = await signRequest({ method: g.method, target: g.target,
      body: g.body, privateKey, ...PARAMS });
    assert.deepEqual(Object.keys(headers).sort(),
      ["Content-Digest", "Signature", "Signature-Input"]);
    assert.equal(headers["Content-Digest"], g.digest);
    assert.equal(headers["Signature-Input"],
      'tillit=("@method" "@path" "@query" "content-digest");' +
      'created=1795000000;keyid="d_0123456789abcdef0123456789abcdef";' +
      'nonce="00112233445566778899aabbccddeeff";alg="ed25519"');
    assert.equal(headers.Signature, g.signature);
  }
  assert.equal(SIGNATURE_LABEL, "tillit");
});

test("the signature verifies and catches every change", async () => {
  const { privateKey, publicKey } = await seedKeys();
  const body = '{"resourceType":"Observation"}';
  const h = await signRequest({ method: "POST", target: "/v1/me/records",
    body, privateKey, ...PARAMS });
  const sig = signatureBytes(h.Signature);
  assert.equal(sig.length, 64);
  const verify = async (changes) => subtle.verify({ name: "Ed25519" },
    publicKey, sig, new TextEncoder().encode(signatureBase({ method: "POST",
      target: "/v1/me/records", contentDigest: h["Content-Digest"], ...PARAMS,
      ...changes })));
  assert.equal(await verify({}), true);
  assert.equal(await verify({ method: "PUT" }), false);
  assert.equal(await verify({ target: "/v1/me/consents" }), false);
  assert.equal(await verify({ target: "/v1/me/records?limit=1" }), false);
  assert.equal(await verify({ contentDigest: await contentDigest("{}") }),
    false);
  assert.equal(await verify({ created: PARAMS.created + 1 }), false);
  assert.equal(await verify({ nonce: "ffeeddccbbaa99887766554433221100" }),
    false);
  // Another key.
  const stranger = await subtle.generateKey({ name: "Ed25519" }, false,
    ["sign", "verify"]);
  assert.equal(await subtle.verify({ name: "Ed25519" }, stranger.publicKey,
    sig, new TextEncoder().encode(signatureBase({ method: "POST",
      target: "/v1/me/records", contentDigest: h["Content-Digest"],
      ...PARAMS }))), false);
});

test("defaults: now and a fresh nonce; a non-extractable key signs", async () => {
  const keys = await subtle.generateKey({ name: "Ed25519" }, false,
    ["sign", "verify"]);
  const before = Math.floor(Date.now() / 1000);
  const h = await signRequest({ method: "GET", target: "/v1/me",
    privateKey: keys.privateKey, keyId: "d_abc" });
  const after = Math.floor(Date.now() / 1000);
  const m = /;created=(\d+);keyid="d_abc";nonce="([A-Za-z0-9_-]+)";alg="ed25519"$/
    .exec(h["Signature-Input"]);
  assert.ok(m, h["Signature-Input"]);
  const created = Number(m[1]);
  assert.ok(created >= before && created <= after);
  const base = signatureBase({ method: "GET", target: "/v1/me",
    contentDigest: EMPTY_DIGEST, created, keyId: "d_abc", nonce: m[2] });
  assert.equal(await subtle.verify({ name: "Ed25519" }, keys.publicKey,
    signatureBytes(h.Signature), new TextEncoder().encode(base)), true);
});

test("newNonce is random, 32 characters of the token alphabet", () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) {
    const n = newNonce();
    assert.match(n, /^[A-Za-z0-9_-]{32}$/);
    seen.add(n);
  }
  assert.equal(seen.size, 200);
});

test("refuses what the server would not accept", async () => {
  const ok = { method: "GET", target: "/v1/me", contentDigest: EMPTY_DIGEST,
    ...PARAMS };
  const bad = [
    { method: "get" }, { method: "" }, { method: "GE T" }, { method: 1 },
    { target: "v1/me" }, { target: "" }, { target: "//evil/v1" },
    { target: "/v1/me#frag" }, { target: "/v1/me records" },
    { target: "/v1/../me" }, { target: "/v1/me?x='" }, { target: "/v1/\u00e9" },
    { target: "/v1\\me" }, { target: "/v1/me?" }, { target: "/v1/{x}" },
    { target: undefined },
    { contentDigest: "sha-512=:AA==:" }, { contentDigest: "AA==" },
    { contentDigest: undefined },
    { created: -1 }, { created: 1.5 }, { created: "1795000000" },
    { created: 1e12 }, { created: Number.MAX_SAFE_INTEGER + 1 },
    { keyId: "" }, { keyId: "d/01" }, { keyId: "d 1" }, { keyId: '"x"' },
    { keyId: "k".repeat(65) }, { keyId: undefined },
    { nonce: "0011223344" }, { nonce: "a".repeat(65) },
    { nonce: "0011223344556677 8899" }, { nonce: "0011223344556677+899" },
    { nonce: undefined },
  ];
  for (const change of bad) {
    assert.throws(() => signatureBase({ ...ok, ...change }), TypeError,
      JSON.stringify(change));
  }
  // The largest accepted values.
  assert.doesNotThrow(() => signatureBase({ ...ok, created: 999999999999,
    keyId: "k".repeat(64), nonce: "n".repeat(64) }));
  assert.doesNotThrow(() => signatureBase({ ...ok, created: 0 }));

  const { privateKey } = await seedKeys();
  await assert.rejects(signRequest({ method: "GET", target: "/v1/me",
    privateKey, keyId: "bad id" }), TypeError);
  await assert.rejects(signRequest({ method: "POST", target: "/v1/me",
    body: { not: "bytes" }, privateKey, keyId: "d_1" }), TypeError);
  await assert.rejects(signRequest({ method: "GET", target: "/v1/me",
    privateKey, keyId: "d_1", nonce: "short" }), TypeError);
  // A key that cannot sign: WebCrypto refuses.
  const { publicKey } = await seedKeys();
  await assert.rejects(signRequest({ method: "GET", target: "/v1/me",
    privateKey: publicKey, keyId: "d_1" }));
});
