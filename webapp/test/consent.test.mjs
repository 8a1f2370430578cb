// Unit tests of js/consent.js (node --test webapp/test/): the wizard's
// checks, the grant JSON it builds (docs/CONSENT.md §1), grants in words
// and the restrictions read-modify-write.
import { test } from "node:test";
import assert from "node:assert/strict";

import {
  buildGrant, emptyDraft, formatWhen, grantDetails, grantSentence, grantStatus, isDate,
  isOntologyTerm, isVaultId, parsePrivacyBudget, sortGrants, updateRestrictions, validateDraft,
  validateStep,
} from "../static/js/consent.js";

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0); // 5 Dec 2026, 12:00 UTC
const HEX = "0123456789abcdef0123456789abcdef";

function draft(fields) {
  return { ...emptyDraft(), includeSensitive: false, ...fields };
}

// A draft that passes every step: the example of docs/CONSENT.md §1.
function goodDraft(fields = {}) {
  return draft({
    kind: "any-researcher",
    purposes: ["DUO:0000006"],
    categories: ["vital-signs", "lab-results"],
    periodStart: "2015-01-01",
    expires: "2027-12-31",
    conditions: ["DUO:0000046"],
    ...fields,
  });
}

const fieldsOf = (errors) => errors.map((e) => e.field);
const keysOf = (errors) => errors.map((e) => e.key);

test("shapes: dates, vault ids, ontology terms", () => {
  assert.ok(isDate("2024-02-29"));
  assert.ok(!isDate("2023-02-29"));
  assert.ok(!isDate("2023-13-01"));
  assert.ok(!isDate("0000-01-01"));
  assert.ok(!isDate("2023-1-01"));
  assert.ok(!isDate(""));
  assert.ok(isVaultId(`r_${HEX}`, "r_"));
  assert.ok(!isVaultId(`r_${HEX.toUpperCase()}`, "r_"));
  assert.ok(!isVaultId(`s_${HEX}`, "r_"));
  assert.ok(!isVaultId(`r_${HEX}0`, "r_"));
  assert.ok(isOntologyTerm("MONDO:0005148"));
  assert.ok(!isOntologyTerm("MONDO 0005148"));
  assert.ok(!isOntologyTerm(":0005148"));
  assert.ok(!isOntologyTerm("1MONDO:0005148"));
});

test("who: a kind is required, and the id or name it takes", () => {
  assert.deepEqual(fieldsOf(validateStep("who", draft({}), NOW)), ["grantee-kind"]);
  assert.deepEqual(fieldsOf(validateStep("who", draft({ kind: "anyone" }), NOW)), ["grantee-kind"]);
  assert.deepEqual(validateStep("who", draft({ kind: "any-researcher" }), NOW), []);
  assert.deepEqual(validateStep("who", draft({ kind: "any-provider" }), NOW), []);
  assert.deepEqual(keysOf(validateStep("who", draft({ kind: "organization", name: "  " }), NOW)),
    ["grant.error.nameMissing"]);
  assert.deepEqual(keysOf(validateStep("who",
    draft({ kind: "organization", name: "a\u0001b" }), NOW)), ["grant.error.nameShape"]);
  assert.deepEqual(keysOf(validateStep("who",
    draft({ kind: "organization", name: "å".repeat(129) }), NOW)), ["grant.error.nameShape"]);
  assert.deepEqual(validateStep("who", draft({ kind: "organization", name: "Uppsala University" }),
    NOW), []);
  for (const [kind, prefix] of [["researcher", "r_"], ["study", "s_"], ["provider", "p_"]]) {
    assert.deepEqual(keysOf(validateStep("who", draft({ kind }), NOW)), ["grant.error.idMissing"]);
    const wrong = validateStep("who", draft({ kind, [kind]: `x_${HEX}` }), NOW);
    assert.deepEqual(fieldsOf(wrong), [`grantee-${kind}`]);
    assert.equal(wrong[0].params.prefix, prefix);
    // Spaces around and capitals are forgiven: the id is trimmed and lowercased.
    assert.deepEqual(validateStep("who",
      draft({ kind, [kind]: ` ${prefix}${HEX.toUpperCase()} ` }), NOW), []);
  }
});

