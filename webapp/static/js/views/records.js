// My health data: the timeline of records, newest first, filtered by
// category, a page at a time; the corrections the citizen asked for; and
// "Download everything" (the FHIR export).
import { CATEGORIES, recordDate, recordTitle, recordValue, sourceText, typeLabel }
  from '../fhir.js';
import { formatDate, formatNumber, t } from '../i18n.js';
import { add, announce, errorBox, h } from '../ui.js';
import { correctionsSection, loadRequests } from './records-corrections.js';

const PAGE = 25;

function recordItem(r, ctx) {
  const date = recordDate(r);
  const value = recordValue(r);
  return h('li', { class: 'record' },
    h('a', { href: `#/record/${encodeURIComponent(r.resourceType)}/${encodeURIComponent(r.id)}`,
      class: 'record-link' },
    h('span', { class: 'record-date' }, date ? formatDate(date) : t('records.noDate')),
    h('span', { class: 'record-title' }, recordTitle(r)),
    value ? h('span', { class: 'record-value' }, value) : null,
    h('span', { class: 'record-meta' }, `${typeLabel(r.resourceType)} · ${sourceText(r)}`)));
}

async function download(ctx, button, out) {
  button.disabled = true;
  out.replaceChildren(h('p', { class: 'loading' }, t('records.downloading')));
  try {
    const res = await ctx.api.send('GET', '/v1/me/export');
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `tillit-export-${ctx.subject.citizenId}.json` });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    out.replaceChildren(h('p', { class: 'ok' },
      t('records.downloaded', { size: formatNumber(Math.ceil(blob.size / 1024)) })));
    announce(t('records.downloaded', { size: formatNumber(Math.ceil(blob.size / 1024)) }));
  } catch (err) {
    out.replaceChildren(errorBox(err));
  } finally {
    button.disabled = false;
  }
}

export async function render(main, ctx) {
  const category = CATEGORIES.includes(ctx.params.get('category'))
    ? ctx.params.get('category') : '';
  const [summary, corrections] = await Promise.all([ctx.api.get('/v1/me'), loadRequests(ctx)]);
  const counts = summary.by_category || {};

  const select = h('select', { id: 'category-filter' },
    h('option', { value: '' }, t('records.allCategories', { n: formatNumber(summary.records || 0) })),
    CATEGORIES.filter((c) => counts[c] || c === category).map((c) => h('option',
      { value: c, selected: c === category },
      `${t(`category.${c}`)} (${formatNumber(counts[c] || 0)})`)));
  select.addEventListener('change', () =>
    ctx.go('records', select.value ? { category: select.value } : null));

  const list = h('ol', { class: 'records', 'aria-label': t('records.listLabel') });
  const more = h('button', { type: 'button', class: 'secondary', id: 'more-records' },
    t('records.more'));
  const listStatus = h('p', { class: 'list-status', 'aria-live': 'polite' });
  let cursor = null;
  let shown = 0;
  async function loadPage() {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (category) q.set('category', category);
    if (cursor) q.set('cursor', cursor);
    const page = await ctx.api.get(`/v1/me/records?${q}`);
    for (const r of page.records) list.appendChild(recordItem(r, ctx));
    shown += page.records.length;
    cursor = page.next;
    more.hidden = !cursor;
    listStatus.textContent = shown === 0 ? t('records.none')
      : t('records.shown', { n: formatNumber(shown) });
  }
  more.addEventListener('click', async () => {
    more.disabled = true;
    const first = list.children.length;
    try {
      await loadPage();
      list.children[first]?.querySelector('a')?.focus();
    } catch (err) {
      listStatus.replaceChildren(errorBox(err));
    } finally {
      more.disabled = false;
    }
  });
  await loadPage();

  const downloadOut = h('div', { class: 'download-status' });
  const downloadButton = h('button', { type: 'button', class: 'secondary', id: 'download' },
    t('records.download'));
  downloadButton.addEventListener('click', () => download(ctx, downloadButton, downloadOut));

  add(main, 
    h('h1', {}, t('records.title')),
    h('p', {}, t('records.intro')),
    h('div', { class: 'toolbar' },
      h('div', { class: 'field inline' },
        h('label', { for: 'category-filter' }, t('records.filter')), select),
      ctx.subject.canWrite ? h('a', { href: '#/add', class: 'button-link' }, t('nav.add')) : null),
    listStatus, list, more,
    correctionsSection(corrections),
    h('section', { class: 'card', 'aria-labelledby': 'download-title' },
      h('h2', { id: 'download-title' }, t('records.downloadTitle')),
      h('p', {}, t('records.downloadIntro')),
      downloadButton, downloadOut));
}
