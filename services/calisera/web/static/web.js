// Tell the server the browser's time zone, so free times are shown in local time.
// Pages work without this: they then show the provider's time zone.
(function () {
  "use strict";
  var tz;
  try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!tz) { return; }
  var links = document.querySelectorAll("a[data-tz-link]");
  for (var i = 0; i < links.length; i++) {
    var target = new URL(links[i].href, location.href);
    if (!target.searchParams.get("tz")) {
      target.searchParams.set("tz", tz);
      links[i].href = target.pathname + target.search;
    }
  }
  var body = document.body;
  if (body.hasAttribute("data-tz-reload")) {
    var here = new URL(location.href);
    if (!here.searchParams.get("tz") && body.getAttribute("data-zone") !== tz) {
      here.searchParams.set("tz", tz);
      location.replace(here.pathname + here.search);
    }
  }
})();
// Inside another site's iframe (the embed snippet): report this page's height to the
// parent, which grows the iframe so nothing scrolls twice.
(function () {
  "use strict";
  if (!document.body.hasAttribute("data-embed") || window.parent === window) { return; }
  var last = 0;
  function report() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== last) {
      last = height;
      window.parent.postMessage({ type: "calisera:resize", height: height }, "*");
    }
  }
  window.addEventListener("load", report);
  if ("ResizeObserver" in window) { new ResizeObserver(report).observe(document.body); }
  report();
})();
