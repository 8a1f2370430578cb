// DOM building without markup: every text goes in as a text node, so
// health data and server messages can never become HTML.
import { t } from './i18n.js';

let idCounter = 0;

/** A fresh id for label/aria wiring: prefix + counter. */
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/**
 * Creates an element. attrs: plain attributes, except `class` (string or
 * array), `on<Event>` (listener functions), `dataset` (object) and boolean
 * values (true sets an empty attribute, false/null/undefined skip it).
 * Children: nodes, strings (text nodes), arrays, or null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') {
      const names = Array.isArray(value) ? value.filter(Boolean) : [value];
      if (names.length) el.setAttribute('class', names.join(' '));
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Appends children as h() takes them (null and false are skipped, where
 * the DOM's own append would write "null"). */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Announces a short message to screen readers and shows it briefly. */
export function announce(text) {
  const status = document.getElementById('status');
  if (!status) return;
  status.textContent = text;
  status.classList.add('visible');
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => status.classList.remove('visible'), 5000);
}

/**
 * An error as a person reads it: a sentence for the kind of error and,
 * for an API error, the request id to quote to support. Never a stack
 * trace or raw JSON. `message`, when given, is the sentence for an API
 * error that the page can say more precisely than its code.
 */
export function errorBox(err, message) {
  const lines = [];
  let title = t('error.generic');
  if (err && err.name === 'ApiError') {
    const key = `error.${err.code}`;
    title = message || (t(key) !== key ? t(key) : t('error.status', { status: err.status }));
    if (err.detail) lines.push(h('p', { class: 'detail' }, err.detail));
    if (err.requestId) {
      lines.push(h('p', { class: 'request-id' },
        t('error.requestId', { id: err.requestId })));
    }
  } else if (err && err.name === 'NetworkError') {
    title = t('error.network');
  } else if (err && err.userMessage) {
    title = err.userMessage;
  }
  return h('div', { class: 'error', role: 'alert' },
    h('p', { class: 'error-title' }, title), lines);
}

/** A heading + paragraph + button page shown while loading. */
export function loading() {
  return h('p', { class: 'loading', 'aria-busy': 'true' }, t('common.loading'));
}

/** A labelled form field: label, control, hint and error slot. */
export function field({ label, control, hint, id }) {
  const controlId = id || control.id || uid('field');
  control.id = controlId;
  const hintId = hint ? `${controlId}-hint` : null;
  const errId = `${controlId}-error`;
  const describedBy = [hintId, errId].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  const err = h('p', { class: 'field-error', id: errId });
  const wrap = h('div', { class: 'field' },
    h('label', { for: controlId }, label),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    control, err);
  wrap.setError = (text) => {
    err.textContent = text || '';
    if (text) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  };
  return wrap;
}

/**
 * Asks for confirmation in a modal dialog; resolves true or false.
 * Focus moves into the dialog and back afterwards.
 */
export function confirmDialog({ title, text, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dlg');
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, title),
      h('p', {}, text));
    const done = (value) => {
      dialog.close();
      dialog.remove();
      if (opener && opener.focus) opener.focus();
      resolve(value);
    };
    const cancel = h('button', { type: 'button', class: 'secondary',
      onclick: () => done(false) }, t('common.cancel'));
    const ok = h('button', { type: 'button', class: danger ? 'danger' : 'primary',
      onclick: () => done(true) }, confirmLabel);
    dialog.appendChild(h('div', { class: 'actions' }, cancel, ok));
    dialog.addEventListener('cancel', (e) => { e.preventDefault(); done(false); });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Moves focus to the page's heading after a view renders. */
export function focusHeading(main) {
  const heading = main.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}
