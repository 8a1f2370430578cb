// Who looked at my data: the access log, newest first. An entry is marked
// "verified" only after this app has checked its inclusion proof against a
// checkpoint signed by the pinned audit key, and that checkpoint's
// consistency with the last one this browser saw (kept in IndexedDB). A
// rolled-back or forked log is shown as a warning, never silently.
// An entry made by a proxy or guardian (a citizen acting for the one whose
// log it is) says so: "c_… on your behalf", with the authorisation it
// used. While acting for someone, the log is theirs.
// An entry a paired device made names it: "(via Anna's phone)". The name
// is the vault's word (the device's id, "via", is what the proof covers),
// and is only ever set as text. So is an app's: an entry a connected app
// made (actor_kind "app") reads "The app “Health Diary” …", by the name
// the vault gives beside it ("app", not hashed), else by its client id.
import { appActorName } from '../apps.js';
import { parseVerifierKey } from '../crypto/checkpoint.js';
import { verifyAccessLogPage } from '../crypto/auditlog.js';
import * as store from '../store.js';
import { formatDateTime, formatNumber, t } from '../i18n.js';
import { onBehalfActor } from '../proxies.js';
import { add, h } from '../ui.js';

const PAGE = 50;
const WITNESS = 'witness';

function actorText(e, ctx) {
  const proxy = onBehalfActor(e);
  if (proxy) {
    if (!ctx.subject.scope) return t('log.actor.onBehalf', { id: proxy });
    return proxy === ctx.pairing.citizenId
      ? t('log.actor.youOnBehalfOf', { id: ctx.subject.citizenId })
      : t('log.actor.onBehalfOf', { id: proxy, subject: ctx.subject.citizenId });
  }
  switch (e.actor_kind) {
    case 'citizen':
      return e.actor_id === ctx.pairing.citizenId ? t('log.actor.you')
        : t('log.actor.citizen', { id: e.actor_id });
    case 'provider': return t('log.actor.provider', { id: e.actor_id });
    case 'researcher': return t('log.actor.researcher', { id: e.actor_id });
    case 'auditor': return t('log.actor.auditor', { id: e.actor_id });
    case 'app': return t('log.actor.app', { name: appActorName(e) });
    case 'operator': return t('log.actor.operator');
    default: return t('log.actor.system');
  }
}

// A refused entry may have words of its own (a statistics question that
// left the citizen out because their limit was reached).
function actionText(action, decision) {
  if (decision === 'deny') {
    const refused = `log.action.${action}.deny`;
    const text = t(refused);
    if (text !== refused) return text;
  }
  const key = `log.action.${action}`;
  const text = t(key);
  return text === key ? action : text;
}

const DUO_ABBR = { 'DUO:0000042': 'GRU', 'DUO:0000006': 'HMB', 'DUO:0000007': 'DS',
  'DUO:0000011': 'POA', 'DUO:0000043': 'CC' };

function purposeText(code) {
  const abbr = DUO_ABBR[code];
  return abbr ? t(`duo.${abbr}.label`) : code;
}

function breakGlassFor(e, sessions) {
  return sessions.find((s) => s.provider_id === e.actor_id &&
    e.time >= s.started - 60 && e.time <= s.expires);
}

/** The authorisations an entry by a proxy or guardian used, in words. */
function authorisationLines(e) {
  return (Array.isArray(e.grants) ? e.grants : []).map((id) => {
    if (typeof id !== 'string') return null;
    if (id.startsWith('gd_')) return t('log.guardianship', { id });
    if (id.startsWith('px_')) return t('log.authorisation', { id });
    return null;
  }).filter(Boolean);
}

/** "(via <device name>)" for an entry a paired device made, or null. */
function viaText(e) {
  if (typeof e.via !== 'string' || typeof e.device !== 'string' || !e.device.trim()) return null;
  return t('log.via', { device: e.device.trim() });
}

