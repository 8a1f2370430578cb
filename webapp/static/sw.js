// The offline shell: the app's own files are cached at install and served
// cache-first when the network is down; API calls are never cached (health
// data stays out of the cache), so offline the app opens and says it
// cannot reach the vault.
// It also shows push notifications (EHDS Art 9): a message from the
// vault's push service says what kind of access happened and how many,
// never health data, and a click opens the access log.
importScripts('/app/js/push_text.js');

const CACHE = 'tillit-shell-v1';
const SHELL = [
  '/app/', '/app/app.css', '/app/icon.svg', '/app/icon-192.png', '/app/manifest.webmanifest',
  '/app/js/main.js', '/app/js/api.js', '/app/js/device.js', '/app/js/store.js',
  '/app/js/i18n.js', '/app/js/ui.js', '/app/js/fhir.js', '/app/js/consent.js',
  '/app/js/privacy.js', '/app/js/rectification.js',
  '/app/js/proxies.js', '/app/js/acting.js', '/app/js/notifications.js', '/app/js/apps.js',
  '/app/js/push_text.js',
  '/app/js/lang/en.js', '/app/js/lang/sv.js', '/app/js/lang/nb.js',
  '/app/js/lang/fi.js', '/app/js/lang/se.js',
  '/app/js/crypto/base64.js', '/app/js/crypto/signing.js',
  '/app/js/crypto/merkle.js', '/app/js/crypto/checkpoint.js',
  '/app/js/crypto/auditlog.js',
  '/app/js/views/records.js', '/app/js/views/records-corrections.js',
  '/app/js/views/record.js', '/app/js/views/charts.js',
  '/app/js/views/add.js', '/app/js/views/sharing.js', '/app/js/views/sharing-privacy.js',
  '/app/js/views/grant.js',
  '/app/js/views/hide.js', '/app/js/views/log.js', '/app/js/views/devices.js',
  '/app/js/views/erase.js', '/app/js/views/pair.js',
  '/app/js/views/proxies.js', '/app/js/views/represented.js',
  '/app/js/views/notifications.js', '/app/js/views/authorize.js',
  '/app/js/views/sharing-apps.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

// Network first for the shell (so a new version shows at once), the cache
// when offline; anything outside /app/ goes straight to the network.
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin ||
      !url.pathname.startsWith('/app/')) {
    return;
  }
  event.respondWith(fetch(event.request)
    .then((res) => {
      if (res.ok) {
        const copy = res.clone();
        caches.open(CACHE).then((c) => c.put(event.request, copy));
      }
      return res;
    })
    .catch(() => caches.match(event.request, { ignoreSearch: true })
      .then((hit) => hit || caches.match('/app/'))));
});

// A push message: its payload ({kind, count, url}) in words, in the
// browser's language (js/push_text.js). A payload that cannot be read
// still shows a notification (the browser requires one for every push):
// it reads as one access.
self.addEventListener('push', (event) => {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null;
  }
  const languages = self.navigator.languages && self.navigator.languages.length
    ? self.navigator.languages : [self.navigator.language];
  const notice = pushNotice(payload, languages, self.location.origin);
  event.waitUntil(self.registration.showNotification(notice.title, {
    body: notice.body, lang: notice.lang, tag: notice.tag, renotify: true,
    icon: '/app/icon-192.png', data: { url: notice.url },
  }).catch(() => { /* notifications not allowed (any more): nothing to show */ }));
});

// A click on the notification: the app's window, if one is open, comes to
// the front at the page the message names (the access log); else a new
// one opens there.
self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = pushTarget(event.notification.data && event.notification.data.url,
    self.location.origin);
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true })
    .then((windows) => {
      const app = windows.find((w) => new URL(w.url).pathname.startsWith('/app/'));
      if (!app) return self.clients.openWindow(url);
      return app.focus()
        .then((focused) => (focused.url === url ? focused : focused.navigate(url)))
        .catch(() => app);
    })
    .catch(() => { /* no window could be opened: nothing more to do */ }));
});
