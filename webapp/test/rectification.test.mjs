// Unit tests of js/rectification.js (node --test webapp/test/): the
// reason's byte limit, the requests list and the earlier versions as the
// record page shows them, which message a refusal gets; and the reading
// form's inverse (views/add.js readingOf), which fills in Edit.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  MAX_REASON_BYTES, actor, askErrorKey, byteLength, checkReason, historyVersions, pendingFor,
  rectificationOf, requestLines, requestList, requestsFor, sourceWords, splitRef, versionLines,
} from '../static/js/rectification.js';
import { observation, readingOf } from '../static/js/views/add.js';
import { ApiError } from '../static/js/api.js';

const T0 = Date.UTC(2026, 11, 5, 12, 0, 0) / 1000; // 5 Dec 2026, 12:00 UTC, in seconds

test('the reason: trimmed, required, at most 1000 UTF-8 bytes', () => {
  assert.equal(MAX_REASON_BYTES, 1000);
  assert.equal(byteLength('abc'), 3);
  assert.equal(byteLength('åäö'), 6);
  assert.equal(byteLength('🙂'), 4);
  assert.deepEqual(checkReason('  wrong weight \n'), { reason: 'wrong weight', bytes: 12, error: null });
  assert.equal(checkReason('').error, 'fix.reasonMissing');
  assert.equal(checkReason(' \n\t ').error, 'fix.reasonMissing');
  assert.equal(checkReason(undefined).error, 'fix.reasonMissing');
  assert.equal(checkReason('a'.repeat(1000)).error, null);
  assert.equal(checkReason('a'.repeat(1001)).error, 'fix.reasonTooLong');
  // 500 letters å are 1000 bytes; one more letter is one byte too many,
  // though only 501 characters.
  assert.equal(checkReason('å'.repeat(500)).error, null);
  const over = checkReason(`${'å'.repeat(500)}a`);
  assert.equal(over.error, 'fix.reasonTooLong');
  assert.equal(over.bytes, 1001);
});

test('a reference splits at the first slash', () => {
  assert.deepEqual(splitRef('Observation/obs-1'), ['Observation', 'obs-1']);
  assert.deepEqual(splitRef('Observation'), ['Observation', '']);
  assert.deepEqual(splitRef(undefined), ['', '']);
});

test('requests: well formed, newest first, per record, the pending one', () => {
  const body = { requests: [
    { id: 'rr_1', status: 'accepted', citizen: 'c_1', record: 'Observation/a', reason: 'wrong',
      provider: 'p_1', created_at: T0, decided_at: T0 + 60, decision_reason: 'fixed' },
    { id: 'rr_3', status: 'pending', record: 'Observation/a', reason: 'still wrong',
      provider: 'p_1', created_at: T0 + 120 },
    { id: 'rr_2', status: 'declined', record: 'Condition/b', reason: 'no', provider: 'p_2',
      created_at: T0 + 30, decided_at: T0 + 90, decision_reason: 'it is right' },
    { id: 'rr_x', status: 'weird', record: 'Observation/a', created_at: T0 },
    { id: '', status: 'pending', record: 'Observation/a', created_at: T0 },
    { id: 'rr_y', status: 'pending', record: 'no-slash', created_at: T0 },
    null,
  ] };
  const list = requestList(body);
  assert.deepEqual(list.map((r) => r.id), ['rr_3', 'rr_2', 'rr_1']);
  assert.deepEqual(list[2], { id: 'rr_1', status: 'accepted', record: 'Observation/a',
    reason: 'wrong', provider: 'p_1', createdAt: T0, decidedAt: T0 + 60, decisionReason: 'fixed' });
  assert.equal(list[0].decidedAt, null);
  assert.equal(list[0].decisionReason, '');
  assert.deepEqual(requestsFor(list, 'Observation/a').map((r) => r.id), ['rr_3', 'rr_1']);
  assert.equal(pendingFor(list, 'Observation/a').id, 'rr_3');
  assert.equal(pendingFor(list, 'Condition/b'), null);
  assert.deepEqual(requestList({}), []);
  assert.deepEqual(requestList(null), []);
  assert.deepEqual(body.requests[0].created_at, T0, 'the answer is not changed');
});

test('a request in words: asked, to whom, the answer and its reason', () => {
  const [pending, declined, accepted] = requestList({ requests: [
    { id: 'rr_3', status: 'pending', record: 'Observation/a', provider: 'p_1', created_at: T0 + 120 },
    { id: 'rr_2', status: 'declined', record: 'Condition/b', provider: 'p_2', created_at: T0 + 60,
      decided_at: T0 + 90, decision_reason: 'It is right.' },
    { id: 'rr_1', status: 'accepted', record: 'Observation/a', provider: 'p_1', created_at: T0,
      decided_at: T0 + 60 },
  ] });
  const p = requestLines(pending);
  assert.equal(p.length, 2);
  assert.match(p[0], /^Asked on .*2026/);
  assert.equal(p[1], 'Sent to care provider p_1.');
  const d = requestLines(declined);
  assert.match(d[2], /^Declined on .*2026/);
  assert.equal(d[3], 'The care provider’s answer: It is right.');
  const a = requestLines(accepted);
  assert.match(a[2], /^Accepted on .*2026/);
  assert.equal(a[3], 'The record was corrected; its earlier version is kept with it.');
  assert.equal(a.length, 4, 'no answer line without a reason');
  // A pending request's reason from the provider, if any, is not shown.
  assert.equal(requestLines({ ...pending, decisionReason: 'x' }).length, 2);
});

