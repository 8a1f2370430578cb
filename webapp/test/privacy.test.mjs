// Unit tests of js/privacy.js (node --test webapp/test/): the privacy
// budget of GET /v1/me/privacy-budget as the sharing page shows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MIN_QUERY_EPSILON, budgetStudies, defaultCap, formatEpsilon, studyUsage,
} from '../static/js/privacy.js';

// The example answer of the API.
const EXAMPLE = {
  default_cap: 1,
  studies: [{
    study_id: 's_0123456789abcdef0123456789abcdef', title: 'Diabetes outcomes',
    researcher: 'r_0123456789abcdef0123456789abcdef', organization: 'Acme Health AB',
    spent: 0.3, cap: 1, remaining: 0.7,
    queries: [{ id: 'agg_1', time: '2026-12-05T10:00:00Z', epsilon: 0.1,
      description: 'number of citizens by age band and sex (epsilon 0.1)' }],
  }],
};

test('a study with room left is open, its meter spent of cap', () => {
  assert.deepEqual(studyUsage(EXAMPLE.studies[0]), {
    spent: 0.3, cap: 1, remaining: 0.7, meter: { max: 1, value: 0.3 }, state: 'open',
  });
});

test('a study with less left than the smallest question is full', () => {
  const u = studyUsage({ spent: 0.995, cap: 1, remaining: 0.005 });
  assert.equal(u.state, 'full');
  assert.deepEqual(u.meter, { max: 1, value: 0.995 });
  // Exactly the smallest question still fits.
  assert.equal(studyUsage({ spent: 0.99, cap: 1, remaining: MIN_QUERY_EPSILON }).state, 'open');
  assert.equal(studyUsage({ spent: 1, cap: 1, remaining: 0 }).state, 'full');
});

test('spent beyond a lowered cap fills the meter and leaves no room', () => {
  const u = studyUsage({ spent: 1.5, cap: 1, remaining: 0 });
  assert.deepEqual(u, { spent: 1.5, cap: 1, remaining: 0, meter: { max: 1, value: 1 }, state: 'full' });
});

test('a cap of zero is full and has no meter', () => {
  assert.deepEqual(studyUsage({ spent: 0, cap: 0, remaining: 0 }),
    { spent: 0, cap: 0, remaining: 0, meter: null, state: 'full' });
});

test('a null cap: the grants no longer let the study in', () => {
  assert.deepEqual(studyUsage({ spent: 0.4, cap: null, remaining: 0 }),
    { spent: 0.4, cap: null, remaining: 0, meter: null, state: 'closed' });
  assert.equal(studyUsage({ spent: 0.4 }).state, 'closed');
});

test('malformed numbers never show as room', () => {
  const u = studyUsage({ spent: 'x', cap: 1, remaining: '0.9' });
  assert.equal(u.spent, 0);
  assert.equal(u.remaining, 0);
  assert.equal(u.state, 'full');
  // Remaining is never more than the cap, and never negative.
  assert.equal(studyUsage({ spent: 0, cap: 1, remaining: 5 }).remaining, 1);
  assert.equal(studyUsage({ spent: 2, cap: 1, remaining: -1 }).remaining, 0);
  assert.equal(studyUsage({ spent: NaN, cap: Infinity, remaining: 1 }).cap, 0);
});

test('studies are ordered by their newest question, questions newest first', () => {
  const body = {
    studies: [
      { study_id: 's_a', title: 'Older', queries: [{ id: 'q1', time: '2026-01-01T00:00:00Z' }] },
      { study_id: 's_b', title: 'Newer', queries: [
        { id: 'q2', time: '2026-02-01T00:00:00Z', epsilon: 0.1, description: 'first' },
        { id: 'q3', time: '2026-03-01T00:00:00Z', epsilon: 0.2, description: 'second' },
      ] },
      { study_id: 's_c', title: 'B no questions', queries: [] },
      { study_id: 's_d', title: 'A no questions' },
    ],
  };
  const out = budgetStudies(body);
  assert.deepEqual(out.map((s) => s.study_id), ['s_b', 's_a', 's_d', 's_c']);
  assert.deepEqual(out[0].queries.map((q) => q.id), ['q3', 'q2']);
  assert.deepEqual(out[3].queries, []);
  // The answer itself is left as it was.
  assert.deepEqual(body.studies[1].queries.map((q) => q.id), ['q2', 'q3']);
});

test('a question with a time that is not a date sorts last', () => {
  const out = budgetStudies({ studies: [{ study_id: 's_a', queries: [
    { id: 'bad', time: 'yesterday' }, { id: 'good', time: '2026-01-01T00:00:00Z' }] }] });
  assert.deepEqual(out[0].queries.map((q) => q.id), ['good', 'bad']);
});

test('malformed entries are dropped, missing words fall back to ids', () => {
  const out = budgetStudies({ studies: [
    null, 7, { title: 'no id' }, { study_id: '' },
    { study_id: 's_x', queries: [null, { time: '2026-01-01T00:00:00Z' },
      { id: 'agg_2', time: '2026-01-01T00:00:00Z', epsilon: -1 }] },
  ] });
  assert.equal(out.length, 1);
  assert.equal(out[0].title, 's_x');
  assert.deepEqual(out[0].queries,
    [{ id: 'agg_2', time: '2026-01-01T00:00:00Z', epsilon: 0, description: 'agg_2' }]);
  assert.deepEqual(budgetStudies(null), []);
  assert.deepEqual(budgetStudies({ studies: 'no' }), []);
});

test('the example answer keeps its fields', () => {
  const [s] = budgetStudies(EXAMPLE);
  assert.equal(s.title, 'Diabetes outcomes');
  assert.equal(s.organization, 'Acme Health AB');
  assert.deepEqual(s.queries, EXAMPLE.studies[0].queries);
});

test('the default cap, or null when the answer has none', () => {
  assert.equal(defaultCap(EXAMPLE), 1);
  assert.equal(defaultCap({ default_cap: 0.5 }), 0.5);
  assert.equal(defaultCap({}), null);
  assert.equal(defaultCap({ default_cap: '1' }), null);
  assert.equal(defaultCap(null), null);
});

test('ε is written to millionths, no float noise', () => {
  assert.equal(formatEpsilon(0.3), '0.3');
  assert.equal(formatEpsilon(0.1 + 0.2), '0.3');
  assert.equal(formatEpsilon(1), '1');
  assert.equal(formatEpsilon(0.000001), '0.000001');
});
