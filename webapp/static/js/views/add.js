// Add my own reading: blood pressure, weight, glucose or a note, checked
// in the form, stored as a FHIR Observation the vault tags as entered by
// the citizen. An idempotency key makes a double submit store it once.
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

function localNow() {
  const d = new Date();
  d.setSeconds(0, 0);
  const off = d.getTimezoneOffset();
  return new Date(d.getTime() - off * 60000).toISOString().slice(0, 16);
}

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

export async function render(main, ctx) {
  const kindSelect = h('select', { name: 'kind', id: 'reading-kind' },
    Object.keys(KINDS).map((k) => h('option', { value: k }, t(`add.kind.${k}`))));
  const initial = ctx.params.get('kind');
  if (KINDS[initial]) kindSelect.value = initial;
  const whenInput = h('input', { type: 'datetime-local', name: 'when', id: 'reading-when',
    value: localNow(), max: localNow(), required: true });
  const whenField = field({ label: t('add.when'), control: whenInput });
  const specific = h('div', { class: 'specific' });
  const errors = h('div', { class: 'form-errors' });
  const save = h('button', { type: 'submit', class: 'primary', id: 'reading-save' }, t('add.save'));
  let inputs = {};
  let idempotencyKey = randomKey();

  function buildFields() {
    inputs = {};
    specific.replaceChildren();
    const kind = kindSelect.value;
    for (const f of KINDS[kind]) {
      const input = h('input', { type: 'text', inputmode: 'decimal', name: f.name,
        id: `reading-${f.name}`, autocomplete: 'off', required: true });
      const wrap = field({ label: `${t(`add.field.${f.name}`)} (${f.unit})`, control: input,
        hint: t('add.range', { min: formatNumber(f.min), max: formatNumber(f.max), unit: f.unit }) });
      inputs[f.name] = { input, wrap, spec: f };
      specific.appendChild(wrap);
    }
    if (kind === 'note') {
      const input = h('textarea', { name: 'note', id: 'reading-note', maxlength: MAX_NOTE, required: true });
      const wrap = field({ label: t('add.field.note'), control: input,
        hint: t('add.noteHint', { max: formatNumber(MAX_NOTE) }) });
      inputs.note = { input, wrap, spec: null };
      specific.appendChild(wrap);
    }
    idempotencyKey = randomKey();
  }
  kindSelect.addEventListener('change', buildFields);
  buildFields();

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
    field({ label: t('add.kind'), control: kindSelect }), specific, whenField, errors, save);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errors.replaceChildren();
    const checked = check();
    if (!checked) {
      form.querySelector('[aria-invalid="true"]')?.focus();
      return;
    }
    save.disabled = true;
    try {
      await ctx.api.send('POST', '/v1/me/records',
        observation(kindSelect.value, checked.values, checked.when),
        { 'Idempotency-Key': idempotencyKey });
      announce(t('add.saved'));
      ctx.go('records', { added: '1' });
    } catch (err) {
      errors.replaceChildren(errorBox(err));
    } finally {
      save.disabled = false;
    }
  });
  add(main, h('h1', {}, t('add.title')), h('p', {}, t('add.intro')), form);
}
