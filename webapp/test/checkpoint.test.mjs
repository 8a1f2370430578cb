// Unit tests of js/crypto/checkpoint.js: the worked example of
// docs/AUDIT_FORMATS.md and every rule of audit/src/checkpoint_test.cc.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

import {
  concatBytes, decodeBase64, decodeHex, encodeBase64,
} from "../static/js/crypto/base64.js";
import {
  checkpointBody, isFork, isValidKeyName, MAX_NOTE_SIGNATURES, MAX_NOTE_SIZE,
  noteKeyId, openCheckpoint, parseVerifierKey, ProofError, verifierKeyString,
} from "../static/js/crypto/checkpoint.js";

const subtle = globalThis.crypto.subtle;
const NAME = "example.org/tillit/audit";
const DASH = "\u2014";
const ROOT8 = decodeHex(
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
const ROOT8_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";

const GOLDEN_NOTE =
  "example.org/tillit/audit\n" +
  "8\n" +
  "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n" +
  "\n" +
  `${DASH} example.org/tillit/audit ` +
  "YfBoNHcpKUN0TzcHaJgVxPyCUHq/X65XO4MdNQzlYPFpkQfX13Zyg/4tN/RC+blwN50o2o5ANE" +
  "oE3nigo0BFwI1rVgY=\n";
const GOLDEN_VERIFIER_KEY =
  "example.org/tillit/audit+61f06834+" +
  "AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4";

// The Ed25519 key with seed first, first+1, ... (the C++ TestKey).
async function testKey(first = 0) {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => (first + i) & 255);
  const pkcs8 = concatBytes(decodeHex("302e020100300506032b657004220420"),
    seed);
  const privateKey = await subtle.importKey("pkcs8", pkcs8,
    { name: "Ed25519" }, true, ["sign"]);
  const jwk = await subtle.exportKey("jwk", privateKey);
  const raw = Buffer.from(jwk.x, "base64url");
  return { privateKey, raw: new Uint8Array(raw) };
}

// Key id straight from its definition, with node:crypto.
function definitionKeyId(name, raw) {
  return createHash("sha256").update(name).update(Buffer.from([0x0a, 0x01]))
    .update(raw).digest("hex").slice(0, 8);
}

// A signature line over `body`, built by hand from the format definition.
async function signatureLine(body, name, key) {
  const sig = new Uint8Array(await subtle.sign({ name: "Ed25519" },
    key.privateKey, new TextEncoder().encode(body)));
  const blob = concatBytes(decodeHex(definitionKeyId(name, key.raw)), sig);
  return `${DASH} ${name} ${encodeBase64(blob)}\n`;
}
const signRaw = async (body, name, key) =>
  `${body}\n${await signatureLine(body, name, key)}`;

async function vkeyOf(key, name = NAME) {
  return parseVerifierKey(await verifierKeyString(name, key.raw));
}

// The kind of ProofError openCheckpoint throws, or "ok".
async function openKind(note, vkey) {
  try {
    await openCheckpoint(note, vkey);
    return "ok";
  } catch (e) {
    assert.ok(e instanceof ProofError, String(e));
    return e.kind;
  }
}

