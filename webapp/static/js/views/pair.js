// Pairing this browser with a one-time code: from the operator, or made
// on another of the citizen's devices (Devices → "Pair another device").
// A browser that came to answer an app's request (ctx.returnTo) says so,
// and goes back to that request once paired.
import * as device from '../device.js';
import { publicFetch } from '../api.js';
import { t } from '../i18n.js';
import { add, errorBox, field, h } from '../ui.js';

export async function render(main, ctx) {
  const code = h('input', { type: 'text', name: 'code', autocomplete: 'one-time-code',
    spellcheck: 'false', autocapitalize: 'off', required: true });
  const name = h('input', { type: 'text', name: 'name', maxlength: 64,
    value: device.defaultName(), required: true });
  const codeField = field({ label: t('pair.code'), control: code, hint: t('pair.codeHint') });
  const nameField = field({ label: t('pair.name'), control: name, hint: t('pair.nameHint') });
  const errors = h('div', { class: 'form-errors' });
  const button = h('button', { type: 'submit', class: 'primary' }, t('pair.submit'));
  const form = h('form', { novalidate: true }, codeField, nameField, errors, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    codeField.setError('');
    nameField.setError('');
    errors.replaceChildren();
    const c = code.value.trim();
    const n = name.value.trim();
    let bad = false;
    if (!c) { codeField.setError(t('pair.codeMissing')); bad = true; }
    if (!n) { nameField.setError(t('pair.nameMissing')); bad = true; }
    else if (new TextEncoder().encode(n).length > 64) {
      nameField.setError(t('pair.nameTooLong')); bad = true;
    }
    if (bad) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    button.disabled = true;
    try {
      await device.pair(c, n, publicFetch);
      if (ctx.returnTo) ctx.go(ctx.returnTo.view, null, ...ctx.returnTo.args);
      else ctx.go('records');
    } catch (err) {
      if (err.name === 'ApiError' && err.status === 401) {
        codeField.setError(t('pair.codeRefused'));
        code.focus();
      } else {
        errors.replaceChildren(errorBox(err));
      }
    } finally {
      button.disabled = false;
    }
  });
  add(main, 
    h('h1', {}, t('pair.title')),
    ctx.params.get('lost') ? h('p', { class: 'notice', role: 'alert' }, t('pair.lost')) : null,
    ctx.returnTo ? h('p', { class: 'notice', id: 'pair-for-app' }, t('pair.forApp')) : null,
    h('p', {}, t('pair.intro')),
    h('p', { class: 'hint' }, t('pair.privacy')),
    form);
}
