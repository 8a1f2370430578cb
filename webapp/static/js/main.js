// The app's shell: language, navigation, and the hash router that renders
// one view at a time into <main>. Unpaired browsers see only pairing.
import * as api from './api.js';
import * as device from './device.js';
import { LANGUAGES, language, preferredLanguage, setLanguage, t } from './i18n.js';
import { announce, errorBox, focusHeading, h, loading, replace } from './ui.js';

const VIEWS = {
  records: () => import('./views/records.js'),
  record: () => import('./views/record.js'),
  charts: () => import('./views/charts.js'),
  add: () => import('./views/add.js'),
  sharing: () => import('./views/sharing.js'),
  grant: () => import('./views/grant.js'),
  hide: () => import('./views/hide.js'),
  log: () => import('./views/log.js'),
  devices: () => import('./views/devices.js'),
  erase: () => import('./views/erase.js'),
  pair: () => import('./views/pair.js'),
};
const NAV = ['records', 'charts', 'add', 'sharing', 'hide', 'log', 'devices', 'erase'];

let renderSeq = 0;

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'records', args: parts.slice(1),
    params: new URLSearchParams(query) };
}

/** Goes to a route, e.g. go('records', {category: 'lab-results'}). */
export function go(view, params, ...args) {
  const q = params ? new URLSearchParams(params).toString() : '';
  const path = [view, ...args.map(encodeURIComponent)].join('/');
  const hash = `#/${path}${q ? `?${q}` : ''}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

function renderNav(active, paired) {
  const nav = document.getElementById('nav');
  if (!paired) {
    replace(nav);
    return;
  }
  const items = NAV.map((name) => h('li', {},
    h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : null,
      class: name === 'erase' ? 'nav-danger' : null }, t(`nav.${name}`))));
  replace(nav, h('ul', {}, items));
}

function renderLanguageSelect() {
  const select = document.getElementById('lang-select');
  document.getElementById('lang-label').textContent = t('common.language');
  replace(select, LANGUAGES.map((l) => h('option',
    { value: l.code, lang: l.code, selected: l.code === language() }, l.name)));
}

async function render() {
  const seq = ++renderSeq;
  const main = document.getElementById('main');
  const pairing = await device.load();
  let { view, args, params } = parseHash();
  if (!pairing) view = 'pair';
  else if (view === 'pair' || !VIEWS[view]) view = 'records';
  const navName = { record: 'records', grant: 'sharing' }[view] || view;
  renderNav(navName, !!pairing);
  document.getElementById('skip-link').textContent = t('common.skip');
  replace(main, loading());
  try {
    const module = await VIEWS[view]();
    if (seq !== renderSeq) return;
    const section = h('div', { class: `view view-${view}` });
    await module.render(section, { args, params, go, pairing, api, rerender: render });
    if (seq !== renderSeq) return;
    replace(main, section);
    document.title = `${section.querySelector('h1')?.textContent || ''} — tillit`;
    focusHeading(main);
  } catch (err) {
    if (seq !== renderSeq) return;
    replace(main, h('h1', {}, t(`nav.${navName}`)), errorBox(err));
  }
}

async function start() {
  await setLanguage(preferredLanguage());
  renderLanguageSelect();
  document.getElementById('lang-select').addEventListener('change', async (e) => {
    await setLanguage(e.target.value);
    renderLanguageSelect();
    await render();
    announce(t('common.languageChanged'));
  });
  api.setUnpairedHandler(async (err) => {
    // Only a device the server no longer knows is forgotten; any other 401
    // (a clock far off, say) keeps the pairing.
    if (err.detail === 'unknown or revoked device' && (await device.load())) {
      await device.forget();
      announce(t('pair.lost'));
      go('pair', { lost: '1' });
    }
  });
  window.addEventListener('hashchange', render);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' })
      .catch(() => { /* the app works without the offline shell */ });
  }
  await render();
}

start();
