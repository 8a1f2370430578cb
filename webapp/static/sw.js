// The offline shell: the app's own files are cached at install and served
// cache-first when the network is down; API calls are never cached (health
// data stays out of the cache), so offline the app opens and says it
// cannot reach the vault.
const CACHE = 'tillit-shell-v1';
const SHELL = [
  '/app/', '/app/app.css', '/app/icon.svg', '/app/icon-192.png', '/app/manifest.webmanifest',
  '/app/js/main.js', '/app/js/api.js', '/app/js/device.js', '/app/js/store.js',
  '/app/js/i18n.js', '/app/js/ui.js', '/app/js/fhir.js', '/app/js/consent.js',
  '/app/js/privacy.js', '/app/js/rectification.js',
  '/app/js/proxies.js', '/app/js/acting.js',
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