function entryItem(e, ctx, verified, sessions) {
  const session = e.actor_kind === 'provider' ? breakGlassFor(e, sessions) : null;
  const onBehalf = !!onBehalfActor(e);
  const isBreakGlass = e.action.startsWith('break-glass') || !!session;
  const ok = verified === true;
  const categories = (e.categories || []).map((c) => t(`category.${c}`));
  const via = viaText(e);
  return h('li', { class: ['log-entry', isBreakGlass && 'break-glass', onBehalf && 'on-behalf',
    e.actor_kind === 'app' && 'app'],
    dataset: { index: String(e.index), action: e.action, actorKind: String(e.actor_kind || '') } },
  h('p', {},
    h('span', { class: 'who' }, actorText(e, ctx)), ' ',
    via ? [h('span', { class: 'via' }, via), ' '] : null,
    h('span', {}, actionText(e.action, e.decision)), ' ',
    isBreakGlass ? h('span', { class: 'badge break-glass' }, t('log.breakGlass')) : null,
    onBehalf ? h('span', { class: 'badge on-behalf' }, t('log.onBehalfBadge')) : null),
  onBehalf ? authorisationLines(e).map((line) => h('p', { class: 'hint' }, line)) : null,
  session ? h('p', { class: 'reason' }, t('log.breakGlassReason', { reason: session.reason })) : null,
  h('p', { class: 'when' }, formatDateTime(e.time * 1000)),
  categories.length ? h('p', {}, t('log.categories', { list: categories.join(', ') })) : null,
  e.purpose ? h('p', {}, t('log.purpose', { purpose: purposeText(e.purpose) })) : null,
  e.study ? h('p', {}, t('log.study', { id: e.study })) : null,
  e.decision && e.decision !== 'none'
    ? h('p', {}, h('span', { class: ['badge', e.decision === 'deny' && 'deny'] },
      t(`log.decision.${e.decision}`))) : null,
  h('p', {}, ok
    ? h('span', { class: 'badge verified', title: t('log.verifiedHelp') }, `✓ ${t('log.verified')}`)
    : h('span', { class: 'badge unverified' }, t('log.unverified'))));
}

export async function render(main, ctx) {
  const before = ctx.params.get('before');
  const q = new URLSearchParams({ proofs: 'true', limit: String(PAGE) });
  if (before && /^\d+$/.test(before)) q.set('before', before);
  const page = await ctx.api.get(`/v1/me/access-log?${q}`);

  let verified = new Map();
  let warning = null;
  try {
    const key = await parseVerifierKey(ctx.pairing.auditKey);
    const stored = (await store.get(WITNESS)) || null;
    const fetchConsistency = async (from, to) =>
      (await ctx.api.get(`/v1/audit/proofs/consistency?from=${from}&to=${to}`)).hashes;
    const result = await verifyAccessLogPage(page, key, stored, fetchConsistency,
      ctx.subject.citizenId);
    verified = result.verified;
    await store.put(WITNESS, result.witness);
    if ([...verified.values()].some((v) => v !== true)) {
      warning = h('div', { class: 'warning', role: 'alert', id: 'log-warning' },
        h('p', {}, t('log.warning.invalid')), h('p', {}, t('log.warning.advice')));
    }
  } catch (err) {
    if (err && err.name === 'ProofError') {
      const kind = err.kind === 'rollback' || err.kind === 'fork' ? err.kind : 'invalid';
      warning = h('div', { class: 'warning', role: 'alert', id: 'log-warning' },
        h('p', {}, t(`log.warning.${kind}`)),
        h('p', {}, t('log.warning.advice')));
    } else {
      throw err;
    }
  }

  const sessions = Array.isArray(page.break_glass) ? page.break_glass : [];
  const entries = page.entries || [];
  const count = [...verified.values()].filter((v) => v === true).length;
  add(main, 
    h('h1', {}, t('log.title')),
    h('p', {}, t('log.intro')),
    ctx.subject.scope ? null
      : h('p', {}, h('a', { href: '#/notifications', id: 'log-notify-link' }, t('log.notifyLink'))),
    warning,
    h('p', { class: 'muted', id: 'log-summary' },
      t('log.summary', { verified: formatNumber(count), shown: formatNumber(entries.length),
        size: formatNumber(page.tree_size) })),
    entries.length ? h('ol', { class: 'log' },
      entries.map((e) => entryItem(e, ctx, verified.get(e.index), sessions)))
      : h('p', {}, t('log.none')),
    page.next !== null && page.next !== undefined
      ? h('p', {}, h('a', { href: `#/log?before=${page.next}`, id: 'log-older' }, t('log.older')))
      : null,
    before ? h('p', {}, h('a', { href: '#/log' }, t('log.newest'))) : null);
}

