// Devices: the citizen's paired devices, revoking one, and a short-lived
// pairing code to connect another device.
import * as device from '../device.js';
import { formatDateTime, t } from '../i18n.js';
import { add, announce, confirmDialog, errorBox, h } from '../ui.js';

function deviceItem(d, ctx) {
  const revoke = d.revoked ? null : h('button', { type: 'button', class: 'link-danger',
    dataset: { device: d.id } }, t('devices.revoke'));
  if (revoke) {
    revoke.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: t('devices.revokeTitle', { name: d.name }),
        text: d.this_device ? t('devices.revokeThisText') : t('devices.revokeText'),
        confirmLabel: t('devices.revoke'), danger: true });
      if (!ok) return;
      try {
        await ctx.api.del(`/v1/me/devices/${encodeURIComponent(d.id)}`);
        if (d.this_device) {
          await device.forget();
          ctx.go('pair');
          return;
        }
        announce(t('devices.revoked', { name: d.name }));
        ctx.rerender();
      } catch (err) {
        revoke.after(errorBox(err));
      }
    });
  }
  return h('li', { class: 'grant' },
    h('p', {}, h('strong', {}, d.name), ' ',
      d.this_device ? h('span', { class: 'badge verified' }, t('devices.this')) : null, ' ',
      d.revoked ? h('span', { class: 'badge revoked' }, t('devices.revokedBadge')) : null),
    h('p', { class: 'muted' }, t('devices.paired', { when: formatDateTime(d.created * 1000) })),
    d.revoked ? h('p', { class: 'muted' },
      t('devices.revokedAt', { when: formatDateTime(d.revoked * 1000) })) : null,
    revoke);
}

export async function render(main, ctx) {
  const { devices } = await ctx.api.get('/v1/me/devices');
  const live = devices.filter((d) => !d.revoked);
  const old = devices.filter((d) => d.revoked);
  const codeOut = h('div', { id: 'pairing-code-out', 'aria-live': 'polite' });
  const make = h('button', { type: 'button', class: 'primary', id: 'make-pairing-code' },
    t('devices.makeCode'));
  make.addEventListener('click', async () => {
    make.disabled = true;
    try {
      const r = await ctx.api.post('/v1/me/devices/pairing-codes');
      codeOut.replaceChildren(h('div', { class: 'card' },
        h('p', {}, t('devices.codeIs')),
        h('p', { class: 'code', id: 'pairing-code' }, r.pairing_code),
        h('p', { class: 'muted' }, t('devices.codeExpires', { when: formatDateTime(r.expires * 1000) }))));
    } catch (err) {
      codeOut.replaceChildren(errorBox(err));
    } finally {
      make.disabled = false;
    }
  });
  add(main, 
    h('h1', {}, t('devices.title')),
    h('p', {}, t('devices.intro')),
    h('ul', { class: 'grants', id: 'device-list' }, live.map((d) => deviceItem(d, ctx))),
    h('section', { class: 'card', 'aria-labelledby': 'pair-another' },
      h('h2', { id: 'pair-another' }, t('devices.anotherTitle')),
      h('p', {}, t('devices.anotherIntro')), make, codeOut),
    old.length ? [h('h2', {}, t('devices.oldTitle')),
      h('ul', { class: 'grants' }, old.map((d) => deviceItem(d, ctx)))] : null);
}
