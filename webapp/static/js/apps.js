// Apps connected with SMART App Launch (docs/WEBAPP.md "Connecting an
// app"): the scopes an app asks for or was given, in words; where the
// browser goes back to; the consent page's checks and the body it sends
// (POST /v1/me/app-requests/{id}); the citizen's connected apps. Pure
// apart from t() and Intl, so it also runs under Node for
// webapp/test/apps.test.mjs.
import { isVaultId } from './consent.js';
import { CATEGORIES, typeLabel } from './fhir.js';
import { t } from './i18n.js';

/** An app request id: ar_ and 32 lowercase hex digits. */
export function isAppRequestId(s) {
  return isVaultId(s, 'ar_');
}

/** An app authorisation id: aa_ and 32 lowercase hex digits. */
export function isAppAuthorisationId(s) {
  return isVaultId(s, 'aa_');
}

// FHIR category codes (of observation-category and the like) that are
// one of the vault's own categories, said with the vault's name for it.
const FHIR_CATEGORY = {
  laboratory: 'lab-results',
  'vital-signs': 'vital-signs',
  imaging: 'imaging',
};

const RESOURCE_TYPE = /^(\*|[A-Z][A-Za-z0-9]{0,63})$/;

/**
 * One patient/ scope of SMART App Launch read from its text, in the shape
 * GET /v1/me/app-requests/{id} lists them: {scope, resource_type, read,
 * search, category (only with a filter)}. v1 `.read` and `.*` read and
 * search; v2 `.cruds` read with r and search with s (the vault grants
 * nothing else). null for anything else (launch/patient, openid,
 * fhirUser, offline_access, user/ and system/ scopes, a scope that
 * grants neither).
 */
export function parseScope(text) {
  const m = /^patient\/([^.?\s]+)\.([^?\s]+)(\?(\S*))?$/.exec(String(text ?? ''));
  if (!m || !RESOURCE_TYPE.test(m[1])) return null;
  let read = false;
  let search = false;
  if (m[2] === 'read' || m[2] === '*') {
    read = true;
    search = true;
  } else if (/^c?r?u?d?s?$/.test(m[2])) {
    read = m[2].includes('r');
    search = m[2].includes('s');
  }
  if (!read && !search) return null;
  const out = { scope: m[0], resource_type: m[1], read, search };
  if (m[3] !== undefined) {
    const filter = /^category=([^&]+)$/.exec(m[4]);
    if (!filter) return null;
    let value = filter[1];
    try { value = decodeURIComponent(value); } catch { /* kept as written */ }
    const bar = value.lastIndexOf('|');
    out.category = bar < 0 ? value : value.slice(bar + 1);
    if (!out.category) return null;
  }
  return out;
}

/** The patient/ scopes of a space-separated scope string (what an app was
 * given, GET /v1/me/apps "scope"), each as parseScope reads it. */
export function parseScopes(text) {
  return String(text ?? '').split(/\s+/).map(parseScope).filter(Boolean);
}

/** Whether a space-separated scope string holds offline_access. */
export function hasOfflineAccess(text) {
  return String(text ?? '').split(/\s+/).includes('offline_access');
}

/** 'read-search', 'read' or 'search' for a scope; null when it allows
 * neither. */
export function scopeAccess(s) {
  const read = s?.read === true;
  const search = s?.search === true;
  if (read && search) return 'read-search';
  if (read) return 'read';
  if (search) return 'search';
  return null;
}

/** A FHIR category code in words: the vault's name for it when it is one
 * of the vault's categories, else the code itself. */
export function fhirCategoryWords(code) {
  const vault = FHIR_CATEGORY[code];
  return vault ? t(`category.${vault}`) : String(code);
}

/**
 * A scope in words, e.g. "Measurement: may search and read, only in the
 * category “Lab results”": {what, how, category, text}. `what` is the
 * resource type in words ("*" is all kinds of records), `how` what the
 * app may do with it, `category` the filter in words or null. null for a
 * scope that allows nothing.
 */
