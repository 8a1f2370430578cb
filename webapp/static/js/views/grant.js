// The grant wizard: one fieldset per step (who, why, which data, which
// period, until when, conditions and the privacy budget for statistics,
// sensitive records), each checked before the next (js/consent.js
// validateStep), then a review that shows the vault's preview of what the
// grant would release before it is saved.
// Every step is one form, so Enter moves on and everything works from the
// keyboard; focus moves to the step's heading on each step.
import {
  CC, CONDITIONS, DS, GRANTEE_KINDS, PURPOSES, STEPS, buildGrant, conditionField, emptyDraft,
  grantDetails, grantSentence, isProviderKind, validateDraft, validateStep,
} from '../consent.js';
import { CATEGORIES } from '../fhir.js';
import { formatNumber, t } from '../i18n.js';
import { add, announce, errorBox, field, h } from '../ui.js';

const ID_KINDS = { researcher: 'grant.researcherId', study: 'grant.studyId',
  provider: 'grant.providerId' };
const ID_PREFIX = { researcher: 'r_', study: 's_', provider: 'p_' };

/** A checkbox or radio with its label (and hint) beside it. */
function choice({ type, name, value, id, label, hint, checked, disabled }) {
  const input = h('input', { type, name, value, id, checked, disabled });
  const wrap = h('div', { class: 'choice' }, input,
    h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, hint) : null));
  return { wrap, input };
}

/** An error slot for a radio or checkbox group `name`, wired to its inputs. */
function groupError(name, inputs) {
  const errId = `${name}-error`;
  const p = h('p', { class: 'field-error', id: errId });
  for (const input of inputs) input.setAttribute('aria-describedby', errId);
  return {
    el: p,
    setError(text) {
      p.textContent = text || '';
      for (const input of inputs) {
        if (text) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
      }
    },
    focus() {
      inputs.find((i) => !i.disabled && !i.closest('[hidden]'))?.focus();
    },
  };
}

function textInput(attrs = {}) {
  return h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', ...attrs });
}

function dateInput() {
  return h('input', { type: 'date' });
}

