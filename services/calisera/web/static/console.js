// Calisera provider console: small progressive enhancement of server-rendered screens.
// Every screen works without it; with it: the phone's time zone is preselected, the page
// address is checked as you type, links copy and share, a form cannot be sent twice by a
// double tap, and the service worker keeps the shell offline and offers updates.
(function () {
  "use strict";

  function each(selector, fn) {
    var nodes = document.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) { fn(nodes[i]); }
  }

  function detectZone(select) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone || select.getAttribute("aria-invalid") === "true") { return; }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) { select.selectedIndex = i; return; }
    }
  }

  var SLUG = /^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$/;

  function slugCheck(input) {
    var out = document.getElementById("f-slug-check");
    var name = document.getElementById("f-name");
    var touched = input.value !== "";
    var timer = null;
    var asked = "";
    function say(text, state) { out.textContent = text; out.setAttribute("data-state", state); }
    function check() {
      var slug = input.value;
      if (!slug) { say("", ""); return; }
      if (!SLUG.test(slug)) {
        say("Use 3 to 63 lowercase letters, digits or hyphens (no hyphen at either end).", "bad");
        return;
      }
      asked = slug;
      fetch("/bff/api/providers/by-slug/" + encodeURIComponent(slug), { credentials: "same-origin" })
        .then(function (r) {
          if (asked !== slug) { return; }
          if (r.status === 404) { say("/p/" + slug + " is free.", "ok"); }
          else if (r.ok) { say("/p/" + slug + " is taken; try another.", "bad"); }
          else { say("", ""); }
        })
        .catch(function () { say("", ""); });
    }
    function later() { clearTimeout(timer); timer = setTimeout(check, 300); }
    input.addEventListener("input", function () { touched = true; later(); });
    if (name) {
      name.addEventListener("input", function () {
        if (touched) { return; }
        input.value = name.value.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
          .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
        later();
      });
    }
    if (input.value) { later(); }
  }

  function status(button, text) {
    var box = button.closest("section, form, body").querySelector(".copy-status");
    if (box) { box.textContent = text; }
  }

  function copy(button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(
          function () { status(button, "Link copied."); },
          function () { status(button, "Copy failed: select the link and copy it."); }
        );
      } else { status(button, "Select the link above and copy it."); }
    });
  }

  function share(button) {
    if (!navigator.share) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.share({ title: button.getAttribute("data-share-title"), url: button.getAttribute("data-share") })
        .catch(function () {});
    });
  }

  function once(form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
      form.setAttribute("aria-busy", "true");
    });
  }

  function b64ToBytes(text) {
    var raw = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }

  function pushOptIn(button) {
    var say = document.getElementById("c-push-status");
    if (!("serviceWorker" in navigator) || !("PushManager" in window)) { return; }
    button.hidden = false;
    say.textContent = "";
    button.addEventListener("click", function () {
      var provider = button.getAttribute("data-provider");
      say.textContent = "Asking for permission…";
      Promise.all([
        navigator.serviceWorker.ready,
        fetch("/bff/api/notifications/vapid-public-key").then(function (r) { return r.json(); })
      ]).then(function (got) {
        return got[0].pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: b64ToBytes(got[1].public_key)
        });
      }).then(function (subscription) {
        return fetch("/bff/api/notifications/providers/" + provider + "/push-subscriptions", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Calisera-CSRF": "1" },
          body: JSON.stringify(subscription.toJSON())
        });
      }).then(function (r) {
        say.textContent = r.ok ? "Push is on for this device." : "Push could not be turned on.";
      }).catch(function () { say.textContent = "Push was not allowed on this device."; });
    });
  }

  function serviceWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    var prompt = document.getElementById("c-update");
    var reloading = false;
    navigator.serviceWorker.register("/console/sw.js", { scope: "/console" }).then(function (reg) {
      function offer(worker) {
        if (!prompt || !navigator.serviceWorker.controller) { return; }
        prompt.hidden = false;
        document.getElementById("c-update-reload").onclick = function () {
          worker.postMessage({ type: "SKIP_WAITING" });
        };
      }
      if (reg.waiting) { offer(reg.waiting); }
      reg.addEventListener("updatefound", function () {
        var worker = reg.installing;
        if (!worker) { return; }
        worker.addEventListener("statechange", function () {
          if (worker.state === "installed") { offer(worker); }
        });
      });
    }).catch(function () {});
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (reloading || !prompt || prompt.hidden) { return; }
      reloading = true;
      location.reload();
    });
  }

  // The page builder's preview follows the form as the provider types.
  function livePreview(form) {
    var frame = document.getElementById(form.getAttribute("data-preview"));
    if (!frame) { return; }
    var timer = null;
    function update() {
      var params = new URLSearchParams(new FormData(form));
      frame.src = "/console/page/preview?" + params.toString();
    }
    function later() { clearTimeout(timer); timer = setTimeout(update, 400); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
  }

  document.addEventListener("DOMContentLoaded", function () {
    each("form[data-preview]", livePreview);
    each("[data-detect-zone]", detectZone);
    each("[data-slug-check]", slugCheck);
    each("[data-copy]", copy);
    each("[data-share]", share);
    each("form[data-once]", once);
    each("#c-push", pushOptIn);
    var alert = document.getElementById("form-alert");
    if (alert) { alert.focus(); }
    serviceWorker();
  });
})();