test("the worked example: key id, verifier key and golden note", async () => {
  const key = await testKey();
  assert.equal(Buffer.from(key.raw).toString("hex"),
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  assert.equal(await noteKeyId(NAME, key.raw), "61f06834");
  assert.equal(await verifierKeyString(NAME, key.raw), GOLDEN_VERIFIER_KEY);
  const body = checkpointBody({ origin: NAME, size: 8, root: ROOT8 });
  assert.equal(body, `${NAME}\n8\n${ROOT8_B64}\n`);
  assert.equal(new TextEncoder().encode(body).length, 72);
  // Ed25519 is deterministic: signing again gives the golden note.
  assert.equal(await signRaw(body, NAME, key), GOLDEN_NOTE);

  const vkey = await parseVerifierKey(GOLDEN_VERIFIER_KEY);
  assert.equal(vkey.name, NAME);
  assert.equal(vkey.keyId, "61f06834");
  assert.deepEqual(vkey.raw, key.raw);
  assert.equal(vkey.text, GOLDEN_VERIFIER_KEY);
  assert.equal(vkey.publicKey.algorithm.name, "Ed25519");
  const opened = await openCheckpoint(GOLDEN_NOTE, vkey);
  assert.deepEqual(opened, { origin: NAME, size: 8, root: ROOT8 });
  // The same note as UTF-8 bytes.
  assert.deepEqual(
    await openCheckpoint(new TextEncoder().encode(GOLDEN_NOTE), vkey), opened);
});

test("checkpoint bodies are exact", () => {
  assert.equal(checkpointBody({ origin: "o", size: 0, root: new Uint8Array(32) }),
    "o\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
  assert.equal(checkpointBody({ origin: "o", size: (1n << 64n) - 1n,
    root: new Uint8Array(32) }),
  "o\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
});

test("key ids match their definition", async () => {
  for (let k = 0; k < 5; k++) {
    const key = await testKey(k * 40);
    for (const name of ["a", "example.com/log", "x\u00e9y"]) {
      assert.equal(await noteKeyId(name, key.raw),
        definitionKeyId(name, key.raw));
    }
  }
  const key = await testKey();
  await assert.rejects(noteKeyId("a b", key.raw), ProofError);
  await assert.rejects(noteKeyId("a", key.raw.subarray(1)), ProofError);
  await assert.rejects(verifierKeyString("", key.raw), ProofError);
});

test("round trip of sizes, and sizes beyond 2^53 - 1", async () => {
  const key = await testKey();
  const vkey = await vkeyOf(key);
  for (const size of [0, 1, 8, 12345, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const root = Uint8Array.from(ROOT8);
    root[0] = size & 255;
    const note = await signRaw(checkpointBody({ origin: "tillit.example/log-1",
      size, root }), NAME, key);
    assert.deepEqual(await openCheckpoint(note, vkey),
      { origin: "tillit.example/log-1", size, root });
  }
  for (const size of [2n ** 53n, (1n << 64n) - 1n]) {
    const note = await signRaw(checkpointBody({ origin: "o", size,
      root: ROOT8 }), NAME, key);
    assert.equal(await openKind(note, vkey), "unsupported");
  }
});

test("the published C2SP signed-note example", async () => {
  const vkeyText =
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
  const text = "This is an example message.\n";
  const sig = "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZX" +
    "sYjOBH3mFXmRKuwHjG1Yu72IneyaQM=";
  const vkey = await parseVerifierKey(vkeyText);
  assert.equal(vkey.name, "example.com/foo");
  assert.equal(vkey.keyId, "530d903a");
  assert.equal(await verifierKeyString(vkey.name, vkey.raw), vkeyText);
  const blob = decodeBase64(sig);
  assert.equal(blob.length, 68);
  assert.equal(Buffer.from(blob.subarray(0, 4)).toString("hex"), "530d903a");
  assert.equal(await subtle.verify({ name: "Ed25519" }, vkey.publicKey,
    blob.subarray(4), new TextEncoder().encode(text)), true);
  // A valid signed note, but not a checkpoint.
  assert.equal(await openKind(`${text}\n${DASH} example.com/foo ${sig}\n`,
    vkey), "malformed");
});

test("parseVerifierKey rejects every malformed key", async () => {
  const b64 = GOLDEN_VERIFIER_KEY.slice(GOLDEN_VERIFIER_KEY.lastIndexOf("+AQ") +
    1);
  const bad = [
    "", "example.org", `+61f06834+${b64}`, `a b+61f06834+${b64}`,
    `${NAME}+61f0683+${b64}`, `${NAME}+61f06835+${b64}`,
    `${NAME}+61f0683z+${b64}`, `${NAME}+61f06834${b64}`, `${NAME}+61f06834+`,
    `${NAME}+61f06834+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG`,
    `${NAME}+61f06834+AgOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4`,
    `other.name+61f06834+${b64}`, `${GOLDEN_VERIFIER_KEY}\n`,
    ` ${GOLDEN_VERIFIER_KEY}`, `${NAME}+61f06834+${b64}AA==`,
    `${NAME}+61f06834+AQOhB7_zzhC-HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4`,
    undefined, 42,
  ];
  for (const text of bad) {
    await assert.rejects(parseVerifierKey(text), (e) => {
      assert.ok(e instanceof ProofError);
      assert.equal(e.kind, "malformed");
      return true;
    }, JSON.stringify(text));
  }
  // Upper-case key id digits are read as the same id.
  const upper = await parseVerifierKey(
    GOLDEN_VERIFIER_KEY.replace("61f06834", "61F06834"));
  assert.equal(upper.keyId, "61f06834");
});

test("a wrong key or name is unauthenticated", async () => {
  const key = await testKey();
  const other = await testKey(100);
  const vkey = await vkeyOf(key);
  assert.equal(await openKind(GOLDEN_NOTE, vkey), "ok");
  assert.equal(await openKind(GOLDEN_NOTE, await vkeyOf(other)),
    "unauthenticated");
  assert.equal(await openKind(GOLDEN_NOTE, await vkeyOf(key,
    "example.org/other")), "unauthenticated");
  // The right name with another key's signature (another key id).
  const body = checkpointBody({ origin: NAME, size: 8, root: ROOT8 });
  assert.equal(await openKind(await signRaw(body, NAME, other), vkey),
    "unauthenticated");
  // The right name and key id but another key behind them.
  const forged = { ...(await vkeyOf(other)), name: NAME, keyId: "61f06834" };
  assert.equal(await openKind(GOLDEN_NOTE, forged), "unauthenticated");
  // Not a verifier key at all.
  for (const bad of [null, {}, { ...vkey, name: "bad name" },
    { ...vkey, name: "" }, { ...vkey, keyId: undefined },
    { ...vkey, publicKey: null }]) {
    assert.equal(await openKind(GOLDEN_NOTE, bad), "malformed");
  }
});

test("every flipped body byte is rejected", async () => {
  const vkey = await vkeyOf(await testKey());
  const bytes = new TextEncoder().encode(GOLDEN_NOTE);
  const bodySize = GOLDEN_NOTE.indexOf("\n\n") + 1;
  let unauthenticated = 0;
  for (let i = 0; i < bodySize; i++) {
    const bad = Uint8Array.from(bytes);
    bad[i] ^= 0x01;
    const kind = await openKind(bad, vkey);
    assert.notEqual(kind, "ok", `byte ${i}`);
    if (kind === "unauthenticated") unauthenticated++;
  }
  assert.ok(unauthenticated > bodySize / 2, String(unauthenticated));
});

test("every flipped signature byte is unauthenticated", async () => {
  const vkey = await vkeyOf(await testKey());
  const sigStart = GOLDEN_NOTE.lastIndexOf(" ") + 1;
  const prefix = GOLDEN_NOTE.slice(0, sigStart);
  const blob = decodeBase64(GOLDEN_NOTE.slice(sigStart, -1));
  assert.equal(blob.length, 68);
  for (let i = 4; i < blob.length; i++) { // the key id bytes: see below
    for (const mask of [0x01, 0x80]) {
      const bad = Uint8Array.from(blob);
      bad[i] ^= mask;
      assert.equal(await openKind(`${prefix}${encodeBase64(bad)}\n`, vkey),
        "unauthenticated", `byte ${i}`);
    }
  }
  // A changed key id makes the only line someone else's: no signature.
  for (let i = 0; i < 4; i++) {
    const bad = Uint8Array.from(blob);
    bad[i] ^= 0x01;
    assert.equal(await openKind(`${prefix}${encodeBase64(bad)}\n`, vkey),
      "unauthenticated");
  }
  for (const len of [5, 67]) {
    assert.equal(await openKind(
      `${prefix}${encodeBase64(blob.subarray(0, len))}\n`, vkey),
    "unauthenticated");
  }
  assert.equal(await openKind(
    `${prefix}${encodeBase64(concatBytes(blob, new Uint8Array(1)))}\n`, vkey),
  "unauthenticated");
});

test("a missing blank line is malformed", async () => {
  const vkey = await vkeyOf(await testKey());
  const body = checkpointBody({ origin: NAME, size: 8, root: ROOT8 });
  for (const note of [GOLDEN_NOTE.replace("\n\n", "\n"), body, `${body}\n`,
    "", GOLDEN_NOTE.slice(0, -1), `${GOLDEN_NOTE}\n`]) {
    assert.equal(await openKind(note, vkey), "malformed", JSON.stringify(note));
  }
  assert.equal(await openKind(42, vkey), "malformed");
});

test("other signature lines are ignored but must be well formed", async () => {
  const key = await testKey();
  const witness = await testKey(50);
  const vkey = await vkeyOf(key);
  const body = checkpointBody({ origin: NAME, size: 8, root: ROOT8 });
  const ours = await signatureLine(body, NAME, key);
  const theirs = await signatureLine(body, "witness.example", witness);
  const sameNameOtherKey = await signatureLine(body, NAME, witness);
  for (const sigs of [theirs + ours, ours + theirs, sameNameOtherKey + ours,
    ours + sameNameOtherKey]) {
    const opened = await openCheckpoint(`${body}\n${sigs}`, vkey);
    assert.deepEqual(opened.root, ROOT8);
  }
  assert.equal(await openKind(`${body}\n${ours}${theirs}`,
    await vkeyOf(witness, "witness.example")), "ok");
  for (const junk of [
    `${DASH} witness.example !!notbase64!!\n`, `${DASH} witness.example AAAA\n`,
    `${DASH} witness.example\n`, "-- witness.example AAAAAAAAAAAAAAAA\n",
    `${DASH}witness.example AAAAAAAAAAAAAAAA\n`,
    `${DASH} wit+ness AAAAAAAAAAAAAAAA\n`, `${DASH}  AAAAAAAAAAAAAAAA\n`,
    `${DASH} witness.example AAAAAAAA AAAAAAAA\n`, "\n", "plain text\n",
  ]) {
    assert.equal(await openKind(`${body}\n${ours}${junk}`, vkey), "malformed",
      JSON.stringify(junk));
  }
  // A bad signature by our key spoils the note even next to a good one.
  const blob = decodeBase64(ours.slice(ours.lastIndexOf(" ") + 1, -1));
  blob[40] ^= 1;
  const badOurs = `${DASH} ${NAME} ${encodeBase64(blob)}\n`;
  assert.equal(await openKind(`${body}\n${ours}${badOurs}`, vkey),
    "unauthenticated");
  assert.equal(await openKind(`${body}\n${badOurs}${ours}`, vkey),
    "unauthenticated");
  // At most 100 signature lines.
  const hundred = `${body}\n${ours}${theirs.repeat(MAX_NOTE_SIGNATURES - 1)}`;
  assert.equal(await openKind(hundred, vkey), "ok");
  assert.equal(await openKind(`${hundred}${theirs}`, vkey), "malformed");
});

test("malformed bodies are malformed even when signed", async () => {
  const key = await testKey();
  const vkey = await vkeyOf(key);
  const r = ROOT8_B64;
  const bodies = [
    `\n8\n${r}\n`, `o\n${r}\n`, "o\n8\n", `o\n08\n${r}\n`, `o\n-1\n${r}\n`,
    `o\n+1\n${r}\n`, `o\n 8\n${r}\n`, `o\n8 \n${r}\n`, `o\n0x8\n${r}\n`,
    `o\n18446744073709551616\n${r}\n`, `o\n99999999999999999999\n${r}\n`,
    `o\n100000000000000000000\n${r}\n`, `o\n\n${r}\n`, `o\n1e3\n${r}\n`,
    "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQy=\n",
    "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQ\n",
    "o\n8\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
    "o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n",
    `o\n8\n${r}\n\next\n`, `o\r\n8\n${r}\n`,
  ];
  for (const body of bodies) {
    assert.equal(await openKind(await signRaw(body, NAME, key), vkey),
      "malformed", JSON.stringify(body));
  }
});

test("extension lines are allowed, signed, and not part of the checkpoint",
  async () => {
    const key = await testKey();
    const vkey = await vkeyOf(key);
    const body = checkpointBody({ origin: "o", size: 9007199254740991,
      root: ROOT8 }) + "extension one\nextension \u00e9 two\n";
    const note = await signRaw(body, NAME, key);
    assert.deepEqual(await openCheckpoint(note, vkey),
      { origin: "o", size: 9007199254740991, root: ROOT8 });
    assert.equal(await openKind(note.replace("one", "One"), vkey),
      "unauthenticated");
  });

test("text and size limits", async () => {
  const key = await testKey();
  const vkey = await vkeyOf(key);
  const enc = new TextEncoder();
  // Invalid UTF-8 (as bytes), unpaired surrogates and control characters.
  for (const bad of [[0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff]]) {
    const body = concatBytes(enc.encode("o"), new Uint8Array(bad),
      enc.encode(`\n8\n${ROOT8_B64}\n`));
    const note = concatBytes(body, enc.encode("\n"),
      enc.encode(await signatureLine("o\n8\n" + ROOT8_B64 + "\n", NAME, key)));
    assert.equal(await openKind(note, vkey), "malformed");
  }
  // (The text is checked before any signature, so one line serves all.)
  const line = await signatureLine(`o\n8\n${ROOT8_B64}\n`, NAME, key);
  for (const bad of ["\u0001", "\u007f", "\t", "\u0085", "\u009f", "\r",
    "\0", "\uD800", "\uDC00"]) {
    assert.equal(await openKind(`o${bad}\n8\n${ROOT8_B64}\n\n${line}`, vkey),
      "malformed", JSON.stringify(bad));
  }
  assert.equal(await openKind(`o\n8\n${ROOT8_B64}\n\n${line}`, vkey), "ok");
  // Larger than 64 KiB, even if signed.
  const base = checkpointBody({ origin: "o", size: 8, root: ROOT8 });
  const big = `${base}${"x".repeat(MAX_NOTE_SIZE)}\n`;
  assert.equal(await openKind(await signRaw(big, NAME, key), vkey),
    "malformed");
  assert.equal(await openKind(enc.encode(await signRaw(big, NAME, key)), vkey),
    "malformed");
  // Exactly 64 KiB is fine.
  const sigLine = enc.encode(await signatureLine(base, NAME, key)).length;
  const fits = `${base}${"x".repeat(MAX_NOTE_SIZE - base.length - sigLine - 2)}\n`;
  const note = await signRaw(fits, NAME, key);
  assert.equal(enc.encode(note).length, MAX_NOTE_SIZE);
  assert.equal(await openKind(note, vkey), "ok");
  // Fewer than 64 Ki characters but more than 64 KiB of UTF-8.
  const wide = `${base}${"\u00e9".repeat(MAX_NOTE_SIZE / 2)}\n`;
  const wideNote = await signRaw(wide, NAME, key);
  assert.ok(wideNote.length < MAX_NOTE_SIZE);
  assert.equal(await openKind(wideNote, vkey), "malformed");
});

test("key names", () => {
  assert.equal(isValidKeyName("example.org/tillit/audit"), true);
  assert.equal(isValidKeyName("x\u00e9y"), true);
  assert.equal(isValidKeyName("x\u{1F600}"), true);
  for (const bad of ["", "a b", "a\tb", "a\nb", "a+b", "a\u00a0b", "a\u3000b",
    "a\u2028b", "a\u0085b", "a\u007fb", "a\uD800b", undefined, 7]) {
    assert.equal(isValidKeyName(bad), false, JSON.stringify(bad));
  }
});

test("two validly signed notes of one size and other roots are a fork",
  async () => {
    const key = await testKey();
    const vkey = await vkeyOf(key);
    const other = Uint8Array.from(ROOT8);
    other[31] ^= 1;
    const a = await openCheckpoint(GOLDEN_NOTE, vkey);
    const b = await openCheckpoint(await signRaw(checkpointBody({ origin: NAME,
      size: 8, root: other }), NAME, key), vkey);
    assert.equal(isFork(a, b), true);
    assert.equal(isFork(b, a), true);
    assert.equal(isFork(a, a), false);
    assert.equal(isFork(a, { ...b, size: 9 }), false);
    assert.equal(isFork(a, { ...b, origin: "another.log" }), false);
  });
