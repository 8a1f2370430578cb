// Add my own reading: blood pressure, weight, glucose or a note, checked
// in the form, stored as a FHIR Observation the vault tags as entered by
// the citizen. An idempotency key makes a double submit store it once.
// The same form corrects a reading the citizen entered (views/record.js).
import { formatNumber, parseNumber, t } from '../i18n.js';
import { add, announce, errorBox, field, h } from '../ui.js';

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const VITALS = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category',
  code: 'vital-signs', display: 'Vital Signs' }] };
const LAB = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category',
  code: 'laboratory', display: 'Laboratory' }] };

const KINDS = {
  'blood-pressure': [
    { name: 'systolic', min: 50, max: 260, unit: 'mmHg' },
    { name: 'diastolic', min: 30, max: 160, unit: 'mmHg' },
  ],
  weight: [{ name: 'weight', min: 1, max: 400, unit: 'kg', decimals: 1 }],
  glucose: [{ name: 'glucose', min: 0.5, max: 50, unit: 'mmol/L', decimals: 1 }],
  note: [],
};
const MAX_NOTE = 2000;

function quantity(value, unit) {
  return { value, unit, system: UCUM, code: unit };
}

/** The Observation for a checked reading. */
export function observation(kind, values, when) {
  const base = { resourceType: 'Observation', status: 'final', effectiveDateTime: when };
  switch (kind) {
    case 'blood-pressure':
      return { ...base, category: [VITALS],
        code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }],
          text: 'Blood pressure' },
        component: [
          { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic blood pressure' }] },
            valueQuantity: quantity(values.systolic, 'mm[Hg]') },
          { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic blood pressure' }] },
            valueQuantity: quantity(values.diastolic, 'mm[Hg]') }] };
    case 'weight':
      return { ...base, category: [VITALS],
        code: { coding: [{ system: LOINC, code: '29463-7', display: 'Body weight' }], text: 'Body weight' },
        valueQuantity: quantity(values.weight, 'kg') };
    case 'glucose':
      return { ...base, category: [LAB],
        code: { coding: [{ system: LOINC, code: '15074-8', display: 'Glucose [Moles/volume] in Blood' }],
          text: 'Blood glucose' },
        valueQuantity: quantity(values.glucose, 'mmol/L') };
    default:
      return { ...base, category: [VITALS],
        code: { coding: [{ system: LOINC, code: '51855-5', display: 'Patient Note' }], text: 'My note' },
        valueString: values.note };
  }
}

const LOINC_KIND = { '85354-9': 'blood-pressure', '29463-7': 'weight', '15074-8': 'glucose',
  '51855-5': 'note' };

/**
 * The reading an Observation holds, as the form shows it: {kind, values,
 * when} for one the form can make (observation() is its inverse), or null
 * for any other resource.
 */
export function readingOf(r) {
  if (!r || r.resourceType !== 'Observation') return null;
  const codes = (Array.isArray(r.code?.coding) ? r.code.coding : [])
    .filter((c) => c && c.system === LOINC).map((c) => c.code);
  const kind = codes.map((c) => LOINC_KIND[c]).find(Boolean);
  const when = typeof r.effectiveDateTime === 'string' ? r.effectiveDateTime : '';
  const quantity = r.valueQuantity?.value;
  if (kind === 'blood-pressure') {
    const part = (loinc) => (Array.isArray(r.component) ? r.component : []).find((x) =>
      (x?.code?.coding || []).some((c) => c && c.code === loinc))?.valueQuantity?.value;
    const systolic = part('8480-6');
    const diastolic = part('8462-4');
    if (typeof systolic !== 'number' || typeof diastolic !== 'number') return null;
    return { kind, values: { systolic, diastolic }, when };
  }
  if ((kind === 'weight' || kind === 'glucose') && typeof quantity === 'number') {
    return { kind, values: { [kind]: quantity }, when };
  }
  if (kind === 'note' && typeof r.valueString === 'string') {
    return { kind, values: { note: r.valueString }, when };
  }
  return null;
}

/** A time as a datetime-local input writes it, in local time, to the minute. */
function localInput(date) {
  const d = new Date(date.getTime());
  d.setSeconds(0, 0);
  const off = d.getTimezoneOffset();
  return new Date(d.getTime() - off * 60000).toISOString().slice(0, 16);
}

