// The words of a push notification, for the service worker (sw.js) to
// show. A push message's payload is {kind, count, url} and no health data;
// the worker cannot load the app's i18n modules, so the few sentences are
// here, in the app's five languages, chosen by the browser's language.
//
// A classic script, not a module: sw.js is registered as a classic worker
// and loads this file with importScripts, which puts its functions in the
// worker's global scope (hence the push prefix on every name: sw.js
// declares names of its own). webapp/test/notifications.test.mjs runs it
// in a vm context. Pure: no DOM, no worker API.

const PUSH_TEXT = {
  en: {
    access: 'Someone accessed your health data',
    accessMany: '{n} accesses to your health data',
    'break-glass': 'Emergency access to your health data',
    proxy: 'Someone acting for you used your data',
    digestOne: 'One access to your health data in the last day',
    digestMany: '{n} accesses to your health data in the last day',
    more: '{n} accesses in all.',
    body: 'See who and why in “Who looked at my data”.',
  },
  sv: {
    access: 'Någon har tagit del av dina hälsouppgifter',
    accessMany: '{n} åtkomster till dina hälsouppgifter',
    'break-glass': 'Nödåtkomst till dina hälsouppgifter',
    proxy: 'Någon som företräder dig har använt dina uppgifter',
    digestOne: 'En åtkomst till dina hälsouppgifter det senaste dygnet',
    digestMany: '{n} åtkomster till dina hälsouppgifter det senaste dygnet',
    more: '{n} åtkomster sammanlagt.',
    body: 'Se vem och varför under ”Vem har tittat på mina uppgifter”.',
  },
  nb: {
    access: 'Noen har sett helseopplysningene dine',
    accessMany: '{n} oppslag i helseopplysningene dine',
    'break-glass': 'Nødtilgang til helseopplysningene dine',
    proxy: 'Noen som handler på dine vegne, har brukt opplysningene dine',
    digestOne: 'Ett oppslag i helseopplysningene dine det siste døgnet',
    digestMany: '{n} oppslag i helseopplysningene dine det siste døgnet',
    more: '{n} oppslag i alt.',
    body: 'Se hvem og hvorfor under «Hvem har sett opplysningene mine».',
  },
  fi: {
    access: 'Joku käytti terveystietojasi',
    accessMany: 'Terveystietojasi käytettiin {n} kertaa',
    'break-glass': 'Terveystietojasi käytettiin hätätilanteessa',
    proxy: 'Puolestasi asioiva käytti tietojasi',
    digestOne: 'Terveystietojasi käytettiin kerran viimeisen vuorokauden aikana',
    digestMany: 'Terveystietojasi käytettiin {n} kertaa viimeisen vuorokauden aikana',
    more: 'Yhteensä {n} käyttökertaa.',
    body: 'Katso kohdasta ”Kuka on katsellut tietojani”, kuka tietojasi käytti ja miksi.',
  },
  se: {
    access: 'Soames lea geahččan du dearvvašvuođadieđuid',
    accessMany: 'Du dearvvašvuođadieđut leat geahččojuvvon {n} geardde',
    'break-glass': 'Heahtebeassan du dearvvašvuođadieđuide',
    proxy: 'Soames guhte doaibmá du ovddas lea geavahan du dieđuid',
    digestOne: 'Du dearvvašvuođadieđut leat geahččojuvvon oktii maŋimuš jándoris',
    digestMany: 'Du dearvvašvuođadieđut leat geahččojuvvon {n} geardde maŋimuš jándoris',
    more: 'Oktiibuot {n} geardde.',
    body: 'Geahča geat ja manne siiddus «Geat leat geahččan mu dieđuid».',
  },
};
const PUSH_LOCALES = { en: 'en-GB', sv: 'sv-SE', nb: 'nb-NO', fi: 'fi-FI', se: 'se-NO' };
const PUSH_KINDS = ['access', 'break-glass', 'proxy', 'digest'];
const PUSH_DEFAULT_PATH = '/app/#/log';

/**
 * The app's language for the browser's language tags (navigator.languages,
 * most preferred first): en, sv, nb, fi or se; Norwegian of any kind is
 * nb, and English the fallback.
 * @param {string[]|string} tags
 * @returns {string}
 */
function pushLanguage(tags) {
  const list = Array.isArray(tags) ? tags : [tags];
  for (const tag of list) {
    if (typeof tag !== 'string') continue;
    const base = tag.toLowerCase().split(/[-_]/)[0];
    const code = base === 'no' || base === 'nn' ? 'nb' : base === 'sme' ? 'se' : base;
    if (Object.prototype.hasOwnProperty.call(PUSH_TEXT, code)) return code;
  }
  return 'en';
}

/**
 * Where a click on the notification leads: the payload's url when it is a
 * page of the app on `origin`, else the access log.
 * @param {*} url the payload's "url"
 * @param {string} origin the worker's origin, e.g. "https://vault.example"
 * @returns {string} an absolute URL on `origin`
 */
function pushTarget(url, origin) {
  const fallback = `${origin}${PUSH_DEFAULT_PATH}`;
  if (typeof url !== 'string' || !url) return fallback;
  try {
    const target = new URL(url, origin);
    if (target.origin !== origin || !target.pathname.startsWith('/app/')) return fallback;
    return target.href;
  } catch {
    return fallback;
  }
}

function pushNumber(n, code) {
  try {
    return new Intl.NumberFormat(PUSH_LOCALES[code]).format(n);
  } catch {
    return String(n);
  }
}

/**
 * The notification for a push payload ({kind, count, url}, or anything
 * else: a payload that is missing or not understood reads as one access).
 * Never throws.
 * @param {*} payload event.data.json(), or null when it could not be read
 * @param {string[]|string} tags the browser's languages
 * @param {string} origin the worker's origin
 * @returns {{title: string, body: string, lang: string, tag: string, url: string}}
 */
function pushNotice(payload, tags, origin) {
  const data = payload !== null && typeof payload === 'object' && !Array.isArray(payload)
    ? payload : {};
  const kind = PUSH_KINDS.includes(data.kind) ? data.kind : 'access';
  const count = Number.isSafeInteger(data.count) && data.count > 0 ? data.count : 1;
  const code = pushLanguage(tags);
  const text = PUSH_TEXT[code];
  const fill = (s) => s.replace('{n}', pushNumber(count, code));
  let title;
  let body = text.body;
  if (kind === 'digest') {
    title = count === 1 ? text.digestOne : fill(text.digestMany);
  } else if (kind === 'access') {
    title = count === 1 ? text.access : fill(text.accessMany);
  } else {
    // Accesses close together come as one message, named by the most
    // serious of them.
    title = text[kind];
    if (count > 1) body = `${fill(text.more)} ${body}`;
  }
  return { title, body, lang: code, tag: `tillit-${kind}`, url: pushTarget(data.url, origin) };
}
