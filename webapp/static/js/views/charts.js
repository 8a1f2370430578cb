// Charts of vital signs and lab values over time, one per measure, with
// units and dates on the axes. Drawn as plain SVG: six line charts do not
// need a charting library, and hand-made SVG needs no script or style that
// the page's CSP would have to allow. Each chart also has its values as a
// table for screen readers and keyboard users.
import { formatDate, formatNumber, t } from '../i18n.js';
import { add, h } from '../ui.js';

// Each measure: LOINC codes, the unit shown, and a factor per source unit.
export const MEASURES = [
  { id: 'weight', codes: ['29463-7'], unit: 'kg', convert: { kg: 1, g: 0.001, '[lb_av]': 0.45359237 } },
  { id: 'blood-pressure', codes: ['85354-9', '55284-4'], unit: 'mmHg', pair: true },
  { id: 'heart-rate', codes: ['8867-4'], unit: '/min', convert: { '/min': 1, '{beats}/min': 1 } },
  { id: 'glucose', codes: ['2339-0', '2345-7', '15074-8', '14749-6'], unit: 'mmol/L',
    convert: { 'mmol/L': 1, 'mg/dL': 1 / 18.016 } },
  { id: 'hba1c', codes: ['4548-4'], unit: '%', convert: { '%': 1 } },
  { id: 'cholesterol', codes: ['2093-3'], unit: 'mmol/L', convert: { 'mmol/L': 1, 'mg/dL': 1 / 38.67 } },
];
const SYSTOLIC = '8480-6';
const DIASTOLIC = '8462-4';
const MAX_PAGES = 10;

function codesOf(r) {
  return (r.code?.coding || []).map((c) => c && c.code).filter(Boolean);
}

function whenOf(r) {
  const d = r.effectiveDateTime || r.effectivePeriod?.start || r.issued;
  const ms = d ? Date.parse(d) : NaN;
  return Number.isNaN(ms) ? null : ms;
}

function quantity(q, measure) {
  if (!q || typeof q.value !== 'number') return null;
  const unit = q.unit || q.code || '';
  const factor = measure.convert[unit] ?? measure.convert[q.code];
  return factor === undefined ? null : q.value * factor;
}

function component(r, code) {
  const c = (r.component || []).find((x) => (x.code?.coding || []).some((cd) => cd.code === code));
  return typeof c?.valueQuantity?.value === 'number' ? c.valueQuantity.value : null;
}

/** Points per measure id: [{time, value, value2?}], oldest first. */
export function collect(records) {
  const out = Object.fromEntries(MEASURES.map((m) => [m.id, []]));
  for (const r of records) {
    if (r.resourceType !== 'Observation') continue;
    const time = whenOf(r);
    if (time === null) continue;
    const codes = codesOf(r);
    for (const m of MEASURES) {
      if (!codes.some((c) => m.codes.includes(c))) continue;
      if (m.pair) {
        const sys = component(r, SYSTOLIC);
        const dia = component(r, DIASTOLIC);
        if (sys !== null && dia !== null) out[m.id].push({ time, value: sys, value2: dia });
      } else {
        const v = quantity(r.valueQuantity, m);
        if (v !== null) out[m.id].push({ time, value: v });
      }
    }
  }
  for (const list of Object.values(out)) list.sort((a, b) => a.time - b.time);
  return out;
}

function niceTicks(min, max, count) {
  if (min === max) { min -= 1; max += 1; }
  const span = max - min;
  const raw = span / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw);
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toFixed(6)));
  return ticks;
}

