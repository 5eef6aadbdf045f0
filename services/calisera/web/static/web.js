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
