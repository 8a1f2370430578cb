// The grant JSON form of docs/CONSENT.md as the app writes and reads it:
// the wizard's draft checked step by step and turned into a grant, and any
// grant (new or stored) said in words. Pure apart from t() and Intl, so it
// also runs under Node for webapp/test/consent.test.mjs.
import { CATEGORIES } from './fhir.js';
import { formatDateTime, formatNumber, locale, t } from './i18n.js';

export const GRANTEE_KINDS = ['any-researcher', 'organization', 'researcher', 'study',
  'any-provider', 'provider'];

const ID_PREFIX = { researcher: 'r_', study: 's_', provider: 'p_' };

/** True for the kinds whose grants serve care providers (purpose CC). */
export function isProviderKind(kind) {
  return kind === 'provider' || kind === 'any-provider';
}

export const CC = 'DUO:0000043';
export const DS = 'DUO:0000007';

/** The research purposes a citizen can choose, with their key stems. */
export const PURPOSES = [
  { code: 'DUO:0000042', abbr: 'GRU' },
  { code: 'DUO:0000006', abbr: 'HMB' },
  { code: DS, abbr: 'DS' },
  { code: 'DUO:0000011', abbr: 'POA' },
];
const PURPOSE_ABBR = Object.fromEntries(
  [...PURPOSES, { code: CC, abbr: 'CC' }].map((p) => [p.code, p.abbr]));

/**
 * The DUO modifiers the engine knows, in the order the wizard shows them.
 * `param`: the member the condition takes (docs/CONSENT.md §1);
 * `required`: whether that member must be given. Provider grants take TS
 * only.
 */
export const CONDITIONS = [
  { code: 'DUO:0000046', abbr: 'NCU' },
  { code: 'DUO:0000045', abbr: 'NPU' },
  { code: 'DUO:0000018', abbr: 'NPUNCU' },
  { code: 'DUO:0000021', abbr: 'IRB' },
  { code: 'DUO:0000019', abbr: 'PUB' },
  { code: 'DUO:0000022', abbr: 'GS', param: 'countries', required: true },
  { code: 'DUO:0000025', abbr: 'TS', param: 'until', required: true },
  { code: 'DUO:0000026', abbr: 'US', param: 'researchers', required: true },
  { code: 'DUO:0000027', abbr: 'PS', param: 'studies', required: true },
  { code: 'DUO:0000028', abbr: 'IS', param: 'institutions', required: true },
  { code: 'DUO:0000016', abbr: 'GSO' },
  { code: 'DUO:0000044', abbr: 'NPOA' },
  { code: 'DUO:0000020', abbr: 'COL' },
  { code: 'DUO:0000029', abbr: 'RTN' },
  { code: 'DUO:0000024', abbr: 'MOR', param: 'until', required: false },
];
const CONDITION_BY_CODE = Object.fromEntries(CONDITIONS.map((c) => [c.code, c]));
const TS = 'DUO:0000025';

/** The conditions a grantee kind may carry. */
export function conditionsFor(kind) {
  return isProviderKind(kind) ? CONDITIONS.filter((c) => c.code === TS) : CONDITIONS;
}

/** The id of the draft field that holds a condition's parameter. */
export function conditionField(c) {
  return c.param === 'until' ? `cond-${c.abbr.toLowerCase()}-until` : `cond-${c.param}`;
}

const MAX_TEXT_BYTES = 256;
const MAX_LIST = 64;

function utf8Length(s) {
  return new TextEncoder().encode(s).length;
}

/** The vault id shape: prefix and 32 lowercase hex digits. */
export function isVaultId(s, prefix) {
  return typeof s === 'string' && s.startsWith(prefix) &&
    /^[0-9a-f]{32}$/.test(s.slice(prefix.length));
}

/** An ontology term PREFIX:id, e.g. MONDO:0005148. */
export function isOntologyTerm(s) {
  return typeof s === 'string' && utf8Length(s) <= MAX_TEXT_BYTES &&
    /^[A-Za-z][A-Za-z0-9_]*:[A-Za-z0-9_.-]+$/.test(s);
}

