// Corrections the citizen asked for (EHDS Art 6, rectification): each
// request with where it stands and the care provider's answer. The records
// page lists them all; a record's page lists those about it. Built from
// GET /v1/rectification-requests.
import { typeLabel } from '../fhir.js';
import { t } from '../i18n.js';
import { requestLines, requestList, splitRef } from '../rectification.js';
import { errorBox, h } from '../ui.js';

/** The requests as {requests} (requestList's shape), or {error} when they
 * cannot be read: the section says so, and the rest of the page shows.
 * While acting for someone, {requests: [], unavailable: true}: the list
 * has no route for a proxy (it would be the proxy's own requests). */
export async function loadRequests(ctx) {
  if (ctx.subject?.scope) return { requests: [], unavailable: true };
  try {
    return { requests: requestList(await ctx.api.get('/v1/rectification-requests')) };
  } catch (err) {
    return { error: err };
  }
}

/** One request; `link` names its record with a link to it. */
export function requestItem(r, { link = true } = {}) {
  const [type, id] = splitRef(r.record);
  return h('li', { class: ['grant', 'fix-request'],
    dataset: { requestId: r.id, status: r.status, record: r.record } },
  h('p', {}, h('span', { class: ['badge', `fix-${r.status}`] }, t(`request.status.${r.status}`)),
    link ? [' ', h('a', { href: `#/record/${encodeURIComponent(type)}/${encodeURIComponent(id)}` },
      `${typeLabel(type)} ${id}`)] : null),
  r.reason ? h('p', { class: 'fix-reason' }, t('request.reason', { reason: r.reason })) : null,
  requestLines(r).map((line) => h('p', {}, line)),
  h('p', { class: 'hint' }, t('request.id', { id: r.id })));
}

/** The records page's section for `loaded` as loadRequests gives it;
 * none while acting for someone. */
export function correctionsSection(loaded) {
  if (loaded.unavailable) return null;
  let body;
  if (loaded.error) {
    body = errorBox(loaded.error);
  } else if (!loaded.requests.length) {
    body = h('p', { id: 'fix-requests-none' }, t('request.none'));
  } else {
    body = h('ul', { class: 'grants', id: 'fix-requests', 'aria-labelledby': 'fix-requests-title' },
      loaded.requests.map((r) => requestItem(r)));
  }
  return h('section', { class: 'card', id: 'corrections', 'aria-labelledby': 'fix-requests-title' },
    h('h2', { id: 'fix-requests-title' }, t('request.title')),
    h('p', {}, t('request.intro')),
    body);
}
