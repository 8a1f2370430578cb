// The app's shell: language, navigation, the acting-for-someone banner,
// and the hash router that renders one view at a time into <main>.
// Unpaired browsers see only pairing; one that came to answer an app's
// request (#/authorize/ar_…) keeps that address and comes back to it once
// paired.
import * as acting from './acting.js';
import * as api from './api.js';
import * as device from './device.js';
import { LANGUAGES, language, preferredLanguage, setLanguage, t } from './i18n.js';
import { accessWords, canWrite, isFullScope, navAllowed, routeAllowed } from './proxies.js';
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
  notifications: () => import('./views/notifications.js'),
  proxies: () => import('./views/proxies.js'),
  represented: () => import('./views/represented.js'),
  devices: () => import('./views/devices.js'),
  erase: () => import('./views/erase.js'),
  pair: () => import('./views/pair.js'),
  authorize: () => import('./views/authorize.js'),
};
const NAV = ['records', 'charts', 'add', 'sharing', 'hide', 'log', 'notifications', 'proxies',
  'represented', 'devices', 'erase'];

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

function renderNav(active, paired, scope) {
  const nav = document.getElementById('nav');
  if (!paired) {
    replace(nav);
    return;
  }
  const items = NAV.filter((name) => navAllowed(name, scope)).map((name) => h('li', {},
    h('a', { href: `#/${name}`, 'aria-current': name === active ? 'page' : null,
      class: name === 'erase' ? 'nav-danger' : null }, t(`nav.${name}`))));
  replace(nav, h('ul', {}, items));
}

/** Stops acting and goes to the people one acts for, which says so;
 * with `stay`, shows the same page again as the citizen themselves (an
 * app's request, which only they can answer). */
function stopActing(scope, { stay = false } = {}) {
  acting.stop({ kind: 'stopped', id: scope.citizen_id });
  announce(t('acting.stopped', { id: scope.citizen_id }));
  if (stay) render();
  else go('represented');
}

/** The banner while acting for someone: whom, what the authorisation
 * allows, and Stop. Hidden otherwise. */
function renderBanner(scope) {
  let banner = document.getElementById('acting-banner');
  if (!banner) {  // an index.html older than this script (the offline shell)
    banner = h('div', { id: 'acting-banner', class: 'acting-banner', role: 'region', hidden: true });
    document.querySelector('header')?.after(banner);
  }
  if (!scope) {
    banner.hidden = true;
    replace(banner);
    return;
  }
  const stop = h('button', { type: 'button', id: 'acting-stop', class: 'secondary',
    'aria-describedby': 'acting-text' }, t('acting.stop'));
  stop.addEventListener('click', () => stopActing(scope));
  replace(banner, h('p', { id: 'acting-text' },
    t('acting.banner', { id: scope.citizen_id, access: accessWords(scope.access) })), stop);
  banner.setAttribute('aria-label', t('acting.label'));
  banner.hidden = false;
}

/** A page a proxy cannot use, said instead of calling the API. */
function notWhileActing(main, view, scope) {
  const stop = h('button', { type: 'button', class: 'primary', id: 'acting-stop-here' },
    t('acting.stopToUse'));
  stop.addEventListener('click', () => stopActing(scope, { stay: view === 'authorize' }));
  replace(main, h('div', { class: `view view-${view}` },
    h('h1', {}, t(`nav.${view}`)),
    h('p', { class: 'notice', id: 'acting-not-here' }, t('acting.notHere', { id: scope.citizen_id })),
    stop));
}

/**
 * A call made while acting was refused (403 or 404): reads the people
 * this citizen may act for again. Gone from the list: acting ends and the
 * app says so; still there: the scope is brought up to date (the citizen
 * may have changed it).
 */
async function actingRefused(err, scope) {
  const pairing = await device.load();
  if (!pairing || !acting.current(pairing.citizenId)) return;
  const answer = await api.own.get('/v1/me/represented');
  const list = Array.isArray(answer?.represented) ? answer.represented : [];
  const entry = list.find((r) => r.id === scope.id && r.citizen_id === scope.citizen_id) ||
    list.find((r) => r.citizen_id === scope.citizen_id);
  if (!entry) {
    acting.stop({ kind: 'ended', id: scope.citizen_id });
    announce(t('represented.ended', { id: scope.citizen_id }));
    renderBanner(null);
    go('represented');
  } else if (JSON.stringify(entry) !== JSON.stringify(scope)) {
    acting.update(entry);
    renderBanner(entry);
  }
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
  // An app's request waits while the browser pairs, then is shown.
  const returnTo = !pairing && view === 'authorize' ? { view, args } : null;
  if (!pairing) view = 'pair';
  else if (view === 'pair' || !VIEWS[view]) view = 'records';
  const navName = { record: 'records', grant: 'sharing' }[view] || view;
  const scope = pairing ? acting.current(pairing.citizenId) : null;
  // Why acting ended is said on the people-I-act-for page, until another
  // page is shown.
  if (view !== 'represented') acting.clearNotice();
  renderNav(navName, !!pairing, scope);
  renderBanner(scope);
  document.getElementById('skip-link').textContent = t('common.skip');
  if (scope && !routeAllowed(view, scope)) {
    notWhileActing(main, navName, scope);
    document.title = `${t(`nav.${navName}`)} — tillit`;
    focusHeading(main);
    return;
  }
  // Whose data the pages show: the paired citizen's, or the person's
  // they act for, with what the authorisation lets them do.
  const subject = {
    citizenId: scope ? scope.citizen_id : pairing?.citizenId,
    scope,
    canWrite: !scope || canWrite(scope),
    settings: !scope || isFullScope(scope),
  };
  const actingControl = {
    start: (entry) => acting.start(pairing.citizenId, entry),
    stop: () => stopActing(scope),
    notice: () => acting.lastNotice(),
  };
  replace(main, loading());
  try {
    const module = await VIEWS[view]();
    if (seq !== renderSeq) return;
    const section = h('div', { class: `view view-${view}` });
    await module.render(section, { args, params, go, pairing, api, rerender: render, subject,
      acting: actingControl, returnTo });
    if (seq !== renderSeq) return;
    replace(main, section);
    document.title = `${section.querySelector('h1')?.textContent || ''} — tillit`;
    focusHeading(main);
  } catch (err) {
    if (seq !== renderSeq) return;
    replace(main, h('h1', {}, t(`nav.${navName}`)), errorBox(err));
  }
}

/** After a reload in acting mode: the authorisation is read again, and
 * acting ends, said on the page, if it no longer holds. */
async function checkActing() {
  const pairing = await device.load();
  const scope = pairing ? acting.current(pairing.citizenId) : null;
  if (!scope) return;
  try {
    await actingRefused(null, scope);
  } catch { /* unreachable vault: the banner stays, the pages say the rest */ }
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
      acting.stop();
      await device.forget();
      announce(t('pair.lost'));
      // An app's request keeps its address: pairing again leads back to it.
      if (parseHash().view === 'authorize') render();
      else go('pair', { lost: '1' });
    }
  });
  api.setActingRefusedHandler(actingRefused);
  await checkActing();
  window.addEventListener('hashchange', render);
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' })
      .catch(() => { /* the app works without the offline shell */ });
  }
  await render();
}

start();
