// Calisera provider console: a small installable shell. Signs in with a pasted access
// token (the users service's sign-in pages are not built yet) and lists the bookings of
// today and the next days, grouped by day.
(function () {
  "use strict";
  var KEY = "calisera.console";
  var DAYS = 7;
  var $ = function (id) { return document.getElementById(id); };

  function saved() {
    try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { return null; }
  }
  function status(text) { $("c-status").textContent = text || ""; }
  function isoDate(d) {
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }

  function show(signedIn) {
    $("signin").hidden = signedIn;
    $("today").hidden = !signedIn;
  }

  async function load(session) {
    show(true);
    $("c-who").textContent = session.name || session.slug;
    status("Loading…");
    var start = new Date(); start.setHours(0, 0, 0, 0);
    var end = new Date(start); end.setDate(end.getDate() + DAYS);
    var url = "/api/v1/providers/" + encodeURIComponent(session.providerId) + "/bookings?from=" +
      encodeURIComponent(start.toISOString()) + "&to=" + encodeURIComponent(end.toISOString()) +
      "&status=confirmed&limit=200";
    var response;
    try {
      response = await fetch(url, { headers: { Authorization: "Bearer " + session.token } });
    } catch (e) { status("Offline: cannot load bookings."); return; }
    if (response.status === 401 || response.status === 403) {
      status("This token is not valid for " + session.slug + " (or has expired). Please sign in again.");
      localStorage.removeItem(KEY); show(false); return;
    }
    if (!response.ok) { status("Could not load bookings (" + response.status + ")."); return; }
    var body = await response.json();
    var items = (body.items || []).slice().sort(function (a, b) { return a.start < b.start ? -1 : 1; });
    var list = $("c-list");
    list.textContent = "";
    var today = isoDate(start);
    var lastDay = null;
    items.forEach(function (b) {
      var when = new Date(b.start);
      var day = isoDate(when);
      if (day !== lastDay) {
        var heading = document.createElement("li");
        heading.className = "day-heading";
        heading.textContent = day === today ? "Today" :
          when.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long" });
        list.append(heading);
        lastDay = day;
      }
      var li = document.createElement("li");
      li.className = "card";
      var div = document.createElement("div");
      div.className = "card-link";
      var title = document.createElement("span");
      title.className = "card-title";
      title.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }) +
        " · " + (b.customer && b.customer.name || "");
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = (b.service_name || "") + (b.seats > 1 ? " · " + b.seats + " seats" : "");
      div.append(title, meta); li.append(div); list.append(li);
    });
    if (!items.length) { status("No bookings in the next " + DAYS + " days."); }
    else if (lastDay && isoDate(new Date(items[0].start)) !== today) { status("Nothing today."); }
    else { status(""); }
  }

  async function signIn(event) {
    event.preventDefault();
    var slug = $("c-slug").value.trim();
    var token = $("c-token").value.trim();
    status("Signing in…");
    var response = await fetch("/api/v1/providers/by-slug/" + encodeURIComponent(slug));
    if (!response.ok) { status("No booking page with that slug."); return; }
    var provider = await response.json();
    var session = { slug: slug, providerId: provider.id, name: provider.name, token: token };
    localStorage.setItem(KEY, JSON.stringify(session));
    load(session);
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("signin").addEventListener("submit", signIn);
    $("signout").addEventListener("click", function () {
      localStorage.removeItem(KEY); $("c-list").textContent = ""; status(""); show(false);
    });
    var session = saved();
    if (session) { load(session); } else { show(false); }
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/console/sw.js", { scope: "/console" }).catch(function () {});
    }
  });
})();
