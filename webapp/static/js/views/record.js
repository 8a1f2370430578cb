// One record in readable form, with the raw FHIR JSON behind a toggle;
// the switch that hides it from care providers (a restriction); its
// correction (EHDS Art 6): Edit for a reading the citizen entered, else a
// request to the care provider who can correct it; and its earlier
// versions, each shown as the record is.
import { updateRestrictions } from '../consent.js';
import { recordDate, recordSource, recordTitle, recordValue, sourceText, typeLabel } from '../fhir.js';
import { formatDate, formatDateTime, formatNumber, t } from '../i18n.js';
import {
  MAX_REASON_BYTES, askErrorKey, checkReason, historyVersions, pendingFor, requestList,
  requestsFor, sourceWords, versionLines,
} from '../rectification.js';
import { add, announce, errorBox, field, h } from '../ui.js';
import { readingForm, readingOf } from './add.js';
import { loadRequests, requestItem } from './records-corrections.js';

function row(label, value) {
  if (!value) return null;
  return [h('dt', {}, label), h('dd', {}, value)];
}

/** A record's details; `source` says where it came from (an earlier
 * version's source comes with the history, not in the resource). */
function details(r, source = sourceText(r)) {
  const date = recordDate(r);
  return h('dl', { class: 'details' },
    row(t('record.type'), typeLabel(r.resourceType)),
    row(t('record.date'), !date ? t('records.noDate')
      : date.length <= 10 ? formatDate(date) : formatDateTime(date)),
    row(t('record.value'), recordValue(r)),
    row(t('record.status'), typeof r.status === 'string' ? r.status : ''),
    row(t('record.source'), source),
    row(t('record.id'), `${r.resourceType}/${r.id}`));
}

/** Opens and closes `box` from `button` (aria-expanded); `fill` builds the
 * box's content on opening and gets `close`. Focus goes into the box on
 * opening and back to the button on closing. */
function disclosure(button, box, fill) {
  const close = () => {
    box.hidden = true;
    box.replaceChildren();
    button.setAttribute('aria-expanded', 'false');
    button.focus();
  };
  button.addEventListener('click', () => {
    if (!box.hidden) { close(); return; }
    box.replaceChildren(fill(close));
    box.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    box.querySelector('input, textarea, select')?.focus();
  });
}

function cancelButton(id, close) {
  return h('button', { type: 'button', class: 'secondary', id, onclick: close }, t('common.cancel'));
}

/** Edit: the reading form, filled in, PUTs the corrected resource. */
function editPart(ctx, r, path) {
  const reading = readingOf(r);
  if (!reading) return [h('p', { id: 'fix-own-other' }, t('fix.ownOther'))];
  const box = h('div', { id: 'edit-box', hidden: true });
  const button = h('button', { type: 'button', class: 'secondary', id: 'edit-record',
    'aria-expanded': 'false', 'aria-controls': 'edit-box' }, t('fix.edit'));
  disclosure(button, box, (close) => add(readingForm({
    reading, fixed: true, submitLabel: t('fix.editSave'),
    save: async (fresh) => {
      // The fields the form does not show are kept as they were.
      await ctx.api.put(path, { ...r, ...fresh, id: r.id });
      announce(t('fix.edited'));
      await ctx.rerender();
    },
  }), ' ', cancelButton('edit-cancel', close)));
  return [h('p', {}, t('fix.own')), button, box];
}

function pendingNotice(request) {
  return h('p', { class: 'notice', id: 'fix-pending', tabindex: '-1' },
    request.createdAt === null ? t('request.status.pending')
      : t('fix.pending', { date: formatDateTime(request.createdAt * 1000) }));
}

/** Ask for a correction: the reason, checked in the form, POSTed; then
 * the request waits for the care provider's answer. */
function askPart(ctx, r, path, loaded) {
  const ref = `${r.resourceType}/${r.id}`;
  const requests = loaded.error ? [] : requestsFor(loaded.requests, ref);
  const list = h('ul', { class: 'grants', id: 'fix-record-requests',
    'aria-labelledby': 'fix-record-requests-title' },
  requests.map((x) => requestItem(x, { link: false })));
  const listPart = h('div', { hidden: !requests.length },
    h('h3', { id: 'fix-record-requests-title' }, t('fix.requestsHere')), list);
  const pending = pendingFor(requests, ref);
  const area = h('div', { id: 'fix-ask' });
  if (pending) {
    area.append(pendingNotice(pending));
  } else {
    const box = h('div', { id: 'fix-form-box', hidden: true });
    const button = h('button', { type: 'button', class: 'secondary', id: 'ask-correction',
      'aria-expanded': 'false', 'aria-controls': 'fix-form-box' }, t('fix.ask'));
    disclosure(button, box, (close) => askForm(ctx, path, ref, close, (created) => {
      area.replaceChildren(pendingNotice(created));
      list.prepend(requestItem(created, { link: false }));
      listPart.hidden = false;
      area.querySelector('#fix-pending').focus();
      announce(t('fix.sent'));
    }));
    area.append(button, box);
  }
  return [h('p', {}, t('fix.intro')),
    loaded.error ? errorBox(loaded.error) : null,
    area, listPart];
}