export function scopeWords(s) {
  const access = scopeAccess(s);
  const type = typeof s?.resource_type === 'string' ? s.resource_type : '';
  if (!access || !type) return null;
  const what = type === '*' ? t('apps.scope.all') : typeLabel(type);
  const how = t(`apps.access.${access}`);
  const hasFilter = typeof s.category === 'string' && s.category !== '';
  const category = hasFilter ? fhirCategoryWords(s.category) : null;
  const text = hasFilter ? t('apps.scope.filtered', { what, how, category })
    : t('apps.scope.line', { what, how });
  return { what, how, category, text };
}

/** The scopes in words, each line once, in the order given. */
export function scopeLines(scopes) {
  const lines = [];
  for (const s of Array.isArray(scopes) ? scopes : []) {
    const words = scopeWords(s);
    if (words && !lines.includes(words.text)) lines.push(words.text);
  }
  return lines;
}

/** Whether the app keeps access while the citizen is away, in words. */
export function offlineWords(offline) {
  return t(offline === true ? 'apps.offline.yes' : 'apps.offline.no');
}

/** The origin of a redirect URI (where the browser goes back to), or the
 * text itself when it is not a URL. */
export function redirectOrigin(uri) {
  try {
    const url = new URL(String(uri));
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.origin;
  } catch { /* not a URL */ }
  return String(uri ?? '');
}

/**
 * Whether the vault's answer `redirect` may be followed for a request
 * whose app has `redirectUri`: an http(s) URL on the redirect URI's
 * origin, so the page goes nowhere but where it said it would.
 */
export function isRedirectFor(redirect, redirectUri) {
  if (typeof redirect !== 'string' || typeof redirectUri !== 'string') return false;
  try {
    const to = new URL(redirect);
    const registered = new URL(redirectUri);
    return (to.protocol === 'http:' || to.protocol === 'https:') &&
      to.origin === registered.origin;
  } catch {
    return false;
  }
}

// --- the consent page

/** The categories the page offers, in the app's order: those the vault
 * lists that the app knows (all of them when the vault lists none). */
export function consentCategories(request) {
  const listed = Array.isArray(request?.categories) ? request.categories : null;
  return listed ? CATEGORIES.filter((c) => listed.includes(c)) : [...CATEGORIES];
}

/** The problems with an approval, each {field, key} (field: the group's
 * name, key: the message's t() key); empty when it can be sent. */
export function validateConsent(categories) {
  const chosen = (categories || []).filter((c) => CATEGORIES.includes(c));
  return chosen.length ? [] : [{ field: 'app-category', key: 'authorize.error.noCategory' }];
}

/**
 * The body of POST /v1/me/app-requests/{id}: {approve: false}, or the
 * approval with the chosen categories (in the app's order, each once) and
 * include_sensitive. REQUIRES for an approval: validateConsent is empty.
 */
export function consentBody({ approve, categories = [], includeSensitive = false }) {
  if (approve !== true) return { approve: false };
  return {
    approve: true,
    categories: CATEGORIES.filter((c) => categories.includes(c)),
    include_sensitive: includeSensitive === true,
  };
}

// --- connected apps (GET /v1/me/apps)

/** An app's status: 'revoked' once revoked, else 'active'. */
export function appStatus(a) {
  return a?.revoked ? 'revoked' : 'active';
}

/** The connected apps split into live ones and revoked ones, each in the
 * vault's order (newest first). */
export function splitApps(answer) {
  const list = (Array.isArray(answer?.apps) ? answer.apps : [])
    .filter((a) => a && typeof a === 'object' && typeof a.id === 'string');
  return {
    live: list.filter((a) => appStatus(a) === 'active'),
    revoked: list.filter((a) => appStatus(a) === 'revoked'),
  };
}

/** The kinds of records an app may see, in words, in the app's order. */
export function appCategoryWords(a) {
  const chosen = Array.isArray(a?.categories) ? a.categories : [];
  return CATEGORIES.filter((c) => chosen.includes(c)).map((c) => t(`category.${c}`));
}

/** Who made an access-log entry an app made: the app's name as the vault
 * gives it beside the entry, else its client id. */
export function appActorName(e) {
  if (typeof e?.app === 'string' && e.app.trim()) return e.app.trim();
  return typeof e?.actor_id === 'string' ? e.actor_id : '';
}