test("why: research needs a purpose, DS a disease term; providers need nothing", () => {
  const research = draft({ kind: "any-researcher" });
  assert.deepEqual(fieldsOf(validateStep("why", research, NOW)), ["purpose"]);
  assert.deepEqual(fieldsOf(validateStep("why", { ...research, purposes: ["DUO:0000043"] }, NOW)),
    ["purpose"]);
  assert.deepEqual(validateStep("why", { ...research, purposes: ["DUO:0000042"] }, NOW), []);
  assert.deepEqual(keysOf(validateStep("why", { ...research, purposes: ["DUO:0000007"] }, NOW)),
    ["grant.error.diseaseMissing"]);
  assert.deepEqual(keysOf(validateStep("why",
    { ...research, purposes: ["DUO:0000007"], disease: "diabetes" }, NOW)),
  ["grant.error.diseaseShape"]);
  assert.deepEqual(validateStep("why",
    { ...research, purposes: ["DUO:0000007"], disease: " MONDO:0005148 " }, NOW), []);
  assert.deepEqual(validateStep("why", draft({ kind: "any-provider" }), NOW), []);
});

test("data: at least one known category", () => {
  assert.deepEqual(fieldsOf(validateStep("data", draft({}), NOW)), ["category"]);
  assert.deepEqual(fieldsOf(validateStep("data", draft({ categories: ["dna"] }), NOW)),
    ["category"]);
  assert.deepEqual(validateStep("data", draft({ categories: ["imaging"] }), NOW), []);
});

test("period: optional dates, the end not before the start", () => {
  assert.deepEqual(validateStep("period", draft({}), NOW), []);
  assert.deepEqual(validateStep("period", draft({ periodStart: "2015-01-01" }), NOW), []);
  assert.deepEqual(validateStep("period",
    draft({ periodStart: "2015-01-01", periodEnd: "2015-01-01" }), NOW), []);
  assert.deepEqual(fieldsOf(validateStep("period",
    draft({ periodStart: "2015-01-02", periodEnd: "2015-01-01" }), NOW)), ["period-end"]);
  assert.deepEqual(fieldsOf(validateStep("period",
    draft({ periodStart: "2015-02-30", periodEnd: "15.1.2015" }), NOW)),
  ["period-start", "period-end"]);
});

test("expiry: optional, and a day after today", () => {
  assert.deepEqual(validateStep("expiry", draft({}), NOW), []);
  assert.deepEqual(validateStep("expiry", draft({ expires: "2026-12-06" }), NOW), []);
  assert.deepEqual(keysOf(validateStep("expiry", draft({ expires: "2026-12-05" }), NOW)),
    ["grant.error.dateNotFuture"]);
  assert.deepEqual(keysOf(validateStep("expiry", draft({ expires: "2020-01-01" }), NOW)),
    ["grant.error.dateNotFuture"]);
  assert.deepEqual(keysOf(validateStep("expiry", draft({ expires: "31/12/2027" }), NOW)),
    ["grant.error.dateShape"]);
});

test("conditions: each parameter checked; provider grants consider only TS", () => {
  const r = draft({ kind: "any-researcher" });
  assert.deepEqual(validateStep("conditions", { ...r, conditions: ["DUO:0000046"] }, NOW), []);
  assert.deepEqual(keysOf(validateStep("conditions", { ...r, conditions: ["DUO:0000022"] }, NOW)),
    ["grant.error.countriesMissing"]);
  const bad = validateStep("conditions",
    { ...r, conditions: ["DUO:0000022"], countries: "se, SWE" }, NOW);
  assert.deepEqual(keysOf(bad), ["grant.error.countryShape"]);
  assert.equal(bad[0].params.code, "SWE");
  assert.deepEqual(validateStep("conditions",
    { ...r, conditions: ["DUO:0000022"], countries: "se no,FI" }, NOW), []);
  assert.deepEqual(keysOf(validateStep("conditions", { ...r, conditions: ["DUO:0000025"] }, NOW)),
    ["grant.error.dateMissing"]);
  assert.deepEqual(fieldsOf(validateStep("conditions",
    { ...r, conditions: ["DUO:0000025"], tsUntil: "2026-12-01" }, NOW)), ["cond-ts-until"]);
  assert.deepEqual(validateStep("conditions",
    { ...r, conditions: ["DUO:0000024"] }, NOW), []);
  assert.deepEqual(fieldsOf(validateStep("conditions",
    { ...r, conditions: ["DUO:0000024"], morUntil: "soon" }, NOW)), ["cond-mor-until"]);
  assert.deepEqual(keysOf(validateStep("conditions",
    { ...r, conditions: ["DUO:0000026"], researchers: `r_${HEX}, s_${HEX}` }, NOW)),
  ["grant.error.idShape"]);
  assert.deepEqual(keysOf(validateStep("conditions", { ...r, conditions: ["DUO:0000027"] }, NOW)),
    ["grant.error.idsMissing"]);
  assert.deepEqual(keysOf(validateStep("conditions", { ...r, conditions: ["DUO:0000028"],
    institutions: " \n " }, NOW)), ["grant.error.institutionsMissing"]);
  const many = Array.from({ length: 65 }, (_, i) => `r_${HEX.slice(0, 30)}${String(i).padStart(2, "0")}`);
  assert.deepEqual(keysOf(validateStep("conditions",
    { ...r, conditions: ["DUO:0000026"], researchers: many.join(" ") }, NOW)),
  ["grant.error.tooMany"]);
  // A provider draft ignores research-only conditions left ticked.
  const p = draft({ kind: "any-provider", conditions: ["DUO:0000022", "DUO:0000025"],
    tsUntil: "2027-01-01" });
  assert.deepEqual(validateStep("conditions", p, NOW), []);
});

