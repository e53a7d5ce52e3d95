// The scanner app's service worker: keeps the app shell (page, scripts, styles, icon) so the app
// opens and reloads when the handheld cannot reach the edge. Network first, so a new release shows at
// once when the edge answers; the cache only when it does not. API calls are never cached: a stock
// figure from the cache would be a lie. The edge fills in the version and the file list.
const version = '__VERSION__';
const shell = ['__SHELL__'];
const cacheName = `dovetail-scanner-${version}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(cacheName)
      .then((cache) => cache.addAll(shell))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(keys.filter((key) => key.startsWith('dovetail-scanner-') && key !== cacheName).map((key) => caches.delete(key))),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || !shell.includes(url.pathname)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(cacheName).then((cache) => cache.put(url.pathname, copy)));
        }
        return response;
      })
      .catch(() =>
        caches.match(url.pathname, { cacheName }).then((cached) => cached ?? caches.match(url.pathname)).then((cached) => cached ?? Response.error()),
      ),
  );
});