/**
 * The ε a person typed for a grant's privacy budget (docs/CONSENT.md §1):
 * a number from 0 to 100 with at most 6 decimals, '.' or ',' as the
 * decimal sign; NaN for anything else.
 */
export function parsePrivacyBudget(text) {
  const s = String(text ?? '').trim().replace(',', '.');
  if (!/^\d+(\.\d{1,6})?$/.test(s)) return NaN;
  const n = Number(s);
  return n <= 100 ? n : NaN;
}

/** A calendar date YYYY-MM-DD (years 0001–9999). */
export function isDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(typeof s === 'string' ? s : '');
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1) return false;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d;
}

/** Milliseconds at the start of a YYYY-MM-DD day, UTC. REQUIRES: isDate(s). */
export function dayStart(s) {
  const [y, mo, d] = s.split('-').map(Number);
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  return date.getTime();
}

/** Splits a typed list on commas, semicolons and white space. */
export function splitList(text) {
  return String(text || '').split(/[\s,;]+/).filter(Boolean);
}

/** Splits a typed list into its non-empty lines, trimmed. */
export function splitLines(text) {
  return String(text || '').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
}

function isPlainText(s) {
  // eslint-disable-next-line no-control-regex
  return s.length > 0 && utf8Length(s) <= MAX_TEXT_BYTES && !/[\u0000-\u001f\u007f]/.test(s);
}

function unique(list) {
  return [...new Set(list)];
}

function knownRegion(code) {
  if (typeof Intl.DisplayNames !== 'function') return true;
  try {
    return new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' }).of(code) !== undefined;
  } catch {
    return false;
  }
}

/**
 * An empty draft: what the wizard's controls hold. Dates are YYYY-MM-DD
 * or ''; lists are the text the person typed.
 */
export function emptyDraft() {
  return {
    kind: '', name: '', researcher: '', study: '', provider: '',
    purposes: [], disease: '',
    categories: [],
    periodStart: '', periodEnd: '',
    expires: '',
    conditions: [], countries: '', tsUntil: '', morUntil: '',
    researchers: '', studies: '', institutions: '',
    privacyBudget: '',
    includeSensitive: null,
  };
}

export const STEPS = ['who', 'why', 'data', 'period', 'expiry', 'conditions', 'sensitive',
  'review'];

function err(field, key, params) {
  return { field, key, params: params || {} };
}

function checkIds(errors, field, text, prefix) {
  const ids = unique(splitList(text).map((s) => s.toLowerCase()));
  if (!ids.length) errors.push(err(field, 'grant.error.idsMissing'));
  else if (ids.length > MAX_LIST) errors.push(err(field, 'grant.error.tooMany', { n: MAX_LIST }));
  else if (!ids.every((id) => isVaultId(id, prefix))) {
    errors.push(err(field, 'grant.error.idShape', { prefix }));
  }
}

function checkFutureDate(errors, field, value, nowMs, required) {
  if (!value) {
    if (required) errors.push(err(field, 'grant.error.dateMissing'));
    return;
  }
  if (!isDate(value)) errors.push(err(field, 'grant.error.dateShape'));
  else if (dayStart(value) <= nowMs) errors.push(err(field, 'grant.error.dateNotFuture'));
}

/**
 * The problems with one step of the draft, each {field, key, params}:
 * `field` is the control's id (or a group's name), `key` the message's
 * t() key. Empty when the step is fine. `nowMs`: the current time.
 */