function chartSvg(measure, points, titleId) {
  const W = 600; const H = 272; const L = 56; const R = 16; const T = 26; const B = 44;
  const values = points.flatMap((p) => (p.value2 === undefined ? [p.value] : [p.value, p.value2]));
  const yt = niceTicks(Math.min(...values), Math.max(...values), 4);
  const y0 = yt[0]; const y1 = yt[yt.length - 1];
  let x0 = points[0].time; let x1 = points[points.length - 1].time;
  if (x0 === x1) { x0 -= 86400000; x1 += 86400000; }
  const x = (t) => L + ((t - x0) / (x1 - x0)) * (W - L - R);
  const y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  // Enough decimals that neighbouring ticks never read the same.
  const step = yt.length > 1 ? yt[1] - yt[0] : 1;
  const digits = Math.max(0, Math.min(3, -Math.floor(Math.log10(step) + 1e-9)));
  const pointDigits = measure.unit === 'mmol/L' || measure.unit === '%' ? 1 : 0;
  const parts = [];
  for (const v of yt) {
    parts.push(h('svg:line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    parts.push(h('svg:text', { class: 'axis-label', x: L - 6, y: y(v) + 4, 'text-anchor': 'end' },
      formatNumber(v, digits)));
  }
  const xTicks = 4;
  for (let i = 0; i <= xTicks; i += 1) {
    const tt = x0 + ((x1 - x0) * i) / xTicks;
    parts.push(h('svg:text', { class: 'axis-label', x: x(tt), y: H - B + 18,
      'text-anchor': i === 0 ? 'start' : i === xTicks ? 'end' : 'middle' }, formatDate(tt)));
  }
  parts.push(h('svg:line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
  parts.push(h('svg:line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  parts.push(h('svg:text', { class: 'axis-label', x: L, y: T - 12, 'text-anchor': 'middle' },
    measure.unit));
  parts.push(h('svg:text', { class: 'axis-label', x: W - R, y: H - 6, 'text-anchor': 'end' },
    t('charts.dateAxis')));
  const series = (key, cls) => {
    const pts = points.map((p) => `${x(p.time).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
    parts.push(h('svg:polyline', { class: ['series', cls], points: pts }));
    for (const p of points) {
      parts.push(h('svg:circle', { class: ['point', cls], cx: x(p.time).toFixed(1),
        cy: y(p[key]).toFixed(1), r: 3.5 },
      h('svg:title', {}, `${formatDate(p.time)}: ${formatNumber(p[key], pointDigits)} ${measure.unit}`)));
    }
  };
  series('value', null);
  if (measure.pair) series('value2', 'second');
  return h('svg:svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': titleId,
    focusable: 'false' }, parts);
}

function valueText(measure, p) {
  const digits = measure.unit === 'mmol/L' || measure.unit === '%' ? 1 : 0;
  return p.value2 === undefined ? `${formatNumber(p.value, digits)} ${measure.unit}`
    : `${formatNumber(p.value, 0)}/${formatNumber(p.value2, 0)} ${measure.unit}`;
}

function chart(measure, points) {
  const titleId = `chart-${measure.id}-title`;
  const latest = points[points.length - 1];
  return h('section', { class: 'chart', dataset: { measure: measure.id, points: String(points.length) },
    'aria-labelledby': titleId },
  h('h2', { id: titleId }, `${t(`charts.${measure.id}`)} (${measure.unit})`),
  h('p', { class: 'muted' }, t('charts.latest', { value: valueText(measure, latest),
    date: formatDate(latest.time), n: formatNumber(points.length) })),
  measure.pair ? h('p', { class: 'legend' },
    h('span', {}, h('span', { class: 'swatch' }), t('charts.systolic')),
    h('span', {}, h('span', { class: 'swatch second' }), t('charts.diastolic'))) : null,
  chartSvg(measure, points, titleId),
  h('details', {},
    h('summary', {}, t('charts.table')),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('record.date')),
        h('th', { scope: 'col' }, t('record.value')))),
      h('tbody', {}, points.slice().reverse().map((p) => h('tr', {},
        h('td', {}, formatDate(p.time)), h('td', { class: 'num' }, valueText(measure, p))))))));
}

async function fetchCategory(ctx, category) {
  const records = [];
  let cursor = null;
  for (let i = 0; i < MAX_PAGES; i += 1) {
    const q = new URLSearchParams({ category, type: 'Observation', limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const page = await ctx.api.get(`/v1/me/records?${q}`);
    records.push(...page.records);
    cursor = page.next;
    if (!cursor) break;
  }
  return records;
}

export async function render(main, ctx) {
  const [vitals, labs] = await Promise.all([
    fetchCategory(ctx, 'vital-signs'), fetchCategory(ctx, 'lab-results')]);
  const data = collect([...vitals, ...labs]);
  const shown = MEASURES.filter((m) => data[m.id].length > 0);
  add(main, 
    h('h1', {}, t('charts.title')),
    h('p', {}, t('charts.intro')),
    shown.length ? h('div', { class: 'charts' }, shown.map((m) => chart(m, data[m.id])))
      : h('p', {}, t('charts.none')));
}
