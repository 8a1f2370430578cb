// People who act for me (EHDS Art 4(2)-(3)): the citizen's authorisations
// and guardianships in words, newest first with the live ones on top; a
// form to authorise someone by their citizen id, reused by Change; and
// Revoke after a confirmation. Guardianships are recorded by the operator:
// the app shows them and offers neither Change nor Revoke.
import { CATEGORIES } from '../fhir.js';
import { t } from '../i18n.js';
import {
  buildProxyBody, canChange, draftOf, emptyProxyDraft, proxyDates, proxyDetails, proxySentence,
  proxyStatus, serverFieldError, sortProxies, todayUtc, validateProxyDraft,
} from '../proxies.js';
import { add, announce, confirmDialog, errorBox, field, h } from '../ui.js';

/** A checkbox or radio with its label (and hint) beside it. */
function choice({ type, name, value, id, label, hint, checked }) {
  const input = h('input', { type, name, value, id, checked });
  const wrap = h('div', { class: 'choice' }, input,
    h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, hint) : null));
  return { wrap, input };
}

/** An error slot for a group of radios or checkboxes, wired to them. */
function groupError(name, inputs, hintId) {
  const errId = `${name}-error`;
  const p = h('p', { class: 'field-error', id: errId });
  for (const input of inputs) {
    input.setAttribute('aria-describedby', [hintId, errId].filter(Boolean).join(' '));
  }
  return {
    el: p,
    setError(text) {
      p.textContent = text || '';
      for (const input of inputs) {
        if (text) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      }
    },
    focus() { inputs[0]?.focus(); },
  };
}

/**
 * The form: authorise someone (`existing` null), or change what an
 * authorisation allows (`existing` the stored one, its person fixed).
 * `done(saved)` runs after the vault accepted it; `cancel` closes a change.
 */