export function validateStep(step, d, nowMs) {
  const errors = [];
  const provider = isProviderKind(d.kind);
  switch (step) {
    case 'who':
      if (!GRANTEE_KINDS.includes(d.kind)) errors.push(err('grantee-kind', 'grant.error.kindMissing'));
      else if (d.kind === 'organization') {
        const name = d.name.trim();
        if (!name) errors.push(err('grantee-name', 'grant.error.nameMissing'));
        else if (!isPlainText(name)) errors.push(err('grantee-name', 'grant.error.nameShape'));
      } else if (ID_PREFIX[d.kind]) {
        const id = d[d.kind].trim().toLowerCase();
        if (!id) errors.push(err(`grantee-${d.kind}`, 'grant.error.idMissing'));
        else if (!isVaultId(id, ID_PREFIX[d.kind])) {
          errors.push(err(`grantee-${d.kind}`, 'grant.error.idShape', { prefix: ID_PREFIX[d.kind] }));
        }
      }
      break;
    case 'why':
      if (provider) break;
      if (!d.purposes.some((p) => PURPOSE_ABBR[p] && p !== CC)) {
        errors.push(err('purpose', 'grant.error.purposeMissing'));
      } else if (d.purposes.includes(DS)) {
        const term = d.disease.trim();
        if (!term) errors.push(err('purpose-disease', 'grant.error.diseaseMissing'));
        else if (!isOntologyTerm(term)) errors.push(err('purpose-disease', 'grant.error.diseaseShape'));
      }
      break;
    case 'data':
      if (!d.categories.some((c) => CATEGORIES.includes(c))) {
        errors.push(err('category', 'grant.error.categoryMissing'));
      }
      break;
    case 'period': {
      const start = d.periodStart;
      const end = d.periodEnd;
      if (start && !isDate(start)) errors.push(err('period-start', 'grant.error.dateShape'));
      if (end && !isDate(end)) errors.push(err('period-end', 'grant.error.dateShape'));
      if (isDate(start) && isDate(end) && dayStart(end) < dayStart(start)) {
        errors.push(err('period-end', 'grant.error.endBeforeStart'));
      }
      break;
    }
    case 'expiry':
      checkFutureDate(errors, 'expires', d.expires, nowMs, false);
      break;
    case 'conditions':
      for (const c of conditionsFor(d.kind)) {
        if (!d.conditions.includes(c.code)) continue;
        const field = conditionField(c);
        if (c.abbr === 'GS') {
          const codes = unique(splitList(d.countries).map((s) => s.toUpperCase()));
          if (!codes.length) errors.push(err(field, 'grant.error.countriesMissing'));
          else if (codes.length > MAX_LIST) errors.push(err(field, 'grant.error.tooMany', { n: MAX_LIST }));
          else {
            const bad = codes.find((x) => !/^[A-Z]{2}$/.test(x) || !knownRegion(x));
            if (bad) errors.push(err(field, 'grant.error.countryShape', { code: bad }));
          }
        } else if (c.abbr === 'TS') {
          checkFutureDate(errors, field, d.tsUntil, nowMs, true);
        } else if (c.abbr === 'MOR') {
          if (d.morUntil && !isDate(d.morUntil)) errors.push(err(field, 'grant.error.dateShape'));
        } else if (c.abbr === 'US') {
          checkIds(errors, field, d.researchers, 'r_');
        } else if (c.abbr === 'PS') {
          checkIds(errors, field, d.studies, 's_');
        } else if (c.abbr === 'IS') {
          const names = unique(splitLines(d.institutions));
          if (!names.length) errors.push(err(field, 'grant.error.institutionsMissing'));
          else if (names.length > MAX_LIST) errors.push(err(field, 'grant.error.tooMany', { n: MAX_LIST }));
          else if (!names.every(isPlainText)) errors.push(err(field, 'grant.error.nameShape'));
        }
      }
      if (!provider && String(d.privacyBudget ?? '').trim() &&
          Number.isNaN(parsePrivacyBudget(d.privacyBudget))) {
        errors.push(err('privacy-budget', 'grant.error.privacyBudgetShape'));
      }
      break;
    case 'sensitive':
      if (typeof d.includeSensitive !== 'boolean') {
        errors.push(err('sensitive', 'grant.error.sensitiveMissing'));
      }
      break;
    default:
      break;
  }
  return errors;
}

/** Every step's problems, in step order. */
export function validateDraft(d, nowMs) {
  return STEPS.flatMap((s) => validateStep(s, d, nowMs).map((e) => ({ ...e, step: s })));
}

