// Acting mode: whom this browser tab acts for, if anyone. The state is
// the entry of GET /v1/me/represented the person chose (the citizen's id
// and the authorisation's scope) and the id of the paired citizen who
// chose it. It lives in sessionStorage: it survives a reload of the tab
// (the banner stays, and the app checks the authorisation again at
// start), never another tab or the next visit, and is dropped when the
// pairing changes. js/api.js sends the pages' /v1/me calls on to
// /v1/citizens/{id} while it is set.
const KEY = 'tillit.acting';

let cached;  // undefined: not read yet; null: not acting
let notice = null;

function isEntry(e) {
  return e !== null && typeof e === 'object' && typeof e.citizen_id === 'string' &&
    /^c_[0-9a-f]{32}$/.test(e.citizen_id);
}

function read() {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    if (saved && typeof saved.by === 'string' && isEntry(saved.scope)) cached = saved;
  } catch { /* no storage (Node, private mode) or a broken value: not acting */ }
  return cached;
}

function write(value) {
  cached = value;
  try {
    if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
    else sessionStorage.removeItem(KEY);
  } catch { /* kept in memory only */ }
}

/** The scope (a represented entry) this tab acts with for the paired
 * citizen `by`, or null when it acts for no one. */
export function current(by) {
  const state = read();
  if (!state) return null;
  if (state.by !== by) {
    write(null);
    return null;
  }
  return state.scope;
}

/** Starts acting, for the paired citizen `by`, with a represented entry. */
export function start(by, entry) {
  if (!isEntry(entry)) throw new TypeError('not a represented entry');
  notice = null;
  write({ by, scope: entry });
}

/** Replaces the scope (the citizen changed the authorisation). */
export function update(entry) {
  const state = read();
  if (state && isEntry(entry) && entry.citizen_id === state.scope.citizen_id) {
    write({ by: state.by, scope: entry });
  }
}

/** Stops acting; `why` ({kind, id}) is kept for the next page to say. */
export function stop(why = null) {
  write(null);
  notice = why;
}

/** What ended acting mode last: {kind: 'ended'|'stopped', id} or null. */
export function lastNotice() {
  return notice;
}

/** Forgets the notice (once another page is shown). */
export function clearNotice() {
  notice = null;
}