test("sensitive: a yes or no is required", () => {
  assert.deepEqual(fieldsOf(validateStep("sensitive", { ...emptyDraft() }, NOW)), ["sensitive"]);
  assert.deepEqual(validateStep("sensitive", draft({ includeSensitive: true }), NOW), []);
});

test("validateDraft names each problem's step", () => {
  assert.deepEqual(validateDraft(goodDraft(), NOW), []);
  const problems = validateDraft(goodDraft({ categories: [], expires: "2020-01-01" }), NOW);
  assert.deepEqual(problems.map((p) => p.step), ["data", "expiry"]);
});

test("buildGrant writes the JSON form of docs/CONSENT.md", () => {
  const grant = buildGrant(goodDraft({
    purposes: ["DUO:0000007", "DUO:0000006"], disease: " MONDO:0005148 ",
    conditions: ["DUO:0000022", "DUO:0000046", "DUO:0000025", "DUO:0000024", "DUO:0000028",
      "DUO:0000027"],
    countries: "se NO, se", tsUntil: "2027-06-30",
    institutions: "Uppsala University\n  Karolinska Institutet \n",
    studies: `S_${HEX.toUpperCase()}`,
    includeSensitive: true,
  }));
  assert.deepEqual(grant, {
    grantee: { kind: "any-researcher" },
    // In the order of the wizard, DS in its object form.
    purposes: ["DUO:0000006", { code: "DUO:0000007", disease: "MONDO:0005148" }],
    conditions: [
      { code: "DUO:0000046" },
      { code: "DUO:0000022", countries: ["SE", "NO"] },
      { code: "DUO:0000025", until: "2027-06-30" },
      { code: "DUO:0000027", studies: [`s_${HEX}`] },
      { code: "DUO:0000028", institutions: ["Uppsala University", "Karolinska Institutet"] },
      { code: "DUO:0000024" },
    ],
    categories: ["lab-results", "vital-signs"],
    data_period: { start: "2015-01-01", end: null },
    expires: "2027-12-31T00:00:00Z",
    include_sensitive: true,
  });
});

test("buildGrant: unbounded period and expiry are null; grantee members by kind", () => {
  const g = buildGrant(goodDraft({ periodStart: "", expires: "", conditions: [],
    kind: "organization", name: "  Uppsala University " }));
  assert.equal(g.data_period, null);
  assert.equal(g.expires, null);
  assert.deepEqual(g.conditions, []);
  assert.deepEqual(g.grantee, { kind: "organization", name: "Uppsala University" });
  assert.equal(g.include_sensitive, false);
  assert.deepEqual(buildGrant(goodDraft({ kind: "researcher", researcher: `R_${HEX}` })).grantee,
    { kind: "researcher", id: `r_${HEX}` });
  assert.deepEqual(buildGrant(goodDraft({ periodStart: "", periodEnd: "2020-12-31" })).data_period,
    { start: null, end: "2020-12-31" });
});

