// Proxies and guardians (EHDS Art 4(2)-(3)): the authorisation form's
// checks and the body it sends (POST/PUT /v1/me/proxies), authorisations
// and the people one may act for in words, and the rules of acting mode:
// which API path a page's /v1/me call goes to, and which pages a proxy can
// use. Pure apart from t() and Intl, so it also runs under Node for
// webapp/test/proxies.test.mjs.
import { dayStart, formatDay, isDate, isVaultId } from './consent.js';
import { CATEGORIES } from './fhir.js';
import { formatDate, locale, t } from './i18n.js';

export const ACCESS = ['read', 'read-write'];
export const STATUSES = ['active', 'scheduled', 'expired', 'revoked', 'ended'];
/** The longest purpose code the vault takes. */
export const MAX_PURPOSE = 64;

/** A citizen id: c_ and 32 lowercase hex digits. */
export function isCitizenId(s) {
  return isVaultId(s, 'c_');
}

/** A purpose code: 1 to 64 of A-Z a-z 0-9 _ . : / - */
export function isPurposeCode(s) {
  return typeof s === 'string' && s.length >= 1 && s.length <= MAX_PURPOSE &&
    /^[A-Za-z0-9_.:/-]+$/.test(s);
}

/** Today as YYYY-MM-DD in UTC, the calendar the vault keeps. */
export function todayUtc(nowMs) {
  return new Date(nowMs).toISOString().slice(0, 10);
}

/** The categories an authorisation or scope covers: null for all of them. */
export function scopeCategories(a) {
  return Array.isArray(a?.categories) ? a.categories : null;
}

// --- the form

/** An empty form: view only, all data, no end date, no purpose. */
export function emptyProxyDraft() {
  return { proxy: '', access: 'read', categories: [], until: '', purpose: '',
    includeSensitive: false, includeRestricted: false };
}

/** The form filled in from a stored authorisation (for Change). */
export function draftOf(a) {
  return {
    proxy: typeof a?.proxy === 'string' ? a.proxy : '',
    access: ACCESS.includes(a?.access) ? a.access : 'read',
    categories: (scopeCategories(a) || []).filter((c) => CATEGORIES.includes(c)),
    until: typeof a?.until === 'string' ? a.until : '',
    purpose: typeof a?.purpose === 'string' ? a.purpose : '',
    includeSensitive: a?.include_sensitive === true,
    includeRestricted: a?.include_restricted === true,
  };
}

function err(field, key, params) {
  return { field, key, params: params || {} };
}

/**
 * The problems with a draft, each {field, key, params}: `field` is the
 * control's id or a group's name (proxy-id, proxy-access, proxy-category,
 * proxy-until, proxy-purpose), `key` the message's t() key. Empty when it
 * is fine. `self`: the citizen's own id (no one authorises themselves);
 * `change`: the person is fixed (PUT), so their id is not checked.
 */
export function validateProxyDraft(d, { nowMs, self = '', change = false }) {
  const errors = [];
  if (!change) {
    const id = String(d.proxy || '').trim().toLowerCase();
    if (!id) errors.push(err('proxy-id', 'proxies.error.idMissing'));
    else if (!isCitizenId(id)) errors.push(err('proxy-id', 'proxies.error.idShape'));
    else if (id === self) errors.push(err('proxy-id', 'proxies.error.self'));
  }
  if (!ACCESS.includes(d.access)) errors.push(err('proxy-access', 'proxies.error.accessMissing'));
  if (!(d.categories || []).every((c) => CATEGORIES.includes(c))) {
    errors.push(err('proxy-category', 'proxies.error.category'));
  }
  if (d.until) {
    if (!isDate(d.until)) errors.push(err('proxy-until', 'grant.error.dateShape'));
    else if (dayStart(d.until) < dayStart(todayUtc(nowMs))) {
      errors.push(err('proxy-until', 'proxies.error.untilPast'));
    }
  }
  const purpose = String(d.purpose || '').trim();
  if (purpose && !isPurposeCode(purpose)) {
    errors.push(err('proxy-purpose', 'proxies.error.purposeShape', { max: MAX_PURPOSE }));
  }
  return errors;
}

/**
 * The body of POST /v1/me/proxies (or, with `change`, of PUT
 * /v1/me/proxies/{id}, which has no "proxy"): categories only when some
 * are chosen (none means all), purpose only when given, until null for no
 * end date. REQUIRES: validateProxyDraft(d) is empty; the vault checks
 * everything again.
 */