test('a refused request gets the sentence for its cause', () => {
  const err = (status) => new ApiError(status, status === 409 ? 'conflict' : 'x', '', 'req-1');
  assert.equal(askErrorKey(err(400)), 'fix.error.reason');
  assert.equal(askErrorKey(err(404)), 'fix.error.notFound');
  assert.equal(askErrorKey(err(409), { pending: true }), 'fix.error.pending');
  assert.equal(askErrorKey(err(409), { citizen: true }), 'fix.error.citizen');
  assert.equal(askErrorKey(err(409), {}), 'fix.error.noProvider');
  assert.equal(askErrorKey(err(409)), 'fix.error.noProvider');
  const many = new ApiError(409, 'conflict', 'too many corrections are pending: wait for an answer', 'r');
  assert.equal(askErrorKey(many), 'fix.error.tooMany');
  assert.equal(askErrorKey(many, { pending: true }), 'fix.error.pending');
  assert.equal(askErrorKey(err(503)), null);
  assert.equal(askErrorKey(new Error('network')), null);
  assert.equal(askErrorKey(null), null);
});

test('who: the citizen, a provider, an import', () => {
  assert.deepEqual(actor('citizen'), { kind: 'citizen', id: '' });
  assert.deepEqual(actor('import'), { kind: 'imported', id: '' });
  assert.deepEqual(actor('p_0123'), { kind: 'provider', id: 'p_0123' });
  assert.deepEqual(actor('operator'), { kind: 'unknown', id: 'operator' });
  assert.deepEqual(actor(7), { kind: 'unknown', id: '' });
  assert.equal(sourceWords(actor('citizen')), 'Entered by you');
  assert.equal(sourceWords(actor('import')), 'From your health records');
  assert.equal(sourceWords(actor('p_9')), 'From care provider p_9');
  assert.equal(rectificationOf('rectification rr_abc'), 'rr_abc');
  assert.equal(rectificationOf(''), '');
  assert.equal(rectificationOf('rectification'), '');
  assert.equal(rectificationOf(undefined), '');
});

test('earlier versions: newest first, who replaced them and why', () => {
  const old = { resourceType: 'Observation', id: 'a', valueQuantity: { value: 80, unit: 'kg' } };
  const body = { record: 'Observation/a', versions: [
    { version: 1, source: 'import', recorded_at: T0 - 100, superseded_at: T0,
      superseded_by: 'p_1', note: 'rectification rr_1', resource: old },
    { version: 2, source: 'p_1', recorded_at: T0, superseded_at: T0 + 60,
      superseded_by: 'citizen', note: '', resource: { ...old, id: 'a' } },
    { version: 3, source: 'citizen', superseded_at: T0 + 90, superseded_by: 'someone',
      note: '', resource: old },
    { version: 4, source: 'citizen', superseded_at: T0, superseded_by: 'citizen' },
    { version: 'x', source: 'citizen', superseded_at: T0, superseded_by: 'citizen', resource: old },
    { version: 5, source: 'citizen', superseded_by: 'citizen', resource: old },
  ] };
  const versions = historyVersions(body);
  assert.deepEqual(versions.map((v) => v.version), [3, 2, 1]);
  const [v3, v2, v1] = versions;
  assert.deepEqual(v1.source, { kind: 'imported', id: '' });
  assert.deepEqual(v1.replacedBy, { kind: 'provider', id: 'p_1' });
  assert.equal(v1.request, 'rr_1');
  assert.equal(v1.replacedAt, T0);
  assert.equal(v1.resource, old);
  const l1 = versionLines(v1);
  assert.match(l1[0], /^Replaced on .*2026.* by care provider p_1\.$/);
  assert.equal(l1[1], 'The change was a correction you asked for (request rr_1).');
  const l2 = versionLines(v2);
  assert.equal(l2.length, 1);
  assert.match(l2[0], /^Replaced on .*2026.* by you\.$/);
  assert.match(versionLines(v3)[0], /^Replaced on .*2026.*\.$/);
  assert.doesNotMatch(versionLines(v3)[0], /by/);
  assert.deepEqual(historyVersions({ record: 'Observation/a', versions: [] }), []);
  assert.deepEqual(historyVersions(null), []);
});

test('the reading form reads back every Observation it makes', () => {
  const when = '2026-12-05T08:30:00Z';
  const cases = [
    ['blood-pressure', { systolic: 128, diastolic: 84 }],
    ['weight', { weight: 82.5 }],
    ['glucose', { glucose: 5.4 }],
    ['note', { note: 'Felt dizzy after lunch' }],
  ];
  for (const [kind, values] of cases) {
    const r = { ...observation(kind, values, when), id: 'x', meta: { tag: [
      { system: 'https://tillit.health/source', code: 'citizen' }] } };
    assert.deepEqual(readingOf(r), { kind, values, when }, kind);
  }
  // Readings the form cannot make are not offered for Edit.
  const heart = { resourceType: 'Observation', code: { coding: [{ system: 'http://loinc.org',
    code: '8867-4' }] }, valueQuantity: { value: 62 } };
  assert.equal(readingOf(heart), null);
  assert.equal(readingOf({ resourceType: 'Condition' }), null);
  assert.equal(readingOf(null), null);
  const noValue = observation('weight', { weight: 80 }, when);
  delete noValue.valueQuantity;
  assert.equal(readingOf(noValue), null);
  const halfPressure = observation('blood-pressure', { systolic: 120, diastolic: 80 }, when);
  halfPressure.component.pop();
  assert.equal(readingOf(halfPressure), null);
});