/**
 * The grant JSON (docs/CONSENT.md §1) for a draft. REQUIRES:
 * validateDraft(d, now) is empty; the vault checks everything again.
 */
export function buildGrant(d) {
  const grantee = { kind: d.kind };
  if (d.kind === 'organization') grantee.name = d.name.trim();
  else if (ID_PREFIX[d.kind]) grantee.id = d[d.kind].trim().toLowerCase();

  const provider = isProviderKind(d.kind);
  const purposes = provider ? [CC]
    : PURPOSES.filter((p) => d.purposes.includes(p.code)).map((p) =>
      (p.code === DS ? { code: DS, disease: d.disease.trim() } : p.code));

  const conditions = conditionsFor(d.kind).filter((c) => d.conditions.includes(c.code))
    .map((c) => {
      const item = { code: c.code };
      if (c.abbr === 'GS') item.countries = unique(splitList(d.countries).map((s) => s.toUpperCase()));
      else if (c.abbr === 'TS') item.until = d.tsUntil;
      else if (c.abbr === 'MOR' && d.morUntil) item.until = d.morUntil;
      else if (c.abbr === 'US') item.researchers = unique(splitList(d.researchers).map((s) => s.toLowerCase()));
      else if (c.abbr === 'PS') item.studies = unique(splitList(d.studies).map((s) => s.toLowerCase()));
      else if (c.abbr === 'IS') item.institutions = unique(splitLines(d.institutions));
      return item;
    });

  const grant = {
    grantee,
    purposes,
    conditions,
    categories: CATEGORIES.filter((c) => d.categories.includes(c)),
    data_period: d.periodStart || d.periodEnd
      ? { start: d.periodStart || null, end: d.periodEnd || null } : null,
    expires: d.expires ? `${d.expires}T00:00:00Z` : null,
    include_sensitive: d.includeSensitive === true,
  };
  // Only when filled in: absent leaves the cap to the vault's default.
  if (!provider && String(d.privacyBudget ?? '').trim()) {
    grant.privacy_budget = parsePrivacyBudget(d.privacyBudget);
  }
  return grant;
}

/** 'active', 'expired' or 'revoked' for a stored grant at `nowMs`. */
export function grantStatus(g, nowMs) {
  if (g.status === 'revoked' || g.revoked) return 'revoked';
  if (g.expires && !(Date.parse(g.expires) > nowMs)) return 'expired';
  return 'active';
}

const STATUS_ORDER = { active: 0, expired: 1, revoked: 2 };

/** Active grants first, then expired, then revoked; newest first within each. */
export function sortGrants(grants, nowMs) {
  return [...grants].sort((a, b) =>
    (STATUS_ORDER[grantStatus(a, nowMs)] - STATUS_ORDER[grantStatus(b, nowMs)]) ||
    String(b.created || '').localeCompare(String(a.created || '')));
}

// --- in words

/** A YYYY-MM-DD day as the language writes it, whatever the time zone. */
export function formatDay(s) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeZone: 'UTC' })
    .format(dayStart(s));
}

/**
 * A grant's date or instant in words: a day for dates and for instants at
 * midnight UTC (what the wizard writes), else a date and time.
 */
export function formatWhen(value) {
  const s = String(value || '');
  if (isDate(s)) return formatDay(s);
  const m = /^(\d{4}-\d{2}-\d{2})T00:00:00(\.0+)?Z$/.exec(s);
  if (m && isDate(m[1])) return formatDay(m[1]);
  return formatDateTime(s) || s;
}

function list(items) {
  if (typeof Intl.ListFormat !== 'function') return items.join(', ');
  return new Intl.ListFormat(locale(), { style: 'long', type: 'conjunction' }).format(items);
}

function countryName(code) {
  try {
    return new Intl.DisplayNames([locale()], { type: 'region' }).of(code) || code;
  } catch {
    return code;
  }
}