export function buildProxyBody(d, { change = false } = {}) {
  const body = {};
  if (!change) body.proxy = String(d.proxy).trim().toLowerCase();
  body.access = d.access;
  const chosen = CATEGORIES.filter((c) => (d.categories || []).includes(c));
  if (chosen.length) body.categories = chosen;
  const purpose = String(d.purpose || '').trim();
  if (purpose) body.purpose = purpose;
  body.until = d.until || null;
  body.include_sensitive = d.includeSensitive === true;
  body.include_restricted = d.includeRestricted === true;
  return body;
}

const SERVER_FIELDS = { proxy: 'proxy-id', access: 'proxy-access', categories: 'proxy-category',
  until: 'proxy-until', purpose: 'proxy-purpose' };

/**
 * The form field a 400 from the vault is about, from its message
 * "member: what": {field, text} with the control's id and the "what", or
 * null when the message names no member of the form.
 */
export function serverFieldError(message) {
  const m = /^([a-z_]+): (.+)$/s.exec(String(message || ''));
  if (!m || !SERVER_FIELDS[m[1]]) return null;
  return { field: SERVER_FIELDS[m[1]], text: m[2] };
}

// --- stored authorisations

/** An authorisation's status; computed from its dates when the vault
 * sent none that the app knows. */
export function proxyStatus(a, nowMs) {
  if (STATUSES.includes(a?.status)) return a.status;
  if (a?.revoked) return 'revoked';
  const today = todayUtc(nowMs);
  if (isDate(a?.until) && a.until < today) return 'expired';
  if (isDate(a?.start) && a.start > today) return 'scheduled';
  return 'active';
}

/** Active or scheduled: it can still be changed or revoked. */
export function isLive(a, nowMs) {
  const s = proxyStatus(a, nowMs);
  return s === 'active' || s === 'scheduled';
}

/** A guardianship is recorded by the operator; only a live proxy the
 * citizen gave can be changed or revoked in the app. */
export function canChange(a, nowMs) {
  return a?.kind === 'proxy' && isLive(a, nowMs);
}

/** Live ones first, then the rest, each in the vault's order (newest first). */
export function sortProxies(list, nowMs) {
  const live = list.filter((a) => isLive(a, nowMs));
  return [...live, ...list.filter((a) => !live.includes(a))];
}

function list(items) {
  if (typeof Intl.ListFormat !== 'function') return items.join(', ');
  return new Intl.ListFormat(locale(), { style: 'long', type: 'conjunction' }).format(items);
}

/** The access in a few words: "view only" / "view and add". */
export function accessWords(access) {
  return t(access === 'read-write' ? 'acting.access.read-write' : 'acting.access.read');
}

/**
 * An authorisation as the citizen who gave it reads it: "c_… may see your
 * lab results, up to and including 31 Dec 2027."
 */
export function proxySentence(a) {
  const cats = scopeCategories(a);
  const what = cats === null ? t('proxies.what.all')
    : t('proxies.what.some', { list: list(cats.map((c) =>
      (CATEGORIES.includes(c) ? t(`sharing.cat.${c}`) : String(c)))) });
  const until = isDate(a?.until) ? t('proxies.until', { date: formatDay(a.until) })
    : t('proxies.noEnd');
  return t(a?.access === 'read-write' ? 'proxies.sentence.read-write' : 'proxies.sentence.read',
    { who: String(a?.proxy || ''), what, until });
}

/** The rest of an authorisation in words, one sentence each: its start
 * (a guardianship's, or one not started yet: a proxy's is the day it was
 * given), purpose, sensitive and restricted records. */
export function proxyDetails(a, nowMs) {
  const lines = [];
  if (isDate(a?.start) && (a.kind === 'guardian' || proxyStatus(a, nowMs) === 'scheduled')) {
    lines.push(t('proxies.from', { date: formatDay(a.start) }));
  }
  if (typeof a?.purpose === 'string' && a.purpose) {
    lines.push(t('proxies.purpose', { purpose: a.purpose }));
  }
  lines.push(t(a?.include_sensitive === true ? 'proxies.sensitive.yes' : 'proxies.sensitive.no'));
  lines.push(t(a?.include_restricted === true ? 'proxies.restricted.yes' : 'proxies.restricted.no'));
  return lines;
}

/** When it was given and, if so, revoked (a guardianship: ended early),
 * from epoch seconds, in words. */
export function proxyDates(a) {
  const lines = [];
  if (Number.isFinite(a?.created)) lines.push(t('proxies.given', { date: formatDate(a.created * 1000) }));
  if (Number.isFinite(a?.revoked)) {
    lines.push(t(a.kind === 'guardian' ? 'proxies.endedOn' : 'proxies.revokedOn',
      { date: formatDate(a.revoked * 1000) }));
  }
  return lines;
}

/** What one may do for a represented citizen, one sentence each, as the
 * proxy or guardian reads it. */
