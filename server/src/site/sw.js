// The messenger's service worker, served at /sw.js by the server, which puts the current
// build's name in BUILD (pkg/output-name: "messenger-<hash>"). A new build is a new worker.
//
// - The app shell (the build's WASM, JS and CSS, the icons, the manifest, pwa.js) is cached
//   when the worker installs, in a cache named after the build; the caches of older builds
//   go when the new worker takes over.
// - Pages (`/`, `/login`, `/settings`) are fetched from the network; their last good copy,
//   kept per build, is what opens without a network (the chats and messages themselves come
//   from what the page keeps in localStorage). The copies are fetched again after signing in
//   or up; signing out forgets them.
// - Server functions (/_fn/), the REST API (/api/), the live connection and anything not
//   from this site go to the network untouched and are never cached.
// - A new worker waits until the page asks it to take over ("New version — Reload").
const BUILD = "__BUILD__";
const SHELL = `shell-${BUILD}`;
const PAGES = `pages-${BUILD}`;
const SHELL_FILES = [
  `/pkg/${BUILD}.js`,
  `/pkg/${BUILD}.wasm`,
  `/pkg/${BUILD}.css`,
  "/pwa.js",
  "/manifest.webmanifest",
  "/favicon.svg",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/icons/maskable-512.png",
];
const PAGE_PATHS = ["/", "/login", "/settings"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      await (await caches.open(SHELL)).addAll(SHELL_FILES);
      // The pages as this visitor sees them now, so that the app opens offline even if no page
      // is visited again before the network goes.
      await refreshPages();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name !== SHELL && name !== PAGES) await caches.delete(name);
      }
      await self.clients.claim();
      // Signed in or out since the install fetched them? From here on, every sign-in passes
      // through this worker, so the copies stay the visitor's.
      await refreshPages();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
});

/// Server functions after which the pages are someone else's: signing in or up.
const REFRESHING_CALLS = ["/_fn/login", "/_fn/register"];

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && url.pathname === "/_fn/logout") {
    // Signed out: what the pages showed of the account must not open offline.
    event.respondWith(fetch(request).finally(() => caches.delete(PAGES)));
    return;
  }
  if (request.method === "POST" && REFRESHING_CALLS.includes(url.pathname)) {
    event.respondWith(
      (async () => {
        const response = await fetch(request);
        if (response.ok) event.waitUntil(refreshPages());
        return response;
      })(),
    );
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(page(request, url));
    return;
  }
  if (SHELL_FILES.includes(url.pathname)) {
    event.respondWith(caches.match(url.pathname).then((hit) => hit ?? fetch(request)));
  }
});

/// A page: from the network, keeping a copy; without one, the last copy; without that, a
/// short page saying so.
async function page(request, url) {
  const path = PAGE_PATHS.includes(url.pathname) ? url.pathname : null;
  try {
    const response = await fetch(request);
    if (path) await keep(path, response.clone());
    return response;
  } catch (error) {
    const copy = path && (await (await caches.open(PAGES)).match(path));
    return copy ?? offlinePage();
  }
}

let refreshing = null;
let again = false;

/// Fetches every page's copy again; a call while that runs makes it run once more after.
function refreshPages() {
  if (refreshing) {
    again = true;
    return refreshing;
  }
  refreshing = (async () => {
    do {
      again = false;
      await Promise.all(PAGE_PATHS.map((path) => refreshPage(path).catch(() => {})));
    } while (again);
    refreshing = null;
  })();
  return refreshing;
}

async function refreshPage(path) {
  await keep(path, await fetch(path, { credentials: "same-origin" }));
}

/// Keeps a page's copy if it is the page itself (not an error, not a redirect elsewhere);
/// a page that now redirects (signed out, signed in) loses its old copy.
async function keep(path, response) {
  const pages = await caches.open(PAGES);
  const same = new URL(response.url || path, self.location.origin).pathname === path;
  if (response.ok && same && !response.redirected) {
    await pages.put(path, response);
  } else if (response.status < 500) {
    await pages.delete(path);
  }
}

function offlinePage() {
  const ru = (self.navigator.language || "").startsWith("ru");
  const [title, text] = ru
    ? ["Нет сети", "Эта страница ещё не сохранена для работы без сети. Подключитесь к интернету и попробуйте снова."]
    : ["Offline", "This page has not been saved for offline use yet. Connect to the internet and try again."];
  return new Response(
    `<!DOCTYPE html><html lang="${ru ? "ru" : "en"}"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${title}</title><body style="font:16px system-ui;padding:2rem;text-align:center"><h1>${title}</h1><p>${text}</p></body></html>`,
    { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } },
  );
}
