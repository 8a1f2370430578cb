// Seeds a Community Solid Server with FHIR Observations for run.sh and
// writes the paths http_bench --target GETs.
//
//   node seed.mjs --base http://127.0.0.1:PORT --resources N --paths FILE
//                 [--wait SECONDS] [--pid PID]
//
// Waits for the server to answer (giving up early if process PID ends),
// PUTs N Observations (about 1.1 KB of JSON each, deterministic, as
// application/json, the type tillit answers records with) at
// /patients/c-NNNN/Observation/obs-NNNN.json, ten to a patient container,
// GETs each back and compares the bytes, and writes the paths in a
// shuffled (seeded) order, one a line. Prints one line: how many and their
// mean size. Exits non-zero on any failure.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string' },
    resources: { type: 'string', default: '200' },
    paths: { type: 'string' },
    wait: { type: 'string', default: '180' },
    pid: { type: 'string' },
  },
});
if (!args.base || !args.paths) {
  console.error('usage: node seed.mjs --base URL --resources N --paths FILE');
  process.exit(2);
}
const base = args.base.replace(/\/$/, '');
const count = Number(args.resources);
if (!Number.isInteger(count) || count < 1 || count > 100000) {
  console.error('seed.mjs: --resources takes 1..100000');
  process.exit(2);
}

// A small deterministic generator (mulberry32), so every run seeds the
// same bytes.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(2026);
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const hex = (n, width) => n.toString(16).padStart(width, '0');
const uuid = () =>
  [8, 4, 4, 4, 12]
    .map((w) =>
      Array.from({ length: w }, () => hex(between(0, 15), 1)).join(''),
    )
    .join('-');
const pad = (n) => String(n).padStart(4, '0');

// A blood-pressure panel, as tillit's synthetic generator writes them
// (fhir/src/synthetic_resources.cc), with an identifier and meta: ~1 KB.
function observation(patient, i) {
  const systolic = between(104, 150);
  const diastolic = systolic - between(35, 55);
  const day = 1 + (i % 28);
  const when = `2025-${pad((i % 12) + 1).slice(2)}-${pad(day).slice(2)}`;
  const loinc = (code, display) => ({
    coding: [{ system: 'http://loinc.org', code, display }],
  });
  const mmHg = (value) => ({
    value,
    unit: 'mm[Hg]',
    system: 'http://unitsofmeasure.org',
    code: 'mm[Hg]',
  });
  return {
    resourceType: 'Observation',
    id: `obs-${pad(i)}`,
    meta: { lastUpdated: `${when}T08:10:00+01:00` },
    identifier: [{ system: 'urn:ietf:rfc:3986', value: `urn:uuid:${uuid()}` }],
    status: 'final',
    category: [
      {
        coding: [
          {
            system:
              'http://terminology.hl7.org/CodeSystem/observation-category',
            code: 'vital-signs',
            display: 'Vital signs',
          },
        ],
      },
    ],
    code: loinc('85354-9', 'Blood pressure panel with all children optional'),
    subject: { reference: `Patient/${patient}` },
    encounter: { reference: `Encounter/${uuid()}` },
    effectiveDateTime: `${when}T08:00:00+01:00`,
    issued: `${when}T08:10:00+01:00`,
    component: [
      {
        code: loinc('8480-6', 'Systolic blood pressure'),
        valueQuantity: mmHg(systolic),
      },
      {
        code: loinc('8462-4', 'Diastolic blood pressure'),
        valueQuantity: mmHg(diastolic),
      },
    ],
  };
}

async function waitForServer(seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    try {
      const r = await fetch(`${base}/`, { method: 'HEAD' });
      if (r.status < 500) return;
    } catch {
      // not listening yet
    }
    if (args.pid) {
      try {
        process.kill(Number(args.pid), 0);
      } catch {
        throw new Error(`the server (pid ${args.pid}) has exited`);
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`${base} did not answer within ${seconds} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

await waitForServer(Number(args.wait));
const paths = [];
let bytes = 0;
for (let i = 0; i < count; ++i) {
  const patient = `c-${pad(Math.floor(i / 10))}`;
  const path = `/patients/${patient}/Observation/obs-${pad(i)}.json`;
  const body = JSON.stringify(observation(patient, i));
  const put = await fetch(base + path, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await put.arrayBuffer();
  if (put.status !== 201 && put.status !== 205 && put.status !== 204) {
    throw new Error(`PUT ${path}: ${put.status}`);
  }
  const get = await fetch(base + path);
  const back = await get.text();
  if (get.status !== 200 || back !== body) {
    throw new Error(`GET ${path}: ${get.status}, not the bytes put`);
  }
  paths.push(path);
  bytes += Buffer.byteLength(body);
}
// Shuffled (Fisher-Yates, seeded), so consecutive requests go to
// different patients' containers, as tillit's read-one picks at random.
for (let i = paths.length - 1; i > 0; --i) {
  const j = Math.floor(random() * (i + 1));
  [paths[i], paths[j]] = [paths[j], paths[i]];
}
writeFileSync(args.paths, paths.join('\n') + '\n');
console.log(
  `seeded ${count} Observations, mean ${Math.round(bytes / count)} bytes`,
);
