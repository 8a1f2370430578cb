// Cedar (cedar-wasm in Node) deciding what tillit's BM_DecideResearch/10
// decides (bench/consent_bench.cc): one research request against a
// citizen's ten varied grants, two of which permit.
//
//   node cedar_bench.mjs [--seconds S] [--repetitions R] [--json FILE]
//   node cedar_bench.mjs --check   (print the policies, check, time nothing)
//
// Each grant of ResearchGrants() is one Cedar permit policy, its clauses
// in tillit's order (revoked, expired, grantee, purpose, conditions,
// categories); the citizen's research opt-out is a forbid policy. The
// researcher, the study and the citizen are entities; "now" is in the
// context. Two ways of calling cedar-wasm are timed, single-threaded, each
// after a warm-up, over R repetitions of S seconds (median reported):
//   stateful   statefulIsAuthorized: the policy set parsed once
//              (preparsePolicySet); entities and context passed per call
//   stateless  isAuthorized: the policy text passed and parsed per call
// Before timing, the answer is checked: allow, with exactly g_3 and g_5
// as the determining policies and no errors (tillit's d.permitting).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import * as cedar from '@cedar-policy/cedar-wasm/nodejs';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '2' },
    repetitions: { type: 'string', default: '5' },
    json: { type: 'string' },
    check: { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const repetitions = Number(args.repetitions);
if (!(seconds > 0) || !Number.isInteger(repetitions) || repetitions < 1) {
  console.error('cedar_bench.mjs: --seconds > 0, --repetitions >= 1');
  process.exit(2);
}

// consent_bench.cc's constants and ids (Id(prefix, n): 32 hex digits).
const kNow = 1767225600; // 2026-01-01T00:00:00Z
const day = 86400;
const id = (prefix, n) => prefix + n.toString(16).padStart(32, '0');
const researcher = id('r_', 1);
const study = id('s_', 1);
const citizen = id('c_', 1);
const expires = kNow + day * 365; // Base(): every grant unless said

// Purposes a grant purpose serves (DUOS v3, engine.cc's kServedBy): a
// GRU grant serves GRU, HMB, DS and POA studies; HMB serves HMB and DS;
// POA serves POA; DS-X serves DS studies of disease X only.
const serves = {
  GRU: '["GRU", "HMB", "DS", "POA"].contains(context.study.purpose)',
  HMB: '["HMB", "DS"].contains(context.study.purpose)',
  POA: '["POA"].contains(context.study.purpose)',
  DS: (disease) =>
    `(context.study.purpose == "DS" && context.study.disease == "${disease}")`,
};
// A Cedar set literal of strings.
const cedarSet = (list) => JSON.stringify(list).replaceAll(',', ', ');
// Conditions (engine.cc's ResearchConditionHolds).
const commercialOrg = 'principal.orgType == "commercial"';
const holds = {
  NPU: `!(${commercialOrg})`,
  NCU: `!(context.study.commercialUse || ${commercialOrg})`,
  IRB: 'context.study.ethicsApproval != ""',
  GS: (countries) => `${cedarSet(countries)}.contains(principal.country)`,
  TS: (until) => `context.now < ${until}`,
  PUB: 'context.study.obligations.contains("PUB")',
};
const categories = (list) =>
  `context.study.categories.containsAny(${cedarSet(list)})`;

// One grant as a policy: scope (grantee kind, action, this citizen), then
// a when clause with tillit's clauses in order.
function grant(g, options) {
  const { principal = 'principal is Researcher', action = 'research' } =
    options;
  const all = [`!resource.revokedGrants.contains("${g}")`, ...options.clauses];
  return (
    `permit (\n  ${principal},\n  action == Action::"${action}",\n` +
    `  resource == Citizen::"${citizen}"\n) when {\n  ` +
    all.join(' &&\n  ') +
    '\n};'
  );
}

// bench/consent_bench.cc's ResearchGrants(), in order.
const policies = {
  // any researcher, HMB, lab results; revoked
  g_0: grant('g_0', {
    clauses: [
      `context.now < ${expires}`,
      serves.HMB,
      categories(['lab-results']),
    ],
  }),
  // any researcher, GRU, lab results and vital signs; expired
  g_1: grant('g_1', {
    clauses: [
      `context.now < ${kNow - 1}`,
      serves.GRU,
      categories(['lab-results', 'vital-signs']),
    ],
  }),
  // another researcher
  g_2: grant('g_2', {
    principal: `principal == Researcher::"${id('r_', 99)}"`,
    clauses: [
      `context.now < ${expires}`,
      serves.GRU,
      categories(['lab-results']),
    ],
  }),
  // this study, GRU, NCU and IRB: permits
  g_3: grant('g_3', {
    clauses: [
      `context.now < ${expires}`,
      `context.study == Study::"${study}"`,
      serves.GRU,
      holds.NCU,
      holds.IRB,
      categories(['lab-results', 'patient-summary']),
    ],
  }),
  // the researcher's organisation, but POA does not serve HMB
  g_4: grant('g_4', {
    clauses: [
      `context.now < ${expires}`,
      'principal.organization == "Karolinska Institutet"',
      serves.POA,
      categories(['lab-results']),
    ],
  }),
  // any researcher, HMB or DS-MONDO:0005148, NPU, GS (NO FI SE), TS, PUB:
  // permits
  g_5: grant('g_5', {
    clauses: [
      `context.now < ${expires}`,
      `(${serves.HMB} || ${serves.DS('MONDO:0005148')})`,
      holds.NPU,
      holds.GS(['NO', 'FI', 'SE']),
      holds.TS(kNow + day * 90),
      holds.PUB,
      categories(['vital-signs', 'lab-results']),
    ],
  }),
  // DS of another disease
  g_6: grant('g_6', {
    clauses: [
      `context.now < ${expires}`,
      serves.DS('MONDO:0004975'),
      categories(['lab-results']),
    ],
  }),
  // HMB, IRB, GS (DE FR): GS fails
  g_7: grant('g_7', {
    clauses: [
      `context.now < ${expires}`,
      serves.HMB,
      holds.IRB,
      holds.GS(['DE', 'FR']),
      categories(['lab-results']),
    ],
  }),
  // a care grant to any provider: another grantee kind and action
  g_8: grant('g_8', {
    principal: 'principal is Provider',
    action: 'care',
    clauses: [`context.now < ${expires}`, categories(['lab-results'])],
  }),
  // GRU, imaging: no category in common
  g_9: grant('g_9', {
    clauses: [
      `context.now < ${expires}`,
      serves.GRU,
      categories(['imaging']),
    ],
  }),
  // the citizen's research opt-out denies everything
  opt_out:
    'forbid (principal, action == Action::"research", resource)\n' +
    'when { resource.researchOptOut };',
};

const entity = (type, eid) => ({ __entity: { type, id: eid } });
const entities = [
  {
    uid: { type: 'Researcher', id: researcher },
    attrs: {
      orgType: 'academic',
      country: 'SE',
      organization: 'Karolinska Institutet',
    },
    parents: [],
  },
  {
    uid: { type: 'Study', id: study },
    attrs: {
      researcher: entity('Researcher', researcher),
      purpose: 'HMB',
      disease: '',
      categories: ['lab-results', 'vital-signs'],
      dataPeriodStart: 1420070400, // 2015-01-01
      ethicsApproval: 'EPN 2025-01234',
      obligations: ['PUB'],
      commercialUse: false,
      genetic: false,
    },
    parents: [],
  },
  {
    uid: { type: 'Citizen', id: citizen },
    attrs: { researchOptOut: false, revokedGrants: ['g_0'] },
    parents: [],
  },
];
const request = {
  principal: { type: 'Researcher', id: researcher },
  action: { type: 'Action', id: 'research' },
  resource: { type: 'Citizen', id: citizen },
  context: { study: entity('Study', study), now: kNow },
  entities,
};
const statelessCall = { ...request, policies: { staticPolicies: policies } };
const statefulCall = { ...request, preparsedPolicySetId: 'citizen' };

const parsed = cedar.preparsePolicySet('citizen', { staticPolicies: policies });
if (parsed.type !== 'success') {
  console.error(JSON.stringify(parsed.errors, null, 2));
  process.exit(1);
}

function check(name, answer) {
  const ok =
    answer.type === 'success' &&
    answer.response.decision === 'allow' &&
    answer.response.diagnostics.errors.length === 0 &&
    JSON.stringify([...answer.response.diagnostics.reason].sort()) ===
      JSON.stringify(['g_3', 'g_5']);
  if (!ok) {
    console.error(`cedar_bench.mjs: ${name}: not the expected answer:`);
    console.error(JSON.stringify(answer, null, 2));
    process.exit(1);
  }
}
check('stateful', cedar.statefulIsAuthorized(statefulCall));
check('stateless', cedar.isAuthorized(statelessCall));
if (args.check) {
  for (const [name, text] of Object.entries(policies)) {
    console.log(`// ${name}\n${text}\n`);
  }
  const answer = cedar.statefulIsAuthorized(statefulCall);
  console.log(JSON.stringify(answer.response));
  process.exit(0);
}

// Decisions per second over `secs` seconds; the clock is read every 256
// calls. Every answer is looked at, so no call can be skipped.
function rate(decide, call, secs) {
  const budget = BigInt(Math.round(secs * 1e9));
  const start = process.hrtime.bigint();
  let n = 0;
  let allowed = 0;
  for (;;) {
    for (let i = 0; i < 256; ++i) {
      const a = decide(call);
      if (a.type === 'success' && a.response.decision === 'allow') ++allowed;
    }
    n += 256;
    const elapsed = process.hrtime.bigint() - start;
    if (elapsed >= budget) {
      if (allowed !== n) {
        console.error('cedar_bench.mjs: a decision was not allow');
        process.exit(1);
      }
      return n / (Number(elapsed) / 1e9);
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const result = {
  cedar: cedar.getCedarVersion(),
  policies: Object.keys(policies).length,
  seconds,
  repetitions,
};
console.log(
  `cedar ${result.cedar} (cedar-wasm, Node ${process.version}): ` +
    `${result.policies} policies, ${repetitions} x ${seconds} s after a ` +
    'warm-up, single-threaded',
);
console.log(
  `${'mode'.padEnd(10)} ${'median/s'.padStart(10)} ${'min/s'.padStart(10)} ` +
    `${'max/s'.padStart(10)} ${'us/decision'.padStart(12)}`,
);
for (const [mode, decide, call] of [
  ['stateful', cedar.statefulIsAuthorized, statefulCall],
  ['stateless', cedar.isAuthorized, statelessCall],
]) {
  rate(decide, call, Math.min(seconds, 1)); // warm-up: JIT, allocator
  const runs = [];
  for (let r = 0; r < repetitions; ++r) runs.push(rate(decide, call, seconds));
  const m = median(runs);
  result[mode] = { median: m, runs };
  console.log(
    `${mode.padEnd(10)} ${m.toFixed(0).padStart(10)} ` +
      `${Math.min(...runs).toFixed(0).padStart(10)} ` +
      `${Math.max(...runs).toFixed(0).padStart(10)} ` +
      `${(1e6 / m).toFixed(2).padStart(12)}`,
  );
}
if (args.json) writeFileSync(args.json, JSON.stringify(result) + '\n');