test("buildGrant: provider grants take exactly CC and only TS", () => {
  const g = buildGrant(goodDraft({ kind: "provider", provider: `p_${HEX}`,
    purposes: ["DUO:0000006"], conditions: ["DUO:0000046", "DUO:0000025"], tsUntil: "2027-01-01" }));
  assert.deepEqual(g.grantee, { kind: "provider", id: `p_${HEX}` });
  assert.deepEqual(g.purposes, ["DUO:0000043"]);
  assert.deepEqual(g.conditions, [{ code: "DUO:0000025", until: "2027-01-01" }]);
});

test("privacy budget: optional ε from 0 to 100, at most 6 decimals, research grants only", () => {
  for (const [text, value] of [["0.5", 0.5], ["0,5", 0.5], [" 2 ", 2], ["0", 0], ["100", 100],
    ["0.000001", 0.000001], ["99.999999", 99.999999], ["007", 7]]) {
    assert.equal(parsePrivacyBudget(text), value, text);
  }
  for (const text of ["", " ", "-1", "+1", "101", "100.5", "0.1234567", "1e-7", ".5", "5.",
    "abc", "?", "0.5.1", null, undefined]) {
    assert.ok(Number.isNaN(parsePrivacyBudget(text)), String(text));
  }

  const r = goodDraft();
  assert.deepEqual(validateStep("conditions", { ...r, privacyBudget: "0.5" }, NOW), []);
  assert.deepEqual(validateStep("conditions", { ...r, privacyBudget: "  " }, NOW), []);
  for (const bad of ["101", "-1", "0.1234567", "?"]) {
    const errors = validateStep("conditions", { ...r, privacyBudget: bad }, NOW);
    assert.deepEqual(fieldsOf(errors), ["privacy-budget"], bad);
    assert.deepEqual(keysOf(errors), ["grant.error.privacyBudgetShape"], bad);
  }
  const p = draft({ kind: "any-provider", privacyBudget: "abc" });
  assert.deepEqual(validateStep("conditions", p, NOW), [], "hidden for providers, so ignored");

  // Sent only when filled in, as a JSON number.
  assert.ok(!("privacy_budget" in buildGrant(goodDraft())));
  assert.equal(buildGrant(goodDraft({ privacyBudget: "0,25" })).privacy_budget, 0.25);
  assert.equal(buildGrant(goodDraft({ privacyBudget: "0" })).privacy_budget, 0);
  assert.match(JSON.stringify(buildGrant(goodDraft({ privacyBudget: "0.000001" }))),
    /"privacy_budget":0\.000001}$/);
  assert.ok(!("privacy_budget" in buildGrant(goodDraft({ kind: "any-provider",
    privacyBudget: "0.5" }))));

  // In words, in the review and the list of grants.
  const g = { include_sensitive: false, exclude: [] };
  assert.equal(grantDetails({ ...g, privacy_budget: 0.5 }),
    "Sensitive records are left out. One study may use at most ε 0.5 of your privacy for " +
    "statistics.");
  assert.equal(grantDetails({ ...g, privacy_budget: 0.000001 }),
    "Sensitive records are left out. One study may use at most ε 0.000001 of your privacy " +
    "for statistics.");
  assert.equal(grantDetails({ ...g, privacy_budget: 0 }),
    "Sensitive records are left out. No statistics may be made from your data through this " +
    "permission.");
  assert.equal(grantDetails({ ...g, privacy_budget: null }), "Sensitive records are left out.");
});

test("grantStatus and sortGrants: active first, newest first within", () => {
  const a = { id: "a", status: "active", created: "2026-01-01T00:00:00Z", expires: null };
  const b = { id: "b", status: "active", created: "2026-03-01T00:00:00Z",
    expires: "2026-12-05T12:00:00Z" };
  const c = { id: "c", status: "revoked", created: "2026-06-01T00:00:00Z",
    revoked: "2026-07-01T00:00:00Z", expires: null };
  const d = { id: "d", status: "active", created: "2026-02-01T00:00:00Z",
    expires: "2027-01-01T00:00:00Z" };
  assert.equal(grantStatus(a, NOW), "active");
  assert.equal(grantStatus(b, NOW), "expired"); // expires == now: no longer counts
  assert.equal(grantStatus(c, NOW), "revoked");
  assert.equal(grantStatus({ ...a, revoked: "2026-07-01T00:00:00Z" }, NOW), "revoked");
  assert.deepEqual(sortGrants([a, b, c, d], NOW).map((g) => g.id), ["d", "a", "b", "c"]);
});