export function representedLines(r) {
  const cats = scopeCategories(r);
  const lines = [
    t(r?.access === 'read-write' ? 'represented.access.read-write' : 'represented.access.read'),
    cats === null ? t('represented.categories.all')
      : t('represented.categories.some', { list: list(cats.map((c) =>
        (CATEGORIES.includes(c) ? t(`category.${c}`) : String(c)))) }),
    isDate(r?.until) ? t('represented.until', { date: formatDay(r.until) }) : t('represented.noEnd'),
  ];
  if (typeof r?.purpose === 'string' && r.purpose) {
    lines.push(t('represented.purpose', { purpose: r.purpose }));
  }
  lines.push(t(r?.include_sensitive === true ? 'represented.sensitive.yes' : 'represented.sensitive.no'));
  lines.push(t(r?.include_restricted === true ? 'represented.restricted.yes' : 'represented.restricted.no'));
  return lines;
}

// --- acting mode

/** May change things (add readings, ask for corrections, change settings). */
export function canWrite(scope) {
  return scope?.access === 'read-write';
}

/** An authorisation for all data, sensitive and restricted records
 * included: only that one reaches the citizen's settings (sharing,
 * hiding, opt-outs). */
export function isFullScope(scope) {
  return scopeCategories(scope) === null && scope?.include_sensitive === true &&
    scope?.include_restricted === true;
}

// The /v1/me routes with no /v1/citizens/{id} twin: a proxy never erases,
// pairs devices for, or authorises on behalf of the citizen, nor chooses
// how the citizen is told of accesses (notifications, push subscriptions),
// nor connects apps to their data or revokes them (apps, app-requests).
const OWN_ONLY = ['devices', 'proxies', 'represented', 'notifications', 'push-subscriptions',
  'apps', 'app-requests'];

/**
 * The path a page's call (`method`, `path`) goes to while acting for
 * `citizenId`: /v1/me and /v1/me/… become /v1/citizens/{citizenId} and
 * /v1/citizens/{citizenId}/… (query kept); /v1/audit/… (proofs of the
 * shared log) stays. null for anything else, which must not be sent: it
 * would answer about the proxy, not about the person they act for, or is
 * the citizen's alone (erasing the vault, devices, authorisations).
 */
export function actingPath(method, path, citizenId) {
  if (!isCitizenId(citizenId)) throw new TypeError('not a citizen id');
  const q = path.indexOf('?');
  const p = q < 0 ? path : path.slice(0, q);
  const query = q < 0 ? '' : path.slice(q);
  if (p === '/v1/me') return method === 'GET' ? `/v1/citizens/${citizenId}${query}` : null;
  if (p.startsWith('/v1/me/')) {
    const rest = p.slice('/v1/me/'.length);
    if (!rest || OWN_ONLY.includes(rest.split('/')[0])) return null;
    return `/v1/citizens/${citizenId}/${rest}${query}`;
  }
  if (p.startsWith('/v1/audit/')) return path;
  return null;
}

/**
 * Whether a page can be opened while acting with `scope`: never the
 * devices, erasure, one's own authorisations or an app's request (the
 * citizen answers it for their own data); the citizen's settings
 * (sharing, hiding) and their access log only with an authorisation for
 * all data; the grant wizard only when it can also write. Adding a
 * reading opens (the vault refuses a read-only proxy, and the page says
 * so) but is not offered in the navigation; so does the notifications
 * page, which says that it is the citizen's own.
 */
export function routeAllowed(view, scope) {
  if (!scope) return true;
  switch (view) {
    case 'devices': case 'erase': case 'proxies': case 'authorize':
      return false;
    case 'sharing': case 'hide': case 'log':
      return isFullScope(scope);
    case 'grant':
      return isFullScope(scope) && canWrite(scope);
    default:
      return true;
  }
}

/** Whether the navigation offers a page while acting with `scope`. The
 * notifications page is the citizen's own: not offered, and when opened
 * it says so itself (views/notifications.js). */
export function navAllowed(view, scope) {
  if (!scope) return true;
  if (view === 'add') return canWrite(scope);
  if (view === 'notifications') return false;
  return routeAllowed(view, scope);
}

/**
 * The citizen id of whoever made an access-log entry for the citizen whose
 * log it is (a proxy or guardian: a citizen other than the one the entry
 * is about), or '' for everyone else. The vault also names such entries in
 * "on_behalf_of"; the answer here rests on the hashed fields alone.
 */
export function onBehalfActor(e) {
  if (e?.actor_kind !== 'citizen' || typeof e.actor_id !== 'string') return '';
  const subject = typeof e.citizen === 'string' && e.citizen ? e.citizen
    : typeof e.on_behalf_of === 'string' ? e.on_behalf_of : '';
  return subject && e.actor_id !== subject ? e.actor_id : '';
}
