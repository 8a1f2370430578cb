// Corrections (EHDS Art 6, rectification): the citizen's requests to have
// a record corrected, as GET /v1/rectification-requests gives them, the
// earlier versions of a record (GET /v1/me/records/{type}/{id}/history),
// and what an answer to a request means in words. Pure apart from Intl,
// so it also runs under Node for webapp/test/rectification.test.mjs.
import { formatDateTime, t } from './i18n.js';

/** The longest reason the vault takes, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 1000;

const STATUSES = ['pending', 'accepted', 'declined'];
const encoder = new TextEncoder();

/** How many bytes `text` takes in UTF-8, as the vault counts the limit. */
export function byteLength(text) {
  return encoder.encode(String(text)).length;
}

/**
 * A reason as the citizen typed it, checked: {reason, bytes, error}, the
 * reason trimmed, and error null or the key of the message to show
 * ('fix.reasonMissing', 'fix.reasonTooLong').
 */
export function checkReason(text) {
  const reason = String(text ?? '').trim();
  const bytes = byteLength(reason);
  let error = null;
  if (!reason) error = 'fix.reasonMissing';
  else if (bytes > MAX_REASON_BYTES) error = 'fix.reasonTooLong';
  return { reason, bytes, error };
}

/** "Observation/obs-17" → ["Observation", "obs-17"]. */
export function splitRef(ref) {
  const s = String(ref ?? '');
  const slash = s.indexOf('/');
  return slash < 0 ? [s, ''] : [s.slice(0, slash), s.slice(slash + 1)];
}

function seconds(value) {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}

/**
 * The requests of a GET /v1/rectification-requests answer, well formed and
 * newest first: entries without an id, a Type/id record or a known status
 * are dropped. Returns new objects; the answer is not changed.
 */
export function requestList(body) {
  const list = Array.isArray(body?.requests) ? body.requests : [];
  return list
    .filter((r) => r && typeof r.id === 'string' && r.id &&
      typeof r.record === 'string' && splitRef(r.record)[1] && STATUSES.includes(r.status))
    .map((r) => ({
      id: r.id, status: r.status, record: r.record,
      reason: typeof r.reason === 'string' ? r.reason : '',
      provider: typeof r.provider === 'string' ? r.provider : '',
      createdAt: seconds(r.created_at),
      decidedAt: seconds(r.decided_at),
      decisionReason: typeof r.decision_reason === 'string' ? r.decision_reason : '',
    }))
    .sort((a, b) => (b.createdAt ?? -1) - (a.createdAt ?? -1));
}

/** The requests about one record (`ref` = Type/id), newest first. */
export function requestsFor(requests, ref) {
  return requests.filter((r) => r.record === ref);
}

/** The request about `ref` still waiting for an answer, or null. */
export function pendingFor(requests, ref) {
  return requests.find((r) => r.record === ref && r.status === 'pending') || null;
}

/**
 * The message key for an API error of POST …/rectification-requests, or
 * null when the general error text fits. Every refusal comes as 409
 * "conflict", told apart by what the app knows: `known.pending` (a request
 * for the record is waiting, as the list read after the refusal shows) and
 * `known.citizen` (the citizen entered the record and corrects it with
 * Edit). The vault's cap on waiting requests shows only in its message.
 * Otherwise no one in this vault can correct the record.
 */
export function askErrorKey(err, known = {}) {
  if (!err || err.name !== 'ApiError') return null;
  if (err.status === 400) return 'fix.error.reason';
  if (err.status === 404) return 'fix.error.notFound';
  if (err.status !== 409) return null;
  if (known.pending) return 'fix.error.pending';
  if (known.citizen) return 'fix.error.citizen';
  if (/too many/i.test(String(err.detail || ''))) return 'fix.error.tooMany';
  return 'fix.error.noProvider';
}

/** Who a source or an author is: {kind: 'citizen'|'provider'|'imported'|'unknown', id}. */
export function actor(value) {
  if (value === 'citizen') return { kind: 'citizen', id: '' };
  if (value === 'import') return { kind: 'imported', id: '' };
  if (typeof value === 'string' && value.startsWith('p_')) return { kind: 'provider', id: value };
  return { kind: 'unknown', id: typeof value === 'string' ? value : '' };
}

/** The request id in a version's note ("rectification rr_…"), or ''. */
export function rectificationOf(note) {
  const m = typeof note === 'string' ? note.match(/^rectification (\S+)$/) : null;
  return m ? m[1] : '';
}

/**
 * The earlier versions of a history answer, newest first (highest version
 * number first): {version, source, replacedAt, replacedBy, request,
 * resource}, source and replacedBy as actor() gives them, request the
 * correction request that replaced it or ''. Versions without a resource,
 * a version number or the time they were replaced are dropped.
 */
export function historyVersions(body) {
  const list = Array.isArray(body?.versions) ? body.versions : [];
  return list
    .filter((v) => v && v.resource && typeof v.resource === 'object' &&
      Number.isInteger(v.version) && seconds(v.superseded_at) !== null)
    .map((v) => ({
      version: v.version,
      source: actor(v.source),
      replacedAt: seconds(v.superseded_at),
      replacedBy: actor(v.superseded_by),
      request: rectificationOf(v.note),
      resource: v.resource,
    }))
    .sort((a, b) => b.version - a.version);
}

/** What a source says in the record's Source row. */
export function sourceWords(source) {
  if (source.kind === 'citizen') return t('source.citizen');
  if (source.kind === 'provider') return t('source.provider', { id: source.id });
  if (source.kind === 'imported') return t('source.imported');
  return source.id;
}

/** The lines that say when and by whom a version was replaced, and why. */
export function versionLines(v) {
  const date = formatDateTime(v.replacedAt * 1000);
  let replaced;
  if (v.replacedBy.kind === 'citizen') replaced = t('history.replacedByYou', { date });
  else if (v.replacedBy.kind === 'provider') {
    replaced = t('history.replacedByProvider', { date, id: v.replacedBy.id });
  } else replaced = t('history.replaced', { date });
  return v.request ? [replaced, t('history.rectification', { id: v.request })] : [replaced];
}

/** The lines that say where a request stands: when it was asked, to whom,
 * and the answer with its date and the care provider's reason. */
export function requestLines(r) {
  const lines = [];
  if (r.createdAt !== null) {
    lines.push(t('request.asked', { date: formatDateTime(r.createdAt * 1000) }));
  }
  if (r.provider) lines.push(t('request.provider', { id: r.provider }));
  if (r.status !== 'pending' && r.decidedAt !== null) {
    lines.push(t(`request.${r.status}On`, { date: formatDateTime(r.decidedAt * 1000) }));
  }
  if (r.status === 'accepted') lines.push(t('request.corrected'));
  if (r.status !== 'pending' && r.decisionReason) {
    lines.push(t('request.answer', { reason: r.decisionReason }));
  }
  return lines;
}
