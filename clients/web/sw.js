// The app shell's service worker: so that a reload works with no network.
// It serves the shell (and tfjs) from its cache and refreshes the cache in
// the background when the network is there (stale-while-revalidate). It
// leaves the registry's /v1/ API alone: models live in IndexedDB, managed by
// kiln-sync, which must see real responses to verify them.
const CACHE = 'kiln-web-v3';
const SHELL = ['./', 'index.html', 'app.js', 'style.css', 'vendor/tf.es2017.min.js', 'vendor/sync/kiln-sync.js',
  'vendor/sync/layers-model-io.js', 'vendor/text/kiln-preprocess.js', 'vendor/text/kiln-text.js',
  'vendor/tf-backend-wasm.es2017.min.js', 'vendor/tfjs-backend-wasm.wasm', 'vendor/tfjs-backend-wasm-simd.wasm',
  'vendor/tfjs-backend-wasm-threaded-simd.wasm'];
const shellUrls = new Set(SHELL.map((path) => new URL(path, self.registration.scope).href));

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  url.search = '';
  if (event.request.method !== 'GET' || !shellUrls.has(url.href)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // The page's query string only configures the app: one cached index.html serves all.
    const cached = await cache.match(event.request, { ignoreSearch: true });
    const fresh = fetch(event.request).then((response) => {
      if (response.ok) cache.put(url.href, response.clone());
      return response;
    });
    if (cached) {
      event.waitUntil(fresh.catch(() => {}));
      return cached;
    }
    return fresh;
  })());
});
