// One record in readable form, with the raw FHIR JSON behind a toggle.
import { recordDate, recordTitle, recordValue, sourceText, typeLabel } from '../fhir.js';
import { formatDateTime, t } from '../i18n.js';
import { h } from '../ui.js';

function row(label, value) {
  if (!value) return null;
  return [h('dt', {}, label), h('dd', {}, value)];
}

export async function render(main, ctx) {
  const [type, id] = ctx.args;
  const r = await ctx.api.get(`/v1/me/records/${encodeURIComponent(type || '')}/${encodeURIComponent(id || '')}`);
  const date = recordDate(r);
  const raw = h('pre', { class: 'raw', id: 'raw-json', hidden: true, tabindex: '0' },
    JSON.stringify(r, null, 2));
  const toggle = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false',
    'aria-controls': 'raw-json', id: 'toggle-raw' }, t('record.showRaw'));
  toggle.addEventListener('click', () => {
    raw.hidden = !raw.hidden;
    toggle.setAttribute('aria-expanded', String(!raw.hidden));
    toggle.textContent = raw.hidden ? t('record.showRaw') : t('record.hideRaw');
  });
  main.append(
    h('p', {}, h('a', { href: '#/records' }, `← ${t('record.back')}`)),
    h('h1', {}, recordTitle(r)),
    h('dl', { class: 'details' },
      row(t('record.type'), typeLabel(r.resourceType)),
      row(t('record.date'), date ? formatDateTime(date) : t('records.noDate')),
      row(t('record.value'), recordValue(r)),
      row(t('record.status'), typeof r.status === 'string' ? r.status : ''),
      row(t('record.source'), sourceText(r)),
      row(t('record.id'), `${r.resourceType}/${r.id}`)),
    toggle, raw);
}