function askForm(ctx, path, ref, close, done) {
  const max = formatNumber(MAX_REASON_BYTES);
  const textarea = h('textarea', { name: 'reason', id: 'fix-reason', required: true, rows: '5' });
  const wrap = field({ label: t('fix.reason'), control: textarea,
    hint: t('fix.reasonHint', { max }) });
  const count = h('p', { class: 'hint', id: 'fix-reason-count' });
  textarea.setAttribute('aria-describedby',
    `${textarea.getAttribute('aria-describedby')} fix-reason-count`);
  const showCount = () => {
    const { bytes } = checkReason(textarea.value);
    count.textContent = t('fix.reasonCount', { n: formatNumber(bytes), max });
    count.classList.toggle('over', bytes > MAX_REASON_BYTES);
  };
  textarea.addEventListener('input', showCount);
  showCount();
  wrap.querySelector('.field-error').before(count);
  const out = h('div', { class: 'fix-status' });
  const send = h('button', { type: 'submit', class: 'primary', id: 'fix-send' }, t('fix.send'));
  const form = h('form', { novalidate: true, id: 'fix-form' }, wrap, out, send, ' ',
    cancelButton('fix-cancel', close));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    out.replaceChildren();
    const checked = checkReason(textarea.value);
    wrap.setError(checked.error ? t(checked.error, { n: formatNumber(checked.bytes), max }) : '');
    if (checked.error) {
      textarea.focus();
      return;
    }
    send.disabled = true;
    try {
      const created = await ctx.api.post(`${path}/rectification-requests`,
        { reason: checked.reason });
      done(requestList({ requests: [created] })[0] ||
        { id: String(created?.id || ''), status: 'pending', record: ref, reason: checked.reason,
          provider: '', createdAt: null, decidedAt: null, decisionReason: '' });
    } catch (err) {
      // Which refusal a 409 is (askErrorKey): a request already waiting
      // (sent from another device, say) shows in the list read again.
      // Acting for someone, that list cannot be read: the vault's own
      // words say which refusal it is.
      if (ctx.subject.scope && err && err.name === 'ApiError' && err.status === 409) {
        out.replaceChildren(errorBox(err));
        send.disabled = false;
        return;
      }
      let waiting = false;
      if (err && err.name === 'ApiError' && err.status === 409) {
        try {
          waiting = !!pendingFor(requestList(await ctx.api.get('/v1/rectification-requests')), ref);
        } catch { /* the general sentence for 409 below */ }
      }
      const key = askErrorKey(err, { pending: waiting });
      out.replaceChildren(errorBox(err, key ? t(key, { max }) : undefined));
      send.disabled = false;
    }
  });
  return form;
}

/** "Correct this record": Edit for one the citizen entered, else a
 * request to the care provider. */
function correctionSection(ctx, r, path, loaded) {
  const own = recordSource(r).kind === 'citizen';
  return h('section', { class: 'card', id: 'record-correction',
    'aria-labelledby': 'record-correction-title' },
  h('h2', { id: 'record-correction-title' }, t('fix.title')),
  own ? editPart(ctx, r, path) : askPart(ctx, r, path, loaded));
}

/** "Earlier versions": none shown when the record was never changed. */
function historySection(loaded) {
  if (!loaded.error && !loaded.versions.length) return null;
  return h('section', { class: 'history', id: 'record-history', 'aria-labelledby': 'history-title' },
    h('h2', { id: 'history-title' }, t('history.title')),
    loaded.error ? errorBox(loaded.error) : [
      h('p', {}, t('history.intro')),
      h('ol', { class: 'versions', 'aria-labelledby': 'history-title' },
        loaded.versions.map((v) => h('li', { class: 'version',
          dataset: v.request ? { version: String(v.version), request: v.request }
            : { version: String(v.version) } },
        h('h3', {}, t('history.version', { n: formatNumber(v.version) })),
        versionLines(v).map((line) => h('p', { class: 'version-change' }, line)),
        details(v.resource, sourceWords(v.source)))))]);
}

async function loadHistory(ctx, path) {
  try {
    return { versions: historyVersions(await ctx.api.get(`${path}/history`)) };
  } catch (err) {
    return { error: err };
  }
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
  const path = `/v1/me/records/${encodeURIComponent(type || '')}/${encodeURIComponent(id || '')}`;
  // Acting for someone, hiding needs an authorisation for all their data
  // (the vault refuses the rest), and correcting needs one that writes.
  const [r, restrictions, history] = await Promise.all([
    ctx.api.get(path),
    ctx.subject.settings ? ctx.api.get('/v1/me/restrictions') : null,
    loadHistory(ctx, path),
  ]);
  // The requests matter only for a record someone else corrects (and each
  // reading of them is an entry in the citizen's access log).
  const requests = recordSource(r).kind === 'citizen' || !ctx.subject.canWrite ? null
    : await loadRequests(ctx);
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
    details(r),
    ctx.subject.canWrite ? correctionSection(ctx, r, path, requests) : null,
    ctx.subject.settings ? hideControl(ctx, `${r.resourceType}/${r.id}`, restrictions) : null,
    toggle, raw,
    historySection(history));
}
