// One record in readable form, with the raw FHIR JSON behind a toggle,
// and the switch that hides it from care providers (a restriction).
import { updateRestrictions } from '../consent.js';
import { recordDate, recordTitle, recordValue, sourceText, typeLabel } from '../fhir.js';
import { formatDate, formatDateTime, t } from '../i18n.js';
import { add, announce, errorBox, h } from '../ui.js';

function row(label, value) {
  if (!value) return null;
  return [h('dt', {}, label), h('dd', {}, value)];
}

/**
 * "Hide this record from care providers" / "Stop hiding this record":
 * adds or removes `ref` (Type/id) in the restrictions' records.
 */
function hideControl(ctx, ref, restrictions) {
  let hidden = Array.isArray(restrictions?.records) && restrictions.records.includes(ref);
  const state = h('p', { id: 'record-hidden-state' });
  const button = h('button', { type: 'button', class: 'secondary', id: 'toggle-hide',
    'aria-describedby': 'record-hidden-state' });
  const out = h('div', { class: 'hide-status' });
  const show = () => {
    state.textContent = t(hidden ? 'hide.record.isHidden' : 'hide.record.isShown');
    button.textContent = t(hidden ? 'hide.record.unhide' : 'hide.record.hide');
  };
  button.addEventListener('click', async () => {
    const hide = !hidden;
    out.replaceChildren();
    button.disabled = true;
    try {
      const now = await updateRestrictions(ctx.api, (r) => ({
        categories: r.categories,
        records: hide ? [...r.records.filter((x) => x !== ref), ref]
          : r.records.filter((x) => x !== ref),
      }));
      hidden = Array.isArray(now?.records) && now.records.includes(ref);
      show();
      announce(t(hidden ? 'hide.record.hidden' : 'hide.record.shown'));
    } catch (err) {
      out.replaceChildren(errorBox(err));
    } finally {
      button.disabled = false;
      button.focus();
    }
  });
  show();
  return h('section', { class: 'card', 'aria-labelledby': 'record-hide-title' },
    h('h2', { id: 'record-hide-title' }, t('hide.record.title')),
    state, button, out);
}

export async function render(main, ctx) {
  const [type, id] = ctx.args;
  const [r, restrictions] = await Promise.all([
    ctx.api.get(`/v1/me/records/${encodeURIComponent(type || '')}/${encodeURIComponent(id || '')}`),
    ctx.api.get('/v1/me/restrictions'),
  ]);
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
  add(main, 
    h('p', {}, h('a', { href: '#/records' }, `← ${t('record.back')}`)),
    h('h1', {}, recordTitle(r)),
    h('dl', { class: 'details' },
      row(t('record.type'), typeLabel(r.resourceType)),
      row(t('record.date'), !date ? t('records.noDate')
        : date.length <= 10 ? formatDate(date) : formatDateTime(date)),
      row(t('record.value'), recordValue(r)),
      row(t('record.status'), typeof r.status === 'string' ? r.status : ''),
      row(t('record.source'), sourceText(r)),
      row(t('record.id'), `${r.resourceType}/${r.id}`)),
    hideControl(ctx, `${r.resourceType}/${r.id}`, restrictions),
    toggle, raw);
}
