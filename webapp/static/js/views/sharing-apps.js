// The sharing page's "Apps you connected" section: each app the citizen
// allowed on the consent page (SMART App Launch, views/authorize.js), with
// what it was given in words and since when, and Revoke after a
// confirmation (DELETE /v1/me/apps/{id}: its tokens stop working at once).
// Revoked apps are listed apart, under "Apps you disconnected". Built from
// GET /v1/me/apps; never while acting for someone (the apps are the
// paired citizen's own, and js/api.js would not send the calls).
import {
  appCategoryWords, appStatus, hasOfflineAccess, offlineWords, parseScopes, scopeLines, splitApps,
} from '../apps.js';
import { formatDateTime, t } from '../i18n.js';
import { announce, confirmDialog, errorBox, h } from '../ui.js';

/** The apps answer as {body}, {error} when it cannot be read (the section
 * says so; the rest of the sharing page still shows), or null while
 * acting for someone (no section). */
export async function loadApps(ctx) {
  if (ctx.subject.scope) return null;
  try {
    return { body: await ctx.api.get('/v1/me/apps') };
  } catch (err) {
    return { error: err };
  }
}

function appName(a) {
  return typeof a.name === 'string' && a.name.trim() ? a.name.trim() : String(a.client_id || a.id);
}

async function revoke(ctx, a, button, out) {
  const name = appName(a);
  const ok = await confirmDialog({
    title: t('apps.revokeTitle', { name }),
    text: t('apps.revokeText', { name }),
    confirmLabel: t('apps.revoke'),
    danger: true,
  });
  if (!ok) return;
  button.disabled = true;
  out.replaceChildren();
  try {
    await ctx.api.del(`/v1/me/apps/${encodeURIComponent(a.id)}`);
  } catch (err) {
    // 409: revoked already (from another device): the list says so.
    if (!(err && err.name === 'ApiError' && err.status === 409)) {
      out.replaceChildren(errorBox(err));
      button.disabled = false;
      button.focus();
      return;
    }
  }
  announce(t('apps.revoked', { name }));
  await ctx.rerender();
}

// `heading`: the app name's heading level (h3, or h4 under "Apps you
// disconnected").
function appItem(ctx, a, heading) {
  const status = appStatus(a);
  const nameId = `app-item-name-${a.id}`;
  const out = h('div', { class: 'grant-error' });
  const lines = scopeLines(parseScopes(a.scope));
  const categories = appCategoryWords(a);
  const offline = a.offline_access === true || hasOfflineAccess(a.scope);
  let button = null;
  if (status === 'active') {
    button = h('button', { type: 'button', class: ['link-danger', 'revoke-app'],
      'aria-describedby': nameId, dataset: { appId: a.id } }, t('apps.revoke'));
    button.addEventListener('click', () => revoke(ctx, a, button, out));
  }
  return h('li', { class: ['grant', 'app', `app-${status}`], dataset: { appId: a.id, status } },
    h('p', {}, h('span', { class: ['badge', status] }, t(`sharing.status.${status}`))),
    h(heading, { class: 'app-name', id: nameId }, appName(a)),
    lines.length ? h('ul', { class: 'app-scopes' }, lines.map((line) => h('li', {}, line))) : null,
    categories.length ? h('p', { class: 'app-categories' },
      t('apps.categories', { list: categories.join(', ') })) : null,
    h('p', {}, t(a.include_sensitive === true ? 'sharing.sensitive.yes' : 'sharing.sensitive.no')),
    status === 'active' ? h('p', { class: 'app-offline' }, offlineWords(offline)) : null,
    h('p', { class: 'hint' },
      a.created ? t('apps.connected', { date: formatDateTime(a.created * 1000) }) : null,
      status === 'revoked' && a.revoked
        ? ` ${t('apps.revokedOn', { date: formatDateTime(a.revoked * 1000) })}` : null),
    h('p', { class: 'hint' }, t('apps.clientId', { id: String(a.client_id || '') })),
    button ? h('div', { class: 'actions' }, button) : null,
    out);
}

/** The section for `loaded` as loadApps gives it; null while acting. */
export function appsSection(ctx, loaded) {
  if (!loaded) return null;
  const parts = [h('p', {}, t('apps.intro'))];
  if (loaded.error) {
    parts.push(errorBox(loaded.error));
  } else {
    const { live, revoked } = splitApps(loaded.body);
    parts.push(live.length
      ? h('ul', { class: 'grants', id: 'apps', 'aria-label': t('apps.listLabel') },
        live.map((a) => appItem(ctx, a, 'h3')))
      : h('p', { id: 'apps-none' }, t('apps.none')));
    if (revoked.length) {
      parts.push(h('h3', { id: 'apps-revoked-title' }, t('apps.revokedTitle')),
        h('ul', { class: 'grants', id: 'apps-revoked', 'aria-label': t('apps.revokedListLabel') },
          revoked.map((a) => appItem(ctx, a, 'h4'))));
    }
  }
  return h('section', { class: 'apps', id: 'connected-apps', 'aria-labelledby': 'apps-title' },
    h('h2', { id: 'apps-title' }, t('apps.title')),
    parts);
}