function proxyForm(ctx, { existing = null, done, cancel }) {
  const change = !!existing;
  const draft = existing ? draftOf(existing) : emptyProxyDraft();
  const slots = {}; // field or group name → {setError, focus}

  const idInput = h('input', { type: 'text', name: 'proxy', id: 'proxy-id', spellcheck: 'false',
    autocomplete: 'off', autocapitalize: 'off', maxlength: 40 });
  const idField = change ? null
    : field({ label: t('proxies.form.id'), control: idInput, hint: t('proxies.form.idHint') });
  if (idField) slots['proxy-id'] = { setError: idField.setError, focus: () => idInput.focus() };

  const accessInputs = [];
  const accessChoices = ['read', 'read-write'].map((a) => {
    const c = choice({ type: 'radio', name: 'proxy-access', value: a, id: `proxy-access-${a}`,
      label: t(`proxies.form.access.${a}`), hint: t(`proxies.form.access.${a}.hint`),
      checked: draft.access === a });
    accessInputs.push(c.input);
    return c.wrap;
  });
  slots['proxy-access'] = groupError('proxy-access', accessInputs);

  const categoryInputs = [];
  const categoryChoices = CATEGORIES.map((c) => {
    const ch = choice({ type: 'checkbox', name: 'proxy-category', value: c,
      id: `proxy-category-${c}`, label: t(`category.${c}`), checked: draft.categories.includes(c) });
    categoryInputs.push(ch.input);
    return ch.wrap;
  });
  slots['proxy-category'] = groupError('proxy-category', categoryInputs, 'proxy-category-hint');

  const untilInput = h('input', { type: 'date', name: 'until', id: 'proxy-until',
    min: todayUtc(Date.now()), value: draft.until });
  const untilField = field({ label: t('proxies.form.until'), control: untilInput,
    hint: t('proxies.form.untilHint') });
  slots['proxy-until'] = { setError: untilField.setError, focus: () => untilInput.focus() };

  const purposeInput = h('input', { type: 'text', name: 'purpose', id: 'proxy-purpose',
    spellcheck: 'false', autocomplete: 'off', autocapitalize: 'off', maxlength: 64,
    value: draft.purpose });
  const purposeField = field({ label: t('proxies.form.purpose'), control: purposeInput,
    hint: t('proxies.form.purposeHint') });
  slots['proxy-purpose'] = { setError: purposeField.setError, focus: () => purposeInput.focus() };

  const sensitive = choice({ type: 'checkbox', name: 'include-sensitive', id: 'proxy-sensitive',
    label: t('proxies.form.sensitive'), hint: t('proxies.form.sensitiveHint'),
    checked: draft.includeSensitive });
  const restricted = choice({ type: 'checkbox', name: 'include-restricted', id: 'proxy-restricted',
    label: t('proxies.form.restricted'), hint: t('proxies.form.restrictedHint'),
    checked: draft.includeRestricted });

  const out = h('div', { class: 'proxy-status', id: 'proxy-form-status' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'proxy-save' },
    t(change ? 'proxies.form.save' : 'proxies.form.submit'));
  const cancelButton = change ? h('button', { type: 'button', class: 'secondary',
    id: 'proxy-cancel', onclick: cancel }, t('common.cancel')) : null;

  const form = h('form', { novalidate: true, id: 'proxy-form' },
    idField,
    h('fieldset', {}, h('legend', {}, t('proxies.form.access')), accessChoices,
      slots['proxy-access'].el),
    h('fieldset', {}, h('legend', {}, t('proxies.form.categories')),
      h('p', { class: 'hint', id: 'proxy-category-hint' }, t('proxies.form.categoriesHint')),
      categoryChoices, slots['proxy-category'].el),
    untilField, purposeField,
    h('fieldset', {}, h('legend', {}, t('proxies.form.records')), sensitive.wrap, restricted.wrap),
    out,
    h('div', { class: 'actions start' }, save, cancelButton));

  const read = () => ({
    proxy: idInput.value,
    access: accessInputs.find((i) => i.checked)?.value || '',
    categories: categoryInputs.filter((i) => i.checked).map((i) => i.value),
    until: untilInput.value,
    purpose: purposeInput.value,
    includeSensitive: sensitive.input.checked,
    includeRestricted: restricted.input.checked,
  });
  const clear = () => {
    for (const slot of Object.values(slots)) slot.setError('');
    out.replaceChildren();
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear();
    const d = read();
    const errors = validateProxyDraft(d, { nowMs: Date.now(), self: ctx.pairing.citizenId, change });
    if (errors.length) {
      for (const x of errors) slots[x.field]?.setError(t(x.key, x.params));
      slots[errors[0].field]?.focus();
      return;
    }
    save.disabled = true;
    let saved;
    try {
      const body = buildProxyBody(d, { change });
      saved = change
        ? await ctx.api.own.put(`/v1/me/proxies/${encodeURIComponent(existing.id)}`, body)
        : await ctx.api.own.post('/v1/me/proxies', body);
    } catch (err) {
      save.disabled = false;
      // A 400 names the member it is about ("proxy: no such citizen"):
      // said beside that control; anything else below the form.
      const about = err && err.name === 'ApiError' && err.status === 400
        ? serverFieldError(err.detail) : null;
      if (about && slots[about.field]) {
        slots[about.field].setError(about.text);
        slots[about.field].focus();
      } else {
        out.replaceChildren(errorBox(err, err && err.status === 409
          ? t('proxies.error.conflict') : undefined));
        save.focus();
      }
      return;
    }
    await done(saved);
  });
  return form;
}

async function revoke(ctx, a, sentence, button, out) {
  const ok = await confirmDialog({
    title: t('proxies.revokeTitle'),
    text: t('proxies.revokeText', { sentence, id: a.proxy }),
    confirmLabel: t('proxies.revoke'),
    danger: true,
  });
  if (!ok) return;
  button.disabled = true;
  out.replaceChildren();
  try {
    await ctx.api.own.del(`/v1/me/proxies/${encodeURIComponent(a.id)}`);
  } catch (err) {
    out.replaceChildren(errorBox(err));
    button.disabled = false;
    button.focus();
    return;
  }
  announce(t('proxies.revoked', { id: a.proxy }));
  await ctx.rerender();
}

