// Notifications (EHDS Art 9): how often the citizen is told that someone
// accessed their data (off, every access, only break-glass and proxies, a
// daily summary), push notifications in this browser, the browsers that
// get them, and whether the region's notification service is told too.
// The citizen's own settings: there is no such page for someone one acts
// for, so while acting it says so and calls nothing. The steps of turning
// on push are in js/notifications.js.
import { formatDate, t } from '../i18n.js';
import {
  browserSubscription, modeHint, modeLabel, modeList, pushServiceName, pushSupport, turnOffPush,
  turnOnPush,
} from '../notifications.js';
import * as store from '../store.js';
import { add, announce, errorBox, h, replace } from '../ui.js';

// Which of the vault's push subscriptions is this browser's: the id the
// vault gave it and the endpoint it was made for (the vault's list names
// only the push service).
const MINE = 'push';

async function loadMine(citizenId) {
  try {
    const mine = await store.get(MINE);
    return mine && mine.citizenId === citizenId && typeof mine.id === 'string' ? mine : null;
  } catch {
    return null;
  }
}

async function saveMine(value) {
  try {
    await store.put(MINE, value);
  } catch { /* not remembered: the list just does not mark this browser */ }
}

/** While acting for someone: the page is the citizen's own. */
function ownOnly(main, ctx) {
  const stop = h('button', { type: 'button', class: 'primary', id: 'notify-stop-acting' },
    t('acting.stopToUse'));
  stop.addEventListener('click', () => ctx.acting.stop());
  add(main,
    h('h1', {}, t('notifications.title')),
    h('p', { class: 'notice', id: 'notify-own-only' },
      t('notifications.ownOnly', { id: ctx.subject.citizenId })),
    stop);
}

/** A failure to turn on push, as a person reads it. */
function pushErrorBox(err) {
  if (err && err.name === 'PushError') {
    return h('div', { class: 'error', role: 'alert', id: 'push-error', dataset: { kind: err.kind } },
      h('p', { class: 'error-title' }, t('notifications.push.failed')),
      h('p', {}, t(`notifications.push.error.${err.kind}`)));
  }
  const box = errorBox(err, t('notifications.push.failed'));
  box.id = 'push-error';
  return box;
}

