// Sharing: the citizen's grants in plain language, active ones first, each
// active one revocable after a confirmation; the way into the grant wizard;
// the apps the citizen connected (sharing-apps.js); and how much privacy
// each study's statistics questions have used.
import { grantDetails, grantSentence, grantStatus, sortGrants, formatWhen } from '../consent.js';
import { t } from '../i18n.js';
import { add, announce, confirmDialog, errorBox, h } from '../ui.js';
import { appsSection, loadApps } from './sharing-apps.js';
import { loadPrivacyBudget, privacySection } from './sharing-privacy.js';

async function revoke(ctx, grant, sentence, button, out) {
  const ok = await confirmDialog({
    title: t('sharing.revokeTitle'),
    text: t('sharing.revokeText', { sentence }),
    confirmLabel: t('sharing.revoke'),
    danger: true,
  });
  if (!ok) return;
  button.disabled = true;
  out.replaceChildren();
  try {
    await ctx.api.del(`/v1/me/consents/${encodeURIComponent(grant.id)}`);
  } catch (err) {
    out.replaceChildren(errorBox(err));
    button.disabled = false;
    button.focus();
    return;
  }
  announce(t('sharing.revoked'));
  await ctx.rerender();
}

function grantItem(ctx, g, nowMs) {
  const status = grantStatus(g, nowMs);
  const sentence = grantSentence(g);
  const textId = `grant-text-${g.id}`;
  const out = h('div', { class: 'grant-error' });
  let when = null;
  if (status === 'revoked' && g.revoked) when = t('sharing.revokedOn', { date: formatWhen(g.revoked) });
  else if (status === 'expired') when = t('sharing.endedOn', { date: formatWhen(g.expires) });
  let button = null;
  if (status === 'active' && ctx.subject.canWrite) {
    button = h('button', { type: 'button', class: ['link-danger', 'revoke'],
      'aria-describedby': textId, dataset: { grantId: g.id } }, t('sharing.revoke'));
    button.addEventListener('click', () => revoke(ctx, g, sentence, button, out));
  }
  return h('li', { class: ['grant', `grant-${status}`], dataset: { grantId: g.id, status } },
    h('p', {}, h('span', { class: ['badge', status] }, t(`sharing.status.${status}`))),
    h('p', { class: 'grant-text', id: textId }, sentence),
    h('p', { class: 'hint' }, grantDetails(g)),
    h('p', { class: 'hint' },
      g.created ? t('sharing.created', { date: formatWhen(g.created) }) : null,
      when ? ` ${when}` : null),
    h('p', { class: 'hint' }, t('sharing.id', { id: g.id })),
    button ? h('div', { class: 'actions' }, button) : null,
    out);
}

/** An opt-out (research or primary use), or null when it cannot be read:
 * the notice it drives is advice beside the list, which must show
 * regardless. */
async function optedOut(ctx, path) {
  try {
    const r = await ctx.api.get(path);
    return r && r.opted_out === true;
  } catch {
    return null;
  }
}

function optOutNotice(id, key, link) {
  return h('p', { class: 'notice', id }, t(key), ' ', h('a', { href: '#/hide' }, t(link)));
}

export async function render(main, ctx) {
  const [list, opted, primaryOpted, budget, apps] = await Promise.all([
    ctx.api.get('/v1/me/consents'), optedOut(ctx, '/v1/me/research-opt-out'),
    optedOut(ctx, '/v1/me/primary-use-opt-out'), loadPrivacyBudget(ctx), loadApps(ctx)]);
  const nowMs = Date.now();
  const grants = sortGrants(Array.isArray(list?.consents) ? list.consents : [], nowMs);

  add(main, 
    h('h1', {}, t('sharing.title')),
    h('p', {}, t('sharing.intro')),
    primaryOpted ? optOutNotice('primary-opted-out-notice', 'sharing.primaryOptedOut',
      'sharing.primaryOptOutLink') : null,
    opted ? optOutNotice('opted-out-notice', 'sharing.optedOut', 'sharing.optOutLink') : null,
    ctx.subject.canWrite
      ? h('p', {}, h('a', { href: '#/grant', class: 'button-link', id: 'new-grant' }, t('sharing.new')))
      : null,
    grants.length
      ? h('ul', { class: 'grants', id: 'grants', 'aria-label': t('sharing.listLabel') },
        grants.map((g) => grantItem(ctx, g, nowMs)))
      : h('p', { id: 'grants-none' }, t('sharing.none')),
    appsSection(ctx, apps),
    privacySection(budget));
}