/** Who a grant is for, e.g. "Any researcher". */
export function granteeWords(grantee) {
  const kind = grantee?.kind;
  if (!GRANTEE_KINDS.includes(kind)) return t('sharing.who.unknown');
  return t(`sharing.who.${kind}`, { id: grantee.id || '', name: grantee.name || '' });
}

/** One purpose (a DUO string or {code, disease}) in words. */
export function purposeWords(p) {
  const code = typeof p === 'string' ? p : p?.code;
  const abbr = PURPOSE_ABBR[code];
  if (!abbr) return String(code);
  return t(`duo.${abbr}.words`, { disease: (p && p.disease) || '' });
}

/** One condition ({code, …}) in words, e.g. "not for commercial use". */
export function conditionWords(c) {
  const known = CONDITION_BY_CODE[c?.code];
  if (!known) return String(c?.code);
  const key = `cond.${known.abbr}.words`;
  switch (known.abbr) {
    case 'GS':
      return t(key, { countries: list((c.countries || []).map(countryName)) });
    case 'TS':
      return t(key, { date: formatWhen(c.until) });
    case 'MOR':
      return c.until ? t('cond.MOR.wordsDate', { date: formatWhen(c.until) }) : t(key);
    case 'US':
      return t(key, { ids: list(c.researchers || []) });
    case 'PS':
      return t(key, { ids: list(c.studies || []) });
    case 'IS':
      return t(key, { names: list(c.institutions || []) });
    default:
      return t(key);
  }
}

function periodWords(period) {
  const start = period?.start;
  const end = period?.end;
  if (start && end) return t('sharing.period.between', { start: formatWhen(start), end: formatWhen(end) });
  if (start) return t('sharing.period.from', { start: formatWhen(start) });
  if (end) return t('sharing.period.to', { end: formatWhen(end) });
  return '';
}

/**
 * The grant as one sentence: "Any researcher, for health, medical or
 * biomedical research, may use your lab results and vital signs from 1 Jan
 * 2015 until 31 Dec 2027; not for commercial use."
 */
export function grantSentence(g) {
  const conditions = (g.conditions || []).map(conditionWords);
  return t('sharing.sentence', {
    who: granteeWords(g.grantee),
    why: list((g.purposes || []).map(purposeWords)),
    what: list((g.categories || []).map((c) =>
      (CATEGORIES.includes(c) ? t(`sharing.cat.${c}`) : String(c)))),
    period: periodWords(g.data_period),
    until: g.expires ? t('sharing.until', { date: formatWhen(g.expires) }) : t('sharing.noEnd'),
    conditions: conditions.length ? t('sharing.conditions', { list: conditions.join('; ') }) : '',
  });
}

/**
 * Whether sensitive records are included, the privacy budget for
 * statistics if the grant names one, and any exclusions, in words.
 */
export function grantDetails(g) {
  const parts = [t(g.include_sensitive ? 'sharing.sensitive.yes' : 'sharing.sensitive.no')];
  if (typeof g.privacy_budget === 'number') {
    parts.push(g.privacy_budget === 0 ? t('sharing.privacyBudget.none')
      : t('sharing.privacyBudget', { epsilon: formatNumber(g.privacy_budget, 6) }));
  }
  const n = Array.isArray(g.exclude) ? g.exclude.length : 0;
  if (n) parts.push(t('sharing.excludes', { n }));
  return parts.join(' ');
}

// --- restrictions

/**
 * Changes the restrictions (GET/PUT /v1/me/restrictions, a whole-object
 * replace): reads the set in force, applies `edit` to a copy of it
 * ({categories, records}) and stores the result, so a change made on
 * another device or page since this one loaded is kept. Returns the set
 * the vault now holds; throws what `api` throws.
 */
export async function updateRestrictions(api, edit) {
  const now = await api.get('/v1/me/restrictions');
  const next = edit({
    categories: Array.isArray(now?.categories) ? [...now.categories] : [],
    records: Array.isArray(now?.records) ? [...now.records] : [],
  });
  return api.put('/v1/me/restrictions', next);
}
