// The offline copy: a service worker that keeps the site's own files, so the page works
// once loaded even when the admin's network is the thing that is broken.
//
// `cargo xtask dist` writes CACHE (the release's version and a digest of FILES) and FILES
// (each file's SHA-384). A new release is a new sw.js: the browser installs it beside the
// running one, fetching every file again with its integrity checked (a changed copy fails
// the install, and the old release goes on); the page offers to switch, and the old caches
// are deleted when the new one takes over. The sample logs are kept once fetched; fixer.exe
// and anything not listed always come from the network.
const CACHE = 'rdpfix-dev';
const FILES = {};
const LAZY = /^samples\//;

const scope = () => new URL(self.registration.scope);
const href = (path) => new URL(path, scope()).href;

async function keep(cache, path) {
  const response = await fetch(href(path), { integrity: FILES[path], cache: 'reload' });
  if (!response.ok) throw new Error(`${path}: the server answered ${response.status}`);
  await cache.put(href(path), response.clone());
  return response;
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        Promise.all(Object.keys(FILES).filter((p) => !LAZY.test(p)).map((p) => keep(cache, p))),
      )
      // A release that cannot be kept whole leaves nothing behind.
      .catch(async (err) => {
        await caches.delete(CACHE);
        throw err;
      }),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names.filter((n) => n.startsWith('rdpfix-') && n !== CACHE).map((n) => caches.delete(n)),
        ),
      ),
  );
});

// The page's "use the new release now".
self.addEventListener('message', (event) => {
  if (event.data === 'activate') self.skipWaiting();
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  const base = scope();
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) return;
  const path = url.pathname.slice(base.pathname.length) || 'index.html';
  if (!(path in FILES)) return;
  event.respondWith(
    caches.open(CACHE).then(async (cache) => (await cache.match(href(path))) ?? keep(cache, path)),
  );
});
