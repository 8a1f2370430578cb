// Hide and opt out: the kinds of records and the single records hidden
// from care providers (restrictions, docs/CONSENT.md §4), the primary-use
// opt-out (no care provider's decision permits while it is on, EHDS Art 10)
// and the research opt-out switch (§2: every research decision denies).
import { updateRestrictions } from '../consent.js';
import { CATEGORIES, typeLabel } from '../fhir.js';
import { formatNumber, t } from '../i18n.js';
import { add, announce, errorBox, h } from '../ui.js';

/** "Observation/obs-17" → ["Observation", "obs-17"]. */
function splitRef(ref) {
  const slash = ref.indexOf('/');
  return slash < 0 ? [ref, ''] : [ref.slice(0, slash), ref.slice(slash + 1)];
}

function refText(ref) {
  const [type, id] = splitRef(ref);
  return `${typeLabel(type)} ${id}`;
}

/**
 * Runs `fn` with `control` disabled, then enables it again and gives it
 * back the focus it loses while disabled.
 */
async function busy(control, fn) {
  control.disabled = true;
  try {
    return await fn();
  } finally {
    control.disabled = false;
    if (control.isConnected && (document.activeElement === document.body ||
        document.activeElement === null)) control.focus();
  }
}

export async function render(main, ctx) {
  const [summary, restrictions, optOut, primaryOptOut] = await Promise.all([
    ctx.api.get('/v1/me'),
    ctx.api.get('/v1/me/restrictions'),
    ctx.api.get('/v1/me/research-opt-out'),
    ctx.api.get('/v1/me/primary-use-opt-out'),
  ]);
  const counts = summary.by_category || {};
  let state = {
    categories: Array.isArray(restrictions?.categories) ? restrictions.categories : [],
    records: Array.isArray(restrictions?.records) ? restrictions.records : [],
  };

  // --- categories
  const inputs = CATEGORIES.map((c) => h('input', { type: 'checkbox', name: 'hide-category',
    value: c, id: `hide-category-${c}`, checked: state.categories.includes(c) }));
  const choices = inputs.map((input) => h('div', { class: 'choice' }, input,
    h('label', { for: input.id }, t(`category.${input.value}`),
      h('span', { class: 'hint' }, t('hide.records', { n: formatNumber(counts[input.value] || 0) })))));
  const saveButton = h('button', { type: 'submit', class: 'primary', id: 'hide-save' },
    t('hide.save'));
  const categoriesOut = h('div', { class: 'hide-status' });
  const form = h('form', { novalidate: true, id: 'hide-form' },
    h('fieldset', {}, h('legend', {}, t('hide.categories')), choices),
    saveButton, categoriesOut);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = inputs.filter((i) => i.checked).map((i) => i.value);
    categoriesOut.replaceChildren();
    await busy(saveButton, async () => {
      try {
        state = await updateRestrictions(ctx.api,
          (r) => ({ categories: chosen, records: r.records }));
        categoriesOut.replaceChildren(h('p', { class: 'ok' }, t('hide.saved')));
        announce(t('hide.saved'));
        renderRecords();
      } catch (err) {
        categoriesOut.replaceChildren(errorBox(err));
      }
    });
  });

  // --- single records
  const recordsTitle = h('h3', { id: 'hidden-records-title', tabindex: '-1' },
    t('hide.records.title'));
  const recordsBox = h('div', { id: 'hidden-records' });
  const recordsOut = h('div', { class: 'hide-status' });

  async function unhide(ref, index) {
    recordsOut.replaceChildren();
    try {
      state = await updateRestrictions(ctx.api,
        (r) => ({ categories: r.categories, records: r.records.filter((x) => x !== ref) }));
    } catch (err) {
      recordsOut.replaceChildren(errorBox(err));
      return false;
    }
    announce(t('hide.unhidden', { ref: refText(ref) }));
    renderRecords();
    const buttons = recordsBox.querySelectorAll('button.unhide');
    const target = buttons[Math.min(index, buttons.length - 1)];
    (target || recordsTitle).focus();
    return true;
  }

  function renderRecords() {
    if (!state.records.length) {
      recordsBox.replaceChildren(h('p', { id: 'hidden-records-none' }, t('hide.records.none')));
      return;
    }
    const items = state.records.map((ref, i) => {
      const [type, id] = splitRef(ref);
      const linkId = `hidden-record-${i}`;
      const button = h('button', { type: 'button', class: ['secondary', 'unhide'],
        'aria-describedby': linkId, dataset: { record: ref } }, t('hide.unhide'));
      button.addEventListener('click', () => busy(button, () => unhide(ref, i)));
      return h('li', { class: 'grant hidden-record', dataset: { record: ref } },
        h('p', {}, h('a', { id: linkId,
          href: `#/record/${encodeURIComponent(type)}/${encodeURIComponent(id)}` },
        refText(ref))),
        button);
    });
    recordsBox.replaceChildren(h('ul', { class: 'grants', 'aria-labelledby': 'hidden-records-title' },
      items));
  }
  renderRecords();

  // --- the two opt-outs: one switch each, saved as soon as it changes
  function optOutSwitch(id, path, keys) {
    const input = h('input', { type: 'checkbox', id, checked: false,
      'aria-describedby': `${id}-does ${id}-does-not` });
    const message = h('div', { class: 'opt-out-status' });
    input.addEventListener('change', async () => {
      const want = input.checked;
      message.replaceChildren();
      await busy(input, async () => {
        try {
          const r = await ctx.api.put(path, { opted_out: want });
          input.checked = r?.opted_out === true;
          announce(t(input.checked ? keys.savedOn : keys.savedOff));
        } catch (err) {
          input.checked = !want;
          message.replaceChildren(errorBox(err));
        }
      });
    });
    return { input, message };
  }
  const research = optOutSwitch('research-opt-out', '/v1/me/research-opt-out', {
    savedOn: 'hide.optOut.savedOn', savedOff: 'hide.optOut.savedOff' });
  research.input.checked = optOut?.opted_out === true;
  const primary = optOutSwitch('primary-use-opt-out', '/v1/me/primary-use-opt-out', {
    savedOn: 'hide.primaryOptOut.savedOn', savedOff: 'hide.primaryOptOut.savedOff' });
  primary.input.checked = primaryOptOut?.opted_out === true;
  const breakGlass = primaryOptOut?.break_glass === false
    ? 'hide.primaryOptOut.breakGlassDenied' : 'hide.primaryOptOut.breakGlassAllowed';

  add(main, 
    h('h1', {}, t('hide.title')),
    h('section', { class: 'card', 'aria-labelledby': 'hide-providers-title' },
      h('h2', { id: 'hide-providers-title' }, t('hide.providers.title')),
      h('p', {}, t('hide.providers.intro')),
      h('p', {}, t('hide.providers.research')),
      form,
      recordsTitle, recordsOut, recordsBox),
    h('section', { class: 'card', 'aria-labelledby': 'primary-opt-out-title' },
      h('h2', { id: 'primary-opt-out-title' }, t('hide.primaryOptOut.title')),
      h('p', { id: 'primary-use-opt-out-does' }, t('hide.primaryOptOut.does'), ' ',
        t(breakGlass)),
      h('p', { id: 'primary-use-opt-out-does-not' }, t('hide.primaryOptOut.doesNot')),
      h('div', { class: 'choice' }, primary.input,
        h('label', { for: 'primary-use-opt-out' }, t('hide.primaryOptOut.label'))),
      primary.message),
    h('section', { class: 'card', 'aria-labelledby': 'opt-out-title' },
      h('h2', { id: 'opt-out-title' }, t('hide.optOut.title')),
      h('p', { id: 'research-opt-out-does' }, t('hide.optOut.does')),
      h('p', { id: 'research-opt-out-does-not' }, t('hide.optOut.doesNot')),
      h('div', { class: 'choice' }, research.input,
        h('label', { for: 'research-opt-out' }, t('hide.optOut.label'))),
      research.message));
}