test("grantSentence says a grant in words", () => {
  const stored = {
    id: `g_${HEX}`, status: "active", created: "2026-12-01T10:00:00Z",
    grantee: { kind: "any-researcher" },
    purposes: ["DUO:0000006"],
    conditions: [{ code: "DUO:0000046" }],
    categories: ["lab-results", "vital-signs"],
    data_period: { start: "2015-01-01", end: null },
    expires: "2027-12-31T00:00:00Z",
    include_sensitive: false,
    exclude: [],
  };
  assert.equal(grantSentence(stored),
    "Any researcher, for health or medical research, may use your lab results and vital " +
    "signs and measurements from 1 Jan 2015 until 31 Dec 2027; not for commercial use.");
  assert.equal(grantDetails(stored), "Sensitive records are left out.");

  const provider = {
    grantee: { kind: "provider", id: `p_${HEX}` }, purposes: ["DUO:0000043"],
    conditions: [{ code: "DUO:0000025", until: "2027-06-30T00:00:00Z" }],
    categories: ["patient-summary"], data_period: { start: null, end: "2020-12-31" },
    expires: null, include_sensitive: true, exclude: [{ record: "Observation/x" }],
  };
  assert.equal(grantSentence(provider),
    `Care provider p_${HEX}, for your care, may use your health summary up to 31 Dec 2020, ` +
    "with no end date; use ends on 30 Jun 2027.");
  assert.equal(grantDetails(provider),
    "Sensitive records are included. Some records are left out (1 exclusions).");

  const ds = {
    grantee: { kind: "organization", name: "Uppsala University" },
    purposes: [{ code: "DUO:0000007", disease: "MONDO:0005148" }, "DUO:0000011"],
    conditions: [{ code: "DUO:0000022", countries: ["SE", "NO"] }, { code: "DUO:0000024" }],
    categories: ["imaging"], data_period: { start: "2015-01-01", end: "2020-12-31" },
    expires: null,
  };
  assert.equal(grantSentence(ds),
    "Researchers at Uppsala University, for research on the disease MONDO:0005148 and research " +
    "on population origins and ancestry, may use your imaging from 1 Jan 2015 to 31 Dec 2020, " +
    "with no end date; only by researchers in Sweden and Norway; the study must accept a " +
    "publication moratorium.");
});

test("formatWhen: days stay days in every time zone; other instants keep their time", () => {
  assert.equal(formatWhen("2027-12-31"), "31 Dec 2027");
  assert.equal(formatWhen("2027-12-31T00:00:00Z"), "31 Dec 2027");
  assert.match(formatWhen("2027-06-15T12:00:00Z"), /2027/);
  assert.notEqual(formatWhen("2027-06-15T12:00:00Z"), "15 Jun 2027");
});

function fakeApi(current, { failGet, failPut } = {}) {
  const calls = [];
  return {
    calls,
    async get(path) {
      calls.push(["GET", path]);
      if (failGet) throw failGet;
      return current;
    },
    async put(path, body) {
      calls.push(["PUT", path, body]);
      if (failPut) throw failPut;
      return body;
    },
  };
}

test("updateRestrictions reads the set in force and replaces it whole", async () => {
  const api = fakeApi({ categories: ["imaging"], records: ["Observation/a"] });
  const now = await updateRestrictions(api,
    (r) => ({ categories: r.categories, records: [...r.records, "Condition/b"] }));
  assert.deepEqual(now, { categories: ["imaging"], records: ["Observation/a", "Condition/b"] });
  assert.deepEqual(api.calls, [
    ["GET", "/v1/me/restrictions"],
    ["PUT", "/v1/me/restrictions", now],
  ]);
  // A malformed answer counts as nothing restricted, never as a crash.
  const empty = fakeApi({});
  assert.deepEqual(await updateRestrictions(empty, (r) => r), { categories: [], records: [] });
});

test("updateRestrictions: a failed read writes nothing; a failed write is thrown", async () => {
  const boom = new Error("read failed");
  const api = fakeApi(null, { failGet: boom });
  await assert.rejects(updateRestrictions(api, (r) => r), boom);
  assert.deepEqual(api.calls, [["GET", "/v1/me/restrictions"]]);
  const refused = new Error("400");
  const api2 = fakeApi({ categories: [], records: [] }, { failPut: refused });
  await assert.rejects(updateRestrictions(api2, (r) => r), refused);
});
