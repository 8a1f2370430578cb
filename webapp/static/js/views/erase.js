// Erase my vault: every record, consent and device of the citizen is
// deleted, after a typed confirmation. It cannot be undone.
import * as device from '../device.js';
import { t } from '../i18n.js';
import { add, errorBox, field, h } from '../ui.js';

export async function render(main, ctx) {
  const phrase = t('erase.phrase');
  const input = h('input', { type: 'text', id: 'erase-confirm', autocomplete: 'off',
    spellcheck: 'false' });
  const wrap = field({ label: t('erase.typeLabel', { phrase }), control: input });
  const button = h('button', { type: 'submit', class: 'danger', id: 'erase-submit', disabled: true },
    t('erase.submit'));
  const errors = h('div', {});
  input.addEventListener('input', () => {
    button.disabled = input.value.trim().toLowerCase() !== phrase.toLowerCase();
  });
  const form = h('form', { novalidate: true }, wrap, errors, button);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (input.value.trim().toLowerCase() !== phrase.toLowerCase()) {
      wrap.setError(t('erase.mismatch', { phrase }));
      input.focus();
      return;
    }
    button.disabled = true;
    try {
      await ctx.api.del('/v1/me', { confirm: ctx.pairing.citizenId });
      await device.forget();
      main.replaceChildren(
        h('h1', { tabindex: '-1' }, t('erase.doneTitle')),
        h('p', { role: 'status' }, t('erase.done')));
      main.querySelector('h1').focus();
      document.getElementById('nav').replaceChildren();
    } catch (err) {
      errors.replaceChildren(errorBox(err));
      button.disabled = false;
    }
  });
  add(main, 
    h('h1', {}, t('erase.title')),
    h('div', { class: 'warning' }, h('p', {}, t('erase.warning'))),
    h('ul', {}, ['erase.what1', 'erase.what2', 'erase.what3', 'erase.what4']
      .map((k) => h('li', {}, t(k)))),
    h('p', {}, t('erase.before')),
    h('p', {}, h('a', { href: '#/records' }, t('erase.downloadFirst'))),
    form);
}
