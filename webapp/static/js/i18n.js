// Strings and formats per language. Every text the app shows comes from
// js/lang/<code>.js through t(); a key missing in a language falls back to
// English. The choice is remembered in localStorage.
import en from './lang/en.js';

export const LANGUAGES = [
  { code: 'en', name: 'English', locale: 'en-GB' },
  { code: 'sv', name: 'Svenska', locale: 'sv-SE' },
  { code: 'nb', name: 'Norsk bokmål', locale: 'nb-NO' },
  { code: 'fi', name: 'Suomi', locale: 'fi-FI' },
  { code: 'se', name: 'Davvisámegiella', locale: 'se-NO' },
];
const STORAGE_KEY = 'tillit.lang';

let current = 'en';
let strings = en;

/** The language in use, e.g. "sv". */
export function language() {
  return current;
}

/** The BCP 47 locale for dates and numbers (Northern Sami falls back to
 * Norwegian formats where the browser has no Sami data). */
export function locale() {
  const entry = LANGUAGES.find((l) => l.code === current) || LANGUAGES[0];
  const supported = Intl.DateTimeFormat.supportedLocalesOf([entry.locale]);
  return supported.length ? entry.locale : 'nb-NO';
}

/** Loads a language's strings, sets <html lang> and remembers the choice. */
export async function setLanguage(code) {
  const entry = LANGUAGES.find((l) => l.code === code) || LANGUAGES[0];
  strings = entry.code === 'en'
    ? en : (await import(`./lang/${entry.code}.js`)).default;
  current = entry.code;
  document.documentElement.lang = entry.code;
  try { localStorage.setItem(STORAGE_KEY, entry.code); } catch { /* private mode */ }
}

/** The remembered language, else the browser's if we have it, else English. */
export function preferredLanguage() {
  let saved = null;
  try { saved = localStorage.getItem(STORAGE_KEY); } catch { /* ignore */ }
  if (saved && LANGUAGES.some((l) => l.code === saved)) return saved;
  for (const tag of navigator.languages || []) {
    const base = tag.toLowerCase().split('-')[0];
    const code = base === 'no' || base === 'nn' ? 'nb' : base;
    if (LANGUAGES.some((l) => l.code === code)) return code;
  }
  return 'en';
}

/** The text for `key` with {name} placeholders filled from `params`. */
export function t(key, params = {}) {
  let text = strings[key] ?? en[key];
  if (text === undefined) return key;
  return text.replace(/\{(\w+)\}/g, (m, name) =>
    (params[name] === undefined ? m : String(params[name])));
}

/** A date (Date, ms or ISO string) as the language writes it: 5 Dec 2026. */
export function formatDate(value) {
  const d = toDate(value);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(d);
}

/** A date and time: 5 Dec 2026, 14:03. */
export function formatDateTime(value) {
  const d = toDate(value);
  if (!d) return '';
  return new Intl.DateTimeFormat(locale(),
    { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** A number with the language's separators. */
export function formatNumber(n, digits) {
  const opts = digits === undefined ? {} :
    { minimumFractionDigits: 0, maximumFractionDigits: digits };
  return new Intl.NumberFormat(locale(), opts).format(n);
}

/** A number the person typed, with either decimal separator; NaN if not one. */
export function parseNumber(text) {
  const s = String(text).trim().replace(/\s/g, '').replace(',', '.');
  if (!/^-?\d+(\.\d+)?$/.test(s)) return NaN;
  return Number(s);
}

function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const d = value instanceof Date ? value
    : typeof value === 'number' ? new Date(value) : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}
