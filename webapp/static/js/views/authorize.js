// Connecting an app (SMART App Launch): the consent page the vault's
// /fhir/authorize sends the browser to, #/authorize/ar_…. It reads the
// request (GET /v1/me/app-requests/{id}) and says which app asks, where
// the browser goes back to, what the app asks for in words and whether it
// keeps access while the citizen is away; the citizen chooses the kinds
// of records (all by default) and whether sensitive records are included,
// then allows or denies (POST, the request is used up either way) and the
// browser goes back to the app with the vault's answer. The app's name is
// only ever set as text.
import {
  consentBody, consentCategories, isAppRequestId, isRedirectFor, offlineWords, redirectOrigin,
  scopeLines, validateConsent,
} from '../apps.js';
import { formatDateTime, t } from '../i18n.js';
import { add, errorBox, h } from '../ui.js';

/** The request cannot be answered any more (expired, answered, unknown). */
function gone() {
  return h('p', { class: 'notice', id: 'app-request-gone', role: 'alert' }, t('authorize.gone'));
}

/** A checkbox with its label (and hint) beside it. */
function choice({ name, value, id, label, hint, checked, describedBy }) {
  const input = h('input', { type: 'checkbox', name, value, id, checked,
    'aria-describedby': describedBy });
  const wrap = h('div', { class: 'choice' }, input,
    h('label', { for: id }, label, hint ? h('span', { class: 'hint' }, hint) : null));
  return { wrap, input };
}

const isNotFound = (err) => err && err.name === 'ApiError' && err.status === 404;

export async function render(main, ctx) {
  const id = ctx.args[0] || '';
  const title = h('h1', {}, t('authorize.title'));
  if (!isAppRequestId(id)) {
    add(main, title, gone());
    return;
  }
  const path = `/v1/me/app-requests/${encodeURIComponent(id)}`;
  let request;
  try {
    request = await ctx.api.get(path);
  } catch (err) {
    add(main, title, isNotFound(err) ? gone() : errorBox(err));
    return;
  }
  const app = request && typeof request.app === 'object' && request.app ? request.app : {};
  const name = typeof app.name === 'string' && app.name.trim() ? app.name.trim()
    : String(app.client_id || '');
  const redirectUri = typeof app.redirect_uri === 'string' ? app.redirect_uri : '';
  const origin = redirectOrigin(redirectUri);

  // --- what the app asks for
  const lines = scopeLines(request.scopes);
  const asks = h('section', { 'aria-labelledby': 'app-asks-title' },
    h('h2', { id: 'app-asks-title' }, t('authorize.asks')),
    h('ul', { id: 'app-scopes' }, lines.map((line) => h('li', {}, line))),
    h('p', { id: 'app-offline' }, offlineWords(request.offline_access)));

  // --- the citizen's answer
  const errId = 'app-category-error';
  const categoryError = h('p', { class: 'field-error', id: errId });
  const inputs = [];
  const categoryChoices = consentCategories(request).map((c) => {
    const ch = choice({ name: 'app-category', value: c, id: `app-category-${c}`,
      label: t(`category.${c}`), checked: true,
      describedBy: `app-category-hint ${errId}` });
    inputs.push(ch.input);
    return ch.wrap;
  });
  const setCategoryError = (text) => {
    categoryError.textContent = text || '';
    for (const input of inputs) {
      if (text) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  };
  const sensitive = choice({ name: 'include-sensitive', id: 'app-sensitive',
    label: t('authorize.sensitive'), hint: t('proxies.form.sensitiveHint'), checked: false });

  const out = h('div', { class: 'app-answer-status', id: 'app-answer-status' });
  const allow = h('button', { type: 'submit', class: 'primary', id: 'app-allow' },
    t('authorize.allow'));
  const deny = h('button', { type: 'button', class: 'secondary', id: 'app-deny' },
    t('authorize.deny'));
  const form = h('form', { novalidate: true, id: 'app-consent-form' },
    h('fieldset', {}, h('legend', {}, t('authorize.categories')),
      h('p', { class: 'hint', id: 'app-category-hint' }, t('authorize.categoriesHint')),
      categoryChoices, categoryError),
    h('fieldset', {}, h('legend', {}, t('authorize.records')), sensitive.wrap),
    out,
    h('div', { class: 'actions start' }, allow, deny));

  let answering = false;
  const answer = async (approve) => {
    if (answering) return;
    setCategoryError('');
    out.replaceChildren();
    let body;
    if (approve) {
      const chosen = inputs.filter((i) => i.checked).map((i) => i.value);
      const errors = validateConsent(chosen);
      if (errors.length) {
        setCategoryError(t(errors[0].key));
        inputs[0]?.focus();
        return;
      }
      body = consentBody({ approve: true, categories: chosen,
        includeSensitive: sensitive.input.checked });
    } else {
      body = consentBody({ approve: false });
    }
    answering = true;
    allow.disabled = true;
    deny.disabled = true;
    let result;
    try {
      result = await ctx.api.post(path, body);
    } catch (err) {
      answering = false;
      if (isNotFound(err)) {
        form.replaceWith(gone());
        return;
      }
      allow.disabled = false;
      deny.disabled = false;
      // The vault refuses an approval with 409 while it holds no Patient
      // record for the citizen (the app would open on it); its own words
      // are shown below the sentence.
      const noPatient = approve && err && err.name === 'ApiError' && err.status === 409;
      out.replaceChildren(errorBox(err, noPatient ? t('authorize.error.noPatient') : undefined));
      (approve ? allow : deny).focus();
      return;
    }
    // The request is used up: the form stays disabled.
    if (!isRedirectFor(result?.redirect, redirectUri)) {
      out.replaceChildren(h('p', { class: 'notice', role: 'alert', id: 'app-answered' },
        t('authorize.badRedirect')));
      return;
    }
    out.replaceChildren(h('p', { class: 'ok', role: 'status', id: 'app-answered' },
      t('authorize.going', { origin: redirectOrigin(result.redirect) })));
    location.assign(result.redirect);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    answer(true);
  });
  deny.addEventListener('click', () => answer(false));

  const expires = Number.isSafeInteger(request.expires) && request.expires > 0
    ? formatDateTime(request.expires * 1000) : '';
  add(main,
    title,
    h('p', {}, t('authorize.intro')),
    h('dl', { class: ['details', 'app-who'] },
      h('dt', {}, t('authorize.app')),
      h('dd', { id: 'app-name' }, name),
      h('dt', {}, t('authorize.returnTo')),
      h('dd', { id: 'app-return' }, origin)),
    h('p', { class: 'hint' }, t('authorize.returnHint')),
    expires ? h('p', { class: 'hint', id: 'app-expires' }, t('authorize.expires', { time: expires }))
      : null,
    asks,
    form);
}