export async function render(main, ctx) {
  if (ctx.subject.scope) {
    ownOnly(main, ctx);
    return;
  }
  const citizenId = ctx.pairing.citizenId;
  const [answer, remembered, held] = await Promise.all([
    ctx.api.own.get('/v1/me/notifications'),
    loadMine(citizenId),
    browserSubscription(),
  ]);
  const state = {
    mode: typeof answer?.mode === 'string' ? answer.mode : 'off',
    subscriptions: Array.isArray(answer?.push_subscriptions) ? answer.push_subscriptions : [],
    vapid: answer?.vapid_public_key,
    webhook: answer?.webhook === true,
    // This browser's subscription, while the browser still holds it.
    mine: remembered && held && held.endpoint === remembered.endpoint ? remembered : null,
  };

  // --- how often
  const modes = modeList(answer);
  const inputs = modes.map((m) => h('input', { type: 'radio', name: 'notify-mode', value: m,
    id: `notify-mode-${m}`, checked: m === state.mode,
    'aria-describedby': `notify-mode-${m}-hint` }));
  const choices = inputs.map((input) => h('div', { class: 'choice' }, input,
    h('label', { for: input.id }, modeLabel(input.value),
      h('span', { class: 'hint', id: `${input.id}-hint` }, modeHint(input.value)))));
  const save = h('button', { type: 'submit', class: 'primary', id: 'notify-save' },
    t('common.save'));
  const modeOut = h('div', { id: 'notify-status' });
  const form = h('form', { novalidate: true, id: 'notify-form' },
    h('fieldset', {}, h('legend', {}, t('notifications.modeLegend')), choices),
    save, modeOut);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = inputs.find((i) => i.checked)?.value;
    modeOut.replaceChildren();
    if (!chosen) return;
    save.disabled = true;
    try {
      const saved = await ctx.api.own.put('/v1/me/notifications', { mode: chosen });
      state.mode = typeof saved?.mode === 'string' ? saved.mode : chosen;
      if (Array.isArray(saved?.push_subscriptions)) state.subscriptions = saved.push_subscriptions;
      for (const input of inputs) input.checked = input.value === state.mode;
      const text = t('notifications.saved', { mode: modeLabel(state.mode) });
      modeOut.replaceChildren(h('p', { class: 'ok', id: 'notify-saved' }, text));
      announce(text);
      renderPush();
    } catch (err) {
      modeOut.replaceChildren(errorBox(err));
    } finally {
      save.disabled = false;
    }
  });

  // --- this browser, and the browsers that get push notifications
  const pushBox = h('div', { id: 'push-this' });
  const pushOut = h('div', { id: 'push-status', 'aria-live': 'polite' });
  const listBox = h('div', { id: 'push-list' });
  const listOut = h('div', {});
  const listTitle = h('h2', { id: 'push-list-title', tabindex: '-1' },
    t('notifications.list.title'));

  async function turnOn(button) {
    button.disabled = true;
    pushOut.replaceChildren(h('p', { class: 'muted', id: 'push-working' },
      t('notifications.push.working')));
    try {
      const { endpoint, saved } = await turnOnPush({ vapid: state.vapid,
        save: (body) => ctx.api.own.post('/v1/me/push-subscriptions', body) });
      if (saved && typeof saved.id === 'string') {
        state.subscriptions = [...state.subscriptions.filter((s) => s.id !== saved.id), saved];
        state.mine = { citizenId, id: saved.id, endpoint };
        await saveMine(state.mine);
      }
      pushOut.replaceChildren();
      renderPush();
      announce(t('notifications.push.isOn'));
      pushBox.querySelector('#push-state')?.focus();
    } catch (err) {
      pushOut.replaceChildren(pushErrorBox(err));
      button.disabled = false;
      if (button.isConnected) button.focus();
    }
  }

  async function remove(s, button) {
    button.disabled = true;
    listOut.replaceChildren();
    try {
      await ctx.api.own.del(`/v1/me/push-subscriptions/${encodeURIComponent(s.id)}`);
    } catch (err) {
      // Gone already (removed from another device): the list catches up.
      if (!(err && err.name === 'ApiError' && err.status === 404)) {
        listOut.replaceChildren(errorBox(err));
        button.disabled = false;
        button.focus();
        return;
      }
    }
    if (state.mine && state.mine.id === s.id) {
      await turnOffPush(globalThis, state.mine.endpoint);
      state.mine = null;
      await saveMine(null);
    }
    state.subscriptions = state.subscriptions.filter((x) => x.id !== s.id);
    pushOut.replaceChildren();
    renderPush();
    announce(t('notifications.list.removed', { service: pushServiceName(s.push_service).name }));
    listTitle.focus();
  }

  function subscriptionItem(s) {
    const { name, host } = pushServiceName(s.push_service);
    const textId = `push-subscription-${s.id}`;
    const isMine = !!state.mine && state.mine.id === s.id;
    const button = h('button', { type: 'button', class: ['link-danger', 'push-remove'],
      'aria-describedby': textId, dataset: { subscriptionId: s.id } },
    t('notifications.list.remove'));
    button.addEventListener('click', () => remove(s, button));
    return h('li', { class: ['grant', 'push-subscription'], dataset: { subscriptionId: s.id } },
      h('p', { id: textId },
        h('strong', {}, name || t('notifications.list.unknownService')),
        isMine ? [' ', h('span', { class: 'badge verified' }, t('notifications.list.this'))] : null),
      host && host !== name ? h('p', { class: 'hint' }, host) : null,
      Number.isFinite(s.created)
        ? h('p', { class: 'muted' }, t('notifications.list.added', { date: formatDate(s.created * 1000) }))
        : null,
      button);
  }

  function renderPush() {
    const support = pushSupport();
    if (support !== 'ok') {
      pushBox.replaceChildren(h('p', { class: 'notice', id: 'push-unsupported' },
        t(`notifications.push.error.${support}`)));
    } else if (state.mine && state.subscriptions.some((s) => s.id === state.mine.id)) {
      pushBox.replaceChildren(h('p', { class: 'ok', id: 'push-state', tabindex: '-1',
        dataset: { state: 'on' } }, t('notifications.push.isOn')));
    } else {
      const button = h('button', { type: 'button', class: 'primary', id: 'push-on',
        'aria-describedby': 'push-state' }, t('notifications.push.turnOn'));
      button.addEventListener('click', () => turnOn(button));
      pushBox.replaceChildren(
        h('p', { id: 'push-state', dataset: { state: 'off' } }, t('notifications.push.isOff')),
        button);
    }
    replace(listBox,
      state.subscriptions.length
        ? h('ul', { class: 'grants', id: 'push-subscriptions', 'aria-labelledby': 'push-list-title' },
          state.subscriptions.map(subscriptionItem))
        : h('p', { id: 'push-none' }, t('notifications.list.none')),
      state.mode === 'off' && state.subscriptions.length
        ? h('p', { class: 'notice', id: 'push-mode-off' }, t('notifications.list.modeOff')) : null);
  }
  renderPush();

  add(main,
    h('h1', {}, t('notifications.title')),
    h('p', {}, t('notifications.intro')),
    h('p', {}, t('notifications.noHealthData')),
    h('section', { class: 'card', 'aria-labelledby': 'notify-mode-title' },
      h('h2', { id: 'notify-mode-title' }, t('notifications.modeTitle')),
      form,
      state.webhook ? h('p', { class: 'notice', id: 'notify-webhook' }, t('notifications.webhook'))
        : null),
    h('section', { class: 'card', id: 'push-section', 'aria-labelledby': 'push-title' },
      h('h2', { id: 'push-title' }, t('notifications.push.title')),
      h('p', {}, t('notifications.push.intro')),
      pushBox, pushOut),
    h('section', { class: 'card', 'aria-labelledby': 'push-list-title' },
      listTitle,
      h('p', {}, t('notifications.list.intro')),
      listOut, listBox));
}