function proxyItem(ctx, a, nowMs, onChange) {
  const status = proxyStatus(a, nowMs);
  const guardian = a.kind === 'guardian';
  const sentence = proxySentence(a);
  const textId = `proxy-text-${a.id}`;
  const out = h('div', { class: 'proxy-error' });
  const dates = proxyDates(a);
  let actions = null;
  if (canChange(a, nowMs)) {
    const change = h('button', { type: 'button', class: ['secondary', 'change'],
      'aria-describedby': textId, dataset: { proxyId: a.id } }, t('proxies.change'));
    change.addEventListener('click', () => onChange(a, change));
    const button = h('button', { type: 'button', class: ['link-danger', 'revoke'],
      'aria-describedby': textId, dataset: { proxyId: a.id } }, t('proxies.revoke'));
    button.addEventListener('click', () => revoke(ctx, a, sentence, button, out));
    actions = h('div', { class: 'actions start' }, change, button);
  }
  return h('li', { class: ['grant', 'proxy', `proxy-${status}`, guardian && 'proxy-guardian'],
    dataset: { proxyId: a.id, status, kind: guardian ? 'guardian' : 'proxy' } },
  h('p', {}, h('span', { class: ['badge', status] }, t(`proxies.status.${status}`)),
    guardian ? [' ', h('span', { class: ['badge', 'guardian'] }, t('proxies.guardianBadge'))] : null),
  h('p', { class: 'grant-text', id: textId }, sentence),
  guardian ? h('p', { class: 'guardian-note' }, t('proxies.guardian')) : null,
  h('p', { class: 'hint' }, proxyDetails(a, nowMs).join(' ')),
  guardian && status === 'ended'
    ? h('p', { class: 'guardian-note' }, t('proxies.guardianEnded')) : null,
  dates.length ? h('p', { class: 'hint' }, dates.join(' ')) : null,
  h('p', { class: 'hint' }, t('proxies.id', { id: a.id })),
  actions,
  out);
}

export async function render(main, ctx) {
  const answer = await ctx.api.own.get('/v1/me/proxies');
  const nowMs = Date.now();
  const all = sortProxies(Array.isArray(answer?.proxies) ? answer.proxies : [], nowMs);

  const formTitle = h('h2', { id: 'proxy-form-title', tabindex: '-1' });
  const formIntro = h('p', {});
  const formBox = h('div', {});
  let opener = null;
  function showNew() {
    formTitle.textContent = t('proxies.form.title');
    formIntro.textContent = t('proxies.form.intro');
    formBox.replaceChildren(proxyForm(ctx, {
      done: async (saved) => {
        announce(t('proxies.created', { id: saved?.proxy || '' }));
        await ctx.rerender();
      },
    }));
  }
  function showChange(a, button) {
    opener = button;
    formTitle.textContent = t('proxies.form.changeTitle', { id: a.proxy });
    formIntro.textContent = t('proxies.form.changeIntro');
    formBox.replaceChildren(proxyForm(ctx, {
      existing: a,
      done: async () => {
        announce(t('proxies.changed'));
        await ctx.rerender();
      },
      cancel: () => {
        showNew();
        if (opener && opener.isConnected) opener.focus();
      },
    }));
    formTitle.focus();
  }
  showNew();

  add(main,
    h('h1', {}, t('proxies.title')),
    h('p', {}, t('proxies.intro')),
    h('h2', { id: 'proxies-list-title' }, t('proxies.listTitle')),
    all.length
      ? h('ul', { class: 'grants', id: 'proxies', 'aria-labelledby': 'proxies-list-title' },
        all.map((a) => proxyItem(ctx, a, nowMs, showChange)))
      : h('p', { id: 'proxies-none' }, t('proxies.none')),
    h('section', { class: 'card', id: 'proxy-form-section', 'aria-labelledby': 'proxy-form-title' },
      formTitle, formIntro, formBox));
}