export async function render(main, ctx) {
  const summary = await ctx.api.get('/v1/me');
  const counts = summary.by_category || {};
  const fields = {}; // control id → field() wrapper
  const groups = {}; // group name → groupError()
  const syncs = []; // run on every change: show what the choices need

  function addField(id, labelKey, control, hintKey, hintParams) {
    control.id = id;
    const f = field({ label: t(labelKey), control,
      hint: hintKey ? t(hintKey, hintParams) : undefined });
    fields[id] = f;
    return f;
  }

  /** Shows `sub` (a plain wrapper, so [hidden] works) while `when()` holds. */
  function revealed(sub, when) {
    const box = h('div', { class: 'sub-field' }, sub);
    syncs.push(() => { box.hidden = !when(); });
    return box;
  }

  // --- who
  const kindInputs = [];
  const kindChoices = GRANTEE_KINDS.map((kind) => {
    const c = choice({ type: 'radio', name: 'grantee-kind', value: kind,
      id: `grantee-kind-${kind}`, label: t(`grant.kind.${kind}`),
      hint: t(`grant.kind.${kind}.hint`) });
    kindInputs.push(c.input);
    let sub = null;
    if (kind === 'organization') {
      sub = addField('grantee-name', 'grant.name', textInput({ maxlength: 256 }), 'grant.nameHint');
    } else if (ID_KINDS[kind]) {
      sub = addField(`grantee-${kind}`, ID_KINDS[kind], textInput({ maxlength: 40 }),
        'grant.idHint', { prefix: ID_PREFIX[kind] });
    }
    return [c.wrap, sub ? revealed(sub, () => c.input.checked) : null];
  });
  groups['grantee-kind'] = groupError('grantee-kind', kindInputs);
  const kind = () => kindInputs.find((i) => i.checked)?.value || '';
  const provider = () => isProviderKind(kind());

  // --- why
  const purposeInputs = [];
  const researchPurposes = PURPOSES.map((p) => {
    const c = choice({ type: 'checkbox', name: 'purpose', value: p.code,
      id: `purpose-${p.abbr}`, label: t(`duo.${p.abbr}.label`), hint: t(`duo.${p.abbr}.hint`) });
    purposeInputs.push(c.input);
    if (p.code !== DS) return c.wrap;
    const disease = addField('purpose-disease', 'grant.disease',
      textInput({ maxlength: 256 }), 'grant.diseaseHint');
    return [c.wrap, revealed(disease, () => c.input.checked)];
  });
  groups.purpose = groupError('purpose', purposeInputs);
  const cc = choice({ type: 'checkbox', name: 'purpose', value: CC, id: 'purpose-CC',
    label: t('duo.CC.label'), hint: t('duo.CC.hint'), checked: true, disabled: true });
  const researchWhy = h('div', {}, h('p', {}, t('grant.why.intro')), researchPurposes,
    groups.purpose.el);
  const providerWhy = h('div', {}, h('p', {}, t('grant.why.provider')), cc.wrap);
  syncs.push(() => { researchWhy.hidden = provider(); providerWhy.hidden = !provider(); });

  // --- which data
  const categoryInputs = [];
  const categoryChoices = CATEGORIES.map((c) => {
    const ch = choice({ type: 'checkbox', name: 'category', value: c, id: `category-${c}`,
      label: t(`category.${c}`),
      hint: t('grant.records', { n: formatNumber(counts[c] || 0) }) });
    categoryInputs.push(ch.input);
    return ch.wrap;
  });
  groups.category = groupError('category', categoryInputs);

  // --- which period, until when
  const periodStart = addField('period-start', 'grant.periodStart', dateInput(),
    'grant.periodStartHint');
  const periodEnd = addField('period-end', 'grant.periodEnd', dateInput(), 'grant.periodEndHint');
  const expires = addField('expires', 'grant.expires', dateInput(), 'grant.expiresHint');

  // --- conditions
  const conditionChoices = CONDITIONS.map((cond) => {
    const c = choice({ type: 'checkbox', name: 'condition', value: cond.code,
      id: `cond-${cond.abbr}`, label: t(`cond.${cond.abbr}.label`),
      hint: t(`cond.${cond.abbr}.hint`) });
    let sub = null;
    const id = conditionField(cond);
    if (cond.abbr === 'GS') {
      sub = addField(id, 'grant.countries', textInput({ autocapitalize: 'characters' }),
        'grant.countriesHint');
    } else if (cond.abbr === 'TS') {
      sub = addField(id, 'grant.tsUntil', dateInput(), 'grant.tsUntilHint');
    } else if (cond.abbr === 'MOR') {
      sub = addField(id, 'grant.morUntil', dateInput(), 'grant.morUntilHint');
    } else if (cond.abbr === 'US') {
      sub = addField(id, 'grant.researchers', textInput(), 'grant.researchersHint');
    } else if (cond.abbr === 'PS') {
      sub = addField(id, 'grant.studies', textInput(), 'grant.studiesHint');
    } else if (cond.abbr === 'IS') {
      sub = addField(id, 'grant.institutions', h('textarea', { rows: 3, spellcheck: 'false' }),
        'grant.institutionsHint');
    }
    const box = h('div', {}, c.wrap, sub ? revealed(sub, () => c.input.checked) : null);
    syncs.push(() => { box.hidden = provider() && cond.abbr !== 'TS'; });
    return box;
  });
  // The cap on the privacy loss one study may spend on this citizen in
  // statistics (research grants only); empty leaves it to the vault.
  const budgetInput = h('input', { type: 'number', min: '0', max: '100', step: '0.01',
    inputmode: 'decimal', autocomplete: 'off' });
  const budget = revealed(addField('privacy-budget', 'grant.privacyBudget', budgetInput,
    'grant.privacyBudgetHint'), () => !provider());
  const conditionsIntro = h('p', {});
  syncs.push(() => {
    conditionsIntro.textContent = t(provider() ? 'grant.conditions.provider'
      : 'grant.conditions.intro');
  });

  // --- sensitive
  const sensitiveNo = choice({ type: 'radio', name: 'sensitive', value: 'no', id: 'sensitive-no',
    label: t('grant.sensitive.no'), checked: true });
  const sensitiveYes = choice({ type: 'radio', name: 'sensitive', value: 'yes',
    id: 'sensitive-yes', label: t('grant.sensitive.yes') });
  groups.sensitive = groupError('sensitive', [sensitiveNo.input, sensitiveYes.input]);

  // --- review
  const review = h('div', { class: 'review', id: 'grant-review' });
  const saveOut = h('div', { class: 'save-status' });

  const content = {
    who: [h('p', {}, t('grant.who.intro')), kindChoices, groups['grantee-kind'].el],
    why: [researchWhy, providerWhy],
    data: [h('p', {}, t('grant.data.intro')), categoryChoices, groups.category.el],
    period: [h('p', {}, t('grant.period.intro')), periodStart, periodEnd],
    expiry: [h('p', {}, t('grant.expiry.intro')), expires],
    conditions: [conditionsIntro, conditionChoices, budget],
    sensitive: [h('p', {}, t('grant.sensitive.intro')), sensitiveNo.wrap, sensitiveYes.wrap,
      groups.sensitive.el],
    review: [h('p', {}, t('grant.review.intro')), review, saveOut],
  };
  const headings = [];
  const fieldsets = STEPS.map((name, i) => {
    const heading = h('h2', { tabindex: '-1', id: `step-${name}-heading` },
      t('grant.stepHeading', { n: i + 1, total: STEPS.length, name: t(`grant.step.${name}`) }));
    headings.push(heading);
    return h('fieldset', { class: 'step', id: `step-${name}`, hidden: i !== 0 },
      h('legend', {}, heading), content[name]);
  });
  const stepItems = STEPS.map((name) => h('li', { dataset: { step: name } },
    t(`grant.step.${name}`)));

  const back = h('button', { type: 'button', class: 'secondary', id: 'grant-back' },
    t('common.back'));
  const next = h('button', { type: 'submit', class: 'primary', id: 'grant-next' },
    t('common.next'));
  const save = h('button', { type: 'button', class: 'primary', id: 'grant-save' },
    t('grant.save'));
  const form = h('form', { novalidate: true, id: 'grant-form' }, fieldsets,
    h('div', { class: 'actions' },
      h('a', { href: '#/sharing', class: 'button-link', id: 'grant-cancel' }, t('common.cancel')),
      back, next, save));

  function sync() {
    for (const fn of syncs) fn();
  }

  function readDraft() {
    const d = emptyDraft();
    const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]`)]
      .filter((i) => i.checked).map((i) => i.value);
    d.kind = kind();
    d.name = form.querySelector('#grantee-name').value;
    for (const k of Object.keys(ID_KINDS)) d[k] = form.querySelector(`#grantee-${k}`).value;
    d.purposes = purposeInputs.filter((i) => i.checked).map((i) => i.value);
    d.disease = form.querySelector('#purpose-disease').value;
    d.categories = checked('category');
    d.periodStart = form.querySelector('#period-start').value;
    d.periodEnd = form.querySelector('#period-end').value;
    d.expires = form.querySelector('#expires').value;
    d.conditions = checked('condition');
    d.countries = form.querySelector('#cond-countries').value;
    d.tsUntil = form.querySelector('#cond-ts-until').value;
    d.morUntil = form.querySelector('#cond-mor-until').value;
    d.researchers = form.querySelector('#cond-researchers').value;
    d.studies = form.querySelector('#cond-studies').value;
    d.institutions = form.querySelector('#cond-institutions').value;
    // A number input reads '' for text that is not a number; keep such
    // text as not-a-budget so the check says so instead of dropping it.
    d.privacyBudget = budgetInput.validity?.badInput ? '?' : budgetInput.value;
    const s = checked('sensitive')[0];
    d.includeSensitive = s === 'yes' ? true : s === 'no' ? false : null;
    return d;
  }

  function clearErrors() {
    for (const f of Object.values(fields)) f.setError('');
    for (const g of Object.values(groups)) g.setError('');
  }

  /** Shows the errors; focuses the first. */
  function showErrors(errors) {
    let first = null;
    for (const e of errors) {
      const text = t(e.key, e.params);
      if (fields[e.field]) {
        fields[e.field].setError(text);
        first = first || (() => form.querySelector(`#${e.field}`).focus());
      } else if (groups[e.field]) {
        groups[e.field].setError(text);
        first = first || (() => groups[e.field].focus());
      }
    }
    if (first) first();
  }

  let current = 0;
  let reviewSeq = 0;

  function show(i) {
    current = i;
    const name = STEPS[i];
    fieldsets.forEach((fs, j) => { fs.hidden = j !== i; });
    stepItems.forEach((li, j) => {
      if (j === i) li.setAttribute('aria-current', 'step');
      else li.removeAttribute('aria-current');
    });
    back.hidden = i === 0;
    next.hidden = name === 'review';
    next.disabled = name === 'review';
    save.hidden = name !== 'review';
    sync();
    headings[i].focus();
    if (name === 'review') loadReview();
  }

  /** Goes back to the first step with a problem and shows it. */
  function returnToProblem(problems) {
    const stepIndex = STEPS.indexOf(problems[0].step);
    show(stepIndex);
    clearErrors();
    showErrors(problems.filter((p) => p.step === problems[0].step));
  }

  // The draft, checked again right before it is sent; null after taking
  // the citizen to the first problem.
  function checkedDraft() {
    const d = readDraft();
    const problems = validateDraft(d, Date.now());
    if (problems.length) {
      returnToProblem(problems);
      return null;
    }
    return d;
  }

  async function loadReview() {
    const seq = ++reviewSeq;
    save.disabled = true;
    saveOut.replaceChildren();
    const d = checkedDraft();
    if (!d) return;
    const grant = buildGrant(d);
    review.replaceChildren(
      h('h3', {}, t('grant.review.sentence')),
      h('p', { id: 'grant-summary', class: 'grant-text' }, grantSentence(grant)),
      h('p', { class: 'hint' }, grantDetails(grant)),
      h('p', { class: 'loading', 'aria-busy': 'true' }, t('grant.preview.loading')));
    const research = !isProviderKind(grant.grantee.kind);
    let preview;
    let optedOut = false;
    try {
      [preview, optedOut] = await Promise.all([
        ctx.api.post('/v1/me/consents/preview', grant),
        ctx.api.get(research ? '/v1/me/research-opt-out' : '/v1/me/primary-use-opt-out')
          .then((r) => r?.opted_out === true, () => false),
      ]);
    } catch (err) {
      if (seq !== reviewSeq) return;
      const retry = h('button', { type: 'button', class: 'secondary', id: 'preview-retry' },
        t('grant.preview.retry'));
      retry.addEventListener('click', () => {
        headings[current].focus();
        loadReview();
      });
      review.lastChild.replaceWith(h('div', {}, errorBox(err), retry));
      return;
    }
    if (seq !== reviewSeq) return;
    review.lastChild.replaceWith(previewView(grant, preview, research, optedOut));
    save.disabled = false;
  }

  function previewView(grant, preview, research, optedOut) {
    const by = preview.by_category || {};
    const studies = Array.isArray(preview.matching_studies) ? preview.matching_studies : [];
    const rows = grant.categories.map((c) => h('tr', { dataset: { category: c } },
      h('th', { scope: 'row' }, t(`category.${c}`)),
      h('td', { class: 'num', dataset: { count: String(by[c] || 0) } },
        formatNumber(by[c] || 0))));
    let studyPart = null;
    if (!research && optedOut) {
      studyPart = h('p', { class: 'notice', id: 'preview-primary-opted-out' },
        t('grant.providers.optedOut'));
    }
    if (research) {
      studyPart = [h('h3', {}, t('grant.studies.title')),
        optedOut ? h('p', { class: 'notice', id: 'preview-opted-out' }, t('grant.studies.optedOut'))
          : null,
        studies.length
          ? h('ul', { id: 'preview-studies' }, studies.map((s) => h('li', {}, s)))
          : !optedOut && h('p', { id: 'preview-studies-none' }, t('grant.studies.none'))];
    }
    return h('div', { class: 'preview' },
      h('h3', {}, t('grant.preview.title')),
      h('table', { id: 'preview-table' },
        h('caption', {}, t('grant.preview.caption')),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, t('grant.preview.category')),
          h('th', { scope: 'col' }, t('grant.preview.count')))),
        h('tbody', {}, rows),
        h('tfoot', {}, h('tr', {},
          h('th', { scope: 'row' }, t('grant.preview.total')),
          h('td', { class: 'num', id: 'preview-total', dataset: { count: String(preview.total ?? 0) } },
            formatNumber(preview.total ?? 0))))),
      research ? null : h('p', { class: 'hint' }, t('grant.preview.providerNote')),
      studyPart);
  }

  async function saveGrant() {
    saveOut.replaceChildren();
    const d = checkedDraft();
    if (!d) return;
    save.disabled = true;
    try {
      await ctx.api.post('/v1/me/consents', buildGrant(d));
    } catch (err) {
      saveOut.replaceChildren(errorBox(err));
      save.disabled = false;
      save.focus();
      return;
    }
    announce(t('grant.saved'));
    ctx.go('sharing');
  }

  form.addEventListener('change', sync);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (STEPS[current] === 'review') return;
    clearErrors();
    const errors = validateStep(STEPS[current], readDraft(), Date.now());
    if (errors.length) showErrors(errors);
    else show(current + 1);
  });
  back.addEventListener('click', () => {
    clearErrors();
    if (current > 0) show(current - 1);
  });
  save.addEventListener('click', saveGrant);

  back.hidden = true;
  save.hidden = true;
  stepItems[0].setAttribute('aria-current', 'step');
  sync();

  add(main, 
    h('p', {}, h('a', { href: '#/sharing' }, `← ${t('nav.sharing')}`)),
    h('h1', {}, t('grant.title')),
    h('p', {}, t('grant.intro')),
    h('ol', { class: 'steps', 'aria-label': t('grant.stepsLabel') }, stepItems),
    form);
}