function localNow() {
  return localInput(new Date());
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

/**
 * The reading form: the fields of a kind, checked in the form, and
 * `save(observation, idempotencyKey)` called with the Observation they make
 * (it throws to show an error under the form). Used to add a reading and to
 * correct one the citizen entered: `reading` ({kind, values, when}, as
 * readingOf gives it) fills the fields in, and `fixed` (which needs
 * `reading`) keeps its kind.
 */
export function readingForm({ reading = null, fixed = false, submitLabel, save }) {
  const kindSelect = fixed ? null : h('select', { name: 'kind', id: 'reading-kind' },
    Object.keys(KINDS).map((k) => h('option', { value: k }, t(`add.kind.${k}`))));
  if (kindSelect && KINDS[reading?.kind]) kindSelect.value = reading.kind;
  const kindNow = () => (kindSelect ? kindSelect.value : reading.kind);
  const taken = reading?.when ? new Date(reading.when) : null;
  const whenInput = h('input', { type: 'datetime-local', name: 'when', id: 'reading-when',
    value: taken && !Number.isNaN(taken.getTime()) ? localInput(taken) : localNow(),
    max: localNow(), required: true });
  const whenField = field({ label: t('add.when'), control: whenInput });
  const specific = h('div', { class: 'specific' });
  const errors = h('div', { class: 'form-errors' });
  const saveButton = h('button', { type: 'submit', class: 'primary', id: 'reading-save' },
    submitLabel);
  let inputs = {};
  let idempotencyKey = randomKey();

  function buildFields(values = {}) {
    inputs = {};
    specific.replaceChildren();
    const kind = kindNow();
    for (const f of KINDS[kind]) {
      const input = h('input', { type: 'text', inputmode: 'decimal', name: f.name,
        id: `reading-${f.name}`, autocomplete: 'off', required: true });
      if (typeof values[f.name] === 'number') input.value = formatNumber(values[f.name], f.decimals ?? 0);
      const wrap = field({ label: `${t(`add.field.${f.name}`)} (${f.unit})`, control: input,
        hint: t('add.range', { min: formatNumber(f.min), max: formatNumber(f.max), unit: f.unit }) });
      inputs[f.name] = { input, wrap, spec: f };
      specific.appendChild(wrap);
    }
    if (kind === 'note') {
      const input = h('textarea', { name: 'note', id: 'reading-note', maxlength: MAX_NOTE, required: true });
      if (typeof values.note === 'string') input.value = values.note;
      const wrap = field({ label: t('add.field.note'), control: input,
        hint: t('add.noteHint', { max: formatNumber(MAX_NOTE) }) });
      inputs.note = { input, wrap, spec: null };
      specific.appendChild(wrap);
    }
    idempotencyKey = randomKey();
  }
  if (kindSelect) kindSelect.addEventListener('change', () => buildFields());
  buildFields(reading?.values);

  function check() {
    const values = {};
    let ok = true;
    for (const [name, { input, wrap, spec }] of Object.entries(inputs)) {
      wrap.setError('');
      const text = input.value.trim();
      if (!text) { wrap.setError(t('add.required')); ok = false; continue; }
      if (!spec) {
        if (text.length > MAX_NOTE) { wrap.setError(t('add.noteTooLong', { max: MAX_NOTE })); ok = false; }
        values[name] = text;
        continue;
      }
      const n = parseNumber(text);
      if (Number.isNaN(n)) { wrap.setError(t('add.notNumber')); ok = false; continue; }
      if (n < spec.min || n > spec.max) {
        wrap.setError(t('add.outOfRange', { min: formatNumber(spec.min), max: formatNumber(spec.max),
          unit: spec.unit }));
        ok = false;
        continue;
      }
      values[name] = spec.decimals ? Number(n.toFixed(spec.decimals)) : Math.round(n);
    }
    if (ok && values.systolic !== undefined && values.systolic <= values.diastolic) {
      inputs.systolic.wrap.setError(t('add.systolicLow'));
      ok = false;
    }
    whenField.setError('');
    const when = new Date(whenInput.value);
    if (!whenInput.value || Number.isNaN(when.getTime())) {
      whenField.setError(t('add.badDate')); ok = false;
    } else if (when.getTime() > Date.now() + 60000) {
      whenField.setError(t('add.future')); ok = false;
    }
    return ok ? { values, when: when.toISOString().replace(/\.\d{3}Z$/, 'Z') } : null;
  }

  const form = h('form', { novalidate: true, id: 'reading-form' },
    kindSelect ? field({ label: t('add.kind'), control: kindSelect }) : null,
    specific, whenField, errors, saveButton);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    const checked = check();
    if (!checked) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    saveButton.disabled = true;
    try {
      await save(observation(kindNow(), checked.values, checked.when), idempotencyKey);
    } catch (err) {
      errors.replaceChildren(errorBox(err));
    } finally {
      saveButton.disabled = false;
    }
  });
  return form;
}

export async function render(main, ctx) {
  const kind = ctx.params.get('kind');
  const form = readingForm({
    reading: KINDS[kind] ? { kind } : null,
    submitLabel: t('add.save'),
    save: async (resource, idempotencyKey) => {
      await ctx.api.send('POST', '/v1/me/records', resource,
        { 'Idempotency-Key': idempotencyKey });
      announce(t('add.saved'));
      ctx.go('records', { added: '1' });
    },
  });
  add(main, h('h1', {}, t('add.title')),
    // Acting with a read-only authorisation: the page still opens, and
    // the vault's refusal shows under the form.
    ctx.subject.canWrite ? null
      : h('p', { class: 'notice', id: 'acting-read-only' }, t('acting.readOnly')),
    h('p', {}, t('add.intro')), form);
}
