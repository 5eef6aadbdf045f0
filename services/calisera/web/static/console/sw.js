// Calisera console service worker: keeps the shell (styles, script, icons, the offline
// page) for offline use. Screens and API answers are never cached (bookings change; a
// stale agenda would mislead): offline, a screen is the offline page. A new version
// waits until the person taps "Reload" in the update prompt.
const VERSION = "calisera-console-v2";
const SHELL = [
  "/console/offline",
  "/static/app.css",
  "/static/console.css",
  "/static/console.js",
  "/static/icons/icon.svg",
  "/static/icons/maskable.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(VERSION).then((cache) => cache.addAll(SHELL)));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== VERSION).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") { self.skipWaiting(); }
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin) { return; }
  if (SHELL.includes(url.pathname) && url.pathname !== "/console/offline") {
    // network first (a deploy is seen at once), the cached copy when offline
    event.respondWith(
      fetch(request)
        .then((response) => {
          const copy = response.clone();
          caches.open(VERSION).then((cache) => cache.put(request, copy));
          return response;
        })
        .catch(() => caches.match(request))
    );
    return;
  }
  if (request.mode === "navigate" && url.pathname.startsWith("/console")) {
    event.respondWith(fetch(request).catch(() => caches.match("/console/offline")));
  }
});

// A push on a new booking or a cancellation; tapping it opens that booking.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (e) { data = { body: event.data && event.data.text() }; }
  const title = data.title || "Calisera";
  const url = data.booking_id ? "/console/bookings/" + data.booking_id : (data.url || "/console/agenda");
  event.waitUntil(self.registration.showNotification(title, { body: data.body || "", data: { url }, icon: "/static/icons/icon.svg" }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/console/agenda";
  event.waitUntil(self.clients.openWindow(url));
});
