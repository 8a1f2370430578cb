// The privacy budget as GET /v1/me/privacy-budget gives it (docs/PRIVACY.md),
// in the shape the sharing page shows: per study, how much of the citizen's
// cap its statistics questions have used. Pure apart from Intl, so it also
// runs under Node for webapp/test/privacy.test.mjs.
import { formatNumber } from './i18n.js';

/** The smallest ε one statistics question can ask: a study with less room
 * than this left gets no more of the citizen's data. */
export const MIN_QUERY_EPSILON = 0.01;

// ε as the API sends it: a finite number ≥ 0; anything else counts as 0,
// so a malformed answer can never show as room that is not there.
function epsilon(value) {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0;
}

function timeOf(iso) {
  const ms = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isNaN(ms) ? -Infinity : ms;
}

// Newest first; times that are missing or not dates last.
function byTimeDesc(a, b) {
  const x = timeOf(a);
  const y = timeOf(b);
  return x === y ? 0 : (x < y ? 1 : -1);
}

/**
 * One study's use of the citizen's privacy:
 *   spent, remaining  ε (remaining as the server computed it, never below 0);
 *   cap               ε, or null when the citizen's grants no longer let the
 *                     study in;
 *   meter             {max, value} for a <meter>, or null when there is no
 *                     positive cap to measure against;
 *   state             'open' (room for another question), 'full' (less left
 *                     than the smallest question asks) or 'closed' (cap null).
 */
export function studyUsage(study) {
  const spent = epsilon(study?.spent);
  if (study?.cap === null || study?.cap === undefined) {
    return { spent, cap: null, remaining: 0, meter: null, state: 'closed' };
  }
  const cap = epsilon(study.cap);
  const remaining = Math.min(epsilon(study.remaining), cap);
  const state = remaining < MIN_QUERY_EPSILON ? 'full' : 'open';
  const meter = cap > 0 ? { max: cap, value: Math.min(spent, cap) } : null;
  return { spent, cap, remaining, meter, state };
}

/**
 * The studies of a budget answer, well formed and ordered: those whose
 * newest question is newest first, each with its questions newest first.
 * Entries without a study id, and questions without an id, are dropped; a
 * missing title falls back to the study id, a missing description to the
 * question's id. Returns new objects; the answer is not changed.
 */
export function budgetStudies(body) {
  const studies = Array.isArray(body?.studies) ? body.studies : [];
  return studies
    .filter((s) => s && typeof s.study_id === 'string' && s.study_id)
    .map((s) => {
      const queries = (Array.isArray(s.queries) ? s.queries : [])
        .filter((q) => q && typeof q.id === 'string' && q.id)
        .map((q) => ({ id: q.id, time: q.time, epsilon: epsilon(q.epsilon),
          description: typeof q.description === 'string' && q.description ? q.description : q.id }))
        .sort((a, b) => byTimeDesc(a.time, b.time));
      return { ...s, title: typeof s.title === 'string' && s.title ? s.title : s.study_id,
        queries };
    })
    .sort((a, b) => byTimeDesc(a.queries[0]?.time, b.queries[0]?.time) ||
      a.title.localeCompare(b.title));
}

/** The operator's default cap from a budget answer, or null when absent. */
export function defaultCap(body) {
  const v = body?.default_cap;
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null;
}

/** ε as the language writes it, to the ledger's precision (millionths):
 * 0.3 → "0.3" (English), "0,3" (Swedish). */
export function formatEpsilon(n) {
  return formatNumber(n, 6);
}
