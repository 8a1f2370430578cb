// Reading FHIR resources for people: the date a record is about, what it
// is, its value and who it came from.
import { formatNumber, t } from './i18n.js';

export const CATEGORIES = ['patient-summary', 'prescriptions', 'dispensations',
  'lab-results', 'vital-signs', 'imaging', 'discharge-reports', 'encounters',
  'financial', 'other'];

const SOURCE_SYSTEM = 'https://tillit.health/source';

/** The date the record is about (ISO string) or ''. */
export function recordDate(r) {
  const candidates = [
    r.effectiveDateTime, r.effectivePeriod?.start, r.issued, r.onsetDateTime,
    r.recordedDate, r.performedDateTime, r.performedPeriod?.start,
    r.period?.start, r.authoredOn, r.whenHandedOver, r.occurrenceDateTime,
    r.started, r.date, r.created, r.billablePeriod?.start,
    r.dispenseRequest?.validityPeriod?.start, r.birthDate,
  ];
  return candidates.find((v) => typeof v === 'string' && v) || '';
}

function codingText(concept) {
  if (!concept || typeof concept !== 'object') return '';
  if (typeof concept.text === 'string' && concept.text) return concept.text;
  const coding = Array.isArray(concept.coding) ? concept.coding : [];
  const shown = coding.find((c) => c && typeof c.display === 'string' && c.display);
  if (shown) return shown.display;
  const first = coding.find((c) => c && c.code);
  return first ? String(first.code) : '';
}

/** What the record is: its code's display, or a readable fallback. */
export function recordTitle(r) {
  const concept = r.code || r.medicationCodeableConcept || r.vaccineCode ||
    (Array.isArray(r.type) ? r.type[0] : r.type) ||
    (Array.isArray(r.category) ? r.category[0] : null) ||
    (Array.isArray(r.procedureCode) ? r.procedureCode[0] : null);
  const text = codingText(concept);
  if (text) return text;
  if (r.resourceType === 'Patient') return t('fhir.patient');
  if (r.resourceType === 'Claim' || r.resourceType === 'ExplanationOfBenefit') {
    const total = r.total?.value ?? r.total?.[0]?.amount?.value;
    if (total !== undefined) return t('fhir.claimTotal', { amount: formatNumber(total, 2) });
  }
  return typeLabel(r.resourceType);
}

/** A FHIR resource type in the language, e.g. "Observation" → "Measurement". */
export function typeLabel(type) {
  const key = `type.${type}`;
  const text = t(key);
  return text === key ? String(type) : text;
}

function quantityText(q) {
  if (!q || typeof q.value !== 'number') return '';
  const unit = q.unit || q.code || '';
  return `${formatNumber(q.value, 2)}${unit ? ` ${unit}` : ''}`;
}

const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';

function componentValue(r, loinc) {
  const c = (r.component || []).find((x) =>
    (x.code?.coding || []).some((cd) => cd.code === loinc));
  return c?.valueQuantity?.value;
}

/** The value as a person reads it: "82.5 kg", "120/80 mmHg", or ''. */
export function recordValue(r) {
  if (r.valueQuantity) return quantityText(r.valueQuantity);
  const sys = componentValue(r, SYSTOLIC);
  const dia = componentValue(r, DIASTOLIC);
  if (typeof sys === 'number' && typeof dia === 'number') {
    return `${formatNumber(sys, 0)}/${formatNumber(dia, 0)} mmHg`;
  }
  if (typeof r.valueString === 'string') return r.valueString;
  if (r.valueCodeableConcept) return codingText(r.valueCodeableConcept);
  if (typeof r.valueBoolean === 'boolean') return r.valueBoolean ? t('common.yes') : t('common.no');
  if (r.resourceType === 'Observation' && Array.isArray(r.note) && r.note[0]?.text) {
    return r.note[0].text;
  }
  return '';
}

/** {kind: 'citizen'|'provider'|'imported', id} from the vault's source tag. */
export function recordSource(r) {
  const tags = Array.isArray(r.meta?.tag) ? r.meta.tag : [];
  const tag = tags.find((x) => x && x.system === SOURCE_SYSTEM);
  if (!tag) return { kind: 'imported' };
  if (tag.code === 'citizen') return { kind: 'citizen' };
  if (tag.code === 'provider') return { kind: 'provider', id: tag.display || '' };
  return { kind: 'imported' };
}

/** The source in words: "Entered by you", "Care provider p_…", "Imported". */
export function sourceText(r) {
  const s = recordSource(r);
  if (s.kind === 'citizen') return t('source.citizen');
  if (s.kind === 'provider') return t('source.provider', { id: s.id });
  return t('source.imported');
}
